//! Function settings, read from environment variables named in [`crate::contract::env`].
//!
//! Settings come through a lookup function rather than `std::env` so that tests and local
//! runs can pass a map.

use std::fmt;

use crate::contract::env;

/// Event types that count as an interaction when `INTERACTION_EVENTS` is not set.
pub const DEFAULT_INTERACTION_EVENTS: [&str; 2] = ["_email.click", "_email.open"];

/// Endpoint user attribute holding the Cognito username when `USERNAME_ATTRIBUTE` is not set.
pub const DEFAULT_USERNAME_ATTRIBUTE: &str = "username";

/// Cognito custom attribute (without `custom:`) when `CAMPAIGN_ATTRIBUTE` is not set.
pub const DEFAULT_CAMPAIGN_ATTRIBUTE: &str = "campaign";

/// Maximum lookback window, in days.
pub const MAX_LOOKBACK_DAYS: u16 = 365;

/// Longest Cognito custom attribute name, without the `custom:` prefix (a Cognito quota).
pub const MAX_CAMPAIGN_ATTRIBUTE_LEN: usize = 20;

/// A setting that is missing or has a value the functions cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("setting {name} is missing: set it to {expected}")]
    Missing {
        name: &'static str,
        expected: &'static str,
    },
    #[error("setting {name} has the invalid value {value:?}: expected {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

/// The value the Cognito attribute contains for an attributed user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignValue {
    /// The journey's name, as marketers read it in analytics (the default).
    JourneyName,
    /// The journey's id.
    JourneyId,
}

impl fmt::Display for CampaignValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CampaignValue::JourneyName => f.write_str("journey_name"),
            CampaignValue::JourneyId => f.write_str("journey_id"),
        }
    }
}

/// Settings of the tagging function (and of anything else that attributes interactions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggingSettings {
    pub table_name: String,
    pub user_pool_id: String,
    pub pinpoint_app_id: String,
    pub lookback_days: u16,
    pub interaction_events: Vec<String>,
    pub username_attribute: String,
    /// Custom attribute name without the `custom:` prefix.
    pub campaign_attribute: String,
    pub campaign_value: CampaignValue,
}

impl TaggingSettings {
    /// Reads the settings through `lookup`, which returns a variable's value or `None`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(TaggingSettings {
            table_name: table_name(&lookup)?,
            user_pool_id: user_pool_id(&lookup)?,
            pinpoint_app_id: pinpoint_app_id(&lookup)?,
            lookback_days: lookback_days(&lookup)?,
            interaction_events: interaction_events(&lookup)?,
            username_attribute: username_attribute(&lookup)?,
            campaign_attribute: campaign_attribute(&lookup)?,
            campaign_value: campaign_value(&lookup)?,
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(read_env)
    }

    /// Returns the attribute name as Cognito's API expects it, e.g. `custom:campaign`.
    pub fn cognito_attribute(&self) -> String {
        format!("custom:{}", self.campaign_attribute)
    }
}

/// Settings of the expiration function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirationSettings {
    pub table_name: String,
    pub user_pool_id: String,
    /// Custom attribute name without the `custom:` prefix.
    pub campaign_attribute: String,
}

impl ExpirationSettings {
    /// Reads the settings through `lookup`, which returns a variable's value or `None`.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        Ok(ExpirationSettings {
            table_name: table_name(&lookup)?,
            user_pool_id: user_pool_id(&lookup)?,
            campaign_attribute: campaign_attribute(&lookup)?,
        })
    }

    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(read_env)
    }

    /// Returns the attribute name as Cognito's API expects it, e.g. `custom:campaign`.
    pub fn cognito_attribute(&self) -> String {
        format!("custom:{}", self.campaign_attribute)
    }
}

/// Reads a variable; a value that is not Unicode is kept (lossily) so validation can show it.
fn read_env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    expected: &'static str,
) -> Result<String, SettingsError> {
    match lookup(name) {
        Some(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(SettingsError::Missing { name, expected }),
    }
}

fn optional(lookup: &impl Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    lookup(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn table_name(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    const EXPECTED: &str = "a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'";
    let value = required(lookup, env::TABLE_NAME, EXPECTED)?;

    let valid_chars = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !(3..=255).contains(&value.len()) || !valid_chars {
        return Err(invalid(env::TABLE_NAME, value, EXPECTED));
    }
    Ok(value)
}

fn user_pool_id(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    const EXPECTED: &str = "a Cognito user pool id such as eu-west-1_AbCdEf123";
    let value = required(lookup, env::USER_POOL_ID, EXPECTED)?;

    let well_formed = value.split_once('_').is_some_and(|(region, id)| {
        !region.is_empty()
            && !id.is_empty()
            && region
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
            && id.chars().all(|c| c.is_ascii_alphanumeric())
    });
    if !well_formed {
        return Err(invalid(env::USER_POOL_ID, value, EXPECTED));
    }
    Ok(value)
}

fn pinpoint_app_id(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    const EXPECTED: &str = "the Pinpoint application id (letters and digits)";
    let value = required(lookup, env::PINPOINT_APP_ID, EXPECTED)?;

    if !value.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(invalid(env::PINPOINT_APP_ID, value, EXPECTED));
    }
    Ok(value)
}

fn lookback_days(lookup: &impl Fn(&str) -> Option<String>) -> Result<u16, SettingsError> {
    const EXPECTED: &str = "the lookback window in whole days, from 1 to 365";
    let value = required(lookup, env::LOOKBACK_DAYS, EXPECTED)?;

    match value.parse::<u16>() {
        Ok(days) if (1..=MAX_LOOKBACK_DAYS).contains(&days) => Ok(days),
        _ => Err(invalid(env::LOOKBACK_DAYS, value, EXPECTED)),
    }
}

fn interaction_events(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, SettingsError> {
    const EXPECTED: &str = "comma-separated Pinpoint event types such as _email.click,_email.open";
    let Some(value) = optional(lookup, env::INTERACTION_EVENTS) else {
        return Ok(DEFAULT_INTERACTION_EVENTS.map(str::to_owned).to_vec());
    };

    let mut events: Vec<String> = Vec::new();
    for event in value.split(',').map(str::trim) {
        if event.is_empty() || event.chars().any(char::is_whitespace) {
            return Err(invalid(env::INTERACTION_EVENTS, value, EXPECTED));
        }
        if !events.iter().any(|known| known == event) {
            events.push(event.to_owned());
        }
    }
    Ok(events)
}

fn username_attribute(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    const EXPECTED: &str = "the endpoint user attribute that holds the Cognito username";
    let Some(value) = optional(lookup, env::USERNAME_ATTRIBUTE) else {
        return Ok(DEFAULT_USERNAME_ATTRIBUTE.to_owned());
    };

    if value.chars().any(char::is_whitespace) {
        return Err(invalid(env::USERNAME_ATTRIBUTE, value, EXPECTED));
    }
    Ok(value)
}

fn campaign_attribute(lookup: &impl Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    const EXPECTED: &str =
        "a Cognito custom attribute name of 1 to 20 characters, without the custom: prefix";
    let Some(value) = optional(lookup, env::CAMPAIGN_ATTRIBUTE) else {
        return Ok(DEFAULT_CAMPAIGN_ATTRIBUTE.to_owned());
    };

    let too_long = value.chars().count() > MAX_CAMPAIGN_ATTRIBUTE_LEN;
    if too_long || value.starts_with("custom:") || value.chars().any(char::is_whitespace) {
        return Err(invalid(env::CAMPAIGN_ATTRIBUTE, value, EXPECTED));
    }
    Ok(value)
}

fn campaign_value(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<CampaignValue, SettingsError> {
    const EXPECTED: &str = "journey_name or journey_id";
    let Some(value) = optional(lookup, env::CAMPAIGN_VALUE) else {
        return Ok(CampaignValue::JourneyName);
    };

    match value.as_str() {
        "journey_name" => Ok(CampaignValue::JourneyName),
        "journey_id" => Ok(CampaignValue::JourneyId),
        _ => Err(invalid(env::CAMPAIGN_VALUE, value, EXPECTED)),
    }
}

fn invalid(name: &'static str, value: String, expected: &'static str) -> SettingsError {
    SettingsError::Invalid {
        name,
        value,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn complete() -> HashMap<&'static str, String> {
        HashMap::from([
            (env::TABLE_NAME, "attribution-dev-shop".to_owned()),
            (env::USER_POOL_ID, "eu-west-1_AbCdEf123".to_owned()),
            (
                env::PINPOINT_APP_ID,
                "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b".to_owned(),
            ),
            (env::LOOKBACK_DAYS, "14".to_owned()),
        ])
    }

    fn tagging(map: &HashMap<&'static str, String>) -> Result<TaggingSettings, SettingsError> {
        TaggingSettings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn tagging_defaults_apply() {
        let settings = tagging(&complete()).unwrap();

        assert_eq!(settings.table_name, "attribution-dev-shop");
        assert_eq!(settings.lookback_days, 14);
        assert_eq!(settings.interaction_events, ["_email.click", "_email.open"]);
        assert_eq!(settings.username_attribute, "username");
        assert_eq!(settings.campaign_attribute, "campaign");
        assert_eq!(settings.cognito_attribute(), "custom:campaign");
        assert_eq!(settings.campaign_value, CampaignValue::JourneyName);
    }

    #[test]
    fn tagging_reads_optional_settings() {
        let mut map = complete();
        map.insert(
            env::INTERACTION_EVENTS,
            " _email.click , _SMS.SUCCESS,_email.click ".into(),
        );
        map.insert(env::USERNAME_ATTRIBUTE, "cognito_username".into());
        map.insert(env::CAMPAIGN_ATTRIBUTE, "journey".into());
        map.insert(env::CAMPAIGN_VALUE, "journey_id".into());

        let settings = tagging(&map).unwrap();

        assert_eq!(
            settings.interaction_events,
            ["_email.click", "_SMS.SUCCESS"]
        );
        assert_eq!(settings.username_attribute, "cognito_username");
        assert_eq!(settings.cognito_attribute(), "custom:journey");
        assert_eq!(settings.campaign_value, CampaignValue::JourneyId);
    }

    #[test]
    fn missing_required_setting_is_named() {
        for name in [
            env::TABLE_NAME,
            env::USER_POOL_ID,
            env::PINPOINT_APP_ID,
            env::LOOKBACK_DAYS,
        ] {
            let mut map = complete();
            map.remove(name);

            let error = tagging(&map).unwrap_err();

            assert!(
                matches!(error, SettingsError::Missing { name: missing, .. } if missing == name),
                "{name}: {error}"
            );
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn blank_setting_counts_as_missing() {
        let mut map = complete();
        map.insert(env::TABLE_NAME, "  ".into());

        let error = tagging(&map).unwrap_err();

        assert_eq!(
            error.to_string(),
            "setting ATTRIBUTION_TABLE is missing: set it to a DynamoDB table name: 3 to 255 letters, digits, '_', '-' or '.'"
        );
    }

    #[test]
    fn invalid_values_are_named_with_value() {
        let cases = [
            (env::TABLE_NAME, "a b"),
            (env::USER_POOL_ID, "nopool"),
            (env::PINPOINT_APP_ID, "app/1"),
            (env::LOOKBACK_DAYS, "0"),
            (env::LOOKBACK_DAYS, "366"),
            (env::LOOKBACK_DAYS, "7d"),
            (env::INTERACTION_EVENTS, "_email.click,,_email.open"),
            (env::USERNAME_ATTRIBUTE, "user name"),
            (env::CAMPAIGN_ATTRIBUTE, "custom:campaign"),
            (env::CAMPAIGN_ATTRIBUTE, "a_name_longer_than_twenty"),
            (env::CAMPAIGN_VALUE, "journey"),
        ];
        for (name, value) in cases {
            let mut map = complete();
            map.insert(name, value.to_owned());

            let error = tagging(&map).unwrap_err();

            assert!(
                matches!(&error, SettingsError::Invalid { name: invalid, .. } if *invalid == name),
                "{name}={value}: {error}"
            );
            assert!(error.to_string().contains(value), "{error}");
        }
    }

    #[test]
    fn lookback_message_states_range() {
        let mut map = complete();
        map.insert(env::LOOKBACK_DAYS, "0".into());

        let error = tagging(&map).unwrap_err();

        assert_eq!(
            error.to_string(),
            "setting LOOKBACK_DAYS has the invalid value \"0\": expected the lookback window in whole days, from 1 to 365"
        );
    }

    #[test]
    fn expiration_needs_only_its_settings() {
        let map = HashMap::from([
            (env::TABLE_NAME, "attribution-dev-shop".to_owned()),
            (env::USER_POOL_ID, "eu-west-1_AbCdEf123".to_owned()),
        ]);

        let settings = ExpirationSettings::from_lookup(|name| map.get(name).cloned()).unwrap();

        assert_eq!(settings.table_name, "attribution-dev-shop");
        assert_eq!(settings.cognito_attribute(), "custom:campaign");
    }

    #[test]
    fn expiration_names_missing_pool() {
        let map = HashMap::from([(env::TABLE_NAME, "attribution-dev-shop".to_owned())]);

        let error = ExpirationSettings::from_lookup(|name| map.get(name).cloned()).unwrap_err();

        assert!(error.to_string().contains("USER_POOL_ID"), "{error}");
    }
}
