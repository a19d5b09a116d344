//! The template hash output on the emulator: a settled stack whose hash matches costs one
//! DescribeStacks, a stack without the output is read and updated, and `--compare-templates`
//! finds a template edited outside the deployer that kept the output.

mod support;

use aws_config::SdkConfig;
use support::{
    apply_json, deployed_template, deployer, exit_code, path_arg, seed_application, stderr, stdout,
    write_environment,
};
use testkit::Emulator;

const HASH_OUTPUT: &str = "TemplateSha256";

/// Updates `stack` outside the deployer, as someone with console access would.
async fn update_by_hand(config: &SdkConfig, stack: &str, template: &serde_json::Value) {
    aws_sdk_cloudformation::Client::new(config)
        .update_stack()
        .stack_name(stack)
        .template_body(template.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .expect("UpdateStack");
}

/// CloudFormation actions among the requests recorded since the last `start_recording`.
fn cloudformation_actions(emulator: &Emulator) -> Vec<String> {
    emulator
        .recorded_calls()
        .into_iter()
        .filter(|call| call.service == "cloudformation")
        .map(|call| call.action)
        .collect()
}

#[tokio::test]
async fn stack_without_hash_output_is_read_and_updated() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let app = seed_application(&config, "shop", 7).await;
    let env_file = path_arg(&write_environment(dir.path(), "hash", &[app], ""));
    let stack = "pinpoint-attribution-hash-shop";
    let first = apply_json(&emulator, &env_file, &artifacts, &[]);
    assert_eq!(first.action_of("shop"), "created");
    assert!(
        first.application("shop").outputs.contains_key(HASH_OUTPUT),
        "a new stack carries the hash output: {:?}",
        first.application("shop").outputs
    );

    // A stack deployed by a version without the output.
    let mut template = deployed_template(&config, stack).await;
    let removed = template["Outputs"]
        .as_object_mut()
        .expect("Outputs")
        .remove(HASH_OUTPUT);
    assert!(removed.is_some(), "the rendered template has the output");
    update_by_hand(&config, stack, &template).await;

    emulator.start_recording();
    let second = apply_json(&emulator, &env_file, &artifacts, &[]);
    assert_eq!(second.action_of("shop"), "updated");
    let actions = cloudformation_actions(&emulator);
    assert!(
        actions.iter().any(|action| action == "GetTemplate"),
        "without the output, apply reads the template: {actions:?}"
    );

    emulator.start_recording();
    let third = apply_json(&emulator, &env_file, &artifacts, &[]);
    assert_eq!(third.action_of("shop"), "unchanged");
    assert_eq!(cloudformation_actions(&emulator), vec!["DescribeStacks"]);
}

#[tokio::test]
async fn compare_templates_finds_hand_edit() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let app = seed_application(&config, "shop", 7).await;
    let env_file = path_arg(&write_environment(dir.path(), "edit", &[app], ""));
    let stack = "pinpoint-attribution-edit-shop";
    apply_json(&emulator, &env_file, &artifacts, &[]);

    let mut template = deployed_template(&config, stack).await;
    template["Outputs"]
        .as_object_mut()
        .expect("Outputs")
        .insert(
            "AddedByHand".to_owned(),
            serde_json::json!({"Value": "console edit"}),
        );
    update_by_hand(&config, stack, &template).await;

    // Trusting the hash output, diff reports no change: the documented cost of skipping
    // GetTemplate.
    let trusting = deployer(
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
    assert_eq!(exit_code(&trusting), 0, "{}", stderr(&trusting));

    let comparing = deployer(
        &emulator,
        &[
            "--env",
            &env_file,
            "--output",
            "json",
            "diff",
            "--exit-code",
            "--compare-templates",
            "--artifacts",
            &artifacts,
        ],
    );
    assert_eq!(
        exit_code(&comparing),
        2,
        "{}\n{}",
        stdout(&comparing),
        stderr(&comparing)
    );
    let plan: serde_json::Value = serde_json::from_slice(&comparing.stdout).expect("diff JSON");
    let application = &plan["applications"][0];
    assert_eq!(application["stack_action"], "update", "{application:#}");
    assert!(
        application["template_diff"]
            .as_str()
            .is_some_and(|diff| diff.contains("AddedByHand")),
        "the template diff shows the hand edit: {application:#}"
    );

    let repaired = apply_json(&emulator, &env_file, &artifacts, &["--compare-templates"]);
    assert_eq!(repaired.action_of("shop"), "updated");
    let template = deployed_template(&config, stack).await;
    assert!(
        template["Outputs"].get("AddedByHand").is_none(),
        "apply restored the rendered template"
    );
}
