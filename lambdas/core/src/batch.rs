//! Attributes a batch of event-stream records: decode, classify, resolve users, keep the
//! newest interaction per user, write it and update Cognito when the value changed.
//!
//! Records may arrive more than once and in any order. Within a batch only the newest
//! interaction of each user is written; across batches the conditional write keeps the
//! newest. Either way the stored state depends only on the set of events.
//!
//! On the first failure that a retry can fix, the batch stops. The failed record is reported
//! and every later record is deferred, because Kinesis and DynamoDB streams resume from the
//! lowest reported sequence number and deliver all records after it again.

use std::collections::{BTreeMap, HashMap};

use crate::attribution::{Attribution, Candidate, ConditionalPut, NextStep, next_step};
use crate::classify::{Interaction, classify};
use crate::decode::{DecodeError, decode_event};
use crate::outcome::{Outcome, RecordOutcome, SkipReason, TaggingCounts, defer_after, user_hash};
use crate::services::{
    AttributionWriter, Directory, FailureKind, PutResult, ServiceError, UserPool,
};
use crate::settings::{CampaignValue, TaggingSettings};

/// How far an interaction may lie after the processing time before it counts as garbage.
/// An absurd future time would otherwise pin the user's attribution until it passes.
pub const MAX_CLOCK_SKEW_MS: i64 = 24 * 60 * 60 * 1000;

/// Version key under which events without `event_version` are reported.
pub const MISSING_VERSION: &str = "missing";

/// One record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// The stream sequence number (reported on failure), or a line number in a replay.
    pub id: String,
    /// The record's payload, or why the envelope could not yield one.
    pub payload: Result<Vec<u8>, DecodeError>,
}

/// The services a batch talks to.
pub struct Services<'a, D, W, P> {
    pub directory: &'a D,
    pub writer: &'a W,
    pub pool: &'a P,
}

/// The result of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggingReport {
    /// One outcome per input record, in input order.
    pub outcomes: Vec<RecordOutcome>,
    pub counts: TaggingCounts,
    /// Id of the record to report as failed; the stream redelivers it and all later ones.
    pub first_failure: Option<String>,
    /// Decoded events whose `event_version` is not a known one, counted per version.
    pub unknown_versions: BTreeMap<String, u32>,
}

/// The reason one record's processing stopped short of an outcome.
enum Stop {
    Skip(SkipReason, String),
    Retry(String),
}

impl Stop {
    /// Maps a service error: retryable stops the batch, others skip with `not_found` or as
    /// rejected.
    fn from_service(error: ServiceError, not_found: SkipReason) -> Stop {
        match error.kind {
            FailureKind::Retryable => Stop::Retry(error.to_string()),
            FailureKind::NotFound => Stop::Skip(not_found, error.to_string()),
            FailureKind::Rejected => Stop::Skip(SkipReason::RequestRejected, error.to_string()),
        }
    }
}

/// Attributes a batch of records at processing time `now_ms` (epoch milliseconds).
pub async fn attribute_batch<D, W, P>(
    records: &[InputRecord],
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
    now_ms: i64,
) -> TaggingReport
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    let mut outcomes: Vec<RecordOutcome> = records
        .iter()
        .map(|record| RecordOutcome::new(&record.id, Outcome::Unchanged))
        .collect();
    let mut unknown_versions = BTreeMap::new();

    let interactions = read_interactions(
        records,
        settings,
        now_ms,
        &mut outcomes,
        &mut unknown_versions,
    );

    attribute_interactions(interactions, outcomes, unknown_versions, settings, services).await
}

/// Resolves the users of `interactions`, keeps each user's newest one and applies it.
///
/// `outcomes` has one entry per input (a stream record, or an endpoint of a custom-channel
/// invocation), already set for the inputs that were skipped. Each interaction carries the
/// index of its input.
pub(crate) async fn attribute_interactions<D, W, P>(
    interactions: Vec<(usize, Interaction)>,
    mut outcomes: Vec<RecordOutcome>,
    unknown_versions: BTreeMap<String, u32>,
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
) -> TaggingReport
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    let (candidates, resolve_failure) =
        resolve_users(interactions, settings, services.directory, &mut outcomes).await;

    let winners = newest_per_user(candidates, &mut outcomes);

    let apply_failure = apply_winners(winners, settings, services, &mut outcomes).await;

    let first_failure = match (resolve_failure, apply_failure) {
        (Some(left), Some(right)) => Some(left.min(right)),
        (left, right) => left.or(right),
    };
    if let Some(index) = first_failure {
        defer_after(&mut outcomes, index);
    }

    TaggingReport {
        counts: TaggingCounts::from_outcomes(&outcomes),
        first_failure: first_failure.map(|index| outcomes[index].id.clone()),
        outcomes,
        unknown_versions,
    }
}

/// Decodes and classifies every record; returns the interactions with their record index.
fn read_interactions(
    records: &[InputRecord],
    settings: &TaggingSettings,
    now_ms: i64,
    outcomes: &mut [RecordOutcome],
    unknown_versions: &mut BTreeMap<String, u32>,
) -> Vec<(usize, Interaction)> {
    let mut interactions = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let event = match record
            .payload
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|payload| decode_event(payload))
        {
            Ok(event) => event,
            Err(error) => {
                skip(&mut outcomes[index], error.reason, Some(error.detail));
                continue;
            }
        };

        if !event.has_known_version() {
            let version = event.event_version.as_deref().unwrap_or(MISSING_VERSION);
            *unknown_versions.entry(version.to_owned()).or_default() += 1;
        }

        match classify(&event, settings)
            .and_then(|interaction| check_time(interaction, settings, now_ms))
        {
            Ok(interaction) => interactions.push((index, interaction)),
            Err(reason) => skip(&mut outcomes[index], reason, None),
        }
    }
    interactions
}

/// Rejects interactions whose window has ended, or that lie implausibly far in the future.
pub(crate) fn check_time(
    interaction: Interaction,
    settings: &TaggingSettings,
    now_ms: i64,
) -> Result<Interaction, SkipReason> {
    let expires_at_ms = crate::attribution::expires_at_seconds(
        interaction.interacted_at_ms,
        settings.lookback_days,
    )
    .saturating_mul(1000);
    if expires_at_ms <= now_ms {
        return Err(SkipReason::OutsideLookback);
    }
    if interaction.interacted_at_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(SkipReason::TimestampInFuture);
    }
    Ok(interaction)
}

/// Resolves each interaction's user, in record order, asking once per endpoint.
///
/// Stops at the first retryable failure and returns its index: later interactions are left
/// to the redelivery.
async fn resolve_users<D: Directory + Sync>(
    interactions: Vec<(usize, Interaction)>,
    settings: &TaggingSettings,
    directory: &D,
    outcomes: &mut [RecordOutcome],
) -> (Vec<(usize, Candidate)>, Option<usize>) {
    let mut usernames: HashMap<String, Result<String, (SkipReason, String)>> = HashMap::new();
    let mut candidates = Vec::new();

    for (index, interaction) in interactions {
        if !usernames.contains_key(&interaction.endpoint_id) {
            match resolve_username(&interaction.endpoint_id, settings, directory).await {
                Ok(username) => {
                    usernames.insert(interaction.endpoint_id.clone(), Ok(username));
                }
                Err(Stop::Skip(reason, detail)) => {
                    usernames.insert(interaction.endpoint_id.clone(), Err((reason, detail)));
                }
                Err(Stop::Retry(detail)) => {
                    fail(&mut outcomes[index], detail);
                    return (candidates, Some(index));
                }
            }
        }

        match &usernames[&interaction.endpoint_id] {
            Ok(username) => candidates.push((
                index,
                Candidate {
                    username: username.clone(),
                    journey_id: interaction.journey_id,
                    interacted_at_ms: interaction.interacted_at_ms,
                },
            )),
            Err((reason, detail)) => skip(&mut outcomes[index], *reason, Some(detail.clone())),
        }
    }
    (candidates, None)
}

async fn resolve_username<D: Directory + Sync>(
    endpoint_id: &str,
    settings: &TaggingSettings,
    directory: &D,
) -> Result<String, Stop> {
    let user = directory
        .endpoint_user(&settings.pinpoint_app_id, endpoint_id)
        .await
        .map_err(|error| Stop::from_service(error, SkipReason::EndpointNotFound))?;

    match user.attribute(&settings.username_attribute) {
        Some(username) => Ok(username.to_owned()),
        None => Err(Stop::Skip(
            SkipReason::NoUsername,
            format!(
                "endpoint user has no {} attribute",
                settings.username_attribute
            ),
        )),
    }
}

/// Keeps the newest candidate of each user and marks the others unchanged.
///
/// Among equal candidates (duplicates) the first record wins, so a failure reports the
/// earliest of them. The winners come back in record order.
pub(crate) fn newest_per_user(
    candidates: Vec<(usize, Candidate)>,
    outcomes: &mut [RecordOutcome],
) -> Vec<(usize, Candidate)> {
    let mut best: HashMap<String, (usize, Candidate)> = HashMap::new();
    let mut superseded = Vec::new();

    for (index, candidate) in candidates {
        match best.get_mut(&candidate.username) {
            None => {
                best.insert(candidate.username.clone(), (index, candidate));
            }
            Some(current) => {
                if candidate.rank_cmp(&current.1).is_gt() {
                    superseded.push(current.0);
                    *current = (index, candidate);
                } else {
                    superseded.push(index);
                }
            }
        }
    }

    for index in superseded {
        let outcome = &mut outcomes[index];
        outcome.outcome = Outcome::Unchanged;
        outcome.detail = Some("a newer interaction of the same user is in this batch".to_owned());
    }

    let mut winners: Vec<(usize, Candidate)> = best.into_values().collect();
    winners.sort_by_key(|(index, _)| *index);
    for (index, candidate) in &winners {
        outcomes[*index].user = Some(user_hash(&candidate.username));
    }
    winners
}

/// Writes each winner in record order; returns the index of the first retryable failure.
async fn apply_winners<D, W, P>(
    winners: Vec<(usize, Candidate)>,
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
    outcomes: &mut [RecordOutcome],
) -> Option<usize>
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    for (index, candidate) in winners {
        match apply(&candidate, settings, services).await {
            Ok(outcome) => outcomes[index].outcome = outcome,
            Err(Stop::Skip(reason, detail)) => skip(&mut outcomes[index], reason, Some(detail)),
            Err(Stop::Retry(detail)) => {
                fail(&mut outcomes[index], detail);
                return Some(index);
            }
        }
    }
    None
}

/// Applies one user's newest interaction.
async fn apply<D, W, P>(
    candidate: &Candidate,
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
) -> Result<Outcome, Stop>
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    let campaign_value = campaign_value(candidate, settings, services.directory).await?;
    let attribution = Attribution::new(candidate, campaign_value, settings.lookback_days);

    let result = put(services.writer, &ConditionalPut::attribution(&attribution)).await?;
    let step = match &result {
        PutResult::Written { previous } => next_step(&attribution, true, previous.as_ref()),
        PutResult::Rejected { current } => next_step(&attribution, false, current.as_ref()),
    };

    match step {
        NextStep::Unchanged => Ok(Outcome::Unchanged),
        NextStep::ConfirmOnly => {
            confirm(&attribution, settings, services).await?;
            Ok(Outcome::Attributed {
                attribute_updated: false,
            })
        }
        NextStep::UpdateAttribute => {
            set_attribute(
                services.pool,
                settings,
                &attribution.username,
                &attribution.campaign_value,
            )
            .await?;
            confirm(&attribution, settings, services).await?;
            Ok(Outcome::Attributed {
                attribute_updated: true,
            })
        }
    }
}

async fn campaign_value<D: Directory + Sync>(
    candidate: &Candidate,
    settings: &TaggingSettings,
    directory: &D,
) -> Result<String, Stop> {
    match settings.campaign_value {
        CampaignValue::JourneyId => Ok(candidate.journey_id.clone()),
        CampaignValue::JourneyName => directory
            .journey_name(&settings.pinpoint_app_id, &candidate.journey_id)
            .await
            .map_err(|error| Stop::from_service(error, SkipReason::JourneyNotFound)),
    }
}

async fn put<W: AttributionWriter + Sync>(
    writer: &W,
    request: &ConditionalPut,
) -> Result<PutResult, Stop> {
    writer
        .put(request)
        .await
        .map_err(|error| Stop::from_service(error, SkipReason::RequestRejected))
}

async fn set_attribute<P: UserPool + Sync>(
    pool: &P,
    settings: &TaggingSettings,
    username: &str,
    value: &str,
) -> Result<(), Stop> {
    pool.set_attribute(username, &settings.cognito_attribute(), value)
        .await
        .map_err(|error| Stop::from_service(error, SkipReason::UserNotInPool))
}

/// Clears the pending flag. When a newer attribution replaced this one while Cognito was
/// being written, the Cognito write may have landed after the newer one's, so the newer
/// value is written again.
///
/// NOTE: with three or more concurrent writers for one user, a value written here can still
/// land after a yet newer one. The next interaction or redelivery of that user corrects it.
async fn confirm<D, W, P>(
    attribution: &Attribution,
    settings: &TaggingSettings,
    services: &Services<'_, D, W, P>,
) -> Result<(), Stop>
where
    D: Directory + Sync,
    W: AttributionWriter + Sync,
    P: UserPool + Sync,
{
    let result = put(services.writer, &ConditionalPut::confirmation(attribution)).await?;
    let PutResult::Rejected {
        current: Some(current),
    } = result
    else {
        return Ok(());
    };

    let Ok(current) = Attribution::from_item(&current) else {
        return Ok(());
    };
    if current.campaign_value != attribution.campaign_value {
        set_attribute(
            services.pool,
            settings,
            &current.username,
            &current.campaign_value,
        )
        .await?;
    }
    Ok(())
}

pub(crate) fn skip(outcome: &mut RecordOutcome, reason: SkipReason, detail: Option<String>) {
    outcome.outcome = Outcome::Skipped(reason);
    outcome.detail = detail;
}

fn fail(outcome: &mut RecordOutcome, detail: String) {
    outcome.outcome = Outcome::Failed;
    outcome.detail = Some(detail);
}
