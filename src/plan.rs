//! Read-only inspection of what is deployed, and the plan that `diff` shows and `apply` follows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::cloudformation::{self, DeployedStack, ResourceChange, StackError, StackState};
use crate::config::{Application, EventStreamMode};
use crate::render::{RenderedStack, outputs};
use crate::session::Session;
use crate::wiring::{self, AttributeState, EventStreamTarget, WiringError};

/// Planned action on one item (the stack, the attribute, the event stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemAction {
    Create,
    Update,
    Replace,
    Delete,
    Unchanged,
    /// The item cannot be changed without a person deciding; see the plan's `blocked` reason.
    Blocked,
}

impl ItemAction {
    pub fn is_change(self) -> bool {
        !matches!(self, ItemAction::Unchanged)
    }
}

/// A key whose value differs between what is deployed and what is rendered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValueChange {
    pub key: String,
    pub deployed: Option<String>,
    pub rendered: Option<String>,
}

/// Deployed state of one application, read without changing anything.
#[derive(Debug, Clone)]
pub struct Inspection {
    pub stack: Option<DeployedStack>,
    /// The deployed template, read only for settled stacks.
    pub template: Option<String>,
    pub attribute: AttributeState,
    pub event_stream: Option<EventStreamTarget>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Stack(#[from] StackError),
    #[error(transparent)]
    Wiring(#[from] WiringError),
    #[error(transparent)]
    Aws(#[from] crate::aws::AwsError),
}

/// Reads the Pinpoint application, the user pool, the event stream and the stack.
///
/// The deployed template is read only for a settled stack whose template hash output differs
/// from the rendered template's, or for every settled stack with `compare_templates`. A stack
/// deployed by this version with the same template therefore costs one CloudFormation request.
pub async fn inspect(
    session: &Session,
    application: &Application,
    rendered: &RenderedStack,
    compare_templates: bool,
) -> Result<Inspection, PlanError> {
    let region = &session.environment.region;
    wiring::check_pinpoint_app(
        &session.clients,
        &application.name,
        &application.pinpoint_app_id,
        region,
    )
    .await?;
    let attribute = wiring::read_campaign_attribute(
        &session.clients,
        &application.name,
        &application.user_pool_id,
        &application.settings.campaign_attribute,
        region,
    )
    .await?;
    let event_stream =
        wiring::read_event_stream(&session.clients, &application.pinpoint_app_id).await?;

    let client = &session.clients.cloudformation;
    let stack = cloudformation::describe_stack(client, &rendered.stack_name).await?;
    let template = match &stack {
        Some(deployed)
            if deployed.state() == StackState::Stable
                && (compare_templates || !template_hash_matches(deployed, rendered)) =>
        {
            Some(cloudformation::get_template(client, &rendered.stack_name).await?)
        }
        _ => None,
    };

    Ok(Inspection {
        stack,
        template,
        attribute,
        event_stream,
    })
}

/// Returns whether the stack's template hash output equals the rendered template's hash.
///
/// A stack made by an older version has no such output, so its template is read and
/// compared; the next update adds the output.
pub fn template_hash_matches(deployed: &DeployedStack, rendered: &RenderedStack) -> bool {
    deployed.outputs.get(outputs::TEMPLATE_HASH) == Some(&rendered.template_hash)
}

/// Differences between the deployed stack and the rendered one; empty when they are equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StackDifferences {
    pub template_changed: bool,
    pub parameters: Vec<ValueChange>,
    pub tags: Vec<ValueChange>,
}

impl StackDifferences {
    pub fn is_empty(&self) -> bool {
        !self.template_changed && self.parameters.is_empty() && self.tags.is_empty()
    }
}

/// Returns why an existing stack does not belong to this environment and application, or
/// `None` when its managed tags name them.
///
/// Stack names join prefix, environment and application with hyphens, so two environment
/// files can name the same stack (`eu-prod` + `shop` and `eu` + `prod-shop`). The managed
/// tags tell them apart, and nothing updates or deletes a stack whose tags name another owner.
pub fn foreign_stack_reason(
    deployed: &DeployedStack,
    environment: &str,
    application: &str,
) -> Option<String> {
    let owner_environment = deployed.tags.get(crate::render::ENVIRONMENT_TAG);
    let owner_application = deployed.tags.get(crate::render::APPLICATION_TAG);
    if owner_environment.map(String::as_str) == Some(environment)
        && owner_application.map(String::as_str) == Some(application)
    {
        return None;
    }
    let owner = match (owner_environment, owner_application) {
        (Some(env), Some(app)) => format!("environment {env}, application {app}"),
        _ => "no pinpoint-attribution environment (its tags do not name one)".to_owned(),
    };
    Some(format!(
        "stack {} belongs to {owner}, not to environment {environment}, application {application}; rename the environment or the application so the stack names differ",
        deployed.name
    ))
}

/// Compares a settled stack with the rendered stack.
///
/// Templates are compared as parsed documents, so a difference only in comments or layout
/// (a hand edit, or a deployer release that rewords a comment) is no change. Without the
/// deployed template, the template hash output decides.
pub fn compare(
    deployed: &DeployedStack,
    template: Option<&str>,
    rendered: &RenderedStack,
) -> StackDifferences {
    let template_changed = match template {
        Some(template) => !same_template(template, &rendered.template),
        None => !template_hash_matches(deployed, rendered),
    };
    StackDifferences {
        template_changed,
        parameters: compare_maps(&deployed.parameters, &rendered.parameters),
        tags: compare_maps(&deployed.tags, &rendered.tags),
    }
}

/// Returns whether two templates are the same document; text that does not parse as YAML is
/// compared as text.
fn same_template(deployed: &str, rendered: &str) -> bool {
    if deployed == rendered {
        return true;
    }
    let parse = |text: &str| serde_saphyr::from_str::<serde_json::Value>(text).ok();
    match (parse(deployed), parse(rendered)) {
        (Some(deployed), Some(rendered)) => deployed == rendered,
        _ => false,
    }
}

fn compare_maps(
    deployed: &BTreeMap<String, String>,
    rendered: &BTreeMap<String, String>,
) -> Vec<ValueChange> {
    let mut keys: Vec<&String> = deployed.keys().chain(rendered.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| deployed.get(*key) != rendered.get(*key))
        .map(|key| ValueChange {
            key: key.clone(),
            deployed: deployed.get(key).cloned(),
            rendered: rendered.get(key).cloned(),
        })
        .collect()
}

/// Returns the event stream target that the stack's outputs name.
pub fn event_stream_target(stack: &DeployedStack) -> Option<EventStreamTarget> {
    Some(EventStreamTarget {
        destination_arn: stack.outputs.get(outputs::STREAM_ARN)?.clone(),
        role_arn: stack.outputs.get(outputs::PINPOINT_ROLE_ARN)?.clone(),
    })
}

/// Decides what to do with the application's event stream.
///
/// `ours` is the ARN of the stream the stack creates in mode `create`; `wanted` is the full
/// target when the stack's outputs are known. In mode `create`, a destination that is not
/// the product's stream is replaced only with `replace_existing: true`. Without it the plan is
/// blocked with a reason naming the current destination. In mode `existing` the event stream
/// stays as it is, unless it still sends to the stream that the stack created before (which
/// this deployer set): that setting is deleted.
pub fn plan_event_stream(
    application: &Application,
    current: Option<&EventStreamTarget>,
    ours: &str,
    wanted: Option<&EventStreamTarget>,
) -> (ItemAction, Option<String>) {
    let replace_existing = match &application.settings.event_stream {
        EventStreamMode::Existing { stream_arn } => {
            if let Some(reason) = foreign_account_reason(stream_arn, ours) {
                return (ItemAction::Blocked, Some(reason));
            }
            let action = match current {
                Some(current) if current.destination_arn == ours => ItemAction::Delete,
                _ => ItemAction::Unchanged,
            };
            return (action, None);
        }
        EventStreamMode::Create { replace_existing } => *replace_existing,
    };
    match current {
        None => (ItemAction::Create, None),
        Some(current) if current.destination_arn != ours && replace_existing => {
            (ItemAction::Replace, None)
        }
        Some(current) if current.destination_arn != ours => (
            ItemAction::Blocked,
            Some(format!(
                "Pinpoint application {} already streams its events to {}, which pinpoint-attribution did not set, and apply replaces no destination it does not own; if that is a Kinesis data stream, set `event_stream: {{mode: existing, stream_arn: ...}}` to read it; to send the events to a new stream instead, set `event_stream: {{replace_existing: true}}`",
                application.pinpoint_app_id, current.destination_arn
            )),
        ),
        Some(current) => match wanted {
            Some(wanted) if wanted != current => (ItemAction::Update, None),
            _ => (ItemAction::Unchanged, None),
        },
    }
}

/// Returns why the tagging function cannot read `stream_arn`, when the stream belongs to
/// another account than `ours`, the ARN of the stream this account would create.
///
/// The loader checks the account only against `account_id`, so an environment file without it
/// is checked here, against the caller's account.
fn foreign_account_reason(stream_arn: &str, ours: &str) -> Option<String> {
    let account_of = |arn: &str| arn.split(':').nth(4).map(str::to_owned);
    let (stream_account, caller_account) = (account_of(stream_arn)?, account_of(ours)?);
    if stream_account == caller_account {
        return None;
    }
    Some(format!(
        "event_stream.stream_arn {stream_arn} belongs to account {stream_account}, but the credentials are for account {caller_account}; the deployer grants the tagging function access to streams of its own account only, so use a stream of account {caller_account}"
    ))
}

/// Plans a stack that holds no resources (`ROLLBACK_COMPLETE` or `REVIEW_IN_PROGRESS`):
/// apply deletes and creates it again, except a failed first create in a protected
/// environment, which apply keeps for a person to read, so the plan is blocked.
pub fn empty_stack_action(
    stack: &str,
    status: &str,
    protected: bool,
) -> (ItemAction, Option<String>) {
    if protected && status == "ROLLBACK_COMPLETE" {
        return (
            ItemAction::Blocked,
            Some(format!(
                "stack {stack} is ROLLBACK_COMPLETE because its first create failed. The environment is protected, so apply keeps it: read the stack's events, delete it yourself with `aws cloudformation delete-stack --stack-name {stack}`, then apply again."
            )),
        );
    }
    (ItemAction::Replace, None)
}

/// Resource actions of a stack that does not exist yet: every resource of the template is added.
pub fn resources_to_add(template: &str) -> Vec<ResourceChange> {
    let Ok(document) = serde_saphyr::from_str::<serde_json::Value>(template) else {
        return Vec::new();
    };
    let Some(resources) = document
        .get("Resources")
        .and_then(|value| value.as_object())
    else {
        return Vec::new();
    };
    resources
        .iter()
        .map(|(logical_id, resource)| ResourceChange {
            action: "Add".to_owned(),
            logical_id: logical_id.clone(),
            resource_type: resource
                .get("Type")
                .and_then(|value| value.as_str())
                .unwrap_or_default()
                .to_owned(),
            replacement: None,
            changed: Vec::new(),
        })
        .collect()
}

/// Returns a unified diff of two templates, empty when they are equal.
pub fn template_diff(deployed: &str, rendered: &str, stack: &str) -> String {
    similar::TextDiff::from_lines(deployed, rendered)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{stack} (deployed)"),
            &format!("{stack} (rendered)"),
        )
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn compare_maps_lists_added_changed_removed() {
        let deployed = maps(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let rendered = maps(&[("a", "1"), ("b", "20"), ("d", "4")]);
        let changes = compare_maps(&deployed, &rendered);
        let keys: Vec<&str> = changes.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["b", "c", "d"]);
        assert_eq!(changes[1].rendered, None);
        assert_eq!(changes[2].deployed, None);
    }

    #[test]
    fn resources_to_add_reads_long_form_template() {
        let template = "Resources:\n  Table:\n    Type: AWS::DynamoDB::Table\n  Stream:\n    Type: AWS::Kinesis::Stream\n";
        let changes = resources_to_add(template);
        let ids: Vec<(&str, &str)> = changes
            .iter()
            .map(|c| (c.logical_id.as_str(), c.resource_type.as_str()))
            .collect();
        assert!(ids.contains(&("Table", "AWS::DynamoDB::Table")));
        assert!(ids.contains(&("Stream", "AWS::Kinesis::Stream")));
        assert!(changes.iter().all(|c| c.action == "Add"));
    }

    #[test]
    fn same_template_ignores_comments_and_layout() {
        assert!(same_template(
            "a: 1\nb: [x, y]\n",
            "# note\na: 1\nb:\n  - x\n  - y\n"
        ));
        assert!(!same_template("a: 1\n", "a: 2\n"));
        assert!(!same_template("a: [\n", "a: 1\n"));
    }

    fn application(event_stream: EventStreamMode) -> Application {
        Application {
            name: "shop".to_owned(),
            pinpoint_app_id: "0123456789abcdef0123456789abcdef".to_owned(),
            user_pool_id: "eu-west-1_AbCdEf123".to_owned(),
            settings: crate::config::Settings {
                event_stream,
                ..Default::default()
            },
        }
    }

    fn target(destination: &str) -> EventStreamTarget {
        EventStreamTarget {
            destination_arn: destination.to_owned(),
            role_arn: "arn:aws:iam::123456789012:role/writer".to_owned(),
        }
    }

    const OURS: &str =
        "arn:aws:kinesis:eu-west-1:123456789012:stream/pinpoint-attribution-dev-shop-events";
    const FIREHOSE: &str = "arn:aws:firehose:eu-west-1:123456789012:deliverystream/analytics";
    const ANALYTICS: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/analytics";

    #[test]
    fn event_stream_plan_in_create_mode() {
        let keep = application(EventStreamMode::Create {
            replace_existing: false,
        });
        let replace = application(EventStreamMode::Create {
            replace_existing: true,
        });
        let foreign = target(FIREHOSE);
        let own = target(OURS);

        assert_eq!(
            plan_event_stream(&keep, None, OURS, None),
            (ItemAction::Create, None)
        );
        assert_eq!(
            plan_event_stream(&keep, Some(&own), OURS, Some(&own)),
            (ItemAction::Unchanged, None)
        );
        assert_eq!(
            plan_event_stream(&replace, Some(&foreign), OURS, None),
            (ItemAction::Replace, None)
        );
        let (action, reason) = plan_event_stream(&keep, Some(&foreign), OURS, None);
        assert_eq!(action, ItemAction::Blocked);
        let reason = reason.expect("a blocked plan has a reason");
        assert!(reason.contains(FIREHOSE), "{reason}");
        assert!(reason.contains("replace_existing: true"), "{reason}");
        assert!(reason.contains("mode: existing"), "{reason}");
    }

    #[test]
    fn event_stream_plan_in_existing_mode() {
        let existing = application(EventStreamMode::Existing {
            stream_arn: ANALYTICS.to_owned(),
        });

        assert_eq!(
            plan_event_stream(&existing, None, OURS, None),
            (ItemAction::Unchanged, None)
        );
        assert_eq!(
            plan_event_stream(&existing, Some(&target(ANALYTICS)), OURS, None),
            (ItemAction::Unchanged, None)
        );
        assert_eq!(
            plan_event_stream(&existing, Some(&target(FIREHOSE)), OURS, None),
            (ItemAction::Unchanged, None),
            "a destination someone else set stays"
        );
        assert_eq!(
            plan_event_stream(&existing, Some(&target(OURS)), OURS, None),
            (ItemAction::Delete, None),
            "the setting that sent to the stack's former stream goes"
        );
    }

    #[test]
    fn existing_stream_of_other_account_is_blocked() {
        let existing = application(EventStreamMode::Existing {
            stream_arn: "arn:aws:kinesis:eu-west-1:210987654321:stream/analytics".to_owned(),
        });

        let (action, reason) = plan_event_stream(&existing, None, OURS, None);

        assert_eq!(action, ItemAction::Blocked);
        let reason = reason.expect("a blocked plan has a reason");
        assert!(reason.contains("account 210987654321"), "{reason}");
        assert!(reason.contains("account 123456789012"), "{reason}");
    }

    #[test]
    fn template_diff_shows_changed_line() {
        let diff = template_diff("a: 1\nb: 2\n", "a: 1\nb: 3\n", "s");
        assert!(diff.contains("-b: 2"), "{diff}");
        assert!(diff.contains("+b: 3"), "{diff}");
        assert!(template_diff("a\n", "a\n", "s").is_empty());
    }

    #[test]
    fn protected_failed_create_is_blocked() {
        let (action, reason) = empty_stack_action("s", "ROLLBACK_COMPLETE", true);

        assert_eq!(action, ItemAction::Blocked);
        assert!(reason.is_some_and(|reason| reason.contains("delete-stack --stack-name s")));
    }

    #[test]
    fn empty_stack_is_replaced_otherwise() {
        for (status, protected) in [
            ("ROLLBACK_COMPLETE", false),
            ("REVIEW_IN_PROGRESS", true),
            ("REVIEW_IN_PROGRESS", false),
        ] {
            assert_eq!(
                empty_stack_action("s", status, protected),
                (ItemAction::Replace, None),
                "{status}, protected {protected}"
            );
        }
    }
}
