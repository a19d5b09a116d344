//! The launcher's patches of moto's deviations from the AWS API, through the AWS SDK for Rust.
//!
//! Each patch has a test that the patched launcher behaves as AWS does, and a test that moto
//! without the patch still deviates: when an upgrade of moto fixes the deviation, the second
//! test fails, which means the patch can go.

use aws_sdk_cloudformation::types::{ChangeSetType, Output, Stack};
use testkit::Emulator;

const STACK: &str = "patch-probe";

/// A template with a description, a resource that moto creates and outputs of both kinds.
const TEMPLATE_V1: &str = r#"Description: Probe of stack outputs after change sets
Resources:
  FirstQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: patch-probe-first
Outputs:
  FirstQueueUrl:
    Value: !Ref FirstQueue
    Export:
      Name: patch-probe-first-queue
  Release:
    Value: v1
"#;

/// The same stack with one more queue and a changed output value.
const TEMPLATE_V2: &str = r#"Description: Probe of stack outputs after change sets, second release
Resources:
  FirstQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: patch-probe-first
  SecondQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: patch-probe-second
Outputs:
  FirstQueueUrl:
    Value: !Ref FirstQueue
    Export:
      Name: patch-probe-first-queue
  SecondQueueUrl:
    Value: !Ref SecondQueue
  Release:
    Value: v2
"#;

async fn execute_change_set(
    client: &aws_sdk_cloudformation::Client,
    name: &str,
    kind: ChangeSetType,
    template: &str,
) {
    let created = client
        .create_change_set()
        .stack_name(STACK)
        .change_set_name(name)
        .change_set_type(kind)
        .template_body(template)
        .send()
        .await
        .expect("CreateChangeSet");
    let arn = created
        .id()
        .expect("CreateChangeSet returns the change set ARN");

    client
        .execute_change_set()
        .change_set_name(arn)
        .send()
        .await
        .expect("ExecuteChangeSet");
}

async fn describe_stack(client: &aws_sdk_cloudformation::Client) -> Stack {
    let described = client
        .describe_stacks()
        .stack_name(STACK)
        .send()
        .await
        .expect("DescribeStacks");
    described.stacks()[0].clone()
}

fn output_value<'a>(outputs: &'a [Output], key: &str) -> Option<&'a str> {
    outputs
        .iter()
        .find(|output| output.output_key() == Some(key))
        .and_then(Output::output_value)
}

#[tokio::test]
async fn change_set_outputs_after_create_and_update() {
    let emulator = Emulator::start();
    let client = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());

    execute_change_set(&client, "create", ChangeSetType::Create, TEMPLATE_V1).await;
    let stack = describe_stack(&client).await;
    assert_eq!(
        stack.description(),
        Some("Probe of stack outputs after change sets")
    );
    let first_url = output_value(stack.outputs(), "FirstQueueUrl").expect("FirstQueueUrl output");
    assert!(
        first_url.ends_with("/patch-probe-first"),
        "FirstQueueUrl is {first_url}"
    );
    assert_eq!(output_value(stack.outputs(), "Release"), Some("v1"));

    let exports = client.list_exports().send().await.expect("ListExports");
    let export = &exports.exports()[0];
    assert_eq!(export.name(), Some("patch-probe-first-queue"));
    assert_eq!(export.value(), Some(first_url));

    execute_change_set(&client, "update", ChangeSetType::Update, TEMPLATE_V2).await;
    let stack = describe_stack(&client).await;
    assert_eq!(
        stack.description(),
        Some("Probe of stack outputs after change sets, second release")
    );
    assert_eq!(output_value(stack.outputs(), "Release"), Some("v2"));
    let second_url =
        output_value(stack.outputs(), "SecondQueueUrl").expect("SecondQueueUrl output");
    assert!(
        second_url.ends_with("/patch-probe-second"),
        "SecondQueueUrl is {second_url}"
    );

    let exports = client.list_exports().send().await.expect("ListExports");
    assert_eq!(
        exports.exports().len(),
        1,
        "exports: {:?}",
        exports.exports()
    );
}

#[tokio::test]
async fn unpatched_moto_drops_change_set_outputs() {
    let emulator = Emulator::start_with_args(&["--without-patch", "change-set-outputs"]);
    let client = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());

    execute_change_set(&client, "create", ChangeSetType::Create, TEMPLATE_V1).await;
    let stack = describe_stack(&client).await;

    assert_eq!(stack.description(), None);
    assert!(stack.outputs().is_empty(), "outputs: {:?}", stack.outputs());
}

#[tokio::test]
async fn pinpoint_apps_parse_in_rust_sdk() {
    let emulator = Emulator::start();
    let client = aws_sdk_pinpoint::Client::new(&emulator.sdk_config());

    let created = client
        .create_app()
        .create_application_request(
            aws_sdk_pinpoint::types::CreateApplicationRequest::builder()
                .name("shop")
                .build(),
        )
        .send()
        .await
        .expect("CreateApp");
    let created = created
        .application_response()
        .expect("CreateApp returns the application");
    let id = created.id().expect("application id");

    let fetched = client
        .get_app()
        .application_id(id)
        .send()
        .await
        .expect("GetApp");
    let fetched = fetched.application_response().unwrap();
    assert_eq!(fetched.name(), Some("shop"));
    let creation_date = fetched.creation_date().expect("CreationDate");
    aws_smithy_types::DateTime::from_str(
        creation_date,
        aws_smithy_types::date_time::Format::DateTime,
    )
    .unwrap_or_else(|err| panic!("CreationDate {creation_date} is not ISO-8601: {err}"));

    let listed = client.get_apps().send().await.expect("GetApps");
    let ids: Vec<_> = listed
        .applications_response()
        .unwrap()
        .item()
        .iter()
        .filter_map(|app| app.id())
        .collect();
    assert_eq!(ids, [id]);
}

#[tokio::test]
async fn unpatched_moto_breaks_pinpoint_app_parsing() {
    let emulator = Emulator::start_with_args(&["--without-patch", "pinpoint-creation-date"]);
    let client = aws_sdk_pinpoint::Client::new(&emulator.sdk_config());

    let error = client
        .create_app()
        .create_application_request(
            aws_sdk_pinpoint::types::CreateApplicationRequest::builder()
                .name("shop")
                .build(),
        )
        .send()
        .await
        .expect_err("moto sends CreationDate as a number, which the SDK cannot parse");

    let message = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&error)
    );
    assert!(
        message.contains("expected ValueString or ValueNull"),
        "unexpected error: {message}"
    );
}

#[tokio::test]
async fn no_patches_flag_leaves_moto_unchanged() {
    let emulator = Emulator::start_with_args(&["--no-patches"]);
    let client = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());

    execute_change_set(&client, "create", ChangeSetType::Create, TEMPLATE_V1).await;
    let stack = describe_stack(&client).await;

    assert!(stack.outputs().is_empty(), "outputs: {:?}", stack.outputs());
}

#[tokio::test]
async fn termination_protection_turns_on_and_off() {
    let emulator = Emulator::start();
    let client = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    execute_change_set(&client, "create", ChangeSetType::Create, TEMPLATE_V1).await;
    assert_eq!(
        describe_stack(&client)
            .await
            .enable_termination_protection(),
        Some(false)
    );

    let updated = client
        .update_termination_protection()
        .stack_name(STACK)
        .enable_termination_protection(true)
        .send()
        .await
        .expect("UpdateTerminationProtection on");
    assert_eq!(
        updated.stack_id(),
        describe_stack(&client).await.stack_id(),
        "the response names the stack"
    );
    assert_eq!(
        describe_stack(&client)
            .await
            .enable_termination_protection(),
        Some(true)
    );

    client
        .update_termination_protection()
        .stack_name(STACK)
        .enable_termination_protection(false)
        .send()
        .await
        .expect("UpdateTerminationProtection off");
    assert_eq!(
        describe_stack(&client)
            .await
            .enable_termination_protection(),
        Some(false)
    );
}

#[tokio::test]
async fn unpatched_moto_lacks_termination_protection() {
    let emulator = Emulator::start_with_args(&["--without-patch", "termination-protection"]);
    let client = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    execute_change_set(&client, "create", ChangeSetType::Create, TEMPLATE_V1).await;

    let error = client
        .update_termination_protection()
        .stack_name(STACK)
        .enable_termination_protection(true)
        .send()
        .await
        .expect_err("moto 5.2.6 has no UpdateTerminationProtection");

    let status = error
        .raw_response()
        .map(|response| response.status().as_u16());
    assert_eq!(
        status,
        Some(500),
        "moto answers NotImplementedError with 500"
    );
    assert_eq!(
        describe_stack(&client)
            .await
            .enable_termination_protection(),
        Some(false)
    );
}
