//! Source-independent attribution logic shared by the Lambda functions and local replays.
//!
//! This crate makes no AWS call. It decodes event records, decides what an event means for a
//! user's attribution, and contains the expiry rules. The function crates wire it to SDK
//! clients through the traits in [`services`].
//!
//! A batch of Pinpoint event-stream records goes through [`batch::attribute_batch`]; a batch
//! of the attribution table's stream records goes through [`expiry::expire_batch`]. Both
//! return one outcome per record, counts, and the record to report as failed, if any. A
//! Pinpoint custom-channel invocation goes through [`custom_channel::attribute_custom_channel`],
//! which makes the same decisions for each of its endpoints.

pub mod attribution;
pub mod batch;
pub mod budget;
pub mod classify;
pub mod contract;
pub mod custom_channel;
pub mod decode;
pub mod directory;
pub mod event;
pub mod expiry;
pub mod outcome;
pub mod quota;
pub mod services;
pub mod settings;

pub use attribution::{AttributeValue, Attribution, Candidate, ConditionalPut, Item};
pub use batch::{InputRecord, Services, TaggingReport, attribute_batch};
pub use custom_channel::{
    CustomChannelEvent, InvocationKind, attribute_custom_channel, invocation_kind,
};
pub use directory::{EndpointExport, EndpointUser};
pub use expiry::{ExpirationReport, expire_batch};
pub use outcome::{Outcome, RecordOutcome, SkipReason};
pub use services::{
    AttributionReader, AttributionWriter, Directory, FailureKind, PutResult, ServiceError, UserPool,
};
pub use settings::{CampaignValue, ExpirationSettings, SettingsError, TaggingSettings};
