//! The replacement guard: a change set that replaces or deletes the attribution table or the
//! Kinesis stream loses data, so apply refuses it unless `--allow-replace` names the resource.

use std::fmt::Write as _;

use crate::aws::AwsError;
use crate::cloudformation::{self, ResourceChange};

#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// The change set loses data that `--allow-replace` does not allow; it has been deleted.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// Logical ids of the stack's data resources, with their resource type and what a
/// replacement or deletion loses.
pub const DATA_RESOURCES: &[DataResource] = &[
    DataResource {
        logical_id: "AttributionTable",
        resource_type: "AWS::DynamoDB::Table",
        loss: "every stored attribution is deleted, and the users attributed now keep custom:campaign for good, because their expiry records go with the table",
    },
    DataResource {
        logical_id: "EventStream",
        resource_type: "AWS::Kinesis::Stream",
        loss: "the Pinpoint events that the tagging function has not read yet are deleted with the stream",
    },
];

/// A resource whose replacement or deletion loses data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataResource {
    pub logical_id: &'static str,
    pub resource_type: &'static str,
    /// Description of the data lost, as a clause for messages.
    pub loss: &'static str,
}

/// Returns the data resource of this type, if resources of the type store data.
pub fn data_resource(resource_type: &str) -> Option<&'static DataResource> {
    DATA_RESOURCES
        .iter()
        .find(|resource| resource.resource_type == resource_type)
}

/// Returns whether `change` replaces or deletes a resource that stores data.
pub fn loses_data(change: &ResourceChange) -> bool {
    data_resource(&change.resource_type).is_some() && change.destroys_resource()
}

/// Checks the `--allow-replace` values: each must name a data resource.
pub fn check_allowed(allowed: &[String]) -> Result<(), String> {
    for logical_id in allowed {
        if !DATA_RESOURCES
            .iter()
            .any(|resource| resource.logical_id == logical_id)
        {
            let known: Vec<String> = DATA_RESOURCES
                .iter()
                .map(|resource| format!("{} ({})", resource.logical_id, resource.resource_type))
                .collect();
            return Err(format!(
                "--allow-replace {logical_id}: no data resource has that logical id; the guard covers {}",
                known.join(" and ")
            ));
        }
    }
    Ok(())
}

/// Returns the refusal message for the changes that lose data and that `allowed` does not
/// name, or `None` when the change set may run.
pub fn refusal(stack: &str, changes: &[ResourceChange], allowed: &[String]) -> Option<String> {
    let refused: Vec<&ResourceChange> = changes
        .iter()
        .filter(|change| loses_data(change))
        .filter(|change| !allowed.contains(&change.logical_id))
        .collect();
    if refused.is_empty() {
        return None;
    }

    let mut message = format!("apply refuses to change stack {stack} because data would be lost:");
    for change in &refused {
        let loss = data_resource(&change.resource_type).map_or("", |resource| resource.loss);
        let _ = write!(
            message,
            " {} {} ({}): {loss}.",
            what_happens(change),
            change.logical_id,
            change.resource_type
        );
    }
    let flags: Vec<String> = refused
        .iter()
        .map(|change| format!("--allow-replace {}", change.logical_id))
        .collect();
    let _ = write!(
        message,
        " The change set was deleted and nothing changed. If the loss is intended, run apply again with {}.",
        flags.join(" ")
    );
    Some(message)
}

/// Refuses a change set that loses data `allowed` does not name: deletes the change set, so
/// nothing is left to execute by mistake, and returns the refusal.
pub async fn enforce(
    client: &aws_sdk_cloudformation::Client,
    change_set_arn: &str,
    stack: &str,
    changes: &[ResourceChange],
    allowed: &[String],
) -> Result<(), GuardError> {
    let Some(message) = refusal(stack, changes, allowed) else {
        return Ok(());
    };
    cloudformation::delete_change_set(client, change_set_arn).await?;
    Err(GuardError::Refused(message))
}

/// Names the destructive part of a change: deletion, replacement or possible replacement.
fn what_happens(change: &ResourceChange) -> &'static str {
    if change.action == "Remove" {
        return "CloudFormation would delete (or, where the deployed template retains it, orphan)";
    }
    match change.replacement.as_deref() {
        Some("Conditional") => "CloudFormation may replace",
        _ => "CloudFormation would replace",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(
        action: &str,
        logical_id: &str,
        resource_type: &str,
        replacement: Option<&str>,
    ) -> ResourceChange {
        ResourceChange {
            action: action.to_owned(),
            logical_id: logical_id.to_owned(),
            resource_type: resource_type.to_owned(),
            replacement: replacement.map(str::to_owned),
            changed: Vec::new(),
        }
    }

    #[test]
    fn replaced_table_is_refused_with_flag() {
        let changes = [change(
            "Modify",
            "AttributionTable",
            "AWS::DynamoDB::Table",
            Some("True"),
        )];

        let message = refusal("s", &changes, &[]).expect("refused");

        assert!(
            message.contains("would replace AttributionTable"),
            "{message}"
        );
        assert!(message.contains("stored attribution"), "{message}");
        assert!(
            message.contains("--allow-replace AttributionTable"),
            "{message}"
        );
    }

    #[test]
    fn allowed_replacement_passes() {
        let changes = [change(
            "Remove",
            "EventStream",
            "AWS::Kinesis::Stream",
            None,
        )];

        assert_eq!(refusal("s", &changes, &["EventStream".to_owned()]), None);
    }

    #[test]
    fn other_resources_and_updates_pass() {
        let changes = [
            change(
                "Modify",
                "TaggingFunction",
                "AWS::Lambda::Function",
                Some("True"),
            ),
            change(
                "Modify",
                "AttributionTable",
                "AWS::DynamoDB::Table",
                Some("False"),
            ),
            change("Add", "EventStream", "AWS::Kinesis::Stream", None),
        ];

        assert_eq!(refusal("s", &changes, &[]), None);
    }

    #[test]
    fn conditional_replacement_is_refused() {
        let changes = [change(
            "Modify",
            "EventStream",
            "AWS::Kinesis::Stream",
            Some("Conditional"),
        )];

        let message = refusal("s", &changes, &[]).expect("refused");

        assert!(message.contains("may replace EventStream"), "{message}");
    }

    #[test]
    fn unknown_allowed_id_is_rejected() {
        assert!(check_allowed(&["AttributionTable".to_owned()]).is_ok());
        let error = check_allowed(&["Table".to_owned()]).expect_err("unknown id");
        assert!(error.contains("AttributionTable"), "{error}");
    }
}
