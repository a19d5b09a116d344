//! Shared helpers of the deployer's integration tests: seeding the emulator, writing
//! environment files and running the deployer binary as a process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_config::SdkConfig;
use serde::Deserialize;
use testkit::Emulator;

/// Directory with packaged Lambda zips for the tests.
///
/// `scripts/test` packages the functions once and exports the directory; building them inside
/// every test would take minutes.
pub fn artifacts_dir() -> PathBuf {
    match std::env::var_os("PINPOINT_ATTRIBUTION_TEST_ARTIFACTS") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "PINPOINT_ATTRIBUTION_TEST_ARTIFACTS is not set: run the tests through scripts/test, which packages the functions first"
        ),
    }
}

/// Formats a path as a command-line argument.
pub fn path_arg(path: &Path) -> String {
    path.display().to_string()
}

/// Returns the stack name that the deployer gives `app` in `environment`.
pub fn stack_name(environment: &str, app: &str) -> String {
    format!("pinpoint-attribution-{environment}-{app}")
}

/// Reads the outputs of `stack`; `None` when the stack cannot be described.
pub async fn stack_outputs(
    config: &SdkConfig,
    stack: &str,
) -> Option<std::collections::BTreeMap<String, String>> {
    let response = aws_sdk_cloudformation::Client::new(config)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .ok()?;
    let found = response.stacks().first()?;
    let outputs = found
        .outputs()
        .iter()
        .map(|output| {
            (
                output.output_key().unwrap_or_default().to_owned(),
                output.output_value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    Some(outputs)
}

/// Reads the deployed template of `stack` and parses it.
pub async fn deployed_template(config: &SdkConfig, stack: &str) -> serde_json::Value {
    let body = aws_sdk_cloudformation::Client::new(config)
        .get_template()
        .stack_name(stack)
        .send()
        .await
        .expect("GetTemplate")
        .template_body()
        .unwrap_or_default()
        .to_owned();
    serde_saphyr::from_str(&body).expect("the deployed template is YAML")
}

/// Reads the Kinesis stream that the Pinpoint application's event stream sends to; `None`
/// when it has no event stream.
pub async fn event_stream_destination(config: &SdkConfig, app_id: &str) -> Option<String> {
    let response = aws_sdk_pinpoint::Client::new(config)
        .get_event_stream()
        .application_id(app_id)
        .send()
        .await
        .ok()?;
    response
        .event_stream()
        .and_then(|stream| stream.destination_stream_arn())
        .map(str::to_owned)
}

/// Runs `apply --output json` of `env_file` with `artifacts` and `extra` arguments, failing the
/// test when it does not exit 0, and returns its report.
pub fn apply_json(
    emulator: &Emulator,
    env_file: &str,
    artifacts: &str,
    extra: &[&str],
) -> ApplyJson {
    let mut args = vec![
        "--env",
        env_file,
        "--output",
        "json",
        "apply",
        "--artifacts",
        artifacts,
    ];
    args.extend_from_slice(extra);
    let output = deployer(emulator, &args);
    assert_eq!(exit_code(&output), 0, "apply failed:\n{}", stderr(&output));
    ApplyJson::parse(&output)
}

/// One application of a generated environment file.
#[derive(Debug, Clone)]
pub struct AppSpec {
    pub name: String,
    pub app_id: String,
    pub pool_id: String,
    pub lookback_days: u32,
}

/// Creates a Pinpoint application and a Cognito user pool for `name` in the emulator.
pub async fn seed_application(config: &SdkConfig, name: &str, lookback_days: u32) -> AppSpec {
    let pinpoint = aws_sdk_pinpoint::Client::new(config);
    let request = aws_sdk_pinpoint::types::CreateApplicationRequest::builder()
        .name(format!("{name}-app"))
        .build();
    let app = pinpoint
        .create_app()
        .create_application_request(request)
        .send()
        .await
        .expect("CreateApp on the emulator");
    let app_id = app
        .application_response()
        .and_then(|response| response.id())
        .expect("CreateApp returns an id")
        .to_owned();

    let cognito = aws_sdk_cognitoidentityprovider::Client::new(config);
    let pool = cognito
        .create_user_pool()
        .pool_name(format!("{name}-users"))
        .send()
        .await
        .expect("CreateUserPool on the emulator");
    let pool_id = pool
        .user_pool()
        .and_then(|pool| pool.id())
        .expect("CreateUserPool returns an id")
        .to_owned();

    AppSpec {
        name: name.to_owned(),
        app_id,
        pool_id,
        lookback_days,
    }
}

/// Writes an environment file for `apps` into `dir` and returns its path.
pub fn write_environment(dir: &Path, environment: &str, apps: &[AppSpec], extra: &str) -> PathBuf {
    let mut text = format!(
        "environment: {environment}\nregion: {region}\naccount_id: \"{account}\"\ntags:\n  cost-center: marketing\ndefaults:\n  architecture: x86_64\n{extra}applications:\n",
        region = testkit::REGION,
        account = testkit::ACCOUNT_ID,
    );
    for app in apps {
        text.push_str(&format!(
            "  - name: {}\n    pinpoint_app_id: {}\n    user_pool_id: {}\n    lookback_days: {}\n",
            app.name, app.app_id, app.pool_id, app.lookback_days
        ));
    }
    let path = dir.join(format!("{environment}.yaml"));
    std::fs::write(&path, text).expect("write the environment file");
    path
}

/// Runs the deployer binary against the emulator with `args`.
pub fn deployer(emulator: &Emulator, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinpoint-attribution"))
        .args(args)
        .envs(emulator.process_env())
        .env_remove("PINPOINT_ATTRIBUTION_ENV")
        .env("NO_COLOR", "1")
        .output()
        .expect("run pinpoint-attribution")
}

/// Exit code of a finished process; panics when a signal ended it.
pub fn exit_code(output: &Output) -> i32 {
    output
        .status
        .code()
        .expect("process ended with an exit code")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON document of `apply --output json`; unknown fields fail the parse, so the
/// documented shape cannot drift unnoticed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyJson {
    pub environment: String,
    pub artifacts: Option<ArtifactsJson>,
    pub applications: Vec<ApplyApplicationJson>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsJson {
    pub bucket: String,
    pub uploaded: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyApplicationJson {
    pub name: String,
    pub stack: String,
    pub action: String,
    pub change_set_created: bool,
    pub error: Option<String>,
    pub resource_changes: Vec<serde_json::Value>,
    pub cognito_attribute: String,
    pub event_stream: String,
    pub outputs: std::collections::BTreeMap<String, String>,
    pub event_stream_replaced: Option<String>,
    pub termination_protection: bool,
}

impl ApplyJson {
    pub fn parse(output: &Output) -> ApplyJson {
        serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "apply output is not the documented JSON ({error}):\n{}\nstderr:\n{}",
                stdout(output),
                stderr(output)
            )
        })
    }

    pub fn action_of(&self, name: &str) -> &str {
        &self.application(name).action
    }

    pub fn application(&self, name: &str) -> &ApplyApplicationJson {
        self.applications
            .iter()
            .find(|app| app.name == name)
            .unwrap_or_else(|| panic!("no application {name} in the apply output"))
    }
}
