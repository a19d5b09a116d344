//! The expiration handler against the emulator's DynamoDB and Cognito.
//!
//! moto never runs TTL deletions, so the stream records come from the core's mixed stream fixture
//! (five records for users p to t) and the tests delete items themselves. The records carry
//! `awsRegion: us-east-1`, as moto's streams report, while the clients use the emulator's
//! region: the handler must take its region from configuration.

use std::collections::HashMap;

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, AttributeType, SchemaAttributeType,
};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_smithy_mocks::{MockResponseInterceptor, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use base64::Engine;
use expiration::Expiration;
use serde_json::Value;
use testkit::Emulator;

const TABLE: &str = "pinpoint-attribution-test-shop";
const CAMPAIGN: &str = "custom:campaign";
const JOURNEY_SPRING: &str = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";
const JOURNEY_SUMMER: &str = "5b4a39281706f5e4d3c2b1a098f7e6d5";

fn mixed_stream_event() -> Value {
    let path = format!(
        "{}/../core/tests/fixtures/f6_stream_event.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn first_sequence(event: &Value) -> String {
    event["Records"][0]["dynamodb"]["SequenceNumber"]
        .as_str()
        .unwrap()
        .to_owned()
}

struct Setup {
    emulator: Emulator,
    dynamodb: aws_sdk_dynamodb::Client,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    pool_id: String,
}

impl Setup {
    async fn start(users: &[&str]) -> Setup {
        let emulator = Emulator::start();
        let config = emulator.sdk_config();
        let setup = Setup {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
            pool_id: String::new(),
            emulator,
        };
        setup.create_table().await;
        let pool_id = setup.create_pool(users).await;
        Setup { pool_id, ..setup }
    }

    fn handler(&self) -> Expiration {
        Expiration::new(
            settings(&self.pool_id),
            self.dynamodb.clone(),
            self.cognito.clone(),
        )
    }

    async fn create_table(&self) {
        self.dynamodb
            .create_table()
            .table_name(TABLE)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("username")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("username")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::NewAndOldImages)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create table");
    }

    /// Creates the pool with the campaign attribute; every user starts attributed to Spring.
    async fn create_pool(&self, users: &[&str]) -> String {
        let pool = self
            .cognito
            .create_user_pool()
            .pool_name("shop-users")
            .send()
            .await
            .unwrap();
        let pool_id = pool
            .user_pool()
            .and_then(|pool| pool.id())
            .unwrap()
            .to_owned();
        self.cognito
            .add_custom_attributes()
            .user_pool_id(&pool_id)
            .custom_attributes(
                SchemaAttributeType::builder()
                    .name("campaign")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();

        for user in users {
            self.cognito
                .admin_create_user()
                .user_pool_id(&pool_id)
                .username(*user)
                .user_attributes(
                    AttributeType::builder()
                        .name(CAMPAIGN)
                        .value("Spring reactivation")
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        pool_id
    }

    async fn put(&self, user: &str, journey: &str, value: &str, at_ms: i64) {
        let item = HashMap::from([
            ("username".to_owned(), AttributeValue::S(user.into())),
            ("journey_id".to_owned(), AttributeValue::S(journey.into())),
            ("campaign_value".to_owned(), AttributeValue::S(value.into())),
            (
                "interacted_at_ms".to_owned(),
                AttributeValue::N(at_ms.to_string()),
            ),
            (
                "expires_at".to_owned(),
                AttributeValue::N((at_ms / 1000 + 30 * 86_400).to_string()),
            ),
        ]);
        self.dynamodb
            .put_item()
            .table_name(TABLE)
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }

    async fn campaign(&self, user: &str) -> Option<String> {
        let output = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(user)
            .send()
            .await
            .unwrap();
        output
            .user_attributes()
            .iter()
            .find(|attribute| attribute.name() == CAMPAIGN)
            .and_then(|attribute| attribute.value())
            .map(str::to_owned)
    }

    /// Returns the `AdminUpdateUserAttributes` requests recorded by the emulator, as (user,
    /// value).
    fn cognito_updates(&self) -> Vec<(String, String)> {
        let engine = base64::engine::general_purpose::STANDARD;
        let mut updates = Vec::new();
        for request in self.emulator.recorded_requests() {
            let headers = request["headers"].as_object().unwrap();
            let is_update = headers.iter().any(|(name, value)| {
                name.eq_ignore_ascii_case("x-amz-target")
                    && value == "AWSCognitoIdentityProviderService.AdminUpdateUserAttributes"
            });
            if !is_update {
                continue;
            }
            let body = request["body"].as_str().unwrap();
            let body = if request["body_encoded"] == true {
                String::from_utf8(engine.decode(body).unwrap()).unwrap()
            } else {
                body.to_owned()
            };
            let body: Value = serde_json::from_str(&body).unwrap();
            updates.push((
                body["Username"].as_str().unwrap().to_owned(),
                body["UserAttributes"][0]["Value"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ));
        }
        updates
    }
}

fn settings(pool_id: &str) -> attribution_core::ExpirationSettings {
    attribution_core::ExpirationSettings {
        table_name: TABLE.into(),
        user_pool_id: pool_id.into(),
        campaign_attribute: "campaign".into(),
    }
}

const T0: i64 = 1_717_000_000_000;

#[tokio::test]
async fn ttl_deletion_blanks_only_its_user() {
    let setup = Setup::start(&["user-p", "user-q", "user-r", "user-s", "user-t"]).await;
    setup
        .put("user-s", JOURNEY_SUMMER, "Summer sale", T0 + 9_000)
        .await;
    setup
        .put("user-t", JOURNEY_SUMMER, "Summer sale", T0 + 10_000)
        .await;
    setup.emulator.start_recording();

    let response = setup.handler().handle(&mixed_stream_event()).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
    assert_eq!(
        setup.cognito_updates(),
        [("user-p".to_owned(), String::new())]
    );
    assert_eq!(setup.campaign("user-p").await.as_deref(), Some(""));
    for user in ["user-q", "user-r", "user-s", "user-t"] {
        assert_eq!(
            setup.campaign(user).await.as_deref(),
            Some("Spring reactivation"),
            "{user}"
        );
    }
}

#[tokio::test]
async fn newer_attribution_keeps_attribute() {
    let setup = Setup::start(&["user-p"]).await;
    setup
        .put("user-p", JOURNEY_SUMMER, "Summer sale", T0 + 60_000)
        .await;
    setup.emulator.start_recording();

    let response = setup.handler().handle(&mixed_stream_event()).await;

    assert!(response.batch_item_failures.is_empty());
    assert!(setup.cognito_updates().is_empty());
    assert_eq!(
        setup.campaign("user-p").await.as_deref(),
        Some("Spring reactivation")
    );
}

#[tokio::test]
async fn redelivered_deletion_blanks_again() {
    let setup = Setup::start(&["user-p"]).await;
    let event = mixed_stream_event();
    let handler = setup.handler();

    let first = handler.handle(&event).await;
    let second = handler.handle(&event).await;

    assert!(first.batch_item_failures.is_empty());
    assert!(second.batch_item_failures.is_empty());
    assert_eq!(setup.campaign("user-p").await.as_deref(), Some(""));
}

#[tokio::test]
async fn user_missing_from_pool_is_skipped() {
    let setup = Setup::start(&["user-q"]).await;

    let response = setup.handler().handle(&mixed_stream_event()).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        r#"{"batchItemFailures":[]}"#
    );
}

#[tokio::test]
async fn stored_again_item_keeps_attribute() {
    let setup = Setup::start(&["user-p"]).await;
    setup
        .put("user-p", JOURNEY_SPRING, "Spring reactivation", T0 + 1_000)
        .await;
    setup.emulator.start_recording();

    let response = setup.handler().handle(&mixed_stream_event()).await;

    assert!(response.batch_item_failures.is_empty());
    assert!(setup.cognito_updates().is_empty());
}

#[tokio::test]
async fn read_failure_reports_record() {
    let setup = Setup::start(&["user-p"]).await;
    let get_fails = mock!(aws_sdk_dynamodb::Client::get_item).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(503).unwrap(),
            SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#ServiceUnavailable","message":"Service unavailable"}"#),
        )
    });
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&setup.emulator.sdk_config())
            .http_client(create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::MatchAny)
                    .with_rule(&get_fails),
            )
            .build(),
    );
    let handler = Expiration::new(settings(&setup.pool_id), dynamodb, setup.cognito.clone());
    let event = mixed_stream_event();
    setup.emulator.start_recording();

    let response = handler.handle(&event).await;

    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        format!(
            r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}}]}}"#,
            first_sequence(&event)
        )
    );
    assert_eq!(get_fails.num_calls(), 1);
    assert!(setup.cognito_updates().is_empty());
}

#[tokio::test]
async fn read_failing_until_deadline_reports_record() {
    let setup = Setup::start(&["user-p"]).await;
    let get_fails = mock!(aws_sdk_dynamodb::Client::get_item).then_http_response(|| {
        HttpResponse::new(
            StatusCode::try_from(500).unwrap(),
            SdkBody::from(r#"{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}"#),
        )
    });
    // Retries that would go on far longer than the budget.
    let retries = aws_config::retry::RetryConfig::standard()
        .with_max_attempts(1_000)
        .with_initial_backoff(std::time::Duration::from_millis(100))
        .with_max_backoff(std::time::Duration::from_millis(100));
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&setup.emulator.sdk_config())
            .http_client(create_mock_http_client())
            .interceptor(
                MockResponseInterceptor::new()
                    .rule_mode(RuleMode::MatchAny)
                    .with_rule(&get_fails),
            )
            .retry_config(retries)
            .build(),
    );
    let handler = Expiration::new(settings(&setup.pool_id), dynamodb, setup.cognito.clone());
    let event = mixed_stream_event();
    let started = std::time::Instant::now();

    let response = handler
        .handle_until(&event, started + std::time::Duration::from_millis(600))
        .await;

    let elapsed = started.elapsed();
    assert_eq!(
        serde_json::to_string(&response).unwrap(),
        format!(
            r#"{{"batchItemFailures":[{{"itemIdentifier":"{}"}}]}}"#,
            first_sequence(&event)
        )
    );
    assert!(
        get_fails.num_calls() > 1,
        "the read was retried before the budget ended"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(3),
        "the handler answers when the budget ends, took {elapsed:?}"
    );
}
