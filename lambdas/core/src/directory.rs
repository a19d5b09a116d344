//! Endpoint users, and a directory of them read from a Pinpoint endpoint export.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::event::lenient;
use crate::services::{Directory, FailureKind, ServiceError};

/// The `User` object of a Pinpoint endpoint.
///
/// The same shape appears in `GetEndpoint` responses, endpoint export files and the endpoints
/// of a custom-channel invocation. Attribute values are lists of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "PascalCase")]
pub struct EndpointUser {
    #[serde(deserialize_with = "lenient::string")]
    pub user_id: Option<String>,
    #[serde(deserialize_with = "lenient::string_list_map")]
    pub user_attributes: BTreeMap<String, Vec<String>>,
}

impl EndpointUser {
    /// Returns the first non-blank value of `attribute`, e.g. the Cognito username.
    pub fn attribute(&self, attribute: &str) -> Option<&str> {
        self.user_attributes
            .get(attribute)?
            .iter()
            .map(|value| value.trim())
            .find(|value| !value.is_empty())
    }
}

/// One line of a Pinpoint endpoint export.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ExportedEndpoint {
    id: String,
    #[serde(default)]
    application_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::object")]
    user: EndpointUser,
}

/// A line of an endpoint export that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "endpoint export line {line}: {message}; each line must be one endpoint object with `Id` and `User`"
)]
pub struct ExportError {
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

/// A [`Directory`] over a Pinpoint endpoint export and a list of journey names.
///
/// Pinpoint's export jobs write one endpoint per line as JSON, with `Id`, `ApplicationId`
/// and `User`. Replays and tests use this where the Pinpoint API is not available.
#[derive(Debug, Clone, Default)]
pub struct EndpointExport {
    endpoints: HashMap<String, (Option<String>, EndpointUser)>,
    journey_names: HashMap<String, String>,
}

impl EndpointExport {
    /// Reads an export: one JSON object per line; blank lines are ignored.
    pub fn from_json_lines(text: &str) -> Result<EndpointExport, ExportError> {
        let mut endpoints = HashMap::new();
        for (index, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }

            let endpoint: ExportedEndpoint =
                serde_json::from_str(line).map_err(|error| ExportError {
                    line: index + 1,
                    message: error.to_string(),
                })?;
            endpoints.insert(endpoint.id, (endpoint.application_id, endpoint.user));
        }

        Ok(EndpointExport {
            endpoints,
            journey_names: HashMap::new(),
        })
    }

    /// Adds journey names by journey id, for [`Directory::journey_name`].
    pub fn with_journey_names<I, K, V>(mut self, names: I) -> EndpointExport
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.journey_names
            .extend(names.into_iter().map(|(id, name)| (id.into(), name.into())));
        self
    }

    /// Returns the number of endpoints read.
    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    /// Returns whether the export contains no endpoint.
    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    fn lookup_user(&self, app_id: &str, endpoint_id: &str) -> Result<EndpointUser, ServiceError> {
        match self.endpoints.get(endpoint_id) {
            Some((Some(exported_app), _)) if exported_app != app_id => Err(not_found(
                "GetEndpoint",
                "endpoint belongs to another application",
            )),
            Some((_, user)) => Ok(user.clone()),
            None => Err(not_found("GetEndpoint", "endpoint is not in the export")),
        }
    }

    fn lookup_journey(&self, journey_id: &str) -> Result<String, ServiceError> {
        self.journey_names
            .get(journey_id)
            .cloned()
            .ok_or_else(|| not_found("GetJourney", "journey has no name in the export"))
    }
}

impl Directory for EndpointExport {
    async fn endpoint_user(
        &self,
        app_id: &str,
        endpoint_id: &str,
    ) -> Result<EndpointUser, ServiceError> {
        self.lookup_user(app_id, endpoint_id)
    }

    async fn journey_name(&self, _app_id: &str, journey_id: &str) -> Result<String, ServiceError> {
        self.lookup_journey(journey_id)
    }
}

fn not_found(operation: &'static str, message: &str) -> ServiceError {
    ServiceError {
        operation,
        kind: FailureKind::NotFound,
        message: message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;

    const EXPORT: &str = r#"{"Id":"e-dana","ApplicationId":"app1","ChannelType":"EMAIL","Address":"dana.r@example.com","User":{"UserId":"dana.rivera","UserAttributes":{"username":["dana.rivera"],"sub":["3e1f"]}}}

{"Id":"e-anon","ChannelType":"EMAIL","User":{}}
{"Id":"e-other","ApplicationId":"app2","User":{"UserAttributes":{"username":["olga"]}}}
{"Id":"e-odd","User":{"UserAttributes":{"username":"single-string","empty":[""," ",42]}}}"#;

    #[test]
    fn export_reads_users() {
        let export = EndpointExport::from_json_lines(EXPORT).unwrap();

        let user = block_on(export.endpoint_user("app1", "e-dana")).unwrap();

        assert_eq!(export.len(), 4);
        assert_eq!(user.user_id.as_deref(), Some("dana.rivera"));
        assert_eq!(user.attribute("username"), Some("dana.rivera"));
    }

    #[test]
    fn endpoint_without_user_has_no_username() {
        let export = EndpointExport::from_json_lines(EXPORT).unwrap();

        let user = block_on(export.endpoint_user("app1", "e-anon")).unwrap();

        assert_eq!(user.attribute("username"), None);
    }

    #[test]
    fn unknown_or_foreign_endpoint_is_not_found() {
        let export = EndpointExport::from_json_lines(EXPORT).unwrap();

        for endpoint in ["e-missing", "e-other"] {
            let error = block_on(export.endpoint_user("app1", endpoint)).unwrap_err();

            assert_eq!(error.kind, FailureKind::NotFound, "{endpoint}");
        }
    }

    #[test]
    fn attribute_values_are_read_leniently() {
        let export = EndpointExport::from_json_lines(EXPORT).unwrap();

        let user = block_on(export.endpoint_user("app1", "e-odd")).unwrap();

        assert_eq!(user.attribute("username"), Some("single-string"));
        assert_eq!(user.attribute("empty"), Some("42"));
    }

    #[test]
    fn malformed_line_is_named() {
        let text = "{\"Id\":\"e1\",\"User\":{}}\n{\"User\":{}}\n";

        let error = EndpointExport::from_json_lines(text).unwrap_err();

        assert_eq!(error.line, 2);
        assert!(
            error
                .to_string()
                .starts_with("endpoint export line 2: missing field `Id`"),
            "{error}"
        );
    }

    #[test]
    fn journey_names_come_from_the_list() {
        let export = EndpointExport::default().with_journey_names([("j1", "Spring reactivation")]);

        assert_eq!(
            block_on(export.journey_name("app1", "j1")).unwrap(),
            "Spring reactivation"
        );
        assert_eq!(
            block_on(export.journey_name("app1", "j2"))
                .unwrap_err()
                .kind,
            FailureKind::NotFound
        );
    }
}
