//! The per-instance rate of Cognito user updates.
//!
//! `AdminUpdateUserAttributes` shares a quota of 25 requests per second with every other
//! user-update call of the account and region. Each function instance spaces its updates to
//! at most the configured rate; the deployer caps the number of instances so that all of them
//! together stay within the application's share of the quota.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::contract::env;
use crate::settings::SettingsError;

/// Updates per second when the setting is absent.
pub const DEFAULT_UPDATES_PER_SECOND: NonZeroU32 = NonZeroU32::MIN;

/// Highest rate accepted: the account's whole quota.
pub const MAX_UPDATES_PER_SECOND: u32 = 25;

/// Extra spacing between two updates, in percent of the interval that the rate gives.
///
/// A request is signed and sent a few milliseconds after the limiter lets it through, and
/// that delay varies. At exactly `1 / rate` apart, two requests could then reach Cognito
/// within one second; 5% more spacing keeps them apart.
const SPACING_MARGIN_PERCENT: u32 = 5;

/// Spaces Cognito updates to a fixed rate, without bursts.
#[derive(Debug)]
pub struct UpdateLimiter {
    limiter: DefaultDirectRateLimiter,
}

impl UpdateLimiter {
    /// Allows at most `per_second` updates per second, each at least `1 / per_second` plus
    /// [`SPACING_MARGIN_PERCENT`] after the last.
    pub fn new(per_second: NonZeroU32) -> UpdateLimiter {
        let interval =
            Duration::from_secs(1) * (100 + SPACING_MARGIN_PERCENT) / (100 * per_second.get());
        // A rate so high that the interval rounds to zero nanoseconds gets no margin.
        let quota = Quota::with_period(interval)
            .unwrap_or_else(|| Quota::per_second(per_second))
            .allow_burst(NonZeroU32::MIN);
        UpdateLimiter {
            limiter: RateLimiter::direct(quota),
        }
    }

    /// Waits until the next update may be sent.
    pub async fn ready(&self) {
        self.limiter.until_ready().await;
    }
}

/// Reads the per-instance rate through `lookup`; absent means [`DEFAULT_UPDATES_PER_SECOND`].
pub fn updates_per_second(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<NonZeroU32, SettingsError> {
    const EXPECTED: &str = "Cognito updates per second per instance, a whole number from 1 to 25";
    let Some(value) = lookup(env::COGNITO_UPDATES_PER_SECOND)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
    else {
        return Ok(DEFAULT_UPDATES_PER_SECOND);
    };

    match value.parse::<u32>() {
        Ok(rate) if (1..=MAX_UPDATES_PER_SECOND).contains(&rate) => {
            Ok(NonZeroU32::new(rate).unwrap_or(DEFAULT_UPDATES_PER_SECOND))
        }
        _ => Err(SettingsError::Invalid {
            name: env::COGNITO_UPDATES_PER_SECOND,
            value,
            expected: EXPECTED,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use futures::executor::block_on;

    use super::*;

    #[test]
    fn limiter_spaces_updates() {
        let limiter = UpdateLimiter::new(NonZeroU32::new(20).unwrap());
        let started = Instant::now();

        block_on(async {
            for _ in 0..5 {
                limiter.ready().await;
            }
        });

        // The first update goes at once, each later one 52.5 ms (50 ms and the margin) after
        // the one before.
        assert!(
            started.elapsed() >= Duration::from_millis(205),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn rate_is_read_and_checked() {
        assert_eq!(updates_per_second(|_| None).unwrap().get(), 1);
        assert_eq!(updates_per_second(|_| Some(" 5 ".into())).unwrap().get(), 5);
        for invalid in ["0", "26", "2.5", "fast"] {
            let error = updates_per_second(|_| Some(invalid.into())).unwrap_err();

            assert!(
                error.to_string().contains(env::COGNITO_UPDATES_PER_SECOND),
                "{error}"
            );
        }
    }
}
