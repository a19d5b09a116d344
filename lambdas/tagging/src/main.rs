//! Lambda entry point of the tagging function.

use std::time::Instant;

use attribution_core::{TaggingSettings, quota};
use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tagging::{PinpointDirectory, Tagging, retry};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();

    let settings = TaggingSettings::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid function settings; fix the environment variables")
    })?;

    let cognito_rate = quota::updates_per_second(|name| std::env::var(name).ok())
        .inspect_err(|error| {
            tracing::error!(error = %error, "invalid function settings; fix the environment variables")
        })?;

    let config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry::retry_config())
        .load()
        .await;
    let tagging = Tagging::new(
        settings,
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_cognitoidentityprovider::Client::new(&config),
        PinpointDirectory::new(aws_sdk_pinpoint::Client::new(&config)),
    )
    .with_cognito_rate(cognito_rate);

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let tagging = &tagging;
        let deadline = retry::budget_deadline(
            event.context.deadline,
            tagging::system_clock(),
            Instant::now(),
        );
        async move {
            tagging
                .invoke_until(&event.payload, deadline)
                .await
                .map_err(Error::from)
        }
    }))
    .await
}

/// Logs JSON lines at the level in `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG` (default `info`).
fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    let filter =
        EnvFilter::try_new(level.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"));

    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_target(false)
        .with_env_filter(filter)
        .init();
}
