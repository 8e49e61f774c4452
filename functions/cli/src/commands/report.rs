//! `ssr-onboard report`: onboarding durations and the routers overdue now, from the state table.
//! The engine is [`crate::ops::report`]; here: the flags, the output and the exit code.

use clap::Args;

use crate::aws_args::AwsArgs;
use crate::aws_errors;
use crate::exit;
use crate::ops::report::{self, render_text, ReportOptions};
use crate::output::{print_as, OutputFormat, Style};
use crate::stack::{self, StackArg};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  # CloudFormation generates the table's name: read it from the stack's StateTableName output.
  export STATE_TABLE=$(aws cloudformation describe-stacks --stack-name ssr-onboard \\
    --query \"Stacks[0].Outputs[?OutputKey=='StateTableName'].OutputValue\" --output text)
  ssr-onboard report --stack ssr-onboard --region us-east-1   # the table from the stack
  ssr-onboard report --table \"$STATE_TABLE\" --output json | jq '.durations_seconds'

Reads the onboarding-watchdog's records: one item per finished onboarding episode
(`episode#<instance-id>#<start>`, kind=episode) and the list of routers overdue as of the
latest sweep. Percentiles use the nearest-rank method over finished, measured episodes.
Needs dynamodb:Scan and dynamodb:BatchGetItem on the table.

Exit codes: 0 report printed, 1 AWS error, 2 no table given (--stack, --table or STATE_TABLE)
or an unknown stack.")]
pub struct ReportArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The deployed stack whose state table to read (wins over --table and STATE_TABLE).
    #[command(flatten)]
    pub stack: StackArg,
    /// The state table (the SAM stack's StateTableName output).
    #[arg(long, env = "STATE_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Reads the state table, prints the report; returns the exit code.
pub async fn exec(args: ReportArgs) -> u8 {
    if let Err(code) =
        stack::require_table_source(args.stack.stack.as_deref(), args.table.as_deref())
    {
        return code;
    }
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let table = match stack::state_table_for_command(
        &sdk,
        args.stack.stack.as_deref(),
        args.table.as_deref(),
    )
    .await
    {
        Ok(t) => t,
        Err(code) => return code,
    };
    let report = match report::run(&sdk, &ReportOptions { table }).await {
        Ok(r) => r,
        Err(e) => {
            aws_errors::print_with_hint(&e);
            return exit::AWS;
        }
    };
    print_as(args.output, &report, |r| {
        render_text(r, &Style::for_stdout())
    })
}
