//! The DynamoDB stream event handler: records in, partial batch response out.

use std::num::NonZeroU32;
use std::time::Instant;

use attribution_core::budget::within_budget;
use attribution_core::{ExpirationReport, ExpirationSettings, Outcome, SkipReason, expire_batch};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::Value;
use tracing::{debug, error, info, warn};

use attribution_aws::{CognitoPool, DynamoTable};

/// The expiration function: settings and clients, built once per instance.
pub struct Expiration {
    settings: ExpirationSettings,
    table: DynamoTable,
    pool: CognitoPool,
}

impl Expiration {
    /// Builds the function from its settings and SDK clients. The clients' region comes from
    /// their configuration, never from a stream record's `awsRegion`.
    pub fn new(
        settings: ExpirationSettings,
        dynamodb: aws_sdk_dynamodb::Client,
        cognito: aws_sdk_cognitoidentityprovider::Client,
    ) -> Expiration {
        Expiration {
            table: DynamoTable::new(dynamodb, &settings.table_name),
            pool: CognitoPool::new(cognito, &settings.user_pool_id),
            settings,
        }
    }

    /// Limits this instance to `per_second` Cognito attribute updates per second.
    pub fn with_cognito_rate(mut self, per_second: NonZeroU32) -> Expiration {
        self.pool = self.pool.with_rate(per_second);
        self
    }

    /// Handles one DynamoDB stream event, giving up on AWS calls (retries included) at
    /// `deadline`. The record whose call ran out of time is reported for retry.
    pub async fn handle_until(&self, event: &Value, deadline: Instant) -> DynamoDbEventResponse {
        within_budget(deadline, self.handle(event)).await
    }

    /// Handles one DynamoDB stream event and returns the record to retry from, if any.
    ///
    /// Only deletions by DynamoDB's TTL process count. The stack's event filter admits only
    /// those, and this check repeats it, so a missing or changed filter cannot blank
    /// attributes on ordinary deletes. Records are read one by one, so one malformed record
    /// is skipped instead of failing the event.
    pub async fn handle(&self, event: &Value) -> DynamoDbEventResponse {
        let Some(records) = event.get("Records").and_then(Value::as_array) else {
            warn!("event has no Records array; nothing to process");
            return DynamoDbEventResponse::default();
        };

        let report = Box::pin(expire_batch(
            records,
            &self.settings,
            &self.table,
            &self.pool,
        ))
        .await;

        log_report(&report);
        response(&report)
    }
}

/// Builds the partial batch response: the first failed record, or an empty list.
pub fn response(report: &ExpirationReport) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    if let Some(sequence) = &report.first_failure {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence.clone());
        response.batch_item_failures.push(failure);
    }
    response
}

fn log_report(report: &ExpirationReport) {
    for record in &report.outcomes {
        let detail = record.detail.as_deref().unwrap_or("");
        let user = record.user.as_deref().unwrap_or("");
        match &record.outcome {
            Outcome::Skipped(SkipReason::NotTtlDeletion) => {
                debug!(record = %record.id, "record is not a TTL deletion; skipped")
            }
            Outcome::Skipped(reason) => {
                warn!(record = %record.id, reason = %reason, user, detail, "record skipped")
            }
            Outcome::Failed => {
                error!(record = %record.id, user, detail, "record failed; reporting it for retry")
            }
            Outcome::Blanked => {
                info!(record = %record.id, user, "attribution expired; attribute blanked")
            }
            Outcome::Kept => {
                info!(record = %record.id, user, detail, "attribution deleted; attribute kept")
            }
            _ => {}
        }
    }

    let counts = serde_json::to_string(&report.counts).unwrap_or_default();
    info!(counts = %counts, first_failure = report.first_failure.as_deref().unwrap_or(""), "batch processed");
}

#[cfg(test)]
mod tests {
    use attribution_core::outcome::ExpirationCounts;

    use super::*;

    fn report(first_failure: Option<&str>) -> ExpirationReport {
        ExpirationReport {
            outcomes: Vec::new(),
            counts: ExpirationCounts::default(),
            first_failure: first_failure.map(str::to_owned),
        }
    }

    #[test]
    fn response_names_failed_sequence() {
        let json =
            serde_json::to_string(&response(&report(Some("318407500000000052946231841")))).unwrap();

        assert_eq!(
            json,
            r#"{"batchItemFailures":[{"itemIdentifier":"318407500000000052946231841"}]}"#
        );
    }

    #[test]
    fn healthy_response_is_empty_list() {
        let json = serde_json::to_string(&response(&report(None))).unwrap();

        assert_eq!(json, r#"{"batchItemFailures":[]}"#);
    }
}
