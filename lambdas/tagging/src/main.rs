//! Lambda entry point of the tagging function.

use attribution_core::TaggingSettings;
use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use tagging::{PinpointDirectory, Tagging};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    init_logging();

    let settings = TaggingSettings::from_env().inspect_err(|error| {
        tracing::error!(error = %error, "invalid function settings; fix the environment variables")
    })?;

    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let tagging = Tagging::new(
        settings,
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_cognitoidentityprovider::Client::new(&config),
        PinpointDirectory::new(aws_sdk_pinpoint::Client::new(&config)),
    );

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let tagging = &tagging;
        async move { tagging.invoke(&event.payload).await.map_err(Error::from) }
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
