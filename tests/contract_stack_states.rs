//! Contract tests: what apply and destroy do with a stack in each CloudFormation status.
//!
//! The responses are recorded in the shape AWS sends them, because the emulator cannot
//! produce these states: its stacks complete at once, never roll back, never fail a deletion
//! and report no failed resources. Each test drives the status step of apply
//! (`apply::prepare_stack`) or destroy (`destroy::prepare_stack` and the deletion) through one
//! row of the README's stack-state table, then asserts which CloudFormation operations ran.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::continue_update_rollback::ContinueUpdateRollbackOutput;
use aws_sdk_cloudformation::operation::create_change_set::CreateChangeSetOutput;
use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::delete_stack::DeleteStackOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::update_stack::UpdateStackOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus, Tag};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;

use pinpoint_attribution::cloudformation::{
    self, DeployedStack, EventWatcher, StackError, StackOwner,
};
use pinpoint_attribution::progress::Progress;
use pinpoint_attribution::render::{APPLICATION_TAG, ENVIRONMENT_TAG};
use pinpoint_attribution::{apply, destroy};

const STACK: &str = "pinpoint-attribution-dev-shop";
const STACK_ID: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/pinpoint-attribution-dev-shop/0a1b";
const ENVIRONMENT: &str = "dev";
const APPLICATION: &str = "shop";
const OWNER: StackOwner<'static> = StackOwner {
    environment: ENVIRONMENT,
    application: APPLICATION,
};
const TIMEOUT: Duration = Duration::from_secs(10);

/// The rolled-back Lambda code was deleted from the artifacts bucket: a usual reason for an
/// update rollback to fail.
const ROLLBACK_REASON: &str = "Resource handler returned message: \"Error occurred while GetObject. S3 Error Code: NoSuchKey. S3 Error Message: The specified key does not exist.\" (RequestToken: 5c1e, HandlerErrorCode: InvalidRequest)";
const UPDATE_REASON: &str =
    "Resource handler returned message: \"Attempting to change provisioned throughput\"";
const ROLE_DELETE_REASON: &str = "Cannot delete entity, must detach all policies first. (Service: Iam, Status Code: 409, Request ID: 7d2f)";
const QUEUE_DELETE_REASON: &str = "Resource handler returned message: \"Access to the resource https://sqs.eu-west-1.amazonaws.com/123456789012/dev-shop-failures is denied.\"";

/// Operations that change a stack. Each test registers all of them, so a call to one that the
/// test does not expect is counted instead of failing inside the code under test.
struct Mutations {
    create_change_set: Rule,
    execute_change_set: Rule,
    delete_change_set: Rule,
    delete_stack: Rule,
    update_termination_protection: Rule,
    continue_update_rollback: Rule,
    create_stack: Rule,
    update_stack: Rule,
}

impl Mutations {
    fn new() -> Mutations {
        Mutations {
            create_change_set: mock!(Client::create_change_set)
                .then_output(|| CreateChangeSetOutput::builder().build()),
            execute_change_set: mock!(Client::execute_change_set)
                .then_output(|| ExecuteChangeSetOutput::builder().build()),
            delete_change_set: mock!(Client::delete_change_set)
                .then_output(|| DeleteChangeSetOutput::builder().build()),
            delete_stack: mock!(Client::delete_stack)
                .match_requests(|input| input.stack_name() == Some(STACK_ID))
                .then_output(|| DeleteStackOutput::builder().build()),
            update_termination_protection: mock!(Client::update_termination_protection)
                .then_output(|| UpdateTerminationProtectionOutput::builder().build()),
            continue_update_rollback: mock!(Client::continue_update_rollback)
                .then_output(|| ContinueUpdateRollbackOutput::builder().build()),
            create_stack: mock!(Client::create_stack)
                .then_output(|| CreateStackOutput::builder().build()),
            update_stack: mock!(Client::update_stack)
                .then_output(|| UpdateStackOutput::builder().build()),
        }
    }

    fn named(&self) -> [(&'static str, &Rule); 8] {
        [
            ("CreateChangeSet", &self.create_change_set),
            ("ExecuteChangeSet", &self.execute_change_set),
            ("DeleteChangeSet", &self.delete_change_set),
            ("DeleteStack", &self.delete_stack),
            (
                "UpdateTerminationProtection",
                &self.update_termination_protection,
            ),
            ("ContinueUpdateRollback", &self.continue_update_rollback),
            ("CreateStack", &self.create_stack),
            ("UpdateStack", &self.update_stack),
        ]
    }

    /// Asserts that only DeleteStack ran, `deletions` times.
    fn assert_only_deletions(&self, deletions: usize) {
        for (operation, rule) in self.named() {
            let expected = if operation == "DeleteStack" {
                deletions
            } else {
                0
            };
            assert_eq!(rule.num_calls(), expected, "calls of {operation}");
        }
    }

    fn assert_none(&self) {
        self.assert_only_deletions(0);
    }
}

/// Builds a client that returns the read rules' responses and accepts every mutating operation.
fn client_with(reads: &[&Rule], mutations: &Mutations) -> Client {
    let mut rules: Vec<&Rule> = reads.to_vec();
    rules.extend(mutations.named().into_iter().map(|(_, rule)| rule));
    mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, rules)
}

/// A stack of this environment and application, as `describe_stack` returns it.
fn deployed(status: &str) -> DeployedStack {
    DeployedStack {
        id: STACK_ID.to_owned(),
        name: STACK.to_owned(),
        status: status.to_owned(),
        status_reason: None,
        tags: [
            (ENVIRONMENT_TAG.to_owned(), ENVIRONMENT.to_owned()),
            (APPLICATION_TAG.to_owned(), APPLICATION.to_owned()),
        ]
        .into_iter()
        .collect(),
        parameters: BTreeMap::new(),
        outputs: BTreeMap::new(),
        termination_protection: false,
    }
}

fn described(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_id(STACK_ID)
                .stack_name(STACK)
                .stack_status(status)
                .tags(
                    Tag::builder()
                        .key(ENVIRONMENT_TAG)
                        .value(ENVIRONMENT)
                        .build(),
                )
                .tags(
                    Tag::builder()
                        .key(APPLICATION_TAG)
                        .value(APPLICATION)
                        .build(),
                )
                .creation_time(DateTime::from_secs(1_000))
                .build(),
        )
        .build()
}

/// DescribeStacks returning each status in turn, then the last one on every later call.
fn describe_sequence(statuses: &[StackStatus]) -> Rule {
    let (last, earlier) = statuses.split_last().expect("at least one status");
    let mut sequence = mock!(Client::describe_stacks).sequence();
    for status in earlier {
        let status = status.clone();
        sequence = sequence.output(move || described(status.clone()));
    }
    let last = last.clone();
    sequence
        .output(move || described(last.clone()))
        .repeatedly()
        .build()
}

fn event(
    id: &str,
    logical: &str,
    kind: &str,
    status: ResourceStatus,
    reason: Option<&str>,
) -> StackEvent {
    let physical = if logical == STACK {
        STACK_ID.to_owned()
    } else {
        format!("{logical}-physical")
    };
    StackEvent::builder()
        .stack_id(STACK_ID)
        .stack_name(STACK)
        .event_id(id)
        .logical_resource_id(logical)
        .physical_resource_id(physical)
        .resource_type(kind)
        .resource_status(status)
        .set_resource_status_reason(reason.map(str::to_owned))
        .timestamp(DateTime::from_secs(1_000))
        .build()
}

fn stack_event(id: &str, status: ResourceStatus) -> StackEvent {
    event(id, STACK, "AWS::CloudFormation::Stack", status, None)
}

/// DescribeStackEvents returning one page of events, newest first, as AWS orders them.
fn events_page(events: Vec<StackEvent>) -> Rule {
    mock!(Client::describe_stack_events).then_output(move || {
        DescribeStackEventsOutput::builder()
            .set_stack_events(Some(events.clone()))
            .build()
    })
}

fn no_events() -> Rule {
    events_page(Vec::new())
}

/// Events of an update whose rollback failed on TaggingFunction, after the update itself failed
/// on AttributionTable.
fn update_rollback_failed_events() -> Vec<StackEvent> {
    vec![
        stack_event("e7", ResourceStatus::UpdateRollbackFailed),
        event(
            "e6",
            "TaggingFunction",
            "AWS::Lambda::Function",
            ResourceStatus::UpdateFailed,
            Some(ROLLBACK_REASON),
        ),
        event(
            "e5",
            "AttributionTable",
            "AWS::DynamoDB::Table",
            ResourceStatus::UpdateComplete,
            None,
        ),
        stack_event("e4", ResourceStatus::UpdateRollbackInProgress),
        event(
            "e3",
            "AttributionTable",
            "AWS::DynamoDB::Table",
            ResourceStatus::UpdateFailed,
            Some(UPDATE_REASON),
        ),
        stack_event("e2", ResourceStatus::UpdateInProgress),
        stack_event("e1", ResourceStatus::CreateComplete),
    ]
}

/// Events of a deletion that TaggingRole and FailureQueue blocked.
fn delete_failed_events() -> Vec<StackEvent> {
    vec![
        stack_event("d5", ResourceStatus::DeleteFailed),
        event(
            "d4",
            "FailureQueue",
            "AWS::SQS::Queue",
            ResourceStatus::DeleteFailed,
            Some(QUEUE_DELETE_REASON),
        ),
        event(
            "d3",
            "TaggingRole",
            "AWS::IAM::Role",
            ResourceStatus::DeleteFailed,
            Some(ROLE_DELETE_REASON),
        ),
        event(
            "d2",
            "TaggingFunction",
            "AWS::Lambda::Function",
            ResourceStatus::DeleteComplete,
            None,
        ),
        stack_event("d1", ResourceStatus::DeleteInProgress),
        stack_event("e1", ResourceStatus::UpdateComplete),
    ]
}

/// Events of a first create that failed on AttributionTable and whose rollback then failed on
/// PinpointEventStreamRole.
fn rollback_failed_events() -> Vec<StackEvent> {
    vec![
        stack_event("r6", ResourceStatus::RollbackFailed),
        event(
            "r5",
            "PinpointEventStreamRole",
            "AWS::IAM::Role",
            ResourceStatus::DeleteFailed,
            Some(ROLE_DELETE_REASON),
        ),
        stack_event("r4", ResourceStatus::RollbackInProgress),
        event(
            "r3",
            "AttributionTable",
            "AWS::DynamoDB::Table",
            ResourceStatus::CreateFailed,
            Some(
                "Resource handler returned message: \"Table already exists: dev-shop-attribution\"",
            ),
        ),
        stack_event("r2", ResourceStatus::CreateInProgress),
        stack_event("r1", ResourceStatus::from("REVIEW_IN_PROGRESS")),
    ]
}

async fn prepare_apply(
    client: &Client,
    stack: Option<DeployedStack>,
    protected: bool,
    timeout: Duration,
) -> Result<Option<DeployedStack>, StackError> {
    apply::prepare_stack(client, stack, OWNER, protected, timeout, &Progress::quiet()).await
}

/// Runs destroy's stack steps: the status check, then the deletion when a stack is left.
/// Returns whether a stack was deleted.
async fn destroy_stack(
    client: &Client,
    stack: Option<DeployedStack>,
    timeout: Duration,
) -> Result<bool, StackError> {
    let progress = Progress::quiet();
    let Some(stack) = destroy::prepare_stack(client, stack, OWNER, timeout, &progress).await?
    else {
        return Ok(false);
    };
    cloudformation::delete_and_wait(client, &stack, timeout, &progress).await?;
    Ok(true)
}

fn blocked_message(result: Result<impl std::fmt::Debug, StackError>) -> String {
    match result {
        Err(StackError::Blocked(message)) => message,
        other => panic!("expected StackError::Blocked, got {other:?}"),
    }
}

// Apply.

#[tokio::test]
async fn apply_creates_missing_stack() {
    let describe = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message(format!("Stack with id {STACK} does not exist"))
                .build(),
        )
    });
    let mutations = Mutations::new();
    let client = client_with(&[&describe], &mutations);

    let stack = cloudformation::describe_stack(&client, STACK)
        .await
        .expect("DescribeStacks");
    let prepared = prepare_apply(&client, stack, false, TIMEOUT).await;

    assert_eq!(
        prepared.expect("no error"),
        None,
        "apply must create the stack"
    );
    assert_eq!(describe.num_calls(), 1);
    mutations.assert_none();
}

#[tokio::test]
async fn apply_updates_settled_stack() {
    for status in [
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
    ] {
        let events = no_events();
        let describe = describe_sequence(&[StackStatus::UpdateComplete]);
        let mutations = Mutations::new();
        let client = client_with(&[&events, &describe], &mutations);

        let prepared = prepare_apply(&client, Some(deployed(status)), false, TIMEOUT).await;

        assert_eq!(
            prepared.expect("no error"),
            Some(deployed(status)),
            "apply must update a {status} stack as it is"
        );
        assert_eq!(events.num_calls(), 0, "{status}: no events read");
        assert_eq!(describe.num_calls(), 0, "{status}: nothing to wait for");
        mutations.assert_none();
    }
}

#[tokio::test]
async fn apply_recreates_rolled_back_first_create() {
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::DeleteInProgress, StackStatus::DeleteComplete]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let prepared =
        prepare_apply(&client, Some(deployed("ROLLBACK_COMPLETE")), false, TIMEOUT).await;

    assert_eq!(
        prepared.expect("no error"),
        None,
        "apply must create the stack again"
    );
    assert!(
        describe.num_calls() >= 2,
        "waits for the deletion to complete"
    );
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn apply_recreates_unexecuted_change_set_stack() {
    // A REVIEW_IN_PROGRESS stack contains no resources, so it is deleted in protected
    // environments too.
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::DeleteComplete]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let prepared =
        prepare_apply(&client, Some(deployed("REVIEW_IN_PROGRESS")), true, TIMEOUT).await;

    assert_eq!(prepared.expect("no error"), None);
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn apply_keeps_rolled_back_stack_when_protected() {
    let mut rolled_back = rollback_failed_events()[2..].to_vec();
    rolled_back.insert(0, stack_event("r7", ResourceStatus::RollbackComplete));
    let events = events_page(rolled_back);
    let mutations = Mutations::new();
    let client = client_with(&[&events], &mutations);

    let prepared = prepare_apply(&client, Some(deployed("ROLLBACK_COMPLETE")), true, TIMEOUT).await;

    let message = blocked_message(prepared);
    assert!(
        message.contains("ROLLBACK_COMPLETE because its first create failed"),
        "{message}"
    );
    assert!(
        message.contains("AttributionTable (AWS::DynamoDB::Table) CREATE_FAILED"),
        "{message}"
    );
    assert!(message.contains("Table already exists"), "{message}");
    assert!(message.contains("environment is protected"), "{message}");
    assert!(
        message.contains(&format!(
            "aws cloudformation delete-stack --stack-name {STACK}"
        )),
        "{message}"
    );
    mutations.assert_none();
}

#[tokio::test]
async fn apply_waits_for_running_update() {
    let events = no_events();
    let describe = describe_sequence(&[
        StackStatus::UpdateInProgress,
        StackStatus::UpdateCompleteCleanupInProgress,
        StackStatus::UpdateComplete,
    ]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let prepared = prepare_apply(
        &client,
        Some(deployed("UPDATE_IN_PROGRESS")),
        false,
        TIMEOUT,
    )
    .await;

    let stack = prepared.expect("no error").expect("the stack still exists");
    assert_eq!(stack.status, "UPDATE_COMPLETE");
    assert!(describe.num_calls() >= 3, "polled until the update settled");
    mutations.assert_none();
}

#[tokio::test]
async fn apply_decides_again_after_wait() {
    // A first create still running when apply starts, which then rolls back: apply waits,
    // then deletes the empty stack so it can create it again.
    let events = no_events();
    let describe = describe_sequence(&[
        StackStatus::RollbackInProgress,
        StackStatus::RollbackComplete,
        StackStatus::RollbackComplete,
        StackStatus::DeleteComplete,
    ]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let prepared = prepare_apply(
        &client,
        Some(deployed("CREATE_IN_PROGRESS")),
        false,
        TIMEOUT,
    )
    .await;

    assert_eq!(prepared.expect("no error"), None);
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn apply_stops_when_wait_ends_stuck() {
    let events = events_page(update_rollback_failed_events());
    let describe = describe_sequence(&[
        StackStatus::UpdateRollbackInProgress,
        StackStatus::UpdateRollbackFailed,
    ]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let prepared = prepare_apply(
        &client,
        Some(deployed("UPDATE_ROLLBACK_IN_PROGRESS")),
        false,
        TIMEOUT,
    )
    .await;

    let message = blocked_message(prepared);
    assert!(message.contains("is UPDATE_ROLLBACK_FAILED"), "{message}");
    assert!(message.contains("continue-update-rollback"), "{message}");
    mutations.assert_none();
}

#[tokio::test]
async fn apply_wait_is_bounded() {
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::UpdateInProgress]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let started = Instant::now();
    let prepared = prepare_apply(
        &client,
        Some(deployed("UPDATE_IN_PROGRESS")),
        false,
        Duration::from_millis(600),
    )
    .await;

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
    match prepared {
        Err(StackError::TimedOut { status, .. }) => assert_eq!(status, "UPDATE_IN_PROGRESS"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    mutations.assert_none();
}

#[tokio::test]
async fn apply_leaves_update_rollback_failed() {
    let events = events_page(update_rollback_failed_events());
    let mutations = Mutations::new();
    let client = client_with(&[&events], &mutations);

    let prepared = prepare_apply(
        &client,
        Some(deployed("UPDATE_ROLLBACK_FAILED")),
        false,
        TIMEOUT,
    )
    .await;

    let message = blocked_message(prepared);
    assert!(
        message.contains(&format!(
            "Its rollback failed first on TaggingFunction (AWS::Lambda::Function) UPDATE_FAILED: {ROLLBACK_REASON}"
        )),
        "{message}"
    );
    assert!(
        !message.contains("provisioned throughput"),
        "the update failure before the rollback is not what blocks it: {message}"
    );
    assert!(
        message.contains(&format!(
            "`aws cloudformation continue-update-rollback --stack-name {STACK}`"
        )),
        "{message}"
    );
    assert!(
        message.contains("`--resources-to-skip TaggingFunction`"),
        "{message}"
    );
    assert_eq!(events.num_calls(), 1);
    mutations.assert_none();
}

#[tokio::test]
async fn apply_leaves_delete_failed() {
    let events = events_page(delete_failed_events());
    let mutations = Mutations::new();
    let client = client_with(&[&events], &mutations);

    let prepared = prepare_apply(&client, Some(deployed("DELETE_FAILED")), false, TIMEOUT).await;

    let message = blocked_message(prepared);
    assert!(
        message.contains(&format!(
            "Its deletion failed first on TaggingRole (AWS::IAM::Role) DELETE_FAILED: {ROLE_DELETE_REASON}"
        )),
        "{message}"
    );
    assert!(message.contains("Also failed: FailureQueue."), "{message}");
    assert!(
        message.contains(&format!(
            "`aws cloudformation delete-stack --stack-name {STACK} --retain-resources TaggingRole FailureQueue`"
        )),
        "{message}"
    );
    mutations.assert_none();
}

#[tokio::test]
async fn apply_leaves_rollback_failed() {
    let events = events_page(rollback_failed_events());
    let mutations = Mutations::new();
    let client = client_with(&[&events], &mutations);

    let prepared = prepare_apply(&client, Some(deployed("ROLLBACK_FAILED")), false, TIMEOUT).await;

    let message = blocked_message(prepared);
    assert!(
        message.contains(&format!(
            "Its rollback failed first on PinpointEventStreamRole (AWS::IAM::Role) DELETE_FAILED: {ROLE_DELETE_REASON}"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "`aws cloudformation delete-stack --stack-name {STACK}`"
        )),
        "{message}"
    );
    mutations.assert_none();
}

#[tokio::test]
async fn stuck_explanation_reads_older_pages() {
    // The rollback started on the second page of events.
    let events = update_rollback_failed_events();
    let (newer, older) = events.split_at(2);
    let (newer, older) = (newer.to_vec(), older.to_vec());
    let first_page = mock!(Client::describe_stack_events)
        .match_requests(|input| input.next_token().is_none())
        .then_output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(newer.clone()))
                .next_token("page-2")
                .build()
        });
    let second_page = mock!(Client::describe_stack_events)
        .match_requests(|input| input.next_token() == Some("page-2"))
        .then_output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(older.clone()))
                .build()
        });
    let mutations = Mutations::new();
    let client = client_with(&[&first_page, &second_page], &mutations);

    let failed =
        cloudformation::read_failed_resources(&client, STACK_ID, "UPDATE_ROLLBACK_IN_PROGRESS")
            .await
            .expect("DescribeStackEvents");

    let names: Vec<&str> = failed
        .iter()
        .map(|resource| resource.logical_id.as_str())
        .collect();
    assert_eq!(names, ["TaggingFunction"]);
    assert_eq!(first_page.num_calls(), 1);
    assert_eq!(
        second_page.num_calls(),
        1,
        "reads on to the start of the rollback"
    );
}

#[tokio::test]
async fn failed_update_names_rollback_repair() {
    // Apply's own update fails on AttributionTable, then its rollback fails on TaggingFunction.
    let baseline = vec![stack_event("e1", ResourceStatus::CreateComplete)];
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(baseline.clone()))
                .build()
        })
        .output(|| {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(update_rollback_failed_events()))
                .build()
        })
        .repeatedly()
        .build();
    let describe = describe_sequence(&[StackStatus::UpdateRollbackFailed]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let mut watcher = EventWatcher::new(&client, STACK_ID)
        .await
        .expect("baseline events");
    let error = cloudformation::wait_for_stack(
        &client,
        &mut watcher,
        "UPDATE_COMPLETE",
        TIMEOUT,
        &Progress::quiet(),
    )
    .await
    .expect_err("the update failed");
    let error = cloudformation::add_repair_advice(&client, error).await;

    let message = blocked_message(Err::<(), _>(error));
    assert!(
        message.contains(&format!(
            "ended in UPDATE_ROLLBACK_FAILED: AttributionTable (AWS::DynamoDB::Table) UPDATE_FAILED: {UPDATE_REASON}"
        )),
        "the cause of the failed update comes first: {message}"
    );
    assert!(
        message.contains("Its rollback failed first on TaggingFunction (AWS::Lambda::Function)"),
        "{message}"
    );
    assert!(
        message.contains("`--resources-to-skip TaggingFunction`"),
        "only the resource whose rollback failed may be skipped: {message}"
    );
    mutations.assert_none();
}

#[tokio::test]
async fn repair_advice_keeps_other_failures() {
    let events = no_events();
    let mutations = Mutations::new();
    let client = client_with(&[&events], &mutations);
    let rolled_back = StackError::OperationFailed {
        stack: STACK.to_owned(),
        status: "UPDATE_ROLLBACK_COMPLETE".to_owned(),
        reason: UPDATE_REASON.to_owned(),
    };

    let error = cloudformation::add_repair_advice(&client, rolled_back).await;

    assert!(
        matches!(&error, StackError::OperationFailed { status, .. } if status == "UPDATE_ROLLBACK_COMPLETE"),
        "{error:?}"
    );
    assert_eq!(
        events.num_calls(),
        0,
        "a completed rollback needs no repair"
    );
}

// Destroy.

#[tokio::test]
async fn destroy_skips_missing_stack() {
    let mutations = Mutations::new();
    let client = client_with(&[], &mutations);

    let deleted = destroy_stack(&client, None, TIMEOUT).await;

    assert!(!deleted.expect("no error"));
    mutations.assert_none();
}

#[tokio::test]
async fn destroy_deletes_settled_and_empty_stacks() {
    for status in [
        "CREATE_COMPLETE",
        "UPDATE_COMPLETE",
        "UPDATE_ROLLBACK_COMPLETE",
        "ROLLBACK_COMPLETE",
        "REVIEW_IN_PROGRESS",
    ] {
        let events = no_events();
        let describe =
            describe_sequence(&[StackStatus::DeleteInProgress, StackStatus::DeleteComplete]);
        let mutations = Mutations::new();
        let client = client_with(&[&events, &describe], &mutations);

        let deleted = destroy_stack(&client, Some(deployed(status)), TIMEOUT).await;

        assert!(deleted.expect("no error"), "{status}: the stack is deleted");
        for (operation, rule) in mutations.named() {
            let expected = usize::from(operation == "DeleteStack");
            assert_eq!(rule.num_calls(), expected, "{status}: calls of {operation}");
        }
    }
}

#[tokio::test]
async fn destroy_waits_then_deletes() {
    let events = no_events();
    let describe = describe_sequence(&[
        StackStatus::UpdateInProgress,
        StackStatus::UpdateComplete,
        StackStatus::UpdateComplete,
        StackStatus::DeleteInProgress,
        StackStatus::DeleteComplete,
    ]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let deleted = destroy_stack(&client, Some(deployed("UPDATE_IN_PROGRESS")), TIMEOUT).await;

    assert!(deleted.expect("no error"));
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn destroy_waits_for_running_deletion() {
    // Someone else is deleting the stack: destroy waits for it and deletes nothing itself.
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::DeleteInProgress, StackStatus::DeleteComplete]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let deleted = destroy_stack(&client, Some(deployed("DELETE_IN_PROGRESS")), TIMEOUT).await;

    // DescribeStacks by ARN reports the deleted stack as DELETE_COMPLETE.
    assert!(!deleted.expect("no error"), "nothing left to delete");
    mutations.assert_none();
}

#[tokio::test]
async fn destroy_refuses_update_rollback_failed() {
    let events = events_page(update_rollback_failed_events());
    let mutations = Mutations::new();
    let client = client_with(&[&events], &mutations);

    let deleted = destroy_stack(&client, Some(deployed("UPDATE_ROLLBACK_FAILED")), TIMEOUT).await;

    let message = blocked_message(deleted);
    assert!(
        message.contains("TaggingFunction (AWS::Lambda::Function) UPDATE_FAILED"),
        "{message}"
    );
    assert!(message.contains("continue-update-rollback"), "{message}");
    mutations.assert_none();
}

#[tokio::test]
async fn destroy_deletes_rollback_failed() {
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::DeleteInProgress, StackStatus::DeleteComplete]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let deleted = destroy_stack(&client, Some(deployed("ROLLBACK_FAILED")), TIMEOUT).await;

    assert!(deleted.expect("no error"));
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn destroy_retries_delete_failed() {
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::DeleteInProgress, StackStatus::DeleteComplete]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let deleted = destroy_stack(&client, Some(deployed("DELETE_FAILED")), TIMEOUT).await;

    assert!(deleted.expect("no error"));
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn destroy_reports_repeated_delete_failure() {
    // The first DescribeStackEvents call is the baseline before DeleteStack; later calls
    // see the failure of the new deletion.
    let earlier = vec![
        stack_event("d0", ResourceStatus::DeleteFailed),
        stack_event("c9", ResourceStatus::DeleteInProgress),
    ];
    let during = [
        vec![
            stack_event("n4", ResourceStatus::DeleteFailed),
            event(
                "n3",
                "TaggingRole",
                "AWS::IAM::Role",
                ResourceStatus::DeleteFailed,
                Some(ROLE_DELETE_REASON),
            ),
            stack_event("n1", ResourceStatus::DeleteInProgress),
        ],
        earlier.clone(),
    ]
    .concat();
    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(earlier.clone()))
                .build()
        })
        .output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(during.clone()))
                .build()
        })
        .repeatedly()
        .build();
    let describe = describe_sequence(&[StackStatus::DeleteInProgress, StackStatus::DeleteFailed]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let deleted = destroy_stack(&client, Some(deployed("DELETE_FAILED")), TIMEOUT).await;

    let message = blocked_message(deleted);
    assert!(
        message.contains(&format!(
            "Its deletion failed first on TaggingRole (AWS::IAM::Role) DELETE_FAILED: {ROLE_DELETE_REASON}"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "`aws cloudformation delete-stack --stack-name {STACK} --retain-resources TaggingRole`"
        )),
        "{message}"
    );
    mutations.assert_only_deletions(1);
}

#[tokio::test]
async fn destroy_refuses_termination_protected_stack() {
    let mutations = Mutations::new();
    let client = client_with(&[], &mutations);
    let mut stack = deployed("UPDATE_COMPLETE");
    stack.termination_protection = true;

    let deleted = destroy_stack(&client, Some(stack), TIMEOUT).await;

    assert!(
        matches!(deleted, Err(StackError::TerminationProtected { .. })),
        "{deleted:?}"
    );
    mutations.assert_none();
}

#[tokio::test]
async fn destroy_wait_is_bounded() {
    let events = no_events();
    let describe = describe_sequence(&[StackStatus::UpdateRollbackInProgress]);
    let mutations = Mutations::new();
    let client = client_with(&[&events, &describe], &mutations);

    let started = Instant::now();
    let deleted = destroy_stack(
        &client,
        Some(deployed("UPDATE_ROLLBACK_IN_PROGRESS")),
        Duration::from_millis(600),
    )
    .await;

    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(deleted, Err(StackError::TimedOut { .. })),
        "{deleted:?}"
    );
    mutations.assert_none();
}
