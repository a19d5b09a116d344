//! `package`: static builds of the Lambda functions into deterministic zips.
//!
//! STUB on main until the packaging branch lands; the signature is the agreed interface.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::artifacts::{Architecture, ArtifactSet};

/// Settings of one package run.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    pub workspace: PathBuf,
    pub out_dir: PathBuf,
    pub architectures: BTreeSet<Architecture>,
}

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("packaging is not available in this build")]
    Unavailable,
}

/// Builds and zips both functions for every requested architecture.
pub async fn package(options: &PackageOptions) -> Result<ArtifactSet, PackageError> {
    let _ = options;
    Err(PackageError::Unavailable)
}

/// Finds the workspace root (the directory whose Cargo.toml has `lambdas/` beside it).
pub fn find_workspace_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join("lambdas").is_dir())
        .map(Path::to_path_buf)
}
