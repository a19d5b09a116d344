//! The plan document of `diff --output json` against its documentation in
//! docs/plan-format.md: every printed field is documented with the right type, and every
//! documented field is printed.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pinpoint_attribution::cloudformation::ResourceChange;
use pinpoint_attribution::diff::{
    ApplicationPlan, ArtifactPlan, ArtifactsPlan, DiffReport, PLAN_FORMAT_VERSION,
};
use pinpoint_attribution::plan::{ItemAction, ValueChange};
use serde_json::Value;
use support::{deployer, exit_code, path_arg, seed_application, stderr, stdout, write_environment};
use testkit::Emulator;

const ACTIONS: [&str; 6] = [
    "create",
    "update",
    "replace",
    "delete",
    "unchanged",
    "blocked",
];

/// Reads the field tables of docs/plan-format.md: documented path to documented type.
fn documented_fields() -> BTreeMap<String, String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan-format.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let fields_section = text
        .split("\n## Fields")
        .nth(1)
        .expect("docs/plan-format.md has a section `## Fields`");
    let fields_section = fields_section.split("\n## ").next().unwrap_or_default();

    let mut fields = BTreeMap::new();
    for line in fields_section.lines() {
        let Some(row) = line.strip_prefix("| `") else {
            continue;
        };
        let cells: Vec<&str> = row.split(" | ").collect();
        assert!(cells.len() >= 3, "malformed field row: {line}");
        let field = cells[0].trim_end_matches('`').to_owned();
        let kind = cells[1].trim().to_owned();
        assert!(
            fields.insert(field.clone(), kind).is_none(),
            "field {field} is documented twice"
        );
    }
    assert!(
        fields.len() > 20,
        "only {} documented fields found",
        fields.len()
    );
    fields
}

/// Collects every field path of a JSON document with its values; array elements share the
/// path `name[]`.
fn printed_fields(document: &Value) -> BTreeMap<String, Vec<Value>> {
    fn walk(path: &str, value: &Value, fields: &mut BTreeMap<String, Vec<Value>>) {
        if !path.is_empty() {
            fields
                .entry(path.to_owned())
                .or_default()
                .push(value.clone());
        }
        match value {
            Value::Object(object) => {
                for (key, child) in object {
                    let child_path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(&child_path, child, fields);
                }
            }
            Value::Array(items) => {
                for item in items.iter().filter(|item| item.is_object()) {
                    walk(&format!("{path}[]"), item, fields);
                }
            }
            _ => {}
        }
    }
    let mut fields = BTreeMap::new();
    walk("", document, &mut fields);
    // Element paths of object arrays are containers, not fields of their own.
    fields.retain(|path, _| !path.ends_with("[]"));
    fields
}

fn has_type(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "integer" => value.is_u64() || value.is_i64(),
        "boolean" => value.is_boolean(),
        "action" => value.as_str().is_some_and(|text| ACTIONS.contains(&text)),
        "string or null" => value.is_string() || value.is_null(),
        "array of strings" => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_string)),
        "object" => value.is_object(),
        "array of objects" => value
            .as_array()
            .is_some_and(|items| items.iter().all(Value::is_object)),
        other => panic!("docs/plan-format.md uses the unknown type {other:?}"),
    }
}

/// Fails unless every printed field is documented with a type its values have.
fn assert_documented(document: &Value, documented: &BTreeMap<String, String>) {
    for (path, values) in printed_fields(document) {
        let Some(kind) = documented.get(&path) else {
            panic!("field {path} is printed but not documented in docs/plan-format.md");
        };
        for value in values {
            assert!(
                has_type(&value, kind),
                "field {path} is documented as {kind} but printed as {value}"
            );
        }
    }
}

fn value_change(key: &str, deployed: Option<&str>, rendered: Option<&str>) -> ValueChange {
    ValueChange {
        key: key.to_owned(),
        deployed: deployed.map(str::to_owned),
        rendered: rendered.map(str::to_owned),
    }
}

/// Builds a plan in which every array has an element, so every field appears.
fn populated_report() -> DiffReport {
    let application = ApplicationPlan {
        name: "shop".to_owned(),
        stack: "pinpoint-attribution-dev-shop".to_owned(),
        stack_status: Some("UPDATE_COMPLETE".to_owned()),
        stack_action: ItemAction::Update,
        template_diff: Some("--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n".to_owned()),
        parameters: vec![value_change("LookbackDays", Some("7"), Some("21"))],
        tags: vec![value_change("team", None, Some("growth"))],
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
        event_stream: ItemAction::Update,
        event_stream_destination: Some("arn:aws:kinesis:eu-west-1:1:stream/a".to_owned()),
        event_stream_target: "arn:aws:kinesis:eu-west-1:1:stream/b".to_owned(),
        termination_protection: ItemAction::Create,
        blocked: Some("reason".to_owned()),
        error: Some("error".to_owned()),
    };
    DiffReport {
        format_version: PLAN_FORMAT_VERSION,
        environment: "dev".to_owned(),
        artifacts: ArtifactsPlan {
            bucket: "bucket".to_owned(),
            bucket_action: ItemAction::Unchanged,
            upload: vec!["pinpoint-attribution/lambda/tagging/arm64/00.zip".to_owned()],
        },
        applications: vec![application],
        changes: true,
    }
}

#[test]
fn plan_fields_match_documentation() {
    let documented = documented_fields();
    let document = serde_json::to_value(populated_report()).expect("plan serializes");

    assert_documented(&document, &documented);
    let printed: BTreeSet<String> = printed_fields(&document).into_keys().collect();
    let missing: Vec<&String> = documented
        .keys()
        .filter(|path| !printed.contains(*path))
        .collect();
    assert!(
        missing.is_empty(),
        "documented in docs/plan-format.md but not printed: {missing:?}"
    );
}

#[test]
fn plan_marks_items_with_actions() {
    let document = serde_json::to_value(populated_report()).expect("plan serializes");
    let application = &document["applications"][0];

    assert_eq!(document["format_version"], 1);
    assert_eq!(application["parameters"][0]["action"], "update");
    assert_eq!(application["tags"][0]["action"], "create");
    assert_eq!(application["resource_changes"][0]["action"], "replace");
    assert_eq!(
        application["resource_changes"][0]["cloudformation_action"],
        "Modify"
    );
    assert_eq!(application["artifacts"][0]["action"], "create");
}

#[test]
fn documented_format_version_matches_code() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plan-format.md");
    let text = std::fs::read_to_string(path).expect("read docs/plan-format.md");
    assert!(
        text.contains(&format!("`format_version` is `{PLAN_FORMAT_VERSION}`")),
        "docs/plan-format.md must state format_version {PLAN_FORMAT_VERSION}"
    );
}

#[tokio::test]
async fn emulator_plans_use_documented_fields() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let artifacts = path_arg(&support::artifacts_dir());
    let documented = documented_fields();
    let mut apps = vec![seed_application(&config, "shop", 7).await];
    let env_file = path_arg(&write_environment(dir.path(), "planfmt", &apps, ""));
    let diff_args = [
        "--env",
        &env_file,
        "--output",
        "json",
        "diff",
        "--exit-code",
        "--artifacts",
        &artifacts,
    ];

    // Nothing deployed: the plan creates the stack, the attribute, the event stream and
    // uploads both zips.
    let first = deployer(&emulator, &diff_args);
    assert_eq!(
        exit_code(&first),
        2,
        "{}\n{}",
        stdout(&first),
        stderr(&first)
    );
    let plan: Value = serde_json::from_slice(&first.stdout).expect("diff JSON");
    assert_documented(&plan, &documented);
    let shop = &plan["applications"][0];
    assert_eq!(plan["format_version"], 1);
    assert_eq!(shop["stack_action"], "create");
    assert_eq!(shop["cognito_attribute"], "create");
    assert_eq!(shop["event_stream"], "create");
    assert_eq!(shop["artifacts"][0]["action"], "create");
    assert!(
        shop["resource_changes"]
            .as_array()
            .is_some_and(|changes| changes.iter().all(|change| change["action"] == "create")),
        "{shop:#}"
    );

    let apply = deployer(
        &emulator,
        &["--env", &env_file, "apply", "--artifacts", &artifacts],
    );
    assert_eq!(exit_code(&apply), 0, "{}", stderr(&apply));

    // A changed lookback: the change set's resource actions and the template diff.
    // write_environment writes the same path again, so diff_args stay valid.
    apps[0].lookback_days = 21;
    write_environment(dir.path(), "planfmt", &apps, "");
    let second = deployer(&emulator, &diff_args);
    assert_eq!(
        exit_code(&second),
        2,
        "{}\n{}",
        stdout(&second),
        stderr(&second)
    );
    let plan: Value = serde_json::from_slice(&second.stdout).expect("diff JSON");
    assert_documented(&plan, &documented);
    let shop = &plan["applications"][0];
    assert_eq!(shop["stack_action"], "update", "{shop:#}");
    assert_eq!(shop["cognito_attribute"], "unchanged", "{shop:#}");
    assert_eq!(shop["artifacts"][0]["action"], "unchanged", "{shop:#}");
    let changes = shop["resource_changes"]
        .as_array()
        .expect("resource changes");
    assert!(
        changes
            .iter()
            .any(|change| change["action"] == "update"
                && change["cloudformation_action"] == "Modify"),
        "the change set modifies the functions: {shop:#}"
    );
}
