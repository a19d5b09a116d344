//! Resources outside the stack: the Cognito custom attribute and the Pinpoint event stream.
//!
//! Both resources belong to services that exist before the stack (the user pool and the
//! Pinpoint application), so the deployer manages them through the SDKs.

use aws_sdk_cognitoidentityprovider::types::{
    AttributeDataType, SchemaAttributeType, StringAttributeConstraintsType,
};
use aws_sdk_pinpoint::types::WriteEventStream;
use serde::Serialize;

use crate::aws::{AwsError, Clients};

/// Maximum length Cognito allows for a custom attribute value.
const ATTRIBUTE_MAX_LENGTH: &str = "2048";

#[derive(Debug, thiserror::Error)]
pub enum WiringError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(
        "Pinpoint application {app_id} not found in {region}; check pinpoint_app_id of application {application}"
    )]
    AppNotFound {
        application: String,
        app_id: String,
        region: String,
    },
    #[error(
        "Cognito user pool {pool_id} not found in {region}; check user_pool_id of application {application}"
    )]
    PoolNotFound {
        application: String,
        pool_id: String,
        region: String,
    },
    #[error(
        "user pool {pool_id} already has custom:{attribute}, but it is {problem}, so the functions cannot write it; Cognito attributes cannot be changed, so set campaign_attribute to a new name"
    )]
    UnusableAttribute {
        pool_id: String,
        attribute: String,
        problem: &'static str,
    },
}

/// The custom attribute as the user pool defines it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AttributeState {
    Present,
    Missing,
}

/// Destination and role of a Pinpoint application's event stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventStreamTarget {
    pub destination_arn: String,
    pub role_arn: String,
}

/// Fails unless the Pinpoint application exists.
pub async fn check_pinpoint_app(
    clients: &Clients,
    application: &str,
    app_id: &str,
    region: &str,
) -> Result<(), WiringError> {
    match clients
        .pinpoint
        .get_app()
        .application_id(app_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Err(WiringError::AppNotFound {
                application: application.to_owned(),
                app_id: app_id.to_owned(),
                region: region.to_owned(),
            })
        }
        Err(error) => Err(AwsError::new("GetApp", app_id, error).into()),
    }
}

/// Reads whether the user pool has `custom:<attribute>` in a form the functions can write.
pub async fn read_campaign_attribute(
    clients: &Clients,
    application: &str,
    pool_id: &str,
    attribute: &str,
    region: &str,
) -> Result<AttributeState, WiringError> {
    let response = match clients
        .cognito
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
    {
        Ok(response) => response,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            return Err(WiringError::PoolNotFound {
                application: application.to_owned(),
                pool_id: pool_id.to_owned(),
                region: region.to_owned(),
            });
        }
        Err(error) => return Err(AwsError::new("DescribeUserPool", pool_id, error).into()),
    };

    let full_name = format!("custom:{attribute}");
    let schema = response
        .user_pool()
        .map(|pool| pool.schema_attributes())
        .unwrap_or_default();
    let Some(found) = schema
        .iter()
        .find(|item| item.name() == Some(full_name.as_str()))
    else {
        return Ok(AttributeState::Missing);
    };

    let problem = if found.mutable() == Some(false) {
        Some("immutable")
    } else if found
        .attribute_data_type()
        .is_some_and(|data_type| *data_type != AttributeDataType::String)
    {
        Some("not a String attribute")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(WiringError::UnusableAttribute {
            pool_id: pool_id.to_owned(),
            attribute: attribute.to_owned(),
            problem,
        }),
        None => Ok(AttributeState::Present),
    }
}

/// Adds the mutable String attribute `custom:<attribute>` to the user pool.
///
/// Cognito can never remove a custom attribute again, so destroy leaves it in place.
pub async fn add_campaign_attribute(
    clients: &Clients,
    pool_id: &str,
    attribute: &str,
) -> Result<AttributeAdded, AwsError> {
    let definition = SchemaAttributeType::builder()
        .name(attribute)
        .attribute_data_type(AttributeDataType::String)
        .mutable(true)
        .string_attribute_constraints(
            StringAttributeConstraintsType::builder()
                .min_length("0")
                .max_length(ATTRIBUTE_MAX_LENGTH)
                .build(),
        )
        .build();
    let added = clients
        .cognito
        .add_custom_attributes()
        .user_pool_id(pool_id)
        .custom_attributes(definition)
        .send()
        .await;
    match added {
        Ok(_) => Ok(AttributeAdded::Added),
        // Applications that share a pool run concurrently, so another one may have added the
        // attribute since it was read; Cognito then rejects the duplicate name.
        Err(error)
            if error.as_service_error().is_some_and(|e| {
                e.is_invalid_parameter_exception()
                    && e.meta()
                        .message()
                        .is_some_and(|m| m.contains("already has name"))
            }) =>
        {
            Ok(AttributeAdded::AlreadyPresent)
        }
        Err(error) => Err(AwsError::new("AddCustomAttributes", pool_id, error)),
    }
}

/// Result of [`add_campaign_attribute`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeAdded {
    Added,
    /// Someone else added it first (another application of the run sharing the pool).
    AlreadyPresent,
}

/// Reads the application's event stream; `None` when it has none.
pub async fn read_event_stream(
    clients: &Clients,
    app_id: &str,
) -> Result<Option<EventStreamTarget>, AwsError> {
    match clients
        .pinpoint
        .get_event_stream()
        .application_id(app_id)
        .send()
        .await
    {
        Ok(response) => Ok(response.event_stream().map(|stream| EventStreamTarget {
            destination_arn: stream
                .destination_stream_arn()
                .unwrap_or_default()
                .to_owned(),
            role_arn: stream.role_arn().unwrap_or_default().to_owned(),
        })),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(error) => Err(AwsError::new("GetEventStream", app_id, error)),
    }
}

/// Points the application's event stream at `target`, replacing any previous destination.
pub async fn put_event_stream(
    clients: &Clients,
    app_id: &str,
    target: &EventStreamTarget,
) -> Result<(), AwsError> {
    let write = WriteEventStream::builder()
        .destination_stream_arn(&target.destination_arn)
        .role_arn(&target.role_arn)
        .build();
    clients
        .pinpoint
        .put_event_stream()
        .application_id(app_id)
        .write_event_stream(write)
        .send()
        .await
        .map_err(|error| AwsError::new("PutEventStream", app_id, error))?;
    Ok(())
}

/// Removes the application's event stream.
pub async fn delete_event_stream(clients: &Clients, app_id: &str) -> Result<(), AwsError> {
    clients
        .pinpoint
        .delete_event_stream()
        .application_id(app_id)
        .send()
        .await
        .map_err(|error| AwsError::new("DeleteEventStream", app_id, error))?;
    Ok(())
}
