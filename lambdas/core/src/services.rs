//! The services that attribution needs, as traits, and how their failures are classified.
//!
//! The function crates implement these traits over the AWS SDK clients; tests and local
//! replays can implement them over files or memory. Nothing here calls AWS.

use std::future::Future;

use crate::attribution::{ConditionalPut, Item};
use crate::directory::EndpointUser;

/// The effect of a failed service call on the record that needed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A retry can succeed: throttling, a 5xx, a network failure or timeout, or a deployment
    /// problem that an operator can fix (missing table, denied access). The record is
    /// reported so the stream delivers it again.
    Retryable,
    /// The resource that the record names does not exist (endpoint, journey, user). The
    /// record is skipped.
    NotFound,
    /// The service rejected this record's request; a retry would be rejected too. The record
    /// is skipped.
    Rejected,
}

/// A failed service call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct ServiceError {
    /// The API operation, e.g. `PutItem`.
    pub operation: &'static str,
    pub kind: FailureKind,
    /// The service's error code and message; never a username or address.
    pub message: String,
}

impl ServiceError {
    /// Builds an error whose kind follows from the HTTP status and the error code.
    pub fn classified(
        operation: &'static str,
        status: Option<u16>,
        code: Option<&str>,
        message: impl Into<String>,
    ) -> ServiceError {
        ServiceError {
            operation,
            kind: classify_failure(status, code),
            message: message.into(),
        }
    }
}

/// Error codes that mean "slow down" although some services send them with a 400 status.
const THROTTLING_CODES: [&str; 6] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "LimitExceededException",
];

/// Error codes that name a missing resource of the record: an endpoint or journey in
/// Pinpoint (`NotFoundException`) or a user in Cognito (`UserNotFoundException`).
const NOT_FOUND_CODES: [&str; 2] = ["NotFoundException", "UserNotFoundException"];

/// Error codes of a broken deployment: retrying after an operator fixes it succeeds, and
/// skipping would lose the record.
const DEPLOYMENT_CODES: [&str; 11] = [
    "ResourceNotFoundException",
    "AccessDeniedException",
    "AccessDenied",
    "ForbiddenException",
    "NotAuthorizedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
];

/// Classifies a failure by HTTP status and error code.
///
/// No status means no response arrived (network failure, timeout), which is retryable.
pub fn classify_failure(status: Option<u16>, code: Option<&str>) -> FailureKind {
    if let Some(code) = code {
        if THROTTLING_CODES.contains(&code) || DEPLOYMENT_CODES.contains(&code) {
            return FailureKind::Retryable;
        }
        if NOT_FOUND_CODES.contains(&code) {
            return FailureKind::NotFound;
        }
    }

    match status {
        None => FailureKind::Retryable,
        Some(429) => FailureKind::Retryable,
        Some(status) if status >= 500 => FailureKind::Retryable,
        Some(_) => FailureKind::Rejected,
    }
}

/// Looks up users and journeys in the messaging service (Pinpoint, or an export of it).
pub trait Directory {
    /// Returns the user of an endpoint; a missing endpoint is a [`FailureKind::NotFound`].
    fn endpoint_user(
        &self,
        app_id: &str,
        endpoint_id: &str,
    ) -> impl Future<Output = Result<EndpointUser, ServiceError>> + Send;

    /// Returns a journey's name; a missing journey is a [`FailureKind::NotFound`].
    fn journey_name(
        &self,
        app_id: &str,
        journey_id: &str,
    ) -> impl Future<Output = Result<String, ServiceError>> + Send;
}

/// What a conditional write did.
#[derive(Debug, Clone, PartialEq)]
pub enum PutResult {
    /// The item was written; `previous` is the item it replaced.
    Written { previous: Option<Item> },
    /// The condition failed; `current` is the stored item that made it fail.
    Rejected { current: Option<Item> },
}

/// Writes attribution items (DynamoDB `PutItem`).
pub trait AttributionWriter {
    /// Writes the item if the condition holds, returning the replaced or blocking item.
    fn put(
        &self,
        put: &ConditionalPut,
    ) -> impl Future<Output = Result<PutResult, ServiceError>> + Send;
}

/// Reads attribution items (DynamoDB `GetItem` with a consistent read).
pub trait AttributionReader {
    /// Returns the user's stored item, reading the latest write.
    fn get(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Item>, ServiceError>> + Send;
}

/// Writes a user attribute in the user pool (Cognito `AdminUpdateUserAttributes`).
pub trait UserPool {
    /// Sets `name` (e.g. `custom:campaign`) to `value`; an empty value blanks it. A user
    /// missing from the pool is a [`FailureKind::NotFound`].
    fn set_attribute(
        &self,
        username: &str,
        name: &str,
        value: &str,
    ) -> impl Future<Output = Result<(), ServiceError>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_is_retryable_whatever_status() {
        for code in [
            "ThrottlingException",
            "TooManyRequestsException",
            "ProvisionedThroughputExceededException",
        ] {
            assert_eq!(
                classify_failure(Some(400), Some(code)),
                FailureKind::Retryable,
                "{code}"
            );
        }
    }

    #[test]
    fn server_errors_and_no_response_are_retryable() {
        assert_eq!(classify_failure(Some(500), None), FailureKind::Retryable);
        assert_eq!(
            classify_failure(Some(503), Some("ServiceUnavailable")),
            FailureKind::Retryable
        );
        assert_eq!(classify_failure(Some(429), None), FailureKind::Retryable);
        assert_eq!(classify_failure(None, None), FailureKind::Retryable);
    }

    #[test]
    fn missing_record_resources_are_not_found() {
        assert_eq!(
            classify_failure(Some(404), Some("NotFoundException")),
            FailureKind::NotFound
        );
        assert_eq!(
            classify_failure(Some(400), Some("UserNotFoundException")),
            FailureKind::NotFound
        );
    }

    #[test]
    fn deployment_errors_are_retryable() {
        assert_eq!(
            classify_failure(Some(400), Some("ResourceNotFoundException")),
            FailureKind::Retryable
        );
        assert_eq!(
            classify_failure(Some(403), Some("AccessDeniedException")),
            FailureKind::Retryable
        );
    }

    #[test]
    fn other_client_errors_are_rejected() {
        assert_eq!(
            classify_failure(Some(400), Some("ValidationException")),
            FailureKind::Rejected
        );
        assert_eq!(
            classify_failure(Some(400), Some("InvalidParameterException")),
            FailureKind::Rejected
        );
        assert_eq!(classify_failure(Some(404), None), FailureKind::Rejected);
    }

    #[test]
    fn error_message_names_operation() {
        let error = ServiceError::classified("PutItem", Some(500), None, "InternalServerError");

        assert_eq!(error.kind, FailureKind::Retryable);
        assert_eq!(error.to_string(), "PutItem failed: InternalServerError");
    }
}
