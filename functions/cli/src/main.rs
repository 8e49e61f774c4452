//! `ssr-onboard`: the operator CLI. Runs the production handlers locally.

mod audit;
mod aws_args;
mod demo;
mod invoke;
mod output;
mod report;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ssr-onboard",
    version,
    about = "Make Session Smart Router instances in AWS come up right, and tell on-call when they don't.",
    long_about = None,
    after_help = "\
Start here (no AWS account needed):
  ssr-onboard demo

Examples:
  ssr-onboard audit --region us-east-1
  ssr-onboard audit --fix --dry-run --output json
  ssr-onboard audit --accounts org --regions us-east-1,eu-west-1
  ssr-onboard report --table ssr-onboard-state
  ssr-onboard invoke instance-guard --event tests/fixtures/ec2-state-change-running.json
  ssr-onboard invoke stack-watch --event tests/fixtures/cfn-stack-status-create-complete.json
  cat event.json | ssr-onboard invoke instance-guard --event -

AWS access uses the standard chain: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, credentials.
Commands read the same environment variables as the Lambda functions (ROUTER_TAG_KEY,
ROUTER_STACKS, MIN_ROOT_VOLUME_GB, STATE_TABLE, ...; see README and docs/cli.md).

Exit codes: 0 success, 1 AWS error (audit: also an account that could not be audited),
2 usage or configuration error, 3 findings remain (audit), 130 interrupted."
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
    /// One-command demo on an emulated AWS (moto on 127.0.0.1): routers launched right and
    /// wrong, the real handlers fixing and alerting, the on-call messages as they would arrive.
    Demo(demo::DemoArgs),
    /// Check every managed router in a region (or across accounts and regions); with --fix
    /// apply the safe fixes.
    Audit(audit::AuditArgs),
    /// Onboarding durations (count, p50, p95, max) and routers overdue now, from the state table.
    Report(report::ReportArgs),
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
        Command::Demo(args) => demo::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Report(args) => report::run(args).await,
        Command::Invoke(args) => invoke::run(args).await,
    };
    ExitCode::from(code)
}
