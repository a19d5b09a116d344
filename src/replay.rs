//! `replay`: pushes recorded Pinpoint event-stream records through the attribution core,
//! against a deployed application's table and user pool.
//!
//! Records come from JSON-lines files as Firehose writes them to S3: one event per line (or
//! several events back to back), the whole file optionally gzip-compressed. They are read from
//! local files, stdin or `s3://bucket/prefix`. Each line goes through the same decoding,
//! classification and conditional writes as in the tagging function. A replay of events that
//! were already processed therefore changes nothing. A replay of events from before the
//! deployment attributes the users whose interactions are still inside the lookback window.
//!
//! A replay sends its Cognito updates at the application's `cognito_updates_per_second`, as
//! one more instance of the tagging function would, so a backfill stays inside the rate that
//! the application's share of Cognito's quota was planned with.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use attribution_core::attribution::Item;
use attribution_core::contract::KEY_ATTRIBUTE;
use attribution_core::outcome::TaggingCounts;
use attribution_core::quota::DEFAULT_UPDATES_PER_SECOND;
use attribution_core::{
    AttributeValue, AttributionWriter, CampaignValue, ConditionalPut, Directory, EndpointExport,
    FailureKind, InputRecord, Outcome, PutResult, ServiceError, Services, SkipReason,
    TaggingSettings, UserPool, attribute_batch,
};
use aws_sdk_cognitoidentityprovider::operation::admin_get_user::AdminGetUserError;
use flate2::read::MultiGzDecoder;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use tagging::aws::{from_sdk_item, service_error};
use tagging::{CognitoPool, DynamoTable, PinpointDirectory};

use crate::aws::AwsError;
use crate::config::{self, Application};
use crate::render::outputs;
use crate::session::Session;

/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Most malformed records listed in the text summary; the JSON summary lists all of them.
const MALFORMED_SHOWN: usize = 20;

/// Options of a replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Local paths, `-` for stdin, or `s3://bucket/prefix`; empty reads stdin.
    pub sources: Vec<String>,
    /// Count what would change without writing the table or Cognito.
    pub dry_run: bool,
    /// A Pinpoint endpoint export to resolve users from instead of `GetEndpoint`.
    pub endpoints: Option<PathBuf>,
    /// Journey ids to names (a JSON object) to use with `endpoints` instead of `GetJourney`.
    pub journeys: Option<PathBuf>,
    /// Records per call of the core, as the function receives them per invocation.
    pub batch_size: usize,
    /// Processing time in epoch milliseconds; it decides what lies inside the lookback window.
    pub now_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error(
        "replay needs one application: pass --app NAME (the environment file {file} has {known})"
    )]
    NoApplication { file: String, known: String },
    #[error("stack {stack} does not exist; run apply for application {application} first")]
    StackMissing { stack: String, application: String },
    #[error("{0}")]
    ForeignStack(String),
    #[error(
        "stack {stack} (status {status}) has no {output} output; run apply for application {application} to finish its deployment"
    )]
    MissingOutput {
        stack: String,
        status: String,
        output: &'static str,
        application: String,
    },
    #[error("failed to read {source_name}: {message}")]
    Read {
        source_name: String,
        message: String,
    },
    #[error(
        "failed to read the endpoint export {path}: {message}; export the endpoints with Pinpoint's export job (JSON lines)"
    )]
    Endpoints { path: String, message: String },
    #[error(
        "failed to read the journey names {path}: {message}; write a JSON object of journey ids to names"
    )]
    Journeys { path: String, message: String },
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// A record that could not be decoded, by its place in the input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MalformedRecord {
    /// `FILE:LINE`, with `#N` when a line contains several records.
    pub record: String,
    pub reason: SkipReason,
    pub detail: String,
}

/// The record at which a replay stopped because a service kept failing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedRecord {
    pub record: String,
    pub detail: String,
}

/// Summary of a replay, or of what it would do with `dry_run`.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaySummary {
    pub environment: String,
    pub application: String,
    pub stack: String,
    pub table: String,
    pub user_pool: String,
    pub dry_run: bool,
    /// Files or objects read.
    pub sources: Vec<String>,
    /// Records per outcome; with `dry_run`, the outcomes the writes would have had.
    pub counts: TaggingCounts,
    /// Events whose `event_version` is not a known one, per version.
    pub unknown_versions: BTreeMap<String, u32>,
    pub malformed: Vec<MalformedRecord>,
    /// Set when the replay stopped early; records after it were not processed.
    pub failure: Option<FailedRecord>,
    pub elapsed_ms: u64,
}

impl ReplaySummary {
    /// Returns whether every record was processed.
    pub fn completed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Replays the records of `options.sources` for the one selected application.
pub async fn replay(
    session: &Session,
    options: &ReplayOptions,
) -> Result<ReplaySummary, ReplayError> {
    let started = Instant::now();
    let application = single_application(session)?;
    let stack_name = session.environment.stack_name(application);
    let table = deployed_table(session, application, &stack_name).await?;
    let settings = tagging_settings(application, &table);
    let cognito_rate = instance_cognito_rate(application);

    let sources = expand_sources(session, &options.sources).await?;
    let mut summary = ReplaySummary {
        environment: session.environment.name.clone(),
        application: application.name.clone(),
        stack: stack_name,
        table,
        user_pool: application.user_pool_id.clone(),
        dry_run: options.dry_run,
        sources: sources.iter().map(Source::name).collect(),
        counts: TaggingCounts::default(),
        unknown_versions: BTreeMap::new(),
        malformed: Vec::new(),
        failure: None,
        elapsed_ms: 0,
    };

    let totals = match &options.endpoints {
        Some(path) => {
            let directory = read_endpoint_export(path, options.journeys.as_deref())?;
            run_with_directory(
                session,
                &settings,
                cognito_rate,
                &directory,
                &sources,
                options,
            )
            .await?
        }
        None => {
            let directory = PinpointDirectory::new(session.clients.pinpoint.clone());
            run_with_directory(
                session,
                &settings,
                cognito_rate,
                &directory,
                &sources,
                options,
            )
            .await?
        }
    };
    totals.merge_into(&mut summary);

    summary.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(summary)
}

/// Returns the application that `--app` selected, or the only one of the file.
fn single_application(session: &Session) -> Result<&Application, ReplayError> {
    match session.applications.as_slice() {
        [application] => Ok(application),
        applications => Err(ReplayError::NoApplication {
            file: session.environment.source.display().to_string(),
            known: applications
                .iter()
                .map(|app| app.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

/// Reads the attribution table's name from the application's stack outputs.
async fn deployed_table(
    session: &Session,
    application: &Application,
    stack_name: &str,
) -> Result<String, ReplayError> {
    let stack =
        crate::cloudformation::describe_stack(&session.clients.cloudformation, stack_name).await?;
    let Some(stack) = stack else {
        return Err(ReplayError::StackMissing {
            stack: stack_name.to_owned(),
            application: application.name.clone(),
        });
    };

    if let Some(reason) =
        crate::plan::foreign_stack_reason(&stack, &session.environment.name, &application.name)
    {
        return Err(ReplayError::ForeignStack(reason));
    }

    stack
        .outputs
        .get(outputs::TABLE_NAME)
        .filter(|name| !name.is_empty())
        .cloned()
        .ok_or_else(|| ReplayError::MissingOutput {
            stack: stack_name.to_owned(),
            status: stack.status.clone(),
            output: outputs::TABLE_NAME,
            application: application.name.clone(),
        })
}

/// Returns the Cognito updates per second that one instance of this application's functions
/// may make.
fn instance_cognito_rate(application: &Application) -> NonZeroU32 {
    // The environment file allows 1 to 25.
    NonZeroU32::new(application.settings.cognito_updates_per_second)
        .unwrap_or(DEFAULT_UPDATES_PER_SECOND)
}

/// Builds the settings the tagging function of this application runs with.
pub fn tagging_settings(application: &Application, table: &str) -> TaggingSettings {
    let settings = &application.settings;
    TaggingSettings {
        table_name: table.to_owned(),
        user_pool_id: application.user_pool_id.clone(),
        pinpoint_app_id: application.pinpoint_app_id.clone(),
        // The environment file allows 1 to 365 days.
        lookback_days: u16::try_from(settings.lookback_days).unwrap_or(u16::MAX),
        interaction_events: settings.interaction_events.clone(),
        username_attribute: settings.username_attribute.clone(),
        campaign_attribute: settings.campaign_attribute.clone(),
        campaign_value: match settings.campaign_value {
            config::CampaignValue::JourneyName => CampaignValue::JourneyName,
            config::CampaignValue::JourneyId => CampaignValue::JourneyId,
        },
    }
}

fn read_endpoint_export(
    path: &Path,
    journeys: Option<&Path>,
) -> Result<EndpointExport, ReplayError> {
    let endpoints_error = |message: String| ReplayError::Endpoints {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|error| endpoints_error(error.to_string()))?;
    let export = EndpointExport::from_json_lines(&text)
        .map_err(|error| endpoints_error(error.to_string()))?;

    let Some(journeys) = journeys else {
        return Ok(export);
    };
    let journeys_error = |message: String| ReplayError::Journeys {
        path: journeys.display().to_string(),
        message,
    };
    let text =
        std::fs::read_to_string(journeys).map_err(|error| journeys_error(error.to_string()))?;
    let names: BTreeMap<String, String> =
        serde_json::from_str(&text).map_err(|error| journeys_error(error.to_string()))?;
    Ok(export.with_journey_names(names))
}

/// Source of the replayed records.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Stdin,
    File(PathBuf),
    S3 { bucket: String, key: String },
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Stdin => "-".to_owned(),
            Source::File(path) => path.display().to_string(),
            Source::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }
}

/// Resolves the command line's sources: checks that local files exist and lists the objects
/// under each S3 prefix, so that a typo fails before anything is written.
async fn expand_sources(
    session: &Session,
    arguments: &[String],
) -> Result<Vec<Source>, ReplayError> {
    if arguments.is_empty() {
        return Ok(vec![Source::Stdin]);
    }

    let mut sources = Vec::new();
    for source in arguments {
        if source == "-" {
            sources.push(Source::Stdin);
        } else if let Some(location) = source.strip_prefix("s3://") {
            sources.extend(list_objects(session, source, location).await?);
        } else {
            let path = PathBuf::from(source);
            if !path.is_file() {
                return Err(ReplayError::Read {
                    source_name: source.clone(),
                    message: "no such file".to_owned(),
                });
            }
            sources.push(Source::File(path));
        }
    }
    Ok(sources)
}

/// Lists the objects under `s3://bucket/prefix`, in key order.
async fn list_objects(
    session: &Session,
    source: &str,
    location: &str,
) -> Result<Vec<Source>, ReplayError> {
    let (bucket, prefix) = location.split_once('/').unwrap_or((location, ""));
    if bucket.is_empty() {
        return Err(ReplayError::Read {
            source_name: source.to_owned(),
            message: "the S3 location names no bucket; write s3://BUCKET/PREFIX".to_owned(),
        });
    }

    let mut keys = Vec::new();
    let mut pages = session
        .clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|error| AwsError::new("ListObjectsV2", source, error))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|object| object.key())
                .filter(|key| !key.ends_with('/'))
                .map(str::to_owned),
        );
    }

    if keys.is_empty() {
        return Err(ReplayError::Read {
            source_name: source.to_owned(),
            message: "no object under this prefix".to_owned(),
        });
    }
    keys.sort();
    Ok(keys
        .into_iter()
        .map(|key| Source::S3 {
            bucket: bucket.to_owned(),
            key,
        })
        .collect())
}

/// Reads a source whole and decompresses it when it is gzip.
async fn read_source(session: &Session, source: &Source) -> Result<Vec<u8>, ReplayError> {
    let read_error = |message: String| ReplayError::Read {
        source_name: source.name(),
        message,
    };

    let bytes = match source {
        Source::Stdin => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .lock()
                .read_to_end(&mut bytes)
                .map_err(|error| read_error(error.to_string()))?;
            bytes
        }
        Source::File(path) => std::fs::read(path).map_err(|error| read_error(error.to_string()))?,
        Source::S3 { bucket, key } => {
            let object = session
                .clients
                .s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|error| AwsError::new("GetObject", source.name(), error))?;
            object
                .body
                .collect()
                .await
                .map_err(|error| read_error(error.to_string()))?
                .into_bytes()
                .to_vec()
        }
    };

    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(bytes);
    }
    let mut text = Vec::new();
    MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut text)
        .map_err(|error| read_error(format!("not a valid gzip file: {error}")))?;
    Ok(text)
}

/// Splits a file's text into records named `NAME:LINE`.
///
/// Blank lines are ignored. Firehose writes records without a separator unless it is
/// configured to add one, so a line that contains several JSON values back to back yields one
/// record per value, named `NAME:LINE#N`. Whatever follows the last value that parses becomes
/// one more record, which then fails to decode and is counted as malformed.
pub fn split_records(name: &str, text: &[u8]) -> Vec<InputRecord> {
    let mut records = Vec::new();
    for (index, line) in text.split(|byte| *byte == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }

        let parts = split_values(line);
        let id = format!("{name}:{}", index + 1);
        if parts.len() == 1 {
            records.push(record(id, line));
            continue;
        }
        for (part, bytes) in parts.into_iter().enumerate() {
            records.push(record(format!("{id}#{}", part + 1), bytes));
        }
    }
    records
}

fn record(id: String, payload: &[u8]) -> InputRecord {
    InputRecord {
        id,
        payload: Ok(payload.to_vec()),
    }
}

/// Cuts a line into its back-to-back JSON values; a line that is not such a sequence of
/// at least two values comes back whole.
fn split_values(line: &[u8]) -> Vec<&[u8]> {
    let mut values = Vec::new();
    let mut stream =
        serde_json::Deserializer::from_slice(line).into_iter::<serde::de::IgnoredAny>();
    let mut start = 0;
    while let Some(Ok(_)) = stream.next() {
        let end = stream.byte_offset();
        values.push(&line[start..end]);
        start = end;
    }

    if values.len() < 2 {
        return vec![line];
    }
    let rest = &line[start..];
    if !rest.iter().all(u8::is_ascii_whitespace) {
        values.push(rest);
    }
    values
}

/// The results of the batches, before they go into the summary.
#[derive(Debug, Default)]
struct BatchTotals {
    counts: TaggingCounts,
    unknown_versions: BTreeMap<String, u32>,
    malformed: Vec<MalformedRecord>,
    failure: Option<FailedRecord>,
}

impl BatchTotals {
    fn merge_into(self, summary: &mut ReplaySummary) {
        summary.counts = self.counts;
        summary.unknown_versions = self.unknown_versions;
        summary.malformed = self.malformed;
        summary.failure = self.failure;
    }
}

/// Runs the batches with the table and user pool, or with their dry-run stand-ins. Real
/// Cognito updates are spaced to `cognito_rate` per second.
async fn run_with_directory<D: Directory + Sync>(
    session: &Session,
    settings: &TaggingSettings,
    cognito_rate: NonZeroU32,
    directory: &D,
    sources: &[Source],
    options: &ReplayOptions,
) -> Result<BatchTotals, ReplayError> {
    let dynamodb = session.clients.dynamodb.clone();
    let cognito = session.clients.cognito.clone();
    if options.dry_run {
        let writer = DryRunTable::new(dynamodb, &settings.table_name);
        let pool = DryRunPool::new(cognito, &settings.user_pool_id);
        let services = Services {
            directory,
            writer: &writer,
            pool: &pool,
        };
        run_batches(session, settings, &services, sources, options).await
    } else {
        let writer = DynamoTable::new(dynamodb, &settings.table_name);
        let pool = CognitoPool::new(cognito, &settings.user_pool_id).with_rate(cognito_rate);
        let services = Services {
            directory,
            writer: &writer,
            pool: &pool,
        };
        run_batches(session, settings, &services, sources, options).await
    }
}

/// Reads each source, splits it into records and runs them through the core in batches.
/// Stops at the first record that still fails after the SDK's retries.
async fn run_batches<D, W, P>(
    session: &Session,
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
    sources: &[Source],
    options: &ReplayOptions,
) -> Result<BatchTotals, ReplayError>
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    let progress = progress_bar();
    let mut totals = BatchTotals::default();

    for source in sources {
        let text = read_source(session, source).await?;
        let records = split_records(&source.name(), &text);
        progress.inc_length(records.len() as u64);

        for batch in records.chunks(options.batch_size.max(1)) {
            let report = Box::pin(attribute_batch(batch, settings, services, options.now_ms)).await;
            add_counts(&mut totals.counts, &report.counts);
            for (version, count) in report.unknown_versions {
                *totals.unknown_versions.entry(version).or_default() += count;
            }
            totals
                .malformed
                .extend(report.outcomes.iter().filter_map(malformed));
            progress.inc(batch.len() as u64);

            if let Some(record) = report.first_failure {
                let detail = report
                    .outcomes
                    .iter()
                    .find(|outcome| outcome.id == record)
                    .and_then(|outcome| outcome.detail.clone())
                    .unwrap_or_default();
                totals.failure = Some(FailedRecord { record, detail });
                progress.abandon();
                return Ok(totals);
            }
        }
    }

    progress.finish_and_clear();
    Ok(totals)
}

fn progress_bar() -> ProgressBar {
    let target = if crate::progress::stderr_is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(0), target);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} records, {per_sec}, {elapsed}")
    {
        bar.set_style(style);
    }
    bar
}

/// Returns the malformed-record entry of an outcome whose payload could not be decoded.
fn malformed(outcome: &attribution_core::RecordOutcome) -> Option<MalformedRecord> {
    let Outcome::Skipped(reason) = outcome.outcome else {
        return None;
    };
    is_decode_reason(reason).then(|| MalformedRecord {
        record: outcome.id.clone(),
        reason,
        detail: outcome.detail.clone().unwrap_or_default(),
    })
}

/// Returns whether a skip means the record's bytes are not a readable event.
fn is_decode_reason(reason: SkipReason) -> bool {
    matches!(
        reason,
        SkipReason::InvalidEnvelope
            | SkipReason::InvalidBase64
            | SkipReason::Oversized
            | SkipReason::InvalidGzip
            | SkipReason::NotUtf8
            | SkipReason::TruncatedJson
            | SkipReason::InvalidJson
            | SkipReason::NotAnObject
    )
}

fn add_counts(total: &mut TaggingCounts, batch: &TaggingCounts) {
    total.received += batch.received;
    total.attributed += batch.attributed;
    total.unchanged += batch.unchanged;
    total.failed += batch.failed;
    total.deferred += batch.deferred;
    total.attribute_updates += batch.attribute_updates;
    for (reason, count) in &batch.skipped {
        *total.skipped.entry(*reason).or_default() += count;
    }
}

/// A writer that reads the table and predicts each conditional write without making it.
///
/// Predicted writes are kept in memory, so a later record of the same user is judged against
/// what the replay would have stored by then.
struct DryRunTable {
    client: aws_sdk_dynamodb::Client,
    table_name: String,
    planned: Mutex<HashMap<String, Item>>,
}

impl DryRunTable {
    fn new(client: aws_sdk_dynamodb::Client, table_name: &str) -> DryRunTable {
        DryRunTable {
            client,
            table_name: table_name.to_owned(),
            planned: Mutex::new(HashMap::new()),
        }
    }

    fn planned(&self) -> std::sync::MutexGuard<'_, HashMap<String, Item>> {
        self.planned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn stored(&self, username: &str) -> Result<Option<Item>, ServiceError> {
        if let Some(item) = self.planned().get(username) {
            return Ok(Some(item.clone()));
        }

        let output = self
            .client
            .get_item()
            .table_name(&self.table_name)
            .key(
                KEY_ATTRIBUTE,
                aws_sdk_dynamodb::types::AttributeValue::S(username.to_owned()),
            )
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| service_error("GetItem", &error))?;
        Ok(output.item().map(from_sdk_item))
    }
}

impl AttributionWriter for DryRunTable {
    async fn put(&self, put: &ConditionalPut) -> Result<PutResult, ServiceError> {
        let Some(AttributeValue::S(username)) = put.item.get(KEY_ATTRIBUTE) else {
            return Err(ServiceError {
                operation: "PutItem",
                kind: FailureKind::Rejected,
                message: format!("the item has no {KEY_ATTRIBUTE} string"),
            });
        };

        let stored = self.stored(username).await?;
        if !put.holds_for(stored.as_ref()) {
            return Ok(PutResult::Rejected { current: stored });
        }
        self.planned().insert(username.clone(), put.item.clone());
        Ok(PutResult::Written { previous: stored })
    }
}

/// A user pool that checks the user exists (`AdminGetUser`) instead of writing the attribute.
struct DryRunPool {
    client: aws_sdk_cognitoidentityprovider::Client,
    user_pool_id: String,
}

impl DryRunPool {
    fn new(client: aws_sdk_cognitoidentityprovider::Client, user_pool_id: &str) -> DryRunPool {
        DryRunPool {
            client,
            user_pool_id: user_pool_id.to_owned(),
        }
    }
}

impl UserPool for DryRunPool {
    async fn set_attribute(
        &self,
        username: &str,
        _name: &str,
        _value: &str,
    ) -> Result<(), ServiceError> {
        let result = self
            .client
            .admin_get_user()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => match error.as_service_error() {
                Some(AdminGetUserError::UserNotFoundException(_)) => Err(ServiceError {
                    operation: "AdminGetUser",
                    kind: FailureKind::NotFound,
                    message: "UserNotFoundException: the user is not in the pool".to_owned(),
                }),
                _ => Err(service_error("AdminGetUser", &error)),
            },
        }
    }
}

/// Renders the summary for `--output text`.
pub fn summary_text(summary: &ReplaySummary) -> String {
    let counts = &summary.counts;
    let verb = if summary.dry_run { "would be " } else { "" };
    let mut text = format!(
        "{mode} of {records} records from {sources} source(s) for application {app} (table {table}, user pool {pool}) in {seconds:.1} s\n",
        mode = if summary.dry_run { "Dry run" } else { "Replay" },
        records = counts.received,
        sources = summary.sources.len(),
        app = summary.application,
        table = summary.table,
        pool = summary.user_pool,
        seconds = summary.elapsed_ms as f64 / 1000.0,
    );
    text.push_str(&format!(
        "  {verb}attributed: {} ({} Cognito update(s))\n",
        counts.attributed, counts.attribute_updates
    ));
    text.push_str(&format!("  unchanged:  {}\n", counts.unchanged));
    text.push_str(&format!("  skipped:    {}\n", counts.skipped_total()));
    for (reason, count) in &counts.skipped {
        text.push_str(&format!("    {reason}: {count}\n"));
    }
    if counts.failed + counts.deferred > 0 {
        text.push_str(&format!(
            "  failed:     {}, not processed after it: {}\n",
            counts.failed, counts.deferred
        ));
    }
    for (version, count) in &summary.unknown_versions {
        text.push_str(&format!(
            "  {count} event(s) of unknown event_version {version} were read by their known fields\n"
        ));
    }

    if !summary.malformed.is_empty() {
        text.push_str(&format!(
            "Malformed records ({}):\n",
            summary.malformed.len()
        ));
        for record in summary.malformed.iter().take(MALFORMED_SHOWN) {
            text.push_str(&format!(
                "  {}: {} ({})\n",
                record.record, record.reason, record.detail
            ));
        }
        if summary.malformed.len() > MALFORMED_SHOWN {
            text.push_str(&format!(
                "  ... and {} more (--output json lists all)\n",
                summary.malformed.len() - MALFORMED_SHOWN
            ));
        }
    }

    if let Some(failure) = &summary.failure {
        text.push_str(&format!(
            "Stopped at {}: {}\nFix the cause and run the same replay again; records already applied change nothing the second time.\n",
            failure.record, failure.detail
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(records: &[InputRecord]) -> Vec<&str> {
        records.iter().map(|record| record.id.as_str()).collect()
    }

    fn payload(record: &InputRecord) -> &str {
        std::str::from_utf8(record.payload.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn lines_become_records_named_by_line() {
        let text = b"{\"a\":1}\r\n\n   \n{\"b\":2}\nnot json\n";

        let records = split_records("events.json", text);

        assert_eq!(
            ids(&records),
            ["events.json:1", "events.json:4", "events.json:5"]
        );
        assert_eq!(payload(&records[0]), "{\"a\":1}");
        assert_eq!(payload(&records[2]), "not json");
    }

    #[test]
    fn back_to_back_values_are_split() {
        let records = split_records("f", br#"{"a":1}{"b":2} {"c":3}"#);

        assert_eq!(ids(&records), ["f:1#1", "f:1#2", "f:1#3"]);
        assert_eq!(payload(&records[1]), r#"{"b":2}"#);
        assert_eq!(payload(&records[2]).trim(), r#"{"c":3}"#);
    }

    #[test]
    fn broken_tail_of_a_line_is_its_own_record() {
        let records = split_records("f", br#"{"a":1}{"b":2}{"c":"#);

        assert_eq!(ids(&records), ["f:1#1", "f:1#2", "f:1#3"]);
        assert_eq!(payload(&records[2]), r#"{"c":"#);
    }

    #[test]
    fn single_broken_line_stays_whole() {
        let records = split_records("f", br#"{"a":1} trailing"#);

        assert_eq!(ids(&records), ["f:1"]);
        assert_eq!(payload(&records[0]), r#"{"a":1} trailing"#);
    }

    #[test]
    fn counts_add_up() {
        let mut total = TaggingCounts::default();
        let mut batch = TaggingCounts {
            received: 3,
            attributed: 1,
            unchanged: 1,
            attribute_updates: 1,
            ..TaggingCounts::default()
        };
        batch.skipped.insert(SkipReason::InvalidJson, 1);

        add_counts(&mut total, &batch);
        add_counts(&mut total, &batch);

        assert_eq!(total.received, 6);
        assert_eq!(total.attributed, 2);
        assert_eq!(total.skipped[&SkipReason::InvalidJson], 2);
    }
}
