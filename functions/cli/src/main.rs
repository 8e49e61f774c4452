//! `ssr-onboard`: the operator CLI's binary: parse, set up logging, dispatch, exit.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use ssr_onboard::commands;
use ssr_onboard::{Cli, Command};

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    ssr_core::telemetry::init_cli(cli.log_level(), std::io::stderr().is_terminal());
    let code = match cli.command {
        Command::Demo(args) => commands::demo::exec(args).await,
        Command::Audit(args) => commands::audit::exec(args).await,
        Command::Report(args) => commands::report::exec(args).await,
        Command::Invoke(args) => commands::invoke::exec(args).await,
        Command::Ack(args) => commands::ack::exec(args).await,
        Command::Timeline(args) => commands::timeline::exec(args).await,
        Command::CheckTemplate(args) => commands::check_template::exec(args),
        Command::Doctor(args) => commands::doctor::exec(args).await,
    };
    ExitCode::from(code)
}
