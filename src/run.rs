//! Dispatch of the subcommands and the exit code table.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success; for `diff --exit-code`, no changes |
//! | 1 | error: invalid configuration, failed AWS call, or an application that failed |
//! | 2 | `diff --exit-code` only: apply would make changes |

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::apply::{self, ApplyOptions};
use crate::artifacts::{Architecture, ArtifactSet};
use crate::cli::{Cli, Command, OutputFormat};
use crate::config::{self, Environment};
use crate::diff::DiffOptions;
use crate::output;
use crate::package::{self, PackageOptions};
use crate::progress::stderr_is_terminal;
use crate::render;
use crate::replay::{self, ReplayOptions};
use crate::session::Session;
use crate::{destroy, diff, guard, status};

/// Exit code: success, or no changes for `diff --exit-code`.
pub const EXIT_OK: i32 = 0;
/// Exit code: any error.
pub const EXIT_ERROR: i32 = 1;
/// Exit code: `diff --exit-code` found changes.
pub const EXIT_CHANGES: i32 = 2;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Runs the parsed command line and returns the process exit code.
pub async fn run(cli: Cli) -> i32 {
    let format = cli.output;
    match dispatch(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            // A pipeline that parses stdout gets a document that names the failure.
            if format == OutputFormat::Json {
                output::print(
                    format,
                    &serde_json::json!({ "error": error.to_string() }),
                    |_| String::new(),
                );
            }
            EXIT_ERROR
        }
    }
}

async fn dispatch(cli: Cli) -> Result<i32, BoxError> {
    match &cli.command {
        Command::Render { out, artifacts } => render_command(&cli, out, artifacts),
        Command::Package { out, architecture } => package_command(&cli, out, architecture).await,
        Command::Diff {
            artifacts,
            exit_code,
            timeout,
            allow_replace,
            compare_templates,
        } => {
            guard::check_allowed(allow_replace)?;
            let options = DiffOptions {
                timeout: Duration::from_secs(*timeout),
                allow_replace: allow_replace.clone(),
                compare_templates: *compare_templates,
            };
            diff_command(&cli, artifacts, *exit_code, &options).await
        }
        Command::Apply {
            artifacts,
            concurrency,
            timeout,
            allow_replace,
            compare_templates,
        } => {
            guard::check_allowed(allow_replace)?;
            let options = ApplyOptions {
                concurrency: *concurrency,
                timeout: Duration::from_secs(*timeout),
                allow_replace: allow_replace.clone(),
                compare_templates: *compare_templates,
            };
            apply_command(&cli, artifacts, &options).await
        }
        Command::Destroy {
            yes,
            concurrency,
            timeout,
        } => destroy_command(&cli, *yes, *concurrency, Duration::from_secs(*timeout)).await,
        Command::Status => status_command(&cli).await,
        Command::Completions { shell } => Ok(completions_command(*shell)),
        Command::Replay {
            files,
            dry_run,
            endpoints,
            journeys,
            batch_size,
        } => {
            let options = ReplayOptions {
                sources: files.clone(),
                dry_run: *dry_run,
                endpoints: endpoints.clone(),
                journeys: journeys.clone(),
                batch_size: *batch_size as usize,
                now_ms: tagging::system_clock(),
            };
            replay_command(&cli, &options).await
        }
    }
}

fn load_environment(cli: &Cli) -> Result<Environment, BoxError> {
    let Some(path) = &cli.env else {
        return Err("missing --env FILE: name the environment file to use (or set PINPOINT_ATTRIBUTION_ENV)".into());
    };
    Ok(config::load(path)?)
}

async fn open_session(cli: &Cli) -> Result<Session, BoxError> {
    let environment = load_environment(cli)?;
    let session = Session::open(
        environment,
        &cli.apps,
        cli.profile.clone(),
        cli.region.as_deref(),
        cli.endpoint_url.clone(),
    )
    .await?;
    Ok(session)
}

fn render_command(cli: &Cli, out: &Path, artifacts: &Path) -> Result<i32, BoxError> {
    let environment = load_environment(cli)?;
    crate::session::resolve_region(&environment, cli.region.as_deref())?;
    let applications = crate::session::select_applications(&environment, &cli.apps)?;
    let artifacts = ArtifactSet::load(artifacts)?;

    std::fs::create_dir_all(out)
        .map_err(|error| format!("failed to create {}: {error}", out.display()))?;
    let mut written: Vec<PathBuf> = Vec::new();
    for application in &applications {
        let stack = render::render_application(&environment, application, &artifacts)?;
        written.extend(
            render::write_rendered(out, &stack)
                .map_err(|error| format!("failed to write into {}: {error}", out.display()))?,
        );
    }

    let files: Vec<String> = written
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    output::print(cli.output, &serde_json::json!({ "files": files }), |_| {
        files.iter().map(|file| format!("{file}\n")).collect()
    });
    Ok(EXIT_OK)
}

async fn package_command(
    cli: &Cli,
    out: &Path,
    architectures: &[Architecture],
) -> Result<i32, BoxError> {
    let mut wanted: BTreeSet<Architecture> = architectures.iter().copied().collect();
    if wanted.is_empty() {
        match &cli.env {
            Some(_) => {
                let environment = load_environment(cli)?;
                let applications = crate::session::select_applications(&environment, &cli.apps)?;
                wanted.extend(applications.iter().map(|app| app.settings.architecture));
            }
            None => {
                wanted.insert(Architecture::default());
            }
        }
    }

    let current = std::env::current_dir()?;
    let options = PackageOptions {
        workspace: package::find_workspace_root(&current)?,
        out_dir: absolute(&current, out),
        architectures: wanted,
        target_dir: None,
    };
    let set = tokio::task::spawn_blocking(move || package::package(&options)).await??;
    output::print(cli.output, &set.manifest, |_| output::package_text(&set));
    Ok(EXIT_OK)
}

fn absolute(base: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

async fn diff_command(
    cli: &Cli,
    artifacts: &Path,
    exit_code: bool,
    options: &DiffOptions,
) -> Result<i32, BoxError> {
    let artifacts = ArtifactSet::load(artifacts)?;
    let session = open_session(cli).await?;
    let report = diff::diff(&session, &artifacts, options).await?;
    let colour = cli.output == OutputFormat::Text && output::colour_enabled(std::io::stdout());
    output::print(cli.output, &report, |report| {
        output::diff_text(report, colour)
    });

    if report.any_error() || report.any_blocked() {
        return Ok(EXIT_ERROR);
    }
    Ok(if exit_code && report.changes {
        EXIT_CHANGES
    } else {
        EXIT_OK
    })
}

async fn apply_command(
    cli: &Cli,
    artifacts: &Path,
    options: &ApplyOptions,
) -> Result<i32, BoxError> {
    let artifacts = ArtifactSet::load(artifacts)?;
    let session = open_session(cli).await?;
    let report = apply::apply(&session, &artifacts, options).await?;
    output::print(cli.output, &report, output::apply_text);
    Ok(if report.any_failed() {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

async fn destroy_command(
    cli: &Cli,
    yes: bool,
    concurrency: usize,
    timeout: Duration,
) -> Result<i32, BoxError> {
    let session = open_session(cli).await?;
    if session.environment.protected {
        // Checked here too so that no prompt appears for an environment destroy refuses.
        destroy::destroy(&session, timeout, concurrency).await?;
    }
    if !yes {
        confirm_destroy(&session)?;
    }
    let report = destroy::destroy(&session, timeout, concurrency).await?;
    output::print(cli.output, &report, output::destroy_text);
    Ok(if report.any_failed() {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

fn confirm_destroy(session: &Session) -> Result<(), BoxError> {
    let names: Vec<&str> = session
        .applications
        .iter()
        .map(|app| app.name.as_str())
        .collect();
    if !std::io::stdin().is_terminal() || !stderr_is_terminal() {
        return Err(format!(
            "destroy of environment {} needs confirmation: pass --yes when running without a terminal",
            session.environment.name
        )
        .into());
    }

    eprint!(
        "This deletes the stacks of {} in environment {} (account {}, {}).\nType the environment name to confirm: ",
        names.join(", "),
        session.environment.name,
        session.caller.account_id,
        session.environment.region
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != session.environment.name {
        return Err(
            "destroy cancelled: the confirmation did not match the environment name".into(),
        );
    }
    Ok(())
}

/// Writes the completion script of `shell` to stdout. It needs no environment file.
fn completions_command(shell: clap_complete::Shell) -> i32 {
    let mut command = <Cli as clap::CommandFactory>::command();
    let name = command.get_name().to_owned();
    clap_complete::generate(shell, &mut command, name, &mut std::io::stdout());
    EXIT_OK
}

async fn status_command(cli: &Cli) -> Result<i32, BoxError> {
    let session = open_session(cli).await?;
    let report = status::status(&session).await;
    output::print(cli.output, &report, output::status_text);
    Ok(if report.any_error() {
        EXIT_ERROR
    } else {
        EXIT_OK
    })
}

async fn replay_command(cli: &Cli, options: &ReplayOptions) -> Result<i32, BoxError> {
    let session = open_session(cli).await?;
    let summary = replay::replay(&session, options).await?;
    output::print(cli.output, &summary, replay::summary_text);
    Ok(if summary.completed() {
        EXIT_OK
    } else {
        EXIT_ERROR
    })
}
