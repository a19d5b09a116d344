//! The Kinesis event handler: records in, partial batch response out.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Instant;

use attribution_core::decode::{DecodeError, decode_base64};
use attribution_core::{
    CustomChannelEvent, Directory, InputRecord, InvocationKind, Outcome, Services, SkipReason,
    TaggingReport, TaggingSettings, attribute_batch, attribute_custom_channel, invocation_kind,
};
use aws_lambda_events::streams::KinesisEventResponse;
use serde_json::{Map, Value, json};
use tracing::{debug, error, info, warn};

use crate::aws::{CognitoPool, DynamoTable};
use crate::retry::within_budget;

/// Returns the current time in epoch milliseconds.
pub fn system_clock() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}

/// The tagging function: settings and clients, built once per instance.
pub struct Tagging<D> {
    settings: TaggingSettings,
    table: DynamoTable,
    pool: CognitoPool,
    directory: D,
    clock: fn() -> i64,
}

impl<D: Directory + Sync> Tagging<D> {
    /// Builds the function from its settings, SDK clients and user directory.
    pub fn new(
        settings: TaggingSettings,
        dynamodb: aws_sdk_dynamodb::Client,
        cognito: aws_sdk_cognitoidentityprovider::Client,
        directory: D,
    ) -> Tagging<D> {
        Tagging {
            table: DynamoTable::new(dynamodb, &settings.table_name),
            pool: CognitoPool::new(cognito, &settings.user_pool_id),
            settings,
            directory,
            clock: system_clock,
        }
    }

    /// Replaces the clock (epoch milliseconds), which decides what lies in the lookback window.
    pub fn with_clock(mut self, clock: fn() -> i64) -> Tagging<D> {
        self.clock = clock;
        self
    }

    /// Handles one invocation: a Kinesis batch from the event source mapping, or a Pinpoint
    /// custom-channel invocation from a journey step.
    ///
    /// Returns the partial batch response for Kinesis, and the custom-channel response (see
    /// [`custom_channel_response`]) for a journey step. An event of neither kind, and a
    /// custom-channel invocation that hit a failure a retry can fix, return an error, so the
    /// invocation is reported as failed.
    pub async fn invoke(&self, event: &Value) -> Result<Value, InvocationError> {
        match invocation_kind(event) {
            InvocationKind::KinesisBatch => {
                let response = self.handle(event).await;
                serde_json::to_value(&response)
                    .map_err(|error| InvocationError::Response(error.to_string()))
            }
            InvocationKind::CustomChannel => self.handle_custom_channel(event).await,
            InvocationKind::Unknown(reason) => {
                error!(reason = %reason, "unknown event kind; nothing processed");
                Err(InvocationError::UnknownEvent(reason))
            }
        }
    }

    /// Handles a Pinpoint custom-channel invocation: attributes each endpoint's user to the
    /// invocation's journey.
    pub async fn handle_custom_channel(&self, event: &Value) -> Result<Value, InvocationError> {
        let event = CustomChannelEvent::from_json(event);
        let services = Services {
            directory: &self.directory,
            writer: &self.table,
            pool: &self.pool,
        };

        let report = Box::pin(attribute_custom_channel(
            &event,
            &self.settings,
            &services,
            (self.clock)(),
        ))
        .await;

        log_report(&report);
        match &report.first_failure {
            Some(endpoint) => Err(InvocationError::Retryable {
                endpoint: endpoint.clone(),
                detail: failure_detail(&report),
            }),
            None => Ok(custom_channel_response(&report)),
        }
    }

    /// Handles one Kinesis event and returns the record to retry from, if any.
    ///
    /// The event is read leniently, record by record, so that one malformed record (say,
    /// `data` that is not base64) is skipped instead of failing the whole event.
    pub async fn handle(&self, event: &Value) -> KinesisEventResponse {
        let records = kinesis_records(event);
        let services = Services {
            directory: &self.directory,
            writer: &self.table,
            pool: &self.pool,
        };

        // Boxed: the batch future nests deeply, and its layout exceeds the compiler's default
        // query depth when it is inlined into the runtime's future.
        let report = Box::pin(attribute_batch(
            &records,
            &self.settings,
            &services,
            (self.clock)(),
        ))
        .await;

        log_report(&report);
        response(&report)
    }
}

impl<D: Directory + Sync> Tagging<D> {
    /// Limits this instance to `per_second` Cognito attribute updates per second.
    pub fn with_cognito_rate(mut self, per_second: NonZeroU32) -> Tagging<D> {
        self.pool = self.pool.with_rate(per_second);
        self
    }

    /// Handles one Kinesis event, giving up on AWS calls (retries included) at `deadline`;
    /// the record whose call ran out of time is reported for retry.
    pub async fn handle_until(&self, event: &Value, deadline: Instant) -> KinesisEventResponse {
        within_budget(deadline, self.handle(event)).await
    }

    /// Handles one invocation of either kind like [`Tagging::invoke`], giving up on AWS calls
    /// (retries included) at `deadline`.
    pub async fn invoke_until(
        &self,
        event: &Value,
        deadline: Instant,
    ) -> Result<Value, InvocationError> {
        within_budget(deadline, self.invoke(event)).await
    }
}

/// Reads the records of a Kinesis event into the core's input records.
pub fn kinesis_records(event: &Value) -> Vec<InputRecord> {
    let Some(records) = event.get("Records").and_then(Value::as_array) else {
        warn!("event has no Records array; nothing to process");
        return Vec::new();
    };

    records
        .iter()
        .enumerate()
        .map(|(index, record)| kinesis_record(index, record))
        .collect()
}

fn kinesis_record(index: usize, record: &Value) -> InputRecord {
    let sequence = record
        .pointer("/kinesis/sequenceNumber")
        .and_then(Value::as_str)
        .filter(|sequence| !sequence.is_empty());
    let data = record.pointer("/kinesis/data").and_then(Value::as_str);

    match (sequence, data) {
        (Some(sequence), Some(data)) => InputRecord {
            id: sequence.to_owned(),
            payload: decode_base64(data),
        },
        (sequence, _) => InputRecord {
            id: sequence.map_or_else(|| format!("record {}", index + 1), str::to_owned),
            payload: Err(DecodeError {
                reason: SkipReason::InvalidEnvelope,
                detail: "record lacks kinesis.sequenceNumber or kinesis.data".to_owned(),
            }),
        },
    }
}

/// A failure of a whole invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationError {
    /// The event is neither a Kinesis event nor a custom-channel invocation.
    UnknownEvent(String),
    /// A custom-channel endpoint failed in a way that a retry can fix.
    Retryable { endpoint: String, detail: String },
    /// The response could not be written as JSON; Lambda retries the whole batch.
    Response(String),
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvocationError::UnknownEvent(reason) => write!(
                f,
                "unsupported event: {reason}; the tagging function accepts Kinesis events and Pinpoint custom-channel invocations"
            ),
            InvocationError::Retryable { endpoint, detail } => write!(
                f,
                "attribution of endpoint {endpoint} failed: {detail}; invoke the function again with the same event"
            ),
            InvocationError::Response(error) => write!(
                f,
                "failed to write the batch response as JSON: {error}; the batch is retried"
            ),
        }
    }
}

impl std::error::Error for InvocationError {}

fn failure_detail(report: &TaggingReport) -> String {
    report
        .outcomes
        .iter()
        .find(|record| record.outcome == Outcome::Failed)
        .and_then(|record| record.detail.clone())
        .unwrap_or_default()
}

/// Builds the custom-channel response: per endpoint id, an `EventAttributes` map with the
/// `attribution` outcome (`attributed`, `unchanged` or the skip reason).
///
/// This is the format Pinpoint reads from a custom-channel function to route endpoints in a
/// journey's multivariate or yes/no split after the step.
pub fn custom_channel_response(report: &TaggingReport) -> Value {
    let endpoints: Map<String, Value> = report
        .outcomes
        .iter()
        .map(|record| {
            let outcome = match &record.outcome {
                Outcome::Attributed { .. } => "attributed",
                Outcome::Skipped(reason) => reason.as_str(),
                Outcome::Failed => "failed",
                Outcome::Deferred => "deferred",
                _ => "unchanged",
            };
            let attributes = json!({"EventAttributes": {"attribution": outcome}});
            (record.id.clone(), attributes)
        })
        .collect();
    Value::Object(endpoints)
}

/// Builds the partial batch response: the first failed record, or an empty list.
pub fn response(report: &TaggingReport) -> KinesisEventResponse {
    let mut response = KinesisEventResponse::default();
    if let Some(sequence) = &report.first_failure {
        response.add_failure(sequence.clone());
    }
    response
}

/// Logs every record that did not go as planned, unknown event versions once, and the
/// batch's counts.
fn log_report(report: &TaggingReport) {
    for record in &report.outcomes {
        let detail = record.detail.as_deref().unwrap_or("");
        let user = record.user.as_deref().unwrap_or("");
        match &record.outcome {
            Outcome::Skipped(reason) if is_routine(*reason) => {
                debug!(record = %record.id, reason = %reason, "record skipped")
            }
            Outcome::Skipped(reason) => {
                warn!(record = %record.id, reason = %reason, user, detail, "record skipped")
            }
            Outcome::Failed => {
                error!(record = %record.id, user, detail, "record failed; reporting it for retry")
            }
            Outcome::Attributed { attribute_updated } => {
                debug!(record = %record.id, user, attribute_updated, "user attributed")
            }
            _ => {}
        }
    }

    for (version, records) in &report.unknown_versions {
        warn!(event_version = %version, records, "events of an unknown event_version were read by their known fields");
    }

    let counts = serde_json::to_string(&report.counts).unwrap_or_default();
    info!(counts = %counts, first_failure = report.first_failure.as_deref().unwrap_or(""), "batch processed");
}

/// Returns whether a skip is the ordinary filtering of events that do not attribute anyone.
fn is_routine(reason: SkipReason) -> bool {
    matches!(
        reason,
        SkipReason::OtherApplication
            | SkipReason::NotAnInteraction
            | SkipReason::NotAJourneyEvent
            | SkipReason::OutsideLookback
    )
}

#[cfg(test)]
mod tests {
    use attribution_core::{RecordOutcome, outcome::TaggingCounts};
    use serde_json::json;

    use super::*;

    #[test]
    fn records_read_one_by_one() {
        let event = json!({"Records": [
            {"kinesis": {"sequenceNumber": "1", "data": "eyJhIjoxfQ=="}},
            {"kinesis": {"sequenceNumber": "2", "data": "%% not base64"}},
            {"kinesis": {"sequenceNumber": "3"}},
            {"kinesis": {"data": "eyJhIjoxfQ=="}},
            "not an object"
        ]});

        let records = kinesis_records(&event);

        assert_eq!(records.len(), 5);
        assert_eq!(records[0].payload.as_deref().unwrap(), br#"{"a":1}"#);
        assert_eq!(
            records[1].payload.as_ref().unwrap_err().reason,
            SkipReason::InvalidBase64
        );
        assert_eq!(records[2].id, "3");
        assert_eq!(
            records[2].payload.as_ref().unwrap_err().reason,
            SkipReason::InvalidEnvelope
        );
        assert_eq!(records[3].id, "record 4");
        assert_eq!(
            records[4].payload.as_ref().unwrap_err().reason,
            SkipReason::InvalidEnvelope
        );
    }

    #[test]
    fn event_without_records_is_empty() {
        assert!(kinesis_records(&json!({"something": "else"})).is_empty());
    }

    fn report(first_failure: Option<&str>) -> TaggingReport {
        TaggingReport {
            outcomes: vec![RecordOutcome {
                id: "1".into(),
                outcome: Outcome::Failed,
                user: None,
                detail: None,
            }],
            counts: TaggingCounts::default(),
            first_failure: first_failure.map(str::to_owned),
            unknown_versions: Default::default(),
        }
    }

    #[test]
    fn response_names_failed_sequence() {
        let json = serde_json::to_string(&response(&report(Some("4966")))).unwrap();

        assert_eq!(json, r#"{"batchItemFailures":[{"itemIdentifier":"4966"}]}"#);
    }

    #[test]
    fn custom_channel_response_names_each_endpoint() {
        let record = |id: &str, outcome| RecordOutcome {
            id: id.into(),
            outcome,
            user: None,
            detail: None,
        };
        let report = TaggingReport {
            outcomes: vec![
                record(
                    "e-1",
                    Outcome::Attributed {
                        attribute_updated: true,
                    },
                ),
                record("e-2", Outcome::Unchanged),
                record("e-3", Outcome::Skipped(SkipReason::NoUsername)),
            ],
            counts: TaggingCounts::default(),
            first_failure: None,
            unknown_versions: Default::default(),
        };

        let response = custom_channel_response(&report);

        assert_eq!(
            response,
            json!({
                "e-1": {"EventAttributes": {"attribution": "attributed"}},
                "e-2": {"EventAttributes": {"attribution": "unchanged"}},
                "e-3": {"EventAttributes": {"attribution": "no_username"}},
            })
        );
    }

    #[test]
    fn invocation_errors_say_what_to_do() {
        let unknown = InvocationError::UnknownEvent("the event is not a JSON object".into());
        let retryable = InvocationError::Retryable {
            endpoint: "e-1".into(),
            detail: "PutItem failed: ThrottlingException".into(),
        };

        assert_eq!(
            unknown.to_string(),
            "unsupported event: the event is not a JSON object; the tagging function accepts Kinesis events and Pinpoint custom-channel invocations"
        );
        assert_eq!(
            retryable.to_string(),
            "attribution of endpoint e-1 failed: PutItem failed: ThrottlingException; invoke the function again with the same event"
        );
    }

    #[test]
    fn healthy_response_is_empty_list() {
        let json = serde_json::to_string(&response(&report(None))).unwrap();

        assert_eq!(json, r#"{"batchItemFailures":[]}"#);
    }
}
