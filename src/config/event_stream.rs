//! Checks of the `event_stream:` setting: its mode and the ARN of an existing stream.

use super::EventStreamMode;
use super::checker::Checker;
use super::raw::{Located, RawEventStream};
use super::rules::NamingContext;
use super::values::is_region;

/// Example ARN shown in messages.
const EXAMPLE_ARN: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/pinpoint-events";

/// Maximum length of a Kinesis stream name.
const STREAM_NAME_MAX: usize = 128;

#[derive(Clone, Copy)]
enum Mode {
    Create,
    Existing,
}

pub(super) fn check_event_stream(
    checker: &mut Checker,
    raw: Located<RawEventStream>,
    context: &NamingContext,
) -> Option<EventStreamMode> {
    let mapping = raw.referenced;
    let raw = raw.value;
    let mode = match &raw.mode {
        Some(mode) => checker.choice(
            mode,
            "event_stream.mode",
            &[("create", Mode::Create), ("existing", Mode::Existing)],
        )?,
        None => Mode::Create,
    };
    let replace_existing = match &raw.replace_existing {
        Some(value) => Some(checker.boolean(value, "event_stream.replace_existing")?),
        None => None,
    };

    match mode {
        Mode::Create => {
            if let Some(arn) = &raw.stream_arn {
                checker.report(
                    &arn.referenced,
                    "event_stream.stream_arn: a stream ARN is only read with `mode: existing`; remove it, or add `mode: existing` to read that stream",
                );
                return None;
            }
            Some(EventStreamMode::Create {
                replace_existing: replace_existing.unwrap_or(false),
            })
        }
        Mode::Existing => {
            if let Some(value) = &raw.replace_existing {
                checker.report(
                    &value.referenced,
                    "event_stream.replace_existing: only read with `mode: create`, because `mode: existing` never changes the application's event stream; remove it",
                );
                return None;
            }
            let arn = checker.required(raw.stream_arn, "stream_arn", &mapping, EXAMPLE_ARN)?;
            let stream_arn = check_stream_arn(checker, arn, context)?;
            Some(EventStreamMode::Existing { stream_arn })
        }
    }
}

/// Checks a Kinesis data stream ARN, `arn:PARTITION:kinesis:REGION:ACCOUNT:stream/NAME`, and
/// that its region and account are the environment's.
fn check_stream_arn(
    checker: &mut Checker,
    value: Located<String>,
    context: &NamingContext,
) -> Option<String> {
    let text = value.value.as_str();
    let parts: Vec<&str> = text.splitn(6, ':').collect();
    if let Some(hint) = shape_problem(&parts) {
        checker.report(
            &value.referenced,
            format!(
                "event_stream.stream_arn: expected a Kinesis data stream ARN like {EXAMPLE_ARN}, found {text:?}; {hint}"
            ),
        );
        return None;
    }
    let (stream_region, stream_account) = (parts[3], parts[4]);

    if let Some(region) = context.region
        && region.value != stream_region
    {
        checker.report(
            &value.referenced,
            format!(
                "event_stream.stream_arn: the stream is in {stream_region}, but the environment's region (line {}) is {}; Lambda reads Kinesis streams of its own region only, so use a stream in {}",
                region.referenced.line(),
                region.value,
                region.value
            ),
        );
        return None;
    }
    if let Some(account) = context.account_id
        && account != stream_account
    {
        checker.report(
            &value.referenced,
            format!(
                "event_stream.stream_arn: the stream belongs to account {stream_account}, but the environment's account_id is {account}; the deployer grants the tagging function access to streams of its own account only, so use a stream of account {account}"
            ),
        );
        return None;
    }
    Some(value.value)
}

/// Returns what is wrong with the parts of a stream ARN, or `None` when its shape is valid.
fn shape_problem(parts: &[&str]) -> Option<String> {
    let [prefix, partition, service, region, account, resource] = parts else {
        return Some("an ARN has six parts separated by colons".to_owned());
    };
    if *prefix != "arn" || partition.is_empty() || !partition.starts_with("aws") {
        return Some("an ARN starts with arn:aws: (or arn:aws-cn:, arn:aws-us-gov:)".to_owned());
    }
    if *service == "firehose" {
        return Some("that is a Firehose delivery stream, which Lambda cannot read; give the Kinesis data stream that receives the application's events".to_owned());
    }
    if *service != "kinesis" {
        return Some(format!(
            "the service part is {service:?}; the tagging function reads Kinesis data streams only"
        ));
    }
    if !is_region(region) {
        return Some(format!("{region:?} is not a region code like eu-west-1"));
    }
    if account.len() != 12 || !account.bytes().all(|byte| byte.is_ascii_digit()) {
        return Some(format!("{account:?} is not a 12-digit account id"));
    }
    let Some(name) = resource.strip_prefix("stream/") else {
        return Some("the resource part must be stream/NAME".to_owned());
    };
    if let Some((stream, _)) = name.split_once("/consumer/") {
        return Some(format!(
            "that is a stream consumer; give the stream itself, ending in stream/{stream}"
        ));
    }
    let valid_name = (1..=STREAM_NAME_MAX).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if !valid_name {
        return Some(format!(
            "the stream name {name:?} must be 1 to {STREAM_NAME_MAX} letters, digits, underscores, dots or hyphens"
        ));
    }
    None
}
