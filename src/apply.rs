//! `apply`: brings every selected application's stack and wiring to the rendered state.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use crate::artifacts::{Artifact, ArtifactError, ArtifactSet, Function};
use crate::aws::AwsError;
use crate::cloudformation::{
    self, ChangeSet, ChangeSetRequest, DeployedStack, EventWatcher, ResourceChange, StackError,
    StackOwner, StackState,
};
use crate::config::{Application, EventStreamMode};
use crate::diff::{self, PlanContext};
use crate::guard;
use crate::output;
use crate::plan::{self, ItemAction, PlanError};
use crate::progress::Progress;
use crate::render::{self, RenderError, RenderedStack};
use crate::session::Session;
use crate::upload::{self, UploadError};
use crate::wiring::{self, AttributeState, WiringError};

/// Settings of one apply run.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Applications applied at the same time.
    pub concurrency: usize,
    /// Maximum wait for one stack operation.
    pub timeout: Duration,
    /// Logical ids of data resources that a change set may replace or delete.
    pub allow_replace: Vec<String>,
    /// Whether to read and compare every deployed template instead of trusting the template
    /// hash output.
    pub compare_templates: bool,
}

/// Outcome of one application's stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Failed,
}

/// The result of applying one application.
#[derive(Debug, Clone, Serialize)]
pub struct ApplicationOutcome {
    pub name: String,
    pub stack: String,
    pub action: Action,
    pub change_set_created: bool,
    pub error: Option<String>,
    pub resource_changes: Vec<ResourceChange>,
    pub cognito_attribute: ItemAction,
    pub event_stream: ItemAction,
    /// Outputs of the stack after the run (also when nothing changed); empty when it failed
    /// before the stack settled.
    pub outputs: BTreeMap<String, String>,
    /// Destination that apply replaced with `replace_existing: true`; `null` otherwise.
    /// Destroy does not restore it.
    pub event_stream_replaced: Option<String>,
    /// Whether the stack has termination protection after the run (on in protected
    /// environments).
    pub termination_protection: bool,
}

/// The artifacts step of an apply run.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactsOutcome {
    pub bucket: String,
    pub uploaded: Vec<String>,
}

/// The result of an apply run, printed as the command's output.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub environment: String,
    pub artifacts: Option<ArtifactsOutcome>,
    pub applications: Vec<ApplicationOutcome>,
}

impl ApplyReport {
    pub fn any_failed(&self) -> bool {
        self.applications
            .iter()
            .any(|app| app.action == Action::Failed)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Artifacts(#[from] ArtifactError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error("{0}")]
    Blocked(String),
    #[error(transparent)]
    Guard(#[from] guard::GuardError),
    #[error(
        "stack {stack} has no output {output}; the stack was not made by this version of pinpoint-attribution"
    )]
    MissingOutput { stack: String, output: String },
}

/// The artifacts every selected application needs, one per function and architecture.
pub fn needed_artifacts<'a>(
    session: &Session,
    artifacts: &'a ArtifactSet,
) -> Result<Vec<&'a Artifact>, ArtifactError> {
    let mut needed: Vec<&Artifact> = Vec::new();
    for application in &session.applications {
        for function in Function::ALL {
            let artifact = artifacts.get(function, application.settings.architecture)?;
            if !needed.contains(&artifact) {
                artifacts.verify(artifact)?;
                needed.push(artifact);
            }
        }
    }
    Ok(needed)
}

/// Applies every selected application. One failing application does not stop the others.
pub async fn apply(
    session: &Session,
    artifacts: &ArtifactSet,
    options: &ApplyOptions,
) -> Result<ApplyReport, ApplyError> {
    let rendered = render_all(session, artifacts)?;
    let uploaded = upload_artifacts(session, artifacts).await?;

    let context = PlanContext {
        session,
        artifacts,
        uploads: &uploaded.uploaded,
        timeout: options.timeout,
        allow_replace: &options.allow_replace,
        compare_templates: options.compare_templates,
    };
    let runs = session
        .applications
        .iter()
        .zip(rendered)
        .map(|(application, stack)| apply_application(&context, application, stack, options));
    let applications: Vec<ApplicationOutcome> = futures::stream::iter(runs)
        .buffered(options.concurrency.max(1))
        .collect()
        .await;

    Ok(ApplyReport {
        environment: session.environment.name.clone(),
        artifacts: Some(uploaded),
        applications,
    })
}

/// Renders every selected application before anything is changed, so a rendering error
/// stops the run with nothing deployed.
pub fn render_all(
    session: &Session,
    artifacts: &ArtifactSet,
) -> Result<Vec<RenderedStack>, RenderError> {
    session
        .applications
        .iter()
        .map(|application| render::render_application(&session.environment, application, artifacts))
        .collect()
}

async fn upload_artifacts(
    session: &Session,
    artifacts: &ArtifactSet,
) -> Result<ArtifactsOutcome, ApplyError> {
    let progress = Progress::new("artifacts");
    let bucket = session.artifacts_bucket();
    let needed = needed_artifacts(session, artifacts)?;

    if !upload::bucket_exists(&session.clients, &bucket).await? {
        if session.environment.artifacts_bucket.is_some() {
            return Err(UploadError::BucketMissing { bucket }.into());
        }
        progress.line(format!("creating bucket {bucket}"));
        upload::create_bucket(&session.clients, &bucket, &session.environment.region).await?;
    } else if session.environment.artifacts_bucket.is_none()
        && !upload::bucket_is_secured(&session.clients, &bucket).await?
    {
        progress.line(format!(
            "securing bucket {bucket}: an earlier apply stopped before it set encryption and the public access block"
        ));
        upload::secure_bucket(&session.clients, &bucket).await?;
    }

    let missing = upload::missing_artifacts(&session.clients, &bucket, needed).await?;
    let mut uploaded = Vec::new();
    for artifact in missing {
        upload::upload_artifact(&session.clients, &bucket, artifacts, artifact, &progress).await?;
        uploaded.push(artifact.s3_key());
    }
    Ok(ArtifactsOutcome { bucket, uploaded })
}

/// Mutable record of one application's apply, turned into its outcome at the end.
struct Run<'a> {
    session: &'a Session,
    context: &'a PlanContext<'a>,
    application: &'a Application,
    rendered: RenderedStack,
    options: &'a ApplyOptions,
    progress: Progress,
    outcome: ApplicationOutcome,
}

async fn apply_application<'a>(
    context: &'a PlanContext<'a>,
    application: &'a Application,
    rendered: RenderedStack,
    options: &'a ApplyOptions,
) -> ApplicationOutcome {
    let session = context.session;
    let outcome = ApplicationOutcome {
        name: application.name.clone(),
        stack: rendered.stack_name.clone(),
        action: Action::Unchanged,
        change_set_created: false,
        error: None,
        resource_changes: Vec::new(),
        cognito_attribute: ItemAction::Unchanged,
        event_stream: ItemAction::Unchanged,
        outputs: BTreeMap::new(),
        event_stream_replaced: None,
        termination_protection: false,
    };
    let mut run = Run {
        session,
        context,
        application,
        rendered,
        options,
        progress: Progress::new(&application.name),
        outcome,
    };

    if let Err(error) = run.execute().await {
        run.progress.line(format!("failed: {error}"));
        run.outcome.action = Action::Failed;
        run.outcome.error = Some(error.to_string());
    }
    run.outcome
}

impl Run<'_> {
    async fn execute(&mut self) -> Result<(), ApplyError> {
        let inspection = plan::inspect(
            self.session,
            self.application,
            &self.rendered,
            self.options.compare_templates,
        )
        .await?;
        self.show_plan(&inspection);

        let ours = self.session.expected_stream_arn(self.application);
        let (stream_action, blocked) = plan::plan_event_stream(
            self.application,
            inspection.event_stream.as_ref(),
            &ours,
            None,
        );
        if stream_action == ItemAction::Blocked {
            self.outcome.event_stream = ItemAction::Blocked;
            return Err(ApplyError::Blocked(blocked.unwrap_or_default()));
        }

        let deployed = self
            .converge_stack(inspection.stack, inspection.template)
            .await?;
        self.outcome.outputs = deployed.outputs.clone();
        let protection_changed = self.ensure_termination_protection(&deployed).await?;
        self.ensure_attribute(inspection.attribute).await?;
        self.ensure_event_stream(&deployed, inspection.event_stream)
            .await?;

        if self.outcome.action == Action::Unchanged
            && (protection_changed
                || self.outcome.cognito_attribute.is_change()
                || self.outcome.event_stream.is_change())
        {
            self.outcome.action = Action::Updated;
        }
        self.progress
            .line(format!("{:?}", self.outcome.action).to_lowercase());
        Ok(())
    }

    /// Prints the application's plan before anything changes, unless nothing would change.
    ///
    /// The change set's resource actions follow when the change set exists.
    fn show_plan(&self, inspection: &plan::Inspection) {
        let mut plan =
            diff::plan_from_inspection(self.context, self.application, &self.rendered, inspection);
        if !plan.has_changes() {
            self.progress.line("no changes");
            return;
        }
        // The change set's own resource actions are printed once it exists.
        plan.resource_changes.clear();
        let colour = output::colour_enabled(std::io::stderr());
        self.progress
            .block(&output::application_plan_text(&plan, colour));
    }

    /// Brings the stack to the rendered state and returns it settled.
    async fn converge_stack(
        &mut self,
        stack: Option<DeployedStack>,
        mut template: Option<String>,
    ) -> Result<DeployedStack, ApplyError> {
        let client = &self.session.clients.cloudformation;
        let stack_name = self.rendered.stack_name.clone();
        let owner = StackOwner {
            environment: &self.session.environment.name,
            application: &self.application.name,
        };

        let inspected = stack.clone();
        let prepared = prepare_stack(
            client,
            stack,
            owner,
            self.session.environment.protected,
            self.options.timeout,
            &self.progress,
        )
        .await?;
        let Some(deployed) = prepared else {
            return self.create_stack().await;
        };

        // A template read before a wait or a deletion describes the stack as it was then.
        if inspected.as_ref() != Some(&deployed) {
            template = None;
        }
        if template.is_none()
            && (self.options.compare_templates
                || !plan::template_hash_matches(&deployed, &self.rendered))
        {
            template = Some(cloudformation::get_template(client, &stack_name).await?);
        }
        let differences = plan::compare(&deployed, template.as_deref(), &self.rendered);
        if differences.is_empty() {
            return Ok(deployed);
        }
        self.update_stack(&deployed).await
    }

    async fn create_stack(&mut self) -> Result<DeployedStack, ApplyError> {
        let change_set = self.create_change_set(true).await?;
        let ChangeSet::Ready {
            arn,
            stack_id,
            changes,
        } = change_set
        else {
            return Err(ApplyError::Blocked(format!(
                "CloudFormation reported no changes for the new stack {}",
                self.rendered.stack_name
            )));
        };
        self.outcome.resource_changes = changes;
        let deployed = self
            .execute_change_set(&arn, &stack_id, "CREATE_COMPLETE")
            .await?;
        self.outcome.action = Action::Created;
        Ok(deployed)
    }

    async fn update_stack(
        &mut self,
        deployed: &DeployedStack,
    ) -> Result<DeployedStack, ApplyError> {
        match self.create_change_set(false).await? {
            ChangeSet::Empty => {
                self.progress
                    .line("CloudFormation found no changes; nothing to execute");
                Ok(deployed.clone())
            }
            ChangeSet::Ready {
                arn,
                stack_id,
                changes,
            } => {
                self.outcome.resource_changes = changes;
                guard::enforce(
                    &self.session.clients.cloudformation,
                    &arn,
                    &self.rendered.stack_name,
                    &self.outcome.resource_changes,
                    &self.options.allow_replace,
                )
                .await?;
                let updated = self
                    .execute_change_set(&arn, &stack_id, "UPDATE_COMPLETE")
                    .await?;
                self.outcome.action = Action::Updated;
                Ok(updated)
            }
        }
    }

    async fn create_change_set(&mut self, create: bool) -> Result<ChangeSet, ApplyError> {
        let request = ChangeSetRequest {
            stack_name: &self.rendered.stack_name,
            template: &self.rendered.template,
            parameters: &self.rendered.parameters,
            tags: &self.rendered.tags,
            create,
            name: change_set_name(),
            description: format!(
                "pinpoint-attribution {} {}",
                self.session.environment.name, self.application.name
            ),
        };
        self.outcome.change_set_created = true;
        let change_set = cloudformation::create_change_set_within(
            &self.session.clients.cloudformation,
            &request,
            self.options.timeout,
        )
        .await?;
        if let ChangeSet::Ready { changes, .. } = &change_set {
            let colour = output::colour_enabled(std::io::stderr());
            let lines: String = changes
                .iter()
                .map(|change| format!("{}\n", output::resource_line(change, colour)))
                .collect();
            self.progress
                .block(&format!("change set resource actions:\n{lines}"));
        }
        Ok(change_set)
    }

    async fn execute_change_set(
        &mut self,
        arn: &str,
        stack_id: &str,
        expect: &str,
    ) -> Result<DeployedStack, ApplyError> {
        let client = &self.session.clients.cloudformation;
        let mut watcher = EventWatcher::new(client, stack_id).await?;
        cloudformation::execute_change_set(client, arn).await?;
        let waited = cloudformation::wait_for_stack(
            client,
            &mut watcher,
            expect,
            self.options.timeout,
            &self.progress,
        )
        .await;
        let settled = match waited {
            Ok(settled) => settled,
            Err(error) => {
                return Err(cloudformation::add_repair_advice(client, error)
                    .await
                    .into());
            }
        };
        settled.ok_or_else(|| {
            ApplyError::Blocked(format!(
                "stack {} disappeared while it was being deployed",
                self.rendered.stack_name
            ))
        })
    }

    async fn ensure_attribute(&mut self, state: AttributeState) -> Result<(), ApplyError> {
        if state == AttributeState::Present {
            return Ok(());
        }
        let attribute = &self.application.settings.campaign_attribute;
        let added = wiring::add_campaign_attribute(
            &self.session.clients,
            &self.application.user_pool_id,
            attribute,
        )
        .await?;
        if added == wiring::AttributeAdded::Added {
            self.progress.line(format!(
                "added custom:{attribute} to user pool {}",
                self.application.user_pool_id
            ));
            self.outcome.cognito_attribute = ItemAction::Create;
        }
        Ok(())
    }

    /// Turns termination protection on in protected environments and off in the others;
    /// returns whether it changed.
    ///
    /// NOTE: change sets cannot set termination protection, so a new stack is unprotected
    /// from its creation until this call. An apply interrupted in between sets it next run.
    async fn ensure_termination_protection(
        &mut self,
        stack: &DeployedStack,
    ) -> Result<bool, ApplyError> {
        let wanted = self.session.environment.protected;
        self.outcome.termination_protection = wanted;
        if stack.termination_protection == wanted {
            return Ok(false);
        }
        cloudformation::update_termination_protection(
            &self.session.clients.cloudformation,
            &stack.id,
            wanted,
        )
        .await?;
        self.progress.line(if wanted {
            "turned termination protection on: the environment is protected"
        } else {
            "turned termination protection off: the environment is no longer protected"
        });
        Ok(true)
    }

    async fn ensure_event_stream(
        &mut self,
        stack: &DeployedStack,
        current: Option<wiring::EventStreamTarget>,
    ) -> Result<(), ApplyError> {
        if let EventStreamMode::Existing { stream_arn } = &self.application.settings.event_stream {
            return self.leave_event_stream(stream_arn, current).await;
        }
        let wanted = plan::event_stream_target(stack).ok_or_else(|| ApplyError::MissingOutput {
            stack: stack.name.clone(),
            output: format!(
                "{} or {}",
                render::outputs::STREAM_ARN,
                render::outputs::PINPOINT_ROLE_ARN
            ),
        })?;
        let (action, blocked) = plan::plan_event_stream(
            self.application,
            current.as_ref(),
            &wanted.destination_arn,
            Some(&wanted),
        );
        match action {
            ItemAction::Unchanged => Ok(()),
            ItemAction::Blocked => {
                self.outcome.event_stream = ItemAction::Blocked;
                Err(ApplyError::Blocked(blocked.unwrap_or_default()))
            }
            _ => {
                wiring::put_event_stream(
                    &self.session.clients,
                    &self.application.pinpoint_app_id,
                    &wanted,
                )
                .await?;
                if action == ItemAction::Replace
                    && let Some(replaced) = current
                {
                    self.progress.line(format!(
                        "replaced the event stream destination {} (replace_existing: true); destroy does not restore it",
                        replaced.destination_arn
                    ));
                    self.outcome.event_stream_replaced = Some(replaced.destination_arn);
                }
                self.progress.line(format!(
                    "event stream now sends to {}",
                    wanted.destination_arn
                ));
                self.outcome.event_stream = action;
                Ok(())
            }
        }
    }

    /// Mode `existing`: leaves the application's event stream as it is, and warns when it
    /// does not send to the stream the tagging function reads. The one exception is a
    /// setting that still sends to the stream this stack created before: the deployer set it,
    /// and that stream is gone, so it is deleted.
    async fn leave_event_stream(
        &mut self,
        stream_arn: &str,
        current: Option<wiring::EventStreamTarget>,
    ) -> Result<(), ApplyError> {
        let ours = self.session.expected_stream_arn(self.application);
        let (action, _) = plan::plan_event_stream(self.application, current.as_ref(), &ours, None);
        if action == ItemAction::Delete {
            wiring::delete_event_stream(&self.session.clients, &self.application.pinpoint_app_id)
                .await?;
            self.progress.line(format!(
                "removed the event stream that sent to {ours}, the stream this stack no longer has"
            ));
            self.outcome.event_stream = ItemAction::Delete;
            return Ok(());
        }
        match current {
            Some(current) if current.destination_arn == stream_arn => {}
            Some(current) => self.progress.line(format!(
                "warning: the application's event stream sends to {}, not to {stream_arn}, so the tagging function receives no events from it; event_stream mode existing leaves the setting alone",
                current.destination_arn
            )),
            None => self.progress.line(format!(
                "warning: the application has no event stream, so {stream_arn} receives none of its events; event_stream mode existing leaves the setting alone"
            )),
        }
        Ok(())
    }
}

/// Acts on the stack's status before apply creates or updates it, and returns the stable stack
/// to update, or `None` when apply must create the stack.
///
/// - `*_IN_PROGRESS`: waits for the running operation (at most `timeout`), then decides again.
/// - `REVIEW_IN_PROGRESS` and `ROLLBACK_COMPLETE` (the stack has no resources): deletes the
///   stack, except a `ROLLBACK_COMPLETE` stack in a `protected` environment, which stops with
///   [`StackError::Blocked`] for a person to read its events first.
/// - `UPDATE_ROLLBACK_FAILED`, `DELETE_FAILED`, `ROLLBACK_FAILED` and unexpected statuses stop
///   with [`StackError::Blocked`], naming the failed resources and the repair command.
/// - A stack whose managed tags name another owner stops with [`StackError::Foreign`].
///
/// Nothing but the deletion of an empty stack changes the stack here.
pub async fn prepare_stack(
    client: &aws_sdk_cloudformation::Client,
    mut stack: Option<DeployedStack>,
    owner: StackOwner<'_>,
    protected: bool,
    timeout: Duration,
    progress: &Progress,
) -> Result<Option<DeployedStack>, StackError> {
    loop {
        let Some(deployed) = &stack else {
            return Ok(None);
        };
        match deployed.state() {
            StackState::Missing => return Ok(None),
            _ if let Some(reason) =
                plan::foreign_stack_reason(deployed, owner.environment, owner.application) =>
            {
                return Err(StackError::Foreign(reason));
            }
            StackState::Stable => return Ok(stack),
            StackState::Stuck(reason) => {
                let explained = cloudformation::explain_stuck(client, deployed).await?;
                return Err(StackError::Blocked(explained.unwrap_or(reason)));
            }
            StackState::InProgress => {
                stack =
                    cloudformation::wait_for_running(client, deployed, timeout, progress).await?;
            }
            StackState::Empty => {
                if protected && deployed.status == "ROLLBACK_COMPLETE" {
                    return Err(StackError::Blocked(
                        protected_rollback_message(client, deployed).await?,
                    ));
                }
                progress.line(format!(
                    "stack {} is {} and holds no resources; deleting it before creating it again",
                    deployed.name, deployed.status
                ));
                cloudformation::delete_and_wait(client, deployed, timeout, progress).await?;
                stack = None;
            }
        }
    }
}

/// Explains why apply keeps a failed first create in a protected environment, with the
/// resource that made the create fail.
async fn protected_rollback_message(
    client: &aws_sdk_cloudformation::Client,
    deployed: &DeployedStack,
) -> Result<String, StackError> {
    let failed =
        cloudformation::read_failed_resources(client, &deployed.id, "CREATE_IN_PROGRESS").await?;
    let name = &deployed.name;
    let mut message = format!("stack {name} is ROLLBACK_COMPLETE because its first create failed");
    match failed.first() {
        Some(first) => message.push_str(&format!(" on {first}")),
        None => message.push('.'),
    }
    if !message.ends_with('.') {
        message.push('.');
    }
    message.push_str(&format!(
        " The environment is protected, so read the stack's events, delete it yourself with `aws cloudformation delete-stack --stack-name {name}`, then apply again."
    ));
    Ok(message)
}

/// Returns a unique change set name. The deployer refers to change sets by the ARN that
/// CreateChangeSet returns, never by this name.
fn change_set_name() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis())
        .unwrap_or_default();
    format!("pinpoint-attribution-{millis}")
}
