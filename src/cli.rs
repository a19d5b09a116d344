//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::artifacts::Architecture;

/// Deploys Amazon Pinpoint journey attribution, one CloudFormation stack per Pinpoint
/// application, from an environment file.
#[derive(Debug, Parser)]
#[command(name = "pinpoint-attribution", version, propagate_version = true)]
pub struct Cli {
    /// Environment file (YAML) that lists the applications to deploy.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "PINPOINT_ATTRIBUTION_ENV"
    )]
    pub env: Option<PathBuf>,

    /// Only this application of the environment file; repeat for several.
    #[arg(long = "app", global = true, value_name = "NAME")]
    pub apps: Vec<String>,

    /// Format of the result on stdout; progress and logs always go to stderr.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Named profile from the AWS config files (default: the SDK's credential chain).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// AWS region; must match the environment file's `region` when both are given.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,

    /// Endpoint URL for every AWS service, for example a local emulator. The SDK also reads
    /// AWS_ENDPOINT_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// More log output on stderr (-v: debug, -vv: trace). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write each application's template and stack settings to a directory. Makes no AWS call.
    Render {
        /// Directory to write the files into (created when missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Directory with the packaged Lambda zips and their manifest.
        #[arg(long, value_name = "DIR", default_value = "dist")]
        artifacts: PathBuf,
    },
    /// Build both Lambda functions as static binaries and write deterministic zips.
    Package {
        /// Directory for the zips and manifest.json.
        #[arg(long, value_name = "DIR", default_value = "dist")]
        out: PathBuf,
        /// Architecture to build; repeat for several. Default: those the environment file uses,
        /// or arm64 without --env.
        #[arg(long, value_name = "ARCH", value_parser = parse_architecture)]
        architecture: Vec<Architecture>,
    },
    /// Show what apply would change: template diff, resource actions, event stream, attribute.
    Diff {
        /// Directory with the packaged Lambda zips and their manifest.
        #[arg(long, value_name = "DIR", default_value = "dist")]
        artifacts: PathBuf,
        /// Exit with 2 when there are changes, 0 when there are none, 1 on error.
        #[arg(long)]
        exit_code: bool,
        /// Maximum wait for CloudFormation to compute one change set, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        timeout: u64,
        /// Plan as `apply --allow-replace LOGICAL_ID` would: let a change set replace or
        /// delete this data resource (AttributionTable or EventStream). Repeatable.
        #[arg(long, value_name = "LOGICAL_ID")]
        allow_replace: Vec<String>,
        /// Read every deployed template and compare it with the rendered one, instead of
        /// trusting the template hash that the stack's outputs carry. Use it after a template
        /// was edited outside pinpoint-attribution.
        #[arg(long)]
        compare_templates: bool,
    },
    /// Create or update every application's stack, attribute and event stream.
    Apply {
        /// Directory with the packaged Lambda zips and their manifest.
        #[arg(long, value_name = "DIR", default_value = "dist")]
        artifacts: PathBuf,
        /// Applications deployed at the same time.
        #[arg(long, value_name = "N", default_value_t = 4)]
        concurrency: usize,
        /// Maximum wait for one change set or stack operation, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        timeout: u64,
        /// Let a change set replace or delete this data resource (AttributionTable or
        /// EventStream), losing its data. Without it, apply refuses such a change set.
        /// Repeatable.
        #[arg(long, value_name = "LOGICAL_ID")]
        allow_replace: Vec<String>,
        /// Read every deployed template and compare it with the rendered one, instead of
        /// trusting the template hash that the stack's outputs carry. Use it after a template
        /// was edited outside pinpoint-attribution.
        #[arg(long)]
        compare_templates: bool,
    },
    /// Remove the event streams this deployer set and delete the stacks.
    Destroy {
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// Applications destroyed at the same time.
        #[arg(long, value_name = "N", default_value_t = 4)]
        concurrency: usize,
        /// Maximum wait for one stack deletion, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 1800)]
        timeout: u64,
    },
    /// Show each application's stack status, outputs, event stream and attribute.
    Status,
    /// Print a shell completion script on stdout, for example
    /// `pinpoint-attribution completions bash > /etc/bash_completion.d/pinpoint-attribution`.
    Completions {
        /// Shell to write the script for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Run recorded Pinpoint event-stream records through the attribution logic against one
    /// deployed application's table and user pool (backfill, or a local journey test).
    Replay {
        /// JSON-lines files of events, plain or gzip-compressed, as Firehose writes them;
        /// `-` reads stdin (also the default); `s3://BUCKET/PREFIX` reads every object under
        /// the prefix.
        #[arg(value_name = "FILES")]
        files: Vec<String>,
        /// Only count what would change; write neither the table nor Cognito.
        #[arg(long)]
        dry_run: bool,
        /// Pinpoint endpoint export (JSON lines with `Id` and `User`) to find each endpoint's
        /// user in, instead of calling GetEndpoint.
        #[arg(long, value_name = "FILE")]
        endpoints: Option<PathBuf>,
        /// JSON object of journey ids to journey names, instead of calling GetJourney; needs
        /// --endpoints.
        #[arg(long, value_name = "FILE", requires = "endpoints")]
        journeys: Option<PathBuf>,
        /// Records handed to the attribution logic at a time, as one invocation would get them.
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10000))]
        batch_size: u32,
    },
}

fn parse_architecture(value: &str) -> Result<Architecture, String> {
    match value {
        "arm64" => Ok(Architecture::Arm64),
        "x86_64" => Ok(Architecture::X86_64),
        other => Err(format!(
            "unknown architecture {other:?}; expected arm64 or x86_64"
        )),
    }
}
