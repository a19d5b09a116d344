//! Records per second of the attribution core on one thread, on a realistic mix of
//! Pinpoint events (see `mix/mod.rs`).
//!
//! - `decode_classify`: decode each payload and classify the event.
//! - `attribute_batch`: the whole batch path, with the directory, table and user pool in
//!   memory: decode, classify, resolve users, keep the newest interaction per user, decide
//!   and apply the conditional writes and attribute updates.
//!
//! Run with `cargo bench -p attribution-core --bench throughput`. Criterion reports the
//! throughput in elements (records) per second; each benchmark runs on one thread, so the
//! figure is per core.

use std::collections::BTreeMap;
use std::hint::black_box;

use attribution_core::classify::classify;
use attribution_core::decode::decode_event;
use attribution_core::{EndpointExport, InputRecord, Services, attribute_batch};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::executor::block_on;

#[path = "../tests/common/mod.rs"]
mod common;
mod mix;

use common::{MemoryPool, MemoryTable};

/// Batch sizes measured: the event source mapping's default and a large batch.
const BATCH_SIZES: [usize; 2] = [100, 1_000];

/// Distinct users per batch: one for every five records.
const RECORDS_PER_USER: usize = 5;

fn settings() -> attribution_core::TaggingSettings {
    let mut settings = common::settings();
    settings.pinpoint_app_id = mix::APP_ID.to_owned();
    settings
}

fn directory(users: usize) -> EndpointExport {
    let names: BTreeMap<&str, &str> = mix::JOURNEYS.into_iter().collect();
    EndpointExport::from_json_lines(&mix::endpoint_export(users))
        .expect("the generated export is valid")
        .with_journey_names(names)
}

fn input_records(payloads: &[Vec<u8>]) -> Vec<InputRecord> {
    payloads
        .iter()
        .enumerate()
        .map(|(index, payload)| InputRecord {
            id: index.to_string(),
            payload: Ok(payload.clone()),
        })
        .collect()
}

fn decode_and_classify(criterion: &mut Criterion) {
    let settings = settings();
    let mut group = criterion.benchmark_group("decode_classify");
    for size in BATCH_SIZES {
        let payloads = mix::mixed_batch(size, size / RECORDS_PER_USER);
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(size.to_string(), |bencher| {
            bencher.iter(|| {
                let mut interactions = 0usize;
                for payload in &payloads {
                    if let Ok(event) = decode_event(black_box(payload))
                        && classify(&event, &settings).is_ok()
                    {
                        interactions += 1;
                    }
                }
                interactions
            })
        });
    }
    group.finish();
}

fn whole_batch(criterion: &mut Criterion) {
    let settings = settings();
    let mut group = criterion.benchmark_group("attribute_batch");
    for size in BATCH_SIZES {
        let users = size / RECORDS_PER_USER;
        let records = input_records(&mix::mixed_batch(size, users));
        let directory = directory(users);
        check_mix(&records, &settings, &directory, size);

        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(size.to_string(), |bencher| {
            bencher.iter_batched(
                || (MemoryTable::default(), pool(users)),
                |(table, pool)| {
                    let services = Services {
                        directory: &directory,
                        writer: &table,
                        pool: &pool,
                    };
                    block_on(attribute_batch(
                        black_box(&records),
                        &settings,
                        &services,
                        mix::NOW_MS,
                    ))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn pool(users: usize) -> MemoryPool {
    MemoryPool::with_users((0..users).map(mix::username))
}

/// Fails the benchmark when the mix does not exercise the paths it claims to: every
/// interaction must resolve, every malformed record must be skipped, and no record may fail.
fn check_mix(
    records: &[InputRecord],
    settings: &attribution_core::TaggingSettings,
    directory: &EndpointExport,
    size: usize,
) {
    let table = MemoryTable::default();
    let pool = pool(size / RECORDS_PER_USER);
    let services = Services {
        directory,
        writer: &table,
        pool: &pool,
    };
    let report = block_on(attribute_batch(records, settings, &services, mix::NOW_MS));
    let counts = &report.counts;
    let malformed = size.div_ceil(40);

    assert_eq!(counts.failed, 0, "{counts:?}");
    assert_eq!(
        (counts.attributed + counts.unchanged) as usize,
        mix::interaction_count(size),
        "every interaction resolves: {counts:?}"
    );
    assert!(
        counts.skipped.values().sum::<u32>() as usize >= malformed,
        "{counts:?}"
    );
}

criterion_group!(benches, decode_and_classify, whole_batch);
criterion_main!(benches);
