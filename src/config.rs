//! Environment files: loading, validation and the typed configuration.
//!
//! An environment file is YAML. [`load`] parses it into loosely typed structures that keep
//! each value's line and column, checks every value, merges `defaults:` into each
//! application, and checks the names the stack derives from it. Any problem makes the whole
//! load fail, so the deployer never calls AWS with a half-valid environment.

mod checker;
mod event_stream;
mod raw;
mod rules;
mod values;
mod yaml_errors;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::artifacts::Architecture;

/// Stack prefix used when the environment file sets none.
pub const DEFAULT_STACK_PREFIX: &str = "pinpoint-attribution";

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
    /// Cognito user updates per second that the account and region may make (AWS's default
    /// quota unless it was raised). Each application's `cognito_quota_percent` is a share of it.
    pub cognito_quota: u32,
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
    /// Days an interaction keeps a user attributed to its journey.
    pub lookback_days: u32,
    /// Pinpoint event types that count as an interaction with a journey message.
    pub interaction_events: Vec<String>,
    /// Endpoint user attribute that contains the Cognito username.
    pub username_attribute: String,
    /// Cognito custom attribute name without the `custom:` prefix.
    pub campaign_attribute: String,
    pub campaign_value: CampaignValue,
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub timeout_seconds: u32,
    /// Retention of the functions' log groups; one of the values CloudWatch Logs accepts.
    pub log_retention_days: u32,
    /// Maximum number of records per function invocation.
    pub batch_size: u32,
    /// Retries of a failing batch before its records go to the failure queue.
    pub maximum_retry_attempts: u32,
    /// Source of the events the tagging function reads.
    pub event_stream: EventStreamMode,
    /// `AdminUpdateUserAttributes` calls per second that one function instance may make.
    pub cognito_updates_per_second: u32,
    /// Percent of the account's Cognito user-update quota that the application may use.
    pub cognito_quota_percent: u32,
}

impl Default for Settings {
    /// Returns the built-in defaults, used where neither the application nor `defaults:` sets
    /// a value.
    fn default() -> Self {
        Settings {
            lookback_days: 7,
            interaction_events: vec!["_email.click".to_owned(), "_email.open".to_owned()],
            username_attribute: "username".to_owned(),
            campaign_attribute: "campaign".to_owned(),
            campaign_value: CampaignValue::JourneyName,
            architecture: Architecture::Arm64,
            memory_mb: 256,
            timeout_seconds: 60,
            log_retention_days: 30,
            batch_size: 100,
            maximum_retry_attempts: 5,
            event_stream: EventStreamMode::default(),
            cognito_updates_per_second: 1,
            cognito_quota_percent: 20,
        }
    }
}

/// Source of the Pinpoint application's events that the tagging function reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventStreamMode {
    /// The stack creates a Kinesis stream and the deployer points the application's event
    /// stream at it. A destination that the deployer did not set is replaced only when
    /// `replace_existing` is true.
    Create { replace_existing: bool },
    /// The tagging function reads a Kinesis stream that already receives the application's
    /// events. The stack creates no stream and the deployer never changes the event stream.
    Existing { stream_arn: String },
}

impl Default for EventStreamMode {
    fn default() -> Self {
        EventStreamMode::Create {
            replace_existing: false,
        }
    }
}

impl EventStreamMode {
    /// ARN of the existing stream in mode `existing`; `None` in mode `create`.
    pub fn existing_stream_arn(&self) -> Option<&str> {
        match self {
            EventStreamMode::Create { .. } => None,
            EventStreamMode::Existing { stream_arn } => Some(stream_arn),
        }
    }
}

/// Content of the Cognito campaign attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignValue {
    JourneyName,
    JourneyId,
}

impl CampaignValue {
    /// Spelling used in environment files and in the functions' environment.
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignValue::JourneyName => "journey_name",
            CampaignValue::JourneyId => "journey_id",
        }
    }
}

impl fmt::Display for CampaignValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in an environment file, at a 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: u64,
    pub column: u64,
    /// Description of the invalid value and of the fix.
    pub message: String,
}

/// Failure to load an environment file.
///
/// `Display` prints one `FILE:LINE:COLUMN: message` line per problem, ready for the terminal.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file was read but is not a valid environment file.
    Invalid {
        path: PathBuf,
        /// Every problem found, in file order; never empty.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// Problems found in the file; empty when the file could not be read at all.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => write!(
                f,
                "failed to read environment file {}: {source}",
                path.display()
            ),
            ConfigError::Invalid { path, problems } => {
                for (index, problem) in problems.iter().enumerate() {
                    if index > 0 {
                        writeln!(f)?;
                    }
                    write!(
                        f,
                        "{}:{}:{}: {}",
                        path.display(),
                        problem.line,
                        problem.column,
                        problem.message
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfigError::Read { source, .. } => Some(source),
            ConfigError::Invalid { .. } => None,
        }
    }
}

/// Reads and validates an environment file.
pub fn load(path: &Path) -> Result<Environment, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, &text)
}

/// Validates the text of an environment file; `path` is used in messages and as
/// [`Environment::source`].
pub fn parse(path: &Path, text: &str) -> Result<Environment, ConfigError> {
    let invalid = |problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    };

    let document = raw::parse_document(text)
        .map_err(|error| invalid(vec![yaml_errors::describe(&error, text)]))?;

    let mut environment = rules::check_document(document, text).map_err(invalid)?;
    environment.source = path.to_path_buf();
    Ok(environment)
}

impl Environment {
    /// CloudFormation stack name of an application: `<prefix>-<environment>-<application>`.
    pub fn stack_name(&self, application: &Application) -> String {
        stack_name(&self.stack_prefix, &self.name, &application.name)
    }

    /// Returns the application called `name`, if the environment has one.
    pub fn application(&self, name: &str) -> Option<&Application> {
        self.applications
            .iter()
            .find(|application| application.name == name)
    }
}

/// Builds a stack name from its three parts, as [`Environment::stack_name`] does for a loaded
/// file.
pub fn stack_name(stack_prefix: &str, environment: &str, application: &str) -> String {
    format!("{stack_prefix}-{environment}-{application}")
}
