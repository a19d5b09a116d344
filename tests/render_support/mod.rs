//! Shared helpers of the render tests: environments from YAML text, test artifacts and
//! parsing of rendered templates.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use pinpoint_attribution::artifacts::{
    Architecture, Artifact, ArtifactSet, Function, MANIFEST_FILE, Manifest,
};
use pinpoint_attribution::config::{self, Environment};
use pinpoint_attribution::render::{self, RenderedStack};
use sha2::{Digest, Sha256};

/// Builds a small environment with one application. `extra_top` and `extra_app` are YAML
/// lines added at the top level and to the application.
pub fn environment_yaml(extra_top: &str, extra_app: &str) -> String {
    let mut yaml =
        String::from("environment: test\nregion: eu-west-1\naccount_id: \"123456789012\"\n");
    yaml.push_str(extra_top);
    yaml.push_str(
        "applications:\n  - name: shop\n    pinpoint_app_id: 0123456789abcdef0123456789abcdef\n    user_pool_id: eu-west-1_AbCdEf123\n",
    );
    for line in extra_app.lines() {
        yaml.push_str("    ");
        yaml.push_str(line);
        yaml.push('\n');
    }
    yaml
}

/// Loads an environment from YAML text, failing the test with the loader's message.
pub fn environment(yaml: &str) -> Environment {
    config::parse(Path::new("test.yaml"), yaml).unwrap_or_else(|error| panic!("{error}"))
}

/// Writes a deterministic zip holding one `bootstrap` file with `content`.
pub fn write_zip(path: &Path, content: &[u8]) {
    let file = std::fs::File::create(path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    zip.start_file("bootstrap", options)
        .expect("start zip entry");
    zip.write_all(content).expect("write zip entry");
    zip.finish().expect("finish zip");
}

/// Creates a temporary directory with test zips for both functions and both
/// architectures, and their manifest.
pub fn artifacts() -> (tempfile::TempDir, ArtifactSet) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut manifest = Manifest::default();
    for function in Function::ALL {
        for architecture in [Architecture::X86_64, Architecture::Arm64] {
            let file = format!("{function}-{architecture}.zip");
            let path = dir.path().join(&file);
            write_zip(
                &path,
                format!("#!/bin/sh\n# {function} {architecture}\n").as_bytes(),
            );
            let bytes = std::fs::read(&path).expect("read zip");
            manifest.artifacts.push(Artifact {
                function,
                architecture,
                file,
                sha256: hex::encode(Sha256::digest(&bytes)),
                size: bytes.len() as u64,
            });
        }
    }
    let json = serde_json::to_string_pretty(&manifest).expect("manifest JSON");
    std::fs::write(dir.path().join(MANIFEST_FILE), json).expect("write manifest");
    let set = ArtifactSet::load(dir.path()).expect("load manifest");
    (dir, set)
}

/// Renders the first application of the environment given as YAML text.
pub fn render_yaml(yaml: &str) -> RenderedStack {
    let environment = environment(yaml);
    let (_dir, artifacts) = artifacts();
    render::render_application(&environment, &environment.applications[0], &artifacts)
        .unwrap_or_else(|error| panic!("{error}"))
}

/// Parses a rendered template into JSON values.
pub fn parse(template: &str) -> serde_json::Value {
    serde_saphyr::from_str(template)
        .unwrap_or_else(|error| panic!("rendered template is not valid YAML: {error}\n{template}"))
}

/// Returns the `Properties` of resource `logical_id`.
pub fn properties<'a>(template: &'a serde_json::Value, logical_id: &str) -> &'a serde_json::Value {
    let resource = &template["Resources"][logical_id];
    assert!(
        resource.is_object(),
        "template has no resource {logical_id}"
    );
    &resource["Properties"]
}

/// Variants of one application's stack, by file name.
pub fn variants() -> Vec<(&'static str, String)> {
    vec![
        ("default", environment_yaml("", "")),
        ("protected", environment_yaml("protected: true\n", "")),
        ("x86_64", environment_yaml("", "architecture: x86_64\n")),
        (
            "journey-id",
            environment_yaml("", "campaign_value: journey_id\n"),
        ),
        (
            "explicit-bucket",
            environment_yaml("artifacts_bucket: team-artifacts.example\n", ""),
        ),
        (
            "special-tags",
            environment_yaml(
                "tags:\n  team: \"R+D / growth = team @ hq: 1\"\n  cost-center: \"\"\n",
                "",
            ),
        ),
        (
            "limits",
            environment_yaml(
                "",
                "memory_mb: 10240\ntimeout_seconds: 900\nbatch_size: 10000\nmaximum_retry_attempts: 10000\nlog_retention_days: 3653\nlookback_days: 365\n",
            ),
        ),
        (
            "existing-stream",
            environment_yaml(
                "",
                "event_stream:\n  mode: existing\n  stream_arn: arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events\n",
            ),
        ),
        (
            "existing-stream-protected",
            environment_yaml(
                "protected: true\n",
                "event_stream: {mode: existing, stream_arn: \"arn:aws:kinesis:eu-west-1:123456789012:stream/analytics-events\"}\n",
            ),
        ),
        (
            "replace-existing",
            environment_yaml("", "event_stream: {mode: create, replace_existing: true}\n"),
        ),
        (
            "minimums",
            environment_yaml(
                "",
                "memory_mb: 128\ntimeout_seconds: 1\nbatch_size: 1\nmaximum_retry_attempts: 0\nlog_retention_days: 1\nlookback_days: 1\n",
            ),
        ),
    ]
}

/// Writes every variant and every application of the shipped environment files as
/// `<name>.yaml` into `dir`, for the linters, and returns the paths.
pub fn write_rendered_variants(dir: &Path) -> Vec<PathBuf> {
    let (_artifacts_dir, artifacts) = artifacts();
    let mut files = Vec::new();

    for (name, yaml) in variants() {
        let stack = render_yaml(&yaml);
        let path = dir.join(format!("{name}.yaml"));
        std::fs::write(&path, &stack.template).expect("write template");
        files.push(path);
    }
    for environment_file in ["environments/local.yaml", "environments/example.yaml"] {
        let environment =
            config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(environment_file))
                .unwrap_or_else(|error| panic!("{error}"));
        for application in &environment.applications {
            let stack =
                render::render_application(&environment, application, &artifacts).expect("render");
            let path = dir.join(format!("{}.yaml", stack.stack_name));
            std::fs::write(&path, &stack.template).expect("write template");
            files.push(path);
        }
    }
    files
}
