//! The fields of a Pinpoint event-stream record that attribution reads.
//!
//! Deserialization is lenient the way real streams need: unknown fields are ignored, every
//! field is optional, numbers are accepted where strings are expected and numeric strings or
//! fractions where integers are expected. A field of an unusable type reads as absent instead
//! of failing the record. The classifier then decides whether the record still has what it
//! needs.

use std::collections::BTreeMap;

use serde::Deserialize;

/// Event versions whose layout this crate was written against.
pub const KNOWN_EVENT_VERSIONS: [&str; 2] = ["3.0", "3.1"];

/// One Pinpoint event, as the event stream delivers it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct PinpointEvent {
    #[serde(deserialize_with = "lenient::string")]
    pub event_type: Option<String>,
    #[serde(deserialize_with = "lenient::string")]
    pub event_version: Option<String>,
    /// Milliseconds since the epoch; for email events, the time the message was sent.
    #[serde(deserialize_with = "lenient::millis")]
    pub event_timestamp: Option<i64>,
    /// Milliseconds since the epoch at which Pinpoint received the event.
    #[serde(deserialize_with = "lenient::millis")]
    pub arrival_timestamp: Option<i64>,
    #[serde(deserialize_with = "lenient::object")]
    pub application: Application,
    #[serde(deserialize_with = "lenient::object")]
    pub client: Client,
    #[serde(deserialize_with = "lenient::string_map")]
    pub attributes: BTreeMap<String, String>,
}

/// The `application` object of an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Application {
    #[serde(deserialize_with = "lenient::string")]
    pub app_id: Option<String>,
}

/// The `client` object of an event; `client_id` is the endpoint id for messaging events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Client {
    #[serde(deserialize_with = "lenient::string")]
    pub client_id: Option<String>,
}

impl PinpointEvent {
    /// Returns a non-empty attribute value.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .get(name)
            .map(String::as_str)
            .filter(|value| !value.is_empty())
    }

    /// Returns whether the event's version is one of [`KNOWN_EVENT_VERSIONS`].
    pub fn has_known_version(&self) -> bool {
        self.event_version
            .as_deref()
            .is_some_and(|version| KNOWN_EVENT_VERSIONS.contains(&version))
    }
}

/// Deserializers that read a wrongly typed field as absent instead of failing the record.
pub(crate) mod lenient {
    use std::collections::BTreeMap;

    use serde::de::DeserializeOwned;
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// Reads a string, number or boolean as text; anything else as absent.
    pub fn string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(scalar_text(value).filter(|text| !text.is_empty()))
    }

    /// Reads epoch milliseconds from an integer, a fraction or a numeric string.
    pub fn millis<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match value {
            Value::Number(number) => number
                .as_i64()
                .or_else(|| number.as_f64().and_then(whole_millis)),
            Value::String(text) => {
                let text = text.trim();
                text.parse::<i64>()
                    .ok()
                    .or_else(|| text.parse::<f64>().ok().and_then(whole_millis))
            }
            _ => None,
        }
        .filter(|millis| *millis >= 0))
    }

    /// Reads an object of scalars as a map of text; non-scalar members are dropped.
    pub fn string_map<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, String>, D::Error> {
        let Value::Object(members) = Value::deserialize(deserializer)? else {
            return Ok(BTreeMap::new());
        };
        Ok(members
            .into_iter()
            .filter_map(|(name, value)| scalar_text(value).map(|text| (name, text)))
            .collect())
    }

    /// Reads a nested object; a value of any other type reads as the default.
    pub fn object<'de, D, T>(deserializer: D) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: DeserializeOwned + Default,
    {
        let value = Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Ok(T::default());
        }
        Ok(T::deserialize(value).unwrap_or_default())
    }

    /// Reads an array of scalars, or a single scalar, as a list of text.
    pub fn string_list<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        Ok(match Value::deserialize(deserializer)? {
            Value::Array(items) => items.into_iter().filter_map(scalar_text).collect(),
            other => scalar_text(other).into_iter().collect(),
        })
    }

    /// Reads an object whose members are lists of text (Pinpoint's user attributes).
    pub fn string_list_map<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Vec<String>>, D::Error> {
        let Value::Object(members) = Value::deserialize(deserializer)? else {
            return Ok(BTreeMap::new());
        };
        Ok(members
            .into_iter()
            .map(|(name, value)| {
                let list = string_list(value).unwrap_or_default();
                (name, list)
            })
            .collect())
    }

    fn scalar_text(value: Value) -> Option<String> {
        match value {
            Value::String(text) => Some(text),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    }

    fn whole_millis(value: f64) -> Option<i64> {
        (value.is_finite() && value >= 0.0 && value < i64::MAX as f64).then_some(value as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> PinpointEvent {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn reads_documented_fields() {
        let event = parse(
            r#"{"event_type":"_email.open","event_version":"3.1",
                "event_timestamp":1741964400480,"arrival_timestamp":1741966937305,
                "application":{"app_id":"7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b","sdk":{}},
                "client":{"client_id":"5f0c2a7e-93b1-4d6a-8e2f-1b7c9d3e4a60"},
                "attributes":{"journey_id":"0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a","feedback":"opened"}}"#,
        );

        assert_eq!(event.event_type.as_deref(), Some("_email.open"));
        assert_eq!(event.event_timestamp, Some(1741964400480));
        assert_eq!(event.arrival_timestamp, Some(1741966937305));
        assert_eq!(
            event.application.app_id.as_deref(),
            Some("7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b")
        );
        assert_eq!(
            event.attribute("journey_id"),
            Some("0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a")
        );
        assert!(event.has_known_version());
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let event = parse(
            r#"{"event_type":"_email.click","new_top_level":{"a":[1,2]},"another":null,
                "client":{"client_id":"e1","cognito_id":"x","extra":true}}"#,
        );

        assert_eq!(event.event_type.as_deref(), Some("_email.click"));
        assert_eq!(event.client.client_id.as_deref(), Some("e1"));
    }

    #[test]
    fn numbers_read_as_strings() {
        let event = parse(
            r#"{"event_version":3.1,"application":{"app_id":12345},
                "attributes":{"journey_id":987,"treatment_id":0,"flag":true}}"#,
        );

        assert_eq!(event.event_version.as_deref(), Some("3.1"));
        assert_eq!(event.application.app_id.as_deref(), Some("12345"));
        assert_eq!(event.attribute("journey_id"), Some("987"));
        assert_eq!(event.attribute("treatment_id"), Some("0"));
        assert_eq!(event.attribute("flag"), Some("true"));
    }

    #[test]
    fn timestamps_accept_strings_and_fractions() {
        let event =
            parse(r#"{"event_timestamp":"1717000000000","arrival_timestamp":1717000000123.9}"#);

        assert_eq!(event.event_timestamp, Some(1717000000000));
        assert_eq!(event.arrival_timestamp, Some(1717000000123));
    }

    #[test]
    fn unusable_values_read_as_absent() {
        let event = parse(
            r#"{"event_type":["_email.open"],"event_timestamp":-5,"arrival_timestamp":"soon",
                "application":"app","client":[1],"attributes":"none"}"#,
        );

        assert_eq!(event, PinpointEvent::default());
    }

    #[test]
    fn null_and_empty_fields_read_as_absent() {
        let event = parse(
            r#"{"event_type":null,"event_version":"","client":{"client_id":null},
                "attributes":{"journey_id":"","nested":{"a":1}}}"#,
        );

        assert_eq!(event.event_type, None);
        assert_eq!(event.event_version, None);
        assert_eq!(event.client.client_id, None);
        assert_eq!(event.attribute("journey_id"), None);
        assert!(!event.attributes.contains_key("nested"));
    }

    #[test]
    fn version_outside_known_list_is_flagged() {
        assert!(!parse(r#"{"event_version":"4.0"}"#).has_known_version());
        assert!(!parse(r#"{}"#).has_known_version());
        assert!(parse(r#"{"event_version":"3.0"}"#).has_known_version());
    }
}
