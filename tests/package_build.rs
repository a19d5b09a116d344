//! The real `package` build: cargo builds both functions for musl and zips them.
//!
//! These tests take minutes on a cold target directory. They run when the Rust target and C
//! compiler they need are installed, and are skipped with a printed reason otherwise, unless
//! `PINPOINT_ATTRIBUTION_PACKAGE_TESTS=required` (set by `scripts/test`) makes a missing tool a
//! failure. They build in the target directory that `package` picks, so they reuse the build
//! that `scripts/test` made.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pinpoint_attribution::artifacts::{Architecture, ArtifactSet, Function, MANIFEST_FILE};
use pinpoint_attribution::package::{self, BOOTSTRAP, PackageError, PackageOptions};

/// ELF `e_machine` values.
const EM_X86_64: u16 = 0x3e;
const EM_AARCH64: u16 = 0xb7;

/// ELF program header type of the dynamic loader path: absent from static binaries.
const PT_INTERP: u32 = 3;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn required() -> bool {
    std::env::var("PINPOINT_ATTRIBUTION_PACKAGE_TESTS").is_ok_and(|value| value == "required")
}

/// Packages `architecture` into `out_dir`, or returns `None` (after saying why) when its tools
/// are missing and the run does not require them.
fn package_or_skip(architecture: Architecture, out_dir: &Path) -> Option<ArtifactSet> {
    let options = PackageOptions {
        workspace: workspace(),
        out_dir: out_dir.to_path_buf(),
        architectures: BTreeSet::from([architecture]),
        target_dir: None,
    };

    let started = Instant::now();
    match package::package(&options) {
        Ok(artifacts) => {
            eprintln!(
                "packaged {architecture} in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            Some(artifacts)
        }
        Err(
            error @ (PackageError::MissingRustTarget { .. } | PackageError::MissingCompiler { .. }),
        ) if !required() => {
            eprintln!(
                "SKIPPED: {error} (set PINPOINT_ATTRIBUTION_PACKAGE_TESTS=required to fail instead)"
            );
            None
        }
        Err(error) => panic!("package {architecture} failed: {error}"),
    }
}

fn bootstrap_of(
    artifacts: &ArtifactSet,
    function: Function,
    architecture: Architecture,
) -> Vec<u8> {
    let artifact = artifacts.get(function, architecture).unwrap();
    let zipped = std::fs::read(artifacts.path_of(artifact)).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(zipped)).unwrap();
    let mut entry = archive.by_name(BOOTSTRAP).unwrap();
    let mut binary = Vec::new();
    entry.read_to_end(&mut binary).unwrap();
    binary
}

fn u16_at(bytes: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes([bytes[offset], bytes[offset + 1]])
}

fn u32_at(bytes: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(bytes[offset..offset + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(bytes[offset..offset + 8].try_into().unwrap())
}

/// Checks that `binary` is a static 64-bit little-endian ELF executable for `machine`.
fn assert_static_elf(binary: &[u8], machine: u16) {
    assert_eq!(&binary[..4], b"\x7fELF", "ELF magic");
    assert_eq!(binary[4], 2, "64-bit ELF");
    assert_eq!(binary[5], 1, "little-endian ELF");
    assert_eq!(u16_at(binary, 18), machine, "ELF machine");

    let program_headers = u64_at(binary, 32) as usize;
    let entry_size = usize::from(u16_at(binary, 54));
    let count = usize::from(u16_at(binary, 56));
    let interpreters = (0..count)
        .map(|index| u32_at(binary, program_headers + index * entry_size))
        .filter(|&kind| kind == PT_INTERP)
        .count();
    assert_eq!(interpreters, 0, "a static binary has no dynamic loader");
}

/// Checks that no path of this machine's checkout, cargo home or target directory is inside
/// the binary, so that a clone elsewhere builds the same bytes.
fn assert_no_build_paths(binary: &[u8]) {
    let mut paths = vec![workspace()];
    if let Some(home) = std::env::var_os("HOME") {
        paths.push(PathBuf::from(home).join(".cargo"));
    }
    if let Some(cargo_home) = std::env::var_os("CARGO_HOME") {
        paths.push(PathBuf::from(cargo_home));
    }
    for name in [package::LAMBDA_TARGET_DIR_ENV, "CARGO_TARGET_DIR"] {
        if let Some(target_dir) = std::env::var_os(name).filter(|dir| !dir.is_empty()) {
            paths.push(PathBuf::from(target_dir));
        }
    }

    for path in paths {
        let needle = path.to_string_lossy().into_owned();
        let found = binary
            .windows(needle.len())
            .any(|window| window == needle.as_bytes());
        assert!(!found, "the binary contains the build path {needle}");
    }
}

/// Runs a packaged `bootstrap` with the Lambda environment pointed at a local listener, and
/// returns the first request line it sends to the Runtime API.
fn first_runtime_request(launcher: Option<&str>, bootstrap: &Path) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();

    let mut command = match launcher {
        Some(launcher) => {
            let mut command = Command::new(launcher);
            command.arg(bootstrap);
            command
        }
        None => Command::new(bootstrap),
    };
    // Settings the functions read at start-up, then the variables that Lambda sets.
    let mut child = command
        .env_clear()
        .env("ATTRIBUTION_TABLE", "attribution-local-shop")
        .env("USER_POOL_ID", "eu-west-1_AbCdEf123")
        .env("PINPOINT_APP_ID", "0123456789abcdef0123456789abcdef")
        .env("LOOKBACK_DAYS", "14")
        .env("AWS_LAMBDA_RUNTIME_API", &runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bootstrap-probe")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bootstrap-probe")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "probe")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|err| panic!("failed to run {}: {err}", bootstrap.display()));

    listener.set_nonblocking(true).unwrap();
    let started = Instant::now();
    let connection = loop {
        if let Ok((stream, _)) = listener.accept() {
            break Some(stream);
        }
        if started.elapsed() > Duration::from_secs(60) || child.try_wait().unwrap().is_some() {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };

    let Some(stream) = connection else {
        let _ = child.kill();
        let output = child.wait_with_output().unwrap();
        panic!(
            "{} never called the Runtime API ({}); stderr:\n{}",
            bootstrap.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    };
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();

    let _ = child.kill();
    let _ = child.wait();
    line.trim_end().to_owned()
}

#[test]
fn package_x86_64_is_static_and_repeatable() {
    let out = tempfile::tempdir().unwrap();
    let Some(first) = package_or_skip(Architecture::X86_64, out.path()) else {
        return;
    };

    let files: BTreeSet<_> = first
        .manifest
        .artifacts
        .iter()
        .map(|a| a.file.clone())
        .collect();
    assert_eq!(files.len(), 2, "manifest: {:?}", first.manifest);
    for artifact in &first.manifest.artifacts {
        let bytes = std::fs::read(first.path_of(artifact)).unwrap();
        assert_eq!(
            package::sha256_hex(&bytes),
            artifact.sha256,
            "{}",
            artifact.file
        );
        assert_eq!(bytes.len() as u64, artifact.size, "{}", artifact.file);
        eprintln!("{}: {} bytes", artifact.file, artifact.size);
    }
    for function in Function::ALL {
        let binary = bootstrap_of(&first, function, Architecture::X86_64);
        assert_static_elf(&binary, EM_X86_64);
        assert_no_build_paths(&binary);
    }

    // A second run over the same build writes the same zips and removes only stale zips.
    let stale = out.path().join("tagging-x86_64-000000000000.zip");
    let unrelated = out.path().join("notes.txt");
    std::fs::write(&stale, b"old").unwrap();
    std::fs::write(&unrelated, b"kept").unwrap();

    let second = package_or_skip(Architecture::X86_64, out.path()).unwrap();

    assert_eq!(second.manifest, first.manifest);
    assert!(
        !stale.exists(),
        "a zip that the manifest does not list is removed"
    );
    assert!(unrelated.exists(), "files that package did not write stay");
    let manifest = ArtifactSet::load(out.path()).unwrap();
    assert_eq!(manifest.manifest, first.manifest, "{MANIFEST_FILE} on disk");
}

#[test]
fn packaged_x86_64_bootstrap_calls_runtime_api() {
    let out = tempfile::tempdir().unwrap();
    let Some(artifacts) = package_or_skip(Architecture::X86_64, out.path()) else {
        return;
    };

    for function in Function::ALL {
        let bootstrap = out.path().join(format!("{function}-bootstrap"));
        std::fs::write(
            &bootstrap,
            bootstrap_of(&artifacts, function, Architecture::X86_64),
        )
        .unwrap();
        set_executable(&bootstrap);

        let request = first_runtime_request(None, &bootstrap);

        assert_eq!(
            request, "GET /2018-06-01/runtime/invocation/next HTTP/1.1",
            "{function}"
        );
    }
}

#[test]
fn packaged_arm64_bootstrap_runs_under_qemu() {
    let out = tempfile::tempdir().unwrap();
    let Some(artifacts) = package_or_skip(Architecture::Arm64, out.path()) else {
        return;
    };
    let qemu = "qemu-aarch64-static";
    if Command::new(qemu).arg("--version").output().is_err() {
        assert!(
            !required(),
            "{qemu} not found: install it with `apt-get install qemu-user-static`"
        );
        eprintln!("SKIPPED: {qemu} not found; install it with `apt-get install qemu-user-static`");
        return;
    }

    for function in Function::ALL {
        let binary = bootstrap_of(&artifacts, function, Architecture::Arm64);
        assert_static_elf(&binary, EM_AARCH64);
        assert_no_build_paths(&binary);

        let bootstrap = out.path().join(format!("{function}-bootstrap"));
        std::fs::write(&bootstrap, binary).unwrap();
        set_executable(&bootstrap);
        let request = first_runtime_request(Some(qemu), &bootstrap);

        assert_eq!(
            request, "GET /2018-06-01/runtime/invocation/next HTTP/1.1",
            "{function}"
        );
    }
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
