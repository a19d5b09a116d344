//! `status`: what is deployed for each application.

use std::collections::BTreeMap;

use futures::StreamExt;
use serde::Serialize;

use crate::cloudformation;
use crate::config::Application;
use crate::plan;
use crate::session::Session;
use crate::wiring::{self, AttributeState};

#[derive(Debug, Clone, Serialize)]
pub struct ApplicationStatus {
    pub name: String,
    pub stack: String,
    /// Stack status; `null` when the stack does not exist.
    pub stack_status: Option<String>,
    pub outputs: BTreeMap<String, String>,
    /// Destination of the application's events; `null` when it has no event stream.
    pub event_stream_destination: Option<String>,
    /// Whether the event stream sends to this application's stack.
    pub event_stream_owned: bool,
    pub cognito_attribute: Option<AttributeState>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    pub environment: String,
    pub applications: Vec<ApplicationStatus>,
}

impl StatusReport {
    pub fn any_error(&self) -> bool {
        self.applications.iter().any(|app| app.error.is_some())
    }
}

/// Reads the status of every selected application.
pub async fn status(session: &Session) -> StatusReport {
    let applications = futures::stream::iter(
        session
            .applications
            .iter()
            .map(|application| application_status(session, application)),
    )
    .buffered(4)
    .collect()
    .await;
    StatusReport {
        environment: session.environment.name.clone(),
        applications,
    }
}

async fn application_status(session: &Session, application: &Application) -> ApplicationStatus {
    let stack_name = session.environment.stack_name(application);
    let mut status = ApplicationStatus {
        name: application.name.clone(),
        stack: stack_name.clone(),
        stack_status: None,
        outputs: BTreeMap::new(),
        event_stream_destination: None,
        event_stream_owned: false,
        cognito_attribute: None,
        error: None,
    };
    if let Err(error) = fill_status(session, application, &stack_name, &mut status).await {
        status.error = Some(error);
    }
    status
}

async fn fill_status(
    session: &Session,
    application: &Application,
    stack_name: &str,
    status: &mut ApplicationStatus,
) -> Result<(), String> {
    let stack = cloudformation::describe_stack(&session.clients.cloudformation, stack_name)
        .await
        .map_err(|error| error.to_string())?;
    let ours = stack
        .as_ref()
        .and_then(plan::event_stream_target)
        .map(|target| target.destination_arn)
        .unwrap_or_else(|| session.expected_stream_arn(application));
    if let Some(stack) = stack {
        status.stack_status = Some(stack.status);
        status.outputs = stack.outputs;
    }

    let stream = wiring::read_event_stream(&session.clients, &application.pinpoint_app_id)
        .await
        .map_err(|error| error.to_string())?;
    status.event_stream_owned = stream
        .as_ref()
        .is_some_and(|target| target.destination_arn == ours);
    status.event_stream_destination = stream.map(|target| target.destination_arn);

    let attribute = wiring::read_campaign_attribute(
        &session.clients,
        &application.name,
        &application.user_pool_id,
        &application.settings.campaign_attribute,
        &session.environment.region,
    )
    .await
    .map_err(|error| error.to_string())?;
    status.cognito_attribute = Some(attribute);
    Ok(())
}
