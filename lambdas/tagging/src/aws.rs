//! The core's service traits over the AWS SDK clients: DynamoDB, Cognito and Pinpoint.
//!
//! Every call goes through [`bounded`], so that the SDK's retries stop at the invocation's
//! deadline.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use attribution_core::quota::UpdateLimiter;
use attribution_core::{
    AttributeValue, AttributionWriter, ConditionalPut, Directory, EndpointUser, FailureKind, Item,
    PutResult, ServiceError, UserPool,
};
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue as SdkValue, ReturnValue, ReturnValuesOnConditionCheckFailure,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::retry::bounded;

/// How long a looked-up endpoint user or journey name is reused by a warm instance.
///
/// An endpoint can be reassigned to another user; a short lifetime bounds how long a stale
/// mapping is used.
pub const CACHE_TTL: Duration = Duration::from_secs(15 * 60);

/// Most entries a cache holds; it is emptied when full, which bounds a warm instance's memory.
pub const CACHE_CAPACITY: usize = 10_000;

/// Converts an SDK error into the core's classified error, keeping only the error code and
/// the service's message (neither contains request data).
pub fn service_error<E>(operation: &'static str, error: &SdkError<E, HttpResponse>) -> ServiceError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    if let SdkError::ConstructionFailure(_) = error {
        return ServiceError {
            operation,
            kind: FailureKind::Rejected,
            message: format!("request could not be built: {}", DisplayErrorContext(error)),
        };
    }

    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    let message = match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_owned(),
        _ => DisplayErrorContext(error).to_string(),
    };
    ServiceError::classified(operation, status, error.code(), message)
}

/// Converts a core item into an SDK item.
pub fn to_sdk_item(item: &Item) -> HashMap<String, SdkValue> {
    item.iter()
        .map(|(name, value)| (name.clone(), to_sdk_value(value)))
        .collect()
}

fn to_sdk_value(value: &AttributeValue) -> SdkValue {
    match value {
        AttributeValue::S(text) => SdkValue::S(text.clone()),
        AttributeValue::N(number) => SdkValue::N(number.clone()),
        AttributeValue::Bool(flag) => SdkValue::Bool(*flag),
    }
}

/// Converts an SDK item into a core item; attribute types that attribution items do not use
/// are left out.
pub fn from_sdk_item(item: &HashMap<String, SdkValue>) -> Item {
    item.iter()
        .filter_map(|(name, value)| {
            let value = match value {
                SdkValue::S(text) => AttributeValue::S(text.clone()),
                SdkValue::N(number) => AttributeValue::N(number.clone()),
                SdkValue::Bool(flag) => AttributeValue::Bool(*flag),
                _ => return None,
            };
            Some((name.clone(), value))
        })
        .collect()
}

/// The attribution table.
#[derive(Debug, Clone)]
pub struct DynamoTable {
    client: aws_sdk_dynamodb::Client,
    table_name: String,
}

impl DynamoTable {
    pub fn new(client: aws_sdk_dynamodb::Client, table_name: impl Into<String>) -> DynamoTable {
        DynamoTable {
            client,
            table_name: table_name.into(),
        }
    }
}

impl AttributionWriter for DynamoTable {
    /// Sends `PutItem` with the old item returned on success and on a failed condition.
    async fn put(&self, put: &ConditionalPut) -> Result<PutResult, ServiceError> {
        let values = put
            .expression_attribute_values
            .iter()
            .map(|(name, value)| (name.clone(), to_sdk_value(value)))
            .collect();

        let request = self
            .client
            .put_item()
            .table_name(&self.table_name)
            .set_item(Some(to_sdk_item(&put.item)))
            .condition_expression(&put.condition_expression)
            .set_expression_attribute_names(Some(
                put.expression_attribute_names.clone().into_iter().collect(),
            ))
            .set_expression_attribute_values(Some(values))
            .return_values(ReturnValue::AllOld)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);

        bounded("PutItem", async {
            match request.send().await {
                Ok(output) => Ok(PutResult::Written {
                    previous: output.attributes().map(from_sdk_item),
                }),
                Err(error) => match error.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(failed)) => {
                        Ok(PutResult::Rejected {
                            current: failed.item().map(from_sdk_item),
                        })
                    }
                    _ => Err(service_error("PutItem", &error)),
                },
            }
        })
        .await
    }
}

/// The Cognito user pool whose users carry the campaign attribute.
#[derive(Debug, Clone)]
pub struct CognitoPool {
    client: aws_sdk_cognitoidentityprovider::Client,
    user_pool_id: String,
    /// Spaces the updates of this instance; `None` sends them as they come.
    limiter: Option<Arc<UpdateLimiter>>,
}

impl CognitoPool {
    pub fn new(
        client: aws_sdk_cognitoidentityprovider::Client,
        user_pool_id: impl Into<String>,
    ) -> CognitoPool {
        CognitoPool {
            client,
            user_pool_id: user_pool_id.into(),
            limiter: None,
        }
    }

    /// Limits this instance to `per_second` attribute updates per second.
    pub fn with_rate(mut self, per_second: NonZeroU32) -> CognitoPool {
        self.limiter = Some(Arc::new(UpdateLimiter::new(per_second)));
        self
    }

    async fn wait_for_rate(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.ready().await;
        }
    }
}

impl UserPool for CognitoPool {
    async fn set_attribute(
        &self,
        username: &str,
        name: &str,
        value: &str,
    ) -> Result<(), ServiceError> {
        let attribute = AttributeType::builder()
            .name(name)
            .value(value)
            .build()
            .map_err(|error| ServiceError {
                operation: "AdminUpdateUserAttributes",
                kind: FailureKind::Rejected,
                message: error.to_string(),
            })?;

        let request = self
            .client
            .admin_update_user_attributes()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .user_attributes(attribute);

        bounded("AdminUpdateUserAttributes", async {
            self.wait_for_rate().await;
            request
                .send()
                .await
                .map(|_| ())
                .map_err(|error| service_error("AdminUpdateUserAttributes", &error))
        })
        .await
    }
}

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

    #[test]
    fn items_convert_both_ways() {
        let item = Item::from([
            ("username".to_owned(), AttributeValue::S("user-a".into())),
            (
                "expires_at".to_owned(),
                AttributeValue::N("1719592000".into()),
            ),
            ("attribute_pending".to_owned(), AttributeValue::Bool(true)),
        ]);

        let sdk = to_sdk_item(&item);

        assert_eq!(sdk["expires_at"], SdkValue::N("1719592000".into()));
        assert_eq!(from_sdk_item(&sdk), item);
    }
}
