//! The example GitHub Actions workflow passes actionlint, which also runs shellcheck on its
//! `run:` scripts when shellcheck is on PATH (`.ci/run` installs it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WORKFLOW: &str = "examples/github-actions.yml";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn actionlint(path: &Path) -> Output {
    let binary: PathBuf = root().join(".venv/bin/actionlint");
    assert!(
        binary.exists(),
        "actionlint not found at {}: run scripts/emulator install, which installs scripts/requirements.txt",
        binary.display()
    );
    Command::new(binary)
        .arg("-no-color")
        .arg(path)
        .current_dir(root())
        .output()
        .expect("run actionlint")
}

#[test]
fn example_workflow_passes_actionlint() {
    let output = actionlint(&root().join(WORKFLOW));

    assert!(
        output.status.success(),
        "actionlint reported problems in {WORKFLOW}:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn example_workflow_has_each_ci_stage() {
    let text = std::fs::read_to_string(root().join(WORKFLOW)).expect("read the workflow");
    let workflow: serde_json::Value = serde_saphyr::from_str(&text).expect("workflow YAML");
    let jobs = &workflow["jobs"];

    for job in ["build", "plan", "preview", "deploy", "destroy-preview"] {
        assert!(jobs[job].is_object(), "the workflow has no job {job}");
    }
    assert!(text.contains("role-to-assume:"), "AWS access through OIDC");
    assert_eq!(workflow["permissions"]["id-token"], "write");
    assert!(text.contains("diff --exit-code"), "the plan job diffs");
    assert!(text.contains("GITHUB_STEP_SUMMARY"), "the plan is posted");
    assert!(text.contains("destroy --yes"), "previews are destroyed");
}

#[test]
fn actionlint_rejects_a_broken_workflow() {
    // Guards the check above against an actionlint that accepts everything.
    let text = std::fs::read_to_string(root().join(WORKFLOW)).expect("read the workflow");
    let broken = text.replacen("needs: build", "needs: biuld", 1);
    assert_ne!(broken, text, "the workflow has a `needs: build` to break");
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("broken.yml");
    std::fs::write(&path, broken).expect("write the broken workflow");

    let output = actionlint(&path);

    assert!(!output.status.success(), "actionlint accepted needs: biuld");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("biuld"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
