//! Lambda entry point of the expiration function.

use attribution_core::{ExpirationSettings, quota};
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

    let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let expiration = Expiration::new(
        settings,
        aws_sdk_dynamodb::Client::new(&config),
        aws_sdk_cognitoidentityprovider::Client::new(&config),
    )
    .with_cognito_rate(cognito_rate);

    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let expiration = &expiration;
        async move { Ok::<_, Error>(expiration.handle(&event.payload).await) }
    }))
    .await
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
