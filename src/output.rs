//! Printing of command results: text for people, JSON for programs, always on stdout.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};

use serde::Serialize;

use crate::apply::ApplyReport;
use crate::artifacts::ArtifactSet;
use crate::cli::OutputFormat;
use crate::cloudformation::ResourceChange;
use crate::destroy::DestroyReport;
use crate::diff::{self, ApplicationPlan, DiffReport};
use crate::guard;
use crate::plan::ItemAction;
use crate::status::StatusReport;

/// Returns whether text written to `stream` gets colours: only on a terminal, and only while
/// the environment variable NO_COLOR is unset or empty (the convention of no-color.org).
pub fn colour_enabled(stream: impl IsTerminal) -> bool {
    colour_wanted(
        stream.is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// Decides on colours from whether the stream is a terminal and the value of NO_COLOR.
pub fn colour_wanted(terminal: bool, no_color: Option<&OsStr>) -> bool {
    terminal && no_color.is_none_or(OsStr::is_empty)
}

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
        "artifacts bucket s3://{}: {}; {} zip(s) to upload",
        artifacts.bucket,
        action_name(artifacts.bucket_action),
        artifacts.upload.len()
    );

    for app in &report.applications {
        text.push('\n');
        text.push_str(&application_plan_text(app, colour));
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

/// Formats the plan of one application: one line per item, each starting with its action
/// (create, update, replace, delete, unchanged or blocked), then the template diff.
pub fn application_plan_text(app: &ApplicationPlan, colour: bool) -> String {
    let mut text = format!(
        "{} (stack {}, {})\n",
        app.name,
        app.stack,
        app.stack_status.as_deref().unwrap_or("not deployed")
    );
    if let Some(error) = &app.error {
        let _ = writeln!(text, "  error: {error}");
        return text;
    }

    let mut item = |action: ItemAction, description: String| {
        let _ = writeln!(text, "  {} {description}", action_label(action, colour));
    };
    item(app.stack_action, format!("stack {}", app.stack));
    for change in &app.parameters {
        item(
            diff::value_action(change),
            format!(
                "parameter {}: {} -> {}",
                change.key,
                value_or_none(&change.deployed),
                value_or_none(&change.rendered)
            ),
        );
    }
    for change in &app.tags {
        item(
            diff::value_action(change),
            format!(
                "tag {}: {} -> {}",
                change.key,
                value_or_none(&change.deployed),
                value_or_none(&change.rendered)
            ),
        );
    }
    for change in &app.resource_changes {
        item(diff::resource_action(change), resource_description(change));
    }
    for artifact in &app.artifacts {
        item(
            artifact.action,
            format!(
                "artifact {} ({}) {}",
                artifact.function, artifact.architecture, artifact.key
            ),
        );
    }
    item(
        app.cognito_attribute,
        format!("cognito attribute {}", app.cognito_attribute_name),
    );
    item(app.event_stream, event_stream_description(app));
    match app.termination_protection {
        ItemAction::Create => item(
            ItemAction::Update,
            "termination protection: turn on".to_owned(),
        ),
        ItemAction::Delete => item(
            ItemAction::Update,
            "termination protection: turn off".to_owned(),
        ),
        _ => {}
    }

    if let Some(blocked) = &app.blocked {
        let _ = writeln!(text, "  blocked: {blocked}");
    }
    if let Some(diff) = &app.template_diff {
        let _ = writeln!(text, "  template diff:");
        text.push_str(&colour_diff(diff, colour));
    }
    text
}

/// Formats one resource action of a change set with its plan action in front.
pub fn resource_line(change: &ResourceChange, colour: bool) -> String {
    format!(
        "{} {}",
        action_label(diff::resource_action(change), colour),
        resource_description(change)
    )
}

fn resource_description(change: &ResourceChange) -> String {
    let mut line = format!("resource {} ({})", change.logical_id, change.resource_type);
    if !change.changed.is_empty() {
        let _ = write!(line, " [{}]", change.changed.join(", "));
    }
    let data = guard::loses_data(change);
    if change.action == "Remove" && data {
        line.push_str(": DELETION, its data is lost unless the deployed template retains it");
    }
    match (change.replacement.as_deref(), data) {
        (Some("True"), true) => {
            line.push_str(": REPLACEMENT, the resource is recreated and loses its data")
        }
        (Some("True"), false) => line.push_str(": REPLACEMENT, the resource is recreated"),
        (Some("Conditional"), true) => {
            line.push_str(": MAY BE REPLACED, the resource may be recreated and lose its data")
        }
        (Some("Conditional"), false) => {
            line.push_str(": MAY BE REPLACED, the resource may be recreated")
        }
        _ => {}
    }
    line
}

fn event_stream_description(app: &ApplicationPlan) -> String {
    let now = app.event_stream_destination.as_deref().unwrap_or("none");
    match app.event_stream {
        ItemAction::Unchanged => format!("event stream to {now}"),
        ItemAction::Blocked | ItemAction::Delete => format!("event stream (now: {now})"),
        _ => format!("event stream to {} (now: {now})", app.event_stream_target),
    }
}

/// Returns the action name padded to one column width, coloured when `colour` is set.
fn action_label(action: ItemAction, colour: bool) -> String {
    let name = format!("{:<9}", action_name(action));
    if !colour {
        return name;
    }
    let code = match action {
        ItemAction::Create => "32",
        ItemAction::Update => "33",
        ItemAction::Replace | ItemAction::Delete => "31",
        ItemAction::Blocked => "1;31",
        ItemAction::Unchanged => "2",
    };
    format!("\x1b[{code}m{name}\x1b[0m")
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

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;

    use super::*;
    use crate::diff::ArtifactPlan;
    use crate::plan::ValueChange;

    fn plan() -> ApplicationPlan {
        ApplicationPlan {
            name: "shop".to_owned(),
            stack: "pinpoint-attribution-dev-shop".to_owned(),
            stack_status: Some("UPDATE_COMPLETE".to_owned()),
            stack_action: ItemAction::Update,
            template_diff: Some("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n".to_owned()),
            parameters: vec![ValueChange {
                key: "LookbackDays".to_owned(),
                deployed: Some("7".to_owned()),
                rendered: Some("21".to_owned()),
            }],
            tags: vec![ValueChange {
                key: "team".to_owned(),
                deployed: Some("growth".to_owned()),
                rendered: None,
            }],
            resource_changes: vec![ResourceChange {
                action: "Modify".to_owned(),
                logical_id: "AttributionTable".to_owned(),
                resource_type: "AWS::DynamoDB::Table".to_owned(),
                replacement: Some("True".to_owned()),
                changed: vec!["KeySchema".to_owned()],
            }],
            artifacts: vec![ArtifactPlan {
                function: "tagging".to_owned(),
                architecture: "arm64".to_owned(),
                key: "pinpoint-attribution/lambda/tagging/arm64/00.zip".to_owned(),
                action: ItemAction::Create,
            }],
            cognito_attribute_name: "custom:campaign".to_owned(),
            cognito_attribute: ItemAction::Unchanged,
            event_stream: ItemAction::Create,
            event_stream_destination: None,
            event_stream_target: "arn:aws:kinesis:eu-west-1:1:stream/s-events".to_owned(),
            termination_protection: ItemAction::Unchanged,
            blocked: None,
            error: None,
        }
    }

    #[test]
    fn plan_text_marks_every_item() {
        let text = application_plan_text(&plan(), false);
        let lines: Vec<&str> = text.lines().collect();

        assert_eq!(
            lines[0],
            "shop (stack pinpoint-attribution-dev-shop, UPDATE_COMPLETE)"
        );
        assert!(lines.contains(&"  update    stack pinpoint-attribution-dev-shop"));
        assert!(lines.contains(&"  update    parameter LookbackDays: 7 -> 21"));
        assert!(lines.contains(&"  delete    tag team: growth -> (none)"));
        assert!(lines.contains(
            &"  replace   resource AttributionTable (AWS::DynamoDB::Table) [KeySchema]: REPLACEMENT, the resource is recreated and loses its data"
        ));
        assert!(lines.contains(
            &"  create    artifact tagging (arm64) pinpoint-attribution/lambda/tagging/arm64/00.zip"
        ));
        assert!(lines.contains(&"  unchanged cognito attribute custom:campaign"));
        assert!(lines.contains(
            &"  create    event stream to arn:aws:kinesis:eu-west-1:1:stream/s-events (now: none)"
        ));
        assert!(lines.contains(&"-x"), "{text}");
        assert!(lines.contains(&"+y"), "{text}");
        assert!(!text.contains('\x1b'), "no colour was requested: {text}");
    }

    #[test]
    fn plan_text_colours_actions_and_diff() {
        let text = application_plan_text(&plan(), true);

        assert!(text.contains("\x1b[33mupdate   \x1b[0m stack"), "{text}");
        assert!(text.contains("\x1b[31mreplace  \x1b[0m resource"), "{text}");
        assert!(text.contains("\x1b[32m+y\x1b[0m"), "{text}");
        assert!(text.contains("\x1b[31m-x\x1b[0m"), "{text}");
    }

    #[test]
    fn plan_text_of_failed_inspection_shows_only_error() {
        let mut failed = plan();
        failed.error = Some("GetApp failed".to_owned());

        let text = application_plan_text(&failed, false);

        assert_eq!(
            text,
            "shop (stack pinpoint-attribution-dev-shop, UPDATE_COMPLETE)\n  error: GetApp failed\n"
        );
    }

    #[test]
    fn colour_only_on_terminal_without_no_color() {
        assert!(colour_wanted(true, None));
        assert!(colour_wanted(true, Some(OsStr::new(""))));
        assert!(!colour_wanted(true, Some(OsStr::new("1"))));
        assert!(!colour_wanted(false, None));
    }
}
