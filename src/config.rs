//! Environment files: loading, validation and the typed configuration.
//!
//! STUB: the loader is being written; the types below are the agreed interface.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::artifacts::Architecture;

/// A validated environment file.
#[derive(Debug, Clone)]
pub struct Environment {
    /// File the environment was read from.
    pub source: PathBuf,
    /// Environment name: lower-case letters, digits and hyphens.
    pub name: String,
    pub region: String,
    /// Account the environment must be applied to, when set.
    pub account_id: Option<String>,
    /// Protected environments refuse destroy and retain data resources.
    pub protected: bool,
    pub stack_prefix: String,
    /// Bucket for Lambda zips; when unset the deployer uses one per account and region.
    pub artifacts_bucket: Option<String>,
    /// Tags applied to every stack.
    pub tags: BTreeMap<String, String>,
    pub applications: Vec<Application>,
}

/// One Pinpoint application, with the defaults already merged in.
#[derive(Debug, Clone)]
pub struct Application {
    pub name: String,
    pub pinpoint_app_id: String,
    pub user_pool_id: String,
    pub settings: Settings,
}

/// Per-application settings; `defaults:` in the environment file sets any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub lookback_days: u32,
    pub interaction_events: Vec<String>,
    pub username_attribute: String,
    pub campaign_attribute: String,
    pub campaign_value: CampaignValue,
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    pub log_retention_days: u32,
    pub batch_size: u32,
    pub maximum_retry_attempts: u32,
}

/// What the Cognito campaign attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignValue {
    JourneyName,
    JourneyId,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Todo(String),
}

/// Reads and validates an environment file.
pub fn load(path: &Path) -> Result<Environment, ConfigError> {
    Err(ConfigError::Todo(format!(
        "config loader not written yet: {}",
        path.display()
    )))
}

impl Environment {
    /// CloudFormation stack name of an application: `<prefix>-<environment>-<application>`.
    pub fn stack_name(&self, application: &Application) -> String {
        format!("{}-{}-{}", self.stack_prefix, self.name, application.name)
    }
}
