//! Checks of the raw document, merging of `defaults:`, and the limits of derived names.

use std::collections::BTreeMap;

use super::checker::Checker;
use super::event_stream::check_event_stream;
use super::raw::{Located, RawApplication, RawEnvironment, RawSettings};
use super::values::{
    check_account_id, check_app_id, check_architecture, check_bucket, check_campaign_attribute,
    check_interaction_events, check_log_retention, check_name, check_region, check_stack_prefix,
    check_tags, check_user_pool_id, check_username_attribute,
};
use super::{
    Application, CampaignValue, DEFAULT_STACK_PREFIX, Environment, EventStreamMode, Problem,
    Settings,
};
use crate::artifacts::Architecture;
use crate::render::PhysicalNames;

/// Maximum length of a CloudFormation stack name.
const STACK_NAME_MAX: usize = 128;

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
    let cognito_quota = match &raw.cognito_quota {
        Some(value) => checker.number_in(
            value,
            "cognito_quota",
            1..=100_000,
            crate::quota::DEFAULT_USER_UPDATES_PER_SECOND,
        ),
        None => Some(crate::quota::DEFAULT_USER_UPDATES_PER_SECOND),
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
    let context = NamingContext {
        stack_prefix: stack_prefix.as_deref(),
        environment: name.as_deref(),
        region: region.as_ref(),
        account_id: account_id.as_deref(),
    };
    let defaults = match raw.defaults {
        Some(defaults) => check_settings(&mut checker, defaults.value, &context),
        None => PartialSettings::default(),
    };

    let applications = match checker.required(raw.applications, "applications", &top, "[...]") {
        Some(list) => check_applications(
            &mut checker,
            list,
            &defaults,
            &context,
            cognito_quota.unwrap_or(crate::quota::DEFAULT_USER_UPDATES_PER_SECOND),
        ),
        None => Vec::new(),
    };

    if checker.has_problems() {
        return Err(checker.into_problems());
    }

    // Every value above is `Some` when no problem was reported.
    let (Some(name), Some(region), Some(protected), Some(cognito_quota), Some(stack_prefix)) =
        (name, region, protected, cognito_quota, stack_prefix)
    else {
        unreachable!("a missing value always comes with a reported problem");
    };
    Ok(Environment {
        source: Default::default(),
        name,
        region: region.value,
        account_id,
        protected,
        cognito_quota,
        stack_prefix,
        artifacts_bucket,
        tags,
        applications,
    })
}

/// Names, region and account the application checks need; `None` where the value itself was
/// invalid or, for the account, not set.
pub(super) struct NamingContext<'a> {
    pub stack_prefix: Option<&'a str>,
    pub environment: Option<&'a str>,
    pub region: Option<&'a Located<String>>,
    pub account_id: Option<&'a str>,
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
    event_stream: Option<EventStreamMode>,
    cognito_updates_per_second: Option<u32>,
    cognito_quota_percent: Option<u32>,
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
            event_stream: self
                .event_stream
                .or_else(|| defaults.event_stream.clone())
                .unwrap_or(builtin.event_stream),
            cognito_updates_per_second: self
                .cognito_updates_per_second
                .or(defaults.cognito_updates_per_second)
                .unwrap_or(builtin.cognito_updates_per_second),
            cognito_quota_percent: self
                .cognito_quota_percent
                .or(defaults.cognito_quota_percent)
                .unwrap_or(builtin.cognito_quota_percent),
        }
    }
}

fn check_settings(
    checker: &mut Checker,
    raw: RawSettings,
    context: &NamingContext,
) -> PartialSettings {
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
        event_stream: raw
            .event_stream
            .and_then(|value| check_event_stream(checker, value, context)),
        cognito_updates_per_second: raw
            .cognito_updates_per_second
            .and_then(|value| checker.number_in(&value, "cognito_updates_per_second", 1..=25, 1)),
        cognito_quota_percent: raw
            .cognito_quota_percent
            .and_then(|value| checker.number_in(&value, "cognito_quota_percent", 1..=100, 20)),
    }
}

fn check_applications(
    checker: &mut Checker,
    list: Located<Vec<Located<RawApplication>>>,
    defaults: &PartialSettings,
    context: &NamingContext,
    cognito_quota: u32,
) -> Vec<Application> {
    if list.value.is_empty() {
        checker.report(
            &list.referenced,
            "applications: the list is empty; add at least one application with name, pinpoint_app_id and user_pool_id",
        );
        return Vec::new();
    }

    let list_location = list.referenced;
    let mut names_seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut app_ids_seen: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut applications = Vec::new();
    for entry in list.value {
        let location = entry.referenced;
        let mut raw = entry.value;
        let settings = check_settings(checker, raw.take_settings(), context).merge(defaults);
        if let Err(message) = crate::quota::concurrency(
            settings.cognito_updates_per_second,
            settings.cognito_quota_percent,
            cognito_quota,
        ) {
            checker.report(&location, message);
        }

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

    let percent: u32 = applications
        .iter()
        .map(|application| application.settings.cognito_quota_percent)
        .sum();
    if percent > 100 {
        checker.report(
            &list_location,
            format!(
                "applications: their cognito_quota_percent values add up to {percent}, but they share one account's Cognito quota; lower them to 100 in total, for example `defaults: {{cognito_quota_percent: {}}}` for {} applications",
                (100 / applications.len()).max(1),
                applications.len()
            ),
        );
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
