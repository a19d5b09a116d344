//! Test support for code that talks to AWS: one moto server per test process.
//!
//! Every test that needs the emulator calls [`Emulator::start`], which runs the project's
//! launcher (`scripts/emulator.py`, moto with the project's patches) on a free port of
//! 127.0.0.1. Each test process gets its own server, so tests never see each other's resources
//! and request counts at the emulator belong to one test.
//!
//! [`runtime_api`] runs packaged Lambda `bootstrap` binaries against a local Runtime API, and
//! [`pinpoint_api`] serves the two Pinpoint reads that moto lacks to such a binary.

mod http_server;
pub mod pinpoint_api;
pub mod runtime_api;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

/// Region every test uses: moto keeps separate state per region.
pub const REGION: &str = "eu-west-1";

/// Account id that moto reports for its default credentials.
pub const ACCOUNT_ID: &str = "123456789012";

/// A moto server owned by this test process; dropping it stops the server.
pub struct Emulator {
    endpoint: String,
    port: u16,
    child: Child,
}

impl Emulator {
    /// Starts a moto server on a free port and waits until it responds.
    ///
    /// Panics with a message that explains how to install the emulator when the project venv is
    /// missing: a test cannot do anything useful without it.
    pub fn start() -> Emulator {
        Emulator::start_with_args(&[])
    }

    /// Starts a moto server like [`Emulator::start`], with extra arguments for the launcher's
    /// `serve` command: `--no-patches`, or `--without-patch NAME` to leave out one patch (the
    /// tests of a patch use these to show the deviation it fixes).
    pub fn start_with_args(launcher_args: &[&str]) -> Emulator {
        let python = python_path();
        assert!(
            python.exists(),
            "emulator Python not found at {}: run `scripts/emulator install` or set PINPOINT_ATTRIBUTION_PYTHON",
            python.display()
        );

        let port = free_port();
        let child = Command::new(&python)
            .arg(workspace_root().join("scripts/emulator.py"))
            .args(["serve", "--port", &port.to_string()])
            .args(launcher_args)
            .env(
                "MOTO_RECORDER_FILEPATH",
                std::env::temp_dir().join(format!("moto-recording-{port}.jsonl")),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("failed to start {}: {err}", python.display()));

        let emulator = Emulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
        };
        emulator.wait_until_ready(Duration::from_secs(60));
        emulator
    }

    /// Base URL of the server, for `--endpoint-url` and `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// SDK settings for this server: fixed region and test credentials, no retries, nothing
    /// read from the environment or `~/.aws`.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(Credentials::new(
                    "test", "test", None, None, "testkit",
                )),
            )
            .retry_config(RetryConfig::disabled())
            .build()
    }

    /// Environment variables that point a child process (the deployer binary) at this server.
    pub fn process_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
            ("AWS_CONFIG_FILE", "/dev/null".to_owned()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".to_owned()),
        ]
    }

    /// Sends a request to moto's own API (`/moto-api/...`) and returns the status and body.
    pub fn moto_api(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        http_request(self.port, method, path, body)
            .unwrap_or_else(|err| panic!("moto API {method} {path} failed: {err}"))
    }

    /// Starts recording the requests that reach the server.
    pub fn start_recording(&self) {
        let (status, body) = self.moto_api("POST", "/moto-api/recorder/reset-recording", "");
        assert_eq!(status, 200, "reset-recording failed: {body}");
        let (status, body) = self.moto_api("POST", "/moto-api/recorder/start-recording", "");
        assert_eq!(status, 200, "start-recording failed: {body}");
    }

    /// Returns the requests recorded since [`Emulator::start_recording`], one JSON object each.
    pub fn recorded_requests(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.moto_api("GET", "/moto-api/recorder/download-recording", "");
        assert_eq!(status, 200, "download-recording failed: {body}");
        parse_recording(&body)
    }

    fn wait_until_ready(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok((200, _)) = http_request(self.port, "GET", "/moto-api/data.json", "") {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto did not answer on port {} within {limit:?}", self.port);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Root of the cargo workspace (the directory holding `scripts/` and `environments/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("testkit lives two levels below the workspace root")
        .to_path_buf()
}

/// Python interpreter of the project venv, or `PINPOINT_ATTRIBUTION_PYTHON` when set.
pub fn python_path() -> PathBuf {
    match std::env::var_os("PINPOINT_ATTRIBUTION_PYTHON") {
        Some(path) => PathBuf::from(path),
        None => workspace_root().join(".venv/bin/python"),
    }
}

/// Parses moto's recording as a stream of JSON objects rather than as lines.
///
/// NOTE: moto writes each entry's object and its newline separately, so concurrent requests can
/// leave two objects on one line. Each object is still written whole.
fn parse_recording(body: &str) -> Vec<serde_json::Value> {
    serde_json::Deserializer::from_str(body)
        .into_iter::<serde_json::Value>()
        .map(|entry| entry.unwrap_or_else(|err| panic!("moto recording is not JSON: {err}")))
        .collect()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1");
    listener.local_addr().expect("local address").port()
}

fn http_request(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let request = format!(
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;

    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// One request that reached the emulator, reduced to what tests assert on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCall {
    /// Signing name of the service (`cloudformation`, `s3`, `mobiletargeting`, ...).
    pub service: String,
    /// HTTP method.
    pub method: String,
    /// Path of the request URL.
    pub path: String,
    /// Operation name for query (`Action=`) and JSON (`X-Amz-Target`) protocols; empty for
    /// REST protocols such as S3 and Pinpoint, where method and path identify the call.
    pub action: String,
}

impl AwsCall {
    /// Whether the call can change state: every write operation, by its name or HTTP method.
    pub fn is_mutating(&self) -> bool {
        if self.action.is_empty() {
            return !matches!(self.method.as_str(), "GET" | "HEAD");
        }
        const READ_PREFIXES: [&str; 5] = ["Describe", "Get", "List", "Head", "Validate"];
        !READ_PREFIXES
            .iter()
            .any(|prefix| self.action.starts_with(prefix))
    }
}

impl Emulator {
    /// Returns the recorded requests as [`AwsCall`]s, in the order they arrived.
    pub fn recorded_calls(&self) -> Vec<AwsCall> {
        self.recorded_requests().iter().map(to_call).collect()
    }
}

fn to_call(request: &serde_json::Value) -> AwsCall {
    use base64::Engine as _;

    let header = |name: &str| -> String {
        request["headers"]
            .as_object()
            .and_then(|headers| {
                headers
                    .iter()
                    .find(|(key, _)| key.eq_ignore_ascii_case(name))
                    .and_then(|(_, value)| value.as_str())
            })
            .unwrap_or_default()
            .to_owned()
    };
    let service = header("Authorization")
        .split("Credential=")
        .nth(1)
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or_default()
        .to_owned();

    let raw_body = request["body"].as_str().unwrap_or_default();
    let body = if request["body_encoded"].as_bool() == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(raw_body)
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default()
    } else {
        raw_body.to_owned()
    };
    let target = header("X-Amz-Target");
    let action = if let Some(operation) = target.rsplit('.').next().filter(|op| !op.is_empty()) {
        operation.to_owned()
    } else {
        body.split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
            .unwrap_or_default()
            .to_owned()
    };

    let url = request["url"].as_str().unwrap_or_default();
    let path = url
        .splitn(4, '/')
        .nth(3)
        .map(|rest| format!("/{rest}"))
        .unwrap_or_else(|| "/".to_owned());
    AwsCall {
        service,
        method: request["method"].as_str().unwrap_or_default().to_owned(),
        path,
        action,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_recording;

    #[test]
    fn two_entries_on_one_line() {
        // Two threads appending at once leave: object, object, newline, newline.
        let body = "{\"method\":\"POST\"}{\"method\":\"GET\"}\n\n{\"method\":\"PUT\"}\n";

        let methods: Vec<_> = parse_recording(body)
            .iter()
            .map(|entry| entry["method"].as_str().unwrap().to_owned())
            .collect();

        assert_eq!(methods, ["POST", "GET", "PUT"]);
    }

    #[test]
    fn empty_recording() {
        assert!(parse_recording("").is_empty());
        assert!(parse_recording("\n\n").is_empty());
    }
}
