//! The Pinpoint directory on responses in the documented shapes of `GetEndpoint` and
//! `GetJourney`.
//!
//! The emulator has no route for these operations (it returns 404 with an HTML page), so the
//! Pinpoint client returns responses from `aws-smithy-mocks` rules, with bodies in the shapes
//! the API reference documents and invented values.

use attribution_core::{Directory, FailureKind};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use tagging::PinpointDirectory;

const APP: &str = "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b";
const ENDPOINT: &str = "5f0c2a7e-93b1-4d6a-8e2f-1b7c9d3e4a60";
const JOURNEY: &str = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";

const ENDPOINT_RESPONSE: &str = r#"{
  "Address": "dana.r@example.com",
  "ApplicationId": "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b",
  "Attributes": {"preferred_store": ["austin-02"]},
  "ChannelType": "EMAIL",
  "CohortId": "37",
  "CreationDate": "2025-02-20T08:00:00.000Z",
  "EffectiveDate": "2025-03-01T10:11:12.000Z",
  "EndpointStatus": "ACTIVE",
  "Id": "5f0c2a7e-93b1-4d6a-8e2f-1b7c9d3e4a60",
  "OptOut": "NONE",
  "RequestId": "8e4d2c1b-7a6f-4e59-9d3c-2b1a0f9e8d7c",
  "User": {
    "UserAttributes": {"username": ["dana.rivera"], "sub": ["3e1f5a7c-2b94-4d08-a6e3-9c0b1d2e3f45"]},
    "UserId": "dana.rivera"
  }
}"#;

const JOURNEY_RESPONSE: &str = r#"{
  "Id": "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a",
  "ApplicationId": "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b",
  "Name": "Spring reactivation",
  "State": "ACTIVE",
  "StartActivity": "Qm4tRz8LpW",
  "CreationDate": "2025-03-01T09:00:00.000Z",
  "LastModifiedDate": "2025-03-10T12:30:00.000Z",
  "Activities": {
    "Qm4tRz8LpW": {"Description": "Checklist email", "EMAIL": {"TemplateName": "spring-checklist"}}
  }
}"#;

fn response(status: u16, body: &'static str) -> HttpResponse {
    HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
}

fn directory(rules: &[&Rule]) -> PinpointDirectory {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for rule in rules {
        interceptor = interceptor.with_rule(rule);
    }
    let config = aws_sdk_pinpoint::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(RetryConfig::disabled())
        .http_client(create_mock_http_client())
        .interceptor(interceptor)
        .build();
    PinpointDirectory::new(aws_sdk_pinpoint::Client::from_conf(config))
}

#[tokio::test]
async fn endpoint_user_is_read_and_cached() {
    let get_endpoint = mock!(aws_sdk_pinpoint::Client::get_endpoint)
        .match_requests(|input| {
            input.application_id() == Some(APP) && input.endpoint_id() == Some(ENDPOINT)
        })
        .then_http_response(|| response(200, ENDPOINT_RESPONSE));
    let directory = directory(&[&get_endpoint]);

    let first = directory.endpoint_user(APP, ENDPOINT).await.unwrap();
    let second = directory.endpoint_user(APP, ENDPOINT).await.unwrap();

    assert_eq!(first.attribute("username"), Some("dana.rivera"));
    assert_eq!(first.user_id.as_deref(), Some("dana.rivera"));
    assert_eq!(second, first);
    assert_eq!(
        get_endpoint.num_calls(),
        1,
        "the second lookup must come from the cache"
    );
}

#[tokio::test]
async fn endpoint_without_user_has_no_username() {
    let get_endpoint = mock!(aws_sdk_pinpoint::Client::get_endpoint).then_http_response(|| {
        response(
            200,
            r#"{"Id":"e1","ChannelType":"EMAIL","Address":"x@example.com"}"#,
        )
    });
    let directory = directory(&[&get_endpoint]);

    let user = directory.endpoint_user(APP, "e1").await.unwrap();

    assert_eq!(user.attribute("username"), None);
}

#[tokio::test]
async fn missing_endpoint_is_not_found() {
    let get_endpoint = mock!(aws_sdk_pinpoint::Client::get_endpoint).then_http_response(|| {
        response(
            404,
            r#"{"__type":"NotFoundException","Message":"Resource not found","RequestID":"r-1"}"#,
        )
    });
    let directory = directory(&[&get_endpoint]);

    let error = directory.endpoint_user(APP, "gone").await.unwrap_err();

    assert_eq!(error.kind, FailureKind::NotFound, "{error}");
    assert_eq!(error.operation, "GetEndpoint");
}

#[tokio::test]
async fn throttled_lookup_is_retryable_and_not_cached() {
    let get_endpoint = mock!(aws_sdk_pinpoint::Client::get_endpoint)
        .sequence()
        .http_response(|| {
            response(429, r#"{"__type":"TooManyRequestsException","Message":"Too many requests","RequestID":"r-2"}"#)
        })
        .http_response(|| response(200, ENDPOINT_RESPONSE))
        .build();
    let directory = directory(&[&get_endpoint]);

    let error = directory.endpoint_user(APP, ENDPOINT).await.unwrap_err();
    let user = directory.endpoint_user(APP, ENDPOINT).await.unwrap();

    assert_eq!(error.kind, FailureKind::Retryable, "{error}");
    assert!(
        error.message.starts_with("TooManyRequestsException"),
        "{error}"
    );
    assert_eq!(user.attribute("username"), Some("dana.rivera"));
}

#[tokio::test]
async fn journey_name_is_read_and_cached() {
    let get_journey = mock!(aws_sdk_pinpoint::Client::get_journey)
        .match_requests(|input| input.journey_id() == Some(JOURNEY))
        .then_http_response(|| response(200, JOURNEY_RESPONSE));
    let directory = directory(&[&get_journey]);

    let name = directory.journey_name(APP, JOURNEY).await.unwrap();
    directory.journey_name(APP, JOURNEY).await.unwrap();

    assert_eq!(name, "Spring reactivation");
    assert_eq!(get_journey.num_calls(), 1);
}

#[tokio::test]
async fn missing_journey_is_not_found() {
    let get_journey = mock!(aws_sdk_pinpoint::Client::get_journey).then_http_response(|| {
        response(
            404,
            r#"{"__type":"NotFoundException","Message":"Journey not found","RequestID":"r-3"}"#,
        )
    });
    let directory = directory(&[&get_journey]);

    let error = directory.journey_name(APP, "deleted").await.unwrap_err();

    assert_eq!(error.kind, FailureKind::NotFound, "{error}");
}
