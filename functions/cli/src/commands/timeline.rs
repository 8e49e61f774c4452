//! `ssr-onboard timeline <instance-id>`: everything the functions saw and did for one router,
//! in time order, from the state table. The engine is [`crate::ops::timeline`]; here: the flags,
//! the output and the exit code.

use clap::Args;

use crate::aws_args::AwsArgs;
use crate::aws_errors;
use crate::exit;
use crate::ops::timeline::{self, render_text, TimelineError, TimelineOptions};
use crate::output::{print_as, OutputFormat};
use crate::stack::{self, StackArg};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard timeline i-0abc1234def567890 --stack ssr-onboard --region eu-west-1
  ssr-onboard timeline i-0abc1234def567890 --table \"$STATE_TABLE\" --output json | jq '.entries[].kind'

One line per entry, time first: episode-started (launch or stack), findings (the codes
alerted), fix (ENI or instance, attribute, applied and read back or not), alert (kind,
incident_key, trigger or resolve), mist-phase (the watchdog saw the Mist phase change),
webhook-event (a Mist device event), acknowledged, episode-finished (with its duration).
Entries are kept 90 days. The JSON document's schema is ssr-onboard/timeline/v1.
Needs dynamodb:Query on the table's index `lists` (arn:...:table/NAME/index/lists).

Exit codes: 0 timeline printed (also when nothing is recorded), 1 AWS error, 2 usage (no table,
not an instance id, an unknown stack).")]
pub struct TimelineArgs {
    /// The router's EC2 instance id.
    #[arg(value_name = "INSTANCE_ID")]
    pub instance_id: String,
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

/// Reads the router's timeline, prints it; returns the exit code.
pub async fn exec(args: TimelineArgs) -> u8 {
    let id = args.instance_id.trim();
    if !ssr_core::snapshot::is_instance_id(id) {
        eprintln!(
            "error: {}",
            TimelineError::BadInstanceId(id.chars().take(40).collect())
        );
        return exit::USAGE;
    }
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
    let options = TimelineOptions {
        instance_id: id.to_string(),
        table,
    };
    let timeline = match timeline::run(&sdk, &options, chrono::Utc::now()).await {
        Ok(t) => t,
        Err(TimelineError::Aws(e)) => {
            aws_errors::print_with_hint(&e);
            return exit::AWS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    print_as(args.output, &timeline, render_text)
}
