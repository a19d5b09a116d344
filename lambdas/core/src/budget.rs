//! The time budget of one invocation: AWS calls, retries included, stop at its deadline.
//!
//! The SDK retries throttling errors, 5xx responses and network failures itself, but it
//! cannot know when the invocation must return its response. [`within_budget`] sets that
//! deadline for one invocation, and every call that the function crates make through
//! [`bounded`] gives up when it passes. The record that needed the call then fails as
//! retryable, the batch stops there, and the partial batch response names it, so Lambda
//! resumes from it instead of timing out the whole invocation.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::services::{FailureKind, ServiceError};

/// Time kept back from the Lambda deadline to log the counts and return the response.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(2);

/// Attempts per AWS call, the first included, for the functions' SDK retry settings.
pub const MAX_ATTEMPTS: u32 = 5;

/// Base of the SDK's exponential backoff; it draws each wait at random below its cap.
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);

/// Maximum wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Message of a call cut off by the deadline.
const BUDGET_SPENT: &str =
    "the invocation's time budget ran out before the call and its retries finished";

tokio::task_local! {
    static DEADLINE: Instant;
}

/// Returns the instant by which the invocation's AWS calls must have finished: the Lambda
/// deadline (`deadline_ms`, epoch milliseconds) less [`SAFETY_MARGIN`], measured from
/// `now_ms` and `now`, the same moment on both clocks.
pub fn budget_deadline(deadline_ms: u64, now_ms: i64, now: Instant) -> Instant {
    let remaining_ms = i64::try_from(deadline_ms)
        .unwrap_or(i64::MAX)
        .saturating_sub(now_ms)
        .max(0);
    let remaining = Duration::from_millis(remaining_ms.unsigned_abs());
    now + remaining.saturating_sub(SAFETY_MARGIN)
}

/// Runs one invocation's work with its calls bounded by `deadline`.
pub async fn within_budget<F: Future>(deadline: Instant, work: F) -> F::Output {
    DEADLINE.scope(deadline, work).await
}

/// Awaits one call, retries included, until the current invocation's deadline; without a
/// deadline (outside [`within_budget`], e.g. in a replay) it waits for the call to end.
pub async fn bounded<T>(
    operation: &'static str,
    call: impl Future<Output = Result<T, ServiceError>>,
) -> Result<T, ServiceError> {
    let Ok(deadline) = DEADLINE.try_with(|deadline| *deadline) else {
        return call.await;
    };

    match tokio::time::timeout_at(deadline.into(), call).await {
        Ok(result) => result,
        Err(_) => Err(ServiceError {
            operation,
            kind: FailureKind::Retryable,
            message: BUDGET_SPENT.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_keeps_safety_margin() {
        let now = Instant::now();

        let deadline = budget_deadline(1_000_060_000, 1_000_000_000, now);

        assert_eq!(deadline - now, Duration::from_secs(58));
    }

    #[test]
    fn spent_budget_ends_now() {
        let now = Instant::now();

        assert_eq!(budget_deadline(1_000_001_000, 1_000_000_000, now), now);
        assert_eq!(budget_deadline(5, 1_000_000_000, now), now);
    }

    #[tokio::test]
    async fn call_past_deadline_is_retryable() {
        let deadline = Instant::now() + Duration::from_millis(20);

        let result: Result<(), ServiceError> = within_budget(
            deadline,
            bounded("PutItem", async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            }),
        )
        .await;

        let error = result.unwrap_err();
        assert_eq!(error.kind, FailureKind::Retryable);
        assert_eq!(error.operation, "PutItem");
    }

    #[tokio::test]
    async fn call_without_deadline_runs_to_the_end() {
        let result = bounded("PutItem", async { Ok::<_, ServiceError>(7) }).await;

        assert_eq!(result, Ok(7));
    }
}
