//! `ssr-onboard doctor`: the deployment checked in the operator's own account. The engine is
//! [`crate::ops::doctor`]; here: the flags, the output and the exit code.

use clap::Args;
use ssr_core::Config;

use crate::aws_args::AwsArgs;
use crate::exit;
use crate::ops::doctor::{self, render_text, DoctorClients, DoctorOptions, DoctorReport};
use crate::output::{print_as, OutputFormat, Style};
use crate::stack::{self, StackArg};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard doctor --stack ssr-onboard --region us-east-1
  ssr-onboard doctor --stack ssr-onboard --send-test-alert
  ssr-onboard doctor --stack ssr-onboard --output json | jq '.checks[] | select(.status == \"problem\")'

With --stack, the settings are the deployed ones (the stack's outputs and parameters, the
functions' environment) and doctor also checks the stack's status, its EventBridge rules and
schedule, the dead-letter queue, and invokes each function's preflight (lambda:InvokeFunction:
the function checks its own permissions, EC2 writes as DryRun). Without it, the settings come
from the environment, as for `invoke`.

Mist: doctor reads the token from its secret and asks Mist (GET /api/v1/self, the inventory);
when the configured cloud refuses the token it asks Mist's other clouds which one knows it.
Secrets never appear in the output.

Exit codes: 0 no problem (warnings allowed), 3 problems found, 1 no problem found but a check
could not be made (doctor's own AWS call failed), 2 usage or an unknown stack.")]
pub struct DoctorArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    #[command(flatten)]
    pub stack: StackArg,
    /// Send one `test` alert (severity info) through the alert topic (and the chat topic),
    /// followed by its resolve.
    #[arg(long)]
    pub send_test_alert: bool,
    /// Output format (JSON schema ssr-onboard/doctor/v1).
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Runs doctor, prints its report; returns the exit code.
pub async fn exec(args: DoctorArgs) -> u8 {
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let deployed = match args.stack.stack.as_deref() {
        Some(name) => match stack::resolve_for_command(&sdk, name).await {
            Ok(s) => Some(s),
            Err(code) => return code,
        },
        None => None,
    };
    let config = match &deployed {
        Some(s) => s.config(),
        None => Config::from_env(),
    }
    .map_err(|e| e.to_string());
    let options = DoctorOptions {
        stack: deployed,
        config,
        send_test_alert: args.send_test_alert,
        mist_clouds: Vec::new(),
        region: sdk.region().map(|r| r.to_string()),
        now: chrono::Utc::now(),
    };
    let report = doctor::run(&DoctorClients::new(&sdk), options).await;
    let printed = print_as(args.output, &report, |r| {
        render_text(r, &Style::for_stdout())
    });
    if printed != exit::OK {
        return printed;
    }
    exit_code(&report)
}

/// 3 when a problem was found, else 1 when a check could not be made, else 0.
pub fn exit_code(report: &DoctorReport) -> u8 {
    if report.has_problems() {
        exit::FINDINGS
    } else if !report.not_checked.is_empty() {
        exit::AWS
    } else {
        exit::OK
    }
}
