//! The expiration function: reads the attribution table's stream and blanks a user's campaign
//! attribute when DynamoDB's TTL process deletes their attribution, unless a newer one exists.
//!
//! The decisions live in `attribution_core`. This crate wires them to DynamoDB and Cognito
//! through the SDK and turns the outcome into the stream's partial batch response.
//!
//! IAM actions used: `dynamodb:GetItem` on the attribution table and
//! `cognito-idp:AdminUpdateUserAttributes` on the user pool.

pub mod handler;

pub use attribution_aws::{CognitoPool, DynamoTable};
pub use handler::{Expiration, response};
