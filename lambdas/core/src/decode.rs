//! Turns a stream record's bytes into a [`PinpointEvent`], or into the reason to skip it.
//!
//! Every failure is a [`SkipReason`]: a record that cannot be decoded now cannot be decoded
//! on a retry either, so it must never fail its batch.

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::read::MultiGzDecoder;
use serde_json::error::Category;

use crate::event::PinpointEvent;
use crate::outcome::SkipReason;

/// Largest event accepted, in bytes, before and after decompression.
///
/// Kinesis records are at most 1 MiB unless the stream is configured for more, and Pinpoint
/// rejects events over 1,000 KB, so a larger payload is not a Pinpoint event. The limit also
/// bounds what a compressed payload may expand to.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// The two bytes that start every gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A decoding failure: the reason to skip and a detail for the log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub reason: SkipReason,
    /// Position or cause, never the payload itself (it may hold personal data).
    pub detail: String,
}

impl DecodeError {
    fn new(reason: SkipReason, detail: impl Into<String>) -> DecodeError {
        DecodeError {
            reason,
            detail: detail.into(),
        }
    }
}

/// Decodes the base64 `data` of a Kinesis record into bytes.
pub fn decode_base64(data: &str) -> Result<Vec<u8>, DecodeError> {
    let max_encoded = MAX_EVENT_BYTES.div_ceil(3) * 4;
    if data.len() > max_encoded {
        return Err(DecodeError::new(
            SkipReason::Oversized,
            format!(
                "{} base64 characters exceed the {MAX_EVENT_BYTES}-byte limit",
                data.len()
            ),
        ));
    }

    STANDARD
        .decode(data)
        .map_err(|error| DecodeError::new(SkipReason::InvalidBase64, error.to_string()))
}

/// Decodes one record's payload: gzip (when it starts with 1F 8B), UTF-8, then a JSON object.
pub fn decode_event(payload: &[u8]) -> Result<PinpointEvent, DecodeError> {
    check_size(payload.len())?;

    let decompressed;
    let bytes = if payload.starts_with(&GZIP_MAGIC) {
        decompressed = gunzip(payload)?;
        decompressed.as_slice()
    } else {
        payload
    };

    let text = std::str::from_utf8(bytes).map_err(|error| {
        DecodeError::new(
            SkipReason::NotUtf8,
            format!("invalid UTF-8 at byte {}", error.valid_up_to()),
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text).trim_start();

    if !text.starts_with('{') {
        let found = text
            .chars()
            .next()
            .map_or("nothing".to_owned(), |c| format!("{c:?}"));
        return Err(DecodeError::new(
            SkipReason::NotAnObject,
            format!("expected a JSON object, found {found}"),
        ));
    }

    serde_json::from_str::<PinpointEvent>(text).map_err(json_error)
}

fn check_size(len: usize) -> Result<(), DecodeError> {
    if len > MAX_EVENT_BYTES {
        return Err(DecodeError::new(
            SkipReason::Oversized,
            format!("{len} bytes exceed the {MAX_EVENT_BYTES}-byte limit"),
        ));
    }
    Ok(())
}

/// Decompresses a gzip payload, reading at most one byte past the limit.
fn gunzip(payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut output = Vec::new();
    MultiGzDecoder::new(payload)
        .take(MAX_EVENT_BYTES as u64 + 1)
        .read_to_end(&mut output)
        .map_err(|error| DecodeError::new(SkipReason::InvalidGzip, error.to_string()))?;

    if output.len() > MAX_EVENT_BYTES {
        return Err(DecodeError::new(
            SkipReason::Oversized,
            format!("gzip payload expands past the {MAX_EVENT_BYTES}-byte limit"),
        ));
    }
    Ok(output)
}

/// Maps a serde_json error to a skip reason. Its message contains a position, not the payload.
fn json_error(error: serde_json::Error) -> DecodeError {
    let reason = match error.classify() {
        Category::Eof => SkipReason::TruncatedJson,
        Category::Syntax | Category::Data | Category::Io => SkipReason::InvalidJson,
    };
    DecodeError::new(reason, error.to_string())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    const CLICK: &str = r#"{"event_type":"_email.click","arrival_timestamp":1717000000000,
        "application":{"app_id":"app1"},"client":{"client_id":"e1"},
        "attributes":{"journey_id":"j1"}}"#;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn reason(payload: &[u8]) -> SkipReason {
        decode_event(payload).unwrap_err().reason
    }

    #[test]
    fn plain_json_decodes() {
        let event = decode_event(CLICK.as_bytes()).unwrap();

        assert_eq!(event.event_type.as_deref(), Some("_email.click"));
        assert_eq!(event.attribute("journey_id"), Some("j1"));
    }

    #[test]
    fn gzip_payload_decompresses() {
        let payload = gzip(CLICK.as_bytes());
        assert_eq!(payload[..2], [0x1f, 0x8b]);

        let event = decode_event(&payload).unwrap();

        assert_eq!(event.client.client_id.as_deref(), Some("e1"));
    }

    #[test]
    fn corrupt_gzip_is_skipped() {
        let mut payload = gzip(CLICK.as_bytes());
        payload.truncate(payload.len() / 2);

        assert_eq!(reason(&payload), SkipReason::InvalidGzip);
        assert_eq!(reason(&[0x1f, 0x8b, 0xff, 0x00]), SkipReason::InvalidGzip);
    }

    #[test]
    fn gzip_bomb_is_oversized() {
        let payload = gzip(&vec![b' '; MAX_EVENT_BYTES + 10]);
        assert!(payload.len() < MAX_EVENT_BYTES);

        assert_eq!(reason(&payload), SkipReason::Oversized);
    }

    #[test]
    fn non_utf8_is_skipped() {
        let error = decode_event(&[b'{', b'"', 0xff, 0xfe, b'"', b'}']).unwrap_err();

        assert_eq!(error.reason, SkipReason::NotUtf8);
        assert_eq!(error.detail, "invalid UTF-8 at byte 2");
    }

    #[test]
    fn truncated_json_is_skipped() {
        let truncated = &CLICK.as_bytes()[..CLICK.len() - 20];

        assert_eq!(reason(truncated), SkipReason::TruncatedJson);
    }

    #[test]
    fn invalid_json_is_skipped() {
        assert_eq!(
            reason(br#"{"event_type": _email.open}"#),
            SkipReason::InvalidJson
        );
        assert_eq!(reason(br#"{"a":1} trailing"#), SkipReason::InvalidJson);
        assert_eq!(
            reason(br#"{"event_type":"a","event_type":"b"}"#),
            SkipReason::InvalidJson
        );
    }

    #[test]
    fn non_objects_are_skipped() {
        for payload in [
            &br#""just a string""#[..],
            b"[1,2,3]",
            b"42",
            b"null",
            b"",
            b"   ",
        ] {
            assert_eq!(reason(payload), SkipReason::NotAnObject, "{payload:?}");
        }
    }

    #[test]
    fn byte_order_mark_and_whitespace_are_accepted() {
        let payload = format!("\u{feff}\n  {CLICK}\n");

        assert!(decode_event(payload.as_bytes()).is_ok());
    }

    #[test]
    fn oversized_payload_is_skipped() {
        let payload = vec![b' '; MAX_EVENT_BYTES + 1];

        assert_eq!(reason(&payload), SkipReason::Oversized);
    }

    #[test]
    fn large_event_under_limit_decodes() {
        let padding = "x".repeat(900 * 1024);
        let payload = CLICK.replacen('{', &format!(r#"{{"padding":"{padding}","#), 1);
        assert!(payload.len() > 900 * 1024 && payload.len() < MAX_EVENT_BYTES);

        let event = decode_event(payload.as_bytes()).unwrap();

        assert_eq!(event.attribute("journey_id"), Some("j1"));
    }

    #[test]
    fn base64_decodes_and_rejects() {
        assert_eq!(decode_base64("eyJhIjoxfQ==").unwrap(), br#"{"a":1}"#);
        assert_eq!(
            decode_base64("not base64!").unwrap_err().reason,
            SkipReason::InvalidBase64
        );
        let too_long = "A".repeat(MAX_EVENT_BYTES / 3 * 4 + 8);
        assert_eq!(
            decode_base64(&too_long).unwrap_err().reason,
            SkipReason::Oversized
        );
    }
}
