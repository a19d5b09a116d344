//! Lambda entry point of the expiration function.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use attribution_core::{ExpirationSettings, budget, quota};
use aws_config::BehaviorVersion;
use expiration::Expiration;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();

    let settings = ExpirationSettings::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid function settings; fix the environment variables")
    })?;

    let cognito_rate = quota::updates_per_second(read_env).inspect_err(|error| {
        tracing::error!(error = %error, "invalid function settings; fix the environment variables")
    })?;

    let config = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(attribution_aws::retry_config())
        .load()
        .await;
    let expiration = Expiration::new(
        settings,
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_cognitoidentityprovider::Client::new(&config),
    )
    .with_cognito_rate(cognito_rate);

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let expiration = &expiration;
        let deadline =
            budget::budget_deadline(event.context.deadline, epoch_millis(), Instant::now());
        async move { Ok::<_, Error>(expiration.handle_until(&event.payload, deadline).await) }
    }))
    .await
}

/// Returns the current time in epoch milliseconds, the clock of the Lambda deadline.
fn epoch_millis() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

fn read_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
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
