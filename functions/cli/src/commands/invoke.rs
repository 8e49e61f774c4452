//! `ssr-onboard invoke <function> --event FILE|-`: the Lambda handlers, run locally. The engines
//! are the core's handlers; here: the flags, the event file, the JSON result and the exit code.

use std::io::Read;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::handlers::watchdog::{SweepError, SweepOutcome, Watchdog};
use ssr_core::handlers::{drift, stack_watch, HandlerError, Invocation};
use ssr_core::{Config, Deadline, Deps};

use crate::aws_args::AwsArgs;
use crate::exit;
use crate::stack::{self, StackArg};

#[derive(Args, Debug)]
#[command(
    after_help = "Exit codes: 0 success, 1 AWS failure (or fixes that failed), 2 malformed event or bad configuration."
)]
pub struct InvokeArgs {
    /// The function whose handler to run.
    pub function: Function,
    /// Event JSON file, or `-` for standard input.
    #[arg(long, short = 'e', value_name = "FILE|-")]
    pub event: PathBuf,
    /// Run with the deployed stack's settings (the functions' environment) instead of the
    /// local environment's.
    #[command(flatten)]
    pub stack: StackArg,
    #[command(flatten)]
    pub aws: AwsArgs,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Function {
    /// EC2 instance state-change events.
    InstanceGuard,
    /// EventBridge scheduled events: one onboarding sweep at the event's `time`.
    OnboardingWatchdog,
    /// CloudFormation stack/resource status events and Custom::SsrRouterGuard requests (a custom
    /// resource request is answered at its ResponseURL; the local deadline is now + 5 minutes).
    StackWatch,
    /// Lambda Function URL requests (payload format 2.0) carrying a Mist `device-events` webhook
    /// delivery; prints the HTTP response the URL would return (exit 0 whenever it answered).
    MistWebhook,
}

/// The deadline a custom resource request gets when run locally.
const LOCAL_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5 * 60);

fn read_event(path: &PathBuf) -> Result<serde_json::Value, String> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("malformed event: not JSON ({e})"))
}

/// Runs the handler; prints its JSON result on stdout. Returns the process exit code.
pub async fn exec(args: InvokeArgs) -> u8 {
    let event = match read_event(&args.event) {
        Ok(e) => e,
        Err(msg) => {
            eprintln!("error: {msg}");
            return exit::USAGE;
        }
    };
    let sdk = args.aws.load().await;
    let config = match args.stack.stack.as_deref() {
        None => Config::from_env(),
        Some(name) => match stack::resolve_for_command(&sdk, name).await {
            Ok(s) => s.config(),
            Err(code) => return code,
        },
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: bad configuration: {e}");
            return exit::USAGE;
        }
    };
    let deps = Deps::from_sdk_config(config, &sdk);
    let result = match args.function {
        Function::InstanceGuard => drift::handle_any(&deps, event, Deadline::NONE)
            .await
            .map(serde_json::to_value),
        Function::OnboardingWatchdog => {
            if let Err(e) = Watchdog::check_config(&deps.config) {
                eprintln!("error: bad configuration: {e}");
                return exit::USAGE;
            }
            let watchdog = Watchdog::new(&deps.config, deps.secrets_client());
            return print_sweep(watchdog.handle_event(&deps, event, Deadline::NONE).await);
        }
        Function::MistWebhook => {
            if let Err(e) = MistWebhook::check_config(&deps.config) {
                eprintln!("error: bad configuration: {e}");
                return exit::USAGE;
            }
            let hook = MistWebhook::new(&deps.config, deps.secrets_client());
            let response = hook.handle_request(&deps, event, Invocation::local()).await;
            println!(
                "{}",
                serde_json::to_string_pretty(&response).unwrap_or_default()
            );
            return exit::OK;
        }
        Function::StackWatch => {
            let sender = match ResponseSender::new() {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: cannot build the HTTP client: {e}");
                    return exit::AWS;
                }
            };
            let deadline = std::time::SystemTime::now() + LOCAL_DEADLINE;
            stack_watch::handle_event(&deps, &sender, event, deadline)
                .await
                .map(serde_json::to_value)
        }
    };
    match result {
        Ok(Ok(value)) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&value).unwrap_or_default()
            );
            exit::OK
        }
        Ok(Err(e)) => {
            eprintln!("error: cannot serialise the result: {e}");
            exit::AWS
        }
        Err(e) => {
            if let HandlerError::FixesFailed { outcome, .. } = &e {
                println!(
                    "{}",
                    serde_json::to_string_pretty(outcome).unwrap_or_default()
                );
            }
            eprintln!("error: {e}");
            handler_exit_code(&e)
        }
    }
}

/// Prints a sweep's outcome (also when some of its writes failed); returns the exit code.
fn print_sweep(result: Result<SweepOutcome, SweepError>) -> u8 {
    match result {
        Ok(outcome) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&outcome).unwrap_or_default()
            );
            exit::OK
        }
        Err(e) => {
            if let SweepError::Incomplete { outcome, .. } = &e {
                println!(
                    "{}",
                    serde_json::to_string_pretty(outcome).unwrap_or_default()
                );
            }
            eprintln!("error: {e}");
            sweep_exit_code(&e)
        }
    }
}

/// A handler failure's exit code: 2 for a malformed event (running it again cannot help), 1 for
/// AWS trouble, an account or region the function cannot act in, or fixes that failed.
fn handler_exit_code(e: &HandlerError) -> u8 {
    match e {
        HandlerError::Event(_) => exit::USAGE,
        HandlerError::Aws(_) | HandlerError::Scope(_) | HandlerError::FixesFailed { .. } => {
            exit::AWS
        }
    }
}

/// A sweep failure's exit code: 2 for a malformed event, 1 for AWS trouble or writes that failed.
fn sweep_exit_code(e: &SweepError) -> u8 {
    match e {
        SweepError::Event(_) => exit::USAGE,
        SweepError::Aws(_) | SweepError::Incomplete { .. } => exit::AWS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssr_core::aws::AwsError;
    use ssr_core::handlers::EventError;

    #[test]
    fn when_the_event_is_malformed_then_exit_2_and_when_aws_fails_then_exit_1() {
        let malformed = || EventError::malformed("expected an EC2 event");
        let aws = || AwsError::new("DescribeInstances", "Throttling", "Rate exceeded");
        assert_eq!(handler_exit_code(&malformed().into()), exit::USAGE);
        assert_eq!(handler_exit_code(&aws().into()), exit::AWS);
        assert_eq!(sweep_exit_code(&malformed().into()), exit::USAGE);
        assert_eq!(sweep_exit_code(&aws().into()), exit::AWS);
    }
}
