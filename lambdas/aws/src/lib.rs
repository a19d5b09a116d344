//! The core's service traits over the AWS SDK clients, shared by both functions: the
//! attribution table in DynamoDB and the user pool in Cognito, plus the SDK retry settings.
//!
//! Every call goes through [`bounded`], so that the SDK's retries stop at the invocation's
//! deadline.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use attribution_core::budget::{INITIAL_BACKOFF, MAX_ATTEMPTS, MAX_BACKOFF, bounded};
use attribution_core::contract::KEY_ATTRIBUTE;
use attribution_core::quota::UpdateLimiter;
use attribution_core::{
    AttributeValue, AttributionReader, AttributionWriter, ConditionalPut, FailureKind, Item,
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
use aws_smithy_types::retry::RetryConfig;

/// Returns the SDK retry settings of the functions' clients.
///
/// The SDK retries throttling errors, 5xx responses and network failures: standard mode,
/// exponential backoff with full jitter, capped at [`MAX_BACKOFF`].
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(INITIAL_BACKOFF)
        .with_max_backoff(MAX_BACKOFF)
}

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

/// The attribution table: conditional writes for the tagging function, strongly consistent
/// reads for the expiration function.
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

impl AttributionReader for DynamoTable {
    /// Sends a consistent `GetItem`, so a write that finished before the call is seen.
    async fn get(&self, username: &str) -> Result<Option<Item>, ServiceError> {
        let request = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .key(KEY_ATTRIBUTE, SdkValue::S(username.to_owned()))
            .consistent_read(true);
        let output = bounded("GetItem", async {
            request
                .send()
                .await
                .map_err(|error| service_error("GetItem", &error))
        })
        .await?;

        Ok(output.item().map(from_sdk_item))
    }
}

/// The Cognito user pool whose users carry the campaign attribute.
///
/// Blanking writes an empty value with `AdminUpdateUserAttributes` rather than calling
/// `AdminDeleteUserAttributes`, because the update is idempotent: a redelivered deletion
/// record succeeds again. moto 5.2.6 stores the empty string and rejects deleting an attribute
/// the user no longer has (`InvalidParameterException`).
/// NOTE: Cognito is reported to drop an attribute updated to an empty string, but its API
/// reference does not say so; either way the app reads no campaign.
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

#[cfg(test)]
mod tests {
    use super::*;

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
