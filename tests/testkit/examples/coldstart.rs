//! Cold start of Lambda `bootstrap` executables on the testkit's Runtime API.
//!
//! Each subject is started as Lambda starts a custom runtime ([`LambdaProcess::start`]), and
//! the time from process start to its first `GET /2018-06-01/runtime/invocation/next` is
//! taken ([`LambdaProcess::startup_time`]). A subject is a packaged Lambda zip (its `bootstrap`
//! entry is extracted) or any executable, such as a Python script with a `#!` line. The
//! subjects take turns within each round, so a burst of load on the machine hits all of them.
//! The first `--warmup` rounds fill the page cache and are not counted.
//!
//! `scripts/bench coldstart` runs it:
//!
//! ```text
//! cargo run -p testkit --example coldstart -- --runs 15 \
//!     --subject tagging=DIR/tagging-x86_64-….zip --subject python-boto3=DIR/bootstrap \
//!     --env python-boto3:BOTO3_CLIENTS=dynamodb
//! ```
//!
//! Every subject gets the function settings of the tagging and expiration functions and test
//! credentials. None of them makes an AWS request before its first `next`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use serde_json::json;
use testkit::runtime_api::{FunctionSpec, LambdaProcess, extract_bootstrap};

/// How long one subject may take to send its first `next` request.
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// Settings that both functions read at start, with values that need no AWS request.
const FUNCTION_SETTINGS: [(&str, &str); 13] = [
    ("ATTRIBUTION_TABLE", "coldstart-attribution"),
    ("USER_POOL_ID", "eu-west-1_ColdStart"),
    ("PINPOINT_APP_ID", "0123456789abcdef0123456789abcdef"),
    ("LOOKBACK_DAYS", "14"),
    ("CAMPAIGN_ATTRIBUTE", "campaign"),
    ("COGNITO_UPDATES_PER_SECOND", "1"),
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    // The discard port, which has no server here, so a subject that called AWS at start would
    // fail instead of reaching a real service.
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_LAMBDA_LOG_LEVEL", "info"),
];

#[derive(Debug, Parser)]
#[command(about = "Time from process start to the first Runtime API `next` request")]
struct Arguments {
    /// A subject as NAME=PATH: a Lambda zip with a `bootstrap` entry, or an executable.
    #[arg(long = "subject", value_name = "NAME=PATH", required = true)]
    subjects: Vec<String>,

    /// An extra environment variable of one subject, as NAME:VARIABLE=VALUE.
    #[arg(long = "env", value_name = "NAME:VARIABLE=VALUE")]
    environment: Vec<String>,

    /// Counted runs of each subject.
    #[arg(long, default_value_t = 15)]
    runs: usize,

    /// Rounds run first and not counted (they fill the page cache).
    #[arg(long, default_value_t = 1)]
    warmup: usize,

    /// Writes every measured time, in milliseconds, to this JSON file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

struct Subject {
    name: String,
    spec: FunctionSpec,
}

#[tokio::main]
async fn main() {
    let arguments = Arguments::parse();
    let work_dir = tempfile::tempdir().expect("temporary directory");
    let subjects = subjects(&arguments, work_dir.path());

    let mut samples: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for round in 0..arguments.warmup + arguments.runs {
        for subject in &subjects {
            let millis = startup_millis(subject).await;
            if round >= arguments.warmup {
                samples
                    .entry(subject.name.clone())
                    .or_default()
                    .push(millis);
            }
        }
    }

    print_table(&subjects, &samples, &arguments);
    if let Some(path) = &arguments.json {
        let document =
            json!({ "runs": arguments.runs, "warmup": arguments.warmup, "milliseconds": samples });
        std::fs::write(path, format!("{document:#}\n"))
            .unwrap_or_else(|error| panic!("write {}: {error}", path.display()));
    }
}

/// Builds the subjects from the arguments, extracting the `bootstrap` of each zip.
fn subjects(arguments: &Arguments, work_dir: &Path) -> Vec<Subject> {
    arguments
        .subjects
        .iter()
        .map(|argument| {
            let (name, path) = argument
                .split_once('=')
                .unwrap_or_else(|| panic!("invalid --subject {argument}: expected NAME=PATH"));
            let path = PathBuf::from(path);
            let bootstrap = if path.extension().is_some_and(|extension| extension == "zip") {
                let dir = work_dir.join(name);
                std::fs::create_dir_all(&dir)
                    .unwrap_or_else(|error| panic!("create {}: {error}", dir.display()));
                extract_bootstrap(&path, &dir)
            } else {
                path
            };

            let mut environment: Vec<(String, String)> = FUNCTION_SETTINGS
                .iter()
                .map(|(variable, value)| ((*variable).to_owned(), (*value).to_owned()))
                .collect();
            environment.extend(extra_environment(&arguments.environment, name));
            Subject {
                name: name.to_owned(),
                spec: FunctionSpec {
                    bootstrap,
                    function_name: format!("coldstart-{name}"),
                    environment,
                },
            }
        })
        .collect()
}

/// Returns the `--env` variables given for the subject `name`.
fn extra_environment(arguments: &[String], name: &str) -> Vec<(String, String)> {
    arguments
        .iter()
        .filter_map(|argument| {
            let (subject, assignment) = argument.split_once(':').unwrap_or_else(|| {
                panic!("invalid --env {argument}: expected NAME:VARIABLE=VALUE")
            });
            let (variable, value) = assignment.split_once('=').unwrap_or_else(|| {
                panic!("invalid --env {argument}: expected NAME:VARIABLE=VALUE")
            });
            (subject == name).then(|| (variable.to_owned(), value.to_owned()))
        })
        .collect()
}

/// Starts the subject, waits for its first `next` request, then stops it.
async fn startup_millis(subject: &Subject) -> f64 {
    let mut process = LambdaProcess::start(&subject.spec).await;
    let startup = process.startup_time(STARTUP_LIMIT).await;
    drop(process);
    startup.as_secs_f64() * 1000.0
}

fn print_table(subjects: &[Subject], samples: &BTreeMap<String, Vec<f64>>, arguments: &Arguments) {
    let medians: Vec<(String, f64)> = subjects
        .iter()
        .map(|subject| (subject.name.clone(), median(&samples[&subject.name])))
        .collect();

    println!(
        "{} counted runs of each subject after {} warm-up round(s); times in ms from process start to the first `next` request\n",
        arguments.runs, arguments.warmup
    );
    let header: Vec<String> = medians
        .iter()
        .map(|(name, _)| format!("÷ {name}"))
        .collect();
    println!("| subject | median | min | max | {} |", header.join(" | "));
    println!(
        "| --- | ---: | ---: | ---: |{}",
        " ---: |".repeat(medians.len())
    );
    for (name, own) in &medians {
        let values = &samples[name];
        let ratios: Vec<String> = medians
            .iter()
            .map(|(_, other)| format!("{:.3}×", own / other))
            .collect();
        println!(
            "| {name} | {own:.1} | {:.1} | {:.1} | {} |",
            values.iter().copied().fold(f64::INFINITY, f64::min),
            values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ratios.join(" | ")
        );
    }
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    } else {
        sorted[middle]
    }
}
