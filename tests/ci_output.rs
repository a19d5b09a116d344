//! Output that a CI pipeline reads: plain progress lines on a stderr that is no terminal, the
//! plan before apply changes anything, stack outputs in `apply` and `status` on every run,
//! and the shell completion scripts.

mod support;

use std::process::Command;

use support::{
    ApplyJson, deployer, exit_code, path_arg, seed_application, stderr, stdout, write_environment,
};
use testkit::Emulator;

use pinpoint_attribution::render::outputs;

const STACK_OUTPUTS: [&str; 6] = [
    outputs::STREAM_ARN,
    outputs::PINPOINT_ROLE_ARN,
    outputs::TABLE_NAME,
    outputs::TAGGING_FUNCTION,
    outputs::EXPIRATION_FUNCTION,
    outputs::FAILURE_QUEUE_URL,
];

#[tokio::test]
async fn apply_progress_is_plain_lines_without_terminal() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let apps = vec![seed_application(&config, "shop", 7).await];
    let env_file = path_arg(&write_environment(dir.path(), "plain", &apps, ""));

    // The test harness pipes stderr, so stderr is no terminal for the deployer.
    let apply = deployer(
        &emulator,
        &["--env", &env_file, "apply", "--artifacts", &artifacts],
    );

    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));
    let progress = stderr(&apply);
    assert!(
        !progress.contains('\x1b'),
        "escape sequences in plain progress:\n{progress}"
    );
    let lines: Vec<&str> = progress.lines().collect();
    for line in &lines {
        assert!(
            line.starts_with("[shop] ") || line.starts_with("[artifacts] "),
            "a progress line without its label: {line:?}\n{progress}"
        );
    }
    // The plan comes first, then the change set, the stack events and the outcome.
    let position = |text: &str| {
        lines
            .iter()
            .position(|line| line.contains(text))
            .unwrap_or_else(|| panic!("no progress line contains {text:?}:\n{progress}"))
    };
    let plan = position("create    stack pinpoint-attribution-plain-shop");
    let attribute = position("create    cognito attribute custom:campaign");
    let change_set = position("change set resource actions:");
    let event = position("CREATE_COMPLETE");
    let outcome = lines
        .iter()
        .rposition(|line| *line == "[shop] created")
        .unwrap_or_else(|| panic!("no outcome line:\n{progress}"));
    assert!(plan < attribute, "{progress}");
    assert!(attribute < change_set, "{progress}");
    assert!(change_set < event, "{progress}");
    assert!(event < outcome, "{progress}");
}

#[tokio::test]
async fn apply_and_status_report_outputs_when_unchanged() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let apps = vec![
        seed_application(&config, "shop", 7).await,
        seed_application(&config, "news", 14).await,
    ];
    let env_file = path_arg(&write_environment(dir.path(), "outputs", &apps, ""));
    let apply_args = [
        "--env",
        &env_file,
        "--output",
        "json",
        "apply",
        "--artifacts",
        &artifacts,
    ];

    let first = deployer(&emulator, &apply_args);
    assert_eq!(exit_code(&first), 0, "{}", stderr(&first));
    let created = ApplyJson::parse(&first);

    let second = deployer(&emulator, &apply_args);
    assert_eq!(exit_code(&second), 0, "{}", stderr(&second));
    let unchanged = ApplyJson::parse(&second);
    assert!(
        stderr(&second).contains("[shop] no changes"),
        "a no-change apply says so: {}",
        stderr(&second)
    );

    let status = deployer(
        &emulator,
        &["--env", &env_file, "--output", "json", "status"],
    );
    assert_eq!(exit_code(&status), 0, "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_slice(&status.stdout)
        .unwrap_or_else(|error| panic!("status JSON: {error}\n{}", stdout(&status)));

    for app in &apps {
        let after_create = &created.application(&app.name).outputs;
        let after_no_change = unchanged.application(&app.name);
        assert_eq!(after_no_change.action, "unchanged");
        for output in STACK_OUTPUTS {
            assert!(
                after_create.contains_key(output),
                "{} misses {output} after create: {after_create:?}",
                app.name
            );
        }
        assert_eq!(
            &after_no_change.outputs, after_create,
            "{}: a no-change apply reports the same outputs",
            app.name
        );

        let status_app = status["applications"]
            .as_array()
            .expect("applications")
            .iter()
            .find(|entry| entry["name"] == app.name.as_str())
            .unwrap_or_else(|| panic!("no status of {}", app.name));
        let status_outputs: std::collections::BTreeMap<String, String> =
            serde_json::from_value(status_app["outputs"].clone()).expect("outputs map");
        assert_eq!(&status_outputs, after_create, "{}", app.name);
    }
}

fn completions(shell: &str) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pinpoint-attribution"))
        .args(["completions", shell])
        .env_remove("PINPOINT_ATTRIBUTION_ENV")
        .output()
        .expect("run pinpoint-attribution completions")
}

#[test]
fn completions_bash_lists_subcommands() {
    let output = completions("bash");

    assert_eq!(exit_code(&output), 0, "{}", stderr(&output));
    let script = stdout(&output);
    for subcommand in [
        "render",
        "package",
        "diff",
        "apply",
        "destroy",
        "status",
        "completions",
    ] {
        assert!(
            script.contains(subcommand),
            "bash completions miss {subcommand}"
        );
    }
    assert!(
        script.contains("--exit-code"),
        "flags of diff are completed"
    );
    assert!(script.contains("complete -F"), "a bash completion script");
}

#[test]
fn completions_cover_every_shell() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = completions(shell);

        assert_eq!(exit_code(&output), 0, "{shell}: {}", stderr(&output));
        assert!(
            stdout(&output).contains("pinpoint-attribution"),
            "{shell} script names the program"
        );
    }
}

#[test]
fn completions_reject_unknown_shell() {
    let output = completions("tcsh");

    assert_eq!(exit_code(&output), 1, "usage errors exit with 1");
    assert!(stderr(&output).contains("tcsh"), "{}", stderr(&output));
}
