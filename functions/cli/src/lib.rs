//! `ssr-onboard`: the operator CLI. Runs the production handlers locally. Shaped as cargo is:
//! each command is a thin wrapper around an operation, and exit codes exist only at the binary
//! boundary.
//!
//! - [`Cli`] and [`Command`]: the command line (`main.rs` parses it and dispatches).
//! - [`commands`]: one module per subcommand ([`commands::demo`], [`commands::audit`],
//!   [`commands::report`], [`commands::invoke`], [`commands::check_template`]): its arguments,
//!   `exec()`, its exit code.
//! - [`ops`]: the engines ([`ops::audit`], [`ops::report`], [`ops::demo`],
//!   [`ops::check_template`]): options in, typed results out, and their text rendering.
//! - [`exit`]: the process exit codes.
//! - [`aws_args`]: `--region` / `--profile` and the standard AWS credential chain.
//! - [`aws_errors`]: AWS errors as a person reads them, with a hint on what to do.
//! - [`output`]: `--output`, JSON on stdout, fixed-width tables and colours.
//! - [`stack`]: `--stack NAME`: the deployed stack's outputs, parameters and the functions'
//!   environment, for every command.

pub mod aws_args;
pub mod aws_errors;
pub mod commands;
pub mod exit;
pub mod ops;
pub mod output;
pub mod stack;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "ssr-onboard",
    // `0.1.0 (0123456789ab)`: the version and the git revision it was built from.
    version = ssr_core::build_info::describe_static(),
    about = "Make Session Smart Router instances in AWS come up right, and tell on-call when they don't.",
    long_about = None,
    after_help = "\
Start here (no AWS account needed):
  ssr-onboard demo

Examples:
  ssr-onboard audit --region us-east-1
  ssr-onboard audit --fix --dry-run --output json
  ssr-onboard audit --accounts org --regions us-east-1,eu-west-1
  ssr-onboard report --table \"$STATE_TABLE\"    # the stack's StateTableName output
  ssr-onboard invoke instance-guard --event tests/fixtures/ec2-state-change-running.json
  ssr-onboard check-template infra/ssr-router.yaml --parameters router.parameters.json
  ssr-onboard invoke stack-watch --event tests/fixtures/cfn-stack-status-create-complete.json
  cat event.json | ssr-onboard invoke instance-guard --event -

AWS access uses the standard chain: AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, credentials.
Commands read the same environment variables as the Lambda functions (ROUTER_TAG_KEY,
ROUTER_STACKS, MIN_ROOT_VOLUME_GB, STATE_TABLE, ...; see README and docs/cli.md).

Exit codes: 0 success, 1 AWS error (audit: also an account that could not be audited),
2 usage or configuration error, 3 findings remain (audit, check-template), 130 interrupted."
)]
pub struct Cli {
    /// More log output on stderr (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// One-command demo on an emulated AWS (moto on 127.0.0.1): routers launched right and
    /// wrong, the real handlers fixing and alerting, the on-call messages as they would arrive.
    Demo(commands::demo::DemoArgs),
    /// Check every managed router in a region (or across accounts and regions); with --fix
    /// apply the safe fixes.
    Audit(commands::audit::AuditArgs),
    /// Onboarding durations (count, p50, p95, max) and routers overdue now, from the state table.
    Report(commands::report::ReportArgs),
    /// Run a Lambda handler locally on an event file and print its JSON result.
    Invoke(commands::invoke::InvokeArgs),
    /// Close a router's current onboarding episode as acknowledged: no page, no recovered
    /// notice for it; a paged episode's page is resolved.
    Ack(commands::ack::AckArgs),
    /// Everything ssr-onboard saw and did for one router, in time order: episodes, findings,
    /// fixes, alerts, Mist phases, webhook events, acknowledgements (from the state table).
    Timeline(commands::timeline::TimelineArgs),
    /// Check a router's CloudFormation template against the guide before deploying it (no AWS
    /// access): size, disk, interfaces, instance profile, onboarding user data, internet route.
    CheckTemplate(commands::check_template::CheckTemplateArgs),
    /// Check the deployment in your account: configuration, alert topic and subscriptions,
    /// state table, rules, dead-letter queue, Mist, webhook, each function's preflight.
    Doctor(commands::doctor::DoctorArgs),
}

impl Cli {
    /// The log level `-v` / `-vv` ask for (stderr): warn, debug, trace.
    pub fn log_level(&self) -> &'static str {
        match self.verbose {
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    }
}
