use clap::Parser as _;
use tracing_subscriber::EnvFilter;

use pinpoint_attribution::cli::Cli;
use pinpoint_attribution::run;

#[tokio::main]
async fn main() {
    // clap exits with 2 on a usage error, which `diff --exit-code` uses for "changes", so
    // usage errors exit with 1 like every other error.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            std::process::exit(if error.use_stderr() { 1 } else { 0 });
        }
    };
    init_logging(cli.verbose);
    let code = run::run(cli).await;
    std::process::exit(code);
}

/// Logs go to stderr; stdout is reserved for the command's result.
fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "pinpoint_attribution=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
