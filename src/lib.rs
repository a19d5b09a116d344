//! Deployer of Amazon Pinpoint journey attribution stacks, one per Pinpoint application.

pub mod artifacts;
pub mod config;
pub mod package;
pub mod render;
