//! The tagging function: reads Pinpoint event-stream records from Kinesis and attributes
//! users to the journeys they interacted with.
//!
//! The decisions live in `attribution_core`. This crate wires them to DynamoDB, Cognito and
//! Pinpoint through the SDK and turns the outcome into Kinesis's partial batch response. The
//! function also accepts Pinpoint custom-channel invocations from journey steps built for the
//! original form of this solution, and makes the same decisions for their endpoints.
//!
//! IAM actions used: `dynamodb:PutItem` on the attribution table,
//! `cognito-idp:AdminUpdateUserAttributes` on the user pool, and `mobiletargeting:GetEndpoint`
//! and `mobiletargeting:GetJourney` on the Pinpoint application.

pub mod aws;
pub mod handler;
pub mod retry;

pub use aws::{CognitoPool, DynamoTable, PinpointDirectory};
pub use handler::{
    InvocationError, Tagging, custom_channel_response, kinesis_records, response, system_clock,
};
