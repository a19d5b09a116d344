//! The packaged `bootstrap` binaries of both functions, run as Lambda runs them.
//!
//! The testkit's Runtime API hands each binary its events on 127.0.0.1. The functions get the
//! environment variables of the template that `render` writes for an application seeded in the
//! emulator, and talk to the emulator's DynamoDB and Cognito. The events are built from what the
//! emulator's Kinesis stream and DynamoDB stream return. Pinpoint's `GetEndpoint` and
//! `GetJourney`, which moto lacks, come from the testkit's Pinpoint server (see
//! `testkit::pinpoint_api`).
//!
//! The zips come from `PINPOINT_ATTRIBUTION_TEST_ARTIFACTS`, which `scripts/test` fills. Without
//! them the tests are skipped with a printed reason, unless
//! `PINPOINT_ATTRIBUTION_PACKAGE_TESTS=required` (set by `scripts/test`) makes that a failure.

mod support;

use std::path::Path;
use std::time::Duration;

use aws_lambda_events::encodings::{Base64Data, SecondTimestamp};
use aws_lambda_events::event::dynamodb::{Event as DynamoDbEvent, EventRecord};
use aws_lambda_events::event::kinesis::{KinesisEvent, KinesisEventRecord, KinesisRecord};
use aws_sdk_cognitoidentityprovider::types::{AttributeDataType, SchemaAttributeType};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use aws_sdk_dynamodbstreams::types::{AttributeValue as StreamValue, ShardIteratorType};
use aws_sdk_kinesis::primitives::Blob;
use pinpoint_attribution::artifacts::{Architecture, ArtifactSet, Function};
use pinpoint_attribution::{config, render};
use serde_json::{Map, Value, json};
use testkit::pinpoint_api::PinpointApi;
use testkit::runtime_api::{FunctionSpec, Invocation, LambdaProcess, extract_bootstrap};
use testkit::{ACCOUNT_ID, Emulator, REGION};

const JOURNEY_SPRING: &str = "0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a";
const JOURNEY_NAME: &str = "Spring reactivation";
const CAMPAIGN: &str = "custom:campaign";

/// How long a binary may take from start to its first `next` request.
const STARTUP_LIMIT: Duration = Duration::from_secs(30);

fn required() -> bool {
    std::env::var("PINPOINT_ATTRIBUTION_PACKAGE_TESTS").is_ok_and(|value| value == "required")
}

/// Loads the packaged zips, or returns `None` (after saying why) when they are missing and the
/// run does not require them.
fn artifacts_or_skip() -> Option<ArtifactSet> {
    let loaded = match std::env::var_os("PINPOINT_ATTRIBUTION_TEST_ARTIFACTS") {
        Some(dir) => ArtifactSet::load(Path::new(&dir)).map_err(|error| error.to_string()),
        None => Err("PINPOINT_ATTRIBUTION_TEST_ARTIFACTS is not set".to_owned()),
    };
    match loaded {
        Ok(artifacts) => Some(artifacts),
        Err(reason) if !required() => {
            eprintln!(
                "SKIPPED: {reason}; run scripts/test, which packages the functions (set PINPOINT_ATTRIBUTION_PACKAGE_TESTS=required to fail instead)"
            );
            None
        }
        Err(reason) => panic!("{reason}; run the tests through scripts/test"),
    }
}

/// An application seeded in the emulator, its rendered template and SDK clients.
struct Harness {
    emulator: Emulator,
    artifacts: ArtifactSet,
    app_id: String,
    pool_id: String,
    template: Value,
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    kinesis: aws_sdk_kinesis::Client,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    work_dir: tempfile::TempDir,
}

impl Harness {
    /// Seeds a Pinpoint application and a user pool with the campaign attribute and `users`,
    /// renders the application's template, and creates its stream and table as it declares
    /// them.
    ///
    /// The stack itself is not deployed: moto would "invoke" the functions on every stream
    /// write through their event source mappings and then empty the DynamoDB stream.
    async fn start(artifacts: ArtifactSet, users: &[&str]) -> Harness {
        let emulator = Emulator::start();
        let sdk = emulator.sdk_config();
        let app = support::seed_application(&sdk, "shop", 14).await;

        let harness = Harness {
            artifacts,
            app_id: app.app_id,
            pool_id: app.pool_id,
            template: Value::Null,
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            streams: aws_sdk_dynamodbstreams::Client::new(&sdk),
            kinesis: aws_sdk_kinesis::Client::new(&sdk),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&sdk),
            work_dir: tempfile::tempdir().expect("temporary directory"),
            emulator,
        };
        let template = harness.render();
        let harness = Harness {
            template,
            ..harness
        };

        harness.create_users(users).await;
        harness.create_stream().await;
        harness.create_table().await;
        harness
    }

    fn render(&self) -> Value {
        let yaml = format!(
            "environment: harness\nregion: {REGION}\naccount_id: \"{ACCOUNT_ID}\"\ndefaults:\n  architecture: x86_64\napplications:\n  - name: shop\n    pinpoint_app_id: \"{}\"\n    user_pool_id: \"{}\"\n    lookback_days: 14\n",
            self.app_id, self.pool_id
        );
        let environment = config::parse(Path::new("harness.yaml"), &yaml)
            .unwrap_or_else(|error| panic!("{error}"));
        let rendered =
            render::render_application(&environment, &environment.applications[0], &self.artifacts)
                .expect("render the application");
        serde_saphyr::from_str(&rendered.template).expect("rendered template is YAML")
    }

    fn properties(&self, logical_id: &str) -> &Value {
        let properties = &self.template["Resources"][logical_id]["Properties"];
        assert!(properties.is_object(), "template has no {logical_id}");
        properties
    }

    fn stream_name(&self) -> String {
        text(&self.properties("EventStream")["Name"])
    }

    fn table_name(&self) -> String {
        text(&self.properties("AttributionTable")["TableName"])
    }

    /// The function's variables as the template sets them; every value must be plain text,
    /// since a variable that CloudFormation resolves would not be known here.
    fn function_environment(&self, logical_id: &str) -> Vec<(String, String)> {
        let variables = self.properties(logical_id)["Environment"]["Variables"]
            .as_object()
            .unwrap_or_else(|| panic!("{logical_id} has no environment variables"));
        variables
            .iter()
            .map(|(name, value)| (name.clone(), text(value)))
            .collect()
    }

    fn function_name(&self, logical_id: &str) -> String {
        text(&self.properties(logical_id)["FunctionName"])
    }

    /// Starts a function's packaged binary with its template environment, pointed at the
    /// emulator, and Pinpoint's reads pointed at `pinpoint`.
    async fn start_function(
        &self,
        function: Function,
        logical_id: &str,
        pinpoint: &PinpointApi,
    ) -> LambdaProcess {
        let artifact = self
            .artifacts
            .get(function, Architecture::X86_64)
            .expect("x86_64 zip in the manifest");
        self.artifacts
            .verify(artifact)
            .expect("zip matches manifest");

        let dir = self.work_dir.path().join(logical_id);
        std::fs::create_dir_all(&dir).expect("create the function directory");
        let bootstrap = extract_bootstrap(&self.artifacts.path_of(artifact), &dir);

        let mut environment = self.function_environment(logical_id);
        environment.extend(
            self.emulator
                .process_env()
                .into_iter()
                .map(|(name, value)| (name.to_owned(), value)),
        );
        environment.push(("AWS_ENDPOINT_URL_PINPOINT".into(), pinpoint.endpoint_url()));
        environment.push(("AWS_LAMBDA_LOG_LEVEL".into(), "debug".into()));

        LambdaProcess::start(&FunctionSpec {
            bootstrap,
            function_name: self.function_name(logical_id),
            environment,
        })
        .await
    }

    async fn create_users(&self, users: &[&str]) {
        self.cognito
            .add_custom_attributes()
            .user_pool_id(&self.pool_id)
            .custom_attributes(
                SchemaAttributeType::builder()
                    .name("campaign")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(true)
                    .build(),
            )
            .send()
            .await
            .expect("add the campaign attribute");
        for user in users {
            self.cognito
                .admin_create_user()
                .user_pool_id(&self.pool_id)
                .username(*user)
                .send()
                .await
                .expect("create user");
        }
    }

    async fn create_stream(&self) {
        self.kinesis
            .create_stream()
            .stream_name(self.stream_name())
            .shard_count(1)
            .send()
            .await
            .expect("create the event stream");
    }

    /// Creates the table with the key and stream view type that the template declares.
    async fn create_table(&self) {
        let table = self.properties("AttributionTable");
        let key = text(&table["KeySchema"][0]["AttributeName"]);
        let view = text(&table["StreamSpecification"]["StreamViewType"]);
        self.dynamodb
            .create_table()
            .table_name(self.table_name())
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&key)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(&key)
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(view.as_str()))
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .expect("create the attribution table");
    }

    /// Endpoint export lines for `users`: endpoint `endpoint-<user>` carries the username.
    fn endpoint_export(&self, users: &[&str]) -> String {
        users
            .iter()
            .map(|user| {
                json!({
                    "Id": format!("endpoint-{user}"),
                    "ApplicationId": self.app_id,
                    "ChannelType": "EMAIL",
                    "Address": format!("{user}@example.com"),
                    "User": {"UserId": user, "UserAttributes": {"username": [user]}},
                })
                .to_string()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Writes `payloads` to the event stream as Pinpoint does, one `PutRecord` each, keyed by
    /// endpoint.
    async fn put_events(&self, payloads: &[(String, Vec<u8>)]) {
        for (partition_key, payload) in payloads {
            self.kinesis
                .put_record()
                .stream_name(self.stream_name())
                .partition_key(partition_key)
                .data(Blob::new(payload.clone()))
                .send()
                .await
                .expect("put a record");
        }
    }

    /// Reads every record of the event stream back and builds the event that Lambda's
    /// Kinesis event source mapping delivers.
    async fn kinesis_event(&self) -> Value {
        let stream = self
            .kinesis
            .describe_stream()
            .stream_name(self.stream_name())
            .send()
            .await
            .expect("describe the event stream");
        let description = stream.stream_description().expect("stream description");
        let stream_arn = description.stream_arn().to_owned();

        let mut event = KinesisEvent::default();
        for shard in description.shards() {
            let iterator = self
                .kinesis
                .get_shard_iterator()
                .stream_name(self.stream_name())
                .shard_id(shard.shard_id())
                .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("get a shard iterator");
            let records = self
                .kinesis
                .get_records()
                .shard_iterator(iterator.shard_iterator().expect("shard iterator"))
                .send()
                .await
                .expect("get records");
            for record in records.records() {
                event
                    .records
                    .push(kinesis_record(record, shard.shard_id(), &stream_arn));
            }
        }
        serde_json::to_value(&event).expect("Kinesis event as JSON")
    }

    /// Reads every record of the table's stream back, in the shape Lambda delivers them.
    async fn table_stream_records(&self) -> Vec<Value> {
        let streams = self
            .streams
            .list_streams()
            .table_name(self.table_name())
            .send()
            .await
            .expect("list the table's streams");
        let stream_arn = streams
            .streams()
            .first()
            .and_then(|stream| stream.stream_arn())
            .expect("the table has a stream")
            .to_owned();
        let description = self
            .streams
            .describe_stream()
            .stream_arn(&stream_arn)
            .send()
            .await
            .expect("describe the table's stream");

        let mut records = Vec::new();
        let shards = description
            .stream_description()
            .map(|stream| stream.shards())
            .unwrap_or_default();
        for shard in shards {
            let iterator = self
                .streams
                .get_shard_iterator()
                .stream_arn(&stream_arn)
                .shard_id(shard.shard_id().expect("shard id"))
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .expect("get a table stream iterator");
            let output = self
                .streams
                .get_records()
                .shard_iterator(iterator.shard_iterator().expect("shard iterator"))
                .send()
                .await
                .expect("get table stream records");
            records.extend(
                output
                    .records()
                    .iter()
                    .map(|record| table_stream_record(record, &stream_arn)),
            );
        }
        records
    }

    async fn attribute(&self, user: &str) -> Option<String> {
        let output = self
            .cognito
            .admin_get_user()
            .user_pool_id(&self.pool_id)
            .username(user)
            .send()
            .await
            .expect("get user");
        output
            .user_attributes()
            .iter()
            .find(|attribute| attribute.name() == CAMPAIGN)
            .and_then(|attribute| attribute.value())
            .map(str::to_owned)
    }

    async fn item(&self, user: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
        self.dynamodb
            .get_item()
            .table_name(self.table_name())
            .key("username", AttributeValue::S(user.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("get item")
            .item
    }

    async fn delete_item(&self, user: &str) {
        self.dynamodb
            .delete_item()
            .table_name(self.table_name())
            .key("username", AttributeValue::S(user.to_owned()))
            .send()
            .await
            .expect("delete item");
    }
}

fn text(value: &Value) -> String {
    value
        .as_str()
        .unwrap_or_else(|| panic!("expected plain text in the template, found {value}"))
        .to_owned()
}

/// Builds a record of Lambda's Kinesis event from a record that `GetRecords` returned.
fn kinesis_record(
    record: &aws_sdk_kinesis::types::Record,
    shard_id: &str,
    stream_arn: &str,
) -> KinesisEventRecord {
    let arrival = record
        .approximate_arrival_timestamp()
        .map_or(0.0, |time| time.as_secs_f64());

    let mut kinesis = KinesisRecord::default();
    kinesis.approximate_arrival_timestamp =
        serde_json::from_value::<SecondTimestamp>(json!(arrival)).expect("arrival time");
    kinesis.data = Base64Data::default();
    kinesis.data.extend_from_slice(record.data().as_ref());
    kinesis.partition_key = record.partition_key().to_owned();
    kinesis.sequence_number = record.sequence_number().to_owned();
    kinesis.kinesis_schema_version = Some("1.0".to_owned());

    let mut event_record = KinesisEventRecord::default();
    event_record.kinesis = kinesis;
    event_record.aws_region = Some(REGION.to_owned());
    event_record.event_id = Some(format!("{shard_id}:{}", record.sequence_number()));
    event_record.event_name = Some("aws:kinesis:record".to_owned());
    event_record.event_source = Some("aws:kinesis".to_owned());
    event_record.event_source_arn = Some(stream_arn.to_owned());
    event_record.event_version = Some("1.0".to_owned());
    event_record.invoke_identity_arn = Some(format!("arn:aws:iam::{ACCOUNT_ID}:role/tagging"));
    event_record
}

/// Builds a record of Lambda's DynamoDB stream event from a record that the DynamoDB Streams
/// `GetRecords` returned, checked against `aws_lambda_events`' record type.
fn table_stream_record(record: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let change = record.dynamodb().expect("stream record has a change");
    let mut dynamodb = Map::new();
    dynamodb.insert(
        "ApproximateCreationDateTime".into(),
        json!(
            change
                .approximate_creation_date_time()
                .map_or(0, |time| time.secs())
        ),
    );
    for (name, image) in [
        ("Keys", change.keys()),
        ("NewImage", change.new_image()),
        ("OldImage", change.old_image()),
    ] {
        if let Some(image) = image {
            dynamodb.insert(name.into(), image_json(image));
        }
    }
    dynamodb.insert("SequenceNumber".into(), json!(change.sequence_number()));
    dynamodb.insert("SizeBytes".into(), json!(change.size_bytes()));
    dynamodb.insert(
        "StreamViewType".into(),
        json!(change.stream_view_type().map(|view| view.as_str())),
    );

    let mut value = json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|name| name.as_str()),
        "eventVersion": record.event_version(),
        "eventSource": record.event_source(),
        "awsRegion": record.aws_region(),
        "eventSourceARN": stream_arn,
        "dynamodb": dynamodb,
    });
    if let Some(identity) = record.user_identity() {
        value["userIdentity"] = json!({
            "type": identity.r#type(),
            "principalId": identity.principal_id(),
        });
    }

    let typed: EventRecord = serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("not a Lambda DynamoDB stream record: {error}\n{value}"));
    serde_json::to_value(typed).expect("stream record as JSON")
}

fn image_json(image: &std::collections::HashMap<String, StreamValue>) -> Value {
    let members: Map<String, Value> = image
        .iter()
        .map(|(name, value)| {
            let typed = match value {
                StreamValue::S(text) => json!({"S": text}),
                StreamValue::N(number) => json!({"N": number}),
                StreamValue::Bool(flag) => json!({"BOOL": flag}),
                other => panic!("attribution items contain no {other:?}"),
            };
            (name.clone(), typed)
        })
        .collect();
    Value::Object(members)
}

/// Adds the `userIdentity` that DynamoDB's TTL process puts on its deletions.
///
/// moto never runs TTL deletions, and a `DeleteItem` deletion carries no `userIdentity` (as on
/// AWS). So the test deletes the item itself, reads the real REMOVE record back from the
/// stream and adds the identity that a TTL deletion has. Everything else in the record is
/// moto's.
fn as_ttl_deletion(mut record: Value) -> Value {
    assert_eq!(record["eventName"], "REMOVE", "{record}");
    assert!(
        record.get("userIdentity").is_none_or(Value::is_null),
        "{record}"
    );
    record["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    record
}

fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).expect("time fits in i64")
}

/// Builds a Pinpoint journey email event of `kind` (`open`, `click`, `send`) for `user`.
fn journey_email(app_id: &str, kind: &str, user: &str, at_ms: i64) -> (String, Vec<u8>) {
    let endpoint = format!("endpoint-{user}");
    let event = json!({
        "event_type": format!("_email.{kind}"),
        "event_timestamp": at_ms - 600_000,
        "arrival_timestamp": at_ms,
        "event_version": "3.1",
        "application": {"app_id": app_id, "sdk": {}},
        "client": {"client_id": endpoint},
        "device": {"platform": {}},
        "session": {},
        "attributes": {
            "journey_id": JOURNEY_SPRING,
            "journey_activity_id": "Qm4tRz8LpW",
            "journey_run_id": "a4b3c2d1e0f94e8d7c6b5a4938271605",
            "feedback": "https://example.com/spring"
        },
        "client_context": {"custom": {"legacy_identifier": app_id}},
        "awsAccountId": ACCOUNT_ID
    });
    (endpoint, event.to_string().into_bytes())
}

fn batch_item_failures(invocation: &Invocation) -> &Vec<Value> {
    match invocation {
        Invocation::Response(body) => body["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("response has no batchItemFailures list: {body}")),
        Invocation::Error { error_type, body } => {
            panic!("function error {error_type:?}: {body}")
        }
    }
}

#[tokio::test]
async fn binaries_attribute_and_expire_from_streams() {
    let Some(artifacts) = artifacts_or_skip() else {
        return;
    };
    let harness = Harness::start(artifacts, &["user-a", "user-b"]).await;
    let pinpoint = PinpointApi::start(
        &harness.endpoint_export(&["user-a", "user-b"]),
        &[(&harness.app_id, JOURNEY_SPRING, JOURNEY_NAME)],
    )
    .await;

    // Events as Pinpoint streams them: two interactions, a send (not an interaction) and a
    // record that is not JSON at all.
    let interacted_at = now_ms() - 3_600_000;
    let app_id = harness.app_id.clone();
    harness
        .put_events(&[
            journey_email(&app_id, "send", "user-a", interacted_at - 60_000),
            journey_email(&app_id, "open", "user-a", interacted_at),
            ("garbage".to_owned(), b"\x00\x01 not json".to_vec()),
            journey_email(&app_id, "click", "user-b", interacted_at + 1_000),
        ])
        .await;
    let kinesis_event = harness.kinesis_event().await;
    assert_eq!(kinesis_event["Records"].as_array().unwrap().len(), 4);

    let mut tagging = harness
        .start_function(Function::Tagging, "TaggingFunction", &pinpoint)
        .await;
    let startup = tagging.startup_time(STARTUP_LIMIT).await;
    println!(
        "tagging bootstrap: {} ms from process start to the first `next` request",
        startup.as_millis()
    );

    let invocation = tagging.invoke(&kinesis_event).await;

    assert!(
        batch_item_failures(&invocation).is_empty(),
        "{invocation:?}\n{}",
        tagging.output()
    );
    for user in ["user-a", "user-b"] {
        assert_eq!(
            harness.attribute(user).await.as_deref(),
            Some(JOURNEY_NAME),
            "{user}: {}",
            tagging.output()
        );
        let item = harness.item(user).await.expect("attribution item");
        assert_eq!(
            item.get("journey_id"),
            Some(&AttributeValue::S(JOURNEY_SPRING.to_owned())),
            "{user}"
        );
        assert!(
            matches!(item.get("expires_at"), Some(AttributeValue::N(_))),
            "{user}: {item:?}"
        );
    }
    let logs = json_log_records(&tagging.output(), &PRIVATE_TEXT);
    let counts = batch_counts(&logs, FIRST_REQUEST_ID);
    assert_eq!(counts["received"], 4, "{counts}");
    assert_eq!(counts["attributed"], 2, "{counts}");
    assert_eq!(counts["skipped"]["not_an_object"], 1, "{counts}");
    let looked_up = pinpoint.requests();
    assert!(
        looked_up
            .iter()
            .any(|path| path.ends_with("/endpoints/endpoint-user-a")),
        "{looked_up:?}"
    );

    // user-a's window ends: its item goes (a TTL deletion, built as described at
    // `as_ttl_deletion`); user-b's item is deleted by hand, which must not blank anything.
    harness.delete_item("user-a").await;
    harness.delete_item("user-b").await;
    let records = harness.table_stream_records().await;
    let removals: Vec<&Value> = records
        .iter()
        .filter(|record| record["eventName"] == "REMOVE")
        .collect();
    assert_eq!(removals.len(), 2, "{records:?}");
    let event_records: Vec<Value> = records
        .iter()
        .map(|record| {
            let user = &record["dynamodb"]["Keys"]["username"]["S"];
            if record["eventName"] == "REMOVE" && user == "user-a" {
                as_ttl_deletion(record.clone())
            } else {
                record.clone()
            }
        })
        .collect();
    let mut stream_event = DynamoDbEvent::default();
    stream_event.records = event_records
        .iter()
        .map(|record| serde_json::from_value(record.clone()).expect("stream record"))
        .collect();
    let stream_event = serde_json::to_value(&stream_event).expect("stream event as JSON");

    let mut expiration = harness
        .start_function(Function::Expiration, "ExpirationFunction", &pinpoint)
        .await;
    let startup = expiration.startup_time(STARTUP_LIMIT).await;
    println!(
        "expiration bootstrap: {} ms from process start to the first `next` request",
        startup.as_millis()
    );

    let invocation = expiration.invoke(&stream_event).await;

    assert!(
        batch_item_failures(&invocation).is_empty(),
        "{invocation:?}\n{}",
        expiration.output()
    );
    assert_eq!(
        harness.attribute("user-a").await.as_deref(),
        Some(""),
        "{}",
        expiration.output()
    );
    assert_eq!(
        harness.attribute("user-b").await.as_deref(),
        Some(JOURNEY_NAME),
        "a deletion through the API must keep the attribute"
    );
    let logs = json_log_records(&expiration.output(), &PRIVATE_TEXT);
    let counts = batch_counts(&logs, FIRST_REQUEST_ID);
    assert_eq!(counts["blanked"], 1, "{counts}");
}

/// Usernames, endpoint ids and addresses of the test users, none of which a log may contain.
const PRIVATE_TEXT: [&str; 3] = ["user-a", "user-b", "@example.com"];

/// Request id that the Runtime API harness gives a process's first invocation.
const FIRST_REQUEST_ID: &str = "00000000-0000-4000-8000-000000000001";

/// Parses each line of a function's output as a JSON log record, failing on a line that is
/// not JSON or that contains one of `private`.
fn json_log_records(output: &str, private: &[&str]) -> Vec<Value> {
    let mut records = Vec::new();
    for line in output.lines().filter(|line| !line.trim().is_empty()) {
        for text in private {
            assert!(!line.contains(text), "a log line contains {text}: {line}");
        }
        let record = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("a log line is not JSON ({error}): {line}"));
        records.push(record);
    }
    records
}

/// Returns the counts of the invocation's summary line, checking that the line carries the
/// invocation's request id.
fn batch_counts(records: &[Value], request_id: &str) -> Value {
    let summary = records
        .iter()
        .find(|record| record["message"] == "batch processed")
        .unwrap_or_else(|| panic!("no \"batch processed\" line in {records:#?}"));
    assert_eq!(summary["span"]["requestId"], request_id, "{summary}");
    let counts = summary["counts"].as_str().expect("counts as a JSON string");
    serde_json::from_str(counts).expect("counts are JSON")
}

#[tokio::test]
async fn tagging_binary_accepts_custom_channel_invocation() {
    let Some(artifacts) = artifacts_or_skip() else {
        return;
    };
    let harness = Harness::start(artifacts, &["user-c"]).await;
    // No endpoint in the Pinpoint server: the user must come from the invocation itself.
    let pinpoint = PinpointApi::start("", &[(&harness.app_id, JOURNEY_SPRING, JOURNEY_NAME)]).await;
    let scheduled = rfc3339(now_ms() - 60_000);
    let event = json!({
        "Message": {},
        "Data": "{\"template\":\"in_app_banner\"}",
        "ApplicationId": harness.app_id,
        "JourneyId": JOURNEY_SPRING,
        "ActivityId": "Ub3wYe6JqA",
        "ScheduledTime": scheduled,
        "Endpoints": {
            "custom-endpoint-c": {
                "ChannelType": "CUSTOM",
                "Address": "web-push-token-c",
                "EndpointStatus": "ACTIVE",
                "OptOut": "NONE",
                "User": {"UserId": "user-c", "UserAttributes": {"username": ["user-c"]}}
            }
        }
    });

    let mut tagging = harness
        .start_function(Function::Tagging, "TaggingFunction", &pinpoint)
        .await;
    let startup = tagging.startup_time(STARTUP_LIMIT).await;
    println!(
        "tagging bootstrap: {} ms from process start to the first `next` request",
        startup.as_millis()
    );

    let invocation = tagging.invoke(&event).await;

    assert_eq!(
        invocation,
        Invocation::Response(json!({
            "custom-endpoint-c": {"EventAttributes": {"attribution": "attributed"}}
        })),
        "{}",
        tagging.output()
    );
    assert_eq!(
        harness.attribute("user-c").await.as_deref(),
        Some(JOURNEY_NAME)
    );
    assert!(harness.item("user-c").await.is_some());
    assert!(
        pinpoint
            .requests()
            .iter()
            .all(|path| !path.contains("/endpoints/")),
        "{:?}",
        pinpoint.requests()
    );

    let unknown = tagging
        .invoke(&json!({"detail-type": "Scheduled Event"}))
        .await;

    assert!(matches!(&unknown, Invocation::Error { .. }), "{unknown:?}");
}

/// Formats epoch milliseconds as an RFC 3339 UTC time with milliseconds.
fn rfc3339(epoch_ms: i64) -> String {
    let time = aws_smithy_types::DateTime::from_millis(epoch_ms);
    time.fmt(aws_smithy_types::date_time::Format::DateTime)
        .expect("a time the format can write")
}
