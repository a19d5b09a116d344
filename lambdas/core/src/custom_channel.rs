//! Pinpoint custom-channel invocations: a journey step that calls the tagging function
//! directly with the endpoints it sends to.
//!
//! Journeys built for the original form of this solution attribute users from such a step.
//! Pinpoint invokes the function with the application id, the step's ids, the scheduled time
//! and up to 50 endpoints, each with its `User` object. The AWS developer guide documents this
//! payload for campaigns (`CampaignId`, `TreatmentId`, `ActivityId`); for journeys the event
//! carries `JourneyId`. Each endpoint becomes an interaction with the journey at the scheduled
//! time and goes through the same decisions as a stream record. The username comes from the
//! endpoint's own user attributes, so no `GetEndpoint` call is made.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::batch::{Services, TaggingReport, attribute_interactions, check_time, skip};
use crate::classify::Interaction;
use crate::directory::EndpointUser;
use crate::outcome::{Outcome, RecordOutcome, SkipReason};
use crate::services::{AttributionWriter, Directory, FailureKind, ServiceError, UserPool};
use crate::settings::TaggingSettings;

/// Event type recorded for the interactions of a custom-channel invocation.
pub const CUSTOM_CHANNEL_EVENT_TYPE: &str = "custom_channel";

/// The kind of event that an invocation of the tagging function carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvocationKind {
    /// A batch of Kinesis records from the event source mapping (it has `Records`).
    KinesisBatch,
    /// A Pinpoint custom-channel invocation (it has `ApplicationId` and `Endpoints`).
    CustomChannel,
    /// Neither kind; the text names what the event lacks.
    Unknown(String),
}

/// Tells the two event kinds apart by their required top-level members.
///
/// A Kinesis event always has a `Records` array and never `Endpoints`; a custom-channel
/// invocation always has `ApplicationId` and an `Endpoints` object and never `Records`. An
/// event with members of both kinds, or of neither, is unknown: processing it as either kind
/// could attribute users from data that does not mean what the code assumes.
pub fn invocation_kind(event: &Value) -> InvocationKind {
    let Some(members) = event.as_object() else {
        return InvocationKind::Unknown("the event is not a JSON object".to_owned());
    };
    let has_records = members.get("Records").is_some_and(Value::is_array);
    let has_endpoints = members.get("Endpoints").is_some_and(Value::is_object);
    let has_application = members.get("ApplicationId").is_some_and(Value::is_string);

    match (has_records, has_endpoints, has_application) {
        (true, false, _) => InvocationKind::KinesisBatch,
        (false, true, true) => InvocationKind::CustomChannel,
        (true, true, _) => InvocationKind::Unknown(
            "the event has both Records (Kinesis) and Endpoints (custom channel)".to_owned(),
        ),
        (false, true, false) => InvocationKind::Unknown(
            "the event has Endpoints but no ApplicationId string".to_owned(),
        ),
        (false, false, _) => InvocationKind::Unknown(
            "the event has neither a Records array (Kinesis) nor an Endpoints object (custom channel)"
                .to_owned(),
        ),
    }
}

/// The parts of a custom-channel invocation that attribution reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomChannelEvent {
    pub application_id: Option<String>,
    pub journey_id: Option<String>,
    /// `ScheduledTime` in epoch milliseconds, when present and valid.
    pub scheduled_at_ms: Option<i64>,
    /// The endpoints by id, in id order; `None` for a definition that is not an object.
    pub endpoints: BTreeMap<String, Option<EndpointUser>>,
}

impl CustomChannelEvent {
    /// Reads an invocation leniently: a malformed endpoint is kept as `None` and skipped later,
    /// so it cannot fail the others.
    pub fn from_json(event: &Value) -> CustomChannelEvent {
        let text = |name: &str| {
            event
                .get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        let endpoints = event
            .get("Endpoints")
            .and_then(Value::as_object)
            .map(read_endpoints)
            .unwrap_or_default();

        CustomChannelEvent {
            application_id: text("ApplicationId"),
            journey_id: text("JourneyId"),
            scheduled_at_ms: text("ScheduledTime").and_then(|time| parse_time_ms(&time)),
            endpoints,
        }
    }
}

fn read_endpoints(members: &Map<String, Value>) -> BTreeMap<String, Option<EndpointUser>> {
    members
        .iter()
        .map(|(id, definition)| {
            let user = definition.as_object().map(|definition| {
                definition
                    .get("User")
                    .and_then(|user| serde_json::from_value(user.clone()).ok())
                    .unwrap_or_default()
            });
            (id.clone(), user)
        })
        .collect()
}

/// Parses an RFC 3339 time such as `2025-03-16T18:20:00.000Z` into epoch milliseconds.
pub fn parse_time_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.timestamp_millis())
}

/// Attributes the endpoints of a custom-channel invocation at processing time `now_ms`.
///
/// Each endpoint is one input of the report, identified by its endpoint id. The interaction
/// time is `ScheduledTime`, so a repeated invocation stores the same state; without a valid
/// `ScheduledTime` it is the processing time.
pub async fn attribute_custom_channel<D, W, P>(
    event: &CustomChannelEvent,
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
    now_ms: i64,
) -> TaggingReport
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    let mut outcomes: Vec<RecordOutcome> = event
        .endpoints
        .keys()
        .map(|id| RecordOutcome::new(id, Outcome::Unchanged))
        .collect();

    let interactions = match check_invocation(event, settings) {
        Ok(journey_id) => read_interactions(event, journey_id, settings, now_ms, &mut outcomes),
        Err(reason) => {
            for outcome in &mut outcomes {
                skip(outcome, reason, None);
            }
            Vec::new()
        }
    };

    let directory = InvocationUsers {
        users: event
            .endpoints
            .iter()
            .filter_map(|(id, user)| Some((id.clone(), user.clone()?)))
            .collect(),
        journeys: services.directory,
    };
    let services = Services {
        directory: &directory,
        writer: services.writer,
        pool: services.pool,
    };

    attribute_interactions(interactions, outcomes, BTreeMap::new(), settings, &services).await
}

/// Checks what applies to the whole invocation and returns its journey id.
fn check_invocation<'a>(
    event: &'a CustomChannelEvent,
    settings: &TaggingSettings,
) -> Result<&'a str, SkipReason> {
    let application_id = event
        .application_id
        .as_deref()
        .ok_or(SkipReason::MissingApplicationId)?;
    if application_id != settings.pinpoint_app_id {
        return Err(SkipReason::OtherApplication);
    }
    event
        .journey_id
        .as_deref()
        .ok_or(SkipReason::NotAJourneyEvent)
}

fn read_interactions(
    event: &CustomChannelEvent,
    journey_id: &str,
    settings: &TaggingSettings,
    now_ms: i64,
    outcomes: &mut [RecordOutcome],
) -> Vec<(usize, Interaction)> {
    let interacted_at_ms = event.scheduled_at_ms.unwrap_or(now_ms);
    let mut interactions = Vec::new();

    for (index, (endpoint_id, user)) in event.endpoints.iter().enumerate() {
        if user.is_none() {
            let detail = "the endpoint definition is not a JSON object".to_owned();
            skip(
                &mut outcomes[index],
                SkipReason::InvalidEnvelope,
                Some(detail),
            );
            continue;
        }

        let interaction = Interaction {
            endpoint_id: endpoint_id.clone(),
            journey_id: journey_id.to_owned(),
            event_type: CUSTOM_CHANNEL_EVENT_TYPE.to_owned(),
            interacted_at_ms,
        };
        match check_time(interaction, settings, now_ms) {
            Ok(interaction) => interactions.push((index, interaction)),
            Err(reason) => skip(&mut outcomes[index], reason, None),
        }
    }
    interactions
}

/// A [`Directory`] that returns endpoint users from the invocation itself and journey names
/// from the function's directory.
struct InvocationUsers<'a, D> {
    users: HashMap<String, EndpointUser>,
    journeys: &'a D,
}

impl<D: Directory + Sync> Directory for InvocationUsers<'_, D> {
    async fn endpoint_user(
        &self,
        _app_id: &str,
        endpoint_id: &str,
    ) -> Result<EndpointUser, ServiceError> {
        self.users
            .get(endpoint_id)
            .cloned()
            .ok_or_else(|| ServiceError {
                operation: "custom-channel endpoint",
                kind: FailureKind::NotFound,
                message: "the endpoint is not in the invocation".to_owned(),
            })
    }

    async fn journey_name(&self, app_id: &str, journey_id: &str) -> Result<String, ServiceError> {
        self.journeys.journey_name(app_id, journey_id).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kinesis_event_has_records() {
        let event = json!({"Records": [{"kinesis": {"data": "e30="}}]});

        assert_eq!(invocation_kind(&event), InvocationKind::KinesisBatch);
    }

    #[test]
    fn empty_records_is_still_kinesis() {
        assert_eq!(
            invocation_kind(&json!({"Records": []})),
            InvocationKind::KinesisBatch
        );
    }

    #[test]
    fn custom_channel_has_application_and_endpoints() {
        let event = json!({"ApplicationId": "app", "JourneyId": "j", "Endpoints": {}});

        assert_eq!(invocation_kind(&event), InvocationKind::CustomChannel);
    }

    #[test]
    fn ambiguous_and_foreign_events_are_unknown() {
        let cases = [
            json!({"Records": [], "Endpoints": {}, "ApplicationId": "app"}),
            json!({"Endpoints": {}}),
            json!({"ApplicationId": "app", "Endpoints": ["not", "an", "object"]}),
            json!({"Records": "not an array"}),
            json!({"detail-type": "Scheduled Event"}),
            json!([1, 2]),
            json!("text"),
        ];
        for event in cases {
            assert!(
                matches!(invocation_kind(&event), InvocationKind::Unknown(_)),
                "{event}"
            );
        }
    }

    #[test]
    fn reads_documented_fields() {
        let event = json!({
            "Message": {},
            "Data": "{\"template\":\"in_app_banner\"}",
            "ApplicationId": "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b",
            "JourneyId": "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a",
            "ActivityId": "Ub3wYe6JqA",
            "ScheduledTime": "2025-03-16T18:20:00.000Z",
            "Endpoints": {
                "endpoint-1": {
                    "ChannelType": "CUSTOM",
                    "User": {"UserId": "u1", "UserAttributes": {"username": ["dana"]}}
                },
                "endpoint-2": {"ChannelType": "EMAIL"},
                "endpoint-3": "not an object"
            }
        });

        let read = CustomChannelEvent::from_json(&event);

        assert_eq!(
            read.application_id.as_deref(),
            Some("7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b")
        );
        assert_eq!(
            read.journey_id.as_deref(),
            Some("0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a")
        );
        assert_eq!(read.scheduled_at_ms, Some(1_742_149_200_000));
        assert_eq!(
            read.endpoints["endpoint-1"]
                .as_ref()
                .unwrap()
                .attribute("username"),
            Some("dana")
        );
        assert_eq!(read.endpoints["endpoint-2"], Some(EndpointUser::default()));
        assert_eq!(read.endpoints["endpoint-3"], None);
    }

    #[test]
    fn invalid_scheduled_time_is_none() {
        for time in ["yesterday", "2025-03-16", "", "2025-13-01T00:00:00Z"] {
            let event = json!({"ApplicationId": "a", "ScheduledTime": time, "Endpoints": {}});

            assert_eq!(
                CustomChannelEvent::from_json(&event).scheduled_at_ms,
                None,
                "{time}"
            );
        }
    }

    #[test]
    fn time_with_offset_is_converted() {
        assert_eq!(
            parse_time_ms("2025-03-16T19:20:00.000+01:00"),
            Some(1_742_149_200_000)
        );
    }
}
