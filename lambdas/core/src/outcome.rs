//! Per-record outcomes of a batch, and the counts that the functions log.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Why a record was skipped. Skipping is final: a retry would skip the record again, so a
/// skipped record never fails its batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// The stream record lacks its sequence number or its data.
    InvalidEnvelope,
    /// The record's data is not valid base64.
    InvalidBase64,
    /// The payload, or what it decompresses to, exceeds [`crate::decode::MAX_EVENT_BYTES`].
    Oversized,
    /// The payload starts like gzip but does not decompress.
    InvalidGzip,
    /// The payload is not UTF-8 text.
    NotUtf8,
    /// The JSON text ends before the value is complete.
    TruncatedJson,
    /// The payload is not valid JSON.
    InvalidJson,
    /// The payload is JSON but not an object.
    NotAnObject,
    /// The event has no `event_type`.
    MissingEventType,
    /// The event has no `application.app_id`.
    MissingApplicationId,
    /// The event has no `client.client_id` (the endpoint id).
    MissingEndpointId,
    /// The event has no usable timestamp for its interaction time.
    MissingTimestamp,
    /// The event belongs to another Pinpoint application.
    OtherApplication,
    /// The event type is not one of the configured interaction events.
    NotAnInteraction,
    /// The event has no `attributes.journey_id` (a campaign or transactional message).
    NotAJourneyEvent,
    /// The interaction's lookback window had already ended when the record was processed.
    OutsideLookback,
    /// The interaction time lies more than a day after the processing time.
    TimestampInFuture,
    /// The endpoint does not exist (any more) in the Pinpoint application.
    EndpointNotFound,
    /// The endpoint has no value for the configured username attribute.
    NoUsername,
    /// The journey does not exist (any more), so its name cannot be read.
    JourneyNotFound,
    /// The user is not in the Cognito user pool.
    UserNotInPool,
    /// A service rejected the request for this record (a 4xx error other than throttling).
    RequestRejected,
    /// The stream record is not a deletion made by DynamoDB's TTL process.
    NotTtlDeletion,
    /// The stream record is not a DynamoDB stream record.
    InvalidStreamRecord,
    /// The stream record's keys carry no username.
    MissingUsername,
}

impl SkipReason {
    /// Returns the reason's stable snake_case name, as used in logs and counts.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::InvalidEnvelope => "invalid_envelope",
            SkipReason::InvalidBase64 => "invalid_base64",
            SkipReason::Oversized => "oversized",
            SkipReason::InvalidGzip => "invalid_gzip",
            SkipReason::NotUtf8 => "not_utf8",
            SkipReason::TruncatedJson => "truncated_json",
            SkipReason::InvalidJson => "invalid_json",
            SkipReason::NotAnObject => "not_an_object",
            SkipReason::MissingEventType => "missing_event_type",
            SkipReason::MissingApplicationId => "missing_application_id",
            SkipReason::MissingEndpointId => "missing_endpoint_id",
            SkipReason::MissingTimestamp => "missing_timestamp",
            SkipReason::OtherApplication => "other_application",
            SkipReason::NotAnInteraction => "not_an_interaction",
            SkipReason::NotAJourneyEvent => "not_a_journey_event",
            SkipReason::OutsideLookback => "outside_lookback",
            SkipReason::TimestampInFuture => "timestamp_in_future",
            SkipReason::EndpointNotFound => "endpoint_not_found",
            SkipReason::NoUsername => "no_username",
            SkipReason::JourneyNotFound => "journey_not_found",
            SkipReason::UserNotInPool => "user_not_in_pool",
            SkipReason::RequestRejected => "request_rejected",
            SkipReason::NotTtlDeletion => "not_ttl_deletion",
            SkipReason::InvalidStreamRecord => "invalid_stream_record",
            SkipReason::MissingUsername => "missing_username",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The record's interaction is now the user's stored attribution.
    Attributed {
        /// Whether the Cognito attribute was written (false when only the window moved).
        attribute_updated: bool,
    },
    /// A newer or equal attribution was already stored, or a newer record of the same batch won.
    Unchanged,
    /// The expiration function blanked the user's attribute.
    Blanked,
    /// The expiration function kept the attribute because an attribution is still stored.
    Kept,
    /// The record was skipped for good.
    Skipped(SkipReason),
    /// Processing failed in a way that a retry can fix; the batch reports this record.
    Failed,
    /// The record comes after a failed one and is left to the retry that the failure causes.
    Deferred,
}

/// The outcome of one record with what a log line may show about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordOutcome {
    /// Identifier of the record: the stream sequence number, or a line number in a replay.
    pub id: String,
    pub outcome: Outcome,
    /// Pseudonymous user reference from [`user_hash`], when the user is known.
    pub user: Option<String>,
    /// Extra explanation: a decoding error's position or a service's error message.
    pub detail: Option<String>,
}

impl RecordOutcome {
    pub(crate) fn new(id: &str, outcome: Outcome) -> RecordOutcome {
        RecordOutcome {
            id: id.to_owned(),
            outcome,
            user: None,
            detail: None,
        }
    }
}

/// Returns a short pseudonymous reference to a username for log lines.
///
/// It is the first 12 hex digits of the username's SHA-256: enough to correlate log lines of
/// one user without printing the username. It is unsalted, so it is a pseudonym, not an
/// anonymisation.
pub fn user_hash(username: &str) -> String {
    let digest = Sha256::digest(username.as_bytes());
    hex::encode(&digest[..6])
}

/// Counts of one tagging batch, logged once per invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TaggingCounts {
    pub received: u32,
    pub attributed: u32,
    pub unchanged: u32,
    pub skipped: BTreeMap<SkipReason, u32>,
    pub failed: u32,
    pub deferred: u32,
    /// Cognito attribute writes made for this batch.
    pub attribute_updates: u32,
}

impl TaggingCounts {
    /// Counts the outcomes of a tagging batch.
    pub fn from_outcomes(outcomes: &[RecordOutcome]) -> TaggingCounts {
        let mut counts = TaggingCounts {
            received: outcomes.len() as u32,
            ..TaggingCounts::default()
        };
        for record in outcomes {
            match &record.outcome {
                Outcome::Attributed { attribute_updated } => {
                    counts.attributed += 1;
                    counts.attribute_updates += u32::from(*attribute_updated);
                }
                // The tagging batch never produces the expiration outcomes.
                Outcome::Unchanged | Outcome::Kept | Outcome::Blanked => counts.unchanged += 1,
                Outcome::Skipped(reason) => *counts.skipped.entry(*reason).or_default() += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Deferred => counts.deferred += 1,
            }
        }
        counts
    }

    /// Returns the number of skipped records over all reasons.
    pub fn skipped_total(&self) -> u32 {
        self.skipped.values().sum()
    }
}

/// Counts of one expiration batch, logged once per invocation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExpirationCounts {
    pub received: u32,
    pub blanked: u32,
    pub kept: u32,
    pub skipped: BTreeMap<SkipReason, u32>,
    pub failed: u32,
    pub deferred: u32,
}

impl ExpirationCounts {
    /// Counts the outcomes of an expiration batch.
    pub fn from_outcomes(outcomes: &[RecordOutcome]) -> ExpirationCounts {
        let mut counts = ExpirationCounts {
            received: outcomes.len() as u32,
            ..ExpirationCounts::default()
        };
        for record in outcomes {
            match &record.outcome {
                Outcome::Blanked => counts.blanked += 1,
                // The expiration batch never produces the tagging outcomes.
                Outcome::Kept | Outcome::Unchanged | Outcome::Attributed { .. } => counts.kept += 1,
                Outcome::Skipped(reason) => *counts.skipped.entry(*reason).or_default() += 1,
                Outcome::Failed => counts.failed += 1,
                Outcome::Deferred => counts.deferred += 1,
            }
        }
        counts
    }
}

/// Marks every record after `failed_index` as deferred: the stream redelivers them after the
/// failed one, so this invocation's work on them does not count.
pub(crate) fn defer_after(outcomes: &mut [RecordOutcome], failed_index: usize) {
    for record in outcomes.iter_mut().skip(failed_index + 1) {
        record.outcome = Outcome::Deferred;
        record.detail = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_hash_is_short_and_stable() {
        let hash = user_hash("dana.rivera");

        assert_eq!(hash.len(), 12);
        assert_eq!(hash, user_hash("dana.rivera"));
        assert_ne!(hash, user_hash("dana.riviera"));
        assert!(!hash.contains("dana"));
    }

    #[test]
    fn tagging_counts_cover_every_outcome() {
        let outcomes = vec![
            RecordOutcome::new(
                "1",
                Outcome::Attributed {
                    attribute_updated: true,
                },
            ),
            RecordOutcome::new(
                "2",
                Outcome::Attributed {
                    attribute_updated: false,
                },
            ),
            RecordOutcome::new("3", Outcome::Unchanged),
            RecordOutcome::new("4", Outcome::Skipped(SkipReason::NotUtf8)),
            RecordOutcome::new("5", Outcome::Skipped(SkipReason::NotUtf8)),
            RecordOutcome::new("6", Outcome::Failed),
            RecordOutcome::new("7", Outcome::Deferred),
        ];

        let counts = TaggingCounts::from_outcomes(&outcomes);

        assert_eq!(counts.received, 7);
        assert_eq!(counts.attributed, 2);
        assert_eq!(counts.attribute_updates, 1);
        assert_eq!(counts.unchanged, 1);
        assert_eq!(counts.skipped.get(&SkipReason::NotUtf8), Some(&2));
        assert_eq!(counts.skipped_total(), 2);
        assert_eq!(counts.failed, 1);
        assert_eq!(counts.deferred, 1);
    }

    #[test]
    fn counts_serialize_reasons_in_snake_case() {
        let outcomes = vec![RecordOutcome::new(
            "1",
            Outcome::Skipped(SkipReason::NotAJourneyEvent),
        )];

        let json = serde_json::to_value(TaggingCounts::from_outcomes(&outcomes)).unwrap();

        assert_eq!(json["skipped"]["not_a_journey_event"], 1);
    }

    #[test]
    fn defer_after_marks_only_later_records() {
        let mut outcomes = vec![
            RecordOutcome::new("1", Outcome::Unchanged),
            RecordOutcome::new("2", Outcome::Failed),
            RecordOutcome::new("3", Outcome::Skipped(SkipReason::NotUtf8)),
        ];

        defer_after(&mut outcomes, 1);

        assert_eq!(outcomes[0].outcome, Outcome::Unchanged);
        assert_eq!(outcomes[1].outcome, Outcome::Failed);
        assert_eq!(outcomes[2].outcome, Outcome::Deferred);
    }
}
