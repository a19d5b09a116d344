//! The deployer binary against the emulator: apply, no-change apply, diff, update, destroy,
//! and the refusals that must leave everything untouched.

mod support;

use aws_config::SdkConfig;
use support::{
    AppSpec, ApplyJson, deployer, event_stream_destination, exit_code, path_arg, seed_application,
    stack_name, stack_outputs, stderr, stdout, write_environment,
};
use testkit::Emulator;

const TAGGING_FUNCTION_OUTPUT: &str = "TaggingFunctionName";
const STREAM_OUTPUT: &str = "KinesisStreamArn";

async fn has_campaign_attribute(config: &SdkConfig, pool_id: &str) -> bool {
    let client = aws_sdk_cognitoidentityprovider::Client::new(config);
    let pool = client
        .describe_user_pool()
        .user_pool_id(pool_id)
        .send()
        .await
        .expect("DescribeUserPool");
    pool.user_pool()
        .map(|pool| pool.schema_attributes())
        .unwrap_or_default()
        .iter()
        .any(|attribute| attribute.name() == Some("custom:campaign"))
}

async fn lookback_of(config: &SdkConfig, function: &str) -> Option<String> {
    let client = aws_sdk_lambda::Client::new(config);
    let configuration = client
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("GetFunctionConfiguration");
    configuration
        .environment()
        .and_then(|environment| environment.variables())
        .and_then(|variables| variables.get("LOOKBACK_DAYS"))
        .cloned()
}

#[tokio::test]
async fn lifecycle_create_unchanged_update_destroy() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let mut apps = vec![
        seed_application(&config, "alpha", 7).await,
        seed_application(&config, "beta", 14).await,
        seed_application(&config, "gamma", 30).await,
    ];
    let env_file = path_arg(&write_environment(dir.path(), "lifecycle", &apps, ""));

    // First apply creates everything.
    let first = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(
        exit_code(&first),
        0,
        "first apply failed:\n{}",
        stderr(&first)
    );
    let report = ApplyJson::parse(&first);
    assert_eq!(report.environment, "lifecycle");
    for app in &apps {
        assert_eq!(report.action_of(&app.name), "created", "{}", stderr(&first));
        let outputs = stack_outputs(&config, &stack_name("lifecycle", &app.name))
            .await
            .expect("the stack exists");
        assert_eq!(
            event_stream_destination(&config, &app.app_id)
                .await
                .as_deref(),
            outputs.get(STREAM_OUTPUT).map(String::as_str),
            "the event stream of {} must send to its stack's stream",
            app.name
        );
        assert!(
            has_campaign_attribute(&config, &app.pool_id).await,
            "custom:campaign on {}",
            app.name
        );
    }
    let uploaded = report
        .artifacts
        .as_ref()
        .expect("artifacts step")
        .uploaded
        .len();
    assert_eq!(uploaded, 2, "both zips are uploaded on the first apply");

    // Second apply: nothing changes, no change set, no mutating call.
    emulator.start_recording();
    let second = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(
        exit_code(&second),
        0,
        "second apply failed:\n{}",
        stderr(&second)
    );
    let report = ApplyJson::parse(&second);
    for app in &report.applications {
        assert_eq!(app.action, "unchanged", "{}: {:?}", app.name, app.error);
        assert!(!app.change_set_created, "{} created a change set", app.name);
    }
    assert!(
        report
            .artifacts
            .as_ref()
            .expect("artifacts step")
            .uploaded
            .is_empty()
    );
    let calls = emulator.recorded_calls();
    let mutating: Vec<_> = calls.iter().filter(|call| call.is_mutating()).collect();
    assert!(
        mutating.is_empty(),
        "a no-change apply made mutating calls: {mutating:#?}"
    );
    // The template hash output replaces reading the deployed template: one DescribeStacks per
    // application, and no GetTemplate.
    let cloudformation: Vec<&str> = calls
        .iter()
        .filter(|call| call.service == "cloudformation")
        .map(|call| call.action.as_str())
        .collect();
    assert_eq!(
        cloudformation,
        vec!["DescribeStacks"; apps.len()],
        "CloudFormation requests of a no-change apply"
    );

    // Change one application's lookback: only its stack differs.
    apps[1].lookback_days = 21;
    let env_file = path_arg(&write_environment(dir.path(), "lifecycle", &apps, ""));
    let diff = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "diff",
            "--exit-code",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(
        exit_code(&diff),
        2,
        "diff must report changes:\n{}\n{}",
        stdout(&diff),
        stderr(&diff)
    );
    let plan: serde_json::Value = serde_json::from_slice(&diff.stdout).expect("diff JSON");
    for app in plan["applications"].as_array().expect("applications") {
        let expected = if app["name"] == "beta" {
            "update"
        } else {
            "unchanged"
        };
        assert_eq!(app["stack_action"], expected, "{app:#}");
    }
    let beta = &plan["applications"][1];
    assert!(
        beta["template_diff"]
            .as_str()
            .is_some_and(|diff| diff.contains("21")),
        "the template diff shows the new lookback: {beta:#}"
    );

    emulator.start_recording();
    let third = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(
        exit_code(&third),
        0,
        "third apply failed:\n{}",
        stderr(&third)
    );
    let report = ApplyJson::parse(&third);
    assert_eq!(report.action_of("alpha"), "unchanged");
    assert_eq!(report.action_of("beta"), "updated");
    assert_eq!(report.action_of("gamma"), "unchanged");
    let change_sets = emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.action == "CreateChangeSet")
        .count();
    assert_eq!(change_sets, 1, "only beta's stack gets a change set");
    let beta_outputs = stack_outputs(&config, &stack_name("lifecycle", "beta"))
        .await
        .expect("beta stack");
    let function = beta_outputs
        .get(TAGGING_FUNCTION_OUTPUT)
        .expect("tagging function output");
    assert_eq!(lookback_of(&config, function).await.as_deref(), Some("21"));

    let settled = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "diff",
            "--exit-code",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(
        exit_code(&settled),
        0,
        "diff after apply:\n{}\n{}",
        stdout(&settled),
        stderr(&settled)
    );

    // Status lists outputs for every application.
    let status = deployer(
        &emulator,
        &["--env", &env_file, "--output", "json", "status"],
    );
    assert_eq!(exit_code(&status), 0, "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    for app in status["applications"].as_array().expect("applications") {
        let expected = if app["name"] == "beta" {
            "UPDATE_COMPLETE"
        } else {
            "CREATE_COMPLETE"
        };
        assert_eq!(app["stack_status"], expected, "{app:#}");
        assert!(app["outputs"][STREAM_OUTPUT].is_string(), "{app:#}");
        assert_eq!(app["event_stream_owned"], true, "{app:#}");
        assert_eq!(app["cognito_attribute"], "present", "{app:#}");
    }

    // Destroy removes the stacks and the event streams, and reports that the attribute stays.
    let destroy = deployer(&emulator, &["--env", &env_file, "destroy", "--yes"]);
    assert_eq!(
        exit_code(&destroy),
        0,
        "destroy failed:\n{}",
        stderr(&destroy)
    );
    assert!(
        stdout(&destroy).contains("Cognito cannot remove custom attributes"),
        "{}",
        stdout(&destroy)
    );
    for app in &apps {
        assert_eq!(
            stack_outputs(&config, &stack_name("lifecycle", &app.name)).await,
            None,
            "{} stack remains",
            app.name
        );
        assert_eq!(
            event_stream_destination(&config, &app.app_id).await,
            None,
            "{} event stream remains",
            app.name
        );
    }
}

#[tokio::test]
async fn foreign_event_stream_blocks_only_its_application() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let owned = seed_application(&config, "owned", 7).await;
    let foreign = seed_application(&config, "foreign", 7).await;

    let analytics = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/analytics";
    let pinpoint = aws_sdk_pinpoint::Client::new(&config);
    pinpoint
        .put_event_stream()
        .application_id(&foreign.app_id)
        .write_event_stream(
            aws_sdk_pinpoint::types::WriteEventStream::builder()
                .destination_stream_arn(analytics)
                .role_arn("arn:aws:iam::123456789012:role/analytics")
                .build(),
        )
        .send()
        .await
        .expect("PutEventStream");
    let env_file = path_arg(&write_environment(
        dir.path(),
        "foreign",
        &[owned.clone(), foreign.clone()],
        "",
    ));

    let output = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );

    assert_eq!(
        exit_code(&output),
        1,
        "a failed application makes the run fail:\n{}",
        stderr(&output)
    );
    let report = ApplyJson::parse(&output);
    assert_eq!(report.action_of("owned"), "created");
    assert_eq!(report.action_of("foreign"), "failed");
    let error = report.applications[1].error.as_deref().unwrap_or_default();
    assert!(
        error.contains(analytics),
        "the error names the current destination: {error}"
    );
    assert_eq!(
        event_stream_destination(&config, &foreign.app_id)
            .await
            .as_deref(),
        Some(analytics)
    );
    assert_eq!(
        stack_outputs(&config, &stack_name("foreign", "foreign")).await,
        None,
        "no stack before the refusal"
    );

    let destroy = deployer(&emulator, &["--env", &env_file, "destroy", "--yes"]);
    assert_eq!(exit_code(&destroy), 0, "{}", stderr(&destroy));
    assert_eq!(
        event_stream_destination(&config, &foreign.app_id)
            .await
            .as_deref(),
        Some(analytics),
        "destroy leaves a destination it did not set"
    );
}

#[tokio::test]
async fn malformed_environment_deploys_nothing() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let path = dir.path().join("broken.yaml");
    std::fs::write(
        &path,
        "environment: broken\nregion: eu-west-1\napplications:\n  - name: shop\n    pinpoint_app_id: not-an-id\n    user_pool_id: eu-west-1_AbCdEf123\n",
    )
    .expect("write file");
    emulator.start_recording();

    let output = deployer(
        &emulator,
        &[
            "--env",
            &path_arg(&path),
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );

    assert_eq!(exit_code(&output), 1);
    let message = stderr(&output);
    assert!(
        message.contains("broken.yaml:5:"),
        "the error names file and line: {message}"
    );
    assert!(
        message.contains("not-an-id"),
        "the error names the value: {message}"
    );
    assert!(
        emulator.recorded_calls().is_empty(),
        "no request may reach AWS"
    );
}

#[tokio::test]
async fn wrong_account_is_refused_before_any_change() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let app = seed_application(&config, "shop", 7).await;
    let env_file = write_environment(dir.path(), "account", &[app], "");
    let text = std::fs::read_to_string(&env_file)
        .expect("read")
        .replace(testkit::ACCOUNT_ID, "210987654321");
    std::fs::write(&env_file, text).expect("write");
    emulator.start_recording();

    let output = deployer(
        &emulator,
        &[
            "--env",
            &path_arg(&env_file),
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );

    assert_eq!(exit_code(&output), 1);
    assert!(
        stderr(&output).contains("210987654321"),
        "{}",
        stderr(&output)
    );
    let mutating: Vec<_> = emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.is_mutating())
        .collect();
    assert!(mutating.is_empty(), "{mutating:#?}");
}

#[tokio::test]
async fn comment_only_difference_is_unchanged() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let app = seed_application(&config, "shop", 7).await;
    let env_file = path_arg(&write_environment(dir.path(), "nochange", &[app], ""));
    let first = deployer(
        &emulator,
        &["--env", &env_file, "apply", "--artifacts", &artifacts],
    );
    assert_eq!(exit_code(&first), 0, "{}", stderr(&first));

    // Someone redeploys the same template with a comment added: the text differs, the
    // document does not. (An empty change set, CloudFormation's response if one were created,
    // is covered by the contract tests.)
    let stack = stack_name("nochange", "shop");
    let cloudformation = aws_sdk_cloudformation::Client::new(&config);
    let template = cloudformation
        .get_template()
        .stack_name(&stack)
        .send()
        .await
        .expect("GetTemplate")
        .template_body()
        .unwrap_or_default()
        .to_owned();
    cloudformation
        .update_stack()
        .stack_name(&stack)
        .template_body(format!("{template}# edited by hand\n"))
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .expect("UpdateStack");
    emulator.start_recording();

    let output = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );

    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let report = ApplyJson::parse(&output);
    assert_eq!(
        report.applications[0].action, "unchanged",
        "{:?}",
        report.applications[0].error
    );
    assert!(!report.applications[0].change_set_created);
    let mutating: Vec<_> = emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.is_mutating())
        .collect();
    assert!(mutating.is_empty(), "{mutating:#?}");
    let diff = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "diff",
            "--exit-code",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(exit_code(&diff), 0, "{}\n{}", stdout(&diff), stderr(&diff));
}

#[tokio::test]
async fn colliding_stack_names_are_refused() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    // `eu-prod` + `shop` and `eu` + `prod-shop` both name the stack
    // pinpoint-attribution-eu-prod-shop.
    let owner = seed_application(&config, "shop", 7).await;
    let mut intruder = seed_application(&config, "intruder", 7).await;
    intruder.name = "prod-shop".to_owned();
    let owner_dir = dir.path().join("owner");
    let intruder_dir = dir.path().join("intruder");
    std::fs::create_dir_all(&owner_dir).expect("dir");
    std::fs::create_dir_all(&intruder_dir).expect("dir");
    let owner_file = path_arg(&write_environment(&owner_dir, "eu-prod", &[owner], ""));
    let intruder_file = path_arg(&write_environment(&intruder_dir, "eu", &[intruder], ""));
    let created = deployer(
        &emulator,
        &["--env", &owner_file, "apply", "--artifacts", &artifacts],
    );
    assert_eq!(exit_code(&created), 0, "{}", stderr(&created));

    let apply = deployer(
        &emulator,
        &["--env", &intruder_file, "apply", "--artifacts", &artifacts],
    );
    let diff = deployer(
        &emulator,
        &[
            "--env",
            &intruder_file,
            "diff",
            "--exit-code",
            "--artifacts",
            &artifacts,
        ],
    );
    let destroy = deployer(&emulator, &["--env", &intruder_file, "destroy", "--yes"]);

    assert_eq!(exit_code(&apply), 1, "{}", stderr(&apply));
    assert!(
        stdout(&apply).contains("belongs to environment eu-prod, application shop"),
        "{}",
        stdout(&apply)
    );
    assert_eq!(
        exit_code(&diff),
        1,
        "a blocked plan is an error for diff:\n{}",
        stdout(&diff)
    );
    assert_eq!(exit_code(&destroy), 1, "{}", stdout(&destroy));
    let outputs = stack_outputs(&config, "pinpoint-attribution-eu-prod-shop").await;
    assert!(outputs.is_some(), "the owner's stack must survive");
    let status = deployer(
        &emulator,
        &["--env", &owner_file, "--output", "json", "status"],
    );
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert_eq!(status["applications"][0]["stack_status"], "CREATE_COMPLETE");
}

#[tokio::test]
async fn destroy_needs_yes_without_terminal_and_refuses_protected() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let app: AppSpec = seed_application(&config, "shop", 7).await;
    let env_file = path_arg(&write_environment(
        dir.path(),
        "guarded",
        std::slice::from_ref(&app),
        "",
    ));
    let apply = deployer(
        &emulator,
        &["--env", &env_file, "apply", "--artifacts", &artifacts],
    );
    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));

    let unconfirmed = deployer(&emulator, &["--env", &env_file, "destroy"]);
    assert_eq!(exit_code(&unconfirmed), 1);
    assert!(
        stderr(&unconfirmed).contains("--yes"),
        "{}",
        stderr(&unconfirmed)
    );
    assert!(
        stack_outputs(&config, &stack_name("guarded", "shop"))
            .await
            .is_some(),
        "the stack must remain"
    );

    let protected_file = path_arg(&write_environment(
        dir.path(),
        "guarded",
        &[app],
        "protected: true\n",
    ));
    let refused = deployer(&emulator, &["--env", &protected_file, "destroy", "--yes"]);
    assert_eq!(exit_code(&refused), 1);
    assert!(
        stderr(&refused).contains("protected"),
        "{}",
        stderr(&refused)
    );
    assert!(
        stack_outputs(&config, &stack_name("guarded", "shop"))
            .await
            .is_some(),
        "the stack must remain"
    );
}

#[tokio::test]
async fn applications_sharing_a_pool_both_apply() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let first = seed_application(&config, "web", 7).await;
    let mut second = seed_application(&config, "mobile", 7).await;
    second.pool_id = first.pool_id.clone();
    let env_file = path_arg(&write_environment(
        dir.path(),
        "shared",
        &[first.clone(), second],
        "",
    ));

    let output = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts,
        ],
    );

    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let report = ApplyJson::parse(&output);
    assert_eq!(report.action_of("web"), "created");
    assert_eq!(report.action_of("mobile"), "created");
    let created: Vec<&str> = report
        .applications
        .iter()
        .filter(|app| app.cognito_attribute == "create")
        .map(|app| app.name.as_str())
        .collect();
    assert_eq!(
        created.len(),
        1,
        "exactly one application adds the shared attribute: {created:?}"
    );
    assert!(has_campaign_attribute(&config, &first.pool_id).await);
}
