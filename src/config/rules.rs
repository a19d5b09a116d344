//! Checks of the raw document, merging of `defaults:`, and the limits of derived names.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::raw::{Entries, Located, RawApplication, RawEnvironment, RawSettings};
use super::{Application, CampaignValue, DEFAULT_STACK_PREFIX, Environment, Problem, Settings};
use crate::artifacts::Architecture;
use crate::render::PhysicalNames;

/// Maximum length of a CloudFormation stack name.
const STACK_NAME_MAX: usize = 128;

/// Maximum number of tags on a CloudFormation stack.
const STACK_TAGS_MAX: usize = 50;

/// Tags that the renderer adds to every stack; user tags may not use their prefix.
pub(crate) const MANAGED_TAG_PREFIX: &str = "pinpoint-attribution:";

/// Number of managed tags, which count against the stack's tag limit.
const MANAGED_TAG_COUNT: usize = 2;

/// Retention periods, in days, that CloudWatch Logs accepts for a log group.
pub(crate) const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Checks the whole document and builds the environment, or returns every problem found.
pub(super) fn check_document(
    document: Located<RawEnvironment>,
    text: &str,
) -> Result<Environment, Vec<Problem>> {
    let mut checker = Checker::new(text);
    let top = document.referenced;
    let raw = document.value;

    let name = checker
        .required(raw.environment, "environment", &top, "dev")
        .and_then(|name| check_name(&mut checker, name, "environment", "dev"));
    let region = checker
        .required(raw.region, "region", &top, "eu-west-1")
        .and_then(|region| check_region(&mut checker, region));
    let account_id = raw
        .account_id
        .and_then(|account_id| check_account_id(&mut checker, account_id));
    let protected = match &raw.protected {
        Some(value) => checker.boolean(value, "protected"),
        None => Some(false),
    };
    let stack_prefix = match raw.stack_prefix {
        Some(prefix) => check_stack_prefix(&mut checker, prefix),
        None => Some(DEFAULT_STACK_PREFIX.to_owned()),
    };
    let artifacts_bucket = raw
        .artifacts_bucket
        .and_then(|bucket| check_bucket(&mut checker, bucket));
    let tags = match raw.tags {
        Some(tags) => check_tags(&mut checker, tags),
        None => BTreeMap::new(),
    };
    let defaults = match raw.defaults {
        Some(defaults) => check_settings(&mut checker, defaults.value),
        None => PartialSettings::default(),
    };

    let context = NamingContext {
        stack_prefix: stack_prefix.as_deref(),
        environment: name.as_deref(),
        region: region.as_ref(),
    };
    let applications = match checker.required(raw.applications, "applications", &top, "[...]") {
        Some(list) => check_applications(&mut checker, list, &defaults, &context),
        None => Vec::new(),
    };

    if checker.has_problems() {
        return Err(checker.into_problems());
    }

    // Every value above is `Some` when no problem was reported.
    let (Some(name), Some(region), Some(protected), Some(stack_prefix)) =
        (name, region, protected, stack_prefix)
    else {
        unreachable!("a missing value always comes with a reported problem");
    };
    Ok(Environment {
        source: Default::default(),
        name,
        region: region.value,
        account_id,
        protected,
        stack_prefix,
        artifacts_bucket,
        tags,
        applications,
    })
}

/// Names and region the application checks need; `None` where the value itself was invalid.
struct NamingContext<'a> {
    stack_prefix: Option<&'a str>,
    environment: Option<&'a str>,
    region: Option<&'a Located<String>>,
}

/// Settings from one mapping (`defaults:` or an application), before merging.
#[derive(Debug, Default)]
struct PartialSettings {
    lookback_days: Option<u32>,
    interaction_events: Option<Vec<String>>,
    username_attribute: Option<String>,
    campaign_attribute: Option<String>,
    campaign_value: Option<CampaignValue>,
    architecture: Option<Architecture>,
    memory_mb: Option<u32>,
    timeout_seconds: Option<u32>,
    log_retention_days: Option<u32>,
    batch_size: Option<u32>,
    maximum_retry_attempts: Option<u32>,
}

impl PartialSettings {
    /// Application value, else the `defaults:` value, else the built-in default.
    fn merge(self, defaults: &PartialSettings) -> Settings {
        let builtin = Settings::default();
        Settings {
            lookback_days: self
                .lookback_days
                .or(defaults.lookback_days)
                .unwrap_or(builtin.lookback_days),
            interaction_events: self
                .interaction_events
                .or_else(|| defaults.interaction_events.clone())
                .unwrap_or(builtin.interaction_events),
            username_attribute: self
                .username_attribute
                .or_else(|| defaults.username_attribute.clone())
                .unwrap_or(builtin.username_attribute),
            campaign_attribute: self
                .campaign_attribute
                .or_else(|| defaults.campaign_attribute.clone())
                .unwrap_or(builtin.campaign_attribute),
            campaign_value: self
                .campaign_value
                .or(defaults.campaign_value)
                .unwrap_or(builtin.campaign_value),
            architecture: self
                .architecture
                .or(defaults.architecture)
                .unwrap_or(builtin.architecture),
            memory_mb: self
                .memory_mb
                .or(defaults.memory_mb)
                .unwrap_or(builtin.memory_mb),
            timeout_seconds: self
                .timeout_seconds
                .or(defaults.timeout_seconds)
                .unwrap_or(builtin.timeout_seconds),
            log_retention_days: self
                .log_retention_days
                .or(defaults.log_retention_days)
                .unwrap_or(builtin.log_retention_days),
            batch_size: self
                .batch_size
                .or(defaults.batch_size)
                .unwrap_or(builtin.batch_size),
            maximum_retry_attempts: self
                .maximum_retry_attempts
                .or(defaults.maximum_retry_attempts)
                .unwrap_or(builtin.maximum_retry_attempts),
        }
    }
}

fn check_settings(checker: &mut Checker, raw: RawSettings) -> PartialSettings {
    PartialSettings {
        lookback_days: raw
            .lookback_days
            .and_then(|value| checker.number_in(&value, "lookback_days", 1..=365, 7)),
        interaction_events: raw
            .interaction_events
            .and_then(|events| check_interaction_events(checker, events)),
        username_attribute: raw
            .username_attribute
            .and_then(|value| check_username_attribute(checker, value)),
        campaign_attribute: raw
            .campaign_attribute
            .and_then(|value| check_campaign_attribute(checker, value)),
        campaign_value: raw.campaign_value.and_then(|value| {
            checker.choice(
                &value,
                "campaign_value",
                &[
                    ("journey_name", CampaignValue::JourneyName),
                    ("journey_id", CampaignValue::JourneyId),
                ],
            )
        }),
        architecture: raw
            .architecture
            .and_then(|value| check_architecture(checker, value)),
        memory_mb: raw
            .memory_mb
            .and_then(|value| checker.number_in(&value, "memory_mb", 128..=10240, 256)),
        timeout_seconds: raw
            .timeout_seconds
            .and_then(|value| checker.number_in(&value, "timeout_seconds", 1..=900, 60)),
        log_retention_days: raw
            .log_retention_days
            .and_then(|value| check_log_retention(checker, value)),
        batch_size: raw
            .batch_size
            .and_then(|value| checker.number_in(&value, "batch_size", 1..=10000, 100)),
        maximum_retry_attempts: raw
            .maximum_retry_attempts
            .and_then(|value| checker.number_in(&value, "maximum_retry_attempts", 0..=10000, 5)),
    }
}

fn check_applications(
    checker: &mut Checker,
    list: Located<Vec<Located<RawApplication>>>,
    defaults: &PartialSettings,
    context: &NamingContext,
) -> Vec<Application> {
    if list.value.is_empty() {
        checker.report(
            &list.referenced,
            "applications: the list is empty; add at least one application with name, pinpoint_app_id and user_pool_id",
        );
        return Vec::new();
    }

    let mut names_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut app_ids_seen: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut applications = Vec::new();
    for entry in list.value {
        let location = entry.referenced;
        let mut raw = entry.value;
        let settings = check_settings(checker, raw.take_settings()).merge(defaults);

        let name = checker
            .required(raw.name, "name", &location, "shop")
            .and_then(|name| check_application_name(checker, name, context, &mut names_seen));
        let pinpoint_app_id = checker
            .required(
                raw.pinpoint_app_id,
                "pinpoint_app_id",
                &location,
                "0123456789abcdef0123456789abcdef",
            )
            .and_then(|id| check_app_id(checker, id, name.as_deref(), &mut app_ids_seen));
        let user_pool_id = checker
            .required(
                raw.user_pool_id,
                "user_pool_id",
                &location,
                "eu-west-1_AbCdEf123",
            )
            .and_then(|id| check_user_pool_id(checker, id, context.region));

        if let (Some(name), Some(pinpoint_app_id), Some(user_pool_id)) =
            (name, pinpoint_app_id, user_pool_id)
        {
            applications.push(Application {
                name,
                pinpoint_app_id,
                user_pool_id,
                settings,
            });
        }
    }
    applications
}

fn check_application_name(
    checker: &mut Checker,
    name: Located<String>,
    context: &NamingContext,
    names_seen: &mut BTreeMap<String, u64>,
) -> Option<String> {
    let line = name.referenced.line();
    let checked = check_name(checker, name.clone(), "name", "shop")?;

    if let Some(first_line) = names_seen.get(&checked) {
        checker.report(
            &name.referenced,
            format!(
                "name: the application name {checked:?} is already used by the application on line {first_line}; application names must be unique"
            ),
        );
        return None;
    }
    names_seen.insert(checked.clone(), line);

    if let (Some(prefix), Some(environment)) = (context.stack_prefix, context.environment)
        && !derived_names_fit(checker, &name, prefix, environment)
    {
        return None;
    }
    Some(checked)
}

/// Checks that the stack name and every physical name derived from it fit their services;
/// reports the name that overflows its limit the most.
fn derived_names_fit(
    checker: &mut Checker,
    name: &Located<String>,
    stack_prefix: &str,
    environment: &str,
) -> bool {
    let stack = super::stack_name(stack_prefix, environment, &name.value);
    let names = PhysicalNames::for_stack(&stack);
    let mut limits = vec![("CloudFormation stack name", stack.clone(), STACK_NAME_MAX)];
    limits.extend(
        names
            .limits()
            .into_iter()
            .map(|limit| (limit.what, limit.name.to_owned(), limit.max)),
    );

    let worst = limits
        .into_iter()
        .filter(|(_, derived, max)| derived.chars().count() > *max)
        .max_by_key(|(_, derived, max)| derived.chars().count() - max);
    let Some((what, derived, max)) = worst else {
        return true;
    };
    let length = derived.chars().count();
    checker.report(
        &name.referenced,
        format!(
            "name: the stack name {stack:?} makes the {what} {derived:?} {length} characters long, over the limit of {max}; shorten the application name, the environment name or stack_prefix by {} characters",
            length - max
        ),
    );
    false
}

/// Lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen.
fn check_name(
    checker: &mut Checker,
    value: Located<String>,
    key: &str,
    example: &str,
) -> Option<String> {
    let text = &value.value;
    let valid = text.starts_with(|c: char| c.is_ascii_lowercase())
        && !text.ends_with('-')
        && text
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if valid {
        return Some(value.value);
    }

    let lowered = text.to_lowercase();
    let fix = if lowered != *text
        && !lowered.is_empty()
        && lowered
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        format!("write it as {lowered:?}")
    } else {
        format!("use a name like {example:?}")
    };
    checker.report(
        &value.referenced,
        format!(
            "{key}: expected lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen, found {text:?}; {fix}"
        ),
    );
    None
}

fn check_region(checker: &mut Checker, value: Located<String>) -> Option<Located<String>> {
    if is_region(&value.value) {
        return Some(value);
    }
    checker.report(
        &value.referenced,
        format!(
            "region: expected an AWS region code like eu-west-1, found {:?}",
            value.value
        ),
    );
    None
}

/// Checks that `text` has the shape of a region code: `eu-west-1`, `us-gov-west-1`, `ap-southeast-3`.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    parts.len() >= 3
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|byte| byte.is_ascii_digit())
        && words[0].len() == 2
        && words
            .iter()
            .all(|word| !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_lowercase()))
}

fn check_account_id(checker: &mut Checker, value: Located<String>) -> Option<String> {
    let text = &value.value;
    if text.len() == 12 && text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(value.value);
    }

    let fix = if !text.is_empty()
        && text.len() < 12
        && text.bytes().all(|byte| byte.is_ascii_digit())
    {
        "AWS account ids have exactly 12 digits, leading zeros included; write the whole id in quotes, like \"012345678901\""
    } else {
        "write the 12-digit account id in quotes, like \"123456789012\""
    };
    checker.report(
        &value.referenced,
        format!("account_id: expected 12 digits, found {text:?}; {fix}"),
    );
    None
}

fn check_stack_prefix(checker: &mut Checker, value: Located<String>) -> Option<String> {
    let text = &value.value;
    let valid = text.starts_with(|c: char| c.is_ascii_alphabetic())
        && !text.ends_with('-')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        return Some(value.value);
    }
    checker.report(
        &value.referenced,
        format!(
            "stack_prefix: expected letters, digits and hyphens, starting with a letter and not ending with a hyphen (CloudFormation stack name rules), found {text:?}; use a prefix like {DEFAULT_STACK_PREFIX:?}"
        ),
    );
    None
}

fn check_bucket(checker: &mut Checker, value: Located<String>) -> Option<String> {
    match bucket_name_problem(&value.value) {
        None => Some(value.value),
        Some(problem) => {
            checker.report(
                &value.referenced,
                format!(
                    "artifacts_bucket: {:?} is not a valid S3 bucket name: {problem}",
                    value.value
                ),
            );
            None
        }
    }
}

/// Returns the S3 naming rule for general purpose buckets that `name` breaks, if any.
fn bucket_name_problem(name: &str) -> Option<&'static str> {
    const RESERVED_PREFIXES: &[&str] = &["xn--", "sthree-", "amzn-s3-demo-"];
    const RESERVED_SUFFIXES: &[&str] = &["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];

    if !(3..=63).contains(&name.len()) {
        return Some("it must be 3 to 63 characters long");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Some("use only lower-case letters, digits, dots and hyphens");
    }
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !name.starts_with(alphanumeric) || !name.ends_with(alphanumeric) {
        return Some("it must start and end with a letter or digit");
    }
    if name.contains("..") {
        return Some("it must not contain two adjacent dots");
    }
    if name.split('.').count() == 4 && name.split('.').all(|part| part.parse::<u8>().is_ok()) {
        return Some("it must not look like an IP address");
    }
    if RESERVED_PREFIXES
        .iter()
        .any(|prefix| name.starts_with(prefix))
        || RESERVED_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
    {
        return Some("its prefix or suffix is reserved by S3");
    }
    None
}

fn check_tags(checker: &mut Checker, tags: Located<Entries>) -> BTreeMap<String, String> {
    let limit = STACK_TAGS_MAX - MANAGED_TAG_COUNT;
    if tags.value.0.len() > limit {
        checker.report(
            &tags.referenced,
            format!(
                "tags: {} tags given, but a stack takes at most {STACK_TAGS_MAX}, {MANAGED_TAG_COUNT} of them set by the deployer; remove {}",
                tags.value.0.len(),
                tags.value.0.len() - limit
            ),
        );
    }

    let mut checked = BTreeMap::new();
    for (key, value) in tags.value.0 {
        if check_tag(checker, &key, &value) {
            checked.insert(key.value, value.value);
        }
    }
    checked
}

/// Checks one tag against CloudFormation's limits and the characters every tagged resource
/// of the stack accepts; returns whether it is valid.
fn check_tag(checker: &mut Checker, key: &Located<String>, value: &Located<String>) -> bool {
    let key_length = key.value.chars().count();
    let key_problem = if key_length == 0 || key_length > 128 {
        Some(format!(
            "tags: the tag key {:?} has {key_length} characters; use 1 to 128",
            key.value
        ))
    } else if key.value.to_lowercase().starts_with("aws:") {
        Some(format!(
            "tags: the tag key {:?} starts with `aws:`, which AWS reserves for its own tags; choose another key",
            key.value
        ))
    } else if key.value.starts_with(MANAGED_TAG_PREFIX) {
        Some(format!(
            "tags: the tag key {:?} starts with `{MANAGED_TAG_PREFIX}`, which the deployer reserves for the tags it sets; choose another key",
            key.value
        ))
    } else {
        tag_characters_problem("key", &key.value)
    };
    if let Some(message) = key_problem {
        checker.report(&key.referenced, message);
        return false;
    }

    let value_length = value.value.chars().count();
    let value_problem = if value_length > 256 {
        Some(format!(
            "tags: the value of tag {:?} has {value_length} characters; use at most 256",
            key.value
        ))
    } else {
        tag_characters_problem(&format!("value of tag {:?}", key.value), &value.value)
    };
    if let Some(message) = value_problem {
        checker.report(&value.referenced, message);
        return false;
    }
    true
}

/// Tag characters that IAM and DynamoDB accept: letters, digits, spaces and `_ . : / = + - @`.
/// CloudFormation copies stack tags onto the stack's roles and table, so any other
/// character would make the apply fail after it started.
fn tag_characters_problem(what: &str, text: &str) -> Option<String> {
    let is_allowed = |c: char| {
        c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
    };
    let mut rejected: Vec<String> = Vec::new();
    for c in text.chars().filter(|c| !is_allowed(*c)) {
        let shown = format!("{c:?}");
        if !rejected.contains(&shown) {
            rejected.push(shown);
        }
    }
    if rejected.is_empty() {
        return None;
    }
    Some(format!(
        "tags: the {what} {text:?} contains {}, but IAM and DynamoDB, which receive the stack's tags, accept only letters, digits, spaces and _ . : / = + - @ in tags; remove or replace those characters",
        rejected.join(", ")
    ))
}

fn check_interaction_events(
    checker: &mut Checker,
    events: Located<Vec<Located<String>>>,
) -> Option<Vec<String>> {
    if events.value.is_empty() {
        checker.report(
            &events.referenced,
            "interaction_events: the list is empty; list at least one Pinpoint event type, like [_email.click, _email.open]",
        );
        return None;
    }

    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut valid = true;
    for event in &events.value {
        let text = &event.value;
        if text.is_empty() || text.contains(',') || text.chars().any(char::is_whitespace) {
            checker.report(
                &event.referenced,
                format!(
                    "interaction_events: expected a Pinpoint event type like _email.click, found {text:?}; event types have no spaces or commas"
                ),
            );
            valid = false;
        } else if let Some(first_line) = seen.get(text) {
            checker.report(
                &event.referenced,
                format!(
                    "interaction_events: {text:?} is already listed on line {first_line}; list each event type once"
                ),
            );
            valid = false;
        } else {
            seen.insert(text.clone(), event.referenced.line());
        }
    }

    valid.then(|| events.value.into_iter().map(|event| event.value).collect())
}

fn check_username_attribute(checker: &mut Checker, value: Located<String>) -> Option<String> {
    const FORBIDDEN: &[char] = &['#', ':', '?', '\\', '/'];
    let text = &value.value;
    let length = text.chars().count();
    if (1..=50).contains(&length)
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(&c))
    {
        return Some(value.value);
    }
    checker.report(
        &value.referenced,
        format!(
            "username_attribute: expected a Pinpoint endpoint user attribute name of 1 to 50 characters without spaces or any of # : ? \\ /, found {text:?}"
        ),
    );
    None
}

fn check_campaign_attribute(checker: &mut Checker, value: Located<String>) -> Option<String> {
    let text = &value.value;
    if let Some(bare) = text.strip_prefix("custom:") {
        checker.report(
            &value.referenced,
            format!(
                "campaign_attribute: write the name without the `custom:` prefix, which Cognito adds: {bare:?}"
            ),
        );
        return None;
    }

    let length = text.chars().count();
    let valid = (1..=20).contains(&length)
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || (c.is_ascii_punctuation() && c != ':'));
    if valid {
        return Some(value.value);
    }
    checker.report(
        &value.referenced,
        format!(
            "campaign_attribute: expected a Cognito custom attribute name of 1 to 20 letters, digits or punctuation other than `:`, found {text:?} ({length} characters)"
        ),
    );
    None
}

fn check_architecture(checker: &mut Checker, value: Located<String>) -> Option<Architecture> {
    let hint = match value.value.as_str() {
        "aarch64" | "arm" | "graviton" => Some("arm64"),
        "amd64" | "x86-64" | "x64" | "x86" => Some("x86_64"),
        _ => None,
    };
    if let Some(name) = hint {
        checker.report(
            &value.referenced,
            format!(
                "architecture: expected arm64 or x86_64, found {:?}; Lambda calls this architecture {name}",
                value.value
            ),
        );
        return None;
    }
    checker.choice(
        &value,
        "architecture",
        &[
            ("arm64", Architecture::Arm64),
            ("x86_64", Architecture::X86_64),
        ],
    )
}

fn check_log_retention(checker: &mut Checker, value: Located<super::raw::RawValue>) -> Option<u32> {
    let allowed: Vec<String> = LOG_RETENTION_DAYS.iter().map(u32::to_string).collect();
    let expected = format!(
        "a retention period CloudWatch Logs accepts ({})",
        allowed.join(", ")
    );
    let number = checker.whole_number(&value, "log_retention_days", &expected, 30)?;

    match u32::try_from(number) {
        Ok(days) if LOG_RETENTION_DAYS.contains(&days) => Some(days),
        _ => {
            let nearest = LOG_RETENTION_DAYS
                .iter()
                .min_by_key(|days| (i128::from(**days) - number).abs())
                .copied()
                .unwrap_or(30);
            checker.report(
                &value.referenced,
                format!(
                    "log_retention_days: expected {expected}, found {number}; the nearest accepted value is {nearest}"
                ),
            );
            None
        }
    }
}

fn check_app_id(
    checker: &mut Checker,
    value: Located<String>,
    application: Option<&str>,
    seen: &mut BTreeMap<String, (String, u64)>,
) -> Option<String> {
    let text = &value.value;
    let is_hex = |lower_only: bool| {
        text.len() == 32
            && text.chars().all(|c| {
                c.is_ascii_digit()
                    || ('a'..='f').contains(&c)
                    || (!lower_only && ('A'..='F').contains(&c))
            })
    };
    if !is_hex(true) {
        let fix = if is_hex(false) {
            format!("write it in lower case: {:?}", text.to_lowercase())
        } else {
            "copy the Project ID from the Pinpoint console or `aws pinpoint get-apps`".to_owned()
        };
        checker.report(
            &value.referenced,
            format!(
                "pinpoint_app_id: expected 32 lower-case hexadecimal characters, found {text:?} ({} characters); {fix}",
                text.chars().count()
            ),
        );
        return None;
    }

    if let Some((other, line)) = seen.get(text) {
        checker.report(
            &value.referenced,
            format!(
                "pinpoint_app_id: {text:?} is already used by application {other:?} on line {line}; a Pinpoint application has a single event stream, so only one application may use it"
            ),
        );
        return None;
    }
    seen.insert(
        text.clone(),
        (
            application.unwrap_or("?").to_owned(),
            value.referenced.line(),
        ),
    );
    Some(value.value)
}

fn check_user_pool_id(
    checker: &mut Checker,
    value: Located<String>,
    region: Option<&Located<String>>,
) -> Option<String> {
    let text = &value.value;
    let parsed = text.split_once('_').filter(|(pool_region, suffix)| {
        is_region(pool_region)
            && !suffix.is_empty()
            && suffix.chars().all(|c| c.is_ascii_alphanumeric())
            && text.len() <= 55
    });
    let Some((pool_region, _)) = parsed else {
        checker.report(
            &value.referenced,
            format!(
                "user_pool_id: expected a Cognito user pool id like eu-west-1_AbCdEf123 (region, underscore, letters and digits), found {text:?}"
            ),
        );
        return None;
    };

    if let Some(region) = region
        && region.value != pool_region
    {
        checker.report(
            &value.referenced,
            format!(
                "user_pool_id: the pool {text:?} is in {pool_region}, but the environment's region (line {}) is {}; use a pool in {} or deploy this application from an environment file for {pool_region}",
                region.referenced.line(),
                region.value,
                region.value
            ),
        );
        return None;
    }
    Some(value.value)
}
