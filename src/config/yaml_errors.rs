//! Turns serde-saphyr's errors (YAML syntax, unknown or duplicate keys, a list where a
//! string belongs) into problems that name the key and the fix.

use serde_saphyr::{Error, Location, MessageFormatter, UserMessageFormatter};

use super::Problem;

/// Keys of the top level of an environment file.
const TOP_LEVEL_KEYS: &[&str] = &[
    "environment",
    "region",
    "account_id",
    "protected",
    "stack_prefix",
    "artifacts_bucket",
    "tags",
    "defaults",
    "applications",
];

/// Keys that identify an application and so cannot go under `defaults:`.
const APPLICATION_KEYS: &[&str] = &["name", "pinpoint_app_id", "user_pool_id"];

/// Describes a parse error of the environment file `text`.
pub(super) fn describe(error: &Error, text: &str) -> Problem {
    let error = innermost(error);
    let location = error.location().unwrap_or(Location::UNKNOWN);
    let message = match error {
        Error::SerdeUnknownField {
            field, expected, ..
        } => unknown_key(field, expected),
        Error::DuplicateMappingKey { key, location } => {
            duplicate_key(key.as_deref(), *location, text)
        }
        Error::MultipleDocuments { .. } => {
            "the file contains more than one YAML document; keep a single document (remove the `---` line)"
                .to_owned()
        }
        Error::SerdeMissingField { field, .. } => format!("missing key `{field}`; add it"),
        Error::NullIntoString { .. } => with_key(
            text,
            location,
            "expected a string, found an empty value; write a value or remove the key",
        ),
        Error::Unexpected { expected, .. } => with_key(text, location, &unexpected(expected)),
        Error::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => with_key(
            text,
            location,
            &format!("expected {}, found {unexpected}", plain_expected(expected)),
        ),
        Error::ExternalMessage { .. } => with_key(
            text,
            location,
            &format!(
                "invalid YAML: {}; check the indentation and quoting near this position",
                plain_message(error)
            ),
        ),
        other => generic(other, text, location),
    };

    Problem {
        line: location.line().max(1),
        column: location.column().max(1),
        message,
    }
}

/// Looks through the wrappers that serde-saphyr puts around the error that happened.
fn innermost(error: &Error) -> &Error {
    match error.without_snippet() {
        Error::AliasError { error, .. } => innermost(error),
        other => other,
    }
}

fn unknown_key(field: &str, expected: &[&str]) -> String {
    let mut message = format!("unknown key `{field}`");

    if let Some(suggestion) = closest(field, expected) {
        message.push_str(&format!("; did you mean `{suggestion}`?"));
    } else if expected.contains(&"environment") && is_setting(field) {
        message.push_str(
            "; application settings go under `defaults:` (for every application) or under one application",
        );
    } else if expected.contains(&"lookback_days")
        && !expected.contains(&"name")
        && APPLICATION_KEYS.contains(&field)
    {
        message
            .push_str("; set it on each application under `applications:`, not under `defaults:`");
    } else if expected.contains(&"name") && TOP_LEVEL_KEYS.contains(&field) {
        message.push_str("; it belongs at the top level of the file, not in an application");
    }

    message.push_str(&format!(" (allowed keys: {})", expected.join(", ")));
    message
}

/// Returns the allowed key closest to a misspelt one, if any is close enough to be a typo.
fn closest<'a>(field: &str, expected: &[&'a str]) -> Option<&'a str> {
    expected
        .iter()
        .map(|candidate| (strsim::damerau_levenshtein(field, candidate), *candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn is_setting(field: &str) -> bool {
    const SETTINGS: &[&str] = &[
        "lookback_days",
        "interaction_events",
        "username_attribute",
        "campaign_attribute",
        "campaign_value",
        "architecture",
        "memory_mb",
        "timeout_seconds",
        "log_retention_days",
        "batch_size",
        "maximum_retry_attempts",
        "cognito_updates_per_second",
        "cognito_quota_percent",
    ];
    SETTINGS.contains(&field)
}

fn duplicate_key(key: Option<&str>, location: Location, text: &str) -> String {
    let Some(key) = key else {
        return "duplicate key in this mapping; each key may appear once, remove one of them"
            .to_owned();
    };

    match first_occurrence(text, key, location) {
        Some(first_line) => format!(
            "duplicate key `{key}`: this mapping already sets it on line {first_line}; keep one of the two"
        ),
        None => format!("duplicate key `{key}`: this mapping already sets it; keep one of the two"),
    }
}

/// Finds the line of the earlier `key:` in the same block mapping as the duplicate at
/// `location`, by walking up through the lines indented like it.
fn first_occurrence(text: &str, key: &str, location: Location) -> Option<u64> {
    let lines: Vec<&str> = text.lines().collect();
    let duplicate_line = usize::try_from(location.line()).ok()?;
    let column = key_column(lines.get(duplicate_line.checked_sub(1)?)?)?;

    for index in (0..duplicate_line - 1).rev() {
        let line = lines[index];
        let Some(line_column) = key_column(line) else {
            continue;
        };
        if line_column < column {
            return None;
        }
        if line_column == column && key_of(line) == Some(key) {
            return Some(index as u64 + 1);
        }
    }
    None
}

/// Returns the 0-based column where the key of a block mapping line starts, after its
/// indentation and any `- ` sequence markers. Blank and comment lines have no key.
fn key_column(line: &str) -> Option<usize> {
    let mut column = 0;
    let mut rest = line;
    loop {
        let trimmed = rest.trim_start_matches(' ');
        column += rest.len() - trimmed.len();
        rest = trimmed;
        match rest.strip_prefix("- ") {
            Some(after) => {
                column += 2;
                rest = after;
            }
            None => break,
        }
    }

    if rest.is_empty() || rest.starts_with('#') {
        return None;
    }
    Some(column)
}

/// Returns the plain key at the start of a block mapping line, if the line has one.
fn key_of(line: &str) -> Option<&str> {
    let start = key_column(line)?;
    let rest = line.get(start..)?;
    let (key, _) = rest.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty() && !key.contains(' ')).then_some(key)
}

fn unexpected(expected: &str) -> String {
    match expected {
        "string scalar" => {
            "expected a single value, found a list or a mapping; write one value".to_owned()
        }
        "sequence start" => {
            "expected a list; write it as `[a, b]` or as one `- item` line per entry".to_owned()
        }
        "mapping start" => "expected a mapping of `key: value` lines".to_owned(),
        other => format!("expected {other}"),
    }
}

/// Rewrites serde's description of an expected type in the file's terms.
fn plain_expected(expected: &str) -> String {
    if expected.starts_with("struct Raw") {
        return "a mapping of `key: value` lines".to_owned();
    }
    match expected {
        "a sequence" => "a list".to_owned(),
        "a map" => "a mapping of `key: value` lines".to_owned(),
        other => other.to_owned(),
    }
}

/// serde-saphyr's own message, without its location suffix and with control characters
/// escaped.
fn plain_message(error: &Error) -> String {
    UserMessageFormatter
        .format_message(error)
        .escape_debug()
        .to_string()
}

fn generic(error: &Error, text: &str, location: Location) -> String {
    let detail = plain_message(error);
    match key_at(text, location) {
        Some(key) => format!(
            "{key}: {detail}; check this value against the environment file reference in README.md"
        ),
        None => {
            format!("invalid YAML: {detail}; check the indentation and quoting near this position")
        }
    }
}

/// Prefixes a message with the key whose value is at `location`, when one can be found.
fn with_key(text: &str, location: Location, message: &str) -> String {
    match key_at(text, location) {
        Some(key) => format!("{key}: {message}"),
        None => message.to_owned(),
    }
}

/// Returns the key written on the line of `location`, before the position of the value.
fn key_at(text: &str, location: Location) -> Option<String> {
    let line_number = usize::try_from(location.line()).ok()?.checked_sub(1)?;
    let line = text.lines().nth(line_number)?;
    let key = key_of(line)?;
    let key_end = line.find(':')?;
    let column = usize::try_from(location.column()).ok()?;
    (column > key_end).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_column_skips_sequence_markers() {
        assert_eq!(key_column("  - name: shop"), Some(4));
        assert_eq!(key_column("    lookback_days: 3"), Some(4));
        assert_eq!(key_column("# comment"), None);
        assert_eq!(key_column("   "), None);
    }

    #[test]
    fn closest_finds_typos_only() {
        let keys = ["region", "environment", "tags"];
        assert_eq!(closest("regoin", &keys), Some("region"));
        assert_eq!(closest("enviroment", &keys), Some("environment"));
        assert_eq!(closest("colour", &keys), None);
    }
}
