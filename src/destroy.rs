//! `destroy`: removes the event stream the deployer set and deletes the stacks.

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::cloudformation::{self, DeployedStack, StackError, StackOwner, StackState};
use crate::config::{Application, EventStreamMode};
use crate::plan::{self, ItemAction};
use crate::progress::Progress;
use crate::session::Session;
use crate::wiring;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DestroyAction {
    Destroyed,
    /// There was no stack to delete.
    Absent,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestroyOutcome {
    pub name: String,
    pub stack: String,
    pub action: DestroyAction,
    /// `delete` when the event stream pointed at this application's stream, else `unchanged`.
    pub event_stream: ItemAction,
    /// Resources that CloudFormation keeps because the deployed template retains them.
    pub retained_resources: Vec<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub environment: String,
    pub applications: Vec<DestroyOutcome>,
    /// Resources that destroy leaves in place, each with the reason.
    pub retained: Vec<String>,
}

impl DestroyReport {
    pub fn any_failed(&self) -> bool {
        self.applications
            .iter()
            .any(|app| app.action == DestroyAction::Failed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DestroyError {
    #[error(
        "environment {environment} in {file} is protected; destroy does nothing there. Set protected: false first if it really must go"
    )]
    Protected { environment: String, file: String },
}

/// Destroys every selected application; one failing does not stop the others.
pub async fn destroy(
    session: &Session,
    timeout: Duration,
    concurrency: usize,
) -> Result<DestroyReport, DestroyError> {
    if session.environment.protected {
        return Err(DestroyError::Protected {
            environment: session.environment.name.clone(),
            file: session.environment.source.display().to_string(),
        });
    }

    let runs = session
        .applications
        .iter()
        .map(|application| destroy_application(session, application, timeout));
    let applications: Vec<DestroyOutcome> = futures::stream::iter(runs)
        .buffered(concurrency.max(1))
        .collect()
        .await;

    let attributes: std::collections::BTreeSet<(&str, &str)> = session
        .applications
        .iter()
        .map(|application| {
            (
                application.settings.campaign_attribute.as_str(),
                application.user_pool_id.as_str(),
            )
        })
        .collect();
    let retained = attributes
        .into_iter()
        .map(|(attribute, pool)| {
            format!(
                "custom:{attribute} stays in user pool {pool} if it was added: Cognito cannot remove custom attributes"
            )
        })
        .chain(std::iter::once(format!(
            "the artifacts bucket {} stays: other environments of this account and region may use it",
            session.artifacts_bucket()
        )))
        .collect();

    Ok(DestroyReport {
        environment: session.environment.name.clone(),
        applications,
        retained,
    })
}

async fn destroy_application(
    session: &Session,
    application: &Application,
    timeout: Duration,
) -> DestroyOutcome {
    let stack_name = session.environment.stack_name(application);
    let progress = Progress::new(&application.name);
    let mut outcome = DestroyOutcome {
        name: application.name.clone(),
        stack: stack_name.clone(),
        action: DestroyAction::Absent,
        event_stream: ItemAction::Unchanged,
        retained_resources: Vec::new(),
        error: None,
    };
    if let Err(error) = destroy_steps(
        session,
        application,
        &stack_name,
        &progress,
        timeout,
        &mut outcome,
    )
    .await
    {
        progress.line(format!("failed: {error}"));
        outcome.action = DestroyAction::Failed;
        outcome.error = Some(error.to_string());
    }
    outcome
}

async fn destroy_steps(
    session: &Session,
    application: &Application,
    stack_name: &str,
    progress: &Progress,
    timeout: Duration,
    outcome: &mut DestroyOutcome,
) -> Result<(), StackError> {
    let client = &session.clients.cloudformation;
    let owner = StackOwner {
        environment: &session.environment.name,
        application: &application.name,
    };
    let stack = cloudformation::describe_stack(client, stack_name).await?;
    let stack = prepare_stack(client, stack, owner, timeout, progress).await?;

    // The stack's own stream, when it has one. In mode `existing` the stack creates none, so
    // no destination is the deployer's to remove.
    let ours = match (
        stack.as_ref().and_then(plan::event_stream_target),
        &application.settings.event_stream,
    ) {
        (Some(target), _) => Some(target.destination_arn),
        (None, EventStreamMode::Create { .. }) => Some(session.expected_stream_arn(application)),
        (None, EventStreamMode::Existing { .. }) => None,
    };
    let current = wiring::read_event_stream(&session.clients, &application.pinpoint_app_id).await?;
    match current {
        Some(current) if Some(&current.destination_arn) == ours.as_ref() => {
            wiring::delete_event_stream(&session.clients, &application.pinpoint_app_id).await?;
            progress.line("removed the event stream");
            outcome.event_stream = ItemAction::Delete;
        }
        Some(current) => progress.line(format!(
            "left the event stream alone: it sends to {}, which this deployer did not set",
            current.destination_arn
        )),
        None => {}
    }

    let Some(stack) = stack else {
        progress.line(format!("stack {stack_name} does not exist"));
        return Ok(());
    };
    // A stack deployed while the environment was protected keeps its data resources. Report them,
    // because the next apply cannot create them again under the same names.
    let template = cloudformation::get_template(client, &stack.id).await?;
    outcome.retained_resources = retained_resources(&template, &stack.outputs);
    for resource in &outcome.retained_resources {
        progress.line(format!("keeps {resource}: the deployed template retains it; delete it yourself before the next apply if it must go"));
    }

    if is_deletable_failure(&stack.status) {
        progress.line(format!(
            "stack {stack_name} is {} after a failed operation; deleting it",
            stack.status
        ));
    }
    cloudformation::delete_and_wait(client, &stack, timeout, progress).await?;
    progress.line(format!("deleted stack {stack_name}"));
    outcome.action = DestroyAction::Destroyed;
    Ok(())
}

/// Acts on the stack's status before destroy changes anything, and returns the stack to
/// delete, or `None` when there is none.
///
/// - `*_IN_PROGRESS`: waits for the running operation (at most `timeout`), then decides again.
/// - `UPDATE_ROLLBACK_FAILED` and unexpected statuses stop with [`StackError::Blocked`],
///   naming the failed resources and the repair command.
/// - `DELETE_FAILED` and `ROLLBACK_FAILED` are returned for deletion. Deleting again is the
///   usual fix for the first once what blocked it is gone, and a first create whose rollback
///   failed has nothing to keep, so deleting it is the repair that apply prints.
/// - A stack whose managed tags name another owner stops with [`StackError::Foreign`], and one
///   with termination protection with [`StackError::TerminationProtected`].
///
/// Nothing changes the stack here.
pub async fn prepare_stack(
    client: &aws_sdk_cloudformation::Client,
    mut stack: Option<DeployedStack>,
    owner: StackOwner<'_>,
    timeout: Duration,
    progress: &Progress,
) -> Result<Option<DeployedStack>, StackError> {
    loop {
        let Some(deployed) = &stack else {
            return Ok(None);
        };
        if let Some(reason) =
            plan::foreign_stack_reason(deployed, owner.environment, owner.application)
        {
            return Err(StackError::Foreign(reason));
        }
        match deployed.state() {
            StackState::Missing => return Ok(None),
            StackState::InProgress => {
                stack =
                    cloudformation::wait_for_running(client, deployed, timeout, progress).await?;
            }
            StackState::Stuck(reason) if !is_deletable_failure(&deployed.status) => {
                let explained = cloudformation::explain_stuck(client, deployed).await?;
                return Err(StackError::Blocked(explained.unwrap_or(reason)));
            }
            _ if deployed.termination_protection => {
                return Err(StackError::TerminationProtected {
                    stack: deployed.name.clone(),
                });
            }
            _ => return Ok(stack),
        }
    }
}

/// Returns whether a failed stack status is one that destroy deletes: `DELETE_FAILED` (an
/// earlier deletion failed) and `ROLLBACK_FAILED` (a first create failed, then its rollback).
fn is_deletable_failure(status: &str) -> bool {
    matches!(status, "DELETE_FAILED" | "ROLLBACK_FAILED")
}

/// Lists the resources whose `DeletionPolicy` is `Retain` in a deployed template, with the
/// table's name when the outputs have it.
fn retained_resources(
    template: &str,
    outputs: &std::collections::BTreeMap<String, String>,
) -> Vec<String> {
    let Ok(document) = serde_saphyr::from_str::<serde_json::Value>(template) else {
        return Vec::new();
    };
    let Some(resources) = document
        .get("Resources")
        .and_then(|value| value.as_object())
    else {
        return Vec::new();
    };
    resources
        .iter()
        .filter(|(_, resource)| {
            resource.get("DeletionPolicy").and_then(|v| v.as_str()) == Some("Retain")
        })
        .map(|(logical_id, resource)| {
            let kind = resource.get("Type").and_then(|v| v.as_str()).unwrap_or("?");
            match (kind, outputs.get(crate::render::outputs::TABLE_NAME)) {
                ("AWS::DynamoDB::Table", Some(table)) => format!("{logical_id} ({kind} {table})"),
                _ => format!("{logical_id} ({kind})"),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retained_resources_lists_retain_policies() {
        let template = "Resources:\n  AttributionTable:\n    Type: AWS::DynamoDB::Table\n    DeletionPolicy: Retain\n  Queue:\n    Type: AWS::SQS::Queue\n    DeletionPolicy: Delete\n";
        let outputs = [("TableName".to_owned(), "t1".to_owned())]
            .into_iter()
            .collect();
        assert_eq!(
            retained_resources(template, &outputs),
            ["AttributionTable (AWS::DynamoDB::Table t1)"]
        );
        assert!(retained_resources("Resources: {}\n", &outputs).is_empty());
    }
}
