//! Custom-channel invocations through the same decisions as stream records, with the table and
//! user pool in memory.

mod common;

use std::collections::BTreeMap;

use attribution_core::{
    CustomChannelEvent, EndpointExport, InputRecord, Outcome, Services, SkipReason, TaggingReport,
    attribute_batch, attribute_custom_channel,
};
use common::*;
use futures::executor::block_on;
use serde_json::{Value, json};

const CAMPAIGN: &str = "custom:campaign";

const UPDATED: Outcome = Outcome::Attributed {
    attribute_updated: true,
};

/// 2024-05-30T12:00:00Z, half a day after the fixtures' send time and before `NOW_MS`.
const SCHEDULED_AT: &str = "2024-05-30T12:00:00.000Z";
const SCHEDULED_AT_MS: i64 = 1_717_070_400_000;

/// A directory without endpoints: custom-channel users must come from the invocation.
fn journeys_only() -> EndpointExport {
    let names: BTreeMap<String, String> = serde_json::from_str(&fixture("journeys.json")).unwrap();
    EndpointExport::default().with_journey_names(names)
}

fn endpoint(username: Option<&str>) -> Value {
    let attributes = match username {
        Some(name) => json!({"username": [name], "plan": ["pro"]}),
        None => json!({"plan": ["pro"]}),
    };
    json!({
        "ChannelType": "CUSTOM",
        "Address": "device-token-1",
        "EndpointStatus": "ACTIVE",
        "OptOut": "NONE",
        "User": {"UserId": "user-id", "UserAttributes": attributes}
    })
}

fn invocation(journey: &str, scheduled_time: &str, endpoints: Value) -> CustomChannelEvent {
    CustomChannelEvent::from_json(&json!({
        "Message": {},
        "Data": "{\"template\":\"banner\"}",
        "ApplicationId": APP_ID,
        "JourneyId": journey,
        "ActivityId": "Ub3wYe6JqA",
        "ScheduledTime": scheduled_time,
        "Endpoints": endpoints,
    }))
}

fn run(event: &CustomChannelEvent, table: &MemoryTable, pool: &MemoryPool) -> TaggingReport {
    let directory = journeys_only();
    let services = Services {
        directory: &directory,
        writer: table,
        pool,
    };
    block_on(attribute_custom_channel(
        event,
        &settings(),
        &services,
        NOW_MS,
    ))
}

fn outcome_of<'a>(report: &'a TaggingReport, endpoint_id: &str) -> &'a Outcome {
    &report
        .outcomes
        .iter()
        .find(|record| record.id == endpoint_id)
        .unwrap_or_else(|| panic!("no outcome for {endpoint_id}"))
        .outcome
}

#[test]
fn endpoints_are_attributed_from_invocation() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("ab");
    let event = invocation(
        JOURNEY_SPRING,
        SCHEDULED_AT,
        json!({"e-1": endpoint(Some("user-a")), "e-2": endpoint(Some("user-b"))}),
    );

    let report = run(&event, &table, &pool);

    assert_eq!(outcome_of(&report, "e-1"), &UPDATED);
    assert_eq!(outcome_of(&report, "e-2"), &UPDATED);
    assert_eq!(report.first_failure, None);
    assert_eq!(report.counts.received, 2);
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Spring reactivation")
    );
    let stored = table.attribution("user-b").unwrap();
    assert_eq!(stored.journey_id, JOURNEY_SPRING);
    assert_eq!(stored.interacted_at_ms, SCHEDULED_AT_MS);
    assert!(!stored.attribute_pending);
}

#[test]
fn repeated_invocation_changes_nothing() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let event = invocation(
        JOURNEY_SPRING,
        SCHEDULED_AT,
        json!({"e-1": endpoint(Some("user-a"))}),
    );
    run(&event, &table, &pool);

    let again = run(&event, &table, &pool);

    assert_eq!(outcome_of(&again, "e-1"), &Outcome::Unchanged);
    assert_eq!(pool.updates_for("user-a"), 1);
}

#[test]
fn bad_endpoints_are_skipped_alone() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let event = invocation(
        JOURNEY_SPRING,
        SCHEDULED_AT,
        json!({
            "e-1": endpoint(Some("user-a")),
            "e-2": endpoint(None),
            "e-3": "not an object",
            "e-4": {"ChannelType": "CUSTOM"},
            "e-5": endpoint(Some("user-not-in-pool")),
        }),
    );

    let report = run(&event, &table, &pool);

    assert_eq!(outcome_of(&report, "e-1"), &UPDATED);
    assert_eq!(
        outcome_of(&report, "e-2"),
        &Outcome::Skipped(SkipReason::NoUsername)
    );
    assert_eq!(
        outcome_of(&report, "e-3"),
        &Outcome::Skipped(SkipReason::InvalidEnvelope)
    );
    assert_eq!(
        outcome_of(&report, "e-4"),
        &Outcome::Skipped(SkipReason::NoUsername)
    );
    assert_eq!(
        outcome_of(&report, "e-5"),
        &Outcome::Skipped(SkipReason::UserNotInPool)
    );
    assert_eq!(report.first_failure, None);
}

#[test]
fn invocation_level_checks_skip_every_endpoint() {
    let endpoints = json!({"e-1": endpoint(Some("user-a")), "e-2": endpoint(Some("user-a"))});
    let mut other_app = invocation(JOURNEY_SPRING, SCHEDULED_AT, endpoints.clone());
    other_app.application_id = Some("0123456789abcdef0123456789abcdef".into());
    let mut campaign = invocation(JOURNEY_SPRING, SCHEDULED_AT, endpoints.clone());
    campaign.journey_id = None;
    let mut no_app = invocation(JOURNEY_SPRING, SCHEDULED_AT, endpoints);
    no_app.application_id = None;

    let cases = [
        (other_app, SkipReason::OtherApplication),
        (campaign, SkipReason::NotAJourneyEvent),
        (no_app, SkipReason::MissingApplicationId),
    ];
    for (event, reason) in cases {
        let table = MemoryTable::default();
        let pool = MemoryPool::with_letters("a");

        let report = run(&event, &table, &pool);

        for record in &report.outcomes {
            assert_eq!(record.outcome, Outcome::Skipped(reason), "{reason}");
        }
        assert_eq!(pool.update_count(), 0, "{reason}");
        assert!(table.attribution("user-a").is_none(), "{reason}");
    }
}

#[test]
fn lookback_applies_to_scheduled_time() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    // 40 days before the processing time, with a 30-day window.
    let event = invocation(
        JOURNEY_SPRING,
        "2024-04-20T00:00:00Z",
        json!({"e-1": endpoint(Some("user-a"))}),
    );

    let report = run(&event, &table, &pool);

    assert_eq!(
        outcome_of(&report, "e-1"),
        &Outcome::Skipped(SkipReason::OutsideLookback)
    );
}

#[test]
fn missing_scheduled_time_uses_processing_time() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let event = invocation(
        JOURNEY_SPRING,
        "not a time",
        json!({"e-1": endpoint(Some("user-a"))}),
    );

    run(&event, &table, &pool);

    assert_eq!(
        table.attribution("user-a").unwrap().interacted_at_ms,
        NOW_MS
    );
}

#[test]
fn newer_stream_interaction_wins_over_custom_channel() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let later_click = journey_email("click", 'a', JOURNEY_SUMMER, SCHEDULED_AT_MS + 60_000);
    let directory = directory();
    let services = Services {
        directory: &directory,
        writer: &table,
        pool: &pool,
    };
    let records = [InputRecord {
        id: "1".into(),
        payload: Ok(later_click),
    }];
    block_on(attribute_batch(&records, &settings(), &services, NOW_MS));

    let report = run(
        &invocation(
            JOURNEY_SPRING,
            SCHEDULED_AT,
            json!({"e-1": endpoint(Some("user-a"))}),
        ),
        &table,
        &pool,
    );

    assert_eq!(outcome_of(&report, "e-1"), &Outcome::Unchanged);
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Summer sale")
    );
}

#[test]
fn custom_channel_replaces_older_stream_interaction() {
    let table = MemoryTable::default();
    let pool = MemoryPool::with_letters("a");
    let earlier_open = journey_email("open", 'a', JOURNEY_SUMMER, SCHEDULED_AT_MS - 60_000);
    let directory = directory();
    let services = Services {
        directory: &directory,
        writer: &table,
        pool: &pool,
    };
    let records = [InputRecord {
        id: "1".into(),
        payload: Ok(earlier_open),
    }];
    block_on(attribute_batch(&records, &settings(), &services, NOW_MS));

    let report = run(
        &invocation(
            JOURNEY_SPRING,
            SCHEDULED_AT,
            json!({"e-1": endpoint(Some("user-a"))}),
        ),
        &table,
        &pool,
    );

    assert_eq!(outcome_of(&report, "e-1"), &UPDATED);
    assert_eq!(
        pool.value("user-a", CAMPAIGN).as_deref(),
        Some("Spring reactivation")
    );
}
