//! Expiry: when DynamoDB's TTL process deletes an attribution, blank the user's attribute,
//! unless an attribution is stored again by then.

use serde_json::{Map, Value};

use crate::attribution::{AttributeValue, Attribution, Item};
use crate::contract::KEY_ATTRIBUTE;
use crate::outcome::{ExpirationCounts, Outcome, RecordOutcome, SkipReason, user_hash};
use crate::services::{AttributionReader, FailureKind, ServiceError, UserPool};
use crate::settings::ExpirationSettings;

/// `userIdentity.type` of deletions made by DynamoDB's TTL process.
pub const TTL_IDENTITY_TYPE: &str = "Service";

/// `userIdentity.principalId` of deletions made by DynamoDB's TTL process.
pub const TTL_PRINCIPAL_ID: &str = "dynamodb.amazonaws.com";

/// The parts of a DynamoDB stream record that expiry reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamRecord {
    pub event_name: Option<String>,
    /// `userIdentity.type` and `userIdentity.principalId`, when the record has them.
    pub identity: Option<(Option<String>, Option<String>)>,
    pub sequence_number: String,
    pub keys: Item,
    pub old_image: Item,
}

impl StreamRecord {
    /// Reads a record of a DynamoDB stream event (Lambda's shape, DynamoDB JSON images).
    ///
    /// Only the record's own structure is checked, so one odd record cannot fail the event.
    pub fn from_json(record: &Value) -> Result<StreamRecord, SkipReason> {
        let record = record.as_object().ok_or(SkipReason::InvalidStreamRecord)?;
        let change = record
            .get("dynamodb")
            .and_then(Value::as_object)
            .ok_or(SkipReason::InvalidStreamRecord)?;
        let sequence_number = change
            .get("SequenceNumber")
            .and_then(Value::as_str)
            .filter(|sequence| !sequence.is_empty())
            .ok_or(SkipReason::InvalidStreamRecord)?;

        let identity = record
            .get("userIdentity")
            .and_then(Value::as_object)
            .map(|identity| {
                (
                    text(identity.get("type")),
                    text(identity.get("principalId")),
                )
            });

        Ok(StreamRecord {
            event_name: text(record.get("eventName")),
            identity,
            sequence_number: sequence_number.to_owned(),
            keys: image(change.get("Keys")),
            old_image: image(change.get("OldImage")),
        })
    }

    /// Returns whether DynamoDB's TTL process made this deletion.
    ///
    /// Deletions through the API (`DeleteItem`) carry no `userIdentity`; TTL deletions carry
    /// type `Service` and principal `dynamodb.amazonaws.com`.
    pub fn is_ttl_deletion(&self) -> bool {
        let by_ttl_process = matches!(
            &self.identity,
            Some((Some(kind), Some(principal)))
                if kind == TTL_IDENTITY_TYPE && principal == TTL_PRINCIPAL_ID
        );
        self.event_name.as_deref() == Some("REMOVE") && by_ttl_process
    }

    /// Returns the username from the keys, or from the old image.
    pub fn username(&self) -> Option<&str> {
        [&self.keys, &self.old_image]
            .into_iter()
            .find_map(|item| match item.get(KEY_ATTRIBUTE) {
                Some(AttributeValue::S(username)) if !username.is_empty() => {
                    Some(username.as_str())
                }
                _ => None,
            })
    }
}

fn text(value: Option<&Value>) -> Option<String> {
    value.and_then(Value::as_str).map(str::to_owned)
}

/// Reads a DynamoDB JSON image (`{"name": {"S": "..."}}`); other types than S, N and BOOL
/// are left out because attribution items do not use them.
fn image(value: Option<&Value>) -> Item {
    let Some(members) = value.and_then(Value::as_object) else {
        return Item::new();
    };
    members
        .iter()
        .filter_map(|(name, value)| {
            attribute(value.as_object()?).map(|value| (name.clone(), value))
        })
        .collect()
}

fn attribute(typed: &Map<String, Value>) -> Option<AttributeValue> {
    if let Some(Value::String(text)) = typed.get("S") {
        return Some(AttributeValue::S(text.clone()));
    }
    if let Some(Value::String(number)) = typed.get("N") {
        return Some(AttributeValue::N(number.clone()));
    }
    if let Some(Value::Bool(flag)) = typed.get("BOOL") {
        return Some(AttributeValue::Bool(*flag));
    }
    None
}

/// The action on a user's attribute after their attribution was deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiryDecision {
    /// No attribution is stored: blank the attribute.
    Blank,
    /// A newer attribution was written after the deleted one: keep the attribute.
    KeepNewer,
    /// An attribution is stored that is not newer than the deleted one (written again, or an
    /// item this crate cannot read): keep the attribute, since its writer set it.
    KeepStored,
}

/// Decides from the deleted item and the item stored now (read consistently).
pub fn decide_expiry(deleted: &Item, current: Option<&Item>) -> ExpiryDecision {
    let Some(current) = current else {
        return ExpiryDecision::Blank;
    };

    let deleted = Attribution::from_item(deleted).ok();
    let current = Attribution::from_item(current).ok();
    match (deleted, current) {
        (Some(deleted), Some(current)) if current.supersedes(&deleted) => ExpiryDecision::KeepNewer,
        _ => ExpiryDecision::KeepStored,
    }
}

/// The result of one expiration batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpirationReport {
    /// One outcome per input record, in input order.
    pub outcomes: Vec<RecordOutcome>,
    pub counts: ExpirationCounts,
    /// Sequence number to report as failed; the stream redelivers it and all later ones.
    pub first_failure: Option<String>,
}

/// Handles a batch of DynamoDB stream records of the attribution table.
pub async fn expire_batch<R, P>(
    records: &[Value],
    settings: &ExpirationSettings,
    reader: &R,
    pool: &P,
) -> ExpirationReport
where
    R: AttributionReader + Sync,
    P: UserPool + Sync,
{
    let mut outcomes = Vec::with_capacity(records.len());
    let mut first_failure = None;

    for (index, value) in records.iter().enumerate() {
        let record = StreamRecord::from_json(value);
        let id = match &record {
            Ok(record) => record.sequence_number.clone(),
            Err(_) => format!("record {}", index + 1),
        };

        if first_failure.is_some() {
            outcomes.push(RecordOutcome::new(&id, Outcome::Deferred));
            continue;
        }

        let mut outcome = RecordOutcome::new(&id, Outcome::Kept);
        match record {
            Ok(record) => expire_record(&record, settings, reader, pool, &mut outcome).await,
            Err(reason) => outcome.outcome = Outcome::Skipped(reason),
        }
        if outcome.outcome == Outcome::Failed {
            first_failure = Some(index);
        }
        outcomes.push(outcome);
    }

    ExpirationReport {
        counts: ExpirationCounts::from_outcomes(&outcomes),
        first_failure: first_failure.map(|index| outcomes[index].id.clone()),
        outcomes,
    }
}

async fn expire_record<R, P>(
    record: &StreamRecord,
    settings: &ExpirationSettings,
    reader: &R,
    pool: &P,
    outcome: &mut RecordOutcome,
) where
    R: AttributionReader + Sync,
    P: UserPool + Sync,
{
    if !record.is_ttl_deletion() {
        outcome.outcome = Outcome::Skipped(SkipReason::NotTtlDeletion);
        return;
    }
    let Some(username) = record.username() else {
        outcome.outcome = Outcome::Skipped(SkipReason::MissingUsername);
        return;
    };
    outcome.user = Some(user_hash(username));

    let current = match reader.get(username).await {
        Ok(current) => current,
        Err(error) => return record_error(outcome, error, SkipReason::RequestRejected),
    };

    match decide_expiry(&record.old_image, current.as_ref()) {
        ExpiryDecision::KeepNewer => {
            outcome.outcome = Outcome::Kept;
            outcome.detail = Some("a newer attribution is stored".to_owned());
        }
        ExpiryDecision::KeepStored => {
            outcome.outcome = Outcome::Kept;
            outcome.detail = Some("an attribution is stored again".to_owned());
        }
        ExpiryDecision::Blank => blank(username, settings, reader, pool, outcome).await,
    }
}

/// Blanks the user's attribute, then reads the table again and writes back the value of an
/// attribution stored in the meantime.
///
/// The read before blanking and the blank itself are two calls. The tagging function can store
/// a new attribution and set the attribute between them, and the blank would then erase that
/// value while the item stays. Reading again after the blank finds that item, so its value is
/// written back.
///
/// NOTE: a tagging write that lands after this second read sets the attribute itself, after
/// the blank. Two cases can still leave a wrong value: three or more writers racing for one
/// user, and a second read that fails, since the redelivered record then finds the item and
/// keeps the attribute as it is (blank).
async fn blank<R, P>(
    username: &str,
    settings: &ExpirationSettings,
    reader: &R,
    pool: &P,
    outcome: &mut RecordOutcome,
) where
    R: AttributionReader + Sync,
    P: UserPool + Sync,
{
    let attribute = settings.cognito_attribute();
    if let Err(error) = pool.set_attribute(username, &attribute, "").await {
        return record_error(outcome, error, SkipReason::UserNotInPool);
    }
    outcome.outcome = Outcome::Blanked;

    let stored = match reader.get(username).await {
        Ok(Some(item)) => item,
        Ok(None) => return,
        Err(error) => return record_error(outcome, error, SkipReason::RequestRejected),
    };
    let Ok(stored) = Attribution::from_item(&stored) else {
        outcome.detail =
            Some("an unreadable attribution was stored while the attribute was blanked".to_owned());
        return;
    };
    match pool
        .set_attribute(username, &attribute, &stored.campaign_value)
        .await
    {
        Ok(()) => {
            outcome.outcome = Outcome::Kept;
            outcome.detail = Some(
                "an attribution was stored while the attribute was blanked; its value was written back"
                    .to_owned(),
            );
        }
        Err(error) => record_error(outcome, error, SkipReason::UserNotInPool),
    }
}

fn record_error(outcome: &mut RecordOutcome, error: ServiceError, not_found: SkipReason) {
    outcome.outcome = match error.kind {
        FailureKind::Retryable => Outcome::Failed,
        FailureKind::NotFound => Outcome::Skipped(not_found),
        FailureKind::Rejected => Outcome::Skipped(SkipReason::RequestRejected),
    };
    outcome.detail = Some(error.to_string());
}
