//! SDK settings and clients, built in one place for every command.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Connection settings from the command line; unset fields fall back to the SDK's own chain
/// (environment variables, `~/.aws/config`, instance metadata).
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: String,
    pub endpoint_url: Option<String>,
}

/// One client per service the deployer calls.
#[derive(Debug, Clone)]
pub struct Clients {
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub pinpoint: aws_sdk_pinpoint::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
}

/// Loads the SDK settings: credentials from the standard chain (or `profile`), the
/// environment's region, and the endpoint URL from `--endpoint-url` or `AWS_ENDPOINT_URL`.
pub async fn load_sdk_config(options: &AwsOptions) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).region(Region::new(options.region.clone()));
    if let Some(profile) = &options.profile {
        // The default chain reads environment credentials before the profile, so a named
        // profile gets its own provider: `--profile` must win over AWS_ACCESS_KEY_ID.
        let credentials = aws_config::profile::ProfileFileCredentialsProvider::builder()
            .profile_name(profile)
            .build();
        loader = loader
            .profile_name(profile)
            .credentials_provider(credentials);
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

impl Clients {
    /// Builds every client from one set of SDK settings.
    ///
    /// S3 uses path-style addressing when a custom endpoint is set, because emulators and
    /// private endpoints addressed by IP cannot serve `bucket.host` names.
    pub fn new(config: &SdkConfig) -> Clients {
        let s3_config = aws_sdk_s3::config::Builder::from(config)
            .force_path_style(config.endpoint_url().is_some())
            .build();
        Clients {
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            pinpoint: aws_sdk_pinpoint::Client::new(config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            sts: aws_sdk_sts::Client::new(config),
        }
    }
}

/// A failed AWS call, with the operation and the resource it was about.
#[derive(Debug, thiserror::Error)]
#[error("{operation} failed for {resource}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub resource: String,
    pub message: String,
}

impl AwsError {
    /// Wraps an SDK error with the operation and resource.
    ///
    /// A service error reads as `Code: message`; any other failure (no connection, timeout,
    /// unreadable response) keeps its whole error chain.
    pub fn new<E, R>(
        operation: &'static str,
        resource: impl Into<String>,
        error: SdkError<E, R>,
    ) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let message = match error.as_service_error() {
            Some(service_error) => match (service_error.code(), service_error.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_owned(),
                _ => DisplayErrorContext(&error).to_string(),
            },
            None => DisplayErrorContext(&error).to_string(),
        };
        AwsError {
            operation,
            resource: resource.into(),
            message,
        }
    }
}
