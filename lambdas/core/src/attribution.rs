//! The stored attribution of a user, its order, and the conditional writes that keep the
//! newest one.
//!
//! Attributions are ordered by interaction time, then by journey id. The journey id only
//! breaks ties between different journeys at the same millisecond, so that the stored state
//! depends on the set of events alone, never on their order or on duplicates. DynamoDB
//! compares strings by their UTF-8 bytes, as Rust's `str` ordering does, so the condition
//! expression and [`Attribution::supersedes`] agree.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::contract::{KEY_ATTRIBUTE, TTL_ATTRIBUTE};

/// Item attribute holding the journey id of the attributed interaction.
pub const JOURNEY_ATTRIBUTE: &str = "journey_id";

/// Item attribute holding the value written to the Cognito attribute.
pub const CAMPAIGN_VALUE_ATTRIBUTE: &str = "campaign_value";

/// Item attribute holding the interaction time in epoch milliseconds.
pub const INTERACTED_AT_ATTRIBUTE: &str = "interacted_at_ms";

/// Item attribute that is `true` from the write of a new attribution until its value is known
/// to be in Cognito. A redelivered record finds it and writes Cognito again, so a Cognito
/// failure after a successful table write is not lost.
pub const PENDING_ATTRIBUTE: &str = "attribute_pending";

const MILLIS_PER_SECOND: i64 = 1000;
const SECONDS_PER_DAY: i64 = 86_400;

/// An item attribute value; attribution items use only these three types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    S(String),
    /// A number, in DynamoDB's decimal text form.
    N(String),
    Bool(bool),
}

/// A table item: attribute names to values.
pub type Item = BTreeMap<String, AttributeValue>;

/// A user's interaction with a journey, once the user is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub username: String,
    pub journey_id: String,
    pub interacted_at_ms: i64,
}

impl Candidate {
    /// Orders candidates by interaction time, then journey id.
    pub fn rank_cmp(&self, other: &Candidate) -> Ordering {
        rank_cmp(
            (self.interacted_at_ms, &self.journey_id),
            (other.interacted_at_ms, &other.journey_id),
        )
    }
}

fn rank_cmp(left: (i64, &str), right: (i64, &str)) -> Ordering {
    left.0.cmp(&right.0).then_with(|| left.1.cmp(right.1))
}

/// Returns the epoch second at which an attribution made at `interacted_at_ms` expires.
///
/// DynamoDB's TTL process reads epoch seconds; a millisecond value would never expire.
pub fn expires_at_seconds(interacted_at_ms: i64, lookback_days: u16) -> i64 {
    interacted_at_ms.div_euclid(MILLIS_PER_SECOND) + i64::from(lookback_days) * SECONDS_PER_DAY
}

/// A user's attribution as the table stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub username: String,
    pub journey_id: String,
    /// The value for the Cognito attribute: the journey's name or id.
    pub campaign_value: String,
    pub interacted_at_ms: i64,
    /// Epoch seconds; the table's TTL attribute.
    pub expires_at: i64,
    /// Whether Cognito may not hold `campaign_value` yet.
    pub attribute_pending: bool,
}

/// A stored item that is not an attribution item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribution item attribute {attribute} is missing or not a {expected}")]
pub struct ItemError {
    pub attribute: &'static str,
    pub expected: &'static str,
}

impl Attribution {
    /// Builds the attribution for a candidate, pending until Cognito contains the value.
    pub fn new(candidate: &Candidate, campaign_value: String, lookback_days: u16) -> Attribution {
        Attribution {
            username: candidate.username.clone(),
            journey_id: candidate.journey_id.clone(),
            campaign_value,
            interacted_at_ms: candidate.interacted_at_ms,
            expires_at: expires_at_seconds(candidate.interacted_at_ms, lookback_days),
            attribute_pending: true,
        }
    }

    /// Returns whether `self` ranks above `other`, so that it replaces it.
    pub fn supersedes(&self, other: &Attribution) -> bool {
        self.rank_cmp(other) == Ordering::Greater
    }

    /// Returns whether both stand for the same interaction (same time and journey).
    pub fn same_interaction(&self, other: &Attribution) -> bool {
        self.rank_cmp(other) == Ordering::Equal
    }

    fn rank_cmp(&self, other: &Attribution) -> Ordering {
        rank_cmp(
            (self.interacted_at_ms, &self.journey_id),
            (other.interacted_at_ms, &other.journey_id),
        )
    }

    /// Encodes the attribution as a table item; the pending flag is stored only when set.
    pub fn to_item(&self) -> Item {
        let mut item = Item::new();
        item.insert(
            KEY_ATTRIBUTE.into(),
            AttributeValue::S(self.username.clone()),
        );
        item.insert(
            JOURNEY_ATTRIBUTE.into(),
            AttributeValue::S(self.journey_id.clone()),
        );
        item.insert(
            CAMPAIGN_VALUE_ATTRIBUTE.into(),
            AttributeValue::S(self.campaign_value.clone()),
        );
        item.insert(
            INTERACTED_AT_ATTRIBUTE.into(),
            AttributeValue::N(self.interacted_at_ms.to_string()),
        );
        item.insert(
            TTL_ATTRIBUTE.into(),
            AttributeValue::N(self.expires_at.to_string()),
        );
        if self.attribute_pending {
            item.insert(PENDING_ATTRIBUTE.into(), AttributeValue::Bool(true));
        }
        item
    }

    /// Decodes a table item.
    pub fn from_item(item: &Item) -> Result<Attribution, ItemError> {
        Ok(Attribution {
            username: string(item, KEY_ATTRIBUTE)?,
            journey_id: string(item, JOURNEY_ATTRIBUTE)?,
            campaign_value: string(item, CAMPAIGN_VALUE_ATTRIBUTE)?,
            interacted_at_ms: number(item, INTERACTED_AT_ATTRIBUTE)?,
            expires_at: number(item, TTL_ATTRIBUTE)?,
            attribute_pending: matches!(
                item.get(PENDING_ATTRIBUTE),
                Some(AttributeValue::Bool(true))
            ),
        })
    }
}

fn string(item: &Item, attribute: &'static str) -> Result<String, ItemError> {
    match item.get(attribute) {
        Some(AttributeValue::S(value)) => Ok(value.clone()),
        _ => Err(ItemError {
            attribute,
            expected: "string",
        }),
    }
}

fn number(item: &Item, attribute: &'static str) -> Result<i64, ItemError> {
    match item.get(attribute) {
        Some(AttributeValue::N(value)) => value.parse().map_err(|_| ItemError {
            attribute,
            expected: "whole number",
        }),
        _ => Err(ItemError {
            attribute,
            expected: "number",
        }),
    }
}

/// A DynamoDB `PutItem` request with its condition, as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionalPut {
    pub item: Item,
    pub condition_expression: String,
    /// Placeholders (`#name`) to attribute names.
    pub expression_attribute_names: BTreeMap<String, String>,
    /// Placeholders (`:value`) to values.
    pub expression_attribute_values: BTreeMap<String, AttributeValue>,
}

impl ConditionalPut {
    /// Writes a new attribution, pending, if it ranks above the stored one (or none is
    /// stored). An older or equal interaction never overwrites.
    pub fn attribution(attribution: &Attribution) -> ConditionalPut {
        let mut item = attribution.to_item();
        item.insert(PENDING_ATTRIBUTE.into(), AttributeValue::Bool(true));

        ConditionalPut {
            item,
            condition_expression:
                "attribute_not_exists(#user) OR #at < :at OR (#at = :at AND #journey < :journey)"
                    .to_owned(),
            expression_attribute_names: rank_names(true),
            expression_attribute_values: rank_values(attribution),
        }
    }

    /// Clears the pending flag once Cognito contains the value. The write happens only if the
    /// stored attribution is still the same interaction, because a newer one may have replaced
    /// it meanwhile.
    pub fn confirmation(attribution: &Attribution) -> ConditionalPut {
        let confirmed = Attribution {
            attribute_pending: false,
            ..attribution.clone()
        };

        ConditionalPut {
            item: confirmed.to_item(),
            condition_expression: "#at = :at AND #journey = :journey".to_owned(),
            expression_attribute_names: rank_names(false),
            expression_attribute_values: rank_values(attribution),
        }
    }
}

impl ConditionalPut {
    /// Returns whether DynamoDB would accept this write over `stored`, the item it finds.
    ///
    /// This evaluates the condition by the rules it expresses, for callers that must predict
    /// a write without making it (a dry run). An item that is not an attribution item fails
    /// both conditions, as its missing attributes do in DynamoDB.
    pub fn holds_for(&self, stored: Option<&Item>) -> bool {
        let Ok(new) = Attribution::from_item(&self.item) else {
            return false;
        };
        let is_attribution = self.expression_attribute_names.contains_key("#user");

        match stored.map(Attribution::from_item) {
            None => is_attribution,
            Some(Ok(stored)) if is_attribution => new.supersedes(&stored),
            Some(Ok(stored)) => stored.same_interaction(&new),
            Some(Err(_)) => false,
        }
    }
}

fn rank_names(with_key: bool) -> BTreeMap<String, String> {
    let mut names = BTreeMap::from([
        ("#at".to_owned(), INTERACTED_AT_ATTRIBUTE.to_owned()),
        ("#journey".to_owned(), JOURNEY_ATTRIBUTE.to_owned()),
    ]);
    if with_key {
        names.insert("#user".to_owned(), KEY_ATTRIBUTE.to_owned());
    }
    names
}

fn rank_values(attribution: &Attribution) -> BTreeMap<String, AttributeValue> {
    BTreeMap::from([
        (
            ":at".to_owned(),
            AttributeValue::N(attribution.interacted_at_ms.to_string()),
        ),
        (
            ":journey".to_owned(),
            AttributeValue::S(attribution.journey_id.clone()),
        ),
    ])
}

/// The step after the conditional write of a new attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStep {
    /// Write the value to Cognito, then confirm the item.
    UpdateAttribute,
    /// Cognito already contains the value (the same journey's window moved): confirm the item.
    ConfirmOnly,
    /// A newer or equal attribution is stored and settled: nothing to do.
    Unchanged,
}

/// Decides the next step from the write's result.
///
/// After a write, Cognito needs the value unless the replaced attribution had the same value
/// and was settled. After a rejection, the stored item is newer or the same interaction. When
/// it is the same interaction and still pending, an earlier attempt wrote the item but not
/// Cognito, so this attempt finishes it.
pub fn next_step(new: &Attribution, written: bool, stored: Option<&Item>) -> NextStep {
    let stored = stored.and_then(|item| Attribution::from_item(item).ok());

    if written {
        return match stored {
            Some(previous)
                if previous.campaign_value == new.campaign_value && !previous.attribute_pending =>
            {
                NextStep::ConfirmOnly
            }
            _ => NextStep::UpdateAttribute,
        };
    }

    match stored {
        Some(current) if current.same_interaction(new) && current.attribute_pending => {
            NextStep::UpdateAttribute
        }
        _ => NextStep::Unchanged,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(user: &str, journey: &str, at: i64) -> Candidate {
        Candidate {
            username: user.into(),
            journey_id: journey.into(),
            interacted_at_ms: at,
        }
    }

    fn attribution(journey: &str, at: i64, value: &str, pending: bool) -> Attribution {
        Attribution {
            attribute_pending: pending,
            ..Attribution::new(&candidate("dana", journey, at), value.into(), 30)
        }
    }

    #[test]
    fn ttl_is_epoch_seconds_plus_lookback() {
        assert_eq!(expires_at_seconds(1_717_000_000_000, 30), 1_719_592_000);
        assert_eq!(expires_at_seconds(1_717_000_000_999, 1), 1_717_086_400);
    }

    #[test]
    fn ttl_item_attribute_is_a_number() {
        let item =
            Attribution::new(&candidate("u", "j", 1_717_000_000_000), "J".into(), 30).to_item();

        assert_eq!(
            item.get(TTL_ATTRIBUTE),
            Some(&AttributeValue::N("1719592000".into()))
        );
        assert_eq!(
            item.get(INTERACTED_AT_ATTRIBUTE),
            Some(&AttributeValue::N("1717000000000".into()))
        );
    }

    #[test]
    fn item_round_trips() {
        for pending in [true, false] {
            let original = attribution("j1", 1_717_000_000_000, "Spring", pending);

            let decoded = Attribution::from_item(&original.to_item()).unwrap();

            assert_eq!(decoded, original);
        }
    }

    #[test]
    fn foreign_item_is_an_error() {
        let mut item = attribution("j1", 5, "J", false).to_item();
        item.insert(
            INTERACTED_AT_ATTRIBUTE.into(),
            AttributeValue::S("5".into()),
        );

        let error = Attribution::from_item(&item).unwrap_err();

        assert_eq!(error.attribute, INTERACTED_AT_ATTRIBUTE);
    }

    #[test]
    fn newer_time_supersedes_whatever_journey() {
        let older = attribution("zzz", 1000, "Z", false);
        let newer = attribution("aaa", 1001, "A", false);

        assert!(newer.supersedes(&older));
        assert!(!older.supersedes(&newer));
    }

    #[test]
    fn tie_on_time_breaks_by_journey_id() {
        let low = attribution("journey-a", 1000, "A", false);
        let high = attribution("journey-b", 1000, "B", false);

        assert!(high.supersedes(&low));
        assert!(!low.supersedes(&high));
        assert!(!low.supersedes(&low.clone()));
        assert!(low.same_interaction(&Attribution {
            campaign_value: "renamed".into(),
            ..low.clone()
        }));
    }

    #[test]
    fn attribution_put_is_conditional_on_rank() {
        let put =
            ConditionalPut::attribution(&attribution("j1", 1_717_000_000_000, "Spring", false));

        assert_eq!(
            put.condition_expression,
            "attribute_not_exists(#user) OR #at < :at OR (#at = :at AND #journey < :journey)"
        );
        assert_eq!(put.expression_attribute_names["#user"], KEY_ATTRIBUTE);
        assert_eq!(
            put.expression_attribute_names["#at"],
            INTERACTED_AT_ATTRIBUTE
        );
        assert_eq!(
            put.expression_attribute_names["#journey"],
            JOURNEY_ATTRIBUTE
        );
        assert_eq!(
            put.expression_attribute_values[":at"],
            AttributeValue::N("1717000000000".into())
        );
        assert_eq!(
            put.expression_attribute_values[":journey"],
            AttributeValue::S("j1".into())
        );
        assert_eq!(put.item[PENDING_ATTRIBUTE], AttributeValue::Bool(true));
    }

    #[test]
    fn confirmation_clears_pending_for_same_interaction() {
        let put = ConditionalPut::confirmation(&attribution("j1", 77, "Spring", true));

        assert_eq!(
            put.condition_expression,
            "#at = :at AND #journey = :journey"
        );
        assert!(!put.item.contains_key(PENDING_ATTRIBUTE));
        assert!(!put.expression_attribute_names.contains_key("#user"));
        assert_eq!(
            put.item[CAMPAIGN_VALUE_ATTRIBUTE],
            AttributeValue::S("Spring".into())
        );
    }

    #[test]
    fn holds_for_follows_rank_rules() {
        let stored = attribution("j1", 10, "Spring", false);
        let newer = attribution("j2", 20, "Summer", true);
        let older = attribution("j0", 5, "Winter", true);
        let stored_item = stored.to_item();

        assert!(ConditionalPut::attribution(&newer).holds_for(None));
        assert!(ConditionalPut::attribution(&newer).holds_for(Some(&stored_item)));
        assert!(!ConditionalPut::attribution(&older).holds_for(Some(&stored_item)));
        assert!(!ConditionalPut::attribution(&stored).holds_for(Some(&stored_item)));
        assert!(ConditionalPut::confirmation(&stored).holds_for(Some(&stored_item)));
        assert!(!ConditionalPut::confirmation(&newer).holds_for(Some(&stored_item)));
        assert!(!ConditionalPut::confirmation(&newer).holds_for(None));
    }

    #[test]
    fn holds_for_rejects_foreign_item() {
        let foreign = Item::from([(KEY_ATTRIBUTE.to_owned(), AttributeValue::S("dana".into()))]);
        let new = attribution("j1", 10, "Spring", true);

        assert!(!ConditionalPut::attribution(&new).holds_for(Some(&foreign)));
        assert!(!ConditionalPut::confirmation(&new).holds_for(Some(&foreign)));
    }

    #[test]
    fn first_write_updates_attribute() {
        let new = attribution("j1", 10, "Spring", true);

        assert_eq!(next_step(&new, true, None), NextStep::UpdateAttribute);
    }

    #[test]
    fn write_over_other_value_updates_attribute() {
        let new = attribution("j2", 10, "Summer", true);
        let previous = attribution("j1", 5, "Spring", false).to_item();

        assert_eq!(
            next_step(&new, true, Some(&previous)),
            NextStep::UpdateAttribute
        );
    }

    #[test]
    fn window_extension_only_confirms() {
        let new = attribution("j1", 10, "Spring", true);
        let previous = attribution("j1", 5, "Spring", false).to_item();

        assert_eq!(
            next_step(&new, true, Some(&previous)),
            NextStep::ConfirmOnly
        );
    }

    #[test]
    fn write_over_pending_same_value_updates_attribute() {
        let new = attribution("j1", 10, "Spring", true);
        let previous = attribution("j1", 5, "Spring", true).to_item();

        assert_eq!(
            next_step(&new, true, Some(&previous)),
            NextStep::UpdateAttribute
        );
    }

    #[test]
    fn write_over_foreign_item_updates_attribute() {
        let new = attribution("j1", 10, "Spring", true);
        let foreign = Item::from([(KEY_ATTRIBUTE.to_owned(), AttributeValue::S("dana".into()))]);

        assert_eq!(
            next_step(&new, true, Some(&foreign)),
            NextStep::UpdateAttribute
        );
    }

    #[test]
    fn rejection_by_newer_is_unchanged() {
        let new = attribution("j1", 10, "Spring", true);
        let current = attribution("j2", 20, "Summer", true).to_item();

        assert_eq!(next_step(&new, false, Some(&current)), NextStep::Unchanged);
    }

    #[test]
    fn duplicate_of_settled_is_unchanged() {
        let new = attribution("j1", 10, "Spring", true);
        let current = attribution("j1", 10, "Spring", false).to_item();

        assert_eq!(next_step(&new, false, Some(&current)), NextStep::Unchanged);
    }

    #[test]
    fn duplicate_of_pending_resumes_update() {
        let new = attribution("j1", 10, "Spring", true);
        let current = attribution("j1", 10, "Spring", true).to_item();

        assert_eq!(
            next_step(&new, false, Some(&current)),
            NextStep::UpdateAttribute
        );
    }

    #[test]
    fn rejection_without_item_is_unchanged() {
        let new = attribution("j1", 10, "Spring", true);

        assert_eq!(next_step(&new, false, None), NextStep::Unchanged);
    }
}
