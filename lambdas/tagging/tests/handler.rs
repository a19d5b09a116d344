//! The tagging handler against the emulator's DynamoDB and Cognito.

mod common;

use std::io::Write;

use attribution_core::EndpointExport;
use aws_sdk_dynamodb::types::AttributeValue;
use common::*;
use serde_json::Value;
use tagging::Tagging;
use testkit::Emulator;

const TABLE: &str = "pinpoint-attribution-test-shop";

struct Setup {
    emulator: Emulator,
    clients: Clients,
    pool_id: String,
    tagging: Tagging<EndpointExport>,
}

async fn setup(letters: &str) -> Setup {
    let emulator = Emulator::start();
    let clients = Clients::new(&emulator);
    clients.create_table(TABLE).await;
    let pool_id = clients.create_pool("shop-users", &users(letters)).await;
    let tagging = handler(&clients, TABLE, &pool_id);
    Setup {
        emulator,
        clients,
        pool_id,
        tagging,
    }
}

fn handler(clients: &Clients, table: &str, pool_id: &str) -> Tagging<EndpointExport> {
    Tagging::new(
        settings(table, pool_id),
        clients.dynamodb.clone(),
        clients.cognito.clone(),
        directory(),
    )
    .with_clock(test_clock)
}

fn response_json(response: &aws_lambda_events::streams::KinesisEventResponse) -> String {
    serde_json::to_string(response).unwrap()
}

fn number(item: &std::collections::HashMap<String, AttributeValue>, name: &str) -> String {
    match item.get(name) {
        Some(AttributeValue::N(value)) => value.clone(),
        other => panic!("{name} is not a number: {other:?}"),
    }
}

#[tokio::test]
async fn mixed_batch_attributes_only_interactions() {
    let setup = setup("abcdefgh").await;
    setup.emulator.start_recording();

    let response = setup
        .tagging
        .handle(&kinesis_event(&mixed_batch_payloads()))
        .await;

    assert_eq!(response_json(&response), r#"{"batchItemFailures":[]}"#);
    let items = setup.clients.scan(TABLE).await;
    let stored: Vec<&str> = items
        .iter()
        .map(|item| item["username"].as_s().unwrap().as_str())
        .collect();
    assert_eq!(stored, ["user-a", "user-b", "user-g", "user-h"]);

    let mut updates = cognito_updates(&setup.emulator);
    updates.sort();
    assert_eq!(
        updates,
        [
            (
                "user-a".to_owned(),
                CAMPAIGN.to_owned(),
                "Spring reactivation".to_owned()
            ),
            (
                "user-b".to_owned(),
                CAMPAIGN.to_owned(),
                "Summer sale".to_owned()
            ),
            (
                "user-g".to_owned(),
                CAMPAIGN.to_owned(),
                "Spring reactivation".to_owned()
            ),
            (
                "user-h".to_owned(),
                CAMPAIGN.to_owned(),
                "Summer sale".to_owned()
            ),
        ]
    );
}

#[tokio::test]
async fn mixed_batch_leaves_others_untouched() {
    let setup = setup("abcdefgh").await;

    setup
        .tagging
        .handle(&kinesis_event(&mixed_batch_payloads()))
        .await;

    for (user, expected) in [
        ("user-a", Some("Spring reactivation")),
        ("user-h", Some("Summer sale")),
        ("user-c", None),
        ("user-d", None),
        ("user-e", None),
        ("user-f", None),
    ] {
        let value = setup
            .clients
            .attribute(&setup.pool_id, user, CAMPAIGN)
            .await;
        assert_eq!(value.as_deref(), expected, "{user}");
    }
}

#[tokio::test]
async fn mixed_batch_item_has_numeric_ttl() {
    let setup = setup("abcdefgh").await;

    setup
        .tagging
        .handle(&kinesis_event(&mixed_batch_payloads()))
        .await;

    let item = setup.clients.item(TABLE, "user-b").await.unwrap();
    let click_at = SENT_AT_MS + 200_000;
    assert_eq!(item["journey_id"].as_s().unwrap(), JOURNEY_SUMMER);
    assert_eq!(item["campaign_value"].as_s().unwrap(), "Summer sale");
    assert_eq!(number(&item, "interacted_at_ms"), click_at.to_string());
    assert_eq!(
        number(&item, "expires_at"),
        (click_at / 1000 + 30 * 86_400).to_string()
    );
    assert!(!item.contains_key("attribute_pending"), "{item:?}");
}

#[tokio::test]
async fn ttl_is_number_of_seconds() {
    fn clock() -> i64 {
        1_717_000_000_000 + 60_000
    }
    let setup = setup("a").await;
    let tagging = handler(&setup.clients, TABLE, &setup.pool_id).with_clock(clock);
    let event = kinesis_event(&[journey_email(
        "open",
        'a',
        JOURNEY_SPRING,
        1_717_000_000_000,
    )]);

    let response = tagging.handle(&event).await;

    assert!(response.batch_item_failures.is_empty());
    let item = setup.clients.item(TABLE, "user-a").await.unwrap();
    assert_eq!(item["expires_at"], AttributeValue::N("1719592000".into()));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[tokio::test]
async fn undecodable_records_never_fail_batch() {
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let setup = setup("ab").await;
    let click = journey_email("click", 'a', JOURNEY_SPRING, SENT_AT_MS + 1_000);
    let mut large: Value = serde_json::from_slice(&journey_email(
        "click",
        'b',
        JOURNEY_SUMMER,
        SENT_AT_MS + 2_000,
    ))
    .unwrap();
    large["padding"] = "p".repeat(900 * 1024).into();
    let event = serde_json::json!({"Records": [
        kinesis_record(&sequence(0), &engine.encode(gzip(&click))),
        kinesis_record(&sequence(1), &engine.encode([0xc3, 0x28, 0xa0, 0xa1])),
        kinesis_record(&sequence(2), &engine.encode(&click[..click.len() / 2])),
        kinesis_record(&sequence(3), &engine.encode(br#""a JSON string""#)),
        kinesis_record(&sequence(4), "this is not base64 !"),
        kinesis_record(&sequence(5), &engine.encode(serde_json::to_vec(&large).unwrap())),
    ]});

    let response = setup.tagging.handle(&event).await;

    assert_eq!(response_json(&response), r#"{"batchItemFailures":[]}"#);
    assert!(setup.clients.item(TABLE, "user-a").await.is_some());
    assert!(setup.clients.item(TABLE, "user-b").await.is_some());
}

#[tokio::test]
async fn redelivery_updates_cognito_once() {
    let setup = setup("abcdefgh").await;
    let event = kinesis_event(&mixed_batch_payloads());
    setup.emulator.start_recording();

    setup.tagging.handle(&event).await;
    setup.tagging.handle(&event).await;

    assert_eq!(cognito_updates(&setup.emulator).len(), 4);
}

#[tokio::test]
async fn conditional_write_keeps_newest() {
    let setup = setup("a").await;
    setup.emulator.start_recording();
    let batches = [
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 5_000),
        journey_email("open", 'a', JOURNEY_SUMMER, SENT_AT_MS + 1_000),
        journey_email("click", 'a', JOURNEY_SPRING, SENT_AT_MS + 9_000),
    ];

    for payload in batches {
        let response = setup.tagging.handle(&kinesis_event(&[payload])).await;
        assert!(response.batch_item_failures.is_empty());
    }

    let item = setup.clients.item(TABLE, "user-a").await.unwrap();
    assert_eq!(item["journey_id"].as_s().unwrap(), JOURNEY_SPRING);
    assert_eq!(
        number(&item, "interacted_at_ms"),
        (SENT_AT_MS + 9_000).to_string()
    );
    assert_eq!(
        cognito_updates(&setup.emulator).len(),
        1,
        "an older interaction and a window extension must not write Cognito"
    );
}

/// Events for four users with newer journeys, same-time ties between two journeys, repeated
/// opens and an irrelevant event.
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

/// Runs the events in batches of `batch_size` against a fresh table and pool; returns the
/// table items and every user's campaign attribute.
async fn run_order(
    clients: &Clients,
    run: usize,
    events: &[Vec<u8>],
    batch_size: usize,
) -> (
    Vec<std::collections::HashMap<String, AttributeValue>>,
    Vec<Option<String>>,
) {
    let table = format!("attribution-order-{run}");
    clients.create_table(&table).await;
    let pool_id = clients
        .create_pool(&format!("order-{run}"), &users("abcd"))
        .await;
    let tagging = handler(clients, &table, &pool_id);

    for batch in events.chunks(batch_size) {
        let response = tagging.handle(&kinesis_event(batch)).await;
        assert!(response.batch_item_failures.is_empty());
    }

    let mut values = Vec::new();
    for user in users("abcd") {
        values.push(clients.attribute(&pool_id, &user, CAMPAIGN).await);
    }
    (clients.scan(&table).await, values)
}

#[tokio::test]
async fn state_ignores_order_and_duplicates() {
    let emulator = Emulator::start();
    let clients = Clients::new(&emulator);
    let events = contested_events();
    let (expected_items, expected_values) = run_order(&clients, 0, &events, events.len()).await;

    let mut reversed = events.clone();
    reversed.reverse();
    let mut rotated_with_duplicates = events.clone();
    rotated_with_duplicates.rotate_left(4);
    rotated_with_duplicates.extend(events[..3].iter().cloned());
    let variants = [
        (reversed, 1),
        (rotated_with_duplicates, 3),
        (events.clone(), 1),
    ];

    for (run, (variant, batch_size)) in variants.iter().enumerate() {
        let (items, values) = run_order(&clients, run + 1, variant, *batch_size).await;

        assert_eq!(items, expected_items, "run {}", run + 1);
        assert_eq!(values, expected_values, "run {}", run + 1);
    }
    assert_eq!(
        expected_values,
        [
            Some("Summer sale".to_owned()),
            Some("Summer sale".to_owned()),
            Some("Summer sale".to_owned()),
            Some("Spring reactivation".to_owned()),
        ]
    );
}

#[tokio::test]
async fn user_missing_from_pool_is_skipped() {
    let setup = setup("b").await;
    let event = kinesis_event(&[
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 1_000),
        journey_email("open", 'b', JOURNEY_SPRING, SENT_AT_MS + 1_000),
    ]);

    let response = setup.tagging.handle(&event).await;

    assert_eq!(response_json(&response), r#"{"batchItemFailures":[]}"#);
    assert_eq!(
        setup
            .clients
            .attribute(&setup.pool_id, "user-b", CAMPAIGN)
            .await
            .as_deref(),
        Some("Spring reactivation")
    );
}

/// Runs two shards' events at the same time through two handlers, as two concurrent Lambda
/// instances would, against a fresh table and pool.
async fn run_two_shards(
    clients: &Clients,
    run: usize,
    shards: [Vec<Vec<u8>>; 2],
) -> (
    Vec<std::collections::HashMap<String, AttributeValue>>,
    Vec<Option<String>>,
) {
    let table = format!("attribution-race-{run}");
    clients.create_table(&table).await;
    let pool_id = clients
        .create_pool(&format!("race-{run}"), &users("abcd"))
        .await;
    let first = handler(clients, &table, &pool_id);
    let second = handler(clients, &table, &pool_id);

    // One record per invocation, so the two instances' writes interleave at the emulator.
    let run_shard = |tagging: Tagging<EndpointExport>, events: Vec<Vec<u8>>| async move {
        for event in events {
            let response = tagging.handle(&kinesis_event(&[event])).await;
            assert!(response.batch_item_failures.is_empty());
        }
    };
    let [shard_a, shard_b] = shards;
    tokio::join!(run_shard(first, shard_a), run_shard(second, shard_b));

    let mut values = Vec::new();
    for user in users("abcd") {
        values.push(clients.attribute(&pool_id, &user, CAMPAIGN).await);
    }
    (clients.scan(&table).await, values)
}

#[tokio::test]
async fn concurrent_shards_leave_in_order_state() {
    let emulator = Emulator::start();
    let clients = Clients::new(&emulator);
    let events = contested_events();
    let (expected_items, expected_values) = run_order(&clients, 100, &events, events.len()).await;

    // Each split sends events of the same users to both instances at once.
    let by_parity = |keep_even: bool| -> Vec<Vec<u8>> {
        events
            .iter()
            .enumerate()
            .filter(|(index, _)| (index % 2 == 0) == keep_even)
            .map(|(_, event)| event.clone())
            .collect()
    };
    let mut reversed = events.clone();
    reversed.reverse();
    let splits = [
        [by_parity(true), by_parity(false)],
        [by_parity(false), by_parity(true)],
        [events.clone(), reversed],
        [events[..5].to_vec(), events[5..].to_vec()],
    ];

    for (run, shards) in splits.into_iter().enumerate() {
        let (items, values) = run_two_shards(&clients, run, shards).await;

        assert_eq!(items, expected_items, "split {run}");
        assert_eq!(values, expected_values, "split {run}");
    }
}
