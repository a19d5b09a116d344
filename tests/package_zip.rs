//! Deterministic Lambda zips, checked on the zip format itself without building anything.

use std::io::{Cursor, Read};

use pinpoint_attribution::artifacts::{Architecture, Function};
use pinpoint_attribution::package::{
    BOOTSTRAP, BOOTSTRAP_MODE, artifact_file_name, sha256_hex, zip_bootstrap,
};
use zip::{CompressionMethod, DateTime, ZipArchive};

/// Bytes that stand in for a binary: long enough to compress, with some variety.
fn fake_binary(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x7fELF".to_vec();
    bytes.extend((0..200_000u32).map(|i| (i.wrapping_mul(31) as u8) ^ seed));
    bytes
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

#[test]
fn same_binary_gives_identical_zip() {
    let binary = fake_binary(1);

    let first = zip_bootstrap(&binary).unwrap();
    let second = zip_bootstrap(&binary.clone()).unwrap();

    assert_eq!(first, second);
    assert_eq!(sha256_hex(&first), sha256_hex(&second));
}

#[test]
fn different_binary_gives_different_zip() {
    let first = zip_bootstrap(&fake_binary(1)).unwrap();
    let second = zip_bootstrap(&fake_binary(2)).unwrap();

    assert_ne!(sha256_hex(&first), sha256_hex(&second));
}

#[test]
fn zip_holds_only_bootstrap_entry() {
    let binary = fake_binary(3);
    let zipped = zip_bootstrap(&binary).unwrap();
    let mut archive = ZipArchive::new(Cursor::new(zipped)).unwrap();

    assert_eq!(archive.len(), 1);
    let mut entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name(), BOOTSTRAP);
    assert_eq!(entry.compression(), CompressionMethod::Deflated);
    assert_eq!(
        entry.unix_mode().map(|mode| mode & 0o7777),
        Some(BOOTSTRAP_MODE)
    );
    assert_eq!(
        entry.unix_mode().map(|mode| mode & 0o170000),
        Some(0o100000),
        "a regular file"
    );
    assert_eq!(entry.last_modified(), Some(DateTime::default()));
    assert!(
        entry.extra_data().unwrap_or_default().is_empty(),
        "extra data: {:?}",
        entry.extra_data()
    );

    let mut contents = Vec::new();
    entry.read_to_end(&mut contents).unwrap();
    assert_eq!(contents, binary);
}

#[test]
fn zip_headers_have_fixed_fields() {
    let zipped = zip_bootstrap(&fake_binary(4)).unwrap();

    // Local file header: signature, DOS time and date, name and extra field lengths.
    assert_eq!(u32_at(&zipped, 0), 0x0403_4b50);
    assert_eq!(u16_at(&zipped, 10), time_of_1980_01_01(), "DOS time");
    assert_eq!(u16_at(&zipped, 12), date_of_1980_01_01(), "DOS date");
    assert_eq!(usize::from(u16_at(&zipped, 26)), BOOTSTRAP.len());
    assert_eq!(u16_at(&zipped, 28), 0, "local extra field length");

    // Central directory header: made by Unix, external attributes carry the mode.
    let central = find_signature(&zipped, 0x0201_4b50).expect("central directory header");
    assert_eq!(zipped[central + 5], 3, "made by Unix");
    assert_eq!(
        u16_at(&zipped, central + 30),
        0,
        "central extra field length"
    );
    assert_eq!(u16_at(&zipped, central + 32), 0, "comment length");
    assert_eq!(
        u32_at(&zipped, central + 38) >> 16,
        0o100000 | BOOTSTRAP_MODE
    );
}

#[test]
fn file_name_carries_hash_prefix() {
    let sha = sha256_hex(b"bootstrap");

    let name = artifact_file_name(Function::Expiration, Architecture::X86_64, &sha);

    assert_eq!(name, format!("expiration-x86_64-{}.zip", &sha[..12]));
}

fn time_of_1980_01_01() -> u16 {
    0
}

fn date_of_1980_01_01() -> u16 {
    // Years since 1980 in bits 9-15, month in bits 5-8, day in bits 0-4.
    (1 << 5) | 1
}

fn find_signature(bytes: &[u8], signature: u32) -> Option<usize> {
    let needle = signature.to_le_bytes();
    bytes.windows(4).rposition(|window| window == needle)
}
