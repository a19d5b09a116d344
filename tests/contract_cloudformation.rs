//! Contract tests: CloudFormation behaviour that moto cannot reproduce (failed change sets,
//! rollbacks with failure events), replayed from responses shaped as AWS sends them.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::error::ErrorMetadata;
use aws_sdk_cloudformation::operation::create_change_set::{
    CreateChangeSetError, CreateChangeSetOutput,
};
use aws_sdk_cloudformation::operation::delete_change_set::DeleteChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::types::{
    Change, ChangeAction, ChangeSetStatus, ChangeType, ExecutionStatus, Replacement,
    ResourceChange, ResourceStatus, Stack, StackEvent, StackStatus,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::DateTime;

use aws_sdk_cloudformation::operation::execute_change_set::ExecuteChangeSetOutput;
use aws_sdk_cloudformation::operation::update_termination_protection::UpdateTerminationProtectionOutput;
use pinpoint_attribution::cloudformation::{
    self, ChangeSet, ChangeSetRequest, EventWatcher, StackError,
};
use pinpoint_attribution::guard::{self, GuardError};
use pinpoint_attribution::progress::Progress;

const STACK: &str = "pinpoint-attribution-dev-shop";
const STACK_ID: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:stack/pinpoint-attribution-dev-shop/0a1b";
const CHANGE_SET_ARN: &str =
    "arn:aws:cloudformation:eu-west-1:123456789012:changeSet/pinpoint-attribution-1/9f8e";

fn request<'a>(empty: &'a BTreeMap<String, String>) -> ChangeSetRequest<'a> {
    ChangeSetRequest {
        stack_name: STACK,
        template: "Resources: {}\n",
        parameters: empty,
        tags: empty,
        create: false,
        name: "pinpoint-attribution-1".to_owned(),
        description: "test".to_owned(),
    }
}

fn created() -> CreateChangeSetOutput {
    CreateChangeSetOutput::builder()
        .id(CHANGE_SET_ARN)
        .stack_id(STACK_ID)
        .build()
}

fn failed_change_set(reason: &str) -> DescribeChangeSetOutput {
    DescribeChangeSetOutput::builder()
        .change_set_id(CHANGE_SET_ARN)
        .status(ChangeSetStatus::Failed)
        .execution_status(ExecutionStatus::Unavailable)
        .status_reason(reason)
        .build()
}

#[tokio::test]
async fn failed_change_set_is_deleted_and_reported() {
    let reason = "Template format error: Unresolved resource dependencies [Queue] in the Resources block of the template";
    let create = mock!(Client::create_change_set).then_output(created);
    let describe =
        mock!(Client::describe_change_set).then_output(move || failed_change_set(reason));
    let delete = mock!(Client::delete_change_set)
        .match_requests(|input| input.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe, &delete]
    );

    let empty = BTreeMap::new();
    let error = cloudformation::create_change_set(&client, &request(&empty))
        .await
        .expect_err("a failed change set is an error");

    match error {
        StackError::ChangeSetFailed { stack, reason: got } => {
            assert_eq!(stack, STACK);
            assert_eq!(got, reason);
        }
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(
        delete.num_calls(),
        1,
        "the failed change set must be deleted"
    );
}

#[tokio::test]
async fn empty_change_set_is_deleted_as_unchanged() {
    let create = mock!(Client::create_change_set).then_output(created);
    let describe = mock!(Client::describe_change_set).then_output(|| {
        failed_change_set(
            "The submitted information didn't contain changes. Submit different information to create a change set.",
        )
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe, &delete]
    );

    let empty = BTreeMap::new();
    let outcome = cloudformation::create_change_set(&client, &request(&empty))
        .await
        .expect("no error");

    assert!(matches!(outcome, ChangeSet::Empty));
    assert_eq!(
        delete.num_calls(),
        1,
        "the empty change set must be deleted"
    );
}

#[tokio::test]
async fn no_updates_error_means_unchanged() {
    let create = mock!(Client::create_change_set).then_error(|| {
        CreateChangeSetError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message("No updates are to be performed.")
                .build(),
        )
    });
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &delete]
    );

    let empty = BTreeMap::new();
    let outcome = cloudformation::create_change_set(&client, &request(&empty))
        .await
        .expect("no error");

    assert!(matches!(outcome, ChangeSet::Empty));
    assert_eq!(delete.num_calls(), 0, "no change set exists to delete");
}

#[tokio::test]
async fn change_set_reports_replacement() {
    let create = mock!(Client::create_change_set).then_output(created);
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id(CHANGE_SET_ARN)
            .status(ChangeSetStatus::CreateComplete)
            .execution_status(ExecutionStatus::Available)
            .changes(
                Change::builder()
                    .r#type(ChangeType::Resource)
                    .resource_change(
                        ResourceChange::builder()
                            .action(ChangeAction::Modify)
                            .logical_resource_id("AttributionTable")
                            .resource_type("AWS::DynamoDB::Table")
                            .replacement(Replacement::True)
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe]
    );

    let empty = BTreeMap::new();
    let outcome = cloudformation::create_change_set(&client, &request(&empty))
        .await
        .expect("no error");

    let ChangeSet::Ready { arn, changes, .. } = outcome else {
        panic!("expected a ready change set");
    };
    assert_eq!(arn, CHANGE_SET_ARN);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].replacement.as_deref(), Some("True"));
    assert!(changes[0].destroys_resource());
}

#[tokio::test]
async fn missing_stack_reads_as_none() {
    let describe = mock!(Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            ErrorMetadata::builder()
                .code("ValidationError")
                .message(format!("Stack with id {STACK} does not exist"))
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudformation, [&describe]);

    let stack = cloudformation::describe_stack(&client, STACK)
        .await
        .expect("no error");

    assert_eq!(stack, None);
}

fn event(
    id: &str,
    seconds: i64,
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
        .timestamp(DateTime::from_secs(seconds))
        .build()
}

fn stack_with_status(status: StackStatus) -> DescribeStacksOutput {
    DescribeStacksOutput::builder()
        .stacks(
            Stack::builder()
                .stack_id(STACK_ID)
                .stack_name(STACK)
                .stack_status(status)
                .creation_time(DateTime::from_secs(1_000))
                .build(),
        )
        .build()
}

#[tokio::test]
async fn rollback_reports_first_failed_resource() {
    // Events are returned newest first, as DescribeStackEvents does.
    let baseline = vec![event(
        "e0",
        1_000,
        STACK,
        "AWS::CloudFormation::Stack",
        ResourceStatus::CreateComplete,
        None,
    )];
    let during = vec![
        event(
            "e5",
            1_050,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateRollbackComplete,
            None,
        ),
        event(
            "e4",
            1_040,
            "TaggingFunction",
            "AWS::Lambda::Function",
            ResourceStatus::UpdateFailed,
            Some("Resource update cancelled"),
        ),
        event(
            "e3",
            1_030,
            "AttributionTable",
            "AWS::DynamoDB::Table",
            ResourceStatus::UpdateFailed,
            Some(
                "Resource handler returned message: \"Attempting to change provisioned throughput\"",
            ),
        ),
        event(
            "e2",
            1_020,
            STACK,
            "AWS::CloudFormation::Stack",
            ResourceStatus::UpdateInProgress,
            None,
        ),
    ];
    let during = [during, baseline.clone()].concat();

    let events = mock!(Client::describe_stack_events)
        .sequence()
        .output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(baseline.clone()))
                .build()
        })
        .output(move || {
            DescribeStackEventsOutput::builder()
                .set_stack_events(Some(during.clone()))
                .build()
        })
        .repeatedly()
        .build();
    let stacks = mock!(Client::describe_stacks)
        .then_output(|| stack_with_status(StackStatus::UpdateRollbackComplete));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&events, &stacks]
    );

    let mut watcher = EventWatcher::new(&client, STACK_ID)
        .await
        .expect("baseline events");
    let error = cloudformation::wait_for_stack(
        &client,
        &mut watcher,
        "UPDATE_COMPLETE",
        Duration::from_secs(5),
        &Progress::quiet(),
    )
    .await
    .expect_err("a rolled-back update is an error");

    let message = error.to_string();
    assert!(message.contains("UPDATE_ROLLBACK_COMPLETE"), "{message}");
    assert!(message.contains("AttributionTable"), "{message}");
    assert!(message.contains("provisioned throughput"), "{message}");
    assert!(
        !message.contains("Resource update cancelled"),
        "the cascade must not be reported: {message}"
    );
}

#[tokio::test]
async fn wait_times_out_with_a_hint() {
    let events = mock!(Client::describe_stack_events)
        .then_output(|| DescribeStackEventsOutput::builder().build());
    let stacks = mock!(Client::describe_stacks)
        .then_output(|| stack_with_status(StackStatus::UpdateInProgress));
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&events, &stacks]
    );

    let mut watcher = EventWatcher::new(&client, STACK_ID)
        .await
        .expect("baseline events");
    let error = cloudformation::wait_for_stack(
        &client,
        &mut watcher,
        "UPDATE_COMPLETE",
        Duration::from_millis(600),
        &Progress::quiet(),
    )
    .await
    .expect_err("the wait is bounded");

    assert!(matches!(error, StackError::TimedOut { .. }), "{error}");
    let message = error.to_string();
    assert!(message.contains("timed out after 0 s"), "{message}");
    assert!(message.contains("UPDATE_IN_PROGRESS"), "{message}");
    assert!(
        message.contains(&format!(
            "aws cloudformation describe-stack-events --stack-name {STACK}"
        )),
        "{message}"
    );
    assert!(message.contains("raise --timeout"), "{message}");
}

#[tokio::test]
async fn change_set_wait_is_bounded_by_timeout() {
    let create = mock!(Client::create_change_set).then_output(created);
    let describe = mock!(Client::describe_change_set).then_output(|| {
        DescribeChangeSetOutput::builder()
            .change_set_id(CHANGE_SET_ARN)
            .status(ChangeSetStatus::CreateInProgress)
            .build()
    });
    let delete = mock!(Client::delete_change_set)
        .match_requests(|input| input.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe, &delete]
    );

    let empty = BTreeMap::new();
    let started = std::time::Instant::now();
    let error = cloudformation::create_change_set_within(
        &client,
        &request(&empty),
        Duration::from_millis(700),
    )
    .await
    .expect_err("the wait is bounded");

    assert!(
        started.elapsed() < Duration::from_secs(5),
        "waited {:?}",
        started.elapsed()
    );
    assert!(matches!(error, StackError::TimedOut { .. }), "{error}");
    assert!(
        error.to_string().contains("change set CREATE_IN_PROGRESS"),
        "{error}"
    );
    assert_eq!(
        delete.num_calls(),
        1,
        "the unfinished change set is deleted"
    );
}

/// Builds a ready change set from (action, logical id, type, replacement) tuples.
fn change_set_with(
    changes: &[(ChangeAction, &str, &str, Option<Replacement>)],
) -> DescribeChangeSetOutput {
    let mut output = DescribeChangeSetOutput::builder()
        .change_set_id(CHANGE_SET_ARN)
        .status(ChangeSetStatus::CreateComplete)
        .execution_status(ExecutionStatus::Available);
    for (action, logical_id, resource_type, replacement) in changes {
        output = output.changes(
            Change::builder()
                .r#type(ChangeType::Resource)
                .resource_change(
                    ResourceChange::builder()
                        .action(action.clone())
                        .logical_resource_id(*logical_id)
                        .resource_type(*resource_type)
                        .set_replacement(replacement.clone())
                        .build(),
                )
                .build(),
        );
    }
    output.build()
}

#[tokio::test]
async fn replaced_table_is_refused_and_change_set_deleted() {
    // CloudFormation's response to a renamed table: Modify with Replacement True. moto reports
    // no Replacement at all, so this path is only reachable with a recorded response.
    let create = mock!(Client::create_change_set).then_output(created);
    let describe = mock!(Client::describe_change_set).then_output(|| {
        change_set_with(&[
            (
                ChangeAction::Modify,
                "AttributionTable",
                "AWS::DynamoDB::Table",
                Some(Replacement::True),
            ),
            (
                ChangeAction::Modify,
                "TaggingFunction",
                "AWS::Lambda::Function",
                Some(Replacement::False),
            ),
        ])
    });
    let delete = mock!(Client::delete_change_set)
        .match_requests(|input| input.change_set_name() == Some(CHANGE_SET_ARN))
        .then_output(|| DeleteChangeSetOutput::builder().build());
    let execute =
        mock!(Client::execute_change_set).then_output(|| ExecuteChangeSetOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::MatchAny,
        [&create, &describe, &delete, &execute]
    );

    let empty = BTreeMap::new();
    let ChangeSet::Ready { arn, changes, .. } =
        cloudformation::create_change_set(&client, &request(&empty))
            .await
            .expect("change set")
    else {
        panic!("expected a ready change set");
    };
    let error = guard::enforce(&client, &arn, STACK, &changes, &[])
        .await
        .expect_err("a replaced table is refused");

    let GuardError::Refused(message) = error else {
        panic!("unexpected error: {error}");
    };
    assert!(
        message.contains("would replace AttributionTable (AWS::DynamoDB::Table)"),
        "{message}"
    );
    assert!(message.contains("attribution"), "{message}");
    assert!(
        message.contains("--allow-replace AttributionTable"),
        "{message}"
    );
    assert!(!message.contains("TaggingFunction"), "{message}");
    assert_eq!(
        delete.num_calls(),
        1,
        "the refused change set must be deleted"
    );
    assert_eq!(execute.num_calls(), 0);
}

#[tokio::test]
async fn allowed_replacement_keeps_change_set() {
    let delete =
        mock!(Client::delete_change_set).then_output(|| DeleteChangeSetOutput::builder().build());
    let client = mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, [&delete]);
    let changes = vec![cloudformation::ResourceChange {
        action: "Modify".to_owned(),
        logical_id: "EventStream".to_owned(),
        resource_type: "AWS::Kinesis::Stream".to_owned(),
        replacement: Some("Conditional".to_owned()),
        changed: vec!["Name".to_owned()],
    }];

    let refused = guard::enforce(&client, CHANGE_SET_ARN, STACK, &changes, &[]).await;
    let allowed = guard::enforce(
        &client,
        CHANGE_SET_ARN,
        STACK,
        &changes,
        &["EventStream".to_owned()],
    )
    .await;

    match refused {
        Err(GuardError::Refused(message)) => {
            assert!(message.contains("may replace EventStream"), "{message}");
        }
        other => panic!("a conditional replacement must be refused: {other:?}"),
    }
    assert!(allowed.is_ok(), "{allowed:?}");
    assert_eq!(
        delete.num_calls(),
        1,
        "only the refused change set is deleted"
    );
}

#[tokio::test]
async fn termination_protection_call_names_stack_and_flag() {
    let update = mock!(Client::update_termination_protection)
        .match_requests(|input| {
            input.stack_name() == Some(STACK_ID)
                && input.enable_termination_protection() == Some(true)
        })
        .then_output(|| {
            UpdateTerminationProtectionOutput::builder()
                .stack_id(STACK_ID)
                .build()
        });
    let client = mock_client!(aws_sdk_cloudformation, [&update]);

    cloudformation::update_termination_protection(&client, STACK_ID, true)
        .await
        .expect("UpdateTerminationProtection");

    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn describe_stack_reads_termination_protection() {
    let describe = mock!(Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_id(STACK_ID)
                    .stack_name(STACK)
                    .stack_status(StackStatus::UpdateComplete)
                    .enable_termination_protection(true)
                    .creation_time(DateTime::from_secs(1_000))
                    .build(),
            )
            .build()
    });
    let client = mock_client!(aws_sdk_cloudformation, [&describe]);

    let stack = cloudformation::describe_stack(&client, STACK)
        .await
        .expect("no error")
        .expect("the stack exists");

    assert!(stack.termination_protection);
}
