//! Emulator setup for the handler tests: the attribution table, a user pool with the
//! campaign attribute, Kinesis events built from the core's fixtures, and readers for the
//! resulting state.
//!
//! The emulator (moto) has no Pinpoint endpoint or journey API, so the handler resolves users
//! through the core's endpoint export directory, read from the fixtures.

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};

use attribution_core::{CampaignValue, EndpointExport, TaggingSettings};
use aws_sdk_cognitoidentityprovider::types::SchemaAttributeType;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use testkit::Emulator;

pub const APP_ID: &str = "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b";
pub const JOURNEY_SPRING: &str = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";
pub const JOURNEY_SUMMER: &str = "5b4a39281706f5e4d3c2b1a098f7e6d5";
pub const SENT_AT_MS: i64 = 1_717_000_000_000;
pub const CAMPAIGN: &str = "custom:campaign";

/// Processing time of the tests: one day after the fixtures' send time.
pub fn test_clock() -> i64 {
    SENT_AT_MS + 86_400_000
}

pub fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../core/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {path}: {error}"))
}

pub fn directory() -> EndpointExport {
    let names: BTreeMap<String, String> = serde_json::from_str(&fixture("journeys.json")).unwrap();
    EndpointExport::from_json_lines(&fixture("endpoints.jsonl"))
        .unwrap()
        .with_journey_names(names)
}

pub fn settings(table: &str, pool_id: &str) -> TaggingSettings {
    TaggingSettings {
        table_name: table.into(),
        user_pool_id: pool_id.into(),
        pinpoint_app_id: APP_ID.into(),
        lookback_days: 30,
        interaction_events: vec!["_email.click".into(), "_email.open".into()],
        username_attribute: "username".into(),
        campaign_attribute: "campaign".into(),
        campaign_value: CampaignValue::JourneyName,
    }
}

/// SDK clients pointed at one emulator.
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
}

impl Clients {
    pub fn new(emulator: &Emulator) -> Clients {
        let config = emulator.sdk_config();
        Clients {
            dynamodb: aws_sdk_dynamodb::Client::new(&config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
        }
    }

    /// Creates the attribution table as the stack does: key `username`, stream with images.
    pub async fn create_table(&self, name: &str) {
        self.dynamodb
            .create_table()
            .table_name(name)
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
            .expect("create attribution table");
    }

    /// Creates a user pool with the `campaign` custom attribute and the given users.
    pub async fn create_pool(&self, name: &str, users: &[String]) -> String {
        let pool = self
            .cognito
            .create_user_pool()
            .pool_name(name)
            .send()
            .await
            .expect("create user pool");
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
                    .attribute_data_type(
                        aws_sdk_cognitoidentityprovider::types::AttributeDataType::String,
                    )
                    .mutable(true)
                    .build(),
            )
            .send()
            .await
            .expect("add custom attribute");

        for user in users {
            self.cognito
                .admin_create_user()
                .user_pool_id(&pool_id)
                .username(user)
                .send()
                .await
                .expect("create user");
        }
        pool_id
    }

    /// Returns a user's attribute value, or `None` when the user does not have it.
    pub async fn attribute(&self, pool_id: &str, user: &str, name: &str) -> Option<String> {
        let output = self
            .cognito
            .admin_get_user()
            .user_pool_id(pool_id)
            .username(user)
            .send()
            .await
            .expect("get user");
        output
            .user_attributes()
            .iter()
            .find(|attribute| attribute.name() == name)
            .and_then(|attribute| attribute.value())
            .map(str::to_owned)
    }

    pub async fn item(&self, table: &str, user: &str) -> Option<HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(table)
            .key("username", AttributeValue::S(user.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }

    /// Returns every item of the table, sorted by username.
    pub async fn scan(&self, table: &str) -> Vec<HashMap<String, AttributeValue>> {
        let output = self
            .dynamodb
            .scan()
            .table_name(table)
            .send()
            .await
            .expect("scan");
        let mut items = output.items.unwrap_or_default();
        items.sort_by_key(|item| match item.get("username") {
            Some(AttributeValue::S(user)) => user.clone(),
            _ => String::new(),
        });
        items
    }
}

pub fn users(letters: &str) -> Vec<String> {
    letters
        .chars()
        .map(|letter| format!("user-{letter}"))
        .collect()
}

/// Builds a Kinesis event as Lambda delivers it, with sequence numbers from [`sequence`].
pub fn kinesis_event(payloads: &[Vec<u8>]) -> Value {
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(index, payload)| kinesis_record(&sequence(index), &STANDARD.encode(payload)))
        .collect();
    json!({ "Records": records })
}

/// Builds a Kinesis record whose `data` is taken as given (it may be deliberately invalid).
pub fn kinesis_record(sequence: &str, data: &str) -> Value {
    json!({
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": "5f0c2a7e-93b1-4d6a-8e2f-1b7c9d3e4a60",
            "sequenceNumber": sequence,
            "data": data,
            "approximateArrivalTimestamp": 1717000100.412
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": format!("shardId-000000000000:{sequence}"),
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": "arn:aws:iam::123456789012:role/tagging",
        "awsRegion": "eu-west-1",
        "eventSourceARN": "arn:aws:kinesis:eu-west-1:123456789012:stream/pinpoint-events"
    })
}

/// Sequence number of the record at `index`, long like real ones.
pub fn sequence(index: usize) -> String {
    format!(
        "4966032184593715820471159263049872610385417296041823{:04}",
        index + 1
    )
}

/// The mixed-batch events, one payload per line of the fixture.
pub fn mixed_batch_payloads() -> Vec<Vec<u8>> {
    fixture("f1_mixed_batch.jsonl")
        .lines()
        .map(|line| line.as_bytes().to_vec())
        .collect()
}

pub fn endpoint_of(user: char) -> String {
    format!("5f0c2a7e-93b1-4d6a-8e2f-1b7c9d3e4a0{user}")
}

/// Builds a journey email event of `kind` (`open`, `click`, `send`) for `user` at `at_ms`.
pub fn journey_email(kind: &str, user: char, journey: &str, at_ms: i64) -> Vec<u8> {
    json!({
        "event_type": format!("_email.{kind}"),
        "event_timestamp": SENT_AT_MS,
        "arrival_timestamp": at_ms,
        "event_version": "3.1",
        "application": {"app_id": APP_ID, "sdk": {}},
        "client": {"client_id": endpoint_of(user)},
        "attributes": {"journey_id": journey, "journey_activity_id": "Qm4tRz8LpW"},
    })
    .to_string()
    .into_bytes()
}

/// Returns the `AdminUpdateUserAttributes` requests that reached the emulator since recording
/// began, as (username, attribute name, value).
pub fn cognito_updates(emulator: &Emulator) -> Vec<(String, String, String)> {
    let mut updates = Vec::new();
    for request in emulator.recorded_requests() {
        let target = request["headers"]
            .as_object()
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case("x-amz-target"))
            })
            .and_then(|(_, value)| value.as_str())
            .unwrap_or_default();
        if target != "AWSCognitoIdentityProviderService.AdminUpdateUserAttributes" {
            continue;
        }

        let body = request["body"].as_str().unwrap_or_default();
        let body = if request["body_encoded"].as_bool() == Some(true) {
            String::from_utf8(STANDARD.decode(body).unwrap()).unwrap()
        } else {
            body.to_owned()
        };
        let body: Value = serde_json::from_str(&body).unwrap();
        for attribute in body["UserAttributes"].as_array().unwrap() {
            updates.push((
                body["Username"].as_str().unwrap().to_owned(),
                attribute["Name"].as_str().unwrap().to_owned(),
                attribute["Value"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    updates
}
