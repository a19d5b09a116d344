//! Retries inside the invocation's time budget, with throttling the emulator cannot produce.
//!
//! One client at a time answers from `aws-smithy-mocks` rules (throttling, then success, or
//! throttling for good) while the other services are the emulator's. The mocked client uses
//! the functions' own retry mode with short waits, so the tests take milliseconds.

mod common;

use std::time::{Duration, Instant};

use attribution_core::EndpointExport;
use aws_config::retry::RetryConfig;
use aws_sdk_cognitoidentityprovider::operation::admin_update_user_attributes::AdminUpdateUserAttributesOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use common::*;
use tagging::Tagging;
use tagging::retry::MAX_ATTEMPTS;
use testkit::Emulator;

const TABLE: &str = "pinpoint-attribution-test-shop";

/// Returns the functions' retry mode and attempts, with waits short enough for a test.
fn fast_retries() -> RetryConfig {
    tagging::retry::retry_config()
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20))
}

fn dynamodb_throttled() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#,
        ),
    )
}

fn cognito_throttled() -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(400).unwrap(),
        SdkBody::from(r#"{"__type":"TooManyRequestsException","message":"Too many requests"}"#),
    )
}

fn interceptor(rules: &[&Rule]) -> MockResponseInterceptor {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    interceptor
}

fn puts_for(
    user: &'static str,
) -> aws_smithy_mocks::RuleBuilder<
    aws_sdk_dynamodb::operation::put_item::PutItemInput,
    PutItemOutput,
    aws_sdk_dynamodb::operation::put_item::PutItemError,
> {
    mock!(aws_sdk_dynamodb::Client::put_item).match_requests(move |input| {
        input
            .item()
            .and_then(|item| item.get("username"))
            .and_then(|value| value.as_s().ok())
            .is_some_and(|username| username == user)
    })
}

fn put_succeeds() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build())
}

/// Builds a handler whose DynamoDB client responds from `rules`, while Cognito is the emulator's.
async fn mocked_dynamodb(
    emulator: &Emulator,
    rules: &[&Rule],
) -> (Tagging<EndpointExport>, String) {
    let clients = Clients::new(emulator);
    let pool_id = clients.create_pool("shop-users", &users("abc")).await;
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&emulator.sdk_config())
            .http_client(create_mock_http_client())
            .interceptor(interceptor(rules))
            .retry_config(fast_retries())
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

fn failure_of(index: usize) -> String {
    format!(
        r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}}]}}"#,
        sequence(index)
    )
}

#[tokio::test]
async fn throttled_write_succeeds_on_retry() {
    let emulator = Emulator::start();
    let throttled_twice = puts_for("user-b")
        .sequence()
        .http_response(dynamodb_throttled)
        .times(2)
        .output(|| PutItemOutput::builder().build())
        .repeatedly()
        .build();
    let succeeding = put_succeeds();
    let (tagging, pool_id) = mocked_dynamodb(&emulator, &[&throttled_twice, &succeeding]).await;

    let response = tagging
        .handle_until(&three_opens(), Instant::now() + Duration::from_secs(30))
        .await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    assert_eq!(
        throttled_twice.num_calls(),
        4,
        "two throttled attempts, then the write and its confirmation"
    );
    let clients = Clients::new(&emulator);
    assert_eq!(
        clients
            .attribute(&pool_id, "user-b", CAMPAIGN)
            .await
            .as_deref(),
        Some("Spring reactivation")
    );
}

#[tokio::test]
async fn throttling_past_attempts_reports_record() {
    let emulator = Emulator::start();
    let throttled = puts_for("user-b").then_http_response(dynamodb_throttled);
    let succeeding = put_succeeds();
    let (tagging, _) = mocked_dynamodb(&emulator, &[&throttled, &succeeding]).await;

    let response = tagging
        .handle_until(&three_opens(), Instant::now() + Duration::from_secs(30))
        .await;

    assert_eq!(serde_json::to_string(&response).unwrap(), failure_of(1));
    assert_eq!(throttled.num_calls(), MAX_ATTEMPTS as usize);
}

#[tokio::test]
async fn throttling_until_deadline_reports_record() {
    let emulator = Emulator::start();
    let throttled = puts_for("user-b").then_http_response(dynamodb_throttled);
    let succeeding = put_succeeds();
    let clients = Clients::new(&emulator);
    let pool_id = clients.create_pool("shop-users", &users("abc")).await;
    // Waits long enough that the budget runs out before the attempts do.
    let slow_retries = RetryConfig::standard()
        .with_max_attempts(1_000)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_millis(100));
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&emulator.sdk_config())
            .http_client(create_mock_http_client())
            .interceptor(interceptor(&[&throttled, &succeeding]))
            .retry_config(slow_retries)
            .build(),
    );
    let tagging = Tagging::new(
        settings(TABLE, &pool_id),
        dynamodb,
        clients.cognito.clone(),
        directory(),
    )
    .with_clock(test_clock);
    let started = Instant::now();

    let response = tagging
        .handle_until(&three_opens(), started + Duration::from_millis(800))
        .await;

    let elapsed = started.elapsed();
    assert_eq!(serde_json::to_string(&response).unwrap(), failure_of(1));
    assert!(
        elapsed >= Duration::from_millis(800) && elapsed < Duration::from_secs(3),
        "the handler answers when the budget ends, took {elapsed:?}"
    );
    assert!(
        throttled.num_calls() > 1,
        "the write was retried before the budget ended"
    );
    assert_eq!(
        clients.attribute(&pool_id, "user-c", CAMPAIGN).await,
        None,
        "records after the failed one are left to the redelivery"
    );
}

#[tokio::test]
async fn throttled_cognito_update_succeeds_on_retry() {
    let emulator = Emulator::start();
    let clients = Clients::new(&emulator);
    clients.create_table(TABLE).await;
    let throttled_twice =
        mock!(aws_sdk_cognitoidentityprovider::Client::admin_update_user_attributes)
            .sequence()
            .http_response(cognito_throttled)
            .times(2)
            .output(|| AdminUpdateUserAttributesOutput::builder().build())
            .repeatedly()
            .build();
    let cognito = aws_sdk_cognitoidentityprovider::Client::from_conf(
        aws_sdk_cognitoidentityprovider::config::Builder::from(&emulator.sdk_config())
            .http_client(create_mock_http_client())
            .interceptor(interceptor(&[&throttled_twice]))
            .retry_config(fast_retries())
            .build(),
    );
    let tagging = Tagging::new(
        settings(TABLE, "eu-west-1_Mocked1"),
        clients.dynamodb.clone(),
        cognito,
        directory(),
    )
    .with_clock(test_clock);

    let response = tagging
        .handle_until(&three_opens(), Instant::now() + Duration::from_secs(30))
        .await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    assert_eq!(
        throttled_twice.num_calls(),
        5,
        "two throttled, then one per user"
    );
    let items = clients.scan(TABLE).await;
    assert_eq!(items.len(), 3);
    assert!(
        items
            .iter()
            .all(|item| !item.contains_key("attribute_pending")),
        "every attribution was confirmed after its Cognito update"
    );
}
