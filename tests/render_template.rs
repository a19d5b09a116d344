//! The rendered template, parsed as YAML: the properties the emulator cannot show.

mod render_support;

use attribution_core::contract;
use pinpoint_attribution::render::{self, PhysicalNames, outputs};
use render_support::*;
use serde_json::{Value, json};

fn default_template() -> Value {
    parse(&render_yaml(&environment_yaml("", "")).template)
}

/// Collects every IAM policy statement in the template, with the logical id of its role.
fn statements(template: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    for (logical_id, resource) in template["Resources"].as_object().expect("resources") {
        if resource["Type"] != "AWS::IAM::Role" {
            continue;
        }
        for policy in resource["Properties"]["Policies"]
            .as_array()
            .expect("inline policies")
        {
            for statement in policy["PolicyDocument"]["Statement"]
                .as_array()
                .expect("statements")
            {
                found.push((logical_id.clone(), statement.clone()));
            }
        }
    }
    found
}

/// Actions of a statement, whether written as one string or a list.
fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(action) => vec![action.clone()],
        Value::Array(list) => list
            .iter()
            .map(|action| action.as_str().expect("action").to_owned())
            .collect(),
        other => panic!("unexpected Action {other}"),
    }
}

/// Finds the statement of `role` with the given Sid.
fn statement(template: &Value, role: &str, sid: &str) -> Value {
    statements(template)
        .into_iter()
        .find(|(logical_id, statement)| logical_id == role && statement["Sid"] == sid)
        .unwrap_or_else(|| panic!("{role} has no statement {sid}"))
        .1
}

#[test]
fn stream_is_encrypted_and_on_demand() {
    let template = default_template();
    let stream = properties(&template, "EventStream");

    assert_eq!(stream["Name"], "pinpoint-attribution-test-shop-events");
    assert_eq!(
        stream["StreamModeDetails"],
        json!({"StreamMode": "ON_DEMAND"})
    );
    assert_eq!(
        stream["StreamEncryption"],
        json!({"EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"})
    );
    assert_eq!(stream["RetentionPeriodHours"], 24);
}

#[test]
fn table_settings_match_contract() {
    let template = default_template();
    let table = properties(&template, "AttributionTable");

    assert_eq!(
        table["TableName"],
        "pinpoint-attribution-test-shop-attribution"
    );
    assert_eq!(table["BillingMode"], "PAY_PER_REQUEST");
    assert_eq!(
        table["KeySchema"],
        json!([{"AttributeName": contract::KEY_ATTRIBUTE, "KeyType": "HASH"}])
    );
    assert_eq!(
        table["AttributeDefinitions"],
        json!([{"AttributeName": contract::KEY_ATTRIBUTE, "AttributeType": "S"}])
    );
    assert_eq!(
        table["TimeToLiveSpecification"]["AttributeName"],
        contract::TTL_ATTRIBUTE
    );
    assert_eq!(table["TimeToLiveSpecification"]["Enabled"], true);
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "OLD_IMAGE");
    assert_eq!(
        table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"],
        true
    );
    assert_eq!(table["SSESpecification"]["SSEEnabled"], true);
}

#[test]
fn data_resources_are_retained_only_in_protected_environments() {
    let unprotected = default_template();
    let protected = parse(&render_yaml(&environment_yaml("protected: true\n", "")).template);

    for logical_id in ["AttributionTable", "EventStream"] {
        for policy in ["DeletionPolicy", "UpdateReplacePolicy"] {
            assert_eq!(
                unprotected["Resources"][logical_id][policy], "Delete",
                "{logical_id} {policy} without protection"
            );
            assert_eq!(
                protected["Resources"][logical_id][policy], "Retain",
                "{logical_id} {policy} in a protected environment"
            );
        }
    }
}

const EXISTING_STREAM: &str = "arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events";

fn existing_stream_template(extra_top: &str) -> Value {
    let extra_app = format!("event_stream:\n  mode: existing\n  stream_arn: {EXISTING_STREAM}\n");
    parse(&render_yaml(&environment_yaml(extra_top, &extra_app)).template)
}

#[test]
fn existing_mode_creates_no_stream() {
    let template = existing_stream_template("");
    let resources = template["Resources"].as_object().expect("resources");

    assert!(!resources.contains_key("EventStream"));
    assert!(!resources.contains_key("PinpointEventStreamRole"));
    assert!(
        resources
            .values()
            .all(|resource| resource["Type"] != "AWS::Kinesis::Stream"),
        "no Kinesis stream of any logical id"
    );
    let outputs = template["Outputs"].as_object().expect("outputs");
    assert!(!outputs.contains_key(outputs::STREAM_ARN));
    assert!(!outputs.contains_key(outputs::PINPOINT_ROLE_ARN));
    assert!(outputs.contains_key(outputs::TABLE_NAME));
}

#[test]
fn existing_mode_reads_given_stream() {
    let template = existing_stream_template("");

    assert_eq!(
        properties(&template, "TaggingEventSourceMapping")["EventSourceArn"],
        EXISTING_STREAM
    );
    let read = statement(&template, "TaggingRole", "ReadEventStream");
    assert_eq!(read["Resource"], EXISTING_STREAM);
    assert!(
        actions(&read).contains(&"kinesis:GetRecords".to_owned()),
        "{read}"
    );
    assert!(
        !template.to_string().contains("\"EventStream\""),
        "nothing refers to a stream of the stack"
    );
}

#[test]
fn existing_mode_protected_retains_table() {
    let template = existing_stream_template("protected: true\n");

    assert_eq!(
        template["Resources"]["AttributionTable"]["DeletionPolicy"],
        "Retain"
    );
    assert_eq!(
        template["Resources"]["AttributionTable"]["UpdateReplacePolicy"],
        "Retain"
    );
}

#[test]
fn failure_queue_is_encrypted_and_keeps_14_days() {
    let template = default_template();
    let queue = properties(&template, "FailureQueue");

    assert_eq!(
        queue["QueueName"],
        "pinpoint-attribution-test-shop-failures"
    );
    assert_eq!(queue["SqsManagedSseEnabled"], true);
    assert_eq!(queue["MessageRetentionPeriod"], 14 * 24 * 3600);
}

#[test]
fn kinesis_mapping_reports_failures_bisects_and_bounds_retries() {
    let stack = render_yaml(&environment_yaml(
        "",
        "batch_size: 250\nmaximum_retry_attempts: 3\n",
    ));
    let template = parse(&stack.template);
    let mapping = properties(&template, "TaggingEventSourceMapping");

    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["EventStream", "Arn"]})
    );
    assert_eq!(mapping["FunctionName"], json!({"Ref": "TaggingFunction"}));
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    assert_eq!(mapping["MaximumRetryAttempts"], 3);
    assert_eq!(mapping["BatchSize"], 250);
    assert_eq!(
        mapping["MaximumRecordAgeInSeconds"],
        render::MAXIMUM_RECORD_AGE_SECONDS
    );
    assert_eq!(mapping["StartingPosition"], "TRIM_HORIZON");
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["FailureQueue", "Arn"]})
    );
}

#[test]
fn dynamodb_mapping_admits_only_ttl_deletions() {
    let template = default_template();
    let mapping = properties(&template, "ExpirationEventSourceMapping");

    assert_eq!(
        mapping["EventSourceArn"],
        json!({"Fn::GetAtt": ["AttributionTable", "StreamArn"]})
    );
    let filters = mapping["FilterCriteria"]["Filters"]
        .as_array()
        .expect("filters");
    assert_eq!(filters.len(), 1);
    let pattern: Value =
        serde_json::from_str(filters[0]["Pattern"].as_str().expect("pattern string"))
            .expect("pattern is JSON");
    assert_eq!(
        pattern,
        json!({
            "eventName": ["REMOVE"],
            "userIdentity": {"type": ["Service"], "principalId": ["dynamodb.amazonaws.com"]}
        })
    );
    assert_eq!(
        mapping["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    assert_eq!(mapping["MaximumRetryAttempts"], 5);
    assert_eq!(
        mapping["DestinationConfig"]["OnFailure"]["Destination"],
        json!({"Fn::GetAtt": ["FailureQueue", "Arn"]})
    );
}

#[test]
fn functions_use_settings_artifacts_and_contract_variables() {
    let yaml = environment_yaml(
        "",
        "lookback_days: 21\ninteraction_events: [_email.click, _SMS.SUCCESS]\nusername_attribute: login\ncampaign_attribute: journey\ncampaign_value: journey_id\narchitecture: x86_64\nmemory_mb: 512\ntimeout_seconds: 120\n",
    );
    let environment = environment(&yaml);
    let (_dir, artifacts) = artifacts();
    let stack = render::render_application(&environment, &environment.applications[0], &artifacts)
        .expect("render");
    let template = parse(&stack.template);

    for (logical_id, function, name) in [
        (
            "TaggingFunction",
            pinpoint_attribution::artifacts::Function::Tagging,
            "pinpoint-attribution-test-shop-tagging",
        ),
        (
            "ExpirationFunction",
            pinpoint_attribution::artifacts::Function::Expiration,
            "pinpoint-attribution-test-shop-expiration",
        ),
    ] {
        let properties = properties(&template, logical_id);
        let artifact = artifacts
            .get(
                function,
                pinpoint_attribution::artifacts::Architecture::X86_64,
            )
            .expect("artifact");

        assert_eq!(properties["FunctionName"], name);
        assert_eq!(properties["Runtime"], "provided.al2023");
        assert_eq!(properties["Handler"], "bootstrap");
        assert_eq!(properties["Architectures"], json!(["x86_64"]));
        assert_eq!(properties["MemorySize"], 512);
        assert_eq!(properties["Timeout"], 120);
        assert_eq!(properties["Code"]["S3Key"], artifact.s3_key());
        assert_eq!(
            properties["Code"]["S3Bucket"],
            json!({"Fn::Sub": "pinpoint-attribution-artifacts-${AWS::AccountId}-${AWS::Region}"})
        );
        assert_eq!(
            properties["Environment"]["Variables"],
            json!({
                contract::env::TABLE_NAME: "pinpoint-attribution-test-shop-attribution",
                contract::env::USER_POOL_ID: "eu-west-1_AbCdEf123",
                contract::env::PINPOINT_APP_ID: "0123456789abcdef0123456789abcdef",
                contract::env::LOOKBACK_DAYS: "21",
                contract::env::INTERACTION_EVENTS: "_email.click,_SMS.SUCCESS",
                contract::env::USERNAME_ATTRIBUTE: "login",
                contract::env::CAMPAIGN_ATTRIBUTE: "journey",
                contract::env::CAMPAIGN_VALUE: "journey_id",
                contract::env::COGNITO_UPDATES_PER_SECOND: "1",
            })
        );
    }
}

#[test]
fn concurrency_keeps_cognito_updates_within_share() {
    let yaml = environment_yaml(
        "",
        "cognito_updates_per_second: 2\ncognito_quota_percent: 60\n",
    );
    let template = parse(&render_yaml(&yaml).template);

    // 60% of 25 updates per second is 15: at 2 per instance, 7 instances (6 + 1) fit.
    assert_eq!(
        properties(&template, "TaggingFunction")["ReservedConcurrentExecutions"],
        6
    );
    assert_eq!(
        properties(&template, "ExpirationFunction")["ReservedConcurrentExecutions"],
        1
    );
    assert_eq!(
        properties(&template, "TaggingEventSourceMapping")["ParallelizationFactor"],
        1
    );
    for function in ["TaggingFunction", "ExpirationFunction"] {
        assert_eq!(
            properties(&template, function)["Environment"]["Variables"]
                [contract::env::COGNITO_UPDATES_PER_SECOND],
            "2"
        );
    }
}

#[test]
fn default_concurrency_fits_default_share() {
    let template = default_template();

    assert_eq!(
        properties(&template, "TaggingFunction")["ReservedConcurrentExecutions"],
        4
    );
    assert_eq!(
        properties(&template, "ExpirationFunction")["ReservedConcurrentExecutions"],
        1
    );
}

#[test]
fn explicit_bucket_replaces_the_default() {
    let template =
        parse(&render_yaml(&environment_yaml("artifacts_bucket: team-artifacts\n", "")).template);

    assert_eq!(
        properties(&template, "TaggingFunction")["Code"]["S3Bucket"],
        "team-artifacts"
    );
    assert_eq!(
        properties(&template, "ExpirationFunction")["Code"]["S3Bucket"],
        "team-artifacts"
    );
}

#[test]
fn log_groups_have_retention_and_functions_log_there() {
    let template = parse(&render_yaml(&environment_yaml("", "log_retention_days: 14\n")).template);
    let names = PhysicalNames::for_stack("pinpoint-attribution-test-shop");

    for (group, function, name) in [
        (
            "TaggingLogGroup",
            "TaggingFunction",
            &names.tagging_log_group,
        ),
        (
            "ExpirationLogGroup",
            "ExpirationFunction",
            &names.expiration_log_group,
        ),
    ] {
        assert_eq!(properties(&template, group)["LogGroupName"], name.as_str());
        assert_eq!(properties(&template, group)["RetentionInDays"], 14);
        assert_eq!(
            properties(&template, function)["LoggingConfig"]["LogGroup"],
            json!({"Ref": group})
        );
    }
}

#[test]
fn no_iam_statement_uses_a_wildcard_action() {
    let template = default_template();
    let all = statements(&template);
    assert!(
        all.len() >= 10,
        "expected the roles' statements, found {}",
        all.len()
    );

    for (role, statement) in &all {
        assert_eq!(statement["Effect"], "Allow", "{role}: {statement}");
        for action in actions(statement) {
            assert!(
                !action.contains('*'),
                "{role} allows wildcard action {action}"
            );
        }
        let resource = statement["Resource"].to_string();
        assert_ne!(
            resource, "\"*\"",
            "{role} grants {statement} on every resource"
        );
    }
}

#[test]
fn tagging_role_grants_exactly_what_the_function_needs() {
    let template = default_template();
    let pool_arn = json!({"Fn::Sub": "arn:${AWS::Partition}:cognito-idp:${AWS::Region}:${AWS::AccountId}:userpool/eu-west-1_AbCdEf123"});
    let app_arn = "arn:${AWS::Partition}:mobiletargeting:${AWS::Region}:${AWS::AccountId}:apps/0123456789abcdef0123456789abcdef";

    let table = statement(&template, "TaggingRole", "StoreAttributions");
    assert_eq!(actions(&table), ["dynamodb:GetItem", "dynamodb:PutItem"]);
    assert_eq!(
        table["Resource"],
        json!({"Fn::GetAtt": ["AttributionTable", "Arn"]})
    );

    let cognito = statement(&template, "TaggingRole", "SetCampaignAttribute");
    assert_eq!(actions(&cognito), ["cognito-idp:AdminUpdateUserAttributes"]);
    assert_eq!(cognito["Resource"], pool_arn);

    let endpoints = statement(&template, "TaggingRole", "ReadEndpoints");
    assert_eq!(actions(&endpoints), ["mobiletargeting:GetEndpoint"]);
    assert_eq!(
        endpoints["Resource"],
        json!({"Fn::Sub": format!("{app_arn}/endpoints/*")})
    );

    let journeys = statement(&template, "TaggingRole", "ReadJourneys");
    assert_eq!(actions(&journeys), ["mobiletargeting:GetJourney"]);
    assert_eq!(
        journeys["Resource"],
        json!({"Fn::Sub": format!("{app_arn}/journeys/*")})
    );

    let stream = statement(&template, "TaggingRole", "ReadEventStream");
    assert_eq!(
        stream["Resource"],
        json!({"Fn::GetAtt": ["EventStream", "Arn"]})
    );
    assert!(
        actions(&stream)
            .iter()
            .all(|action| action.starts_with("kinesis:"))
    );

    let decrypt = statement(&template, "TaggingRole", "DecryptEventStream");
    assert_eq!(actions(&decrypt), ["kms:Decrypt"]);
    assert_eq!(
        decrypt["Condition"]["StringEquals"]["kms:ViaService"],
        json!({"Fn::Sub": "kinesis.${AWS::Region}.amazonaws.com"})
    );

    let queue = statement(&template, "TaggingRole", "ReportFailedRecords");
    assert_eq!(actions(&queue), ["sqs:SendMessage"]);
    assert_eq!(
        queue["Resource"],
        json!({"Fn::GetAtt": ["FailureQueue", "Arn"]})
    );

    let logs = statement(&template, "TaggingRole", "WriteLogs");
    assert_eq!(
        actions(&logs),
        ["logs:CreateLogStream", "logs:PutLogEvents"]
    );
    assert!(
        logs["Resource"]["Fn::Sub"]
            .as_str()
            .expect("log group ARN")
            .contains("log-group:${TaggingLogGroup}:*")
    );

    assert_eq!(
        statements(&template)
            .iter()
            .filter(|(role, _)| role == "TaggingRole")
            .count(),
        8
    );
}

#[test]
fn expiration_role_grants_exactly_what_the_function_needs() {
    let template = default_template();

    let stream = statement(&template, "ExpirationRole", "ReadTableStream");
    assert_eq!(
        actions(&stream),
        [
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator"
        ]
    );
    assert_eq!(
        stream["Resource"],
        json!({"Fn::GetAtt": ["AttributionTable", "StreamArn"]})
    );

    let table = statement(&template, "ExpirationRole", "ReadAttributions");
    assert_eq!(actions(&table), ["dynamodb:GetItem"]);

    let cognito = statement(&template, "ExpirationRole", "ClearCampaignAttribute");
    assert_eq!(actions(&cognito), ["cognito-idp:AdminUpdateUserAttributes"]);

    let queue = statement(&template, "ExpirationRole", "ReportFailedRecords");
    assert_eq!(actions(&queue), ["sqs:SendMessage"]);

    let logs = statement(&template, "ExpirationRole", "WriteLogs");
    assert!(
        logs["Resource"]["Fn::Sub"]
            .as_str()
            .expect("log group ARN")
            .contains("log-group:${ExpirationLogGroup}:*")
    );

    assert_eq!(
        statements(&template)
            .iter()
            .filter(|(role, _)| role == "ExpirationRole")
            .count(),
        5
    );
}

#[test]
fn pinpoint_role_trusts_only_this_application() {
    let template = default_template();
    let role = properties(&template, "PinpointEventStreamRole");
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];

    assert_eq!(
        trust["Principal"],
        json!({"Service": "pinpoint.amazonaws.com"})
    );
    assert_eq!(trust["Action"], "sts:AssumeRole");
    assert_eq!(
        trust["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!({"Ref": "AWS::AccountId"})
    );
    assert_eq!(
        trust["Condition"]["StringEquals"]["aws:SourceArn"],
        json!({"Fn::Sub": "arn:${AWS::Partition}:mobiletargeting:${AWS::Region}:${AWS::AccountId}:apps/0123456789abcdef0123456789abcdef"})
    );

    let put = statement(&template, "PinpointEventStreamRole", "PutEvents");
    assert_eq!(
        actions(&put),
        ["kinesis:PutRecords", "kinesis:DescribeStream"]
    );
    assert_eq!(
        put["Resource"],
        json!({"Fn::GetAtt": ["EventStream", "Arn"]})
    );

    let kms = statement(&template, "PinpointEventStreamRole", "EncryptEvents");
    assert_eq!(actions(&kms), ["kms:GenerateDataKey"]);
    assert_eq!(
        kms["Condition"]["StringEquals"]["kms:ViaService"],
        json!({"Fn::Sub": "kinesis.${AWS::Region}.amazonaws.com"})
    );
}

#[test]
fn roles_need_only_capability_iam() {
    let stack = render_yaml(&environment_yaml("", ""));
    let template = parse(&stack.template);

    for logical_id in ["PinpointEventStreamRole", "TaggingRole", "ExpirationRole"] {
        assert!(
            properties(&template, logical_id).get("RoleName").is_none(),
            "{logical_id}"
        );
        assert!(
            properties(&template, logical_id)
                .get("ManagedPolicyArns")
                .is_none(),
            "{logical_id}"
        );
    }
    assert_eq!(stack.capabilities, ["CAPABILITY_IAM"]);
}

#[test]
fn outputs_have_the_names_the_deployer_reads() {
    let template = default_template();
    let outputs_map = template["Outputs"].as_object().expect("outputs");

    let mut names: Vec<&str> = outputs_map.keys().map(String::as_str).collect();
    names.sort();
    let mut expected = vec![
        outputs::STREAM_ARN,
        outputs::PINPOINT_ROLE_ARN,
        outputs::TABLE_NAME,
        outputs::TAGGING_FUNCTION,
        outputs::EXPIRATION_FUNCTION,
        outputs::FAILURE_QUEUE_URL,
        outputs::TEMPLATE_HASH,
    ];
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(
        outputs_map[outputs::TABLE_NAME]["Value"],
        json!({"Ref": "AttributionTable"})
    );
    assert_eq!(
        outputs_map[outputs::FAILURE_QUEUE_URL]["Value"],
        json!({"Ref": "FailureQueue"})
    );
}

#[test]
fn stack_tags_add_the_managed_tags() {
    let stack = render_yaml(&environment_yaml("tags:\n  cost-center: marketing\n", ""));

    assert_eq!(stack.stack_name, "pinpoint-attribution-test-shop");
    assert_eq!(stack.application, "shop");
    assert!(stack.parameters.is_empty());
    assert_eq!(stack.tags.len(), 3);
    assert_eq!(stack.tags["cost-center"], "marketing");
    assert_eq!(stack.tags[render::ENVIRONMENT_TAG], "test");
    assert_eq!(stack.tags[render::APPLICATION_TAG], "shop");

    let template = parse(&stack.template);
    assert_eq!(
        properties(&template, "EventStream")["Tags"],
        json!([
            {"Key": "cost-center", "Value": "marketing"},
            {"Key": render::APPLICATION_TAG, "Value": "shop"},
            {"Key": render::ENVIRONMENT_TAG, "Value": "test"},
        ])
    );
}

#[test]
fn rendering_is_deterministic() {
    let yaml = environment_yaml("tags:\n  b: two\n  a: one\n", "");

    let first = render_yaml(&yaml);
    let second = render_yaml(&yaml);

    assert_eq!(first.template.as_bytes(), second.template.as_bytes());
    assert_eq!(first, second);
}

#[test]
fn missing_artifact_is_an_error() {
    let environment = environment(&environment_yaml("", ""));
    let (dir, _) = artifacts();
    let manifest = r#"{"artifacts": []}"#;
    std::fs::write(dir.path().join("manifest.json"), manifest).expect("write manifest");
    let empty = pinpoint_attribution::artifacts::ArtifactSet::load(dir.path()).expect("load");

    let error = render::render_application(&environment, &environment.applications[0], &empty)
        .expect_err("no artifacts");

    assert!(
        error
            .to_string()
            .contains("has no tagging artifact for arm64"),
        "{error}"
    );
}

#[test]
fn write_rendered_writes_template_and_settings() {
    let stack = render_yaml(&environment_yaml("tags:\n  team: growth\n", ""));
    let dir = tempfile::tempdir().expect("temporary directory");

    let written = render::write_rendered(&dir.path().join("out"), &stack).expect("write");

    let template_path = dir
        .path()
        .join("out/pinpoint-attribution-test-shop.template.yaml");
    let settings_path = dir.path().join("out/pinpoint-attribution-test-shop.json");
    assert_eq!(written, [template_path.clone(), settings_path.clone()]);
    assert_eq!(
        std::fs::read_to_string(template_path).expect("template"),
        stack.template
    );
    let settings: Value =
        serde_json::from_str(&std::fs::read_to_string(settings_path).expect("settings"))
            .expect("JSON");
    assert_eq!(
        settings,
        json!({
            "StackName": "pinpoint-attribution-test-shop",
            "Parameters": [],
            "Tags": [
                {"Key": render::APPLICATION_TAG, "Value": "shop"},
                {"Key": render::ENVIRONMENT_TAG, "Value": "test"},
                {"Key": "team", "Value": "growth"},
            ],
            "Capabilities": ["CAPABILITY_IAM"],
        })
    );
}

#[test]
fn default_bucket_name_matches_the_template_pattern() {
    assert_eq!(
        render::default_artifacts_bucket("123456789012", "eu-west-1"),
        "pinpoint-attribution-artifacts-123456789012-eu-west-1"
    );
}

#[test]
fn pinpoint_may_invoke_tagging_for_this_application() {
    let template = default_template();
    let source_arn = json!({"Fn::Sub": "arn:${AWS::Partition}:mobiletargeting:${AWS::Region}:${AWS::AccountId}:apps/0123456789abcdef0123456789abcdef/*"});
    let permissions: Vec<&Value> = template["Resources"]
        .as_object()
        .expect("resources")
        .values()
        .filter(|resource| resource["Type"] == "AWS::Lambda::Permission")
        .map(|resource| &resource["Properties"])
        .collect();

    let principals: Vec<&Value> = permissions
        .iter()
        .map(|permission| &permission["Principal"])
        .collect();
    assert_eq!(
        principals,
        [
            &json!("pinpoint.amazonaws.com"),
            &json!({"Fn::Sub": "pinpoint.${AWS::Region}.amazonaws.com"})
        ]
    );
    for permission in permissions {
        assert_eq!(permission["Action"], "lambda:InvokeFunction");
        assert_eq!(
            permission["FunctionName"],
            json!({"Fn::GetAtt": ["TaggingFunction", "Arn"]})
        );
        assert_eq!(permission["SourceArn"], source_arn);
        assert_eq!(
            permission["SourceAccount"],
            json!({"Ref": "AWS::AccountId"})
        );
    }
}

#[test]
fn template_hash_output_holds_the_rendered_hash() {
    let rendered = render_yaml(&environment_yaml("", ""));
    let template = parse(&rendered.template);

    assert_eq!(
        template["Outputs"][outputs::TEMPLATE_HASH]["Value"],
        rendered.template_hash,
        "the output carries the hash the deployer compares"
    );
    assert_eq!(rendered.template_hash.len(), 64, "hex SHA-256");
    assert!(
        rendered
            .template_hash
            .chars()
            .all(|c| c.is_ascii_hexdigit())
    );
}

#[test]
fn template_hash_follows_the_settings() {
    let short = render_yaml(&environment_yaml("", "lookback_days: 7\n"));
    let long = render_yaml(&environment_yaml("", "lookback_days: 21\n"));
    let again = render_yaml(&environment_yaml("", "lookback_days: 7\n"));

    assert_ne!(short.template_hash, long.template_hash);
    assert_eq!(short.template_hash, again.template_hash);
}

#[test]
fn template_hash_ignores_comments_layout_and_key_order() {
    let written = "A: 1\nB:\n  C: [x, y]\n  D: z\n";
    let reordered = "# a comment\nB: {D: z, C: [x, y]}\nA: 1\n";
    let changed = "A: 1\nB:\n  C: [y, x]\n  D: z\n";

    assert_eq!(
        render::template_hash(written),
        render::template_hash(reordered)
    );
    assert_ne!(
        render::template_hash(written),
        render::template_hash(changed)
    );
}
