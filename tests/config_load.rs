//! Loading valid environment files: values, defaults merging and YAML typing.

use std::path::Path;

use pinpoint_attribution::artifacts::Architecture;
use pinpoint_attribution::config::{self, CampaignValue, Environment, EventStreamMode, Settings};

fn parse(yaml: &str) -> Environment {
    config::parse(Path::new("environments/test.yaml"), yaml)
        .unwrap_or_else(|error| panic!("{error}"))
}

fn workspace_file(relative: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

const MINIMAL: &str = "\
environment: dev
region: eu-west-1
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
";

#[test]
fn minimal_file_gets_builtin_defaults() {
    let environment = parse(MINIMAL);

    assert_eq!(environment.name, "dev");
    assert_eq!(environment.region, "eu-west-1");
    assert_eq!(environment.account_id, None);
    assert!(!environment.protected);
    assert_eq!(environment.cognito_quota, 25);
    assert_eq!(environment.stack_prefix, "pinpoint-attribution");
    assert_eq!(environment.artifacts_bucket, None);
    assert!(environment.tags.is_empty());
    assert_eq!(environment.source, Path::new("environments/test.yaml"));
    assert_eq!(environment.applications.len(), 1);

    let shop = &environment.applications[0];
    assert_eq!(shop.name, "shop");
    assert_eq!(shop.pinpoint_app_id, "0123456789abcdef0123456789abcdef");
    assert_eq!(shop.user_pool_id, "eu-west-1_AbCdEf123");
    assert_eq!(shop.settings, Settings::default());
    assert_eq!(
        environment.stack_name(shop),
        "pinpoint-attribution-dev-shop"
    );
}

#[test]
fn builtin_defaults_match_the_reference() {
    let settings = Settings::default();

    assert_eq!(settings.lookback_days, 7);
    assert_eq!(settings.interaction_events, ["_email.click", "_email.open"]);
    assert_eq!(settings.username_attribute, "username");
    assert_eq!(settings.campaign_attribute, "campaign");
    assert_eq!(settings.campaign_value, CampaignValue::JourneyName);
    assert_eq!(settings.architecture, Architecture::Arm64);
    assert_eq!(settings.memory_mb, 256);
    assert_eq!(settings.timeout_seconds, 60);
    assert_eq!(settings.log_retention_days, 30);
    assert_eq!(settings.batch_size, 100);
    assert_eq!(settings.maximum_retry_attempts, 5);
}

#[test]
fn application_value_beats_defaults_beats_builtin() {
    let environment = parse(
        "\
environment: dev
region: eu-west-1
defaults:
  lookback_days: 10
  memory_mb: 512
  campaign_value: journey_id
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
    lookback_days: 14
  - name: news
    pinpoint_app_id: fedcba9876543210fedcba9876543210
    user_pool_id: eu-west-1_ZyXwVu987
    campaign_value: journey_name
",
    );
    let shop = &environment.applications[0].settings;
    let news = &environment.applications[1].settings;

    assert_eq!(shop.lookback_days, 14, "application value wins");
    assert_eq!(news.lookback_days, 10, "defaults value applies");
    assert_eq!(shop.memory_mb, 512);
    assert_eq!(news.memory_mb, 512);
    assert_eq!(shop.campaign_value, CampaignValue::JourneyId);
    assert_eq!(news.campaign_value, CampaignValue::JourneyName);
    assert_eq!(shop.timeout_seconds, 60, "built-in default applies");
    assert_eq!(news.batch_size, 100);
}

#[test]
fn every_setting_is_read() {
    let environment = parse(
        "\
environment: prod-eu
region: eu-central-1
account_id: \"210987654321\"
protected: true
stack_prefix: Attribution
artifacts_bucket: my.artifacts-bucket
tags:
  cost-center: marketing
  owner: growth@example.com
applications:
  - name: shop2
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-central-1_AbCdEf123
    lookback_days: 365
    interaction_events: [_email.click, _SMS.SUCCESS, purchase]
    username_attribute: cognito_username
    campaign_attribute: last_journey
    campaign_value: journey_id
    architecture: x86_64
    memory_mb: 10240
    timeout_seconds: 900
    log_retention_days: 3653
    batch_size: 10000
    maximum_retry_attempts: 0
    event_stream:
      mode: existing
      stream_arn: arn:aws:kinesis:eu-central-1:210987654321:stream/app-events
    cognito_updates_per_second: 3
    cognito_quota_percent: 100
",
    );

    assert_eq!(environment.account_id.as_deref(), Some("210987654321"));
    assert!(environment.protected);
    assert_eq!(environment.stack_prefix, "Attribution");
    assert_eq!(
        environment.artifacts_bucket.as_deref(),
        Some("my.artifacts-bucket")
    );
    assert_eq!(environment.tags["owner"], "growth@example.com");
    let settings = &environment.applications[0].settings;
    assert_eq!(
        settings,
        &Settings {
            lookback_days: 365,
            interaction_events: vec![
                "_email.click".to_owned(),
                "_SMS.SUCCESS".to_owned(),
                "purchase".to_owned()
            ],
            username_attribute: "cognito_username".to_owned(),
            campaign_attribute: "last_journey".to_owned(),
            campaign_value: CampaignValue::JourneyId,
            architecture: Architecture::X86_64,
            memory_mb: 10240,
            timeout_seconds: 900,
            log_retention_days: 3653,
            batch_size: 10000,
            maximum_retry_attempts: 0,
            event_stream: EventStreamMode::Existing {
                stream_arn: "arn:aws:kinesis:eu-central-1:210987654321:stream/app-events"
                    .to_owned()
            },
            cognito_updates_per_second: 3,
            cognito_quota_percent: 100,
        }
    );
}

#[test]
fn unquoted_account_id_keeps_leading_zero() {
    let yaml = MINIMAL.replace(
        "region: eu-west-1\n",
        "region: eu-west-1\naccount_id: 012345678901\n",
    );

    let environment = parse(&yaml);

    assert_eq!(environment.account_id.as_deref(), Some("012345678901"));
}

#[test]
fn environment_no_is_the_string_no() {
    let yaml = MINIMAL.replace("environment: dev", "environment: no");

    let environment = parse(&yaml);

    assert_eq!(environment.name, "no");
    assert_eq!(
        environment.stack_name(&environment.applications[0]),
        "pinpoint-attribution-no-shop"
    );
}

#[test]
fn empty_value_means_default() {
    let yaml = format!("{MINIMAL}    lookback_days:\n    architecture: ~\n");

    let environment = parse(&yaml);

    assert_eq!(environment.applications[0].settings, Settings::default());
}

#[test]
fn anchors_and_aliases_resolve() {
    let environment = parse(
        "\
environment: dev
region: &region eu-west-1
defaults:
  lookback_days: &days 21
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
    batch_size: *days
",
    );

    assert_eq!(environment.applications[0].settings.batch_size, 21);
    assert_eq!(environment.applications[0].settings.lookback_days, 21);
}

#[test]
fn longest_allowed_names_load() {
    // The expiration function name `<stack>-expiration` is the tightest limit (64), so the
    // stack name may have 53 characters: 20 + 1 + 3 + 1 + 28.
    let name = "a".repeat(28);
    let yaml = MINIMAL.replace("name: shop", &format!("name: {name}"));

    let environment = parse(&yaml);

    let stack = environment.stack_name(&environment.applications[0]);
    assert_eq!(stack.len(), 53);
    assert_eq!(format!("{stack}-expiration").len(), 64);
}

#[test]
fn example_file_loads() {
    let environment = config::load(&workspace_file("environments/example.yaml"))
        .unwrap_or_else(|error| panic!("{error}"));

    assert_eq!(environment.name, "staging");
    assert_eq!(environment.account_id.as_deref(), Some("012345678901"));
    assert_eq!(environment.applications.len(), 2);
    assert_eq!(environment.applications[0].settings, Settings::default());
    let newsletter = environment
        .application("newsletter")
        .expect("newsletter application");
    assert_eq!(newsletter.settings.lookback_days, 3);
    assert_eq!(newsletter.settings.campaign_value, CampaignValue::JourneyId);
}

#[test]
fn local_file_targets_the_emulator() {
    let environment = config::load(&workspace_file("environments/local.yaml"))
        .unwrap_or_else(|error| panic!("{error}"));

    assert_eq!(environment.name, "local");
    assert_eq!(environment.region, "eu-west-1");
    assert_eq!(environment.account_id.as_deref(), Some("123456789012"));
    let names: Vec<&str> = environment
        .applications
        .iter()
        .map(|app| app.name.as_str())
        .collect();
    assert_eq!(names, ["shop", "newsletter"]);
    let lookbacks: Vec<u32> = environment
        .applications
        .iter()
        .map(|app| app.settings.lookback_days)
        .collect();
    assert_eq!(lookbacks, [14, 3]);
    for application in &environment.applications {
        assert_eq!(application.settings.architecture, Architecture::X86_64);
    }
}

#[test]
fn event_stream_modes_are_read_and_merged() {
    let yaml = "\
environment: dev
region: eu-west-1
account_id: \"123456789012\"
defaults:
  event_stream: {replace_existing: true}
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
  - name: news
    pinpoint_app_id: fedcba9876543210fedcba9876543210
    user_pool_id: eu-west-1_AbCdEf123
    event_stream:
      mode: existing
      stream_arn: arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events
  - name: blog
    pinpoint_app_id: 00000000000000000000000000000000
    user_pool_id: eu-west-1_AbCdEf123
    event_stream: {mode: create}
";

    let environment = parse(yaml);

    assert_eq!(
        environment.applications[0].settings.event_stream,
        EventStreamMode::Create {
            replace_existing: true
        }
    );
    assert_eq!(
        environment.applications[1].settings.event_stream,
        EventStreamMode::Existing {
            stream_arn: "arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events".to_owned()
        }
    );
    assert_eq!(
        environment.applications[2].settings.event_stream,
        EventStreamMode::Create {
            replace_existing: false
        },
        "an application's event_stream replaces the one of defaults as a whole"
    );
}

#[test]
fn event_stream_defaults_to_create_without_replacing() {
    assert_eq!(
        parse(MINIMAL).applications[0].settings.event_stream,
        EventStreamMode::Create {
            replace_existing: false
        }
    );
}

#[test]
fn raised_cognito_quota_admits_fifty_applications() {
    let mut yaml = String::from(
        "environment: fleet\nregion: eu-west-1\ncognito_quota: 100\ndefaults:\n  cognito_quota_percent: 2\napplications:\n",
    );
    for index in 0..50 {
        yaml.push_str(&format!(
            "  - name: app-{index:02}\n    pinpoint_app_id: {index:032x}\n    user_pool_id: eu-west-1_AbCdEf123\n"
        ));
    }

    let environment = parse(&yaml);

    assert_eq!(environment.cognito_quota, 100);
    assert_eq!(environment.applications.len(), 50);
    assert!(
        environment
            .applications
            .iter()
            .all(|application| application.settings.cognito_quota_percent == 2)
    );
}
