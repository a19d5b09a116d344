//! `diff`: what `apply` would change, per application, without changing anything.

use futures::StreamExt;
use serde::Serialize;

use crate::apply::{ApplyError, needed_artifacts, render_all};
use crate::artifacts::ArtifactSet;
use crate::cloudformation::{self, ChangeSet, ChangeSetRequest, ResourceChange, StackState};
use crate::config::Application;
use crate::guard;
use crate::plan::{self, ItemAction, ValueChange};
use crate::render::RenderedStack;
use crate::session::Session;
use crate::upload;
use crate::wiring::AttributeState;

/// Artifacts that apply would upload.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactsPlan {
    pub bucket: String,
    pub bucket_action: ItemAction,
    pub upload: Vec<String>,
}

/// The plan of one application.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationPlan {
    pub name: String,
    pub stack: String,
    /// Current stack status; `null` when the stack does not exist.
    pub stack_status: Option<String>,
    pub stack_action: ItemAction,
    /// Unified diff of the deployed and rendered templates; `null` when equal or not deployed.
    pub template_diff: Option<String>,
    pub parameters: Vec<ValueChange>,
    pub tags: Vec<ValueChange>,
    pub resource_changes: Vec<ResourceChange>,
    pub cognito_attribute: ItemAction,
    pub event_stream: ItemAction,
    /// Current destination of the application's events; `null` when it has no event stream.
    pub event_stream_destination: Option<String>,
    /// Planned change of the stack's termination protection: `create` turns it on (protected
    /// environments), `delete` turns it off.
    pub termination_protection: ItemAction,
    /// Reason apply cannot proceed for this application; `null` when it can.
    pub blocked: Option<String>,
    /// An error that stopped the inspection of this application.
    pub error: Option<String>,
}

impl ApplicationPlan {
    pub fn has_changes(&self) -> bool {
        self.stack_action.is_change()
            || self.cognito_attribute.is_change()
            || self.event_stream.is_change()
            || self.termination_protection.is_change()
            || self.error.is_some()
    }
}

/// The plan of a whole environment, printed as the command's output.
#[derive(Debug, Clone, Serialize)]
pub struct DiffReport {
    pub environment: String,
    pub artifacts: ArtifactsPlan,
    pub applications: Vec<ApplicationPlan>,
    /// Whether apply would change anything.
    pub changes: bool,
}

impl DiffReport {
    pub fn any_error(&self) -> bool {
        self.applications.iter().any(|app| app.error.is_some())
    }

    /// Returns whether apply would stop for at least one application.
    pub fn any_blocked(&self) -> bool {
        self.applications.iter().any(|app| app.blocked.is_some())
    }
}

/// Computes the plan of every selected application.
///
/// For a stack whose template, parameters or tags differ, it creates a change set to read the
/// resource actions and deletes it again.
///
/// `allow_replace` names the data resources that a change set may replace or delete, as
/// `apply --allow-replace` does; any other such change blocks the plan.
pub async fn diff(
    session: &Session,
    artifacts: &ArtifactSet,
    allow_replace: &[String],
) -> Result<DiffReport, ApplyError> {
    let rendered = render_all(session, artifacts)?;
    let artifacts_plan = plan_artifacts(session, artifacts).await?;

    let plans: Vec<ApplicationPlan> =
        futures::stream::iter(session.applications.iter().zip(rendered).map(
            |(application, stack)| plan_application(session, application, stack, allow_replace),
        ))
        .buffered(4)
        .collect()
        .await;

    let changes = artifacts_plan.bucket_action.is_change()
        || !artifacts_plan.upload.is_empty()
        || plans.iter().any(ApplicationPlan::has_changes);
    Ok(DiffReport {
        environment: session.environment.name.clone(),
        artifacts: artifacts_plan,
        applications: plans,
        changes,
    })
}

async fn plan_artifacts(
    session: &Session,
    artifacts: &ArtifactSet,
) -> Result<ArtifactsPlan, ApplyError> {
    let bucket = session.artifacts_bucket();
    let needed = needed_artifacts(session, artifacts)?;
    if !upload::bucket_exists(&session.clients, &bucket).await? {
        if session.environment.artifacts_bucket.is_some() {
            return Err(upload::UploadError::BucketMissing { bucket }.into());
        }
        return Ok(ArtifactsPlan {
            bucket,
            bucket_action: ItemAction::Create,
            upload: needed.iter().map(|artifact| artifact.s3_key()).collect(),
        });
    }

    let own_bucket = session.environment.artifacts_bucket.is_none();
    let bucket_action =
        if own_bucket && !upload::bucket_is_secured(&session.clients, &bucket).await? {
            ItemAction::Update
        } else {
            ItemAction::Unchanged
        };
    let missing = upload::missing_artifacts(&session.clients, &bucket, needed).await?;
    Ok(ArtifactsPlan {
        bucket,
        bucket_action,
        upload: missing.iter().map(|artifact| artifact.s3_key()).collect(),
    })
}

async fn plan_application(
    session: &Session,
    application: &Application,
    rendered: RenderedStack,
    allow_replace: &[String],
) -> ApplicationPlan {
    let mut plan = ApplicationPlan {
        name: application.name.clone(),
        stack: rendered.stack_name.clone(),
        stack_status: None,
        stack_action: ItemAction::Unchanged,
        template_diff: None,
        parameters: Vec::new(),
        tags: Vec::new(),
        resource_changes: Vec::new(),
        cognito_attribute: ItemAction::Unchanged,
        event_stream: ItemAction::Unchanged,
        event_stream_destination: None,
        termination_protection: ItemAction::Unchanged,
        blocked: None,
        error: None,
    };
    if let Err(error) = fill_plan(session, application, &rendered, allow_replace, &mut plan).await {
        plan.error = Some(error.to_string());
    }
    plan
}

async fn fill_plan(
    session: &Session,
    application: &Application,
    rendered: &RenderedStack,
    allow_replace: &[String],
    plan: &mut ApplicationPlan,
) -> Result<(), ApplyError> {
    let inspection = plan::inspect(session, application, &rendered.stack_name).await?;
    plan.stack_status = inspection.stack.as_ref().map(|stack| stack.status.clone());
    plan.event_stream_destination = inspection
        .event_stream
        .as_ref()
        .map(|target| target.destination_arn.clone());
    if inspection.attribute == AttributeState::Missing {
        plan.cognito_attribute = ItemAction::Create;
    }

    let wanted = inspection
        .stack
        .as_ref()
        .and_then(plan::event_stream_target);
    let ours = session.expected_stream_arn(application);
    let (stream_action, blocked) = plan::plan_event_stream(
        application,
        inspection.event_stream.as_ref(),
        &ours,
        wanted.as_ref(),
    );
    plan.event_stream = stream_action;
    plan.blocked = blocked;

    let protected = session.environment.protected;
    let Some(deployed) = &inspection.stack else {
        plan.stack_action = ItemAction::Create;
        plan.resource_changes = plan::resources_to_add(&rendered.template);
        if protected {
            plan.termination_protection = ItemAction::Create;
        }
        return Ok(());
    };
    if let Some(reason) =
        plan::foreign_stack_reason(deployed, &session.environment.name, &application.name)
    {
        plan.stack_action = ItemAction::Blocked;
        plan.blocked = Some(reason);
        return Ok(());
    }
    plan.termination_protection = match (deployed.termination_protection, protected) {
        (false, true) => ItemAction::Create,
        (true, false) => ItemAction::Delete,
        _ => ItemAction::Unchanged,
    };
    match deployed.state() {
        StackState::Stable => {}
        StackState::Missing => {
            plan.stack_action = ItemAction::Create;
            plan.resource_changes = plan::resources_to_add(&rendered.template);
            return Ok(());
        }
        StackState::Empty => {
            plan.stack_action = ItemAction::Replace;
            plan.resource_changes = plan::resources_to_add(&rendered.template);
            return Ok(());
        }
        StackState::InProgress => {
            plan.stack_action = ItemAction::Blocked;
            plan.blocked = Some(format!(
                "stack {} is {}; apply waits for it to finish, then plans again",
                deployed.name, deployed.status
            ));
            return Ok(());
        }
        StackState::Stuck(reason) => {
            plan.stack_action = ItemAction::Blocked;
            plan.blocked = Some(reason);
            return Ok(());
        }
    }

    let template = inspection.template.as_deref().unwrap_or_default();
    let differences = plan::compare(deployed, template, rendered);
    if differences.is_empty() {
        return Ok(());
    }
    plan.stack_action = ItemAction::Update;
    plan.parameters = differences.parameters;
    plan.tags = differences.tags;
    if differences.template_changed {
        plan.template_diff = Some(plan::template_diff(
            template,
            &rendered.template,
            &rendered.stack_name,
        ));
    }
    plan.resource_changes = preview_changes(session, application, rendered).await?;
    if plan.blocked.is_none() {
        plan.blocked = guard::refusal(&rendered.stack_name, &plan.resource_changes, allow_replace);
    }
    Ok(())
}

/// Creates an update change set, reads its resource actions, and deletes it.
async fn preview_changes(
    session: &Session,
    application: &Application,
    rendered: &RenderedStack,
) -> Result<Vec<ResourceChange>, ApplyError> {
    let client = &session.clients.cloudformation;
    let request = ChangeSetRequest {
        stack_name: &rendered.stack_name,
        template: &rendered.template,
        parameters: &rendered.parameters,
        tags: &rendered.tags,
        create: false,
        name: format!(
            "pinpoint-attribution-diff-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|elapsed| elapsed.as_millis())
                .unwrap_or_default()
        ),
        description: format!(
            "pinpoint-attribution diff {} {}",
            session.environment.name, application.name
        ),
    };
    match cloudformation::create_change_set(client, &request).await? {
        ChangeSet::Empty => Ok(Vec::new()),
        ChangeSet::Ready { arn, changes, .. } => {
            cloudformation::delete_change_set(client, &arn).await?;
            Ok(changes)
        }
    }
}
