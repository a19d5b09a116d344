//! The SDK retry settings of the tagging function's clients.
//!
//! The SDK retries throttling errors, 5xx responses and network failures: standard mode,
//! exponential backoff with full jitter, capped at [`MAX_BACKOFF`]. The adapters bound each
//! call by the invocation's deadline through [`bounded`].

pub use attribution_aws::retry_config;
pub use attribution_core::budget::{
    INITIAL_BACKOFF, MAX_ATTEMPTS, MAX_BACKOFF, SAFETY_MARGIN, bounded, budget_deadline,
    within_budget,
};
