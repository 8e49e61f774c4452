//! `ssr-onboard`: the operator CLI. Runs the production handlers locally.

mod invoke;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ssr-onboard",
    version,
    about = "Make Session Smart Router instances in AWS come up right, and tell on-call when they don't.",
    long_about = None,
    after_help = "Examples:\n  ssr-onboard invoke instance-guard --event tests/fixtures/ec2-state-change-running.json\n  cat event.json | ssr-onboard invoke instance-guard --event -\n  ssr-onboard invoke stack-watch --event tests/fixtures/cfn-stack-status-create-complete.json\n\nAWS access uses the standard chain: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, credentials.\nThe handlers read the same environment variables as the Lambda functions (see README)."
)]
struct Cli {
    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a Lambda handler locally on an event file and print its JSON result.
    Invoke(invoke::InvokeArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = match cli.verbose {
        0 => "warn",
        1 => "debug",
        _ => "trace",
    };
    ssr_core::telemetry::init_cli(level, std::io::stderr().is_terminal());
    let code = match cli.command {
        Command::Invoke(args) => invoke::run(args).await,
    };
    ExitCode::from(code)
}
