//! Expiry decisions on DynamoDB stream records, with the table and user pool in memory.

mod common;

use attribution_core::attribution::Candidate;
use attribution_core::expiry::{ExpiryDecision, StreamRecord, decide_expiry};
use attribution_core::{
    Attribution, AttributionReader, ExpirationReport, ExpirationSettings, Outcome, ServiceError,
    SkipReason, UserPool, expire_batch,
};
use common::*;
use futures::executor::block_on;
use serde_json::Value;

const CAMPAIGN: &str = "custom:campaign";

fn mixed_stream_records() -> Vec<Value> {
    let event: Value = serde_json::from_str(&fixture("f6_stream_event.json")).unwrap();
    event["Records"].as_array().unwrap().clone()
}

fn settings() -> ExpirationSettings {
    ExpirationSettings {
        table_name: "attribution-test".into(),
        user_pool_id: "eu-west-1_TestPool1".into(),
        campaign_attribute: "campaign".into(),
    }
}

fn pool_with_campaigns(users: &str) -> MemoryPool {
    let pool = MemoryPool::with_letters(users);
    for (_, attributes) in pool.users.lock().unwrap().iter_mut() {
        attributes.insert(CAMPAIGN.into(), "Spring reactivation".into());
    }
    pool
}

fn run(records: &[Value], table: &MemoryTable, pool: &MemoryPool) -> ExpirationReport {
    block_on(expire_batch(records, &settings(), table, pool))
}

fn outcomes(report: &ExpirationReport) -> Vec<Outcome> {
    report
        .outcomes
        .iter()
        .map(|record| record.outcome.clone())
        .collect()
}

fn attribution(user: &str, journey: &str, at_ms: i64) -> Attribution {
    Attribution {
        attribute_pending: false,
        ..Attribution::new(
            &Candidate {
                username: user.into(),
                journey_id: journey.into(),
                interacted_at_ms: at_ms,
            },
            "Summer sale".into(),
            30,
        )
    }
}

#[test]
fn only_ttl_deletion_is_recognised() {
    let records: Vec<StreamRecord> = mixed_stream_records()
        .iter()
        .map(|record| StreamRecord::from_json(record).unwrap())
        .collect();

    let ttl: Vec<bool> = records.iter().map(StreamRecord::is_ttl_deletion).collect();

    assert_eq!(ttl, [true, false, false, false, false]);
    assert_eq!(records[0].username(), Some("user-p"));
    assert_eq!(records[3].username(), Some("user-s"));
}

#[test]
fn ttl_deletion_blanks_only_its_user() {
    let table = MemoryTable::default();
    table.insert(&attribution("user-s", JOURNEY_SUMMER, SENT_AT_MS + 9_000));
    table.insert(&attribution("user-t", JOURNEY_SUMMER, SENT_AT_MS + 10_000));
    let pool = pool_with_campaigns("pqrst");

    let report = run(&mixed_stream_records(), &table, &pool);

    assert_eq!(
        outcomes(&report),
        [
            Outcome::Blanked,
            Outcome::Skipped(SkipReason::NotTtlDeletion),
            Outcome::Skipped(SkipReason::NotTtlDeletion),
            Outcome::Skipped(SkipReason::NotTtlDeletion),
            Outcome::Skipped(SkipReason::NotTtlDeletion),
        ]
    );
    assert_eq!(report.first_failure, None);
    assert_eq!(pool.update_count(), 1);
    assert_eq!(pool.value("user-p", CAMPAIGN).as_deref(), Some(""));
    for user in ["user-q", "user-r", "user-s", "user-t"] {
        assert_eq!(
            pool.value(user, CAMPAIGN).as_deref(),
            Some("Spring reactivation"),
            "{user}"
        );
    }
    assert_eq!(report.counts.blanked, 1);
    assert_eq!(
        report.counts.skipped.get(&SkipReason::NotTtlDeletion),
        Some(&4)
    );
}

#[test]
fn newer_attribution_keeps_attribute() {
    let table = MemoryTable::default();
    table.insert(&attribution("user-p", JOURNEY_SUMMER, SENT_AT_MS + 60_000));
    let pool = pool_with_campaigns("p");

    let report = run(&mixed_stream_records()[..1], &table, &pool);

    assert_eq!(outcomes(&report), [Outcome::Kept]);
    assert_eq!(pool.update_count(), 0);
    assert_eq!(report.counts.kept, 1);
}

/// A user pool in which the tagging function stores a new attribution and sets the attribute
/// just before the expiration function's blank lands.
struct RacingPool<'a> {
    pool: &'a MemoryPool,
    table: &'a MemoryTable,
    racing: Attribution,
}

impl UserPool for RacingPool<'_> {
    async fn set_attribute(
        &self,
        username: &str,
        name: &str,
        value: &str,
    ) -> Result<(), ServiceError> {
        if value.is_empty() && self.table.get(username).await?.is_none() {
            self.table.insert(&self.racing);
            self.pool
                .set_attribute(username, name, &self.racing.campaign_value)
                .await?;
        }
        self.pool.set_attribute(username, name, value).await
    }
}

#[test]
fn attribution_stored_during_blank_is_restored() {
    let table = MemoryTable::default();
    let pool = pool_with_campaigns("p");
    let racing = RacingPool {
        pool: &pool,
        table: &table,
        racing: attribution("user-p", JOURNEY_SUMMER, SENT_AT_MS + 60_000),
    };

    let report = block_on(expire_batch(
        &mixed_stream_records()[..1],
        &settings(),
        &table,
        &racing,
    ));

    assert_eq!(outcomes(&report), [Outcome::Kept]);
    assert_eq!(
        pool.value("user-p", CAMPAIGN).as_deref(),
        Some("Summer sale"),
        "the value of the attribution stored during the blank is written back"
    );
    assert_eq!(pool.update_count(), 3, "racing write, blank, write-back");
    assert!(
        report.outcomes[0]
            .detail
            .as_deref()
            .is_some_and(|detail| detail.contains("written back"))
    );
}

#[test]
fn user_missing_from_pool_is_skipped() {
    let report = run(
        &mixed_stream_records()[..1],
        &MemoryTable::default(),
        &MemoryPool::default(),
    );

    assert_eq!(
        outcomes(&report),
        [Outcome::Skipped(SkipReason::UserNotInPool)]
    );
    assert_eq!(report.first_failure, None);
}

#[test]
fn read_failure_reports_record_and_defers_rest() {
    let mut records = mixed_stream_records();
    let mut second_ttl = records[0].clone();
    second_ttl["dynamodb"]["SequenceNumber"] = "999".into();
    records.insert(1, second_ttl);
    let table = MemoryTable::default();
    table.failing_users.lock().unwrap().insert("user-p".into());
    let pool = pool_with_campaigns("p");

    let report = run(&records, &table, &pool);

    let first_sequence = records[0]["dynamodb"]["SequenceNumber"].as_str().unwrap();
    assert_eq!(report.first_failure.as_deref(), Some(first_sequence));
    assert_eq!(report.outcomes[0].outcome, Outcome::Failed);
    assert!(
        report.outcomes[1..]
            .iter()
            .all(|record| record.outcome == Outcome::Deferred)
    );
    assert_eq!(report.outcomes[1].id, "999");
    assert_eq!(pool.update_count(), 0);
}

#[test]
fn malformed_stream_records_are_skipped() {
    let records = vec![
        serde_json::json!("not a record"),
        serde_json::json!({"eventName": "REMOVE"}),
        serde_json::json!({"eventName": "REMOVE", "dynamodb": {"Keys": {}}}),
        serde_json::json!({
            "eventName": "REMOVE",
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "dynamodb": {"SequenceNumber": "7", "Keys": {"username": {"N": "5"}}}
        }),
    ];

    let report = run(&records, &MemoryTable::default(), &MemoryPool::default());

    assert_eq!(
        outcomes(&report),
        [
            Outcome::Skipped(SkipReason::InvalidStreamRecord),
            Outcome::Skipped(SkipReason::InvalidStreamRecord),
            Outcome::Skipped(SkipReason::InvalidStreamRecord),
            Outcome::Skipped(SkipReason::MissingUsername),
        ]
    );
    assert_eq!(report.outcomes[0].id, "record 1");
}

#[test]
fn identity_must_match_exactly() {
    let base = mixed_stream_records()[0].clone();
    let variants = [
        serde_json::json!({"type": "Service", "principalId": "lambda.amazonaws.com"}),
        serde_json::json!({"type": "IAMUser", "principalId": "dynamodb.amazonaws.com"}),
        serde_json::json!({"type": "Service"}),
        serde_json::json!("Service"),
    ];
    for identity in variants {
        let mut record = base.clone();
        record["userIdentity"] = identity.clone();

        let parsed = StreamRecord::from_json(&record).unwrap();

        assert!(!parsed.is_ttl_deletion(), "{identity}");
    }

    let mut insert = base.clone();
    insert["eventName"] = "INSERT".into();
    assert!(!StreamRecord::from_json(&insert).unwrap().is_ttl_deletion());
}

#[test]
fn decision_keeps_any_stored_attribution() {
    let deleted = attribution("user-p", JOURNEY_SPRING, 1_000).to_item();
    let newer = attribution("user-p", JOURNEY_SUMMER, 2_000).to_item();
    let same = attribution("user-p", JOURNEY_SPRING, 1_000).to_item();

    assert_eq!(decide_expiry(&deleted, None), ExpiryDecision::Blank);
    assert_eq!(
        decide_expiry(&deleted, Some(&newer)),
        ExpiryDecision::KeepNewer
    );
    assert_eq!(
        decide_expiry(&deleted, Some(&same)),
        ExpiryDecision::KeepStored
    );
    assert_eq!(
        decide_expiry(&Default::default(), Some(&newer)),
        ExpiryDecision::KeepStored
    );
}
