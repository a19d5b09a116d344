//! The tagging function's custom-channel invocations against the emulator's DynamoDB and
//! Cognito, and how the function distinguishes them from Kinesis events.

mod common;

use attribution_core::EndpointExport;
use aws_sdk_dynamodb::types::AttributeValue;
use common::*;
use serde_json::{Value, json};
use tagging::{InvocationError, Tagging};
use testkit::Emulator;

const TABLE: &str = "pinpoint-attribution-test-shop";

/// Half a day after the fixtures' send time, inside the test clock's lookback window.
const SCHEDULED_AT: &str = "2024-05-30T12:00:00.000Z";

/// Builds a journey step's invocation for users `user-a` and `user-b`, plus one endpoint whose
/// user has no username attribute.
fn custom_channel_event() -> Value {
    json!({
        "Message": {},
        "Data": "{\"template\":\"in_app_banner\"}",
        "ApplicationId": APP_ID,
        "JourneyId": JOURNEY_SPRING,
        "ActivityId": "Ub3wYe6JqA",
        "ScheduledTime": SCHEDULED_AT,
        "Endpoints": {
            "custom-endpoint-a": {
                "ChannelType": "CUSTOM",
                "Address": "web-push-token-a",
                "EndpointStatus": "ACTIVE",
                "OptOut": "NONE",
                "User": {"UserId": "user-a", "UserAttributes": {"username": ["user-a"]}}
            },
            "custom-endpoint-b": {
                "ChannelType": "CUSTOM",
                "Address": "web-push-token-b",
                "User": {"UserId": "user-b", "UserAttributes": {"username": ["user-b"]}}
            },
            "custom-endpoint-anonymous": {
                "ChannelType": "CUSTOM",
                "Address": "web-push-token-c",
                "User": {"UserId": "anonymous"}
            }
        }
    })
}

struct Setup {
    _emulator: Emulator,
    clients: Clients,
    pool_id: String,
    tagging: Tagging<EndpointExport>,
}

async fn setup() -> Setup {
    let emulator = Emulator::start();
    let clients = Clients::new(&emulator);
    clients.create_table(TABLE).await;
    let pool_id = clients.create_pool("shop-users", &users("ab")).await;
    // The directory has no endpoint of this event: users must come from the event itself.
    let tagging = Tagging::new(
        settings(TABLE, &pool_id),
        clients.dynamodb.clone(),
        clients.cognito.clone(),
        EndpointExport::default().with_journey_names([(JOURNEY_SPRING, "Spring reactivation")]),
    )
    .with_clock(test_clock);
    Setup {
        _emulator: emulator,
        clients,
        pool_id,
        tagging,
    }
}

#[tokio::test]
async fn custom_channel_attributes_endpoint_users() {
    let setup = setup().await;

    let response = setup.tagging.invoke(&custom_channel_event()).await.unwrap();

    assert_eq!(
        response,
        json!({
            "custom-endpoint-a": {"EventAttributes": {"attribution": "attributed"}},
            "custom-endpoint-anonymous": {"EventAttributes": {"attribution": "no_username"}},
            "custom-endpoint-b": {"EventAttributes": {"attribution": "attributed"}},
        })
    );
    for user in ["user-a", "user-b"] {
        let value = setup
            .clients
            .attribute(&setup.pool_id, user, CAMPAIGN)
            .await;
        assert_eq!(value.as_deref(), Some("Spring reactivation"), "{user}");

        let item = setup.clients.item(TABLE, user).await.unwrap();
        assert_eq!(
            item.get("journey_id"),
            Some(&AttributeValue::S(JOURNEY_SPRING.into())),
            "{user}"
        );
    }
    assert_eq!(setup.clients.scan(TABLE).await.len(), 2);
}

#[tokio::test]
async fn custom_channel_repeat_is_unchanged() {
    let setup = setup().await;
    setup.tagging.invoke(&custom_channel_event()).await.unwrap();

    let response = setup.tagging.invoke(&custom_channel_event()).await.unwrap();

    assert_eq!(
        response["custom-endpoint-a"]["EventAttributes"]["attribution"],
        "unchanged"
    );
    assert_eq!(
        response["custom-endpoint-b"]["EventAttributes"]["attribution"],
        "unchanged"
    );
}

#[tokio::test]
async fn kinesis_event_still_gets_batch_response() {
    let setup = setup().await;
    let event = kinesis_event(&[b"not json".to_vec()]);

    let response = setup.tagging.invoke(&event).await.unwrap();

    assert_eq!(response, json!({"batchItemFailures": []}));
    assert!(setup.clients.scan(TABLE).await.is_empty());
}

#[tokio::test]
async fn unknown_event_is_an_error() {
    let setup = setup().await;
    let ambiguous = json!({"Records": [], "ApplicationId": APP_ID, "Endpoints": {}});

    for event in [json!({"detail-type": "Scheduled Event"}), ambiguous] {
        let error = setup.tagging.invoke(&event).await.unwrap_err();

        assert!(
            matches!(error, InvocationError::UnknownEvent(_)),
            "{event}: {error}"
        );
    }
    assert!(setup.clients.scan(TABLE).await.is_empty());
}
