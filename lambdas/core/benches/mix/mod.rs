//! A realistic, deterministic mix of Pinpoint event-stream records for the benchmarks.
//!
//! The records follow the shapes of Pinpoint's event stream: journey sends, email sends and
//! deliveries, journey email opens and clicks, a campaign open, SMS deliveries, app events
//! from the Amplify SDK, and a few malformed payloads. In every 40 records:
//!
//! | records | kind |
//! | --- | --- |
//! | 6 | `_journey.send` |
//! | 6 | `_email.send` |
//! | 6 | `_email.delivered` |
//! | 6 | `_email.open` of a journey email |
//! | 4 | `_email.click` of a journey email |
//! | 2 | `_email.open` of a campaign email |
//! | 6 | app events (`checkout_completed`, `_session.start`) |
//! | 2 | `_SMS.SUCCESS` |
//! | 1 | `_monetization.purchase` |
//! | 1 | malformed (truncated JSON, invalid UTF-8 or a JSON array, in turn) |
//!
//! so 10 of every 40 records (25 %) are journey interactions.

#![allow(dead_code)]

use serde_json::{Value, json};

pub const APP_ID: &str = "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b";

/// Send time of every journey message in the mix, in epoch milliseconds.
pub const SENT_AT_MS: i64 = 1_717_000_000_000;

/// Processing time: one day after the send time, so every interaction is in the window.
pub const NOW_MS: i64 = SENT_AT_MS + 86_400_000;

/// The mix's journeys: id and name.
pub const JOURNEYS: [(&str, &str); 3] = [
    ("0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a", "Spring reactivation"),
    ("5b4a39281706f5e4d3c2b1a098f7e6d5", "Summer sale"),
    ("9a8b7c6d5e4f30211f2e3d4c5b6a7980", "Winback 30 days"),
];

/// Pinpoint endpoint id of user number `user`.
pub fn endpoint_id(user: usize) -> String {
    format!("5f0c2a7e-93b1-4d6a-8e2f-{user:012x}")
}

/// Cognito username of user number `user`.
pub fn username(user: usize) -> String {
    format!("bench-user-{user:05}")
}

/// Builds a Pinpoint endpoint export (JSON lines) with the endpoints of `users` users.
pub fn endpoint_export(users: usize) -> String {
    (0..users)
        .map(|user| {
            json!({
                "Id": endpoint_id(user),
                "ApplicationId": APP_ID,
                "ChannelType": "EMAIL",
                "Address": format!("{}@example.com", username(user)),
                "User": {"UserId": username(user), "UserAttributes": {"username": [username(user)]}},
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Builds `records` payloads spread over `users` users.
pub fn mixed_batch(records: usize, users: usize) -> Vec<Vec<u8>> {
    (0..records).map(|index| record(index, users)).collect()
}

/// Counts the journey interactions among the first `records` payloads.
pub fn interaction_count(records: usize) -> usize {
    (0..records)
        .filter(|index| matches!(index % 40, 18..=27))
        .count()
}

fn record(index: usize, users: usize) -> Vec<u8> {
    // The stride spreads each user's records over different kinds of event and shifts by one
    // user every 40 records, so users receive several interactions in a long batch.
    let user = (index * 7 + index / 40) % users;
    let journey = JOURNEYS[(index / 40 + user) % JOURNEYS.len()].0;
    let at_ms = SENT_AT_MS + 60_000 + (index as i64) * 1_000;

    let event = match index % 40 {
        0..=5 => journey_send(user, journey),
        6..=11 => journey_email("send", user, journey, SENT_AT_MS),
        12..=17 => journey_email("delivered", user, journey, SENT_AT_MS + 2_000),
        18..=23 => journey_email("open", user, journey, at_ms),
        24..=27 => journey_email("click", user, journey, at_ms),
        28..=29 => campaign_open(user, at_ms),
        30..=32 => app_event("checkout_completed", user, at_ms),
        33..=35 => app_event("_session.start", user, at_ms),
        36..=37 => sms_success(user),
        38 => app_event("_monetization.purchase", user, at_ms),
        _ => return malformed(index / 40),
    };
    event.to_string().into_bytes()
}

fn envelope(event_type: &str, user: usize, sent_ms: i64, arrival_ms: i64) -> Value {
    json!({
        "event_type": event_type,
        "event_timestamp": sent_ms,
        "arrival_timestamp": arrival_ms,
        "event_version": "3.1",
        "application": {"app_id": APP_ID, "sdk": {}},
        "client": {"client_id": endpoint_id(user)},
        "device": {"platform": {}},
        "session": {},
        "awsAccountId": "246813579024",
    })
}

fn journey_send(user: usize, journey: &str) -> Value {
    let mut event = envelope("_journey.send", user, SENT_AT_MS, SENT_AT_MS);
    event["attributes"] = json!({
        "journey_run_id": "a4b3c2d1e0f94e8d7c6b5a4938271605",
        "journey_send_status": "SUCCESS",
        "journey_id": journey,
        "journey_activity_id": "Qm4tRz8LpW",
        "journey_activity_type": "EMAIL",
        "journey_send_status_message": "200",
        "journey_send_status_code": "200",
    });
    event["client_context"] = json!({"custom": {"endpoint": format!(
        "{{\"ChannelType\":\"EMAIL\",\"EndpointStatus\":\"ACTIVE\",\"OptOut\":\"NONE\",\"User\":{{\"UserId\":\"{0}\",\"UserAttributes\":{{\"username\":[\"{0}\"]}}}}}}",
        username(user)
    )}});
    event
}

fn mail(user: usize) -> Value {
    let address = format!("{}@example.com", username(user));
    json!({
        "message_id": "010f0195940a1b2c-3d4e5f60-7a8b-4c9d-0e1f-2a3b4c5d6e7f-000000",
        "message_send_timestamp": SENT_AT_MS,
        "from_address": "journeys@mail.example.com",
        "destination": [address],
        "headers_truncated": false,
        "headers": [{"name": "Subject", "value": "Your spring checklist"}],
        "common_headers": {
            "from": "journeys@mail.example.com",
            "to": [address],
            "subject": "Your spring checklist",
        },
    })
}

fn journey_email(kind: &str, user: usize, journey: &str, arrival_ms: i64) -> Value {
    let mut event = envelope(&format!("_email.{kind}"), user, SENT_AT_MS, arrival_ms);
    event["attributes"] = json!({
        "journey_run_id": "a4b3c2d1e0f94e8d7c6b5a4938271605",
        "feedback": if kind == "click" { "https://shop.example.com/spring" } else { "opened" },
        "journey_id": journey,
        "journey_activity_id": "Qm4tRz8LpW",
    });
    event["client_context"] = json!({"custom": {"legacy_identifier": APP_ID}});
    let mut mail_event = json!({"mail": mail(user)});
    match kind {
        "open" => {
            mail_event["open"] =
                json!({"ip_address": "198.51.100.23", "user_agent": "ExampleMail/4.2"})
        }
        "click" => {
            mail_event["click"] = json!({
                "ip_address": "198.51.100.24",
                "user_agent": "ExampleMail/4.2",
                "link": "https://shop.example.com/spring",
            })
        }
        "delivered" => {
            mail_event["delivery"] = json!({
                "smtp_response": "250 2.0.0 OK",
                "reporting_mta": "a8-12.smtp-out.example.com",
                "recipients": [format!("{}@example.com", username(user))],
                "processing_time_millis": 1520,
            })
        }
        _ => {}
    }
    event["facets"] = json!({"email_channel": {"mail_event": mail_event}});
    event
}

fn campaign_open(user: usize, arrival_ms: i64) -> Value {
    let mut event = envelope("_email.open", user, SENT_AT_MS, arrival_ms);
    event["attributes"] = json!({
        "treatment_id": "0",
        "campaign_activity_id": "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b",
        "feedback": "opened",
        "campaign_id": "3c5e7a9b1d2f4e6a8c0b2d4f6a8c0e1b",
    });
    event["facets"] = json!({"email_channel": {"mail_event": {"mail": mail(user)}}});
    event
}

fn app_event(event_type: &str, user: usize, at_ms: i64) -> Value {
    let mut event = envelope(event_type, user, at_ms, at_ms + 900);
    event["application"] = json!({
        "app_id": APP_ID,
        "package_name": "shop-web",
        "sdk": {"name": "aws-amplify", "version": "6.x"},
        "title": "Example Shop",
        "version_name": "2.4.0",
    });
    event["device"] = json!({
        "locale": {"code": "en_US", "country": "US", "language": "en"},
        "make": "generic web browser",
        "model": "Firefox",
        "platform": {"name": "web", "version": "128.0"},
    });
    event["session"] = json!({"session_id": "1f8e2d7c-4b6a-4c09-8e5d-3a2b1c0d9e8f", "start_timestamp": at_ms - 160_000});
    event["attributes"] =
        json!({"cart_id": "cart-55821", "campaign": "Spring reactivation", "currency": "USD"});
    event["metrics"] = json!({"order_total": 84.5, "item_count": 3});
    event
}

fn sms_success(user: usize) -> Value {
    let mut event = envelope("_SMS.SUCCESS", user, SENT_AT_MS, SENT_AT_MS + 3_000);
    event["attributes"] = json!({
        "sender_request_id": "e2b0c1d4-5f6a-4b7c-8d9e-0f1a2b3c4d5e",
        "destination_phone_number": "+15555550100",
        "record_status": "DELIVERED",
        "iso_country_code": "US",
        "message_type": "Transactional",
        "number_of_message_parts": "1",
    });
    event["metrics"] = json!({"price_in_millicents_usd": 645.0});
    event
}

fn malformed(round: usize) -> Vec<u8> {
    match round % 3 {
        0 => br#"{"event_type":"_email.open","event_timestamp":17170"#.to_vec(),
        1 => vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'],
        _ => b"[1,2,3]".to_vec(),
    }
}
