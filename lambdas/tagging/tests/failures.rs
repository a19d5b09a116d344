//! Partial batch responses when DynamoDB fails in ways the emulator cannot produce.
//!
//! The DynamoDB client returns responses from `aws-smithy-mocks` rules (a 5xx, or a
//! throttling error body), while Cognito is the emulator's.

mod common;

use attribution_core::EndpointExport;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use common::*;
use tagging::Tagging;
use testkit::Emulator;

const TABLE: &str = "pinpoint-attribution-test-shop";

/// Rule: every `PutItem` for `user` gets `response`.
fn put_for_user(user: &'static str, response: fn() -> HttpResponse) -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(move |input| {
            input
                .item()
                .and_then(|item| item.get("username"))
                .and_then(|value| value.as_s().ok())
                .is_some_and(|username| username == user)
        })
        .then_http_response(response)
}

/// Rule: any other `PutItem` succeeds as a first write (no previous item).
fn put_succeeds() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build())
}

fn server_error() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(500).unwrap(),
        SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#,
        ),
    )
}

fn throttled() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
        ),
    )
}

fn rejected() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(
            r#"{"__type":"com.amazon.coral.validate#ValidationException","message":"One or more parameter values were invalid"}"#,
        ),
    )
}

/// Builds a tagging handler whose DynamoDB client returns responses from `rules`, while
/// Cognito is the emulator's.
async fn mocked_handler(emulator: &Emulator, rules: &[&Rule]) -> (Tagging<EndpointExport>, String) {
    let clients = Clients::new(emulator);
    let pool_id = clients.create_pool("shop-users", &users("abc")).await;

    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&emulator.sdk_config())
            .http_client(create_mock_http_client())
            .interceptor(interceptor)
            .build(),
    );

    let tagging = Tagging::new(
        settings(TABLE, &pool_id),
        dynamodb,
        clients.cognito.clone(),
        directory(),
    )
    .with_clock(test_clock);
    (tagging, pool_id)
}

fn three_opens() -> serde_json::Value {
    kinesis_event(&[
        journey_email("open", 'a', JOURNEY_SPRING, SENT_AT_MS + 1_000),
        journey_email("open", 'b', JOURNEY_SPRING, SENT_AT_MS + 2_000),
        journey_email("open", 'c', JOURNEY_SPRING, SENT_AT_MS + 3_000),
    ])
}

#[tokio::test]
async fn server_error_reports_second_record() {
    let emulator = Emulator::start();
    let failing = put_for_user("user-b", server_error);
    let succeeding = put_succeeds();
    let (tagging, pool_id) = mocked_handler(&emulator, &[&failing, &succeeding]).await;

    let response = tagging.handle(&three_opens()).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        format!(
            r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}}]}}"#,
            sequence(1)
        )
    );
    assert_eq!(failing.num_calls(), 1);
    let clients = Clients::new(&emulator);
    assert_eq!(
        clients
            .attribute(&pool_id, "user-a", CAMPAIGN)
            .await
            .as_deref(),
        Some("Spring reactivation")
    );
    assert_eq!(clients.attribute(&pool_id, "user-b", CAMPAIGN).await, None);
    assert_eq!(
        clients.attribute(&pool_id, "user-c", CAMPAIGN).await,
        None,
        "records after the failed one are left to the redelivery"
    );
}

#[tokio::test]
async fn healthy_mocked_batch_reports_nothing() {
    let emulator = Emulator::start();
    let succeeding = put_succeeds();
    let (tagging, _) = mocked_handler(&emulator, &[&succeeding]).await;

    let response = tagging.handle(&three_opens()).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    assert_eq!(
        succeeding.num_calls(),
        6,
        "an attribution write and a confirmation per user"
    );
}

#[tokio::test]
async fn throttled_write_reports_record() {
    let emulator = Emulator::start();
    let failing = put_for_user("user-a", throttled);
    let succeeding = put_succeeds();
    let (tagging, _) = mocked_handler(&emulator, &[&failing, &succeeding]).await;

    let response = tagging.handle(&three_opens()).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        format!(
            r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}}]}}"#,
            sequence(0)
        )
    );
}

#[tokio::test]
async fn rejected_write_is_skipped() {
    let emulator = Emulator::start();
    let failing = put_for_user("user-b", rejected);
    let succeeding = put_succeeds();
    let (tagging, pool_id) = mocked_handler(&emulator, &[&failing, &succeeding]).await;

    let response = tagging.handle(&three_opens()).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    let clients = Clients::new(&emulator);
    assert_eq!(clients.attribute(&pool_id, "user-b", CAMPAIGN).await, None);
    assert_eq!(
        clients
            .attribute(&pool_id, "user-c", CAMPAIGN)
            .await
            .as_deref(),
        Some("Spring reactivation")
    );
}
