//! The environment file as written: every key optional, every value with its location.
//!
//! Strings are read as typed strings, so serde-saphyr keeps them as written (`no` stays
//! `"no"`, `012345678901` keeps its leading zero). Numbers and booleans are read as
//! [`RawValue`], which records whatever the YAML contains, so the messages of `rules` can
//! name exactly what was found (for example a quoted `"7"`) instead of converting it silently.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A value with the place it was written.
pub(super) type Located<T> = Spanned<T>;

/// Parses the YAML text into the raw document.
pub(super) fn parse_document(text: &str) -> Result<Located<RawEnvironment>, serde_saphyr::Error> {
    let options = serde_saphyr::options! {
        // `yes`, `on` and friends stay strings in untyped values, so `protected: yes` is
        // reported instead of read as true.
        strict_booleans: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(text, options)
}

/// Top level of an environment file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnvironment {
    pub environment: Option<Located<String>>,
    pub region: Option<Located<String>>,
    pub account_id: Option<Located<String>>,
    pub protected: Option<Located<RawValue>>,
    pub cognito_quota: Option<Located<RawValue>>,
    pub stack_prefix: Option<Located<String>>,
    pub artifacts_bucket: Option<Located<String>>,
    pub tags: Option<Located<Entries>>,
    pub defaults: Option<Located<RawSettings>>,
    pub applications: Option<Located<Vec<Located<RawApplication>>>>,
}

/// Declares a struct with the given fields followed by every application setting, so that
/// `defaults:` and an application accept exactly the same settings.
macro_rules! with_settings {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $type:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            $(pub $field: $type,)*
            pub lookback_days: Option<Located<RawValue>>,
            pub interaction_events: Option<Located<Vec<Located<String>>>>,
            pub username_attribute: Option<Located<String>>,
            pub campaign_attribute: Option<Located<String>>,
            pub campaign_value: Option<Located<String>>,
            pub architecture: Option<Located<String>>,
            pub memory_mb: Option<Located<RawValue>>,
            pub timeout_seconds: Option<Located<RawValue>>,
            pub log_retention_days: Option<Located<RawValue>>,
            pub batch_size: Option<Located<RawValue>>,
            pub maximum_retry_attempts: Option<Located<RawValue>>,
            pub event_stream: Option<Located<RawEventStream>>,
            pub cognito_updates_per_second: Option<Located<RawValue>>,
            pub cognito_quota_percent: Option<Located<RawValue>>,
        }
    };
}

/// The `event_stream:` mapping of `defaults:` or an application.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEventStream {
    pub mode: Option<Located<String>>,
    pub replace_existing: Option<Located<RawValue>>,
    pub stream_arn: Option<Located<String>>,
}

with_settings!(
    /// The `defaults:` mapping.
    RawSettings {}
);

with_settings!(
    /// One entry of `applications:`.
    RawApplication {
        name: Option<Located<String>>,
        pinpoint_app_id: Option<Located<String>>,
        user_pool_id: Option<Located<String>>,
    }
);

impl RawApplication {
    /// Moves the application's settings out, leaving its identity fields.
    pub fn take_settings(&mut self) -> RawSettings {
        RawSettings {
            lookback_days: self.lookback_days.take(),
            interaction_events: self.interaction_events.take(),
            username_attribute: self.username_attribute.take(),
            campaign_attribute: self.campaign_attribute.take(),
            campaign_value: self.campaign_value.take(),
            architecture: self.architecture.take(),
            memory_mb: self.memory_mb.take(),
            timeout_seconds: self.timeout_seconds.take(),
            log_retention_days: self.log_retention_days.take(),
            batch_size: self.batch_size.take(),
            maximum_retry_attempts: self.maximum_retry_attempts.take(),
            event_stream: self.event_stream.take(),
            cognito_updates_per_second: self.cognito_updates_per_second.take(),
            cognito_quota_percent: self.cognito_quota_percent.take(),
        }
    }
}

/// Any YAML value, as serde-saphyr resolves it without a target type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum RawValue {
    Integer(i128),
    Float(f64),
    Bool(bool),
    String(String),
    Null,
    Sequence,
    Mapping,
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawValueVisitor)
    }
}

struct RawValueVisitor;

impl<'de> Visitor<'de> for RawValueVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawValue, E> {
        Ok(RawValue::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawValue, E> {
        Ok(RawValue::Integer(value.into()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawValue, E> {
        Ok(RawValue::Integer(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<RawValue, E> {
        Ok(RawValue::Integer(value))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<RawValue, E> {
        // Values beyond i128 are far outside every accepted range: saturating keeps them so.
        Ok(RawValue::Integer(
            i128::try_from(value).unwrap_or(i128::MAX),
        ))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawValue, E> {
        Ok(RawValue::Float(value))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<RawValue, E> {
        Ok(RawValue::String(value.to_owned()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<RawValue, E> {
        Ok(RawValue::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<RawValue, A::Error> {
        while sequence.next_element::<IgnoredAny>()?.is_some() {}
        Ok(RawValue::Sequence)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(RawValue::Mapping)
    }
}

/// A mapping of strings to strings, in file order, each key and value with its location.
#[derive(Debug, Default)]
pub(super) struct Entries(pub Vec<(Located<String>, Located<String>)>);

impl<'de> Deserialize<'de> for Entries {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EntriesVisitor)
    }
}

struct EntriesVisitor;

impl<'de> Visitor<'de> for EntriesVisitor {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping of strings to strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Entries(entries))
    }
}
