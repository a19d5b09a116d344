//! Decides whether an event is a journey interaction that can attribute a user.

use crate::event::PinpointEvent;
use crate::outcome::SkipReason;
use crate::settings::TaggingSettings;

/// Attribute that carries the journey id on journey messaging events.
pub const JOURNEY_ID_ATTRIBUTE: &str = "journey_id";

/// Prefix of Pinpoint's email event types, whose `event_timestamp` is the send time.
const EMAIL_EVENT_PREFIX: &str = "_email.";

/// A user's interaction with a journey message, before the user is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    /// Pinpoint endpoint that was messaged (`client.client_id`).
    pub endpoint_id: String,
    pub journey_id: String,
    pub event_type: String,
    /// When the user interacted, in milliseconds since the epoch.
    pub interacted_at_ms: i64,
}

/// Classifies one event against the configured application and interaction events.
///
/// An interaction is an event of a configured type (by default `_email.click` and
/// `_email.open`) of the configured application that carries `attributes.journey_id`.
/// Campaign and transactional messages, sends, deliveries and app events are skipped. The
/// event version is not checked here: an event of an unknown version is processed when it has
/// the fields above (callers report unknown versions separately).
pub fn classify(
    event: &PinpointEvent,
    settings: &TaggingSettings,
) -> Result<Interaction, SkipReason> {
    let event_type = event
        .event_type
        .as_deref()
        .ok_or(SkipReason::MissingEventType)?;

    let app_id = event
        .application
        .app_id
        .as_deref()
        .ok_or(SkipReason::MissingApplicationId)?;
    if app_id != settings.pinpoint_app_id {
        return Err(SkipReason::OtherApplication);
    }

    if !settings
        .interaction_events
        .iter()
        .any(|known| known == event_type)
    {
        return Err(SkipReason::NotAnInteraction);
    }

    let journey_id = event
        .attribute(JOURNEY_ID_ATTRIBUTE)
        .ok_or(SkipReason::NotAJourneyEvent)?;

    let endpoint_id = event
        .client
        .client_id
        .as_deref()
        .ok_or(SkipReason::MissingEndpointId)?;

    let interacted_at_ms =
        interaction_time(event, event_type).ok_or(SkipReason::MissingTimestamp)?;

    Ok(Interaction {
        endpoint_id: endpoint_id.to_owned(),
        journey_id: journey_id.to_owned(),
        event_type: event_type.to_owned(),
        interacted_at_ms,
    })
}

/// Returns when the user interacted.
///
/// For email events Pinpoint sets `event_timestamp` to the time the message was sent, the
/// same for every event of that message, so an open or click happened at `arrival_timestamp`.
/// Other event types carry their own time in `event_timestamp`.
fn interaction_time(event: &PinpointEvent, event_type: &str) -> Option<i64> {
    if event_type.starts_with(EMAIL_EVENT_PREFIX) {
        event.arrival_timestamp
    } else {
        event.event_timestamp.or(event.arrival_timestamp)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::CampaignValue;

    const APP: &str = "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b";

    fn settings() -> TaggingSettings {
        TaggingSettings {
            table_name: "attribution".into(),
            user_pool_id: "eu-west-1_Pool1".into(),
            pinpoint_app_id: APP.into(),
            lookback_days: 30,
            interaction_events: vec!["_email.click".into(), "_email.open".into()],
            username_attribute: "username".into(),
            campaign_attribute: "campaign".into(),
            campaign_value: CampaignValue::JourneyName,
        }
    }

    fn event(json: serde_json::Value) -> PinpointEvent {
        serde_json::from_value(json).unwrap()
    }

    fn journey_open() -> serde_json::Value {
        serde_json::json!({
            "event_type": "_email.open",
            "event_timestamp": 1717000000000_i64,
            "arrival_timestamp": 1717000500000_i64,
            "event_version": "3.1",
            "application": {"app_id": APP},
            "client": {"client_id": "endpoint-1"},
            "attributes": {"journey_id": "journey-1", "journey_activity_id": "act"}
        })
    }

    #[test]
    fn journey_open_is_interaction_at_arrival_time() {
        let interaction = classify(&event(journey_open()), &settings()).unwrap();

        assert_eq!(
            interaction,
            Interaction {
                endpoint_id: "endpoint-1".into(),
                journey_id: "journey-1".into(),
                event_type: "_email.open".into(),
                interacted_at_ms: 1717000500000,
            }
        );
    }

    #[test]
    fn email_without_arrival_time_is_skipped() {
        let mut json = journey_open();
        json.as_object_mut().unwrap().remove("arrival_timestamp");

        assert_eq!(
            classify(&event(json), &settings()),
            Err(SkipReason::MissingTimestamp)
        );
    }

    #[test]
    fn other_configured_type_uses_event_time() {
        let mut settings = settings();
        settings.interaction_events.push("_journey.send".into());
        let mut json = journey_open();
        json["event_type"] = "_journey.send".into();

        let interaction = classify(&event(json), &settings).unwrap();

        assert_eq!(interaction.interacted_at_ms, 1717000000000);
    }

    #[test]
    fn campaign_open_is_not_journey_event() {
        let mut json = journey_open();
        json["attributes"] = serde_json::json!({"campaign_id": "c1", "treatment_id": "0"});

        assert_eq!(
            classify(&event(json), &settings()),
            Err(SkipReason::NotAJourneyEvent)
        );
    }

    #[test]
    fn unconfigured_types_are_not_interactions() {
        for event_type in [
            "_email.send",
            "_email.delivered",
            "_journey.send",
            "purchase",
            "_session.start",
        ] {
            let mut json = journey_open();
            json["event_type"] = event_type.into();

            assert_eq!(
                classify(&event(json), &settings()),
                Err(SkipReason::NotAnInteraction),
                "{event_type}"
            );
        }
    }

    #[test]
    fn other_application_is_skipped() {
        let mut json = journey_open();
        json["application"]["app_id"] = "0123456789abcdef0123456789abcdef".into();

        assert_eq!(
            classify(&event(json), &settings()),
            Err(SkipReason::OtherApplication)
        );
    }

    #[test]
    fn missing_fields_are_named() {
        let cases = [
            ("event_type", SkipReason::MissingEventType),
            ("application", SkipReason::MissingApplicationId),
            ("client", SkipReason::MissingEndpointId),
        ];
        for (field, expected) in cases {
            let mut json = journey_open();
            json.as_object_mut().unwrap().remove(field);

            assert_eq!(
                classify(&event(json), &settings()),
                Err(expected),
                "{field}"
            );
        }
    }

    #[test]
    fn unknown_version_with_fields_is_interaction() {
        let mut json = journey_open();
        json["event_version"] = "4.0".into();
        let event = event(json);

        assert!(!event.has_known_version());
        assert!(classify(&event, &settings()).is_ok());
    }
}
