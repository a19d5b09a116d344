//! Batch attribution on fixtures, with the table and user pool in memory.

mod common;

use std::io::Write;
use std::sync::Mutex;

use attribution_core::attribution::{Candidate, expires_at_seconds};
use attribution_core::decode::{DecodeError, decode_base64};
use attribution_core::{
    Attribution, AttributionWriter, CampaignValue, ConditionalPut, Directory, EndpointUser,
    FailureKind, InputRecord, Outcome, PutResult, ServiceError, Services, SkipReason,
    TaggingReport, attribute_batch,
};
use common::*;
use futures::executor::block_on;

const CAMPAIGN: &str = "custom:campaign";

fn run(records: &[InputRecord], table: &MemoryTable, pool: &MemoryPool) -> TaggingReport {
    run_with(records, &settings(), &directory(), table, pool, NOW_MS)
}

fn run_with<D: Directory + Sync, W: AttributionWriter + Sync>(
    records: &[InputRecord],
    settings: &attribution_core::TaggingSettings,
    directory: &D,
    writer: &W,
    pool: &MemoryPool,
    now_ms: i64,
) -> TaggingReport {
    let services = Services {
        directory,
        writer,
        pool,
    };
    block_on(attribute_batch(records, settings, &services, now_ms))
}

fn outcomes(report: &TaggingReport) -> Vec<Outcome> {
    report
        .outcomes
        .iter()
        .map(|record| record.outcome.clone())
        .collect()
}

const UPDATED: Outcome = Outcome::Attributed {
    attribute_updated: true,
};

#[test]
fn mixed_batch_attributes_interactions() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("abcdefgh");

    let report = run(&mixed_batch_records(), &table, &pool);

    assert_eq!(
        outcomes(&report),
        vec![
            UPDATED,
            UPDATED,
            Outcome::Skipped(SkipReason::NotAJourneyEvent),
            Outcome::Skipped(SkipReason::NotAnInteraction),
            Outcome::Skipped(SkipReason::NotAnInteraction),
            Outcome::Skipped(SkipReason::NotAnInteraction),
            UPDATED,
            UPDATED,
        ]
    );
    assert_eq!(report.first_failure, None);
    assert_eq!(report.counts.received, 8);
    assert_eq!(report.counts.attributed, 4);
    assert_eq!(report.counts.skipped_total(), 4);
    assert_eq!(report.counts.attribute_updates, 4);
}

#[test]
fn mixed_batch_stores_one_item_per_user() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("abcdefgh");

    run(&mixed_batch_records(), &table, &pool);

    let stored: Vec<String> = table
        .settled_state()
        .into_iter()
        .map(|(user, _)| user)
        .collect();
    assert_eq!(stored, ["user-a", "user-b", "user-g", "user-h"]);
    for (user, value) in [
        ("user-a", "Spring reactivation"),
        ("user-b", "Summer sale"),
        ("user-g", "Spring reactivation"),
        ("user-h", "Summer sale"),
    ] {
        assert_eq!(pool.updates_for(user), 1, "{user}");
        assert_eq!(pool.value(user, CAMPAIGN).as_deref(), Some(value), "{user}");
    }
    for user in ["user-c", "user-d", "user-e", "user-f"] {
        assert_eq!(pool.value(user, CAMPAIGN), None, "{user}");
    }
}

#[test]
fn unknown_version_reported_once() {
    let report = run(
        &mixed_batch_records(),
        &MemoryTable::default(),
        &MemoryPool::with_letters("abcdefgh"),
    );

    assert_eq!(report.unknown_versions.len(), 1);
    assert_eq!(report.unknown_versions.get("4.0"), Some(&1));
}

#[test]
fn item_has_arrival_time_and_ttl() {
    let table = MemoryTable::default();

    run(
        &mixed_batch_records(),
        &table,
        &MemoryPool::with_letters("abcdefgh"),
    );

    let stored = table.attribution("user-a").unwrap();
    assert_eq!(stored.journey_id, JOURNEY_SPRING);
    assert_eq!(stored.campaign_value, "Spring reactivation");
    assert_eq!(stored.interacted_at_ms, SENT_AT_MS + 100_000);
    assert_eq!(
        stored.expires_at,
        (SENT_AT_MS + 100_000) / 1000 + 30 * 86_400
    );
    assert!(!stored.attribute_pending);
}

#[test]
fn ttl_is_seconds_after_lookback() {
    let table = MemoryTable::default();
    let records = [record(
        "1",
        journey_email("open", 'a', JOURNEY_SPRING, 1_717_000_000_000),
    )];

    let report = run_with(
        &records,
        &settings(),
        &directory(),
        &table,
        &MemoryPool::with_letters("a"),
        1_717_000_100_000,
    );

    assert_eq!(outcomes(&report), [UPDATED]);
    assert_eq!(
        table.attribution("user-a").unwrap().expires_at,
        1_719_592_000
    );
}

/// Shuffles deterministically (xorshift-driven Fisher-Yates), so failures reproduce.
fn shuffled<T: Clone>(items: &[T], seed: u64) -> Vec<T> {
    let mut items = items.to_vec();
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for index in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(index, (state % (index as u64 + 1)) as usize);
    }
    items
}

/// Events for four users with newer journeys, same-time ties between journeys, repeated
/// opens and an irrelevant event mixed in.
fn contested_events() -> Vec<Vec<u8>> {
    let base = SENT_AT_MS + 1_000;
    vec![
        journey_email("open", 'a', JOURNEY_SPRING, base),
        journey_email("click", 'a', JOURNEY_SUMMER, base + 50),
        journey_email("open", 'a', JOURNEY_SPRING, base + 20),
        journey_email("open", 'b', JOURNEY_SPRING, base + 70),
        journey_email("open", 'b', JOURNEY_SUMMER, base + 70),
        journey_email("click", 'c', JOURNEY_SUMMER, base + 90),
        journey_email("open", 'c', JOURNEY_SUMMER, base + 30),
        journey_email("open", 'd', JOURNEY_SPRING, base + 10),
        journey_email("open", 'd', JOURNEY_SPRING, base + 10),
        journey_email("send", 'd', JOURNEY_SUMMER, base + 99),
    ]
}

fn run_in_batches(events: &[Vec<u8>], batch_size: usize) -> (MemoryTable, MemoryPool) {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("abcd");
    for (batch_index, batch) in events.chunks(batch_size).enumerate() {
        let records: Vec<InputRecord> = batch
            .iter()
            .enumerate()
            .map(|(index, payload)| record(&format!("{batch_index}-{index}"), payload.clone()))
            .collect();

        let report = run(&records, &table, &pool);

        assert_eq!(report.first_failure, None);
    }
    (table, pool)
}

#[test]
fn state_ignores_order_and_duplicates() {
    let events = contested_events();
    let (expected_table, expected_pool) = run_in_batches(&events, events.len());

    for seed in 1..=12_u64 {
        let mut variant = shuffled(&events, seed);
        variant.extend(
            shuffled(&events, seed + 100)
                .into_iter()
                .take(seed as usize % 5),
        );
        for batch_size in [1, 3, variant.len()] {
            let (table, pool) = run_in_batches(&variant, batch_size);

            assert_eq!(
                table.settled_state(),
                expected_table.settled_state(),
                "seed {seed}, batch {batch_size}"
            );
            assert_eq!(
                pool.state(),
                expected_pool.state(),
                "seed {seed}, batch {batch_size}"
            );
        }
    }
}

#[test]
fn contested_events_resolve_to_newest() {
    let (table, pool) = run_in_batches(&contested_events(), 10);
    let base = SENT_AT_MS + 1_000;

    let expected = [
        ("user-a", JOURNEY_SUMMER, base + 50, "Summer sale"),
        (
            "user-b",
            JOURNEY_SPRING.max(JOURNEY_SUMMER),
            base + 70,
            "Summer sale",
        ),
        ("user-c", JOURNEY_SUMMER, base + 90, "Summer sale"),
        ("user-d", JOURNEY_SPRING, base + 10, "Spring reactivation"),
    ];
    for (user, journey, at, value) in expected {
        let stored = table.attribution(user).unwrap();
        assert_eq!(stored.journey_id, journey, "{user}");
        assert_eq!(stored.interacted_at_ms, at, "{user}");
        assert_eq!(pool.value(user, CAMPAIGN).as_deref(), Some(value), "{user}");
        assert_eq!(pool.updates_for(user), 1, "{user}");
    }
}

#[test]
fn duplicate_in_batch_is_unchanged() {
    let pool = MemoryPool::with_letters("a");
    let event = journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 5);
    let records = [record("1", event.clone()), record("2", event)];

    let report = run(&records, &MemoryTable::default(), &pool);

    assert_eq!(outcomes(&report), [UPDATED, Outcome::Unchanged]);
    assert_eq!(pool.update_count(), 1);
}

fn opens(users: &str, journey: &str, at_ms: i64) -> Vec<Vec<u8>> {
    users
        .chars()
        .map(|user| journey_email("open", user, journey, at_ms))
        .collect()
}

#[test]
fn retry_resumes_without_extra_updates() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("abcde");
    let events = opens("abcde", JOURNEY_SUMMER, SENT_AT_MS + 500);
    table.failing_users.lock().unwrap().insert("user-c".into());

    let batch_a: Vec<InputRecord> = events
        .iter()
        .enumerate()
        .map(|(i, e)| record(&format!("{}", i + 1), e.clone()))
        .collect();
    let report_a = run(&batch_a, &table, &pool);

    assert_eq!(report_a.first_failure.as_deref(), Some("3"));
    assert_eq!(
        outcomes(&report_a),
        [
            UPDATED,
            UPDATED,
            Outcome::Failed,
            Outcome::Deferred,
            Outcome::Deferred
        ]
    );
    assert!(
        table.attribution("user-d").is_none(),
        "deferred records must not be written"
    );

    table.failing_users.lock().unwrap().clear();
    let batch_b = vec![
        record("3", events[2].clone()),
        record("4", events[3].clone()),
        record("5", events[4].clone()),
        record("2", events[1].clone()),
    ];
    let report_b = run(&batch_b, &table, &pool);

    assert_eq!(report_b.first_failure, None);
    assert_eq!(
        outcomes(&report_b),
        [UPDATED, UPDATED, UPDATED, Outcome::Unchanged]
    );
    for user in ["user-a", "user-b", "user-c", "user-d", "user-e"] {
        assert_eq!(pool.updates_for(user), 1, "{user}");
        assert_eq!(
            pool.value(user, CAMPAIGN).as_deref(),
            Some("Summer sale"),
            "{user}"
        );
    }

    let late = [record(
        "6",
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 100),
    )];
    let report_c = run(&late, &table, &pool);

    assert_eq!(outcomes(&report_c), [Outcome::Unchanged]);
    assert_eq!(
        table.attribution("user-a").unwrap().journey_id,
        JOURNEY_SUMMER
    );
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Summer sale")
    );
    assert_eq!(pool.update_count(), 5);
}

#[test]
fn cognito_failure_is_finished_on_redelivery() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let records = [record(
        "1",
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 5),
    )];
    pool.failing_users.lock().unwrap().insert("user-a".into());

    let first = run(&records, &table, &pool);

    assert_eq!(first.first_failure.as_deref(), Some("1"));
    assert!(table.attribution("user-a").unwrap().attribute_pending);

    pool.failing_users.lock().unwrap().clear();
    let second = run(&records, &table, &pool);
    let third = run(&records, &table, &pool);

    assert_eq!(outcomes(&second), [UPDATED]);
    assert_eq!(outcomes(&third), [Outcome::Unchanged]);
    assert_eq!(pool.update_count(), 1);
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Spring reactivation")
    );
    assert!(!table.attribution("user-a").unwrap().attribute_pending);
}

#[test]
fn same_journey_extends_window_without_update() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let first = [record(
        "1",
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 5),
    )];
    let later = [record(
        "2",
        journey_email("click", 'a', JOURNEY_SPRING, SENT_AT_MS + 3_600_000),
    )];

    run(&first, &table, &pool);
    let report = run(&later, &table, &pool);

    assert_eq!(
        outcomes(&report),
        [Outcome::Attributed {
            attribute_updated: false
        }]
    );
    assert_eq!(pool.update_count(), 1);
    let stored = table.attribution("user-a").unwrap();
    assert_eq!(
        stored.expires_at,
        expires_at_seconds(SENT_AT_MS + 3_600_000, 30)
    );
    assert!(!stored.attribute_pending);
}

#[test]
fn newer_journey_replaces_value() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");

    run(
        &[record(
            "1",
            journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 5),
        )],
        &table,
        &pool,
    );
    run(
        &[record(
            "2",
            journey_email("open", 'a', JOURNEY_SUMMER, SENT_AT_MS + 6),
        )],
        &table,
        &pool,
    );

    assert_eq!(pool.update_count(), 2);
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Summer sale")
    );
}

#[test]
fn unresolvable_users_are_skipped() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("b");
    let records = [
        record(
            "1",
            journey_email("open", 'z', JOURNEY_SPRING, SENT_AT_MS + 1),
        ),
        record(
            "2",
            journey_email("open", 'x', JOURNEY_SPRING, SENT_AT_MS + 1),
        ),
        record(
            "3",
            journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 1),
        ),
        record(
            "4",
            journey_email(
                "open",
                'b',
                "ffffffffffffffffffffffffffffffff",
                SENT_AT_MS + 1,
            ),
        ),
    ];

    let report = run(&records, &table, &pool);

    assert_eq!(
        outcomes(&report),
        [
            Outcome::Skipped(SkipReason::EndpointNotFound),
            Outcome::Skipped(SkipReason::NoUsername),
            Outcome::Skipped(SkipReason::UserNotInPool),
            Outcome::Skipped(SkipReason::JourneyNotFound),
        ]
    );
    assert_eq!(report.first_failure, None);
    assert_eq!(pool.update_count(), 0);
    assert!(
        report.outcomes[1]
            .detail
            .as_deref()
            .unwrap()
            .contains("username")
    );
}

#[test]
fn old_and_future_interactions_are_skipped() {
    let records = [
        record(
            "1",
            journey_email("open", 'a', JOURNEY_SPRING, NOW_MS - 31 * 86_400_000),
        ),
        record(
            "2",
            journey_email("open", 'b', JOURNEY_SPRING, NOW_MS + 2 * 86_400_000),
        ),
        record(
            "3",
            journey_email("open", 'c', JOURNEY_SPRING, NOW_MS + 60_000),
        ),
    ];

    let report = run(
        &records,
        &MemoryTable::default(),
        &MemoryPool::with_letters("abc"),
    );

    assert_eq!(
        outcomes(&report),
        [
            Outcome::Skipped(SkipReason::OutsideLookback),
            Outcome::Skipped(SkipReason::TimestampInFuture),
            UPDATED,
        ]
    );
}

#[test]
fn journey_id_value_needs_no_name() {
    let mut settings = settings();
    settings.campaign_value = CampaignValue::JourneyId;
    let pool = MemoryPool::with_letters("b");
    let journey = "ffffffffffffffffffffffffffffffff";
    let records = [record(
        "1",
        journey_email("open", 'b', journey, SENT_AT_MS + 1),
    )];

    let report = run_with(
        &records,
        &settings,
        &directory(),
        &MemoryTable::default(),
        &pool,
        NOW_MS,
    );

    assert_eq!(outcomes(&report), [UPDATED]);
    assert_eq!(pool.value("user-b", CAMPAIGN).as_deref(), Some(journey));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn undecodable_records_are_skipped_not_failed() {
    let click = journey_email("click", 'a', JOURNEY_SPRING, SENT_AT_MS + 1);
    let mut large: serde_json::Value =
        serde_json::from_slice(&journey_email("click", 'b', JOURNEY_SUMMER, SENT_AT_MS + 2))
            .unwrap();
    large["padding"] = "p".repeat(900 * 1024).into();
    let truncated = click[..click.len() / 2].to_vec();
    let records = vec![
        record("1", gzip(&click)),
        record("2", vec![0xc3, 0x28, 0xa0, 0xa1]),
        record("3", truncated),
        record("4", br#""a JSON string""#.to_vec()),
        InputRecord {
            id: "5".into(),
            payload: decode_base64("%%% not base64 %%%"),
        },
        record("6", serde_json::to_vec(&large).unwrap()),
    ];

    let report = run(
        &records,
        &MemoryTable::default(),
        &MemoryPool::with_letters("ab"),
    );

    assert_eq!(
        outcomes(&report),
        [
            UPDATED,
            Outcome::Skipped(SkipReason::NotUtf8),
            Outcome::Skipped(SkipReason::TruncatedJson),
            Outcome::Skipped(SkipReason::NotAnObject),
            Outcome::Skipped(SkipReason::InvalidBase64),
            UPDATED,
        ]
    );
    assert_eq!(report.first_failure, None);
    for skipped in &report.outcomes[1..5] {
        assert!(skipped.detail.is_some(), "{skipped:?}");
    }
}

#[test]
fn envelope_error_passes_through() {
    let records = [InputRecord {
        id: "1".into(),
        payload: Err(DecodeError {
            reason: SkipReason::InvalidEnvelope,
            detail: "record has no kinesis.data".into(),
        }),
    }];

    let report = run(&records, &MemoryTable::default(), &MemoryPool::default());

    assert_eq!(
        outcomes(&report),
        [Outcome::Skipped(SkipReason::InvalidEnvelope)]
    );
}

/// A directory whose lookups for one endpoint fail with a retryable error.
struct ThrottledDirectory {
    inner: attribution_core::EndpointExport,
    throttled_endpoint: String,
}

impl Directory for ThrottledDirectory {
    async fn endpoint_user(
        &self,
        app_id: &str,
        endpoint_id: &str,
    ) -> Result<EndpointUser, ServiceError> {
        if endpoint_id == self.throttled_endpoint {
            return Err(ServiceError {
                operation: "GetEndpoint",
                kind: FailureKind::Retryable,
                message: "TooManyRequestsException: injected by the test".into(),
            });
        }
        self.inner.endpoint_user(app_id, endpoint_id).await
    }

    async fn journey_name(&self, app_id: &str, journey_id: &str) -> Result<String, ServiceError> {
        self.inner.journey_name(app_id, journey_id).await
    }
}

#[test]
fn throttled_lookup_defers_rest_of_batch() {
    let directory = ThrottledDirectory {
        inner: directory(),
        throttled_endpoint: endpoint_of('b'),
    };
    let pool = MemoryPool::with_letters("abc");
    let table = MemoryTable::default();
    let records = [
        record(
            "1",
            journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 1),
        ),
        record(
            "2",
            journey_email("open", 'b', JOURNEY_SPRING, SENT_AT_MS + 2),
        ),
        record(
            "3",
            journey_email("open", 'c', JOURNEY_SPRING, SENT_AT_MS + 3),
        ),
        record("4", b"not json".to_vec()),
    ];

    let report = run_with(&records, &settings(), &directory, &table, &pool, NOW_MS);

    assert_eq!(report.first_failure.as_deref(), Some("2"));
    assert_eq!(
        outcomes(&report),
        [
            UPDATED,
            Outcome::Failed,
            Outcome::Deferred,
            Outcome::Deferred
        ]
    );
    assert!(table.attribution("user-c").is_none());
    assert_eq!(report.counts.failed, 1);
    assert_eq!(report.counts.deferred, 2);
}

/// A table where another invocation writes a newer attribution for the user while this one
/// updates Cognito (just before this one's confirmation).
struct RacingTable {
    inner: MemoryTable,
    newer: Mutex<Option<Attribution>>,
}

impl AttributionWriter for RacingTable {
    async fn put(&self, put: &ConditionalPut) -> Result<PutResult, ServiceError> {
        let is_confirmation = !put.expression_attribute_names.contains_key("#user");
        if is_confirmation && let Some(newer) = self.newer.lock().unwrap().take() {
            self.inner.insert(&newer);
        }
        self.inner.put(put).await
    }
}

#[test]
fn superseded_during_update_rewrites_newer_value() {
    let newer = Attribution {
        attribute_pending: false,
        ..Attribution::new(
            &Candidate {
                username: "user-a".into(),
                journey_id: JOURNEY_SUMMER.into(),
                interacted_at_ms: SENT_AT_MS + 9,
            },
            "Summer sale".into(),
            30,
        )
    };
    let table = RacingTable {
        inner: MemoryTable::default(),
        newer: Mutex::new(Some(newer)),
    };
    let pool = MemoryPool::with_letters("a");
    let records = [record(
        "1",
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 5),
    )];

    let report = run_with(&records, &settings(), &directory(), &table, &pool, NOW_MS);

    assert_eq!(outcomes(&report), [UPDATED]);
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Summer sale")
    );
    assert_eq!(
        table.inner.attribution("user-a").unwrap().journey_id,
        JOURNEY_SUMMER
    );
}
