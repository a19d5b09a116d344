//! Feeds arbitrary bytes to the record decoder and the classifier, as a Kinesis record's data
//! and as its base64 text. Neither may panic, whatever the input; libFuzzer reports a panic
//! as a crash and keeps the input under `artifacts/decode/`.

#![no_main]

use attribution_core::classify::classify;
use attribution_core::decode::{decode_base64, decode_event};
use attribution_core::{CampaignValue, TaggingSettings};
use libfuzzer_sys::fuzz_target;

/// The application id of the seed records, so that seeds reach the classifier's later checks.
const APP_ID: &str = "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b";

fn settings() -> TaggingSettings {
    TaggingSettings {
        table_name: "attribution-fuzz".into(),
        user_pool_id: "eu-west-1_Fuzz1".into(),
        pinpoint_app_id: APP_ID.into(),
        lookback_days: 365,
        interaction_events: vec![
            "_email.click".into(),
            "_email.open".into(),
            "_journey.send".into(),
        ],
        username_attribute: "username".into(),
        campaign_attribute: "campaign".into(),
        campaign_value: CampaignValue::JourneyName,
    }
}

/// Decodes and classifies one payload, and checks what a classified interaction promises.
fn check(payload: &[u8], settings: &TaggingSettings) {
    let Ok(event) = decode_event(payload) else {
        return;
    };
    let _ = event.has_known_version();

    if let Ok(interaction) = classify(&event, settings) {
        assert!(!interaction.journey_id.is_empty());
        assert!(!interaction.endpoint_id.is_empty());
        assert!(interaction.interacted_at_ms >= 0);
    }
}

fuzz_target!(|data: &[u8]| {
    let settings = settings();

    check(data, &settings);

    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(payload) = decode_base64(text)
    {
        check(&payload, &settings);
    }
});
