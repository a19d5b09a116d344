//! Every rendered variant passes cfn-lint without errors or warnings.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pinpoint_attribution::config;
use pinpoint_attribution::render;
use render_support::*;

fn cfn_lint() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/cfn-lint");
    assert!(
        path.exists(),
        "cfn-lint not found at {}: install it into the project venv (`.venv/bin/pip install cfn-lint`)",
        path.display()
    );
    path
}

/// Variants of one application's stack, by file name.
fn variants() -> Vec<(&'static str, String)> {
    vec![
        ("default", environment_yaml("", "")),
        ("protected", environment_yaml("protected: true\n", "")),
        ("x86_64", environment_yaml("", "architecture: x86_64\n")),
        (
            "journey-id",
            environment_yaml("", "campaign_value: journey_id\n"),
        ),
        (
            "explicit-bucket",
            environment_yaml("artifacts_bucket: team-artifacts.example\n", ""),
        ),
        (
            "special-tags",
            environment_yaml(
                "tags:\n  team: \"R+D / growth = team @ hq: 1\"\n  cost-center: \"\"\n",
                "",
            ),
        ),
        (
            "limits",
            environment_yaml(
                "",
                "memory_mb: 10240\ntimeout_seconds: 900\nbatch_size: 10000\nmaximum_retry_attempts: 10000\nlog_retention_days: 3653\nlookback_days: 365\n",
            ),
        ),
        (
            "existing-stream",
            environment_yaml(
                "",
                "event_stream:\n  mode: existing\n  stream_arn: arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events\n",
            ),
        ),
        (
            "existing-stream-protected",
            environment_yaml(
                "protected: true\n",
                "event_stream: {mode: existing, stream_arn: \"arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events\"}\n",
            ),
        ),
        (
            "replace-existing",
            environment_yaml("", "event_stream: {mode: create, replace_existing: true}\n"),
        ),
        (
            "minimums",
            environment_yaml(
                "",
                "memory_mb: 128\ntimeout_seconds: 1\nbatch_size: 1\nmaximum_retry_attempts: 0\nlog_retention_days: 1\nlookback_days: 1\n",
            ),
        ),
    ]
}

#[test]
fn rendered_templates_pass_cfn_lint() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let (_artifacts_dir, artifacts) = artifacts();
    let mut files = Vec::new();

    for (name, yaml) in variants() {
        let stack = render_yaml(&yaml);
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, &stack.template).expect("write template");
        files.push(path);
    }
    for environment_file in ["environments/local.yaml", "environments/example.yaml"] {
        let environment =
            config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(environment_file))
                .unwrap_or_else(|error| panic!("{error}"));
        for application in &environment.applications {
            let stack =
                render::render_application(&environment, application, &artifacts).expect("render");
            let path = dir.path().join(format!("{}.yaml", stack.stack_name));
            std::fs::write(&path, &stack.template).expect("write template");
            files.push(path);
        }
    }

    // One run for all files: cfn-lint takes over a second to start.
    let output = Command::new(cfn_lint())
        .args(["--format", "parseable", "--"])
        .args(&files)
        .output()
        .expect("run cfn-lint");

    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim().is_empty(),
        "cfn-lint reported problems (exit {:?}) for {} templates:\n{stdout}\n{stderr}",
        output.status.code(),
        files.len()
    );
}

#[test]
fn cfn_lint_catches_a_broken_template() {
    // Guards the check above against a cfn-lint that silently passes everything.
    let dir = tempfile::tempdir().expect("temporary directory");
    let stack = render_yaml(&environment_yaml("", ""));
    let broken = stack
        .template
        .replace("StreamViewType: OLD_IMAGE", "StreamViewType: OLDEST_IMAGE");
    let path = dir.path().join("broken.yaml");
    std::fs::write(&path, broken).expect("write template");

    let output = Command::new(cfn_lint())
        .args(["--format", "parseable", "--"])
        .arg(&path)
        .output()
        .expect("run cfn-lint");

    assert!(
        !output.status.success(),
        "cfn-lint accepted an invalid StreamViewType"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("OLDEST_IMAGE"));
}
