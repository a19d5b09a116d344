//! Deployer of Amazon Pinpoint journey attribution stacks, one per Pinpoint application.

pub mod apply;
pub mod artifacts;
pub mod aws;
pub mod cli;
pub mod cloudformation;
pub mod config;
pub mod destroy;
pub mod diff;
pub mod guard;
pub mod output;
pub mod package;
pub mod plan;
pub mod progress;
pub mod quota;
pub mod render;
pub mod replay;
pub mod run;
pub mod session;
pub mod status;
pub mod upload;
pub mod wiring;
