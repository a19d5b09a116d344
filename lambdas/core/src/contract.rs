//! Names shared by the deployer, the stack template and the functions.
//!
//! The deployer renders these names into the template, and the functions read and write them.
//! Keeping them in one place means a renamed attribute cannot leave the table's TTL setting
//! and the functions' writes out of step.

/// Partition key of the attribution table: the Cognito username.
pub const KEY_ATTRIBUTE: &str = "username";

/// TTL attribute of the attribution table: a DynamoDB number in epoch seconds.
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// Environment variables that the stack sets on the functions.
pub mod env {
    /// Name of the attribution table.
    pub const TABLE_NAME: &str = "ATTRIBUTION_TABLE";
    /// Cognito user pool whose users carry the campaign attribute.
    pub const USER_POOL_ID: &str = "USER_POOL_ID";
    /// Pinpoint application (project) id whose events the functions handle.
    pub const PINPOINT_APP_ID: &str = "PINPOINT_APP_ID";
    /// Lookback window in whole days.
    pub const LOOKBACK_DAYS: &str = "LOOKBACK_DAYS";
    /// Comma-separated Pinpoint event types that count as an interaction.
    pub const INTERACTION_EVENTS: &str = "INTERACTION_EVENTS";
    /// Endpoint user attribute that contains the Cognito username.
    pub const USERNAME_ATTRIBUTE: &str = "USERNAME_ATTRIBUTE";
    /// Cognito custom attribute name without the `custom:` prefix.
    pub const CAMPAIGN_ATTRIBUTE: &str = "CAMPAIGN_ATTRIBUTE";
    /// Content of the campaign attribute: `journey_name` or `journey_id`.
    pub const CAMPAIGN_VALUE: &str = "CAMPAIGN_VALUE";
    /// Cognito `AdminUpdateUserAttributes` calls per second that one instance may make.
    pub const COGNITO_UPDATES_PER_SECOND: &str = "COGNITO_UPDATES_PER_SECOND";
}
