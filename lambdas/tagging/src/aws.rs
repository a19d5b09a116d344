//! The core's directory trait over Pinpoint's SDK client. The table and user pool adapters
//! come from `attribution_aws`, shared with the expiration function.
//!
//! Every call goes through [`bounded`], so that the SDK's retries stop at the invocation's
//! deadline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub use attribution_aws::{
    CognitoPool, DynamoTable, from_sdk_item, retry_config, service_error, to_sdk_item,
};
use attribution_core::{Directory, EndpointUser, FailureKind, ServiceError};

use crate::retry::bounded;

/// How long a looked-up endpoint user or journey name is reused by a warm instance.
///
/// An endpoint can be reassigned to another user; a short lifetime bounds how long a stale
/// mapping is used.
pub const CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// Most entries a cache holds; it is emptied when full, which bounds a warm instance's memory.
pub const CACHE_CAPACITY: usize = 10_000;

/// Pinpoint's endpoint and journey APIs, with lookups cached per warm instance.
#[derive(Debug)]
pub struct PinpointDirectory {
    client: aws_sdk_pinpoint::Client,
    endpoints: TtlCache<EndpointUser>,
    journeys: TtlCache<String>,
}

impl PinpointDirectory {
    pub fn new(client: aws_sdk_pinpoint::Client) -> PinpointDirectory {
        PinpointDirectory {
            client,
            endpoints: TtlCache::new(CACHE_TTL, CACHE_CAPACITY),
            journeys: TtlCache::new(CACHE_TTL, CACHE_CAPACITY),
        }
    }

    async fn fetch_endpoint_user(
        &self,
        app_id: &str,
        endpoint_id: &str,
    ) -> Result<EndpointUser, ServiceError> {
        let request = self
            .client
            .get_endpoint()
            .application_id(app_id)
            .endpoint_id(endpoint_id);
        let output = bounded("GetEndpoint", async {
            request
                .send()
                .await
                .map_err(|error| service_error("GetEndpoint", &error))
        })
        .await?;

        let user = output
            .endpoint_response()
            .and_then(|endpoint| endpoint.user());
        Ok(EndpointUser {
            user_id: user.and_then(|user| user.user_id()).map(str::to_owned),
            user_attributes: user
                .and_then(|user| user.user_attributes())
                .map(|attributes| attributes.clone().into_iter().collect())
                .unwrap_or_default(),
        })
    }

    async fn fetch_journey_name(
        &self,
        app_id: &str,
        journey_id: &str,
    ) -> Result<String, ServiceError> {
        let request = self
            .client
            .get_journey()
            .application_id(app_id)
            .journey_id(journey_id);
        let output = bounded("GetJourney", async {
            request
                .send()
                .await
                .map_err(|error| service_error("GetJourney", &error))
        })
        .await?;

        output
            .journey_response()
            .and_then(|journey| journey.name())
            .filter(|name| !name.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| ServiceError {
                operation: "GetJourney",
                kind: FailureKind::NotFound,
                message: "the journey has no name".to_owned(),
            })
    }
}

impl Directory for PinpointDirectory {
    async fn endpoint_user(
        &self,
        app_id: &str,
        endpoint_id: &str,
    ) -> Result<EndpointUser, ServiceError> {
        let key = format!("{app_id}/{endpoint_id}");
        if let Some(user) = self.endpoints.get(&key) {
            return Ok(user);
        }

        let user = self.fetch_endpoint_user(app_id, endpoint_id).await?;
        self.endpoints.insert(key, user.clone());
        Ok(user)
    }

    async fn journey_name(&self, app_id: &str, journey_id: &str) -> Result<String, ServiceError> {
        let key = format!("{app_id}/{journey_id}");
        if let Some(name) = self.journeys.get(&key) {
            return Ok(name);
        }

        let name = self.fetch_journey_name(app_id, journey_id).await?;
        self.journeys.insert(key, name.clone());
        Ok(name)
    }
}

/// A small map whose entries expire after a fixed time.
#[derive(Debug)]
pub struct TtlCache<V> {
    entries: Mutex<HashMap<String, (Instant, V)>>,
    ttl: Duration,
    capacity: usize,
}

impl<V: Clone> TtlCache<V> {
    pub fn new(ttl: Duration, capacity: usize) -> TtlCache<V> {
        TtlCache {
            entries: Mutex::new(HashMap::new()),
            ttl,
            capacity,
        }
    }

    /// Returns the entry if it is younger than the cache's lifetime.
    pub fn get(&self, key: &str) -> Option<V> {
        let entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        entries
            .get(key)
            .filter(|(stored_at, _)| stored_at.elapsed() < self.ttl)
            .map(|(_, value)| value.clone())
    }

    /// Stores an entry, emptying the cache first when it is full.
    pub fn insert(&self, key: String, value: V) {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(key, (Instant::now(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_returns_fresh_entries() {
        let cache = TtlCache::new(Duration::from_secs(60), 10);
        cache.insert("a".into(), 1);

        assert_eq!(cache.get("a"), Some(1));
        assert_eq!(cache.get("b"), None);
    }

    #[test]
    fn cache_drops_expired_entries() {
        let cache = TtlCache::new(Duration::ZERO, 10);
        cache.insert("a".into(), 1);

        assert_eq!(cache.get("a"), None);
    }

    #[test]
    fn full_cache_starts_over() {
        let cache = TtlCache::new(Duration::from_secs(60), 2);
        cache.insert("a".into(), 1);
        cache.insert("b".into(), 2);
        cache.insert("c".into(), 3);

        assert_eq!(cache.get("a"), None);
        assert_eq!(cache.get("c"), Some(3));
    }
}
