//! A local Lambda Runtime API that runs a packaged `bootstrap` binary as Lambda would.
//!
//! [`LambdaProcess::start`] serves the Runtime API (version 2018-06-01) on a free port of
//! 127.0.0.1 and starts the binary with `AWS_LAMBDA_RUNTIME_API` pointing at it, together with
//! the variables that Lambda sets for a `provided.al2023` function and the function's own
//! environment. [`LambdaProcess::invoke`] queues one event, hands it out on the binary's next
//! `GET /2018-06-01/runtime/invocation/next`, and waits for the binary to post its response or
//! error. The time from process start to the first `next` request is the cold start that
//! [`LambdaProcess::startup_time`] returns.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::Notify;

use crate::http_server::{LocalServer, Reply, reply};

/// Path prefix of every Runtime API route.
const API_PREFIX: &str = "/2018-06-01/runtime";

/// How long [`LambdaProcess::invoke`] waits for a result by default.
pub const DEFAULT_INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

/// Time an invocation may run, sent as its deadline (Lambda's function timeout).
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(30);

/// The result of one invocation, as the binary posted it.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    /// `POST /runtime/invocation/{id}/response`: the handler's result.
    Response(Value),
    /// `POST /runtime/invocation/{id}/error`: the handler failed.
    Error {
        /// The `Lambda-Runtime-Function-Error-Type` header, when sent.
        error_type: Option<String>,
        body: Value,
    },
}

/// An error that the binary reported through `POST /runtime/init/error`.
#[derive(Debug, Clone, PartialEq)]
pub struct InitError {
    pub error_type: Option<String>,
    pub body: Value,
}

struct PendingEvent {
    request_id: String,
    payload: Bytes,
}

#[derive(Default)]
struct State {
    queue: VecDeque<PendingEvent>,
    results: HashMap<String, Invocation>,
    first_next_at: Option<Instant>,
    next_requests: u32,
    init_error: Option<InitError>,
    invocations: u64,
}

struct Shared {
    state: Mutex<State>,
    changed: Notify,
    function_arn: String,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `check` returns a value, re-checking after every state change.
    async fn wait_for<T>(&self, mut check: impl FnMut(&mut State) -> Option<T>) -> T {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(value) = check(&mut self.lock()) {
                return value;
            }
            notified.await;
        }
    }
}

/// What [`LambdaProcess::start`] needs to know about the function.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The `bootstrap` executable, e.g. from [`extract_bootstrap`].
    pub bootstrap: PathBuf,
    /// `AWS_LAMBDA_FUNCTION_NAME`, also part of the invoked function ARN.
    pub function_name: String,
    /// The function's environment variables (from its template) and any others the test
    /// needs, such as the emulator's endpoint and test credentials.
    pub environment: Vec<(String, String)>,
}

/// A running `bootstrap` process and the Runtime API it polls; dropping it kills the process.
pub struct LambdaProcess {
    shared: Arc<Shared>,
    server: LocalServer,
    child: Child,
    started_at: Instant,
    output: Arc<Mutex<Vec<String>>>,
}

impl LambdaProcess {
    /// Serves the Runtime API and starts the binary.
    ///
    /// The process gets only the variables Lambda sets and those in `spec.environment`, not
    /// the test's own environment, so a setting the template forgot shows up as a failure.
    pub async fn start(spec: &FunctionSpec) -> LambdaProcess {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Notify::new(),
            function_arn: format!(
                "arn:aws:lambda:{}:{}:function:{}",
                crate::REGION,
                crate::ACCOUNT_ID,
                spec.function_name
            ),
        });
        let handler_state = Arc::clone(&shared);
        let server = LocalServer::start(move |request| {
            let shared = Arc::clone(&handler_state);
            async move { route(&shared, request).await }
        })
        .await;

        let task_root = spec
            .bootstrap
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let mut command = Command::new(&spec.bootstrap);
        command
            .env_clear()
            .envs(lambda_variables(spec, &task_root, &server))
            .envs(spec.environment.iter().cloned())
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);

        let started_at = Instant::now();
        let mut child = command.spawn().unwrap_or_else(|error| {
            panic!("failed to start {}: {error}", spec.bootstrap.display())
        });

        let output = Arc::new(Mutex::new(Vec::new()));
        if let Some(stdout) = child.stdout.take() {
            collect_lines(stdout, Arc::clone(&output));
        }
        if let Some(stderr) = child.stderr.take() {
            collect_lines(stderr, Arc::clone(&output));
        }

        LambdaProcess {
            shared,
            server,
            child,
            started_at,
            output,
        }
    }

    /// Returns the value of `AWS_LAMBDA_RUNTIME_API` given to the process.
    pub fn runtime_api(&self) -> String {
        self.server.address().to_string()
    }

    /// Waits for the first `next` request and returns the time from process start to it.
    ///
    /// Panics with the process output when the process exits or reports an init error first,
    /// or when `limit` passes.
    pub async fn startup_time(&mut self, limit: Duration) -> Duration {
        let shared = Arc::clone(&self.shared);
        let first_next = tokio::time::timeout(
            limit,
            self.until_or_exit(shared.wait_for(|state| state.first_next_at)),
        )
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the function sent no `next` request within {limit:?}; its output:\n{}",
                self.output()
            )
        });
        first_next.duration_since(self.started_at)
    }

    /// Invokes the function with `event` and waits up to [`DEFAULT_INVOKE_TIMEOUT`].
    pub async fn invoke(&mut self, event: &Value) -> Invocation {
        self.invoke_with_timeout(event, DEFAULT_INVOKE_TIMEOUT)
            .await
    }

    /// Queues `event` for the next `next` request and waits for the binary's result.
    ///
    /// Panics with the process output when the process exits, reports an init error, or
    /// posts nothing within `limit`.
    pub async fn invoke_with_timeout(&mut self, event: &Value, limit: Duration) -> Invocation {
        let request_id = {
            let mut state = self.shared.lock();
            state.invocations += 1;
            let request_id = format!("00000000-0000-4000-8000-{:012}", state.invocations);
            state.queue.push_back(PendingEvent {
                request_id: request_id.clone(),
                payload: Bytes::from(event.to_string()),
            });
            request_id
        };
        self.shared.changed.notify_waiters();

        let shared = Arc::clone(&self.shared);
        let wait = shared.wait_for(|state| state.results.remove(&request_id));
        match tokio::time::timeout(limit, self.until_or_exit(wait)).await {
            Ok(result) => result,
            Err(_) => panic!(
                "invocation {request_id} got no result within {limit:?}; the function's output:\n{}",
                self.output()
            ),
        }
    }

    /// Returns the number of `next` requests received so far.
    pub fn next_requests(&self) -> u32 {
        self.shared.lock().next_requests
    }

    /// Returns what the process wrote to stdout and stderr so far, one line each.
    pub fn output(&self) -> String {
        self.output
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .join("\n")
    }

    /// Runs `wait` until it finishes, panicking with the output when the process exits or
    /// reports an init error first.
    async fn until_or_exit<T>(&mut self, wait: impl std::future::Future<Output = T>) -> T {
        let shared = Arc::clone(&self.shared);
        let init_error = shared.wait_for(|state| state.init_error.clone());
        tokio::select! {
            value = wait => value,
            status = self.child.wait() => {
                // The output readers may still hold the last lines; give them a moment.
                tokio::time::sleep(Duration::from_millis(100)).await;
                panic!(
                    "the function exited ({}) before answering; its output:\n{}",
                    status.map_or_else(|error| error.to_string(), |status| status.to_string()),
                    self.output()
                )
            }
            error = init_error => panic!(
                "the function reported an init error {:?}: {}; its output:\n{}",
                error.error_type, error.body, self.output()
            ),
        }
    }
}

/// Variables that Lambda sets for a function on a custom runtime.
fn lambda_variables(
    spec: &FunctionSpec,
    task_root: &Path,
    server: &LocalServer,
) -> Vec<(String, String)> {
    let variables = [
        ("AWS_LAMBDA_RUNTIME_API", server.address().to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.function_name),
        ),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]00000000000000000000000000000000".to_owned(),
        ),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", crate::REGION.to_owned()),
        ("AWS_DEFAULT_REGION", crate::REGION.to_owned()),
        ("LAMBDA_TASK_ROOT", task_root.display().to_string()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
    ];
    variables
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
}

fn collect_lines(stream: impl AsyncRead + Unpin + Send + 'static, sink: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sink.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(line);
        }
    });
}

async fn route(shared: &Shared, request: Request<Bytes>) -> Reply {
    let path = request.uri().path().to_owned();
    let Some(route) = path.strip_prefix(API_PREFIX) else {
        return not_found(&path);
    };
    let segments: Vec<&str> = route.trim_start_matches('/').split('/').collect();

    match (request.method(), segments.as_slice()) {
        (&Method::GET, ["invocation", "next"]) => next_invocation(shared).await,
        (&Method::POST, ["invocation", request_id, "response"]) => {
            let body = json_body(request.body());
            record_result(shared, request_id, Invocation::Response(body))
        }
        (&Method::POST, ["invocation", request_id, "error"]) => {
            let result = Invocation::Error {
                error_type: error_type(&request),
                body: json_body(request.body()),
            };
            record_result(shared, request_id, result)
        }
        (&Method::POST, ["init", "error"]) => {
            shared.lock().init_error = Some(InitError {
                error_type: error_type(&request),
                body: json_body(request.body()),
            });
            shared.changed.notify_waiters();
            accepted()
        }
        _ => not_found(&path),
    }
}

/// Hands out the next queued event, waiting (long polling, as Lambda does) until there is one.
async fn next_invocation(shared: &Shared) -> Reply {
    {
        let mut state = shared.lock();
        state.next_requests += 1;
        state.first_next_at.get_or_insert_with(Instant::now);
    }
    shared.changed.notify_waiters();

    let event = shared.wait_for(|state| state.queue.pop_front()).await;
    let deadline = SystemTime::now() + FUNCTION_TIMEOUT;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();

    hyper::Response::builder()
        .status(StatusCode::OK)
        .header("Content-Type", "application/json")
        .header("Lambda-Runtime-Aws-Request-Id", &event.request_id)
        .header("Lambda-Runtime-Deadline-Ms", deadline_ms.to_string())
        .header("Lambda-Runtime-Invoked-Function-Arn", &shared.function_arn)
        .header(
            "Lambda-Runtime-Trace-Id",
            "Root=1-00000000-000000000000000000000000;Sampled=0",
        )
        .body(http_body_util::Full::new(event.payload))
        .expect("a response with valid headers")
}

fn record_result(shared: &Shared, request_id: &str, result: Invocation) -> Reply {
    shared.lock().results.insert(request_id.to_owned(), result);
    shared.changed.notify_waiters();
    accepted()
}

fn error_type(request: &Request<Bytes>) -> Option<String> {
    request
        .headers()
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

/// Reads a posted body as JSON; a body that is not JSON is kept as a string.
fn json_body(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

fn accepted() -> Reply {
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

fn not_found(path: &str) -> Reply {
    let body = serde_json::json!({
        "errorMessage": format!("no Runtime API route for {path}"),
        "errorType": "InvalidRequest",
    });
    reply(StatusCode::NOT_FOUND, &body.to_string())
}

/// Extracts the `bootstrap` executable from a Lambda zip into `dir` and returns its path.
pub fn extract_bootstrap(zip_path: &Path, dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;

    let file = std::fs::File::open(zip_path)
        .unwrap_or_else(|error| panic!("open {}: {error}", zip_path.display()));
    let mut archive = zip::ZipArchive::new(file)
        .unwrap_or_else(|error| panic!("{} is not a zip file: {error}", zip_path.display()));
    let mut entry = archive
        .by_name("bootstrap")
        .unwrap_or_else(|error| panic!("{} has no bootstrap: {error}", zip_path.display()));

    let path = dir.join("bootstrap");
    let mut out = std::fs::File::create(&path)
        .unwrap_or_else(|error| panic!("create {}: {error}", path.display()));
    std::io::copy(&mut entry, &mut out)
        .unwrap_or_else(|error| panic!("extract {}: {error}", path.display()));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|error| panic!("make {} executable: {error}", path.display()));
    path
}
