//! The functions' share of Cognito's user-update quota, and the concurrency that keeps them
//! inside it.
//!
//! `AdminUpdateUserAttributes` shares one quota with every other user-update call of the
//! account and region: 25 requests per second by default, or the environment's
//! `cognito_quota` after AWS raised it for the account. Each function instance limits its
//! own calls to `cognito_updates_per_second`, so the application as a whole stays within its
//! `cognito_quota_percent` of the quota when the number of instances is capped too: reserved
//! concurrency on both functions, and one concurrent batch per Kinesis shard.

/// Requests per second of Cognito's user-update quota per account and region (AWS's default),
/// the default of the environment's `cognito_quota`.
pub const DEFAULT_USER_UPDATES_PER_SECOND: u32 = 25;

/// Instances that the expiration function may run at once. Expiries arrive as DynamoDB TTL
/// deletions, days after the interactions and spread out, so one instance keeps up.
pub const EXPIRATION_CONCURRENCY: u32 = 1;

/// Concurrent batches per Kinesis shard; one keeps each shard's records in order.
pub const PARALLELIZATION_FACTOR: u32 = 1;

/// How many instances of each function may run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concurrency {
    /// Reserved concurrency of the tagging function.
    pub tagging: u32,
    /// Reserved concurrency of the expiration function.
    pub expiration: u32,
    /// `ParallelizationFactor` of the Kinesis event source mapping.
    pub parallelization_factor: u32,
}

impl Concurrency {
    /// Returns the most Cognito updates per second that all instances together can make.
    pub fn peak_updates_per_second(&self, updates_per_second: u32) -> u32 {
        (self.tagging + self.expiration) * updates_per_second
    }
}

/// Returns the concurrency that keeps `updates_per_second` per instance within `percent` of
/// the account's quota of `quota` user updates per second, or the message for a configuration
/// that leaves no room for one instance of each function.
pub fn concurrency(
    updates_per_second: u32,
    percent: u32,
    quota: u32,
) -> Result<Concurrency, String> {
    let share = quota * percent;
    let instances = share / (100 * updates_per_second.max(1));

    if instances < 1 + EXPIRATION_CONCURRENCY {
        let needed = (1 + EXPIRATION_CONCURRENCY) * updates_per_second;
        return Err(format!(
            "cognito_quota_percent: {percent}% of Cognito's {quota} user updates per second (cognito_quota) is {:.2}, but one tagging and one expiration instance at cognito_updates_per_second {updates_per_second} need {needed}; raise cognito_quota_percent, lower cognito_updates_per_second, or raise cognito_quota once AWS has raised the account's quota",
            f64::from(share) / 100.0
        ));
    }

    Ok(Concurrency {
        tagging: instances - EXPIRATION_CONCURRENCY,
        expiration: EXPIRATION_CONCURRENCY,
        parallelization_factor: PARALLELIZATION_FACTOR,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_their_share() {
        let concurrency = concurrency(1, 20, DEFAULT_USER_UPDATES_PER_SECOND).unwrap();

        assert_eq!(
            concurrency,
            Concurrency {
                tagging: 4,
                expiration: 1,
                parallelization_factor: 1,
            }
        );
        assert_eq!(concurrency.peak_updates_per_second(1), 5);
    }

    #[test]
    fn peak_never_exceeds_share() {
        for rate in 1..=25 {
            for percent in 1..=100 {
                let Ok(concurrency) = concurrency(rate, percent, DEFAULT_USER_UPDATES_PER_SECOND)
                else {
                    continue;
                };
                let peak = concurrency.peak_updates_per_second(rate);

                assert!(
                    peak * 100 <= DEFAULT_USER_UPDATES_PER_SECOND * percent,
                    "rate {rate}, percent {percent}: peak {peak}"
                );
                assert!(concurrency.tagging >= 1);
            }
        }
    }

    #[test]
    fn share_too_small_is_explained() {
        let message = concurrency(5, 20, DEFAULT_USER_UPDATES_PER_SECOND).unwrap_err();

        assert_eq!(
            message,
            "cognito_quota_percent: 20% of Cognito's 25 user updates per second (cognito_quota) is 5.00, but one tagging and one expiration instance at cognito_updates_per_second 5 need 10; raise cognito_quota_percent, lower cognito_updates_per_second, or raise cognito_quota once AWS has raised the account's quota"
        );
    }

    #[test]
    fn whole_quota_at_one_per_second_allows_twenty_four_taggers() {
        assert_eq!(
            concurrency(1, 100, DEFAULT_USER_UPDATES_PER_SECOND)
                .unwrap()
                .tagging,
            24
        );
    }

    #[test]
    fn raised_quota_fits_a_fleet() {
        let fifty_at_default = concurrency(1, 2, DEFAULT_USER_UPDATES_PER_SECOND);
        let fifty_at_raised = concurrency(1, 2, 100).unwrap();

        assert!(
            fifty_at_default.is_err(),
            "2% of 25 is 0.5 updates per second"
        );
        assert_eq!(fifty_at_raised.tagging, 1);
        assert_eq!(fifty_at_raised.expiration, 1);
        assert_eq!(fifty_at_raised.peak_updates_per_second(1), 2);
    }
}
