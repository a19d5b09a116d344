//! Printing of command results: text for people, JSON for programs, always on stdout.

use std::fmt::Write as _;
use std::io::Write as _;

use serde::Serialize;

use crate::apply::{ApplyReport, describe_change};
use crate::artifacts::ArtifactSet;
use crate::cli::OutputFormat;
use crate::destroy::DestroyReport;
use crate::diff::DiffReport;
use crate::plan::ItemAction;
use crate::status::StatusReport;

/// Prints `report` as JSON, or as the text that `text` builds.
///
/// A closed stdout (`| head`, `| grep -q`) is not an error: the command's work is done and
/// its exit code still reports the outcome.
pub fn print<T: Serialize>(format: OutputFormat, report: &T, text: impl FnOnce(&T) -> String) {
    let document = match format {
        OutputFormat::Json => {
            let json = serde_json::to_string_pretty(report).expect("reports serialize to JSON");
            format!("{json}\n")
        }
        OutputFormat::Text => text(report),
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(document.as_bytes())
        .and_then(|()| stdout.flush());
}

fn value_or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

fn action_name(action: ItemAction) -> &'static str {
    match action {
        ItemAction::Create => "create",
        ItemAction::Update => "update",
        ItemAction::Replace => "replace",
        ItemAction::Delete => "delete",
        ItemAction::Unchanged => "unchanged",
        ItemAction::Blocked => "blocked",
    }
}

pub fn apply_text(report: &ApplyReport) -> String {
    let mut text = format!("environment {}\n", report.environment);
    if let Some(artifacts) = &report.artifacts {
        let _ = writeln!(
            text,
            "artifacts   s3://{} ({} uploaded)",
            artifacts.bucket,
            artifacts.uploaded.len()
        );
    }
    for app in &report.applications {
        let action = serde_json::to_value(app.action).expect("action serializes");
        let _ = writeln!(
            text,
            "{:<16} {:<10} {}  attribute: {}, event stream: {}",
            app.name,
            action.as_str().unwrap_or_default(),
            app.stack,
            action_name(app.cognito_attribute),
            action_name(app.event_stream)
        );
        if let Some(replaced) = &app.event_stream_replaced {
            let _ = writeln!(
                text,
                "{:<16} replaced event stream destination: {replaced}",
                ""
            );
        }
        if let Some(error) = &app.error {
            let _ = writeln!(text, "{:<16} error: {error}", "");
        }
    }
    text
}

pub fn diff_text(report: &DiffReport, colour: bool) -> String {
    let mut text = format!("environment {}\n", report.environment);
    let artifacts = &report.artifacts;
    let _ = writeln!(
        text,
        "artifacts   bucket s3://{}: {}; {} zip(s) to upload",
        artifacts.bucket,
        action_name(artifacts.bucket_action),
        artifacts.upload.len()
    );
    for key in &artifacts.upload {
        let _ = writeln!(text, "            upload {key}");
    }

    for app in &report.applications {
        let _ = writeln!(
            text,
            "\n{} (stack {}, {}): stack {}",
            app.name,
            app.stack,
            app.stack_status.as_deref().unwrap_or("not deployed"),
            action_name(app.stack_action)
        );
        if let Some(error) = &app.error {
            let _ = writeln!(text, "  error: {error}");
            continue;
        }
        for change in &app.parameters {
            let _ = writeln!(
                text,
                "  parameter {}: {} -> {}",
                change.key,
                value_or_none(&change.deployed),
                value_or_none(&change.rendered)
            );
        }
        for change in &app.tags {
            let _ = writeln!(
                text,
                "  tag {}: {} -> {}",
                change.key,
                value_or_none(&change.deployed),
                value_or_none(&change.rendered)
            );
        }
        for change in &app.resource_changes {
            let _ = writeln!(text, "  {}", describe_change(change));
        }
        let _ = writeln!(
            text,
            "  cognito attribute: {}",
            action_name(app.cognito_attribute)
        );
        let _ = writeln!(
            text,
            "  event stream: {} (now: {})",
            action_name(app.event_stream),
            app.event_stream_destination.as_deref().unwrap_or("none")
        );
        match app.termination_protection {
            ItemAction::Create => text.push_str("  termination protection: turn on\n"),
            ItemAction::Delete => text.push_str("  termination protection: turn off\n"),
            _ => {}
        }
        if let Some(blocked) = &app.blocked {
            let _ = writeln!(text, "  blocked: {blocked}");
        }
        if let Some(diff) = &app.template_diff {
            text.push_str(&colour_diff(diff, colour));
        }
    }
    let _ = writeln!(
        text,
        "\n{}",
        if report.any_blocked() {
            "apply would stop: see the blocked applications above"
        } else if report.changes {
            "apply would make changes"
        } else {
            "no changes"
        }
    );
    text
}

fn colour_diff(diff: &str, colour: bool) -> String {
    if !colour {
        return diff.to_owned();
    }
    diff.lines()
        .map(|line| {
            let code = if line.starts_with("+++") || line.starts_with("---") {
                "1"
            } else if line.starts_with('+') {
                "32"
            } else if line.starts_with('-') {
                "31"
            } else if line.starts_with("@@") {
                "36"
            } else {
                return format!("{line}\n");
            };
            format!("\x1b[{code}m{line}\x1b[0m\n")
        })
        .collect()
}

pub fn destroy_text(report: &DestroyReport) -> String {
    let mut text = format!("environment {}\n", report.environment);
    for app in &report.applications {
        let action = serde_json::to_value(app.action).expect("action serializes");
        let _ = writeln!(
            text,
            "{:<16} {:<10} {}  event stream: {}",
            app.name,
            action.as_str().unwrap_or_default(),
            app.stack,
            action_name(app.event_stream)
        );
        for resource in &app.retained_resources {
            let _ = writeln!(
                text,
                "{:<16} kept: {resource} (retained by the deployed template)",
                ""
            );
        }
        if let Some(error) = &app.error {
            let _ = writeln!(text, "{:<16} error: {error}", "");
        }
    }
    for note in &report.retained {
        let _ = writeln!(text, "note: {note}");
    }
    text
}

pub fn status_text(report: &StatusReport) -> String {
    let mut text = format!("environment {}\n", report.environment);
    for app in &report.applications {
        let attribute = match app.cognito_attribute {
            Some(state) => serde_json::to_value(state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            None => "unknown".to_owned(),
        };
        let _ = writeln!(
            text,
            "{:<16} {:<22} {}",
            app.name,
            app.stack_status.as_deref().unwrap_or("NOT_DEPLOYED"),
            app.stack
        );
        let _ = writeln!(
            text,
            "{:<16} event stream: {}{}; attribute: {attribute}",
            "",
            app.event_stream_destination.as_deref().unwrap_or("none"),
            if app.event_stream_owned {
                " (this stack)"
            } else {
                ""
            }
        );
        for (key, value) in &app.outputs {
            let _ = writeln!(text, "{:<16} {key}: {value}", "");
        }
        if let Some(error) = &app.error {
            let _ = writeln!(text, "{:<16} error: {error}", "");
        }
    }
    text
}

pub fn package_text(set: &ArtifactSet) -> String {
    let mut text = String::new();
    for artifact in &set.manifest.artifacts {
        let _ = writeln!(
            text,
            "{:<11} {:<7} {:>9} bytes  sha256 {}  {}",
            artifact.function.crate_name(),
            artifact.architecture.lambda_name(),
            artifact.size,
            artifact.sha256,
            set.path_of(artifact).display()
        );
    }
    text
}
