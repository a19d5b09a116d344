//! AWS requests per Kinesis batch: the tagging function's batch path against handling each
//! event on its own.
//!
//! For batches of 100 and 1,000 records of the realistic mix (`core/benches/mix/mod.rs`, one
//! user per five records), against a moto server on 127.0.0.1:
//!
//! - batch path: `Tagging::handle` with the real DynamoDB and Cognito clients, run twice on
//!   the same batch (the second run is a redelivery, as after a retry);
//! - per event: for every interaction, an endpoint lookup, a journey lookup, a `GetItem`, an
//!   unconditional `PutItem` and an `AdminUpdateUserAttributes`, as a handler that treats each
//!   event independently does. It exists only here, for the comparison.
//!
//! DynamoDB and Cognito requests are counted at the emulator (moto's recorder). moto has no
//! Pinpoint endpoint or journey API, so `GetEndpoint` and `GetJourney` are counted at the
//! `Directory` trait, over an endpoint export. The production `PinpointDirectory` also caches
//! them across the batches of a warm instance, which this count does not include.
//!
//! Run with `cargo bench -p tagging --bench requests`; it prints Markdown tables.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use attribution_core::classify::classify;
use attribution_core::decode::decode_event;
use attribution_core::{
    Attribution, Candidate, Directory, EndpointExport, EndpointUser, ServiceError, TaggingSettings,
};
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_dynamodb::types::AttributeValue;
use tagging::Tagging;
use tagging::aws::to_sdk_item;
use testkit::Emulator;

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../../core/benches/mix/mod.rs"]
mod mix;

const BATCH_SIZES: [usize; 2] = [100, 1_000];
const RECORDS_PER_USER: usize = 5;

/// A directory that counts its lookups. Clones share the counters.
#[derive(Clone)]
struct CountingDirectory {
    inner: Arc<EndpointExport>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    endpoint_lookups: AtomicUsize,
    journey_lookups: AtomicUsize,
}

impl CountingDirectory {
    fn new(users: usize) -> CountingDirectory {
        let names: BTreeMap<&str, &str> = mix::JOURNEYS.into_iter().collect();
        CountingDirectory {
            inner: Arc::new(
                EndpointExport::from_json_lines(&mix::endpoint_export(users))
                    .expect("the generated export is valid")
                    .with_journey_names(names),
            ),
            counters: Arc::default(),
        }
    }

    fn take_counts(&self) -> (usize, usize) {
        (
            self.counters.endpoint_lookups.swap(0, Ordering::SeqCst),
            self.counters.journey_lookups.swap(0, Ordering::SeqCst),
        )
    }
}

impl Directory for CountingDirectory {
    async fn endpoint_user(
        &self,
        app_id: &str,
        endpoint_id: &str,
    ) -> Result<EndpointUser, ServiceError> {
        self.counters
            .endpoint_lookups
            .fetch_add(1, Ordering::SeqCst);
        self.inner.endpoint_user(app_id, endpoint_id).await
    }

    async fn journey_name(&self, app_id: &str, journey_id: &str) -> Result<String, ServiceError> {
        self.counters.journey_lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.journey_name(app_id, journey_id).await
    }
}

/// Requests of one run: at the emulator by action, and lookups at the directory.
struct Run {
    label: String,
    actions: BTreeMap<String, usize>,
    endpoint_lookups: usize,
    journey_lookups: usize,
    seconds: f64,
}

/// Interactions of a batch, with their distinct users and endpoints.
struct BatchShape {
    interactions: usize,
    users: BTreeSet<String>,
    endpoints: BTreeSet<String>,
}

fn shape(payloads: &[Vec<u8>], settings: &TaggingSettings) -> BatchShape {
    let mut shape = BatchShape {
        interactions: 0,
        users: BTreeSet::new(),
        endpoints: BTreeSet::new(),
    };
    for interaction in interactions(payloads, settings) {
        shape.interactions += 1;
        shape
            .users
            .insert(user_of_endpoint(&interaction.endpoint_id));
        shape.endpoints.insert(interaction.endpoint_id);
    }
    shape
}

fn interactions(
    payloads: &[Vec<u8>],
    settings: &TaggingSettings,
) -> Vec<attribution_core::classify::Interaction> {
    payloads
        .iter()
        .filter_map(|payload| decode_event(payload).ok())
        .filter_map(|event| classify(&event, settings).ok())
        .collect()
}

/// Returns the username of a generated endpoint id, whose last group is the user number in hex.
fn user_of_endpoint(endpoint_id: &str) -> String {
    let hex = endpoint_id.rsplit('-').next().unwrap_or_default();
    mix::username(usize::from_str_radix(hex, 16).expect("a generated endpoint id"))
}

fn count_actions(emulator: &Emulator) -> BTreeMap<String, usize> {
    let mut actions = BTreeMap::new();
    for call in emulator.recorded_calls() {
        *actions
            .entry(format!("{}:{}", call.service, call.action))
            .or_default() += 1;
    }
    actions
}

async fn batch_path(
    emulator: &Emulator,
    clients: &common::Clients,
    settings: TaggingSettings,
    users: usize,
    payloads: &[Vec<u8>],
) -> (Run, Run, u32) {
    let directory = CountingDirectory::new(users);
    let tagging = Tagging::new(
        settings,
        clients.dynamodb.clone(),
        clients.cognito.clone(),
        directory.clone(),
    )
    .with_clock(|| mix::NOW_MS);
    let event = common::kinesis_event(payloads);

    let mut runs = Vec::new();
    for label in ["batch path", "batch path, redelivered"] {
        emulator.start_recording();
        let started = Instant::now();
        let response = tagging.handle(&event).await;
        let seconds = started.elapsed().as_secs_f64();
        assert!(
            response.batch_item_failures.is_empty(),
            "no record may fail: {:?}",
            response.batch_item_failures
        );
        let (endpoint_lookups, journey_lookups) = directory.take_counts();
        runs.push(Run {
            label: label.to_owned(),
            actions: count_actions(emulator),
            endpoint_lookups,
            journey_lookups,
            seconds,
        });
    }
    let redelivered = runs.pop().expect("two runs");
    let first = runs.pop().expect("two runs");
    let attribute_updates = first
        .actions
        .get("cognito-idp:AdminUpdateUserAttributes")
        .copied()
        .unwrap_or(0) as u32;
    (first, redelivered, attribute_updates)
}

/// Sends one request set per interaction, the approach that the batch path replaces.
async fn per_event(
    emulator: &Emulator,
    clients: &common::Clients,
    settings: &TaggingSettings,
    users: usize,
    payloads: &[Vec<u8>],
) -> Run {
    let directory = CountingDirectory::new(users);
    emulator.start_recording();
    let started = Instant::now();

    for interaction in interactions(payloads, settings) {
        let user = directory
            .endpoint_user(&settings.pinpoint_app_id, &interaction.endpoint_id)
            .await
            .expect("every generated endpoint is in the export");
        let username = user
            .attribute(&settings.username_attribute)
            .expect("every generated endpoint has a username")
            .to_owned();
        let journey_name = directory
            .journey_name(&settings.pinpoint_app_id, &interaction.journey_id)
            .await
            .expect("every generated journey has a name");

        clients
            .dynamodb
            .get_item()
            .table_name(&settings.table_name)
            .key("username", AttributeValue::S(username.clone()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem");

        let candidate = Candidate {
            username: username.clone(),
            journey_id: interaction.journey_id.clone(),
            interacted_at_ms: interaction.interacted_at_ms,
        };
        let attribution =
            Attribution::new(&candidate, journey_name.clone(), settings.lookback_days);
        clients
            .dynamodb
            .put_item()
            .table_name(&settings.table_name)
            .set_item(Some(to_sdk_item(&attribution.to_item())))
            .send()
            .await
            .expect("PutItem");

        clients
            .cognito
            .admin_update_user_attributes()
            .user_pool_id(&settings.user_pool_id)
            .username(&username)
            .user_attributes(
                AttributeType::builder()
                    .name(settings.cognito_attribute())
                    .value(journey_name)
                    .build()
                    .expect("name is set"),
            )
            .send()
            .await
            .expect("AdminUpdateUserAttributes");
    }

    let seconds = started.elapsed().as_secs_f64();
    let (endpoint_lookups, journey_lookups) = directory.take_counts();
    Run {
        label: "per event".to_owned(),
        actions: count_actions(emulator),
        endpoint_lookups,
        journey_lookups,
        seconds,
    }
}

fn action(run: &Run, name: &str) -> usize {
    run.actions.get(name).copied().unwrap_or(0)
}

fn print_table(size: usize, shape: &BatchShape, runs: &[Run], journey_changes: u32) {
    println!("### Batch of {size} records\n");
    println!(
        "{} interactions, {} distinct users and endpoints with an interaction, {} users whose \
         journey changed.\n",
        shape.interactions,
        shape.users.len(),
        journey_changes
    );
    println!(
        "| path | PutItem | GetItem | AdminUpdateUserAttributes | other emulator requests | GetEndpoint (trait) | GetJourney (trait) | total | wall (s) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for run in runs {
        let put = action(run, "dynamodb:PutItem");
        let get = action(run, "dynamodb:GetItem");
        let cognito = action(run, "cognito-idp:AdminUpdateUserAttributes");
        let all: usize = run.actions.values().sum();
        let other = all - put - get - cognito;
        println!(
            "| {} | {put} | {get} | {cognito} | {other} | {} | {} | {} | {:.2} |",
            run.label,
            run.endpoint_lookups,
            run.journey_lookups,
            all + run.endpoint_lookups + run.journey_lookups,
            run.seconds
        );
    }
    println!(
        "\nTargets: PutItem at most one conditional write per distinct user ({}), Cognito \
         updates one per user whose journey changed ({journey_changes}), GetEndpoint one per \
         distinct endpoint ({}).\n",
        shape.users.len(),
        shape.endpoints.len()
    );
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes `--bench`; this benchmark takes no options.
    let emulator = Emulator::start();
    let clients = common::Clients::new(&emulator);

    for size in BATCH_SIZES {
        let users = size / RECORDS_PER_USER;
        let payloads = mix::mixed_batch(size, users);
        let usernames: Vec<String> = (0..users).map(mix::username).collect();

        let batch_table = format!("bench-batch-{size}");
        let naive_table = format!("bench-per-event-{size}");
        clients.create_table(&batch_table).await;
        clients.create_table(&naive_table).await;
        let batch_pool = clients
            .create_pool(&format!("bench-batch-{size}"), &usernames)
            .await;
        let naive_pool = clients
            .create_pool(&format!("bench-per-event-{size}"), &usernames)
            .await;

        let mut batch_settings = common::settings(&batch_table, &batch_pool);
        batch_settings.pinpoint_app_id = mix::APP_ID.to_owned();
        let mut naive_settings = common::settings(&naive_table, &naive_pool);
        naive_settings.pinpoint_app_id = mix::APP_ID.to_owned();

        let shape = shape(&payloads, &batch_settings);
        let (first, redelivered, journey_changes) =
            batch_path(&emulator, &clients, batch_settings, users, &payloads).await;
        let naive = per_event(&emulator, &clients, &naive_settings, users, &payloads).await;

        print_table(size, &shape, &[first, redelivered, naive], journey_changes);
    }
}
