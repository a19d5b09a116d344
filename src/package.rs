//! `package`: static builds of the Lambda functions into deterministic zips.
//!
//! STUB: being written.
