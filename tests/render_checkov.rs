//! Every rendered variant passes checkov's CloudFormation checks. A check that does not fit
//! this stack is skipped in the template, on the resource, with the reason as its comment.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use render_support::*;
use serde_json::Value;

fn checkov() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv-checkov/bin/checkov");
    assert!(
        path.exists(),
        "checkov not found at {}: run scripts/checkov install",
        path.display()
    );
    path
}

/// Runs checkov on every template in `dir` and returns its JSON report.
fn run_checkov(dir: &Path) -> Value {
    let output = Command::new(checkov())
        .args([
            "--framework",
            "cloudformation",
            "--output",
            "json",
            "--compact",
        ])
        // No network here or in CI: use the checks that ship with the pinned package.
        .arg("--skip-download")
        .arg("--directory")
        .arg(dir)
        .env("BC_SKIP_MAPPING", "TRUE")
        .output()
        .expect("run checkov");

    // checkov exits with 1 when a check fails, and the report names the check.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "checkov failed (exit {:?}):\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "checkov printed no JSON report ({error}):\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn checks<'a>(report: &'a Value, kind: &str) -> &'a [Value] {
    report["results"][kind]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn describe(check: &Value) -> String {
    format!(
        "{} {} on {} in {}",
        check["check_id"].as_str().unwrap_or("?"),
        check["check_name"].as_str().unwrap_or("?"),
        check["resource"].as_str().unwrap_or("?"),
        check["file_path"].as_str().unwrap_or("?")
    )
}

/// Counts the resources of every template, as checkov should read them.
fn resource_count(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("read template");
            let template = parse(&text);
            template["Resources"]
                .as_object()
                .map_or(0, |resources| resources.len() as u64)
        })
        .sum()
}

// One test for the findings and the skips: checkov takes several seconds per run.
#[test]
fn rendered_templates_pass_checkov() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = write_rendered_variants(dir.path());

    let report = run_checkov(dir.path());

    let summary = &report["summary"];
    assert_eq!(summary["parsing_errors"], 0, "{summary}");
    assert_eq!(
        summary["resource_count"].as_u64(),
        Some(resource_count(&files)),
        "checkov did not read every resource of {} templates: {summary}",
        files.len()
    );
    assert!(
        summary["passed"].as_u64().is_some_and(|passed| passed > 0),
        "{summary}"
    );
    let failed: Vec<String> = checks(&report, "failed_checks")
        .iter()
        .map(describe)
        .collect();
    assert!(
        failed.is_empty(),
        "checkov findings (fix them in templates/application.yaml.hbs, or skip the check on the resource with the reason):\n{}",
        failed.join("\n")
    );

    let skipped = checks(&report, "skipped_checks");
    assert!(!skipped.is_empty(), "the template skips some checks");
    for check in skipped {
        let comment = check["check_result"]["suppress_comment"]
            .as_str()
            .unwrap_or_default();
        assert!(
            comment.split_whitespace().count() >= 10,
            "skip without a reason: {} (comment {comment:?})",
            describe(check)
        );
    }
}

#[test]
fn checkov_catches_an_unencrypted_stream() {
    // Guards the checks above against a checkov that passes everything.
    let dir = tempfile::tempdir().expect("temporary directory");
    let stack = render_yaml(&environment_yaml("", ""));
    let start = stack
        .template
        .find("      StreamEncryption:")
        .expect("the stream is encrypted");
    let end = start
        + stack.template[start..]
            .find("      Tags:")
            .expect("Tags follow the encryption");
    let unencrypted = format!("{}{}", &stack.template[..start], &stack.template[end..]);
    std::fs::write(dir.path().join("unencrypted.yaml"), unencrypted).expect("write template");

    let report = run_checkov(dir.path());

    let failed: Vec<String> = checks(&report, "failed_checks")
        .iter()
        .map(describe)
        .collect();
    assert!(
        failed.iter().any(|check| check.contains("EventStream")),
        "checkov accepted an unencrypted Kinesis stream; findings: {failed:?}"
    );
}
