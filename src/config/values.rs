//! Checks of single values: names, ids, tags, attribute names and retention periods.

use std::collections::BTreeMap;

use super::DEFAULT_STACK_PREFIX;
use super::checker::Checker;
use super::raw::{Entries, Located, RawValue};
use crate::artifacts::Architecture;

/// Maximum number of tags on a CloudFormation stack.
const STACK_TAGS_MAX: usize = 50;

/// Tags that the renderer adds to every stack; user tags may not use their prefix.
const MANAGED_TAG_PREFIX: &str = "pinpoint-attribution:";

/// Number of managed tags, which count against the stack's tag limit.
const MANAGED_TAG_COUNT: usize = 2;

/// Retention periods, in days, that CloudWatch Logs accepts for a log group.
const LOG_RETENTION_DAYS: &[u32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen.
pub(super) fn check_name(
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

pub(super) fn check_region(
    checker: &mut Checker,
    value: Located<String>,
) -> Option<Located<String>> {
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

/// Checks that `text` has the shape of a region code, like `eu-west-1` or `us-gov-west-1`.
pub(super) fn is_region(text: &str) -> bool {
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

pub(super) fn check_account_id(checker: &mut Checker, value: Located<String>) -> Option<String> {
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

pub(super) fn check_stack_prefix(checker: &mut Checker, value: Located<String>) -> Option<String> {
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

pub(super) fn check_bucket(checker: &mut Checker, value: Located<String>) -> Option<String> {
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

pub(super) fn check_tags(
    checker: &mut Checker,
    tags: Located<Entries>,
) -> BTreeMap<String, String> {
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

pub(super) fn check_interaction_events(
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

pub(super) fn check_username_attribute(
    checker: &mut Checker,
    value: Located<String>,
) -> Option<String> {
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

pub(super) fn check_campaign_attribute(
    checker: &mut Checker,
    value: Located<String>,
) -> Option<String> {
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

pub(super) fn check_architecture(
    checker: &mut Checker,
    value: Located<String>,
) -> Option<Architecture> {
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

pub(super) fn check_log_retention(checker: &mut Checker, value: Located<RawValue>) -> Option<u32> {
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

pub(super) fn check_app_id(
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

pub(super) fn check_user_pool_id(
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
