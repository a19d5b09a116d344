//! An apply that is stopped part way (Ctrl-C, a killed CI runner) converges when it runs again.
//!
//! The tests stop the deployer right after it prints a chosen progress line. Each line marks a
//! real step, so the stops land between the change set, the stack, the attribute and the event
//! stream.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use aws_config::SdkConfig;
use support::{
    AppSpec, ApplyJson, deployer, event_stream_destination, exit_code, seed_application, stderr,
    write_environment,
};
use testkit::Emulator;

/// How the test stops the deployer.
#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGINT, what Ctrl-C sends.
    Interrupt,
    /// SIGKILL, what a CI runner that is torn down sends.
    Kill,
}

fn spawn_apply(emulator: &Emulator, env_file: &Path) -> Child {
    let artifacts = support::artifacts_dir();
    Command::new(env!("CARGO_BIN_EXE_pinpoint-attribution"))
        .arg("--env")
        .arg(env_file)
        .arg("apply")
        .arg("--artifacts")
        .arg(&artifacts)
        .envs(emulator.process_env())
        .env_remove("PINPOINT_ATTRIBUTION_ENV")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start pinpoint-attribution apply")
}

/// Reads progress lines until one contains `marker`, then stops the process.
///
/// Panics when the process ends without printing the marker: the stop point was never reached.
fn stop_at(mut child: Child, marker: &str, stop: Stop) {
    let stderr = child.stderr.take().expect("stderr is piped");
    let mut read = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.expect("read the deployer's stderr");
        let reached = line.contains(marker);
        read.push(line);
        if reached {
            send(&mut child, stop);
            child.wait().expect("wait for the stopped deployer");
            return;
        }
    }
    child.wait().expect("wait for the deployer");
    panic!("the deployer ended without printing {marker:?}. It printed:\n{read:#?}");
}

fn send(child: &mut Child, stop: Stop) {
    match stop {
        Stop::Kill => child.kill().expect("SIGKILL the deployer"),
        Stop::Interrupt => {
            let status = Command::new("kill")
                .arg("-INT")
                .arg(child.id().to_string())
                .status()
                .expect("run kill -INT");
            assert!(status.success(), "kill -INT {} failed", child.id());
        }
    }
}

fn apply_json(emulator: &Emulator, env_file: &Path) -> (i32, ApplyJson, String) {
    let artifacts = support::artifacts_dir();
    let output = deployer(
        emulator,
        &[
            "--env",
            &env_file.display().to_string(),
            "--output",
            "json",
            "apply",
            "--artifacts",
            &artifacts.display().to_string(),
        ],
    );
    (
        exit_code(&output),
        ApplyJson::parse(&output),
        stderr(&output),
    )
}

async fn stream_output(config: &SdkConfig, stack: &str) -> String {
    let response = aws_sdk_cloudformation::Client::new(config)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .expect("DescribeStacks after the converging apply");
    let stack = response.stacks().first().expect("the stack exists");
    stack
        .outputs()
        .iter()
        .find(|output| output.output_key() == Some("KinesisStreamArn"))
        .and_then(|output| output.output_value())
        .expect("the stack has its KinesisStreamArn output")
        .to_owned()
}

async fn check_converges(emulator: &Emulator, dir: &Path, app: &AppSpec, environment: &str) {
    let config = emulator.sdk_config();
    let env_file = write_environment(dir, environment, std::slice::from_ref(app), "");
    let stack = format!("pinpoint-attribution-{environment}-{}", app.name);

    let (code, second, log) = apply_json(emulator, &env_file);
    assert_eq!(code, 0, "the apply after the stop must succeed:\n{log}");
    assert!(
        second
            .applications
            .iter()
            .all(|outcome| outcome.error.is_none()),
        "no application may fail after the stop:\n{log}"
    );

    let stream = stream_output(&config, &stack).await;
    assert_eq!(
        event_stream_destination(&config, &app.app_id)
            .await
            .as_deref(),
        Some(stream.as_str()),
        "the event stream points at the stack's Kinesis stream"
    );

    let (code, third, log) = apply_json(emulator, &env_file);
    assert_eq!(code, 0, "the apply after convergence must succeed:\n{log}");
    assert_eq!(third.action_of(&app.name), "unchanged", "{log}");
    assert!(
        third
            .applications
            .iter()
            .all(|outcome| !outcome.change_set_created),
        "a converged stack needs no change set:\n{log}"
    );
}

/// Progress lines after which the test stops an apply, in the order an apply prints them.
const STOP_POINTS: [&str; 5] = [
    // The change set exists, nothing is executed yet.
    "resource EventStream (AWS::Kinesis::Stream)",
    // The change set is executing.
    "CREATE_IN_PROGRESS",
    // The stack exists, but the attribute and the event stream are not set yet.
    "CREATE_COMPLETE",
    // The attribute exists, but the event stream is not set yet.
    "added custom:campaign",
    // The event stream is set, but the summary is not printed yet.
    "event stream now sends",
];

#[tokio::test]
async fn stopped_apply_converges() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");

    for (index, marker) in STOP_POINTS.iter().enumerate() {
        let stop = if index % 2 == 0 {
            Stop::Interrupt
        } else {
            Stop::Kill
        };
        let environment = format!("cut{index}");
        let app = seed_application(&config, "shop", 7).await;
        let env_file = write_environment(dir.path(), &environment, std::slice::from_ref(&app), "");

        stop_at(spawn_apply(&emulator, &env_file), marker, stop);

        check_converges(&emulator, dir.path(), &app, &environment).await;
    }
}

#[tokio::test]
async fn unsecured_own_bucket_is_repaired() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let app = seed_application(&config, "shop", 7).await;
    let env_file = write_environment(dir.path(), "repair", &[app], "");
    let env_arg = env_file.display().to_string();
    let artifacts = support::artifacts_dir().display().to_string();

    // An apply stopped right after CreateBucket leaves the bucket without its settings.
    let s3 = aws_sdk_s3::Client::new(&config);
    let bucket = format!(
        "pinpoint-attribution-artifacts-{}-{}",
        testkit::ACCOUNT_ID,
        testkit::REGION
    );
    s3.create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("CreateBucket");

    let diff = deployer(
        &emulator,
        &[
            "--env",
            &env_arg,
            "--output",
            "json",
            "diff",
            "--artifacts",
            &artifacts,
        ],
    );
    let plan: serde_json::Value = serde_json::from_slice(&diff.stdout).expect("diff JSON");
    assert_eq!(
        plan["artifacts"]["bucket_action"],
        "update",
        "{}",
        stderr(&diff)
    );

    let apply = deployer(
        &emulator,
        &["--env", &env_arg, "apply", "--artifacts", &artifacts],
    );
    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));
    assert!(
        stderr(&apply).contains("securing bucket"),
        "apply reports the repair: {}",
        stderr(&apply)
    );

    let block = s3
        .get_public_access_block()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetPublicAccessBlock after the repair");
    let settings = block
        .public_access_block_configuration()
        .expect("a public access block is set");
    assert_eq!(settings.block_public_acls(), Some(true));
    assert_eq!(settings.block_public_policy(), Some(true));
    assert_eq!(settings.ignore_public_acls(), Some(true));
    assert_eq!(settings.restrict_public_buckets(), Some(true));

    let encryption = s3
        .get_bucket_encryption()
        .bucket(&bucket)
        .send()
        .await
        .expect("GetBucketEncryption after the repair");
    let rules = encryption
        .server_side_encryption_configuration()
        .map(|configuration| configuration.rules())
        .unwrap_or_default();
    assert_eq!(rules.len(), 1, "one default encryption rule");
}
