//! Fixtures and in-memory services for the core's batch tests.
//!
//! The fixtures under `tests/fixtures` are invented data in the shapes of Pinpoint's event
//! stream and of DynamoDB stream events:
//! - `f1_mixed_batch.jsonl`: eight events, one per line, for users a to h (see the mixed-batch tests);
//! - `endpoints.jsonl`: a Pinpoint endpoint export mapping their endpoints to `user-a` ..
//!   `user-h`, plus an endpoint without a user;
//! - `journeys.json`: journey ids to names;
//! - `f6_stream_event.json`: a DynamoDB stream event with five records for users p to t.
//!
//! The in-memory table applies the conditional writes by the rules they express
//! ([`Attribution::supersedes`] and [`Attribution::same_interaction`]). The function crates
//! test the real condition expressions against DynamoDB (moto).

#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;

use attribution_core::attribution::PENDING_ATTRIBUTE;
use attribution_core::contract::KEY_ATTRIBUTE;
use attribution_core::{
    AttributeValue, Attribution, AttributionReader, AttributionWriter, CampaignValue,
    ConditionalPut, EndpointExport, FailureKind, InputRecord, Item, PutResult, ServiceError,
    TaggingSettings, UserPool,
};

pub const APP_ID: &str = "7c1e4b9a2d5f48e09a3b6c8d1e2f4a5b";
pub const JOURNEY_SPRING: &str = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";
pub const JOURNEY_SUMMER: &str = "5b4a39281706f5e4d3c2b1a098f7e6d5";

/// `event_timestamp` (send time) of the mixed-batch events, in epoch milliseconds.
pub const SENT_AT_MS: i64 = 1_717_000_000_000;

/// Processing time used by the tests: one day after the fixtures' send time.
pub const NOW_MS: i64 = SENT_AT_MS + 86_400_000;

pub fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("read {path}: {error}"))
}

pub fn settings() -> TaggingSettings {
    TaggingSettings {
        table_name: "attribution-test".into(),
        user_pool_id: "eu-west-1_TestPool1".into(),
        pinpoint_app_id: APP_ID.into(),
        lookback_days: 30,
        interaction_events: vec!["_email.click".into(), "_email.open".into()],
        username_attribute: "username".into(),
        campaign_attribute: "campaign".into(),
        campaign_value: CampaignValue::JourneyName,
    }
}

pub fn directory() -> EndpointExport {
    let names: BTreeMap<String, String> = serde_json::from_str(&fixture("journeys.json")).unwrap();
    EndpointExport::from_json_lines(&fixture("endpoints.jsonl"))
        .unwrap()
        .with_journey_names(names)
}

pub fn endpoint_of(user: char) -> String {
    format!("5f0c2a7e-93b1-4d6a-8e2f-1b7c9d3e4a0{user}")
}

/// Returns the mixed-batch events as input records with ids `1` to `8`.
pub fn mixed_batch_records() -> Vec<InputRecord> {
    fixture("f1_mixed_batch.jsonl")
        .lines()
        .enumerate()
        .map(|(index, line)| record(&(index + 1).to_string(), line.as_bytes().to_vec()))
        .collect()
}

pub fn record(id: &str, payload: Vec<u8>) -> InputRecord {
    InputRecord {
        id: id.to_owned(),
        payload: Ok(payload),
    }
}

/// Builds a journey email event of `kind` (`open`, `click`, `send`) for `user` (a letter) at
/// `at_ms`.
pub fn journey_email(kind: &str, user: char, journey: &str, at_ms: i64) -> Vec<u8> {
    serde_json::json!({
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

fn retryable(operation: &'static str) -> ServiceError {
    ServiceError {
        operation,
        kind: FailureKind::Retryable,
        message: "InternalServerError: injected by the test".into(),
    }
}

/// An attribution table in memory.
#[derive(Default)]
pub struct MemoryTable {
    pub items: Mutex<HashMap<String, Item>>,
    /// Users whose attribution writes fail with a retryable error.
    pub failing_users: Mutex<HashSet<String>>,
    pub puts: Mutex<u32>,
}

impl MemoryTable {
    pub fn attribution(&self, username: &str) -> Option<Attribution> {
        let items = self.items.lock().unwrap();
        items
            .get(username)
            .map(|item| Attribution::from_item(item).unwrap())
    }

    /// Returns the stored attributions sorted by user, for comparing end states.
    pub fn settled_state(&self) -> Vec<(String, Attribution)> {
        let items = self.items.lock().unwrap();
        let mut state: Vec<(String, Attribution)> = items
            .iter()
            .map(|(user, item)| (user.clone(), Attribution::from_item(item).unwrap()))
            .collect();
        state.sort_by(|left, right| left.0.cmp(&right.0));
        state
    }

    pub fn insert(&self, attribution: &Attribution) {
        self.items
            .lock()
            .unwrap()
            .insert(attribution.username.clone(), attribution.to_item());
    }

    fn condition_holds(put: &ConditionalPut, stored: Option<&Item>) -> bool {
        let new = Attribution::from_item(&put.item).unwrap();
        let stored = stored.map(|item| Attribution::from_item(item).unwrap());
        let is_attribution_put = put.expression_attribute_names.contains_key("#user");

        match (is_attribution_put, stored) {
            (true, None) => true,
            (true, Some(stored)) => new.supersedes(&stored),
            (false, None) => false,
            (false, Some(stored)) => stored.same_interaction(&new),
        }
    }
}

impl AttributionWriter for MemoryTable {
    async fn put(&self, put: &ConditionalPut) -> Result<PutResult, ServiceError> {
        *self.puts.lock().unwrap() += 1;
        let Some(AttributeValue::S(username)) = put.item.get(KEY_ATTRIBUTE) else {
            panic!("item without key: {put:?}");
        };
        let is_new_attribution = put.item.contains_key(PENDING_ATTRIBUTE);
        if is_new_attribution && self.failing_users.lock().unwrap().contains(username) {
            return Err(retryable("PutItem"));
        }

        let mut items = self.items.lock().unwrap();
        let stored = items.get(username).cloned();
        if !Self::condition_holds(put, stored.as_ref()) {
            return Ok(PutResult::Rejected { current: stored });
        }
        items.insert(username.clone(), put.item.clone());
        Ok(PutResult::Written { previous: stored })
    }
}

impl AttributionReader for MemoryTable {
    async fn get(&self, username: &str) -> Result<Option<Item>, ServiceError> {
        if self.failing_users.lock().unwrap().contains(username) {
            return Err(retryable("GetItem"));
        }
        Ok(self.items.lock().unwrap().get(username).cloned())
    }
}

/// A user pool in memory that records every attribute write.
#[derive(Default)]
pub struct MemoryPool {
    pub users: Mutex<HashMap<String, BTreeMap<String, String>>>,
    pub updates: Mutex<Vec<(String, String, String)>>,
    /// Users whose writes fail with a retryable error.
    pub failing_users: Mutex<HashSet<String>>,
}

impl MemoryPool {
    pub fn with_users(names: impl IntoIterator<Item = String>) -> MemoryPool {
        let pool = MemoryPool::default();
        pool.users
            .lock()
            .unwrap()
            .extend(names.into_iter().map(|name| (name, BTreeMap::new())));
        pool
    }

    /// Users `user-<letter>` for each letter.
    pub fn with_letters(letters: &str) -> MemoryPool {
        MemoryPool::with_users(letters.chars().map(|letter| format!("user-{letter}")))
    }

    pub fn value(&self, username: &str, attribute: &str) -> Option<String> {
        self.users
            .lock()
            .unwrap()
            .get(username)?
            .get(attribute)
            .cloned()
    }

    pub fn update_count(&self) -> usize {
        self.updates.lock().unwrap().len()
    }

    pub fn updates_for(&self, username: &str) -> usize {
        let updates = self.updates.lock().unwrap();
        updates
            .iter()
            .filter(|(user, _, _)| user == username)
            .count()
    }

    pub fn state(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let users = self.users.lock().unwrap();
        let mut state: Vec<_> = users
            .iter()
            .map(|(user, attributes)| (user.clone(), attributes.clone()))
            .collect();
        state.sort();
        state
    }
}

impl UserPool for MemoryPool {
    async fn set_attribute(
        &self,
        username: &str,
        name: &str,
        value: &str,
    ) -> Result<(), ServiceError> {
        if self.failing_users.lock().unwrap().contains(username) {
            return Err(retryable("AdminUpdateUserAttributes"));
        }

        let mut users = self.users.lock().unwrap();
        let Some(attributes) = users.get_mut(username) else {
            return Err(ServiceError {
                operation: "AdminUpdateUserAttributes",
                kind: FailureKind::NotFound,
                message: "UserNotFoundException: User does not exist.".into(),
            });
        };
        attributes.insert(name.to_owned(), value.to_owned());
        self.updates
            .lock()
            .unwrap()
            .push((username.to_owned(), name.to_owned(), value.to_owned()));
        Ok(())
    }
}
