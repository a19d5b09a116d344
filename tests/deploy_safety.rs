//! Deploy safety against the emulator: event stream ownership in both modes, the replacement
//! guard and protected environments, through the deployer binary.

mod support;

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use support::{
    AppSpec, ApplyJson, deployed_template, deployer, exit_code, path_arg, seed_application,
    stack_name, stderr, stdout, write_environment,
};
use testkit::Emulator;

const ANALYTICS_ROLE: &str = "arn:aws:iam::123456789012:role/analytics-writer";

/// Runs the deployer with `args` after `--env FILE`, adding `--artifacts` where the command
/// reads zips.
fn run(emulator: &Emulator, env_file: &str, args: &[&str]) -> std::process::Output {
    let artifacts = path_arg(&support::artifacts_dir());
    let mut full = vec!["--env", env_file];
    full.extend_from_slice(args);
    if args.contains(&"apply") || args.contains(&"diff") {
        full.extend_from_slice(&["--artifacts", &artifacts]);
    }
    deployer(emulator, &full)
}

/// Parses the plan that `diff --output json` prints into untyped JSON.
fn plan_of(output: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "diff output is not JSON ({error}):\n{}\n{}",
            stdout(output),
            stderr(output)
        )
    })
}

async fn create_stream(config: &SdkConfig, name: &str) -> String {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    kinesis
        .create_stream()
        .stream_name(name)
        .shard_count(1)
        .send()
        .await
        .expect("CreateStream");
    stream_arn(config, name).await.expect("the stream exists")
}

/// ARN of the stream called `name`; `None` when it does not exist.
async fn stream_arn(config: &SdkConfig, name: &str) -> Option<String> {
    let kinesis = aws_sdk_kinesis::Client::new(config);
    let summary = kinesis
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .ok()?;
    summary
        .stream_description_summary()
        .map(|description| description.stream_arn().to_owned())
}

async fn set_event_stream(config: &SdkConfig, app_id: &str, destination: &str) {
    aws_sdk_pinpoint::Client::new(config)
        .put_event_stream()
        .application_id(app_id)
        .write_event_stream(
            aws_sdk_pinpoint::types::WriteEventStream::builder()
                .destination_stream_arn(destination)
                .role_arn(ANALYTICS_ROLE)
                .build(),
        )
        .send()
        .await
        .expect("PutEventStream");
}

/// Destination and role of the application's event stream; `None` when it has none.
async fn event_stream_of(config: &SdkConfig, app_id: &str) -> Option<(String, String)> {
    let response = aws_sdk_pinpoint::Client::new(config)
        .get_event_stream()
        .application_id(app_id)
        .send()
        .await
        .ok()?;
    let stream = response.event_stream()?;
    Some((
        stream.destination_stream_arn()?.to_owned(),
        stream.role_arn()?.to_owned(),
    ))
}

async fn describe_stack(
    config: &SdkConfig,
    stack: &str,
) -> Option<aws_sdk_cloudformation::types::Stack> {
    let response = aws_sdk_cloudformation::Client::new(config)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .ok()?;
    response.stacks().first().cloned()
}

async fn outputs_of(config: &SdkConfig, stack: &str) -> BTreeMap<String, String> {
    describe_stack(config, stack)
        .await
        .expect("the stack exists")
        .outputs()
        .iter()
        .map(|output| {
            (
                output.output_key().unwrap_or_default().to_owned(),
                output.output_value().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Event source ARNs of the mappings of `function`.
async fn mapping_sources(config: &SdkConfig, function: &str) -> Vec<String> {
    let lambda = aws_sdk_lambda::Client::new(config);
    // moto lists no mappings when FunctionName is an ARN, so the name is used.
    let mappings = lambda
        .list_event_source_mappings()
        .function_name(function)
        .send()
        .await
        .expect("ListEventSourceMappings");
    mappings
        .event_source_mappings()
        .iter()
        .filter_map(|mapping| mapping.event_source_arn())
        .map(str::to_owned)
        .collect()
}

/// Pinpoint event stream writes (PutEventStream, DeleteEventStream) among the recorded calls.
fn event_stream_writes(emulator: &Emulator) -> Vec<testkit::AwsCall> {
    emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.path.ends_with("/eventstream") && call.is_mutating())
        .collect()
}

#[tokio::test]
async fn existing_mode_leaves_event_stream() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = seed_application(&config, "shop", 7).await;
    let analytics = create_stream(&config, "analytics-events").await;
    set_event_stream(&config, &app.app_id, &analytics).await;
    let env_file = path_arg(&write_environment(
        dir.path(),
        "attach",
        std::slice::from_ref(&app),
        &format!("  event_stream: {{mode: existing, stream_arn: \"{analytics}\"}}\n"),
    ));
    let stack = stack_name("attach", "shop");

    let diff = run(&emulator, &env_file, &["--output", "json", "diff"]);
    assert_eq!(exit_code(&diff), 0, "{}", stderr(&diff));
    let plan = plan_of(&diff);
    let shop = &plan["applications"][0];
    assert_eq!(shop["event_stream"], "unchanged", "{shop:#}");
    assert_eq!(shop["event_stream_destination"], analytics.as_str());
    assert_eq!(shop["blocked"], serde_json::Value::Null, "{shop:#}");
    let planned_types: Vec<&str> = shop["resource_changes"]
        .as_array()
        .expect("resource changes")
        .iter()
        .filter_map(|change| change["resource_type"].as_str())
        .collect();
    assert!(planned_types.contains(&"AWS::Lambda::EventSourceMapping"));
    assert!(
        !planned_types.contains(&"AWS::Kinesis::Stream"),
        "{planned_types:?}"
    );

    emulator.start_recording();
    let apply = run(&emulator, &env_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));
    let report = ApplyJson::parse(&apply);
    assert_eq!(report.action_of("shop"), "created");
    assert_eq!(report.applications[0].event_stream, "unchanged");
    assert!(
        event_stream_writes(&emulator).is_empty(),
        "apply changed the event stream: {:#?}",
        event_stream_writes(&emulator)
    );
    assert_eq!(
        event_stream_of(&config, &app.app_id).await,
        Some((analytics.clone(), ANALYTICS_ROLE.to_owned())),
        "the event stream setting is untouched"
    );
    let outputs = outputs_of(&config, &stack).await;
    assert!(!outputs.contains_key("KinesisStreamArn"), "{outputs:?}");
    let function = outputs
        .get("TaggingFunctionName")
        .expect("tagging function output");
    assert_eq!(
        mapping_sources(&config, function).await,
        std::slice::from_ref(&analytics)
    );
    assert_eq!(
        stream_arn(&config, &format!("{stack}-events")).await,
        None,
        "the stack creates no stream of its own"
    );

    emulator.start_recording();
    let again = run(&emulator, &env_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&again), 0, "{}", stderr(&again));
    assert_eq!(ApplyJson::parse(&again).action_of("shop"), "unchanged");
    let mutating: Vec<_> = emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.is_mutating())
        .collect();
    assert!(mutating.is_empty(), "{mutating:#?}");

    emulator.start_recording();
    let destroy = run(&emulator, &env_file, &["destroy", "--yes"]);
    assert_eq!(exit_code(&destroy), 0, "{}", stderr(&destroy));
    assert!(event_stream_writes(&emulator).is_empty());
    assert_eq!(
        event_stream_of(&config, &app.app_id).await,
        Some((analytics.clone(), ANALYTICS_ROLE.to_owned())),
        "destroy leaves the event stream setting alone"
    );
    assert_eq!(
        stream_arn(&config, "analytics-events").await,
        Some(analytics),
        "the existing stream survives destroy"
    );
    assert!(describe_stack(&config, &stack).await.is_none());
}

#[tokio::test]
async fn existing_mode_warns_without_event_stream() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = seed_application(&config, "shop", 7).await;
    let analytics = create_stream(&config, "analytics-events").await;
    let env_file = path_arg(&write_environment(
        dir.path(),
        "unwired",
        std::slice::from_ref(&app),
        &format!("  event_stream: {{mode: existing, stream_arn: \"{analytics}\"}}\n"),
    ));

    let apply = run(&emulator, &env_file, &["apply"]);

    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));
    assert!(
        stderr(&apply).contains("warning: the application has no event stream"),
        "{}",
        stderr(&apply)
    );
    assert_eq!(event_stream_of(&config, &app.app_id).await, None);
}

#[tokio::test]
async fn replace_existing_replaces_and_reports_old_destination() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = seed_application(&config, "shop", 7).await;
    let firehose = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/analytics";
    set_event_stream(&config, &app.app_id, firehose).await;
    let env_file = path_arg(&write_environment(
        dir.path(),
        "takeover",
        std::slice::from_ref(&app),
        "  event_stream: {replace_existing: true}\n",
    ));
    let stack = stack_name("takeover", "shop");

    let diff = run(
        &emulator,
        &env_file,
        &["--output", "json", "diff", "--exit-code"],
    );
    assert_eq!(exit_code(&diff), 2, "{}", stderr(&diff));
    let plan = plan_of(&diff);
    let shop = &plan["applications"][0];
    assert_eq!(shop["event_stream"], "replace", "{shop:#}");
    assert_eq!(shop["event_stream_destination"], firehose, "{shop:#}");
    assert_eq!(shop["blocked"], serde_json::Value::Null, "{shop:#}");
    let text = run(&emulator, &env_file, &["diff"]);
    let event_stream_line = stdout(&text)
        .lines()
        .find(|line| line.contains("event stream to"))
        .map(str::trim)
        .map(str::to_owned);
    let event_stream_line = event_stream_line.unwrap_or_default();
    assert!(
        event_stream_line.starts_with("replace"),
        "{}",
        stdout(&text)
    );
    assert!(
        event_stream_line.ends_with(&format!("(now: {firehose})")),
        "{}",
        stdout(&text)
    );

    let apply = run(&emulator, &env_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));
    let report = ApplyJson::parse(&apply);
    let outcome = &report.applications[0];
    assert_eq!(outcome.action, "created");
    assert_eq!(outcome.event_stream, "replace");
    assert_eq!(outcome.event_stream_replaced.as_deref(), Some(firehose));
    let ours = outputs_of(&config, &stack).await["KinesisStreamArn"].clone();
    assert_eq!(
        event_stream_of(&config, &app.app_id)
            .await
            .map(|(destination, _)| destination),
        Some(ours)
    );

    let destroy = run(&emulator, &env_file, &["destroy", "--yes"]);
    assert_eq!(exit_code(&destroy), 0, "{}", stderr(&destroy));
    assert_eq!(
        event_stream_of(&config, &app.app_id).await,
        None,
        "destroy removes the destination it set and does not restore the replaced one"
    );
}

#[tokio::test]
async fn stream_removal_is_refused_without_allow_replace() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app: AppSpec = seed_application(&config, "shop", 7).await;
    let stack = stack_name("guard", "shop");
    let create_file = path_arg(&write_environment(
        dir.path(),
        "guard",
        std::slice::from_ref(&app),
        "",
    ));
    let created = run(&emulator, &create_file, &["apply"]);
    assert_eq!(exit_code(&created), 0, "{}", stderr(&created));
    let own_stream = format!("{stack}-events");
    assert!(stream_arn(&config, &own_stream).await.is_some());

    // Switching to mode existing removes the stack's stream: moto reports it as a Remove of
    // AWS::Kinesis::Stream, which loses the events in it.
    let analytics = create_stream(&config, "analytics-events").await;
    let existing_file = path_arg(&write_environment(
        dir.path(),
        "guard",
        std::slice::from_ref(&app),
        &format!("  event_stream: {{mode: existing, stream_arn: \"{analytics}\"}}\n"),
    ));

    let diff = run(
        &emulator,
        &existing_file,
        &["--output", "json", "diff", "--exit-code"],
    );
    assert_eq!(exit_code(&diff), 1, "a refused plan is an error for diff");
    let plan = plan_of(&diff);
    let blocked = plan["applications"][0]["blocked"]
        .as_str()
        .unwrap_or_else(|| panic!("diff must flag the removal: {plan:#}"));
    assert!(
        blocked.contains("EventStream (AWS::Kinesis::Stream)"),
        "{blocked}"
    );
    assert!(blocked.contains("--allow-replace EventStream"), "{blocked}");
    assert_eq!(
        plan["applications"][0]["event_stream"], "delete",
        "the plan removes the setting that sends to the stack's stream"
    );
    let text = run(&emulator, &existing_file, &["diff"]);
    assert!(
        stdout(&text).contains("DELETION"),
        "the resource line flags the deletion:\n{}",
        stdout(&text)
    );

    emulator.start_recording();
    let refused = run(&emulator, &existing_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&refused), 1, "{}", stderr(&refused));
    let error = ApplyJson::parse(&refused).applications[0]
        .error
        .clone()
        .unwrap_or_default();
    assert!(error.contains("would delete"), "{error}");
    assert!(error.contains("EventStream"), "{error}");
    assert!(error.contains("not read yet"), "the reason: {error}");
    assert!(error.contains("--allow-replace EventStream"), "{error}");
    let actions: Vec<String> = emulator
        .recorded_calls()
        .into_iter()
        .map(|call| call.action)
        .collect();
    assert!(
        actions.contains(&"CreateChangeSet".to_owned()),
        "{actions:?}"
    );
    assert!(
        actions.contains(&"DeleteChangeSet".to_owned()),
        "{actions:?}"
    );
    assert!(
        !actions.contains(&"ExecuteChangeSet".to_owned()),
        "{actions:?}"
    );
    assert!(
        stream_arn(&config, &own_stream).await.is_some(),
        "the stream must survive the refusal"
    );

    let unknown = run(
        &emulator,
        &existing_file,
        &["apply", "--allow-replace", "Table"],
    );
    assert_eq!(exit_code(&unknown), 1);
    assert!(
        stderr(&unknown).contains("--allow-replace Table: no data resource has that logical id"),
        "{}",
        stderr(&unknown)
    );

    let allowed = run(
        &emulator,
        &existing_file,
        &[
            "--output",
            "json",
            "apply",
            "--allow-replace",
            "EventStream",
        ],
    );
    assert_eq!(exit_code(&allowed), 0, "{}", stderr(&allowed));
    let report = ApplyJson::parse(&allowed);
    assert_eq!(report.action_of("shop"), "updated");
    assert_eq!(
        report.applications[0].event_stream, "delete",
        "the setting that sent to the removed stream goes too"
    );
    assert_eq!(event_stream_of(&config, &app.app_id).await, None);
}

#[tokio::test]
async fn protected_environment_gets_termination_protection() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = seed_application(&config, "shop", 7).await;
    let stack = stack_name("vault", "shop");
    let protected_file = path_arg(&write_environment(
        dir.path(),
        "vault",
        std::slice::from_ref(&app),
        "protected: true\n",
    ));

    let apply = run(&emulator, &protected_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));
    let report = ApplyJson::parse(&apply);
    assert_eq!(report.action_of("shop"), "created");
    assert!(report.applications[0].termination_protection);
    let deployed = describe_stack(&config, &stack).await.expect("stack");
    assert_eq!(deployed.enable_termination_protection(), Some(true));
    let template = deployed_template(&config, &stack).await;
    for logical_id in ["AttributionTable", "EventStream"] {
        assert_eq!(
            template["Resources"][logical_id]["DeletionPolicy"],
            "Retain"
        );
        assert_eq!(
            template["Resources"][logical_id]["UpdateReplacePolicy"],
            "Retain"
        );
    }

    emulator.start_recording();
    let again = run(&emulator, &protected_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&again), 0, "{}", stderr(&again));
    assert_eq!(ApplyJson::parse(&again).action_of("shop"), "unchanged");
    let mutating: Vec<_> = emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.is_mutating())
        .collect();
    assert!(mutating.is_empty(), "{mutating:#?}");

    // protected: false. Until an apply turns termination protection off, destroy refuses.
    let open_file = path_arg(&write_environment(
        dir.path(),
        "vault",
        std::slice::from_ref(&app),
        "",
    ));
    let early_destroy = run(&emulator, &open_file, &["destroy", "--yes"]);
    assert_eq!(exit_code(&early_destroy), 1, "{}", stdout(&early_destroy));
    assert!(
        stdout(&early_destroy).contains("has termination protection"),
        "{}",
        stdout(&early_destroy)
    );
    assert!(describe_stack(&config, &stack).await.is_some());

    let diff = run(&emulator, &open_file, &["--output", "json", "diff"]);
    assert_eq!(
        plan_of(&diff)["applications"][0]["termination_protection"],
        "delete",
        "{}",
        stdout(&diff)
    );
    let unprotect = run(&emulator, &open_file, &["--output", "json", "apply"]);
    assert_eq!(exit_code(&unprotect), 0, "{}", stderr(&unprotect));
    let report = ApplyJson::parse(&unprotect);
    assert_eq!(report.action_of("shop"), "updated");
    assert!(!report.applications[0].termination_protection);
    assert_eq!(
        describe_stack(&config, &stack)
            .await
            .expect("stack")
            .enable_termination_protection(),
        Some(false)
    );

    let destroy = run(&emulator, &open_file, &["destroy", "--yes"]);
    assert_eq!(exit_code(&destroy), 0, "{}", stderr(&destroy));
    assert!(describe_stack(&config, &stack).await.is_none());
}

#[tokio::test]
async fn existing_stream_of_other_account_is_refused() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = seed_application(&config, "shop", 7).await;
    let foreign = "arn:aws:kinesis:eu-west-1:210987654321:stream/analytics-events";
    let env_file = write_environment(
        dir.path(),
        "elsewhere",
        std::slice::from_ref(&app),
        &format!("  event_stream: {{mode: existing, stream_arn: \"{foreign}\"}}\n"),
    );
    // Without account_id the loader cannot compare accounts, so the plan compares the stream's
    // account with the credentials' account.
    let text = std::fs::read_to_string(&env_file).expect("read");
    let without_account: String = text
        .lines()
        .filter(|line| !line.starts_with("account_id:"))
        .map(|line| format!("{line}\n"))
        .collect();
    std::fs::write(&env_file, without_account).expect("write");
    let env_file = path_arg(&env_file);

    let diff = run(&emulator, &env_file, &["--output", "json", "diff"]);
    emulator.start_recording();
    let apply = run(&emulator, &env_file, &["--output", "json", "apply"]);

    assert_eq!(exit_code(&diff), 1, "{}", stdout(&diff));
    let blocked = plan_of(&diff)["applications"][0]["blocked"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(blocked.contains("account 210987654321"), "{blocked}");
    assert_eq!(exit_code(&apply), 1, "{}", stderr(&apply));
    let error = ApplyJson::parse(&apply).applications[0]
        .error
        .clone()
        .unwrap_or_default();
    assert!(error.contains("account 210987654321"), "{error}");
    assert!(error.contains("account 123456789012"), "{error}");
    let stack_calls: Vec<String> = emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.service == "cloudformation" && call.is_mutating())
        .map(|call| call.action)
        .collect();
    assert!(stack_calls.is_empty(), "{stack_calls:?}");
}
