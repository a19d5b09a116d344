//! Rendering of the per-application CloudFormation template.
//!
//! The template (`templates/application.yaml.hbs`) is compiled into the binary and rendered
//! with Handlebars in strict mode without HTML escaping. Every value that comes from the
//! environment file goes through the `yaml` helper, which writes a quoted YAML scalar, so
//! characters such as `&`, `<`, `"`, `:` or `#` reach CloudFormation exactly as written.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use attribution_core::contract;
use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
};
use serde::Serialize;

use crate::artifacts::{ArtifactError, ArtifactSet, Function};
use crate::config::{Application, Environment};

/// Source of the per-application stack template.
pub const TEMPLATE: &str = include_str!("../templates/application.yaml.hbs");

/// Capabilities every stack needs: it creates IAM roles without explicit names.
pub const CAPABILITIES: &[&str] = &["CAPABILITY_IAM"];

/// Stack tag naming the environment, set on every stack besides the environment's `tags`.
pub const ENVIRONMENT_TAG: &str = "pinpoint-attribution:environment";

/// Stack tag naming the application, set on every stack besides the environment's `tags`.
pub const APPLICATION_TAG: &str = "pinpoint-attribution:application";

/// `Fn::Sub` pattern of the artifacts bucket used when the environment sets none.
pub const DEFAULT_ARTIFACTS_BUCKET_SUB: &str =
    "pinpoint-attribution-artifacts-${AWS::AccountId}-${AWS::Region}";

/// Event filter of the expiration function's mapping: only deletions made by DynamoDB's TTL
/// process, which carry this service identity, reach the function.
pub const TTL_DELETION_FILTER: &str = r#"{"eventName":["REMOVE"],"userIdentity":{"type":["Service"],"principalId":["dynamodb.amazonaws.com"]}}"#;

/// Oldest record, in seconds, that an event source mapping hands to a function: the
/// 24-hour retention of the Kinesis stream and of the DynamoDB stream.
pub const MAXIMUM_RECORD_AGE_SECONDS: u32 = 86_400;

/// Stack outputs the deployer reads after an apply.
pub mod outputs {
    pub const STREAM_ARN: &str = "KinesisStreamArn";
    pub const PINPOINT_ROLE_ARN: &str = "PinpointRoleArn";
    pub const TABLE_NAME: &str = "TableName";
    pub const TAGGING_FUNCTION: &str = "TaggingFunctionName";
    pub const EXPIRATION_FUNCTION: &str = "ExpirationFunctionName";
    pub const FAILURE_QUEUE_URL: &str = "FailureQueueUrl";
    /// SHA-256 of the parsed template, so that a run can tell an unchanged template from
    /// the stack description alone, without reading the template back.
    pub const TEMPLATE_HASH: &str = "TemplateSha256";
}

/// Output value used in place of the template hash while the hash is computed.
const TEMPLATE_HASH_PLACEHOLDER: &str = "template-hash-placeholder";

/// Everything that makes up one application's stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedStack {
    pub application: String,
    pub stack_name: String,
    /// Template body (YAML).
    pub template: String,
    /// CloudFormation parameters, by name. Empty: the template inlines every value, since
    /// the local emulator ignores changes that touch only parameters.
    pub parameters: BTreeMap<String, String>,
    /// Stack tags, by key: the environment's `tags` plus [`ENVIRONMENT_TAG`] and
    /// [`APPLICATION_TAG`].
    pub tags: BTreeMap<String, String>,
    /// Capabilities to acknowledge when creating a change set.
    pub capabilities: Vec<String>,
    /// The value of the [`outputs::TEMPLATE_HASH`] output: a SHA-256 of the parsed template
    /// (see [`template_hash`]).
    pub template_hash: String,
}

/// Names of the resources a stack creates, derived from the stack name so that the
/// deployer and people can find them without reading the stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhysicalNames {
    pub table: String,
    pub stream: String,
    pub tagging_function: String,
    pub expiration_function: String,
    pub failure_queue: String,
    pub tagging_log_group: String,
    pub expiration_log_group: String,
}

/// A derived name with the maximum length its service accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameLimit<'a> {
    /// Kind of name, as messages call it ("Lambda function name").
    pub what: &'static str,
    pub name: &'a str,
    /// Maximum length in characters.
    pub max: usize,
}

impl PhysicalNames {
    /// Names of the resources of the stack called `stack_name`.
    pub fn for_stack(stack_name: &str) -> PhysicalNames {
        let tagging_function = format!("{stack_name}-tagging");
        let expiration_function = format!("{stack_name}-expiration");
        PhysicalNames {
            table: format!("{stack_name}-attribution"),
            stream: format!("{stack_name}-events"),
            tagging_log_group: format!("/aws/lambda/{tagging_function}"),
            expiration_log_group: format!("/aws/lambda/{expiration_function}"),
            tagging_function,
            expiration_function,
            failure_queue: format!("{stack_name}-failures"),
        }
    }

    /// Returns every name with its service's length limit.
    pub fn limits(&self) -> Vec<NameLimit<'_>> {
        fn limit<'a>(what: &'static str, name: &'a str, max: usize) -> NameLimit<'a> {
            NameLimit { what, name, max }
        }
        vec![
            limit("DynamoDB table name", &self.table, 255),
            limit("Kinesis stream name", &self.stream, 128),
            limit("Lambda function name", &self.tagging_function, 64),
            limit("Lambda function name", &self.expiration_function, 64),
            limit("SQS queue name", &self.failure_queue, 80),
            limit(
                "CloudWatch Logs log group name",
                &self.tagging_log_group,
                512,
            ),
            limit(
                "CloudWatch Logs log group name",
                &self.expiration_log_group,
                512,
            ),
        ]
    }
}

/// Name of the artifacts bucket used when the environment sets none.
pub fn default_artifacts_bucket(account_id: &str, region: &str) -> String {
    DEFAULT_ARTIFACTS_BUCKET_SUB
        .replace("${AWS::AccountId}", account_id)
        .replace("${AWS::Region}", region)
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Artifact(#[from] ArtifactError),
    #[error("failed to render the template of application {application}: {reason}")]
    Template { application: String, reason: String },
}

/// Renders the stack of one application.
pub fn render_application(
    environment: &Environment,
    application: &Application,
    artifacts: &ArtifactSet,
) -> Result<RenderedStack, RenderError> {
    render_application_with(TEMPLATE, environment, application, artifacts)
}

/// Renders the stack of one application from another template source, with the same
/// context, helpers and settings as [`render_application`].
pub fn render_application_with(
    template: &str,
    environment: &Environment,
    application: &Application,
    artifacts: &ArtifactSet,
) -> Result<RenderedStack, RenderError> {
    let stack_name = environment.stack_name(application);
    let tags = stack_tags(environment, application);
    let context = TemplateContext::new(environment, application, artifacts, &stack_name, &tags)?;

    let body = registry()
        .render_template(template, &context)
        .map_err(|error| RenderError::Template {
            application: application.name.clone(),
            reason: describe_render_error(&error),
        })?;
    let template_hash = template_hash(&body);
    let mut body = body;
    // The output comes last in the template, so the last occurrence is the output's, also
    // when a configured value happens to contain the placeholder text.
    if let Some(start) = body.rfind(TEMPLATE_HASH_PLACEHOLDER) {
        body.replace_range(
            start..start + TEMPLATE_HASH_PLACEHOLDER.len(),
            &template_hash,
        );
    }

    Ok(RenderedStack {
        application: application.name.clone(),
        stack_name,
        template: body,
        parameters: BTreeMap::new(),
        tags,
        capabilities: CAPABILITIES.iter().map(|c| (*c).to_owned()).collect(),
        template_hash,
    })
}

/// Returns the hex SHA-256 of a template as a parsed document, with every object's keys in
/// order, so that comments, layout and key order do not change it.
///
/// The template carries the hash as an output, computed while that output contains a fixed
/// placeholder. A stack whose output equals the hash of a newly rendered template therefore
/// contains the same document, and a run can skip reading the template back. Text that does not
/// parse as YAML is hashed as it is.
pub fn template_hash(template: &str) -> String {
    use sha2::Digest as _;

    let canonical = match serde_saphyr::from_str::<serde_json::Value>(template) {
        Ok(mut document) => {
            document.sort_all_objects();
            document.to_string()
        }
        Err(_) => template.to_owned(),
    };
    hex::encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// Writes `<stack>.template.yaml` and `<stack>.json` (stack name, parameters, tags and
/// capabilities) into `dir`, creating it if needed; returns the paths written.
pub fn write_rendered(dir: &Path, stack: &RenderedStack) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;

    let template_path = dir.join(format!("{}.template.yaml", stack.stack_name));
    std::fs::write(&template_path, &stack.template)?;

    let settings_path = dir.join(format!("{}.json", stack.stack_name));
    let settings = StackSettings::from(stack);
    let mut json = serde_json::to_string_pretty(&settings).map_err(io::Error::other)?;
    json.push('\n');
    std::fs::write(&settings_path, json)?;

    Ok(vec![template_path, settings_path])
}

/// The JSON file written next to a template, in CloudFormation's API field names.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StackSettings<'a> {
    stack_name: &'a str,
    parameters: Vec<KeyValue<'a>>,
    tags: Vec<KeyValue<'a>>,
    capabilities: &'a [String],
}

#[derive(Serialize)]
struct KeyValue<'a> {
    #[serde(rename = "Key")]
    key: &'a str,
    #[serde(rename = "Value")]
    value: &'a str,
}

impl<'a> From<&'a RenderedStack> for StackSettings<'a> {
    fn from(stack: &'a RenderedStack) -> Self {
        let pairs = |map: &'a BTreeMap<String, String>| {
            map.iter()
                .map(|(key, value)| KeyValue { key, value })
                .collect()
        };
        StackSettings {
            stack_name: &stack.stack_name,
            parameters: pairs(&stack.parameters),
            tags: pairs(&stack.tags),
            capabilities: &stack.capabilities,
        }
    }
}

fn stack_tags(environment: &Environment, application: &Application) -> BTreeMap<String, String> {
    let mut tags = environment.tags.clone();
    tags.insert(ENVIRONMENT_TAG.to_owned(), environment.name.clone());
    tags.insert(APPLICATION_TAG.to_owned(), application.name.clone());
    tags
}

/// Values the template reads. Field order is fixed, and maps are sorted, so the same input
/// always renders the same bytes.
#[derive(Serialize)]
struct TemplateContext<'a> {
    description: String,
    names: PhysicalNames,
    outputs: OutputNames,
    /// Text in place of the template hash, replaced once the rendered template is hashed.
    template_hash_placeholder: &'static str,
    /// `Retain` in protected environments: applies to the table and the Kinesis stream.
    deletion_policy: &'static str,
    /// The stream the tagging function reads in mode `existing`; `null` when the stack
    /// creates its own stream and Pinpoint role.
    existing_stream_arn: Option<&'a str>,
    tags: Vec<Tag<'a>>,
    key_attribute: &'static str,
    ttl_attribute: &'static str,
    ttl_deletion_filter: &'static str,
    pinpoint_app_arn: String,
    pinpoint_endpoints_arn: String,
    pinpoint_journeys_arn: String,
    pinpoint_invocation_source_arn: String,
    user_pool_arn: String,
    kms_key_arns: &'static str,
    kinesis_service: &'static str,
    artifacts_bucket: Option<&'a str>,
    default_artifacts_bucket: &'static str,
    tagging_code_key: String,
    expiration_code_key: String,
    architecture: &'static str,
    memory_mb: u32,
    timeout_seconds: u32,
    log_retention_days: u32,
    batch_size: u32,
    maximum_retry_attempts: u32,
    maximum_record_age_seconds: u32,
    tagging_reserved_concurrency: u32,
    expiration_reserved_concurrency: u32,
    parallelization_factor: u32,
    function_environment: Vec<EnvVar>,
}

#[derive(Serialize)]
struct Tag<'a> {
    key: &'a str,
    value: &'a str,
}

#[derive(Serialize)]
struct OutputNames {
    stream_arn: &'static str,
    pinpoint_role_arn: &'static str,
    table_name: &'static str,
    tagging_function: &'static str,
    expiration_function: &'static str,
    failure_queue_url: &'static str,
    template_hash: &'static str,
}

impl<'a> TemplateContext<'a> {
    fn new(
        environment: &'a Environment,
        application: &'a Application,
        artifacts: &ArtifactSet,
        stack_name: &str,
        tags: &'a BTreeMap<String, String>,
    ) -> Result<Self, RenderError> {
        let settings = &application.settings;
        let architecture = settings.architecture;
        let tagging = artifacts.get(Function::Tagging, architecture)?;
        let expiration = artifacts.get(Function::Expiration, architecture)?;
        let names = PhysicalNames::for_stack(stack_name);
        let concurrency = crate::quota::concurrency(
            settings.cognito_updates_per_second,
            settings.cognito_quota_percent,
            environment.cognito_quota,
        )
        .map_err(|reason| RenderError::Template {
            application: application.name.clone(),
            reason,
        })?;

        let pinpoint_app_arn = format!(
            "arn:${{AWS::Partition}}:mobiletargeting:${{AWS::Region}}:${{AWS::AccountId}}:apps/{}",
            application.pinpoint_app_id
        );

        Ok(TemplateContext {
            description: format!(
                "Journey attribution for Pinpoint application {} ({}) in environment {}",
                application.name, application.pinpoint_app_id, environment.name
            ),
            function_environment: function_environment(application, &names),
            names,
            outputs: OutputNames {
                stream_arn: outputs::STREAM_ARN,
                pinpoint_role_arn: outputs::PINPOINT_ROLE_ARN,
                table_name: outputs::TABLE_NAME,
                tagging_function: outputs::TAGGING_FUNCTION,
                expiration_function: outputs::EXPIRATION_FUNCTION,
                failure_queue_url: outputs::FAILURE_QUEUE_URL,
                template_hash: outputs::TEMPLATE_HASH,
            },
            template_hash_placeholder: TEMPLATE_HASH_PLACEHOLDER,
            deletion_policy: if environment.protected {
                "Retain"
            } else {
                "Delete"
            },
            existing_stream_arn: settings.event_stream.existing_stream_arn(),
            tags: tags.iter().map(|(key, value)| Tag { key, value }).collect(),
            key_attribute: contract::KEY_ATTRIBUTE,
            ttl_attribute: contract::TTL_ATTRIBUTE,
            ttl_deletion_filter: TTL_DELETION_FILTER,
            pinpoint_endpoints_arn: format!("{pinpoint_app_arn}/endpoints/*"),
            pinpoint_journeys_arn: format!("{pinpoint_app_arn}/journeys/*"),
            pinpoint_invocation_source_arn: format!("{pinpoint_app_arn}/*"),
            pinpoint_app_arn,
            user_pool_arn: format!(
                "arn:${{AWS::Partition}}:cognito-idp:${{AWS::Region}}:${{AWS::AccountId}}:userpool/{}",
                application.user_pool_id
            ),
            kms_key_arns: "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*",
            kinesis_service: "kinesis.${AWS::Region}.amazonaws.com",
            artifacts_bucket: environment.artifacts_bucket.as_deref(),
            default_artifacts_bucket: DEFAULT_ARTIFACTS_BUCKET_SUB,
            tagging_code_key: tagging.s3_key(),
            expiration_code_key: expiration.s3_key(),
            architecture: architecture.lambda_name(),
            memory_mb: settings.memory_mb,
            timeout_seconds: settings.timeout_seconds,
            log_retention_days: settings.log_retention_days,
            batch_size: settings.batch_size,
            maximum_retry_attempts: settings.maximum_retry_attempts,
            maximum_record_age_seconds: MAXIMUM_RECORD_AGE_SECONDS,
            tagging_reserved_concurrency: concurrency.tagging,
            expiration_reserved_concurrency: concurrency.expiration,
            parallelization_factor: concurrency.parallelization_factor,
        })
    }
}

/// Environment variables of both functions, named by the contract they share with the
/// functions' code.
fn function_environment(application: &Application, names: &PhysicalNames) -> Vec<EnvVar> {
    let settings = &application.settings;
    let variable = |name, value: &str| EnvVar {
        name,
        value: value.to_owned(),
    };
    vec![
        variable(contract::env::TABLE_NAME, &names.table),
        variable(contract::env::USER_POOL_ID, &application.user_pool_id),
        variable(contract::env::PINPOINT_APP_ID, &application.pinpoint_app_id),
        variable(
            contract::env::LOOKBACK_DAYS,
            &settings.lookback_days.to_string(),
        ),
        variable(
            contract::env::INTERACTION_EVENTS,
            &settings.interaction_events.join(","),
        ),
        variable(
            contract::env::USERNAME_ATTRIBUTE,
            &settings.username_attribute,
        ),
        variable(
            contract::env::CAMPAIGN_ATTRIBUTE,
            &settings.campaign_attribute,
        ),
        variable(
            contract::env::CAMPAIGN_VALUE,
            settings.campaign_value.as_str(),
        ),
        variable(
            contract::env::COGNITO_UPDATES_PER_SECOND,
            &settings.cognito_updates_per_second.to_string(),
        ),
    ]
}

#[derive(Serialize)]
struct EnvVar {
    name: &'static str,
    value: String,
}

/// The Handlebars registry every render uses: strict mode, no HTML escaping, and the
/// `yaml` helper.
fn registry() -> Handlebars<'static> {
    let mut registry = Handlebars::new();
    registry.set_strict_mode(true);
    registry.register_escape_fn(handlebars::no_escape);
    registry.register_helper("yaml", Box::new(yaml_helper));
    registry
}

/// `{{yaml value}}`: writes `value` as a YAML scalar. Strings are quoted (by serde-saphyr's
/// serializer), so any character is read back exactly; numbers and booleans are written
/// as they are. A missing or null value is an error naming the variable, because strict
/// mode does not check helper parameters by itself.
fn yaml_helper(
    helper: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let param = helper
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("yaml", 0))?;
    if param.is_value_missing() || param.value().is_null() {
        let name = param
            .relative_path()
            .cloned()
            .unwrap_or_else(|| "(value)".to_owned());
        return Err(RenderErrorReason::MissingVariable(Some(name)).into());
    }

    let scalar = match param.value() {
        serde_json::Value::String(text) => quoted_scalar(text)?,
        serde_json::Value::Number(number) => number.to_string(),
        serde_json::Value::Bool(flag) => flag.to_string(),
        other => {
            return Err(RenderErrorReason::Other(format!(
                "the yaml helper takes a string, number or boolean, found {other} for {}",
                param.relative_path().map_or("(value)", String::as_str)
            ))
            .into());
        }
    };
    out.write(&scalar)?;
    Ok(())
}

/// Quotes `text` as a one-line YAML scalar that reads back as exactly `text`.
fn quoted_scalar(text: &str) -> Result<String, RenderErrorReason> {
    let options = serde_saphyr::ser_options! { quote_all: true };
    let yaml = serde_saphyr::to_string_with_options(&text, options)
        .map_err(|error| RenderErrorReason::Other(format!("failed to quote {text:?}: {error}")))?;
    Ok(yaml.trim_end_matches('\n').to_owned())
}

fn describe_render_error(error: &handlebars::RenderError) -> String {
    match error.reason() {
        RenderErrorReason::MissingVariable(Some(name)) => format!(
            "the template uses the variable `{name}`, which the render context does not define (line {}, column {})",
            error.line_no.unwrap_or(0),
            error.column_no.unwrap_or(0)
        ),
        _ => error.to_string(),
    }
}
