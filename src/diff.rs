//! `diff`: what `apply` would change, per application, without changing anything.

use std::time::Duration;

use futures::StreamExt;
use serde::{Serialize, Serializer};

use crate::apply::{ApplyError, needed_artifacts, render_all};
use crate::artifacts::{ArtifactSet, Function};
use crate::cloudformation::{self, ChangeSet, ChangeSetRequest, ResourceChange, StackState};
use crate::config::Application;
use crate::guard;
use crate::plan::{self, Inspection, ItemAction, ValueChange};
use crate::render::RenderedStack;
use crate::session::Session;
use crate::upload;
use crate::wiring::AttributeState;

/// Version of the plan document that `diff --output json` prints (docs/plan-format.md).
///
/// Adding a field keeps the version; renaming, removing or retyping one raises it.
pub const PLAN_FORMAT_VERSION: u32 = 1;

/// Artifacts that apply would upload.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactsPlan {
    pub bucket: String,
    pub bucket_action: ItemAction,
    pub upload: Vec<String>,
}

/// One Lambda zip that an application's function runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArtifactPlan {
    pub function: String,
    pub architecture: String,
    /// S3 key of the zip in the artifacts bucket.
    pub key: String,
    /// `create` when apply uploads the zip, else `unchanged`.
    pub action: ItemAction,
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
    #[serde(serialize_with = "serialize_value_changes")]
    pub parameters: Vec<ValueChange>,
    #[serde(serialize_with = "serialize_value_changes")]
    pub tags: Vec<ValueChange>,
    #[serde(serialize_with = "serialize_resource_changes")]
    pub resource_changes: Vec<ResourceChange>,
    pub artifacts: Vec<ArtifactPlan>,
    /// Full name of the Cognito attribute, such as `custom:campaign`.
    pub cognito_attribute_name: String,
    pub cognito_attribute: ItemAction,
    pub event_stream: ItemAction,
    /// Current destination of the application's events; `null` when it has no event stream.
    pub event_stream_destination: Option<String>,
    /// Kinesis stream ARN that apply points the event stream at.
    pub event_stream_target: String,
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
    /// [`PLAN_FORMAT_VERSION`].
    pub format_version: u32,
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

/// Returns the plan action of a parameter or tag change.
pub fn value_action(change: &ValueChange) -> ItemAction {
    match (&change.deployed, &change.rendered) {
        (None, _) => ItemAction::Create,
        (_, None) => ItemAction::Delete,
        _ => ItemAction::Update,
    }
}

/// Returns the plan action of a change set's resource action.
///
/// A `Conditional` replacement counts as `replace`: CloudFormation decides it only while it
/// runs, so the plan assumes the worse case.
pub fn resource_action(change: &ResourceChange) -> ItemAction {
    match change.action.as_str() {
        "Add" | "Import" => ItemAction::Create,
        "Remove" => ItemAction::Delete,
        _ if matches!(
            change.replacement.as_deref(),
            Some("True") | Some("Conditional")
        ) =>
        {
            ItemAction::Replace
        }
        _ => ItemAction::Update,
    }
}

/// A parameter or tag change as the plan document shows it.
#[derive(Serialize)]
struct PlannedValue<'a> {
    key: &'a str,
    action: ItemAction,
    deployed: &'a Option<String>,
    rendered: &'a Option<String>,
}

fn serialize_value_changes<S: Serializer>(
    changes: &[ValueChange],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(changes.iter().map(|change| PlannedValue {
        key: &change.key,
        action: value_action(change),
        deployed: &change.deployed,
        rendered: &change.rendered,
    }))
}

/// A resource action as the plan document shows it.
#[derive(Serialize)]
struct PlannedResource<'a> {
    logical_id: &'a str,
    resource_type: &'a str,
    action: ItemAction,
    cloudformation_action: &'a str,
    replacement: &'a Option<String>,
    changed: &'a [String],
}

fn serialize_resource_changes<S: Serializer>(
    changes: &[ResourceChange],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(changes.iter().map(|change| PlannedResource {
        logical_id: &change.logical_id,
        resource_type: &change.resource_type,
        action: resource_action(change),
        cloudformation_action: &change.action,
        replacement: &change.replacement,
        changed: &change.changed,
    }))
}

/// Computes the plan of every selected application.
///
/// For a stack whose template, parameters or tags differ, it creates a change set to read the
/// resource actions and deletes it again. The options' `timeout` bounds the wait for each
/// change set, and a change set that replaces or deletes a data resource not named in
/// `allow_replace` blocks the plan.
pub async fn diff(
    session: &Session,
    artifacts: &ArtifactSet,
    options: &DiffOptions,
) -> Result<DiffReport, ApplyError> {
    let rendered = render_all(session, artifacts)?;
    let artifacts_plan = plan_artifacts(session, artifacts).await?;

    let context = PlanContext {
        session,
        artifacts,
        uploads: &artifacts_plan.upload,
        timeout: options.timeout,
        allow_replace: &options.allow_replace,
        compare_templates: options.compare_templates,
    };
    let plans: Vec<ApplicationPlan> = futures::stream::iter(
        session
            .applications
            .iter()
            .zip(rendered)
            .map(|(application, stack)| plan_application(&context, application, stack)),
    )
    .buffered(4)
    .collect()
    .await;

    let changes = artifacts_plan.bucket_action.is_change()
        || !artifacts_plan.upload.is_empty()
        || plans.iter().any(ApplicationPlan::has_changes);
    Ok(DiffReport {
        format_version: PLAN_FORMAT_VERSION,
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

/// Inputs of an application's plan besides the application itself.
pub struct PlanContext<'a> {
    pub session: &'a Session,
    pub artifacts: &'a ArtifactSet,
    /// S3 keys of the zips that apply uploads (or, during apply, has uploaded in this run).
    pub uploads: &'a [String],
    /// Maximum wait for a change set.
    pub timeout: Duration,
    /// Data resources that a change set may replace or delete (`--allow-replace`).
    pub allow_replace: &'a [String],
    /// Whether to read and compare every deployed template instead of trusting the template
    /// hash output.
    pub compare_templates: bool,
}

/// Settings of one diff run.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    /// Maximum wait for CloudFormation to compute one change set.
    pub timeout: Duration,
    /// Data resources that a change set may replace or delete, as `apply --allow-replace`.
    pub allow_replace: Vec<String>,
    /// Whether to read and compare every deployed template instead of trusting the template
    /// hash output.
    pub compare_templates: bool,
}

async fn plan_application(
    context: &PlanContext<'_>,
    application: &Application,
    rendered: RenderedStack,
) -> ApplicationPlan {
    let inspection = match plan::inspect(
        context.session,
        application,
        &rendered,
        context.compare_templates,
    )
    .await
    {
        Ok(inspection) => inspection,
        Err(error) => {
            let mut plan = empty_plan(context, application, &rendered);
            plan.error = Some(error.to_string());
            return plan;
        }
    };

    let mut plan = plan_from_inspection(context, application, &rendered, &inspection);
    if let Some(deployed) = &inspection.stack
        && let StackState::Stuck(reason) = deployed.state()
        && plan.blocked.as_deref() == Some(reason.as_str())
    {
        // The stack's events name the resources that need repair, as apply reports them.
        match cloudformation::explain_stuck(&context.session.clients.cloudformation, deployed).await
        {
            Ok(Some(explained)) => plan.blocked = Some(explained),
            Ok(None) => {}
            Err(error) => plan.error = Some(error.to_string()),
        }
    }
    if plan.stack_action == ItemAction::Update {
        match preview_changes(context, application, &rendered).await {
            Ok(changes) => plan.resource_changes = changes,
            Err(error) => plan.error = Some(error.to_string()),
        }
        if plan.blocked.is_none() {
            plan.blocked = guard::refusal(
                &rendered.stack_name,
                &plan.resource_changes,
                context.allow_replace,
            );
        }
    }
    plan
}

fn empty_plan(
    context: &PlanContext<'_>,
    application: &Application,
    rendered: &RenderedStack,
) -> ApplicationPlan {
    ApplicationPlan {
        name: application.name.clone(),
        stack: rendered.stack_name.clone(),
        stack_status: None,
        stack_action: ItemAction::Unchanged,
        template_diff: None,
        parameters: Vec::new(),
        tags: Vec::new(),
        resource_changes: Vec::new(),
        artifacts: plan_application_artifacts(context, application),
        cognito_attribute_name: format!("custom:{}", application.settings.campaign_attribute),
        cognito_attribute: ItemAction::Unchanged,
        event_stream: ItemAction::Unchanged,
        event_stream_destination: None,
        event_stream_target: context.session.expected_stream_arn(application),
        termination_protection: ItemAction::Unchanged,
        blocked: None,
        error: None,
    }
}

/// Lists the zips of the application's functions, each marked `create` when apply uploads it.
fn plan_application_artifacts(
    context: &PlanContext<'_>,
    application: &Application,
) -> Vec<ArtifactPlan> {
    let architecture = application.settings.architecture;
    Function::ALL
        .into_iter()
        .filter_map(|function| context.artifacts.get(function, architecture).ok())
        .map(|artifact| {
            let key = artifact.s3_key();
            let action = if context.uploads.contains(&key) {
                ItemAction::Create
            } else {
                ItemAction::Unchanged
            };
            ArtifactPlan {
                function: artifact.function.to_string(),
                architecture: artifact.architecture.lambda_name().to_owned(),
                key,
                action,
            }
        })
        .collect()
}

/// Plans one application from what [`plan::inspect`] read, without creating a change set.
///
/// The resource changes of an update stay empty: only a change set can tell them, which
/// `diff` previews and `apply` creates for real.
pub fn plan_from_inspection(
    context: &PlanContext<'_>,
    application: &Application,
    rendered: &RenderedStack,
    inspection: &Inspection,
) -> ApplicationPlan {
    let session = context.session;
    let mut plan = empty_plan(context, application, rendered);
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
    if let Some(wanted) = &wanted {
        plan.event_stream_target = wanted.destination_arn.clone();
    }
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
        return plan;
    };
    if let Some(reason) =
        plan::foreign_stack_reason(deployed, &session.environment.name, &application.name)
    {
        plan.stack_action = ItemAction::Blocked;
        plan.blocked = Some(reason);
        return plan;
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
            return plan;
        }
        StackState::Empty => {
            let (action, blocked) =
                plan::empty_stack_action(&deployed.name, &deployed.status, protected);
            plan.stack_action = action;
            if action == ItemAction::Blocked {
                plan.blocked = blocked;
            } else {
                plan.resource_changes = plan::resources_to_add(&rendered.template);
            }
            return plan;
        }
        StackState::InProgress => {
            plan.stack_action = ItemAction::Blocked;
            plan.blocked = Some(format!(
                "stack {} is {}; apply waits for it to finish, then plans again",
                deployed.name, deployed.status
            ));
            return plan;
        }
        StackState::Stuck(reason) => {
            plan.stack_action = ItemAction::Blocked;
            plan.blocked = Some(reason);
            return plan;
        }
    }

    let template = inspection.template.as_deref();
    let differences = plan::compare(deployed, template, rendered);
    if differences.is_empty() {
        return plan;
    }
    plan.stack_action = ItemAction::Update;
    plan.parameters = differences.parameters;
    plan.tags = differences.tags;
    if differences.template_changed {
        plan.template_diff = Some(plan::template_diff(
            template.unwrap_or_default(),
            &rendered.template,
            &rendered.stack_name,
        ));
    }
    plan
}

/// Creates an update change set, reads its resource actions, and deletes it.
async fn preview_changes(
    context: &PlanContext<'_>,
    application: &Application,
    rendered: &RenderedStack,
) -> Result<Vec<ResourceChange>, ApplyError> {
    let session = context.session;
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
    match cloudformation::create_change_set_within(client, &request, context.timeout).await? {
        ChangeSet::Empty => Ok(Vec::new()),
        ChangeSet::Ready { arn, changes, .. } => {
            cloudformation::delete_change_set(client, &arn).await?;
            Ok(changes)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(action: &str, replacement: Option<&str>) -> ResourceChange {
        ResourceChange {
            action: action.to_owned(),
            logical_id: "EventStream".to_owned(),
            resource_type: "AWS::Kinesis::Stream".to_owned(),
            replacement: replacement.map(str::to_owned),
            changed: Vec::new(),
        }
    }

    #[test]
    fn resource_action_by_change_set_action() {
        assert_eq!(resource_action(&change("Add", None)), ItemAction::Create);
        assert_eq!(resource_action(&change("Import", None)), ItemAction::Create);
        assert_eq!(resource_action(&change("Remove", None)), ItemAction::Delete);
        assert_eq!(
            resource_action(&change("Modify", Some("False"))),
            ItemAction::Update
        );
        assert_eq!(
            resource_action(&change("Modify", Some("True"))),
            ItemAction::Replace
        );
        assert_eq!(
            resource_action(&change("Modify", Some("Conditional"))),
            ItemAction::Replace
        );
        assert_eq!(
            resource_action(&change("Dynamic", None)),
            ItemAction::Update
        );
    }

    #[test]
    fn value_action_by_presence() {
        let value = |deployed: Option<&str>, rendered: Option<&str>| ValueChange {
            key: "k".to_owned(),
            deployed: deployed.map(str::to_owned),
            rendered: rendered.map(str::to_owned),
        };
        assert_eq!(value_action(&value(None, Some("1"))), ItemAction::Create);
        assert_eq!(
            value_action(&value(Some("1"), Some("2"))),
            ItemAction::Update
        );
        assert_eq!(value_action(&value(Some("1"), None)), ItemAction::Delete);
    }
}
