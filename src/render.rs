//! Rendering of the per-application CloudFormation template.
//!
//! STUB: the renderer is being written; the types below are the agreed interface.

use std::collections::BTreeMap;

use crate::artifacts::ArtifactSet;
use crate::config::{Application, Environment};

/// Stack outputs the deployer reads after an apply.
pub mod outputs {
    pub const STREAM_ARN: &str = "KinesisStreamArn";
    pub const PINPOINT_ROLE_ARN: &str = "PinpointRoleArn";
    pub const TABLE_NAME: &str = "TableName";
    pub const TAGGING_FUNCTION: &str = "TaggingFunctionName";
    pub const EXPIRATION_FUNCTION: &str = "ExpirationFunctionName";
    pub const FAILURE_QUEUE_URL: &str = "FailureQueueUrl";
}

/// Everything that makes up one application's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStack {
    pub application: String,
    pub stack_name: String,
    /// Template body (YAML).
    pub template: String,
    /// CloudFormation parameters, by name.
    pub parameters: BTreeMap<String, String>,
    /// Stack tags, by key.
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}")]
    Todo(String),
}

/// Renders the stack of one application.
pub fn render_application(
    environment: &Environment,
    application: &Application,
    artifacts: &ArtifactSet,
) -> Result<RenderedStack, RenderError> {
    let _ = (environment, artifacts);
    Err(RenderError::Todo(format!(
        "renderer not written yet: {}",
        application.name
    )))
}
