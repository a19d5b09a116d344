//! `package`: static builds of the Lambda functions into deterministic zips.
//!
//! Each function is built with cargo for a musl target, so the binary runs on Lambda's
//! `provided.al2023` runtime whatever the build machine's libc. It is zipped as a single
//! `bootstrap` entry whose bytes depend only on the binary: fixed timestamp, fixed
//! permissions, fixed compression, no extra fields. The zip files are named after their
//! SHA-256 and listed in `manifest.json`, which `apply` and `render` read.
//!
//! The binaries are made reproducible too: the build maps the cargo home and the target
//! directory to fixed names (`/cargo`, `/target`) in Rust panic locations and C `__FILE__`
//! strings, so two clones of the same commit produce the same bytes. Workspace crates need
//! no mapping because cargo passes their source paths to rustc relative to the workspace root.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::{Cursor, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::artifacts::{Architecture, Artifact, ArtifactSet, Function, MANIFEST_FILE, Manifest};

/// Name of the single entry in every Lambda zip: the `provided.al2023` runtime runs it.
pub const BOOTSTRAP: &str = "bootstrap";

/// Unix permissions of the `bootstrap` entry: executable by everyone, writable by the owner.
pub const BOOTSTRAP_MODE: u32 = 0o755;

/// Deflate level of the zips (flate2's highest), fixed so that the bytes never vary.
pub const DEFLATE_LEVEL: i64 = 9;

/// Hex digits of the zip's SHA-256 in its file name.
const FILE_HASH_DIGITS: usize = 12;

/// Cargo profile of the Lambda builds (`[profile.lambda]` in the workspace manifest). It is the
/// release profile tuned for size, because Lambda downloads the zip on every cold start.
pub const LAMBDA_PROFILE: &str = "lambda";

/// Path prefix that replaces the cargo home (registry sources) inside the binaries.
const CARGO_HOME_MAPPED: &str = "/cargo";

/// Path prefix that replaces the target directory (build-script output) inside the binaries.
const TARGET_DIR_MAPPED: &str = "/target";

/// Settings of one `package` run: what it builds and where it writes the zips.
#[derive(Debug, Clone)]
pub struct PackageOptions {
    /// Workspace root: the directory of the root `Cargo.toml`, which contains `lambdas/`.
    pub workspace: PathBuf,
    /// Directory of the zips and `manifest.json`; created when missing.
    pub out_dir: PathBuf,
    /// Architectures to build; each one is a separate musl target.
    pub architectures: BTreeSet<Architecture>,
    /// Cargo target directory; when `None`, [`LAMBDA_TARGET_DIR_ENV`], then
    /// `CARGO_TARGET_DIR`, then `<workspace>/target`.
    pub target_dir: Option<PathBuf>,
}

/// Environment variable that sets the cargo target directory of the Lambda builds, to keep
/// the release musl builds apart from the debug ones.
pub const LAMBDA_TARGET_DIR_ENV: &str = "PINPOINT_ATTRIBUTION_LAMBDA_TARGET_DIR";

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "no cargo workspace with a lambdas/ directory found in {start} or above it: run the command inside the pinpoint-attribution repository"
    )]
    WorkspaceNotFound { start: PathBuf },
    #[error("nothing to package: no architecture was requested")]
    NoArchitectures,
    #[error("Rust target {target} is not installed: run `rustup target add {target}`")]
    MissingRustTarget { target: &'static str },
    #[error(
        "C compiler `{compiler}` for {target} not found on PATH (the TLS crates compile C code): install it with `{install}`"
    )]
    MissingCompiler {
        compiler: String,
        target: &'static str,
        install: &'static str,
    },
    #[error(
        "building {architecture} Lambda functions on a {host} host is not supported: build on x86_64 or aarch64 Linux"
    )]
    UnsupportedHost {
        architecture: Architecture,
        host: &'static str,
    },
    #[error("failed to run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}); its output above names the error")]
    BuildFailed { command: String, status: ExitStatus },
    #[error("failed to read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("failed to zip {path}: {source}")]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

/// Finds the workspace root: the nearest directory, from `start` upwards, that has a
/// `Cargo.toml` and a `lambdas/` directory.
pub fn find_workspace_root(start: &Path) -> Result<PathBuf, PackageError> {
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.toml").is_file() && dir.join("lambdas").is_dir())
        .map(Path::to_path_buf)
        .ok_or_else(|| PackageError::WorkspaceNotFound {
            start: start.to_path_buf(),
        })
}

/// Builds both functions for every requested architecture, writes their zips and
/// `manifest.json` into `options.out_dir`, and removes zips that the new manifest no longer
/// lists.
///
/// Blocks until cargo finishes; cargo's output goes to stderr. From async code, call it
/// through `tokio::task::spawn_blocking`.
pub fn package(options: &PackageOptions) -> Result<ArtifactSet, PackageError> {
    if options.architectures.is_empty() {
        return Err(PackageError::NoArchitectures);
    }
    let target_dir = resolve_target_dir(options)?;
    let toolchains = options
        .architectures
        .iter()
        .map(|&architecture| check_toolchain(&options.workspace, architecture))
        .collect::<Result<Vec<_>, _>>()?;

    run_cargo_build(&options.workspace, &target_dir, &toolchains)?;

    std::fs::create_dir_all(&options.out_dir).map_err(|source| PackageError::Write {
        path: options.out_dir.clone(),
        source,
    })?;
    let mut artifacts = Vec::new();
    for architecture in &options.architectures {
        for function in Function::ALL {
            let binary = binary_path(&target_dir, *architecture, function);
            artifacts.push(write_artifact(
                &options.out_dir,
                function,
                *architecture,
                &binary,
            )?);
        }
    }
    artifacts.sort_by_key(|artifact| (artifact.function, artifact.architecture));
    let manifest = Manifest { artifacts };

    write_manifest(&options.out_dir, &manifest)?;
    remove_stale_zips(&options.out_dir, &manifest)?;
    Ok(ArtifactSet {
        dir: options.out_dir.clone(),
        manifest,
    })
}

/// Zips a `bootstrap` binary into a deterministic archive: the same bytes in give the same
/// bytes out, whenever and wherever it runs.
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>, zip::result::ZipError> {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .last_modified_time(DateTime::default())
        .unix_permissions(BOOTSTRAP_MODE)
        .large_file(false);

    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    writer.start_file(BOOTSTRAP, options)?;
    writer.write_all(binary)?;
    Ok(writer.finish()?.into_inner())
}

/// File name of a zip: function, architecture and the first hex digits of its SHA-256.
pub fn artifact_file_name(function: Function, architecture: Architecture, sha256: &str) -> String {
    let prefix = &sha256[..FILE_HASH_DIGITS.min(sha256.len())];
    format!("{function}-{architecture}-{prefix}.zip")
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What one architecture's build needs besides cargo and rustc.
#[derive(Debug, Clone)]
struct Toolchain {
    target: &'static str,
    /// C compiler for the target's C dependencies (`CC_<target>`).
    c_compiler: String,
    /// Linker to use instead of the target's default, for cross builds.
    linker: Option<&'static str>,
}

fn resolve_target_dir(options: &PackageOptions) -> Result<PathBuf, PackageError> {
    let from_env = |name| std::env::var_os(name).filter(|dir: &OsString| !dir.is_empty());
    let target_dir = options
        .target_dir
        .clone()
        .or_else(|| from_env(LAMBDA_TARGET_DIR_ENV).map(PathBuf::from))
        .or_else(|| from_env("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| options.workspace.join("target"));
    let target_dir = if target_dir.is_absolute() {
        target_dir
    } else {
        options.workspace.join(target_dir)
    };

    // The directory is mapped by prefix inside the binaries, so it must exist and be spelled
    // the way rustc and the C compiler see it.
    std::fs::create_dir_all(&target_dir).map_err(|source| PackageError::Write {
        path: target_dir.clone(),
        source,
    })?;
    target_dir
        .canonicalize()
        .map_err(|source| PackageError::Read {
            path: target_dir.clone(),
            source,
        })
}

/// Checks up front that the Rust target and the C compiler of `architecture` exist, so that
/// a missing tool fails in a second with the install command rather than minutes into cargo.
fn check_toolchain(
    workspace: &Path,
    architecture: Architecture,
) -> Result<Toolchain, PackageError> {
    let target = architecture.rust_target();
    let toolchain = toolchain_for(architecture, std::env::consts::ARCH)?;

    let sysroot = rustc_sysroot(workspace)?;
    if !sysroot
        .join("lib/rustlib")
        .join(target)
        .join("lib")
        .is_dir()
    {
        return Err(PackageError::MissingRustTarget { target });
    }

    if find_in_path(&toolchain.c_compiler).is_none() {
        return Err(PackageError::MissingCompiler {
            compiler: toolchain.c_compiler,
            target,
            install: install_command(architecture, std::env::consts::ARCH),
        });
    }
    Ok(toolchain)
}

/// Picks the C compiler and linker of a musl build: musl-gcc natively, the GNU cross compiler
/// and `rust-lld` (shipped with rustup toolchains) across architectures. `CC_<target>` set
/// by the caller wins.
fn toolchain_for(
    architecture: Architecture,
    host: &'static str,
) -> Result<Toolchain, PackageError> {
    let target = architecture.rust_target();
    let native = match (architecture, host) {
        (Architecture::X86_64, "x86_64") | (Architecture::Arm64, "aarch64") => true,
        (_, "x86_64" | "aarch64") => false,
        _ => return Err(PackageError::UnsupportedHost { architecture, host }),
    };

    let default_compiler = match (native, architecture) {
        (true, _) => "musl-gcc",
        (false, Architecture::Arm64) => "aarch64-linux-gnu-gcc",
        (false, Architecture::X86_64) => "x86_64-linux-gnu-gcc",
    };
    let c_compiler = std::env::var(format!("CC_{}", target.replace('-', "_")))
        .unwrap_or_else(|_| default_compiler.to_owned());
    Ok(Toolchain {
        target,
        c_compiler,
        linker: (!native).then_some("rust-lld"),
    })
}

fn install_command(architecture: Architecture, host: &str) -> &'static str {
    match (architecture, host) {
        (Architecture::X86_64, "x86_64") | (Architecture::Arm64, "aarch64") => {
            "apt-get install musl-tools"
        }
        (Architecture::Arm64, _) => "apt-get install gcc-aarch64-linux-gnu",
        (Architecture::X86_64, _) => "apt-get install gcc-x86-64-linux-gnu",
    }
}

fn rustc_sysroot(workspace: &Path) -> Result<PathBuf, PackageError> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .current_dir(workspace)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|source| PackageError::Spawn {
            program: rustc.to_string_lossy().into_owned(),
            source,
        })?;
    if !output.status.success() {
        return Err(PackageError::BuildFailed {
            command: format!("{} --print sysroot", rustc.to_string_lossy()),
            status: output.status,
        });
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    let program = Path::new(program);
    if program.components().count() > 1 {
        return program.is_file().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// Runs one `cargo build` for all targets, so cargo builds them in parallel.
fn run_cargo_build(
    workspace: &Path,
    target_dir: &Path,
    toolchains: &[Toolchain],
) -> Result<(), PackageError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(&cargo);
    command
        .args(["build", "--locked", "--profile", LAMBDA_PROFILE])
        .current_dir(workspace)
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", encoded_rustflags(target_dir));
    for toolchain in toolchains {
        command.args(["--target", toolchain.target]);
    }
    for function in Function::ALL {
        command.args(["-p", function.crate_name()]);
    }
    for (name, value) in toolchain_env(toolchains, target_dir) {
        command.env(name, value);
    }

    // cargo prints progress on stderr; its stdout (build-script warnings) joins it, because
    // the deployer's stdout carries only the command's result.
    let stderr = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|source| PackageError::Spawn {
            program: cargo.to_string_lossy().into_owned(),
            source,
        })?;
    command.stdin(Stdio::null()).stdout(Stdio::from(stderr));

    let command_line = format!("{command:?}");
    tracing::info!(command = %command_line, "building Lambda functions");
    let started = Instant::now();
    let status = command.status().map_err(|source| PackageError::Spawn {
        program: cargo.to_string_lossy().into_owned(),
        source,
    })?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "cargo build finished"
    );

    if !status.success() {
        return Err(PackageError::BuildFailed {
            command: command_line,
            status,
        });
    }
    Ok(())
}

/// The caller's rustflags (`CARGO_ENCODED_RUSTFLAGS` or `RUSTFLAGS`) plus the path mappings.
///
/// NOTE: setting this variable makes cargo ignore `build.rustflags` from cargo config files.
/// The workspace has none; a user who needs extra flags passes them in `RUSTFLAGS`.
fn encoded_rustflags(target_dir: &Path) -> OsString {
    let mut flags: Vec<OsString> = match std::env::var_os("CARGO_ENCODED_RUSTFLAGS") {
        Some(encoded) if !encoded.is_empty() => encoded
            .to_string_lossy()
            .split('\x1f')
            .map(OsString::from)
            .collect(),
        _ => std::env::var("RUSTFLAGS")
            .unwrap_or_default()
            .split_whitespace()
            .map(OsString::from)
            .collect(),
    };
    for (from, to) in path_mappings(target_dir) {
        let mut flag = OsString::from("--remap-path-prefix=");
        flag.push(from);
        flag.push("=");
        flag.push(to);
        flags.push(flag);
    }
    flags.join(&OsString::from("\x1f"))
}

/// Environment of the C compilers and linkers: `CC_<target>`, `CFLAGS_<target>` with the
/// same path mappings as rustc's, and the linker of cross targets.
fn toolchain_env(toolchains: &[Toolchain], target_dir: &Path) -> BTreeMap<String, OsString> {
    let mut env = BTreeMap::new();
    for toolchain in toolchains {
        let suffix = toolchain.target.replace('-', "_");
        env.insert(
            format!("CC_{suffix}"),
            OsString::from(&toolchain.c_compiler),
        );

        let cflags_name = format!("CFLAGS_{suffix}");
        let mut cflags = std::env::var_os(&cflags_name)
            .or_else(|| std::env::var_os("TARGET_CFLAGS"))
            .or_else(|| std::env::var_os("CFLAGS"))
            .unwrap_or_default();
        for (from, to) in path_mappings(target_dir) {
            if !cflags.is_empty() {
                cflags.push(" ");
            }
            cflags.push("-ffile-prefix-map=");
            cflags.push(from);
            cflags.push("=");
            cflags.push(to);
        }
        env.insert(cflags_name, cflags);

        if let Some(linker) = toolchain.linker {
            let name = format!("CARGO_TARGET_{}_LINKER", suffix.to_uppercase());
            if std::env::var_os(&name).is_none() {
                env.insert(name, OsString::from(linker));
            }
        }
    }
    env
}

/// Machine-specific path prefixes that end up in binaries, and the fixed names they get.
fn path_mappings(target_dir: &Path) -> Vec<(OsString, &'static str)> {
    let mut mappings = Vec::new();
    if let Some(cargo_home) = cargo_home() {
        mappings.push((cargo_home.into_os_string(), CARGO_HOME_MAPPED));
    }
    mappings.push((target_dir.as_os_str().to_owned(), TARGET_DIR_MAPPED));
    mappings
}

fn cargo_home() -> Option<PathBuf> {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))?;
    home.canonicalize().ok()
}

fn binary_path(target_dir: &Path, architecture: Architecture, function: Function) -> PathBuf {
    target_dir
        .join(architecture.rust_target())
        .join(LAMBDA_PROFILE)
        .join(function.crate_name())
}

fn write_artifact(
    out_dir: &Path,
    function: Function,
    architecture: Architecture,
    binary: &Path,
) -> Result<Artifact, PackageError> {
    let bytes = std::fs::read(binary).map_err(|source| PackageError::Read {
        path: binary.to_path_buf(),
        source,
    })?;
    let zipped = zip_bootstrap(&bytes).map_err(|source| PackageError::Zip {
        path: binary.to_path_buf(),
        source,
    })?;

    let sha256 = sha256_hex(&zipped);
    let file = artifact_file_name(function, architecture, &sha256);
    write_atomically(&out_dir.join(&file), &zipped)?;
    tracing::info!(
        %function,
        %architecture,
        file = %file,
        binary_bytes = bytes.len(),
        zip_bytes = zipped.len(),
        "packaged Lambda function"
    );
    Ok(Artifact {
        function,
        architecture,
        file,
        sha256,
        size: zipped.len() as u64,
    })
}

fn write_manifest(out_dir: &Path, manifest: &Manifest) -> Result<(), PackageError> {
    let mut text = serde_json::to_string_pretty(manifest).expect("a manifest serializes to JSON");
    text.push('\n');
    write_atomically(&out_dir.join(MANIFEST_FILE), text.as_bytes())
}

/// Writes through a temporary file and a rename, so that a reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PackageError> {
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{file_name}.partial"));
    let error = |source| PackageError::Write {
        path: path.to_path_buf(),
        source,
    };

    std::fs::write(&temporary, bytes).map_err(error)?;
    std::fs::rename(&temporary, path).map_err(error)
}

/// Removes zips of earlier runs that the manifest no longer lists. Only names that `package`
/// itself writes are touched; other files in the directory stay.
fn remove_stale_zips(out_dir: &Path, manifest: &Manifest) -> Result<(), PackageError> {
    let listed: BTreeSet<&str> = manifest
        .artifacts
        .iter()
        .map(|artifact| artifact.file.as_str())
        .collect();
    let entries = std::fs::read_dir(out_dir).map_err(|source| PackageError::Read {
        path: out_dir.to_path_buf(),
        source,
    })?;

    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !is_artifact_file_name(&name) || listed.contains(name.as_str()) {
            continue;
        }
        std::fs::remove_file(entry.path()).map_err(|source| PackageError::Write {
            path: entry.path(),
            source,
        })?;
        tracing::info!(file = %name, "removed a zip that the manifest no longer lists");
    }
    Ok(())
}

/// Whether `name` has the shape of [`artifact_file_name`]'s output.
fn is_artifact_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".zip") else {
        return false;
    };
    let Some((prefix, hash)) = stem.rsplit_once('-') else {
        return false;
    };
    let known_prefix = Function::ALL.iter().any(|function| {
        [Architecture::X86_64, Architecture::Arm64]
            .iter()
            .any(|architecture| prefix == format!("{function}-{architecture}"))
    });
    known_prefix
        && hash.len() == FILE_HASH_DIGITS
        && hash
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn artifact_names_are_recognised() {
        let name = artifact_file_name(Function::Tagging, Architecture::Arm64, &"ab".repeat(32));
        assert_eq!(name, "tagging-arm64-abababababab.zip");
        assert!(is_artifact_file_name(&name));
        assert!(is_artifact_file_name("expiration-x86_64-0123456789ab.zip"));
    }

    #[test]
    fn other_names_are_not_artifacts() {
        for name in [
            "manifest.json",
            "tagging-arm64-abababababab.zip.partial",
            "tagging-arm64-ABABABABABAB.zip",
            "tagging-arm64-ababababab.zip",
            "other-arm64-abababababab.zip",
            "tagging-mips-abababababab.zip",
            "notes.zip",
        ] {
            assert!(
                !is_artifact_file_name(name),
                "{name} was taken for an artifact"
            );
        }
    }

    #[test]
    fn cross_builds_use_gnu_compiler_and_lld() {
        let toolchain = toolchain_for(Architecture::Arm64, "x86_64").unwrap();
        assert_eq!(toolchain.target, "aarch64-unknown-linux-musl");
        assert_eq!(toolchain.linker, Some("rust-lld"));
        assert_eq!(
            install_command(Architecture::Arm64, "x86_64"),
            "apt-get install gcc-aarch64-linux-gnu"
        );
    }

    #[test]
    fn native_builds_use_musl_gcc() {
        let toolchain = toolchain_for(Architecture::X86_64, "x86_64").unwrap();
        assert_eq!(toolchain.linker, None);
        assert_eq!(
            install_command(Architecture::X86_64, "x86_64"),
            "apt-get install musl-tools"
        );
    }

    #[test]
    fn unknown_host_is_rejected() {
        let error = toolchain_for(Architecture::Arm64, "riscv64").unwrap_err();
        assert!(
            matches!(error, PackageError::UnsupportedHost { .. }),
            "{error}"
        );
    }
}
