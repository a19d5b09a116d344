//! `destroy`: removes the event stream the deployer set and deletes the stacks.

use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::cloudformation::{self, EventWatcher, StackError};
use crate::config::Application;
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
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DestroyReport {
    pub environment: String,
    pub applications: Vec<DestroyOutcome>,
    /// What destroy leaves in place, and why.
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

    let retained = session
        .applications
        .iter()
        .map(|application| {
            format!(
                "custom:{} stays in user pool {}: Cognito cannot remove custom attributes",
                application.settings.campaign_attribute, application.user_pool_id
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
    let stack = cloudformation::describe_stack(client, stack_name).await?;

    let ours = stack
        .as_ref()
        .and_then(plan::event_stream_target)
        .map(|target| target.destination_arn)
        .unwrap_or_else(|| session.expected_stream_arn(application));
    let current = wiring::read_event_stream(&session.clients, &application.pinpoint_app_id).await?;
    match current {
        Some(current) if current.destination_arn == ours => {
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
    let mut watcher = EventWatcher::new(client, &stack.id).await?;
    cloudformation::delete_stack(client, &stack.id).await?;
    cloudformation::wait_for_stack(client, &mut watcher, "DELETE_COMPLETE", timeout, progress)
        .await?;
    progress.line(format!("deleted stack {stack_name}"));
    outcome.action = DestroyAction::Destroyed;
    Ok(())
}
