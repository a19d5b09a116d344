//! The rendered template deploys on the local emulator through a CREATE change set.
//!
//! moto 5.2 stores several properties without applying them, so this test does not assert
//! them on the deployed resources. `render_template.rs` asserts them on the template instead.
//! They are Kinesis StreamModeDetails and StreamEncryption (the stream stays PROVISIONED and
//! unencrypted), DynamoDB TimeToLiveSpecification, PointInTimeRecoverySpecification and
//! SSESpecification, Lambda Architectures (always x86_64), LoggingConfig and Tags, and stack
//! tags on resources. moto also returns no stack outputs after a change set.

mod render_support;

use aws_sdk_cloudformation::types::{Capability, ChangeSetType, Tag};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use pinpoint_attribution::artifacts::{Architecture, Function};
use pinpoint_attribution::render::{self, PhysicalNames};
use render_support::*;
use testkit::{ACCOUNT_ID, Emulator, REGION};

#[tokio::test(flavor = "multi_thread")]
async fn rendered_stack_deploys_on_the_emulator() {
    let emulator = Emulator::start();
    let sdk = emulator.sdk_config();
    let environment = environment(&environment_yaml(
        "tags:\n  cost-center: marketing\n",
        "architecture: x86_64\nbatch_size: 50\n",
    ));
    let application = &environment.applications[0];
    let (_dir, artifacts) = artifacts();
    let stack = render::render_application(&environment, application, &artifacts).expect("render");

    upload_artifacts(&sdk, &artifacts).await;
    let stack_id = create_stack(&sdk, &stack).await;

    let cloudformation = aws_sdk_cloudformation::Client::new(&sdk);
    let described = cloudformation
        .describe_stacks()
        .stack_name(&stack_id)
        .send()
        .await
        .expect("describe stack");
    let deployed = &described.stacks()[0];
    assert_eq!(
        deployed.stack_status().map(|status| status.as_str()),
        Some("CREATE_COMPLETE")
    );
    let tags: Vec<(&str, &str)> = deployed
        .tags()
        .iter()
        .map(|tag| {
            (
                tag.key().unwrap_or_default(),
                tag.value().unwrap_or_default(),
            )
        })
        .collect();
    assert!(tags.contains(&("cost-center", "marketing")), "{tags:?}");
    assert!(
        tags.contains(&(render::APPLICATION_TAG, "shop")),
        "{tags:?}"
    );

    let resources = cloudformation
        .list_stack_resources()
        .stack_name(&stack_id)
        .send()
        .await
        .expect("list stack resources");
    let mut logical_ids: Vec<&str> = resources
        .stack_resource_summaries()
        .iter()
        .filter_map(|summary| summary.logical_resource_id())
        .collect();
    logical_ids.sort();
    assert_eq!(
        logical_ids,
        [
            "AttributionTable",
            "EventStream",
            "ExpirationEventSourceMapping",
            "ExpirationFunction",
            "ExpirationLogGroup",
            "ExpirationRole",
            "FailureQueue",
            "PinpointEventStreamRole",
            "TaggingEventSourceMapping",
            "TaggingFunction",
            "TaggingLogGroup",
            "TaggingPinpointInvokePermission",
            "TaggingPinpointRegionalInvokePermission",
            "TaggingRole",
        ]
    );

    let names = PhysicalNames::for_stack(&stack.stack_name);
    check_table(&sdk, &names).await;
    check_functions(&sdk, &names, &artifacts).await;
    check_mappings(&sdk, &names).await;
}

async fn upload_artifacts(
    sdk: &aws_config::SdkConfig,
    artifacts: &pinpoint_attribution::artifacts::ArtifactSet,
) {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build(),
    );
    let bucket = render::default_artifacts_bucket(ACCOUNT_ID, REGION);
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .expect("create artifacts bucket");

    for artifact in &artifacts.manifest.artifacts {
        let body = std::fs::read(artifacts.path_of(artifact)).expect("read zip");
        s3.put_object()
            .bucket(&bucket)
            .key(artifact.s3_key())
            .body(body.into())
            .send()
            .await
            .expect("upload zip");
    }
}

/// Creates the stack through a CREATE change set, referred to by its ARN; returns the stack id.
async fn create_stack(sdk: &aws_config::SdkConfig, stack: &render::RenderedStack) -> String {
    let cloudformation = aws_sdk_cloudformation::Client::new(sdk);
    let tags: Vec<Tag> = stack
        .tags
        .iter()
        .map(|(key, value)| Tag::builder().key(key).value(value).build())
        .collect();

    let created = cloudformation
        .create_change_set()
        .stack_name(&stack.stack_name)
        .change_set_name("render-test")
        .change_set_type(ChangeSetType::Create)
        .template_body(&stack.template)
        .set_tags(Some(tags))
        .set_capabilities(Some(
            stack
                .capabilities
                .iter()
                .map(|c| Capability::from(c.as_str()))
                .collect(),
        ))
        .send()
        .await
        .expect("create change set");
    let change_set = created.id().expect("change set ARN").to_owned();
    let stack_id = created.stack_id().expect("stack id").to_owned();

    let described = cloudformation
        .describe_change_set()
        .change_set_name(&change_set)
        .send()
        .await
        .expect("describe change set");
    assert_eq!(
        described.status().map(|status| status.as_str()),
        Some("CREATE_COMPLETE"),
        "change set: {:?}",
        described.status_reason()
    );
    assert_eq!(described.changes().len(), 14, "one Add per resource");

    cloudformation
        .execute_change_set()
        .change_set_name(&change_set)
        .send()
        .await
        .expect("execute change set");
    stack_id
}

async fn check_table(sdk: &aws_config::SdkConfig, names: &PhysicalNames) {
    let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
    let table = dynamodb
        .describe_table()
        .table_name(&names.table)
        .send()
        .await
        .expect("describe table");
    let table = table.table().expect("table");

    let key = &table.key_schema()[0];
    assert_eq!(
        key.attribute_name(),
        attribution_core::contract::KEY_ATTRIBUTE
    );
    assert_eq!(
        table
            .billing_mode_summary()
            .and_then(|summary| summary.billing_mode())
            .map(|mode| mode.as_str()),
        Some("PAY_PER_REQUEST")
    );
    let stream = table.stream_specification().expect("stream specification");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type().map(|view| view.as_str()),
        Some("OLD_IMAGE")
    );
}

async fn check_functions(
    sdk: &aws_config::SdkConfig,
    names: &PhysicalNames,
    artifacts: &pinpoint_attribution::artifacts::ArtifactSet,
) {
    let lambda = aws_sdk_lambda::Client::new(sdk);

    for (name, function) in [
        (&names.tagging_function, Function::Tagging),
        (&names.expiration_function, Function::Expiration),
    ] {
        let found = lambda
            .get_function()
            .function_name(name)
            .send()
            .await
            .expect("get function");
        let configuration = found.configuration().expect("configuration");
        assert_eq!(
            configuration.runtime().map(|runtime| runtime.as_str()),
            Some("provided.al2023")
        );
        assert_eq!(configuration.handler(), Some("bootstrap"));
        let variables = configuration
            .environment()
            .and_then(|environment| environment.variables())
            .expect("environment variables");
        assert_eq!(
            variables[attribution_core::contract::env::TABLE_NAME],
            names.table
        );
        assert_eq!(
            variables[attribution_core::contract::env::LOOKBACK_DAYS],
            "7"
        );

        // The code came from the uploaded zip: Lambda reports the zip's SHA-256 in base64.
        let artifact = artifacts
            .get(function, Architecture::X86_64)
            .expect("artifact");
        let digest = hex::decode(&artifact.sha256).expect("hex digest");
        assert_eq!(
            configuration.code_sha256(),
            Some(aws_smithy_types::base64::encode(digest).as_str())
        );
    }
}

async fn check_mappings(sdk: &aws_config::SdkConfig, names: &PhysicalNames) {
    let lambda = aws_sdk_lambda::Client::new(sdk);

    let tagging = lambda
        .list_event_source_mappings()
        .function_name(&names.tagging_function)
        .send()
        .await
        .expect("list tagging mappings");
    let mapping = &tagging.event_source_mappings()[0];
    assert_eq!(mapping.batch_size(), Some(50));
    assert_eq!(mapping.bisect_batch_on_function_error(), Some(true));
    assert_eq!(mapping.maximum_retry_attempts(), Some(5));
    assert_eq!(
        mapping
            .function_response_types()
            .iter()
            .map(|kind| kind.as_str())
            .collect::<Vec<_>>(),
        ["ReportBatchItemFailures"]
    );
    let destination = mapping
        .destination_config()
        .and_then(|config| config.on_failure())
        .and_then(|on_failure| on_failure.destination())
        .expect("on-failure destination");
    assert!(
        destination.ends_with(&format!(":{}", names.failure_queue)),
        "{destination}"
    );

    let expiration = lambda
        .list_event_source_mappings()
        .function_name(&names.expiration_function)
        .send()
        .await
        .expect("list expiration mappings");
    let mapping = &expiration.event_source_mappings()[0];
    let pattern = mapping
        .filter_criteria()
        .map(|criteria| criteria.filters())
        .and_then(|filters| filters.first())
        .and_then(|filter| filter.pattern())
        .expect("filter pattern");
    assert_eq!(pattern, render::TTL_DELETION_FILTER);
}
