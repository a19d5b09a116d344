//! Invalid environment files: each error names the file, line, column, the value and the fix.

use std::path::Path;

use pinpoint_attribution::config::{self, ConfigError, Problem};

const FILE: &str = "environments/dev.yaml";

/// Loads `yaml` expecting failure; returns the printed error.
fn error_of(yaml: &str) -> String {
    match config::parse(Path::new(FILE), yaml) {
        Ok(environment) => panic!("expected an error, loaded {environment:?}"),
        Err(error) => error.to_string(),
    }
}

/// Loads `yaml` expecting failure; returns the problems found.
fn problems_of(yaml: &str) -> Vec<Problem> {
    match config::parse(Path::new(FILE), yaml) {
        Ok(environment) => panic!("expected an error, loaded {environment:?}"),
        Err(error) => error.problems().to_vec(),
    }
}

/// Builds a valid file with one application and appends `application_lines` to it.
fn with_application_lines(application_lines: &str) -> String {
    format!(
        "\
environment: dev
region: eu-west-1
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
{application_lines}"
    )
}

#[test]
fn quoted_lookback_is_rejected_with_position() {
    let yaml = with_application_lines("    lookback_days: \"7\"\n");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:7:20: lookback_days: expected an integer from 1 to 365, found the string \"7\"; write it without quotes"
    );
}

#[test]
fn single_quoted_number_is_rejected() {
    let yaml = with_application_lines("    memory_mb: '512'\n");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:7:16: memory_mb: expected an integer from 128 to 10240, found the string \"512\"; write it without quotes"
    );
}

#[test]
fn duplicate_key_in_application_names_both_lines() {
    let yaml = with_application_lines("    lookback_days: 7\n    lookback_days: 14\n");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:8:5: duplicate key `lookback_days`: this mapping already sets it on line 7; keep one of the two"
    );
}

#[test]
fn duplicate_top_level_key_is_rejected() {
    let yaml = "environment: dev\nregion: eu-west-1\nenvironment: prod\napplications: []\n";

    assert_eq!(
        error_of(yaml),
        "environments/dev.yaml:3:1: duplicate key `environment`: this mapping already sets it on line 1; keep one of the two"
    );
}

#[test]
fn unquoted_short_account_id_asks_for_all_digits() {
    let yaml = with_application_lines("").replace(
        "region: eu-west-1\n",
        "region: eu-west-1\naccount_id: 12345678901\n",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:3:13: account_id: expected 12 digits, found \"12345678901\"; AWS account ids have exactly 12 digits, leading zeros included; write the whole id in quotes, like \"012345678901\""
    );
}

#[test]
fn unknown_top_level_key_suggests_the_close_one() {
    let yaml = with_application_lines("").replace("region:", "regoin:");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:2:1: unknown key `regoin`; did you mean `region`? (allowed keys: environment, region, account_id, protected, cognito_quota, stack_prefix, artifacts_bucket, tags, defaults, applications)"
    );
}

#[test]
fn unknown_key_in_application_lists_allowed_keys() {
    let yaml = with_application_lines("    lookback: 14\n");

    let message = error_of(&yaml);

    assert!(
        message.starts_with("environments/dev.yaml:7:5: unknown key `lookback`"),
        "{message}"
    );
    assert!(
        message.contains(
            "(allowed keys: name, pinpoint_app_id, user_pool_id, lookback_days, interaction_events,"
        ),
        "{message}"
    );
}

#[test]
fn unrelated_unknown_key_has_no_suggestion() {
    let yaml = with_application_lines("    colour: blue\n");

    let message = error_of(&yaml);

    assert!(!message.contains("did you mean"), "{message}");
    assert!(
        message.starts_with("environments/dev.yaml:7:5: unknown key `colour` (allowed keys: name,"),
        "{message}"
    );
}

#[test]
fn setting_at_top_level_points_to_defaults() {
    let yaml = with_application_lines("")
        .replace("region: eu-west-1\n", "region: eu-west-1\nmemory_mb: 512\n");

    let message = error_of(&yaml);

    assert!(
        message.starts_with("environments/dev.yaml:3:1: unknown key `memory_mb`; application settings go under `defaults:` (for every application) or under one application"),
        "{message}"
    );
}

#[test]
fn application_key_under_defaults_is_rejected() {
    let yaml = with_application_lines("").replace(
        "applications:",
        "defaults:\n  user_pool_id: eu-west-1_AbCdEf123\napplications:",
    );

    let message = error_of(&yaml);

    assert!(
        message.starts_with("environments/dev.yaml:4:3: unknown key `user_pool_id`; set it on each application under `applications:`, not under `defaults:`"),
        "{message}"
    );
}

#[test]
fn bad_pinpoint_app_ids_are_rejected() {
    let cases = [
        (
            "ABCDEF0123456789abcdef0123456789",
            "pinpoint_app_id: expected 32 lower-case hexadecimal characters, found \"ABCDEF0123456789abcdef0123456789\" (32 characters); write it in lower case: \"abcdef0123456789abcdef0123456789\"",
        ),
        (
            "0123456789abcdef",
            "pinpoint_app_id: expected 32 lower-case hexadecimal characters, found \"0123456789abcdef\" (16 characters); copy the Project ID from the Pinpoint console or `aws pinpoint get-apps`",
        ),
        (
            "0123456789abcdef0123456789abcdeg",
            "pinpoint_app_id: expected 32 lower-case hexadecimal characters, found \"0123456789abcdef0123456789abcdeg\" (32 characters); copy the Project ID from the Pinpoint console or `aws pinpoint get-apps`",
        ),
    ];

    for (app_id, expected) in cases {
        let yaml = with_application_lines("").replace("0123456789abcdef0123456789abcdef", app_id);
        assert_eq!(
            error_of(&yaml),
            format!("environments/dev.yaml:5:22: {expected}"),
            "app id {app_id}"
        );
    }
}

#[test]
fn bad_user_pool_ids_are_rejected() {
    for pool_id in [
        "AbCdEf123",
        "eu-west-1-AbCdEf123",
        "eu-west-1_",
        "eu-west-1_Ab-Cd",
        "europe_AbCdEf123",
    ] {
        let yaml = with_application_lines("").replace("eu-west-1_AbCdEf123", pool_id);
        assert_eq!(
            error_of(&yaml),
            format!(
                "environments/dev.yaml:6:19: user_pool_id: expected a Cognito user pool id like eu-west-1_AbCdEf123 (region, underscore, letters and digits), found {pool_id:?}"
            ),
            "pool id {pool_id}"
        );
    }
}

#[test]
fn user_pool_in_other_region_is_rejected() {
    let yaml = with_application_lines("").replace("eu-west-1_AbCdEf123", "us-east-1_AbCdEf123");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:6:19: user_pool_id: the pool \"us-east-1_AbCdEf123\" is in us-east-1, but the environment's region (line 2) is eu-west-1; use a pool in eu-west-1 or deploy this application from an environment file for us-east-1"
    );
}

#[test]
fn duplicate_application_names_point_at_the_second() {
    let yaml = with_application_lines(
        "  - name: shop\n    pinpoint_app_id: fedcba9876543210fedcba9876543210\n    user_pool_id: eu-west-1_AbCdEf123\n",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:7:11: name: the application name \"shop\" is already used by the application on line 4; application names must be unique"
    );
}

#[test]
fn shared_pinpoint_app_id_is_rejected() {
    let yaml = with_application_lines(
        "  - name: news\n    pinpoint_app_id: 0123456789abcdef0123456789abcdef\n    user_pool_id: eu-west-1_AbCdEf123\n",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:8:22: pinpoint_app_id: \"0123456789abcdef0123456789abcdef\" is already used by application \"shop\" on line 5; a Pinpoint application has a single event stream, so only one application may use it"
    );
}

#[test]
fn too_long_application_name_names_the_limit() {
    let name = "a".repeat(29);
    let yaml = with_application_lines("").replace("name: shop", &format!("name: {name}"));

    assert_eq!(
        error_of(&yaml),
        format!(
            "environments/dev.yaml:4:11: name: the stack name \"pinpoint-attribution-dev-{name}\" makes the Lambda function name \"pinpoint-attribution-dev-{name}-expiration\" 65 characters long, over the limit of 64; shorten the application name, the environment name or stack_prefix by 1 characters"
        )
    );
}

#[test]
fn very_long_prefix_overflows_the_stack_name() {
    let prefix = format!("p{}", "x".repeat(125));
    let yaml = with_application_lines("").replace(
        "region: eu-west-1\n",
        &format!("region: eu-west-1\nstack_prefix: {prefix}\n"),
    );

    let message = error_of(&yaml);

    assert!(
        message.starts_with("environments/dev.yaml:5:11: name: the stack name"),
        "{message}"
    );
    assert!(message.contains("Lambda function name"), "{message}");
}

#[test]
fn invalid_names_are_rejected() {
    let cases = [
        (
            "environment: Dev",
            "environments/dev.yaml:1:14: environment: expected lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen, found \"Dev\"; write it as \"dev\"",
        ),
        (
            "environment: my_env",
            "environments/dev.yaml:1:14: environment: expected lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen, found \"my_env\"; use a name like \"dev\"",
        ),
        (
            "environment: dev-",
            "environments/dev.yaml:1:14: environment: expected lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen, found \"dev-\"; use a name like \"dev\"",
        ),
    ];

    for (line, expected) in cases {
        let yaml = with_application_lines("").replace("environment: dev", line);
        assert_eq!(error_of(&yaml), expected, "line {line}");
    }
}

#[test]
fn number_errors_say_what_was_found() {
    let cases = [
        (
            "lookback_days: 0",
            "lookback_days: expected an integer from 1 to 365, found 0; use a value from 1 to 365",
        ),
        (
            "lookback_days: 400",
            "lookback_days: expected an integer from 1 to 365, found 400; use a value from 1 to 365",
        ),
        (
            "lookback_days: -3",
            "lookback_days: expected an integer from 1 to 365, found -3; use a value from 1 to 365",
        ),
        (
            "lookback_days: 07",
            "lookback_days: expected an integer from 1 to 365, found 07; write it without the leading zero",
        ),
        (
            "lookback_days: 7.5",
            "lookback_days: expected an integer from 1 to 365, found 7.5; write a whole number, like 7",
        ),
        (
            "lookback_days: 0x1F",
            "lookback_days: expected an integer from 1 to 365, found 0x1F; write it as a plain decimal number, like 7",
        ),
        (
            "lookback_days: seven",
            "lookback_days: expected an integer from 1 to 365, found seven; write a number, like 7",
        ),
        (
            "lookback_days: \"a week\"",
            "lookback_days: expected an integer from 1 to 365, found the string \"a week\"; write a number, like 7",
        ),
        (
            "lookback_days: true",
            "lookback_days: expected an integer from 1 to 365, found a boolean; write a number, like 7",
        ),
        (
            "lookback_days: [7]",
            "lookback_days: expected an integer from 1 to 365, found a list; write a number, like 7",
        ),
        (
            "timeout_seconds: 901",
            "timeout_seconds: expected an integer from 1 to 900, found 901; use a value from 1 to 900",
        ),
        (
            "batch_size: 10001",
            "batch_size: expected an integer from 1 to 10000, found 10001; use a value from 1 to 10000",
        ),
        (
            "maximum_retry_attempts: -1",
            "maximum_retry_attempts: expected an integer from 0 to 10000, found -1; use a value from 0 to 10000",
        ),
        (
            "memory_mb: 64",
            "memory_mb: expected an integer from 128 to 10240, found 64; use a value from 128 to 10240",
        ),
    ];

    for (line, expected) in cases {
        let yaml = with_application_lines(&format!("    {line}\n"));
        let problems = problems_of(&yaml);
        assert_eq!(problems.len(), 1, "{line}: {problems:?}");
        assert_eq!(problems[0].message, expected, "{line}");
        assert_eq!(problems[0].line, 7, "{line}");
    }
}

#[test]
fn log_retention_must_be_accepted_by_cloudwatch() {
    let yaml = with_application_lines("    log_retention_days: 10\n");

    let problems = problems_of(&yaml);

    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].message,
        "log_retention_days: expected a retention period CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), found 10; the nearest accepted value is 7"
    );
}

#[test]
fn yaml_11_booleans_are_rejected_for_protected() {
    for (value, found) in [
        ("yes", "yes"),
        ("on", "on"),
        ("\"true\"", "the string \"true\""),
        ("1", "1"),
    ] {
        let yaml = with_application_lines("").replace(
            "region: eu-west-1\n",
            &format!("region: eu-west-1\nprotected: {value}\n"),
        );
        assert_eq!(
            error_of(&yaml),
            format!(
                "environments/dev.yaml:3:12: protected: expected true or false, found {found}; write true or false without quotes (yes, no, on and off are not booleans here)"
            ),
            "protected: {value}"
        );
    }
}

#[test]
fn choices_suggest_the_right_word() {
    let cases = [
        (
            "campaign_value: journey-name",
            "campaign_value: expected journey_name or journey_id, found \"journey-name\"; did you mean journey_name?",
        ),
        (
            "campaign_value: name",
            "campaign_value: expected journey_name or journey_id, found \"name\"",
        ),
        (
            "architecture: aarch64",
            "architecture: expected arm64 or x86_64, found \"aarch64\"; Lambda calls this architecture arm64",
        ),
        (
            "architecture: amd64",
            "architecture: expected arm64 or x86_64, found \"amd64\"; Lambda calls this architecture x86_64",
        ),
        (
            "architecture: ARM64",
            "architecture: expected arm64 or x86_64, found \"ARM64\"; did you mean arm64?",
        ),
    ];

    for (line, expected) in cases {
        let problems = problems_of(&with_application_lines(&format!("    {line}\n")));
        assert_eq!(problems.len(), 1, "{line}: {problems:?}");
        assert_eq!(problems[0].message, expected, "{line}");
    }
}

#[test]
fn attribute_names_are_checked() {
    let cases = [
        (
            "campaign_attribute: custom:campaign",
            "campaign_attribute: write the name without the `custom:` prefix, which Cognito adds: \"campaign\"",
        ),
        (
            "campaign_attribute: a_very_long_campaign_name",
            "campaign_attribute: expected a Cognito custom attribute name of 1 to 20 letters, digits or punctuation other than `:`, found \"a_very_long_campaign_name\" (25 characters)",
        ),
        (
            "campaign_attribute: \"\"",
            "campaign_attribute: expected a Cognito custom attribute name of 1 to 20 letters, digits or punctuation other than `:`, found \"\" (0 characters)",
        ),
        (
            "username_attribute: user name",
            "username_attribute: expected a Pinpoint endpoint user attribute name of 1 to 50 characters without spaces or any of # : ? \\ /, found \"user name\"",
        ),
    ];

    for (line, expected) in cases {
        let problems = problems_of(&with_application_lines(&format!("    {line}\n")));
        assert_eq!(problems.len(), 1, "{line}: {problems:?}");
        assert_eq!(problems[0].message, expected, "{line}");
    }
}

#[test]
fn interaction_events_must_be_distinct_and_present() {
    let empty = problems_of(&with_application_lines("    interaction_events: []\n"));
    assert_eq!(
        empty[0].message,
        "interaction_events: the list is empty; list at least one Pinpoint event type, like [_email.click, _email.open]"
    );

    let duplicate = problems_of(&with_application_lines(
        "    interaction_events:\n      - _email.click\n      - _email.open\n      - _email.click\n",
    ));
    assert_eq!(duplicate.len(), 1);
    assert_eq!((duplicate[0].line, duplicate[0].column), (10, 9));
    assert_eq!(
        duplicate[0].message,
        "interaction_events: \"_email.click\" is already listed on line 8; list each event type once"
    );

    let comma = problems_of(&with_application_lines(
        "    interaction_events: [\"_email.click,_email.open\"]\n",
    ));
    assert_eq!(
        comma[0].message,
        "interaction_events: expected a Pinpoint event type like _email.click, found \"_email.click,_email.open\"; event types have no spaces or commas"
    );

    let scalar = error_of(&with_application_lines(
        "    interaction_events: _email.click\n",
    ));
    assert_eq!(
        scalar,
        "environments/dev.yaml:7:25: interaction_events: expected a list; write it as `[a, b]` or as one `- item` line per entry"
    );
}

#[test]
fn tags_are_checked() {
    let cases = [
        (
            "aws:team: x",
            4,
            3,
            "tags: the tag key \"aws:team\" starts with `aws:`, which AWS reserves for its own tags; choose another key",
        ),
        (
            "AWS:team: x",
            4,
            3,
            "tags: the tag key \"AWS:team\" starts with `aws:`, which AWS reserves for its own tags; choose another key",
        ),
        (
            "\"pinpoint-attribution:environment\": x",
            4,
            3,
            "tags: the tag key \"pinpoint-attribution:environment\" starts with `pinpoint-attribution:`, which the deployer reserves for the tags it sets; choose another key",
        ),
        (
            "team: R&D <growth> \"team\"",
            4,
            9,
            "tags: the value of tag \"team\" \"R&D <growth> \\\"team\\\"\" contains '&', '<', '>', '\"', but IAM and DynamoDB, which receive the stack's tags, accept only letters, digits, spaces and _ . : / = + - @ in tags; remove or replace those characters",
        ),
    ];

    for (line, row, column, expected) in cases {
        let yaml = with_application_lines("").replace(
            "region: eu-west-1\n",
            &format!("region: eu-west-1\ntags:\n  {line}\n"),
        );
        let problems = problems_of(&yaml);
        assert_eq!(problems.len(), 1, "{line}: {problems:?}");
        assert_eq!(problems[0].message, expected, "{line}");
        assert_eq!(
            (problems[0].line, problems[0].column),
            (row, column),
            "{line}"
        );
    }

    let long_value = format!("team: {}", "v".repeat(257));
    let yaml = with_application_lines("").replace(
        "region: eu-west-1\n",
        &format!("region: eu-west-1\ntags:\n  {long_value}\n"),
    );
    assert_eq!(
        problems_of(&yaml)[0].message,
        "tags: the value of tag \"team\" has 257 characters; use at most 256"
    );
}

#[test]
fn tag_without_value_is_reported() {
    let yaml = with_application_lines("")
        .replace("region: eu-west-1\n", "region: eu-west-1\ntags:\n  team:\n");

    let message = error_of(&yaml);

    assert!(message.starts_with("environments/dev.yaml:4:"), "{message}");
}

#[test]
fn bad_bucket_and_region_are_rejected() {
    let bucket = with_application_lines("").replace(
        "region: eu-west-1\n",
        "region: eu-west-1\nartifacts_bucket: My_Bucket\n",
    );
    assert_eq!(
        error_of(&bucket),
        "environments/dev.yaml:3:19: artifacts_bucket: \"My_Bucket\" is not a valid S3 bucket name: use only lower-case letters, digits, dots and hyphens"
    );

    let region = with_application_lines("").replace("region: eu-west-1", "region: ireland");
    let problems = problems_of(&region);
    assert_eq!(
        problems[0].message,
        "region: expected an AWS region code like eu-west-1, found \"ireland\""
    );
}

#[test]
fn missing_and_empty_keys_are_reported() {
    let missing = problems_of(
        "environment: dev\napplications:\n  - name: shop\n    user_pool_id: eu-west-1_AbCdEf123\n",
    );
    let messages: Vec<&str> = missing
        .iter()
        .map(|problem| problem.message.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "missing key `region` in this mapping; add `region: eu-west-1`",
            "missing key `pinpoint_app_id` in this mapping; add `pinpoint_app_id: 0123456789abcdef0123456789abcdef`",
        ]
    );
    assert_eq!(
        (missing[1].line, missing[1].column),
        (3, 5),
        "points at the application"
    );

    let empty = error_of("environment: dev\nregion: eu-west-1\napplications: []\n");
    assert_eq!(
        empty,
        "environments/dev.yaml:3:15: applications: the list is empty; add at least one application with name, pinpoint_app_id and user_pool_id"
    );
}

#[test]
fn list_where_a_string_belongs_is_reported() {
    let yaml = with_application_lines("").replace("region: eu-west-1", "region: [eu-west-1]");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:2:9: region: expected a single value, found a list or a mapping; write one value"
    );
}

#[test]
fn yaml_syntax_error_has_position() {
    let message = error_of("environment: dev\nregion: \"eu-west-1\napplications: []\n");

    assert!(
        message.starts_with("environments/dev.yaml:2:9: region: invalid YAML: "),
        "{message}"
    );
    assert!(
        message.ends_with("; check the indentation and quoting near this position"),
        "{message}"
    );
}

#[test]
fn several_problems_are_reported_in_file_order() {
    let yaml = with_application_lines("    lookback_days: \"7\"\n    memory_mb: 1\n")
        .replace("environment: dev", "environment: Dev");

    let error = config::parse(Path::new(FILE), &yaml).expect_err("invalid file");

    let lines: Vec<u64> = error
        .problems()
        .iter()
        .map(|problem| problem.line)
        .collect();
    assert_eq!(lines, [1, 7, 8]);
    let printed = error.to_string();
    assert_eq!(printed.lines().count(), 3, "{printed}");
    for line in printed.lines() {
        assert!(line.starts_with("environments/dev.yaml:"), "{line}");
    }
}

#[test]
fn errors_in_defaults_point_at_defaults() {
    let yaml = with_application_lines("").replace(
        "applications:",
        "defaults:\n  lookback_days: 0\napplications:",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:4:18: lookback_days: expected an integer from 1 to 365, found 0; use a value from 1 to 365"
    );
}

#[test]
fn unreadable_file_names_the_path() {
    let path = Path::new("environments/does-not-exist.yaml");

    let error = config::load(path).expect_err("missing file");

    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(
        error
            .to_string()
            .starts_with("failed to read environment file environments/does-not-exist.yaml: "),
        "{error}"
    );
}

#[test]
fn tab_indentation_is_invalid_yaml() {
    let message = error_of("environment: dev\nregion: eu-west-1\napplications:\n\t- name: shop\n");

    assert!(message.starts_with("environments/dev.yaml:"), "{message}");
    assert!(message.contains("invalid YAML: "), "{message}");
}

#[test]
fn multiple_documents_are_rejected() {
    let yaml = format!("{}---\nenvironment: other\n", with_application_lines(""));

    let message = error_of(&yaml);

    assert!(
        message.ends_with("the file contains more than one YAML document; keep a single document (remove the `---` line)"),
        "{message}"
    );
}

#[test]
fn event_stream_existing_needs_stream_arn() {
    let yaml = with_application_lines("    event_stream:\n      mode: existing\n");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:8:7: missing key `stream_arn` in this mapping; add `stream_arn: arn:aws:kinesis:eu-west-1:123456789012:stream/pinpoint-events`"
    );
}

#[test]
fn event_stream_unknown_mode_suggests_one() {
    let yaml = with_application_lines("    event_stream: {mode: exisitng}\n");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:7:26: event_stream.mode: expected create or existing, found \"exisitng\"; did you mean existing?"
    );
}

#[test]
fn event_stream_firehose_arn_is_rejected() {
    let yaml = with_application_lines(
        "    event_stream:\n      mode: existing\n      stream_arn: arn:aws:firehose:eu-west-1:123456789012:deliverystream/analytics\n",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:9:19: event_stream.stream_arn: expected a Kinesis data stream ARN like arn:aws:kinesis:eu-west-1:123456789012:stream/pinpoint-events, found \"arn:aws:firehose:eu-west-1:123456789012:deliverystream/analytics\"; that is a Firehose delivery stream, which Lambda cannot read; give the Kinesis data stream that receives the application's events"
    );
}

#[test]
fn event_stream_arn_shapes_are_checked() {
    let cases = [
        ("arn:aws:kinesis:eu-west-1:123456789012", "six parts"),
        (
            "arn:aws:sqs:eu-west-1:123456789012:stream/events",
            "the service part is \"sqs\"",
        ),
        (
            "arn:aws:kinesis:europe:123456789012:stream/events",
            "not a region code",
        ),
        (
            "arn:aws:kinesis:eu-west-1:1234:stream/events",
            "not a 12-digit account id",
        ),
        (
            "arn:aws:kinesis:eu-west-1:123456789012:table/events",
            "stream/NAME",
        ),
        (
            "arn:aws:kinesis:eu-west-1:123456789012:stream/events/consumer/app:1",
            "ending in stream/events",
        ),
        (
            "arn:aws:kinesis:eu-west-1:123456789012:stream/bad name",
            "must be 1 to 128",
        ),
        (
            "aws:kinesis:eu-west-1:123456789012:stream/events:x",
            "starts with arn:aws:",
        ),
    ];
    for (arn, hint) in cases {
        let yaml = with_application_lines(&format!(
            "    event_stream: {{mode: existing, stream_arn: \"{arn}\"}}\n"
        ));

        let message = error_of(&yaml);

        assert!(
            message.starts_with("environments/dev.yaml:7:"),
            "{arn}: {message}"
        );
        assert!(message.contains(hint), "{arn}: {message}");
    }
}

#[test]
fn event_stream_arn_in_other_region_is_rejected() {
    let yaml = with_application_lines(
        "    event_stream: {mode: existing, stream_arn: \"arn:aws:kinesis:us-east-1:123456789012:stream/events\"}\n",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:7:48: event_stream.stream_arn: the stream is in us-east-1, but the environment's region (line 2) is eu-west-1; Lambda reads Kinesis streams of its own region only, so use a stream in eu-west-1"
    );
}

#[test]
fn event_stream_arn_of_other_account_is_rejected() {
    let yaml = "\
environment: dev
region: eu-west-1
account_id: \"123456789012\"
defaults:
  event_stream:
    mode: existing
    stream_arn: arn:aws:kinesis:eu-west-1:210987654321:stream/events
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
";

    assert_eq!(
        error_of(yaml),
        "environments/dev.yaml:7:17: event_stream.stream_arn: the stream belongs to account 210987654321, but the environment's account_id is 123456789012; the deployer grants the tagging function access to streams of its own account only, so use a stream of account 123456789012"
    );
}

#[test]
fn event_stream_keys_of_other_mode() {
    let arn_in_create = with_application_lines(
        "    event_stream:\n      stream_arn: arn:aws:kinesis:eu-west-1:123456789012:stream/events\n",
    );
    let replace_in_existing = with_application_lines(
        "    event_stream:\n      mode: existing\n      replace_existing: true\n      stream_arn: arn:aws:kinesis:eu-west-1:123456789012:stream/events\n",
    );

    assert_eq!(
        error_of(&arn_in_create),
        "environments/dev.yaml:8:19: event_stream.stream_arn: a stream ARN is only read with `mode: existing`; remove it, or add `mode: existing` to read that stream"
    );
    assert_eq!(
        error_of(&replace_in_existing),
        "environments/dev.yaml:9:25: event_stream.replace_existing: only read with `mode: create`, because `mode: existing` never changes the application's event stream; remove it"
    );
}

#[test]
fn event_stream_replace_existing_must_be_boolean() {
    let yaml = with_application_lines("    event_stream: {replace_existing: yes}\n");

    let message = error_of(&yaml);

    assert!(
        message.starts_with("environments/dev.yaml:7:38: event_stream.replace_existing: expected true or false, found yes"),
        "{message}"
    );
}

#[test]
fn event_stream_unknown_key_is_rejected() {
    let yaml = with_application_lines("    event_stream: {mode: create, stream: x}\n");

    let message = error_of(&yaml);

    assert!(message.starts_with("environments/dev.yaml:7:"), "{message}");
    assert!(message.contains("stream"), "{message}");
}

#[test]
fn cognito_share_too_small_for_two_instances_is_rejected() {
    let yaml = with_application_lines(
        "    cognito_updates_per_second: 5\n    cognito_quota_percent: 20\n",
    );

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:4:5: cognito_quota_percent: 20% of Cognito's 25 user updates per second (cognito_quota) is 5.00, but one tagging and one expiration instance at cognito_updates_per_second 5 need 10; raise cognito_quota_percent, lower cognito_updates_per_second, or raise cognito_quota once AWS has raised the account's quota"
    );
}

#[test]
fn cognito_rate_out_of_range_is_rejected() {
    let yaml = with_application_lines("    cognito_updates_per_second: 30\n");

    assert_eq!(
        error_of(&yaml),
        "environments/dev.yaml:7:33: cognito_updates_per_second: expected an integer from 1 to 25, found 30; use a value from 1 to 25"
    );
}

#[test]
fn cognito_shares_over_the_whole_quota_are_rejected() {
    let yaml = "\
environment: dev
region: eu-west-1
defaults:
  cognito_quota_percent: 60
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
  - name: news
    pinpoint_app_id: 1123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
";

    assert_eq!(
        error_of(yaml),
        "environments/dev.yaml:6:3: applications: their cognito_quota_percent values add up to 120, but they share one account's Cognito quota; lower them to 100 in total, for example `defaults: {cognito_quota_percent: 50}` for 2 applications"
    );
}

#[test]
fn cognito_quota_out_of_range_is_rejected() {
    let yaml = "\
environment: dev
region: eu-west-1
cognito_quota: 0
applications:
  - name: shop
    pinpoint_app_id: 0123456789abcdef0123456789abcdef
    user_pool_id: eu-west-1_AbCdEf123
";

    let message = error_of(yaml);

    assert!(message.starts_with("environments/dev.yaml:3:"), "{message}");
    assert!(message.contains("cognito_quota"), "{message}");
    assert!(message.contains("1 to 100000"), "{message}");
}
