//! `ssr-onboard ack <instance-id> [--reason TEXT]`: closes a router's current onboarding
//! episode as acknowledged (no page, no recovered notice for it; a paged episode's page is
//! resolved). The engine is [`crate::ops::ack`]; here: the flags, the output and the exit code.

use clap::Args;
use ssr_core::{Config, Deps};

use crate::aws_args::AwsArgs;
use crate::aws_errors;
use crate::exit;
use crate::ops::ack::{self, render_text, AckError, AckOptions};
use crate::output::{print_as, OutputFormat};
use crate::stack::{self, StackArg};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard ack i-0abc1234def567890 --stack ssr-onboard --region eu-west-1 \\
    --reason \"lab router, onboarded by hand\"
  ssr-onboard ack i-0abc1234def567890 --table \"$STATE_TABLE\" --topic \"$ALERT_TOPIC_ARN\"

Closes the router's current onboarding episode (the one the watchdog follows now) as
acknowledged: the watchdog and the mist-webhook treat it as closed, never page it and send no
recovered notice for it. That episode only: after a stop/start the router's next episode is
watched and paged as usual. The acknowledgement, its reason and your identity (the ARN
sts:GetCallerIdentity returns) are recorded in the state table. If the episode had been paged,
its resolve (kind onboarding-acknowledged, the page's incident_key, action=resolve) is sent
once to the alert topic. An organization hub acknowledges a member account's router with the
hub's credentials once the router is overdue (the latest sweep's list names its episode).

Needs ec2:DescribeInstances, dynamodb:GetItem/BatchGetItem/PutItem on the table and
sns:Publish on the topic (for a resolve).

Exit codes: 0 acknowledged (or already acknowledged, or already finished), 1 AWS error,
2 usage (no table, not an instance id, an instance not found, an unknown stack).")]
pub struct AckArgs {
    /// The router's EC2 instance id.
    #[arg(value_name = "INSTANCE_ID")]
    pub instance_id: String,
    /// Why (recorded with the acknowledgement and quoted in the resolve).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The deployed stack whose table and topics to use (wins over --table, --topic and the
    /// environment).
    #[command(flatten)]
    pub stack: StackArg,
    /// The state table (the SAM stack's StateTableName output).
    #[arg(long, env = "STATE_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    /// The alert topic the page's resolve goes to (the SAM stack's AlertTopicArn output).
    #[arg(long, env = "ALERT_TOPIC_ARN", value_name = "ARN")]
    pub topic: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// The settings `ack` runs with: the stack's, else the environment's with --table/--topic.
fn config_of(args: &AckArgs) -> Result<Config, String> {
    let table = args.table.clone().filter(|t| !t.trim().is_empty());
    let topic = args.topic.clone().filter(|t| !t.trim().is_empty());
    Config::from_vars(|k| match k {
        "STATE_TABLE" => table.clone(),
        "ALERT_TOPIC_ARN" => topic.clone(),
        _ => std::env::var(k).ok(),
    })
    .map_err(|e| e.to_string())
}

/// Acknowledges, prints the result; returns the exit code.
pub async fn exec(args: AckArgs) -> u8 {
    if let Err(code) =
        stack::require_table_source(args.stack.stack.as_deref(), args.table.as_deref())
    {
        return code;
    }
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let config = match args.stack.stack.as_deref() {
        Some(name) => match stack::resolve_for_command(&sdk, name).await {
            Ok(s) => s.config().map_err(|e| e.to_string()),
            Err(code) => return code,
        },
        None => config_of(&args),
    };
    let config = match config {
        Ok(c) if c.state_table.is_some() => c,
        Ok(_) => {
            eprintln!("error: the stack names no state table (StateTableName output, STATE_TABLE)");
            return exit::USAGE;
        }
        Err(e) => {
            eprintln!("error: bad configuration: {e}");
            return exit::USAGE;
        }
    };
    if config.alert_topic_arn.is_none() {
        eprintln!("warning: no alert topic (--topic, ALERT_TOPIC_ARN or --stack): a paged episode's resolve is not sent");
    }
    let caller = match ack::caller(&sdk).await {
        Ok(c) => c,
        Err(e) => {
            aws_errors::print_with_hint(&e);
            return exit::AWS;
        }
    };
    let deps = Deps::from_sdk_config(config, &sdk);
    let options = AckOptions {
        instance_id: args.instance_id.clone(),
        reason: args.reason.clone(),
    };
    let report = match ack::run(&deps, &options, &caller, chrono::Utc::now()).await {
        Ok(r) => r,
        Err(AckError::Aws(e)) => {
            aws_errors::print_with_hint(&e);
            return exit::AWS;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    print_as(args.output, &report, render_text)
}
