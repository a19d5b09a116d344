//! Value-level checks that collect problems with their locations.

use std::fmt::Display;

use serde_saphyr::Location;

use super::Problem;
use super::raw::{Located, RawValue};

/// Collects the problems of one environment file.
pub(super) struct Checker<'a> {
    /// Text of the file, to show values as they were written.
    text: &'a str,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    pub fn new(text: &'a str) -> Self {
        Checker {
            text,
            problems: Vec::new(),
        }
    }

    /// Records a problem at `location` (line 1, column 1 when the location is unknown).
    pub fn report(&mut self, location: &Location, message: impl Into<String>) {
        self.problems.push(Problem {
            line: location.line().max(1),
            column: location.column().max(1),
            message: message.into(),
        });
    }

    /// Returns every problem found, sorted by position in the file.
    pub fn into_problems(mut self) -> Vec<Problem> {
        self.problems
            .sort_by_key(|problem| (problem.line, problem.column));
        self.problems
    }

    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Passes a required key through, reporting it as missing from the mapping at `mapping`
    /// when absent.
    pub fn required<T>(
        &mut self,
        value: Option<Located<T>>,
        key: &str,
        mapping: &Location,
        example: &str,
    ) -> Option<Located<T>> {
        if value.is_none() {
            self.report(
                mapping,
                format!("missing key `{key}` in this mapping; add `{key}: {example}`"),
            );
        }
        value
    }

    /// Returns the value as written in the file (for an alias, the anchored value), when known.
    pub fn source_text<T>(&self, value: &Located<T>) -> Option<&'a str> {
        let span = value.defined.span();
        let start = usize::try_from(span.byte_offset()?).ok()?;
        let length = usize::try_from(span.byte_len()?).ok()?;
        self.text.get(start..start.checked_add(length)?)
    }

    fn is_quoted<T>(&self, value: &Located<T>) -> bool {
        self.source_text(value)
            .is_some_and(|text| text.starts_with('"') || text.starts_with('\''))
    }

    /// Reads a whole number. `expected` completes "expected ..." in messages, and `example` is
    /// a valid value to suggest.
    pub fn whole_number(
        &mut self,
        value: &Located<RawValue>,
        key: &str,
        expected: &str,
        example: impl Display,
    ) -> Option<i128> {
        let written = self.source_text(value).unwrap_or_default().trim();
        let found_and_fix = match &value.value {
            RawValue::Integer(number) if is_plain_decimal(written) || written.is_empty() => {
                return Some(*number);
            }
            RawValue::Integer(_) => {
                format!("found {written}; write it as a plain decimal number, like {example}")
            }
            RawValue::Float(_) if has_leading_zero(written) => {
                format!("found {written}; write it without the leading zero")
            }
            RawValue::Float(_) => format!("found {written}; write a whole number, like {example}"),
            RawValue::String(text)
                if self.is_quoted(value) && text.trim().parse::<i64>().is_ok() =>
            {
                format!("found the string {text:?}; write it without quotes")
            }
            RawValue::String(text) if self.is_quoted(value) => {
                format!("found the string {text:?}; write a number, like {example}")
            }
            RawValue::String(text) => format!("found {text}; write a number, like {example}"),
            other => format!("found {}; write a number, like {example}", describe(other)),
        };
        self.report(
            &value.referenced,
            format!("{key}: expected {expected}, {found_and_fix}"),
        );
        None
    }

    /// Reads a whole number within `range`.
    pub fn number_in(
        &mut self,
        value: &Located<RawValue>,
        key: &str,
        range: std::ops::RangeInclusive<u32>,
        example: u32,
    ) -> Option<u32> {
        let expected = format!("an integer from {} to {}", range.start(), range.end());
        let number = self.whole_number(value, key, &expected, example)?;
        match u32::try_from(number) {
            Ok(number) if range.contains(&number) => Some(number),
            _ => {
                self.report(
                    &value.referenced,
                    format!(
                        "{key}: expected {expected}, found {number}; use a value from {} to {}",
                        range.start(),
                        range.end()
                    ),
                );
                None
            }
        }
    }

    /// Reads `true` or `false`, spelt as YAML 1.2 does.
    pub fn boolean(&mut self, value: &Located<RawValue>, key: &str) -> Option<bool> {
        let found = match &value.value {
            RawValue::Bool(flag) => return Some(*flag),
            RawValue::String(text) if self.is_quoted(value) => format!("the string {text:?}"),
            RawValue::String(text) => text.clone(),
            other => match self.source_text(value) {
                Some(written) if matches!(other, RawValue::Integer(_) | RawValue::Float(_)) => {
                    written.to_owned()
                }
                _ => describe(other).to_owned(),
            },
        };
        self.report(
            &value.referenced,
            format!(
                "{key}: expected true or false, found {found}; write true or false without quotes (yes, no, on and off are not booleans here)"
            ),
        );
        None
    }

    /// Reads one of a fixed set of words.
    pub fn choice<T: Copy>(
        &mut self,
        value: &Located<String>,
        key: &str,
        choices: &[(&str, T)],
    ) -> Option<T> {
        if let Some((_, choice)) = choices.iter().find(|(word, _)| *word == value.value) {
            return Some(*choice);
        }

        let words: Vec<&str> = choices.iter().map(|(word, _)| *word).collect();
        let mut message = format!(
            "{key}: expected {}, found {:?}",
            words.join(" or "),
            value.value
        );
        if let Some(suggestion) = words
            .iter()
            .find(|word| strsim::damerau_levenshtein(&value.value.to_lowercase(), word) <= 2)
        {
            message.push_str(&format!("; did you mean {suggestion}?"));
        }
        self.report(&value.referenced, message);
        None
    }
}

fn describe(value: &RawValue) -> &'static str {
    match value {
        RawValue::Integer(_) | RawValue::Float(_) => "a number",
        RawValue::Bool(_) => "a boolean",
        RawValue::String(_) => "a string",
        RawValue::Null => "an empty value",
        RawValue::Sequence => "a list",
        RawValue::Mapping => "a mapping",
    }
}

/// Checks that `text` is a decimal integer without a leading zero, as people write counts.
fn is_plain_decimal(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty()
        && digits.bytes().all(|byte| byte.is_ascii_digit())
        && !has_leading_zero(text)
}

fn has_leading_zero(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|byte| byte.is_ascii_digit())
}
