//! CloudFormation operations: reading stacks, change sets, waiting with stack events, deletion.

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ProvideErrorMetadata;
use aws_sdk_cloudformation::types::{
    Capability, ChangeSetStatus, ChangeSetType, Parameter, StackEvent, Tag, TemplateStage,
};
use serde::Serialize;

use crate::aws::AwsError;
use crate::progress::Progress;

/// CloudFormation's limit on an inline template body, in bytes.
pub const MAX_TEMPLATE_BODY_BYTES: usize = 51_200;

/// Maximum wait for a change set in [`create_change_set`]; commands pass their `--timeout`
/// to [`create_change_set_within`] instead.
pub const DEFAULT_CHANGE_SET_TIMEOUT: Duration = Duration::from_secs(600);

/// A stack as DescribeStacks reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeployedStack {
    pub id: String,
    pub name: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub outputs: BTreeMap<String, String>,
    /// Whether termination protection is on (DescribeStacks `EnableTerminationProtection`).
    pub termination_protection: bool,
}

/// The environment and application that a stack's managed tags must name.
#[derive(Debug, Clone, Copy)]
pub struct StackOwner<'a> {
    pub environment: &'a str,
    pub application: &'a str,
}

/// Class of a stack status, which decides what apply does with the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StackState {
    /// No stack of that name, or a deleted one (`DELETE_COMPLETE`, as DescribeStacks reports a
    /// deleted stack by its ARN).
    Missing,
    /// Settled after a successful create or update (or a rolled-back update): update normally.
    Stable,
    /// Created by a change set that was never executed, or a first create that rolled back:
    /// the stack has no resources and can be deleted and created again.
    Empty,
    /// An operation is running: wait, then look again.
    InProgress,
    /// Needs a person: the reason names the command to run.
    Stuck(String),
}

impl DeployedStack {
    /// Classifies the stack status for apply.
    pub fn state(&self) -> StackState {
        let status = self.status.as_str();
        match status {
            "CREATE_COMPLETE"
            | "UPDATE_COMPLETE"
            | "UPDATE_ROLLBACK_COMPLETE"
            | "IMPORT_COMPLETE"
            | "IMPORT_ROLLBACK_COMPLETE" => StackState::Stable,
            "REVIEW_IN_PROGRESS" | "ROLLBACK_COMPLETE" => StackState::Empty,
            "DELETE_COMPLETE" => StackState::Missing,
            "UPDATE_ROLLBACK_FAILED" => StackState::Stuck(format!(
                "stack {} is UPDATE_ROLLBACK_FAILED; fix the resources named in its events, then run `aws cloudformation continue-update-rollback --stack-name {}`",
                self.name, self.name
            )),
            "DELETE_FAILED" | "ROLLBACK_FAILED" => StackState::Stuck(format!(
                "stack {} is {status}; remove what blocks deletion (see its events), then run `aws cloudformation delete-stack --stack-name {}`",
                self.name, self.name
            )),
            other if other.ends_with("_IN_PROGRESS") => StackState::InProgress,
            other => StackState::Stuck(format!(
                "stack {} is in the unexpected status {other}; check its events in the CloudFormation console",
                self.name
            )),
        }
    }
}

/// One resource action of a change set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResourceChange {
    pub action: String,
    pub logical_id: String,
    pub resource_type: String,
    /// `True`, `False` or `Conditional` when CloudFormation reports it.
    pub replacement: Option<String>,
    /// Names of the properties or attributes that change.
    pub changed: Vec<String>,
}

impl ResourceChange {
    /// Returns whether the change destroys the existing resource (a replacement or a removal).
    pub fn destroys_resource(&self) -> bool {
        self.action == "Remove"
            || matches!(
                self.replacement.as_deref(),
                Some("True") | Some("Conditional")
            )
    }
}

/// A change set that CloudFormation finished creating.
#[derive(Debug, Clone)]
pub enum ChangeSet {
    /// Ready to execute, with its resource actions.
    Ready {
        arn: String,
        stack_id: String,
        changes: Vec<ResourceChange>,
    },
    /// CloudFormation found nothing to change; the change set is already deleted.
    Empty,
}

/// Everything needed to create a change set.
#[derive(Debug, Clone)]
pub struct ChangeSetRequest<'a> {
    pub stack_name: &'a str,
    pub template: &'a str,
    pub parameters: &'a BTreeMap<String, String>,
    pub tags: &'a BTreeMap<String, String>,
    pub create: bool,
    pub name: String,
    pub description: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    #[error("change set for stack {stack} failed: {reason}")]
    ChangeSetFailed { stack: String, reason: String },
    #[error("stack {stack} ended in {status}: {reason}")]
    OperationFailed {
        stack: String,
        status: String,
        reason: String,
    },
    #[error(
        "stack {stack} timed out after {seconds} s in status {status}. CloudFormation may still be working on it: check its events with `aws cloudformation describe-stack-events --stack-name {stack}`, raise --timeout if it is only slow, then run the command again"
    )]
    TimedOut {
        stack: String,
        seconds: u64,
        status: String,
    },
    #[error("{0}")]
    Foreign(String),
    /// A stack status that a person must repair before the command can change the stack. The
    /// message names the failed resources and the command that repairs the stack.
    #[error("{0}")]
    Blocked(String),
    #[error(
        "stack {stack} has termination protection, left from when the environment was protected; run apply once with protected: false, which turns it off, then destroy"
    )]
    TerminationProtected { stack: String },
    #[error(
        "the template of stack {stack} is {size} bytes, over CloudFormation's inline limit of {MAX_TEMPLATE_BODY_BYTES}; shorten the environment's tag values or names"
    )]
    TemplateTooLarge { stack: String, size: usize },
}

/// Returns whether an error is CloudFormation's response for a stack that does not exist.
fn is_missing_stack(code: Option<&str>, message: Option<&str>) -> bool {
    code == Some("ValidationError") && message.is_some_and(|text| text.contains("does not exist"))
}

/// Returns whether a change set failure or CreateChangeSet error means "nothing to change".
///
/// CloudFormation reports this as a FAILED change set with "The submitted information didn't
/// contain changes"; some implementations reject CreateChangeSet with "No updates are to be
/// performed". Both mean the stack already matches.
pub fn is_no_changes(message: &str) -> bool {
    message.contains("didn't contain changes") || message.contains("No updates are to be performed")
}

/// Reads a stack by name or id; `None` when it does not exist.
pub async fn describe_stack(
    client: &Client,
    stack: &str,
) -> Result<Option<DeployedStack>, AwsError> {
    let response = match client.describe_stacks().stack_name(stack).send().await {
        Ok(response) => response,
        Err(error) => {
            let service_error = error.as_service_error();
            if is_missing_stack(
                service_error.and_then(|e| e.code()),
                service_error.and_then(|e| e.message()),
            ) {
                return Ok(None);
            }
            return Err(AwsError::new("DescribeStacks", stack, error));
        }
    };

    let Some(found) = response.stacks().first() else {
        return Ok(None);
    };
    Ok(Some(DeployedStack {
        id: found.stack_id().unwrap_or(stack).to_owned(),
        name: found.stack_name().unwrap_or(stack).to_owned(),
        status: found
            .stack_status()
            .map(|status| status.as_str().to_owned())
            .unwrap_or_default(),
        status_reason: found.stack_status_reason().map(str::to_owned),
        tags: found
            .tags()
            .iter()
            .map(|tag| {
                (
                    tag.key().unwrap_or_default().to_owned(),
                    tag.value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        parameters: found
            .parameters()
            .iter()
            .map(|parameter| {
                (
                    parameter.parameter_key().unwrap_or_default().to_owned(),
                    parameter.parameter_value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        outputs: found
            .outputs()
            .iter()
            .map(|output| {
                (
                    output.output_key().unwrap_or_default().to_owned(),
                    output.output_value().unwrap_or_default().to_owned(),
                )
            })
            .collect(),
        termination_protection: found.enable_termination_protection().unwrap_or(false),
    }))
}

/// Returns the template body as it was submitted.
pub async fn get_template(client: &Client, stack: &str) -> Result<String, AwsError> {
    let response = client
        .get_template()
        .stack_name(stack)
        .template_stage(TemplateStage::Original)
        .send()
        .await
        .map_err(|error| AwsError::new("GetTemplate", stack, error))?;
    Ok(response.template_body().unwrap_or_default().to_owned())
}

/// Creates a change set and waits until CloudFormation has computed it.
///
/// A change set without changes is deleted and reported as [`ChangeSet::Empty`]; a failed one
/// is deleted and returned as an error, so no half-made change set stays behind.
pub async fn create_change_set(
    client: &Client,
    request: &ChangeSetRequest<'_>,
) -> Result<ChangeSet, StackError> {
    create_change_set_within(client, request, DEFAULT_CHANGE_SET_TIMEOUT).await
}

/// Creates a change set like [`create_change_set`], waiting at most `timeout` for
/// CloudFormation to compute it.
pub async fn create_change_set_within(
    client: &Client,
    request: &ChangeSetRequest<'_>,
    timeout: Duration,
) -> Result<ChangeSet, StackError> {
    if request.template.len() > MAX_TEMPLATE_BODY_BYTES {
        return Err(StackError::TemplateTooLarge {
            stack: request.stack_name.to_owned(),
            size: request.template.len(),
        });
    }

    let kind = if request.create {
        ChangeSetType::Create
    } else {
        ChangeSetType::Update
    };
    let created = client
        .create_change_set()
        .stack_name(request.stack_name)
        .change_set_name(&request.name)
        .change_set_type(kind)
        .template_body(request.template)
        .description(&request.description)
        .capabilities(Capability::CapabilityIam)
        .set_parameters(Some(to_parameters(request.parameters)))
        .set_tags(Some(to_tags(request.tags)))
        .send()
        .await;
    let created = match created {
        Ok(created) => created,
        Err(error) => {
            let message = error
                .as_service_error()
                .and_then(|e| e.message())
                .unwrap_or_default();
            if is_no_changes(message) {
                return Ok(ChangeSet::Empty);
            }
            return Err(AwsError::new("CreateChangeSet", request.stack_name, error).into());
        }
    };

    let arn = created.id().unwrap_or_default().to_owned();
    let stack_id = created.stack_id().unwrap_or(request.stack_name).to_owned();
    match wait_for_change_set(client, &arn, request.stack_name, timeout).await {
        Ok(changes) => Ok(ChangeSet::Ready {
            arn,
            stack_id,
            changes,
        }),
        Err(StackError::ChangeSetFailed { reason, .. }) if is_no_changes(&reason) => {
            delete_change_set(client, &arn).await?;
            Ok(ChangeSet::Empty)
        }
        Err(error) => {
            // Best effort: the original failure matters more than a failed clean-up.
            let _ = delete_change_set(client, &arn).await;
            Err(error)
        }
    }
}

async fn wait_for_change_set(
    client: &Client,
    arn: &str,
    stack: &str,
    limit: Duration,
) -> Result<Vec<ResourceChange>, StackError> {
    let mut delay = Duration::from_millis(200);
    let started = Instant::now();
    loop {
        let response = client
            .describe_change_set()
            .change_set_name(arn)
            .send()
            .await
            .map_err(|error| AwsError::new("DescribeChangeSet", arn, error))?;

        match response.status() {
            Some(ChangeSetStatus::CreateComplete) => {
                return read_changes(client, arn, response.changes(), response.next_token()).await;
            }
            Some(ChangeSetStatus::Failed) => {
                return Err(StackError::ChangeSetFailed {
                    stack: stack.to_owned(),
                    reason: response
                        .status_reason()
                        .unwrap_or("no reason given")
                        .to_owned(),
                });
            }
            _ if started.elapsed() >= limit => {
                return Err(StackError::TimedOut {
                    stack: stack.to_owned(),
                    seconds: limit.as_secs(),
                    status: "change set CREATE_IN_PROGRESS".to_owned(),
                });
            }
            _ => {
                tokio::time::sleep(delay.min(limit.saturating_sub(started.elapsed()))).await;
                delay = (delay * 3 / 2).min(Duration::from_secs(5));
            }
        }
    }
}

async fn read_changes(
    client: &Client,
    arn: &str,
    first_page: &[aws_sdk_cloudformation::types::Change],
    mut next_token: Option<&str>,
) -> Result<Vec<ResourceChange>, StackError> {
    let mut changes: Vec<ResourceChange> =
        first_page.iter().filter_map(to_resource_change).collect();
    let mut token = next_token.take().map(str::to_owned);
    while let Some(current) = token {
        let page = client
            .describe_change_set()
            .change_set_name(arn)
            .next_token(current)
            .send()
            .await
            .map_err(|error| AwsError::new("DescribeChangeSet", arn, error))?;
        changes.extend(page.changes().iter().filter_map(to_resource_change));
        token = page.next_token().map(str::to_owned);
    }
    Ok(changes)
}

fn to_resource_change(change: &aws_sdk_cloudformation::types::Change) -> Option<ResourceChange> {
    let resource = change.resource_change()?;
    let mut changed: Vec<String> = resource
        .details()
        .iter()
        .filter_map(|detail| detail.target())
        .filter_map(|target| {
            target
                .name()
                .or_else(|| target.attribute().map(|a| a.as_str()))
        })
        .map(str::to_owned)
        .collect();
    changed.sort();
    changed.dedup();
    Some(ResourceChange {
        action: resource
            .action()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        logical_id: resource
            .logical_resource_id()
            .unwrap_or_default()
            .to_owned(),
        resource_type: resource.resource_type().unwrap_or_default().to_owned(),
        replacement: resource.replacement().map(|r| r.as_str().to_owned()),
        changed,
    })
}

/// Deletes a change set by ARN.
pub async fn delete_change_set(client: &Client, arn: &str) -> Result<(), AwsError> {
    client
        .delete_change_set()
        .change_set_name(arn)
        .send()
        .await
        .map_err(|error| AwsError::new("DeleteChangeSet", arn, error))?;
    Ok(())
}

/// Starts executing a change set by ARN.
pub async fn execute_change_set(client: &Client, arn: &str) -> Result<(), AwsError> {
    client
        .execute_change_set()
        .change_set_name(arn)
        .send()
        .await
        .map_err(|error| AwsError::new("ExecuteChangeSet", arn, error))?;
    Ok(())
}

/// Turns the stack's termination protection on or off.
pub async fn update_termination_protection(
    client: &Client,
    stack: &str,
    enabled: bool,
) -> Result<(), AwsError> {
    client
        .update_termination_protection()
        .stack_name(stack)
        .enable_termination_protection(enabled)
        .send()
        .await
        .map_err(|error| AwsError::new("UpdateTerminationProtection", stack, error))?;
    Ok(())
}

/// Starts deleting a stack.
pub async fn delete_stack(client: &Client, stack: &str) -> Result<(), AwsError> {
    client
        .delete_stack()
        .stack_name(stack)
        .send()
        .await
        .map_err(|error| AwsError::new("DeleteStack", stack, error))?;
    Ok(())
}

/// Prints stack events that appear while an operation runs.
///
/// The events already present when the watcher is made are the baseline and never printed,
/// so no clock comparison between this machine and AWS is needed.
#[derive(Debug)]
pub struct EventWatcher {
    stack_id: String,
    seen: HashSet<String>,
    /// Events of this operation, oldest first.
    events: Vec<StackEvent>,
}

impl EventWatcher {
    /// Records the events the stack already has.
    pub async fn new(client: &Client, stack_id: &str) -> Result<EventWatcher, AwsError> {
        let mut watcher = EventWatcher {
            stack_id: stack_id.to_owned(),
            seen: HashSet::new(),
            events: Vec::new(),
        };
        for event in watcher.fetch_page(client).await? {
            if let Some(id) = event.event_id() {
                watcher.seen.insert(id.to_owned());
            }
        }
        Ok(watcher)
    }

    async fn fetch_page(&self, client: &Client) -> Result<Vec<StackEvent>, AwsError> {
        let response = client
            .describe_stack_events()
            .stack_name(&self.stack_id)
            .send()
            .await
            .map_err(|error| AwsError::new("DescribeStackEvents", &self.stack_id, error))?;
        Ok(response.stack_events().to_vec())
    }

    /// Prints the events that appeared since the last call, oldest first.
    pub async fn poll(&mut self, client: &Client, progress: &Progress) -> Result<(), AwsError> {
        let mut fresh: Vec<StackEvent> = self
            .fetch_page(client)
            .await?
            .into_iter()
            .filter(|event| event.event_id().is_some_and(|id| !self.seen.contains(id)))
            .collect();
        fresh.reverse();
        for event in fresh {
            self.seen
                .insert(event.event_id().unwrap_or_default().to_owned());
            progress.line(format_event(&event));
            self.events.push(event);
        }
        Ok(())
    }

    /// Returns the first resource that failed in this operation, with its reason.
    ///
    /// Later failures are usually the cascade of cancellations and rollbacks it caused.
    pub fn first_failure(&self) -> Option<String> {
        self.failed_resources()
            .first()
            .map(FailedResource::to_string)
    }

    /// Returns the resources that failed in this operation, oldest first.
    pub fn failed_resources(&self) -> Vec<FailedResource> {
        self.events
            .iter()
            .filter_map(FailedResource::from_event)
            .collect()
    }
}

/// A resource that failed during a stack operation, as its stack event reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedResource {
    pub logical_id: String,
    pub resource_type: String,
    /// The event's resource status, such as `UPDATE_FAILED` or `DELETE_FAILED`.
    pub status: String,
    pub reason: String,
}

impl FailedResource {
    /// Reads a resource's failure event. Returns `None` for other events and for the stack's own.
    fn from_event(event: &StackEvent) -> Option<FailedResource> {
        let status = event.resource_status()?.as_str();
        if !status.ends_with("_FAILED") || is_stack_event(event) {
            return None;
        }
        Some(FailedResource {
            logical_id: event.logical_resource_id().unwrap_or("?").to_owned(),
            resource_type: event.resource_type().unwrap_or("?").to_owned(),
            status: status.to_owned(),
            reason: event
                .resource_status_reason()
                .unwrap_or("no reason given")
                .to_owned(),
        })
    }
}

impl std::fmt::Display for FailedResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) {}: {}",
            self.logical_id, self.resource_type, self.status, self.reason
        )
    }
}

/// Returns whether an event is about the stack itself rather than one of its resources.
fn is_stack_event(event: &StackEvent) -> bool {
    event.physical_resource_id().is_some() && event.physical_resource_id() == event.stack_id()
}

fn format_event(event: &StackEvent) -> String {
    let mut line = format!(
        "{:<28} {:<32} {}",
        event.resource_status().map(|s| s.as_str()).unwrap_or("?"),
        event.resource_type().unwrap_or("?"),
        event.logical_resource_id().unwrap_or("?")
    );
    if let Some(reason) = event.resource_status_reason() {
        line.push_str(&format!(": {reason}"));
    }
    line
}

/// Waits until the stack leaves every `*_IN_PROGRESS` status, printing its events.
///
/// Returns the settled stack; `expect` is the status that counts as success. A stack that no
/// longer exists is returned as `None` (the end of a deletion).
pub async fn wait_for_stack(
    client: &Client,
    watcher: &mut EventWatcher,
    expect: &str,
    timeout: Duration,
    progress: &Progress,
) -> Result<Option<DeployedStack>, StackError> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        watcher.poll(client, progress).await?;
        let stack = describe_stack(client, &watcher.stack_id).await?;
        let Some(stack) = stack else {
            return Ok(None);
        };

        if !stack.status.ends_with("_IN_PROGRESS") {
            if stack.status == expect {
                return Ok(Some(stack));
            }
            let reason = watcher
                .first_failure()
                .or_else(|| stack.status_reason.clone())
                .unwrap_or_else(|| "no reason reported; see the stack's events".to_owned());
            return Err(StackError::OperationFailed {
                stack: stack.name,
                status: stack.status,
                reason,
            });
        }

        if started.elapsed() >= timeout {
            return Err(StackError::TimedOut {
                stack: stack.name,
                seconds: timeout.as_secs(),
                status: stack.status,
            });
        }
        tokio::time::sleep(delay.min(timeout.saturating_sub(started.elapsed()))).await;
        delay = (delay * 3 / 2).min(Duration::from_secs(5));
    }
}

/// Waits for the operation that `stack` is running to finish, printing its events, and
/// returns the stack as it then is (`None` when it no longer exists).
pub async fn wait_for_running(
    client: &Client,
    stack: &DeployedStack,
    timeout: Duration,
    progress: &Progress,
) -> Result<Option<DeployedStack>, StackError> {
    progress.line(format!(
        "stack {} is {}; waiting for it to settle",
        stack.name, stack.status
    ));
    let mut watcher = EventWatcher::new(client, &stack.id).await?;
    wait_settled(client, &mut watcher, timeout, progress).await
}

/// Waits for a running operation to end, whatever its result, and returns the stack as it
/// settled.
///
/// Returns `None` when the stack no longer exists. A deleted stack read by its ARN comes back
/// as `DELETE_COMPLETE`, which [`DeployedStack::state`] classifies as missing.
pub async fn wait_settled(
    client: &Client,
    watcher: &mut EventWatcher,
    timeout: Duration,
    progress: &Progress,
) -> Result<Option<DeployedStack>, StackError> {
    // Any settled status is fine here: the caller classifies it again.
    match wait_for_stack(client, watcher, "", timeout, progress).await {
        Ok(stack) => Ok(stack),
        Err(StackError::OperationFailed { stack, .. }) => Ok(describe_stack(client, &stack).await?),
        Err(error) => Err(error),
    }
}

/// Deletes a stack and waits until CloudFormation has removed it.
///
/// A deletion that ends in `DELETE_FAILED` returns [`StackError::Blocked`] with the resources
/// that blocked it and the command that deletes the stack without them.
pub async fn delete_and_wait(
    client: &Client,
    stack: &DeployedStack,
    timeout: Duration,
    progress: &Progress,
) -> Result<(), StackError> {
    let mut watcher = EventWatcher::new(client, &stack.id).await?;
    delete_stack(client, &stack.id).await?;
    let waited = wait_for_stack(client, &mut watcher, "DELETE_COMPLETE", timeout, progress).await;
    match waited {
        Ok(_) => Ok(()),
        Err(StackError::OperationFailed { status, .. }) if status == "DELETE_FAILED" => {
            Err(StackError::Blocked(repair_message(
                &stack.name,
                &status,
                &watcher.failed_resources(),
                None,
            )))
        }
        Err(error) => Err(error),
    }
}

/// Maximum number of stack events read while looking for the start of an operation.
///
/// NOTE: when the operation started more events ago than this, only the failures among the
/// events read are reported.
const MAX_EVENTS_READ: usize = 500;

/// Reads the resources that failed since the stack's own `since_status` event, which marks the
/// start of an operation (`DELETE_IN_PROGRESS` for a deletion), oldest first.
pub async fn read_failed_resources(
    client: &Client,
    stack_id: &str,
    since_status: &str,
) -> Result<Vec<FailedResource>, AwsError> {
    let mut events = client
        .describe_stack_events()
        .stack_name(stack_id)
        .into_paginator()
        .items()
        .send();
    let mut failed = Vec::new();
    for _ in 0..MAX_EVENTS_READ {
        let event = events
            .try_next()
            .await
            .map_err(|error| AwsError::new("DescribeStackEvents", stack_id, error))?;
        let Some(event) = event else {
            break;
        };
        let status = event.resource_status().map(|status| status.as_str());
        if is_stack_event(&event) && status == Some(since_status) {
            break;
        }
        failed.extend(FailedResource::from_event(&event));
    }
    // DescribeStackEvents returns the newest events first.
    failed.reverse();
    Ok(failed)
}

/// Returns the stack status that starts the operation which left a stack in `status`, for
/// the statuses that need repair.
fn repair_phase_start(status: &str) -> Option<&'static str> {
    match status {
        "UPDATE_ROLLBACK_FAILED" => Some("UPDATE_ROLLBACK_IN_PROGRESS"),
        "DELETE_FAILED" => Some("DELETE_IN_PROGRESS"),
        "ROLLBACK_FAILED" => Some("ROLLBACK_IN_PROGRESS"),
        _ => None,
    }
}

/// Explains a stack that is `UPDATE_ROLLBACK_FAILED`, `DELETE_FAILED` or `ROLLBACK_FAILED`
/// from its events (see [`repair_message`]). Returns `None` for any other status.
pub async fn explain_stuck(
    client: &Client,
    stack: &DeployedStack,
) -> Result<Option<String>, AwsError> {
    let Some(started) = repair_phase_start(&stack.status) else {
        return Ok(None);
    };
    let failed = read_failed_resources(client, &stack.id, started).await?;
    Ok(Some(repair_message(
        &stack.name,
        &stack.status,
        &failed,
        stack.status_reason.as_deref(),
    )))
}

/// Adds repair advice to a failed operation whose rollback failed too
/// (`UPDATE_ROLLBACK_FAILED`, `ROLLBACK_FAILED`), and returns other errors as they are.
///
/// The error names the resource that made the operation fail, and the advice names the
/// resources whose rollback failed afterwards, which are the ones to repair. The advice is
/// best effort: when the stack events cannot be read, the original error is returned.
pub async fn add_repair_advice(client: &Client, error: StackError) -> StackError {
    let StackError::OperationFailed { stack, status, .. } = &error else {
        return error;
    };
    if status == "DELETE_FAILED" {
        return error;
    }
    let Some(started) = repair_phase_start(status) else {
        return error;
    };
    match read_failed_resources(client, stack, started).await {
        Ok(failed) => {
            let advice = repair_advice(stack, status, &failed);
            StackError::Blocked(format!("{} {advice}", end_sentence(error.to_string())))
        }
        Err(_) => error,
    }
}

/// Builds the message for a stack that needs repair: its status, the first failed resource
/// with its reason, the other failed resources, and the AWS CLI command that repairs it.
///
/// `failed` lists the resources that failed in the operation that left the stack in `status`,
/// oldest first. `status_reason` is shown when that list is empty.
pub fn repair_message(
    stack: &str,
    status: &str,
    failed: &[FailedResource],
    status_reason: Option<&str>,
) -> String {
    let mut message = format!("stack {stack} is {status}.");
    if failed.is_empty()
        && let Some(reason) = status_reason
    {
        message.push_str(&end_sentence(format!(" CloudFormation reports: {reason}")));
    }
    format!("{message} {}", repair_advice(stack, status, failed))
}

/// Builds the repair advice for a stack in `status`: the first failed resource with its
/// reason, the other failed resources, and the AWS CLI command that repairs the stack.
fn repair_advice(stack: &str, status: &str, failed: &[FailedResource]) -> String {
    let phase = match status {
        "UPDATE_ROLLBACK_FAILED" | "ROLLBACK_FAILED" => "rollback",
        "DELETE_FAILED" => "deletion",
        _ => "operation",
    };
    let mut advice = match failed.first() {
        Some(first) => end_sentence(format!("Its {phase} failed first on {first}")),
        None => format!("Its events name no resource that failed in the {phase}."),
    };
    let failed_ids = unique_logical_ids(failed.iter());
    if failed_ids.len() > 1 {
        advice.push_str(&format!(" Also failed: {}.", failed_ids[1..].join(", ")));
    }

    match status {
        "UPDATE_ROLLBACK_FAILED" => {
            advice.push_str(&format!(
                " Fix the cause, then run `aws cloudformation continue-update-rollback --stack-name {stack}` and run this command again."
            ));
            // Only resources whose rollback failed (UPDATE_FAILED) may be skipped.
            let skippable = unique_logical_ids(
                failed
                    .iter()
                    .filter(|resource| resource.status == "UPDATE_FAILED"),
            );
            if !skippable.is_empty() {
                advice.push_str(&format!(
                    " If a resource cannot roll back, add `--resources-to-skip {}`: CloudFormation then marks it as rolled back without changing it, so check it before the next update.",
                    skippable.join(" ")
                ));
            }
        }
        "DELETE_FAILED" => {
            advice.push_str(&format!(
                " Remove what blocks the deletion, then delete the stack again with destroy or `aws cloudformation delete-stack --stack-name {stack}`."
            ));
            let blocking = unique_logical_ids(
                failed
                    .iter()
                    .filter(|resource| resource.status == "DELETE_FAILED"),
            );
            if !blocking.is_empty() {
                advice.push_str(&format!(
                    " To delete the stack but keep those resources in the account, run `aws cloudformation delete-stack --stack-name {stack} --retain-resources {}`.",
                    blocking.join(" ")
                ));
            }
        }
        "ROLLBACK_FAILED" => advice.push_str(&format!(
            " Remove what blocks the deletion, then delete the stack with `aws cloudformation delete-stack --stack-name {stack}`."
        )),
        _ => advice.push_str(&format!(
            " Check its events with `aws cloudformation describe-stack-events --stack-name {stack}`."
        )),
    }
    advice
}

/// Ends a sentence with a full stop unless it has one.
fn end_sentence(mut text: String) -> String {
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

fn unique_logical_ids<'a>(resources: impl Iterator<Item = &'a FailedResource>) -> Vec<&'a str> {
    let mut ids: Vec<&str> = Vec::new();
    for resource in resources {
        if !ids.contains(&resource.logical_id.as_str()) {
            ids.push(&resource.logical_id);
        }
    }
    ids
}

fn to_parameters(parameters: &BTreeMap<String, String>) -> Vec<Parameter> {
    parameters
        .iter()
        .map(|(key, value)| {
            Parameter::builder()
                .parameter_key(key)
                .parameter_value(value)
                .build()
        })
        .collect()
}

fn to_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(status: &str) -> DeployedStack {
        DeployedStack {
            id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1".to_owned(),
            name: "s".to_owned(),
            status: status.to_owned(),
            status_reason: None,
            tags: BTreeMap::new(),
            parameters: BTreeMap::new(),
            outputs: BTreeMap::new(),
            termination_protection: false,
        }
    }

    #[test]
    fn stack_state_by_status() {
        assert_eq!(stack("CREATE_COMPLETE").state(), StackState::Stable);
        assert_eq!(
            stack("UPDATE_ROLLBACK_COMPLETE").state(),
            StackState::Stable
        );
        assert_eq!(stack("REVIEW_IN_PROGRESS").state(), StackState::Empty);
        assert_eq!(stack("ROLLBACK_COMPLETE").state(), StackState::Empty);
        assert_eq!(stack("UPDATE_IN_PROGRESS").state(), StackState::InProgress);
        assert_eq!(stack("DELETE_COMPLETE").state(), StackState::Missing);
        assert!(
            matches!(stack("UPDATE_ROLLBACK_FAILED").state(), StackState::Stuck(reason) if reason.contains("continue-update-rollback"))
        );
        assert!(
            matches!(stack("DELETE_FAILED").state(), StackState::Stuck(reason) if reason.contains("delete-stack"))
        );
    }

    #[test]
    fn no_changes_messages() {
        assert!(is_no_changes(
            "The submitted information didn't contain changes. Submit different information to create a change set."
        ));
        assert!(is_no_changes("No updates are to be performed."));
        assert!(!is_no_changes(
            "Template format error: Unresolved resource dependencies [Foo]"
        ));
    }

    #[test]
    fn replacement_destroys_resource() {
        let change = |action: &str, replacement: Option<&str>| ResourceChange {
            action: action.to_owned(),
            logical_id: "Table".to_owned(),
            resource_type: "AWS::DynamoDB::Table".to_owned(),
            replacement: replacement.map(str::to_owned),
            changed: vec![],
        };
        assert!(change("Modify", Some("True")).destroys_resource());
        assert!(change("Modify", Some("Conditional")).destroys_resource());
        assert!(change("Remove", None).destroys_resource());
        assert!(!change("Modify", Some("False")).destroys_resource());
        assert!(!change("Add", None).destroys_resource());
    }
}
