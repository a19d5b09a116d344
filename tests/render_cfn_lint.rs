//! Every rendered variant passes cfn-lint without errors or warnings.

mod render_support;

use std::path::{Path, PathBuf};
use std::process::Command;

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

#[test]
fn rendered_templates_pass_cfn_lint() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let files = write_rendered_variants(dir.path());

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
