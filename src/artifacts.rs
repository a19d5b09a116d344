//! Lambda artifacts: the packaged zips, their manifest and their content-addressed S3 keys.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name of the manifest that `package` writes next to the zips.
pub const MANIFEST_FILE: &str = "manifest.json";

/// CPU architecture of a Lambda function.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub enum Architecture {
    #[serde(rename = "x86_64")]
    X86_64,
    /// Graviton: the default, cheaper per GB-second than x86_64 on Lambda.
    #[serde(rename = "arm64")]
    #[default]
    Arm64,
}

impl Architecture {
    /// Name that Lambda's `Architectures` property takes.
    pub fn lambda_name(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64",
            Architecture::Arm64 => "arm64",
        }
    }

    /// Rust target triple of a static build for this architecture.
    pub fn rust_target(self) -> &'static str {
        match self {
            Architecture::X86_64 => "x86_64-unknown-linux-musl",
            Architecture::Arm64 => "aarch64-unknown-linux-musl",
        }
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.lambda_name())
    }
}

/// The product's Lambda functions, named after their crates under `lambdas/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Function {
    Tagging,
    Expiration,
}

impl Function {
    pub const ALL: [Function; 2] = [Function::Tagging, Function::Expiration];

    /// Cargo package (and binary) name of the function.
    pub fn crate_name(self) -> &'static str {
        match self {
            Function::Tagging => "tagging",
            Function::Expiration => "expiration",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.crate_name())
    }
}

/// One packaged function: a deterministic zip holding a single `bootstrap` binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub function: Function,
    pub architecture: Architecture,
    /// Zip file name, relative to the manifest's directory.
    pub file: String,
    /// Lower-case hex SHA-256 of the zip.
    pub sha256: String,
    /// Zip size in bytes.
    pub size: u64,
}

impl Artifact {
    /// S3 key of the zip: addressed by content, so unchanged code keeps its key.
    pub fn s3_key(&self) -> String {
        format!(
            "pinpoint-attribution/lambda/{}/{}/{}.zip",
            self.function, self.architecture, self.sha256
        )
    }
}

/// The list of packaged zips that `package` writes as `manifest.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub artifacts: Vec<Artifact>,
}

/// A manifest together with the directory its zip files are in.
#[derive(Debug, Clone)]
pub struct ArtifactSet {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    #[error(
        "no Lambda artifacts in {dir}: run `pinpoint-attribution package --env FILE` first, or pass --artifacts DIR"
    )]
    MissingManifest { dir: PathBuf },
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid artifact manifest {path}: {source}; run `pinpoint-attribution package` again")]
    Invalid {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error(
        "{path} does not match manifest.json (SHA-256 {actual}, manifest says {expected}); run `pinpoint-attribution package` again"
    )]
    Mismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error(
        "{dir} has no {function} artifact for {architecture}: run `pinpoint-attribution package --env FILE` for this environment"
    )]
    MissingArtifact {
        dir: PathBuf,
        function: Function,
        architecture: Architecture,
    },
}

impl ArtifactSet {
    /// Reads `manifest.json` from `dir`.
    pub fn load(dir: &Path) -> Result<ArtifactSet, ArtifactError> {
        let path = dir.join(MANIFEST_FILE);
        if !path.exists() {
            return Err(ArtifactError::MissingManifest {
                dir: dir.to_path_buf(),
            });
        }

        let text = std::fs::read_to_string(&path).map_err(|source| ArtifactError::Read {
            path: path.clone(),
            source,
        })?;
        let manifest = serde_json::from_str(&text)
            .map_err(|source| ArtifactError::Invalid { path, source })?;
        Ok(ArtifactSet {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// Returns the artifact of `function` built for `architecture`.
    pub fn get(
        &self,
        function: Function,
        architecture: Architecture,
    ) -> Result<&Artifact, ArtifactError> {
        self.manifest
            .artifacts
            .iter()
            .find(|artifact| artifact.function == function && artifact.architecture == architecture)
            .ok_or_else(|| ArtifactError::MissingArtifact {
                dir: self.dir.clone(),
                function,
                architecture,
            })
    }

    /// Checks that an artifact's zip on disk has the size and SHA-256 the manifest records,
    /// so a stale or edited zip is never stored under another content's key.
    pub fn verify(&self, artifact: &Artifact) -> Result<(), ArtifactError> {
        use sha2::Digest as _;

        let path = self.path_of(artifact);
        let bytes = std::fs::read(&path).map_err(|source| ArtifactError::Read {
            path: path.clone(),
            source,
        })?;
        let actual = hex::encode(sha2::Sha256::digest(&bytes));
        if actual != artifact.sha256 || bytes.len() as u64 != artifact.size {
            return Err(ArtifactError::Mismatch {
                path,
                expected: artifact.sha256.clone(),
                actual,
            });
        }
        Ok(())
    }

    /// Path of an artifact's zip on disk.
    pub fn path_of(&self, artifact: &Artifact) -> PathBuf {
        self.dir.join(&artifact.file)
    }

    /// S3 keys of every artifact, by function and architecture.
    pub fn keys(&self) -> BTreeMap<(Function, Architecture), String> {
        self.manifest
            .artifacts
            .iter()
            .map(|artifact| {
                (
                    (artifact.function, artifact.architecture),
                    artifact.s3_key(),
                )
            })
            .collect()
    }
}
