//! A new tagging zip on the emulator: apply uploads that zip only and updates only the tagging
//! function, as a one-line change to its code would.

mod support;

use std::io::{Read, Write};
use std::path::Path;

use aws_config::SdkConfig;
use sha2::Digest as _;
use support::{apply_json, path_arg, seed_application, write_environment};
use testkit::Emulator;

/// Copies a `package` output directory to `to`, adding a file to the x86_64 tagging zip so
/// that its hash changes, and returns the new zip's S3 key.
fn copy_with_changed_tagging_zip(from: &Path, to: &Path) -> String {
    std::fs::create_dir_all(to).expect("create directory");
    let manifest_text = std::fs::read_to_string(from.join("manifest.json")).expect("manifest");
    let mut manifest: serde_json::Value = serde_json::from_str(&manifest_text).expect("JSON");
    let mut changed_key = None;

    for artifact in manifest["artifacts"].as_array_mut().expect("artifacts") {
        let file = artifact["file"].as_str().expect("file").to_owned();
        let bytes = std::fs::read(from.join(&file)).expect("read zip");
        if artifact["function"] != "tagging" || artifact["architecture"] != "x86_64" {
            std::fs::write(to.join(&file), bytes).expect("copy zip");
            continue;
        }

        let changed = with_extra_entry(&bytes);
        let sha256 = hex::encode(sha2::Sha256::digest(&changed));
        let changed_file = format!("tagging-x86_64-{}.zip", &sha256[..12]);
        std::fs::write(to.join(&changed_file), &changed).expect("write zip");
        changed_key = Some(format!(
            "pinpoint-attribution/lambda/tagging/x86_64/{sha256}.zip"
        ));
        artifact["file"] = changed_file.into();
        artifact["sha256"] = sha256.into();
        artifact["size"] = changed.len().into();
    }

    std::fs::write(to.join("manifest.json"), manifest.to_string()).expect("write manifest");
    changed_key.expect("the manifest has an x86_64 tagging zip")
}

/// Returns a copy of a zip with one more entry.
fn with_extra_entry(zip_bytes: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("zip");
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).expect("zip entry");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("read entry");
        writer
            .start_file(entry.name().to_owned(), options)
            .expect("start entry");
        writer.write_all(&content).expect("write entry");
    }
    writer.start_file("CHANGED", options).expect("start entry");
    writer
        .write_all(b"one line changed\n")
        .expect("write entry");
    writer.finish().expect("finish zip").into_inner()
}

/// Reads the SHA-256 of a function's code, as Lambda reports it.
async fn code_sha256(config: &SdkConfig, function: &str) -> String {
    aws_sdk_lambda::Client::new(config)
        .get_function_configuration()
        .function_name(function)
        .send()
        .await
        .expect("GetFunctionConfiguration")
        .code_sha256()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn changed_tagging_zip_updates_only_its_function() {
    let emulator = Emulator::start();
    let config = emulator.sdk_config();
    let dir = tempfile::tempdir().expect("temp dir");
    let original = support::artifacts_dir();
    let app = seed_application(&config, "shop", 7).await;
    let env_file = path_arg(&write_environment(dir.path(), "zips", &[app], ""));
    let first = apply_json(&emulator, &env_file, &path_arg(&original), &[]);
    let outputs = &first.application("shop").outputs;
    let tagging = outputs["TaggingFunctionName"].clone();
    let expiration = outputs["ExpirationFunctionName"].clone();
    let tagging_before = code_sha256(&config, &tagging).await;
    let expiration_before = code_sha256(&config, &expiration).await;

    let changed = dir.path().join("changed");
    let changed_key = copy_with_changed_tagging_zip(&original, &changed);
    let second = apply_json(&emulator, &env_file, &path_arg(&changed), &[]);

    assert_eq!(second.action_of("shop"), "updated");
    let uploaded = &second.artifacts.as_ref().expect("artifacts step").uploaded;
    assert_eq!(uploaded, &vec![changed_key], "only the new zip is uploaded");
    let changed_resources: Vec<&str> = second
        .application("shop")
        .resource_changes
        .iter()
        .filter_map(|change| change["logical_id"].as_str())
        .collect();
    assert_eq!(changed_resources, ["TaggingFunction"]);
    assert_ne!(code_sha256(&config, &tagging).await, tagging_before);
    assert_eq!(code_sha256(&config, &expiration).await, expiration_before);

    let third = apply_json(&emulator, &env_file, &path_arg(&changed), &[]);
    assert_eq!(third.action_of("shop"), "unchanged");
}
