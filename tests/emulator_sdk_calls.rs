//! The AWS calls that the deployer makes, sent through the AWS SDK for Rust to the patched
//! emulator: each one must parse, and return what AWS would return for the product's use.
//!
//! Known moto deviations that these calls avoid are stated where they matter.

use aws_sdk_cloudformation::types::{ChangeSetStatus, ChangeSetType, StackStatus};
use aws_sdk_cognitoidentityprovider::types::{AttributeDataType, SchemaAttributeType};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, ChecksumAlgorithm, CreateBucketConfiguration};
use aws_smithy_types::error::display::DisplayErrorContext;
use testkit::{ACCOUNT_ID, Emulator, REGION};

const TEMPLATE: &str = r#"Description: Probe of the deployer's CloudFormation calls
Parameters:
  QueueName:
    Type: String
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Ref QueueName
Outputs:
  QueueUrl:
    Value: !Ref Queue
"#;

#[tokio::test]
async fn sts_returns_caller_account() {
    let emulator = Emulator::start();
    let client = aws_sdk_sts::Client::new(&emulator.sdk_config());

    let identity = client
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");

    assert_eq!(identity.account(), Some(ACCOUNT_ID));
}

#[tokio::test]
async fn cognito_adds_custom_attribute() {
    let emulator = Emulator::start();
    let client = aws_sdk_cognitoidentityprovider::Client::new(&emulator.sdk_config());
    let pool = client
        .create_user_pool()
        .pool_name("users")
        .send()
        .await
        .expect("CreateUserPool");
    let pool_id = pool
        .user_pool()
        .and_then(|pool| pool.id())
        .expect("pool id")
        .to_owned();

    let attribute = SchemaAttributeType::builder()
        .name("campaign")
        .attribute_data_type(AttributeDataType::String)
        .mutable(true)
        .build();
    client
        .add_custom_attributes()
        .user_pool_id(&pool_id)
        .custom_attributes(attribute.clone())
        .send()
        .await
        .expect("AddCustomAttributes");

    let described = client
        .describe_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("DescribeUserPool");
    let names: Vec<_> = described
        .user_pool()
        .unwrap()
        .schema_attributes()
        .iter()
        .filter_map(|attribute| attribute.name())
        .collect();
    assert!(names.contains(&"custom:campaign"), "attributes: {names:?}");

    let duplicate = client
        .add_custom_attributes()
        .user_pool_id(&pool_id)
        .custom_attributes(attribute)
        .send()
        .await
        .expect_err("a second AddCustomAttributes of the same name fails");
    assert!(
        duplicate
            .into_service_error()
            .is_invalid_parameter_exception(),
        "a duplicate attribute is an InvalidParameterException"
    );

    let missing = client
        .describe_user_pool()
        .user_pool_id(format!("{REGION}_missing"))
        .send()
        .await
        .expect_err("an unknown pool is not found");
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );
}

#[tokio::test]
async fn pinpoint_event_stream_round_trip() {
    let emulator = Emulator::start();
    let client = aws_sdk_pinpoint::Client::new(&emulator.sdk_config());
    let app = client
        .create_app()
        .create_application_request(
            aws_sdk_pinpoint::types::CreateApplicationRequest::builder()
                .name("shop")
                .build(),
        )
        .send()
        .await
        .expect("CreateApp");
    let app_id = app
        .application_response()
        .and_then(|app| app.id())
        .unwrap()
        .to_owned();

    let missing = client
        .get_event_stream()
        .application_id(&app_id)
        .send()
        .await
        .expect_err("a new application has no event stream");
    assert!(missing.into_service_error().is_not_found_exception());

    let stream_arn = format!("arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/shop-events");
    let role_arn = format!("arn:aws:iam::{ACCOUNT_ID}:role/shop-pinpoint");
    client
        .put_event_stream()
        .application_id(&app_id)
        .write_event_stream(
            aws_sdk_pinpoint::types::WriteEventStream::builder()
                .destination_stream_arn(&stream_arn)
                .role_arn(&role_arn)
                .build(),
        )
        .send()
        .await
        .expect("PutEventStream");

    let fetched = client
        .get_event_stream()
        .application_id(&app_id)
        .send()
        .await
        .expect("GetEventStream");
    let stream = fetched.event_stream().unwrap();
    assert_eq!(stream.destination_stream_arn(), Some(stream_arn.as_str()));
    assert_eq!(stream.role_arn(), Some(role_arn.as_str()));

    client
        .delete_event_stream()
        .application_id(&app_id)
        .send()
        .await
        .expect("DeleteEventStream");
    let deleted = client
        .get_event_stream()
        .application_id(&app_id)
        .send()
        .await
        .expect_err("the event stream is gone");
    assert!(deleted.into_service_error().is_not_found_exception());

    let unknown_app = client
        .get_app()
        .application_id("0123456789abcdef0123456789abcdef")
        .send()
        .await
        .expect_err("an unknown application is not found");
    assert!(unknown_app.into_service_error().is_not_found_exception());
}

#[tokio::test]
async fn s3_put_and_head_object() {
    let emulator = Emulator::start();
    let config = aws_sdk_s3::config::Builder::from(&emulator.sdk_config())
        .force_path_style(true)
        .build();
    let client = aws_sdk_s3::Client::from_conf(config);

    client
        .create_bucket()
        .bucket("artifacts")
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("CreateBucket");

    let missing = client
        .head_object()
        .bucket("artifacts")
        .key("lambda/tagging.zip")
        .send()
        .await
        .expect_err("the object is not there yet");
    assert!(missing.into_service_error().is_not_found());

    let body = b"zip bytes".to_vec();
    client
        .put_object()
        .bucket("artifacts")
        .key("lambda/tagging.zip")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .expect("PutObject");

    let head = client
        .head_object()
        .bucket("artifacts")
        .key("lambda/tagging.zip")
        .send()
        .await
        .expect("HeadObject");
    assert_eq!(head.content_length(), Some(body.len() as i64));
}

#[tokio::test]
async fn cloudformation_change_set_lifecycle_by_arn() {
    let emulator = Emulator::start();
    let client = aws_sdk_cloudformation::Client::new(&emulator.sdk_config());
    let parameter = |value: &str| {
        aws_sdk_cloudformation::types::Parameter::builder()
            .parameter_key("QueueName")
            .parameter_value(value)
            .build()
    };

    let created = client
        .create_change_set()
        .stack_name("probe")
        .change_set_name("deploy-1")
        .change_set_type(ChangeSetType::Create)
        .template_body(TEMPLATE)
        .parameters(parameter("probe-a"))
        .send()
        .await
        .expect("CreateChangeSet");
    let change_set_arn = created.id().unwrap().to_owned();

    let described = client
        .describe_change_set()
        .change_set_name(&change_set_arn)
        .send()
        .await
        .expect("DescribeChangeSet");
    assert_eq!(described.status(), Some(&ChangeSetStatus::CreateComplete));
    let actions: Vec<_> = described
        .changes()
        .iter()
        .filter_map(|change| change.resource_change())
        .map(|change| {
            (
                change.logical_resource_id().unwrap_or_default(),
                change.action(),
            )
        })
        .collect();
    assert_eq!(actions.len(), 1, "changes: {actions:?}");
    assert_eq!(actions[0].0, "Queue");

    client
        .execute_change_set()
        .change_set_name(&change_set_arn)
        .send()
        .await
        .expect("ExecuteChangeSet");
    let stacks = client
        .describe_stacks()
        .stack_name("probe")
        .send()
        .await
        .expect("DescribeStacks");
    assert_eq!(
        stacks.stacks()[0].stack_status(),
        Some(&StackStatus::CreateComplete)
    );

    let template = client
        .get_template()
        .stack_name("probe")
        .send()
        .await
        .expect("GetTemplate");
    assert_eq!(
        template.template_body(),
        Some(TEMPLATE),
        "GetTemplate returns the body unchanged"
    );

    let update = client
        .create_change_set()
        .stack_name("probe")
        .change_set_name("deploy-2")
        .change_set_type(ChangeSetType::Update)
        .template_body(TEMPLATE.replace("Probe of", "Second probe of"))
        .parameters(parameter("probe-a"))
        .send()
        .await
        .expect("CreateChangeSet UPDATE");
    let update_arn = update.id().unwrap().to_owned();
    client
        .delete_change_set()
        .change_set_name(&update_arn)
        .send()
        .await
        .expect("DeleteChangeSet");
    let gone = client
        .describe_change_set()
        .change_set_name(&update_arn)
        .send()
        .await
        .expect_err("a deleted change set is not found");
    // moto answers ValidationError where AWS answers ChangeSetNotFound: callers that look
    // up a deleted change set must treat both as "not found".
    assert_eq!(
        aws_sdk_cloudformation::error::ProvideErrorMetadata::code(&gone),
        Some("ValidationError"),
        "{}",
        DisplayErrorContext(&gone)
    );

    let events = client
        .describe_stack_events()
        .stack_name("probe")
        .send()
        .await
        .expect("DescribeStackEvents");
    let statuses: Vec<_> = events
        .stack_events()
        .iter()
        .filter_map(|event| event.resource_status())
        .map(|status| status.as_str())
        .collect();
    assert!(
        statuses.contains(&"CREATE_COMPLETE"),
        "events: {statuses:?}"
    );

    client
        .delete_stack()
        .stack_name("probe")
        .send()
        .await
        .expect("DeleteStack");
    let deleted = client
        .describe_stacks()
        .stack_name("probe")
        .send()
        .await
        .expect_err("a deleted stack is not found by name");
    assert_eq!(
        aws_sdk_cloudformation::error::ProvideErrorMetadata::code(&deleted),
        Some("ValidationError")
    );
}
