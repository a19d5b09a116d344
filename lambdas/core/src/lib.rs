//! Source-independent attribution logic shared by the Lambda functions and local replays.
//!
//! This crate makes no AWS call. It decodes event records, decides what an event means for a
//! user's attribution, and holds the expiry rules; the function crates wire it to SDK clients.

pub mod contract;
