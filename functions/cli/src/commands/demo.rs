//! `ssr-onboard demo`: the whole product on an emulated AWS, in one command. The engine is
//! [`crate::ops::demo`]; here: the flags, starting and stopping the emulator (also on Ctrl-C),
//! the output and the exit code.

use clap::Args;
use ssr_sandbox::moto::{Emulator, MOTO_VERSION};

use crate::exit;
use crate::ops::demo::{self, render_text, DemoError, Progress, REGION, STEPS};
use crate::output::{print_as, OutputFormat, Style};

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard demo                  # about a minute; the first run also installs moto
  ssr-onboard demo --output json | jq '.alerts[].subject'
  ssr-onboard demo --keep           # leave the emulated AWS running to explore it with the AWS CLI

Needs Python 3 with the venv module (the first run creates a private virtualenv with moto
and needs PyPI; SSR_ONBOARD_MOTO_VENV and SSR_ONBOARD_PYTHON override the defaults). Nothing
touches a real AWS account: the emulator listens on 127.0.0.1 only and is stopped at the end,
also on Ctrl-C.

Exit codes: 0 the demo ran, 1 the emulator or a step failed, 130 interrupted.")]
pub struct DemoArgs {
    /// Keep the emulated AWS running after the demo (prints how to point the AWS CLI at it) until
    /// Ctrl-C.
    #[arg(long)]
    pub keep: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// Ctrl-C, listened for once for the whole run: a signal that arrives between two waits (e.g.
/// right after "Press Ctrl-C" is printed) is not lost.
struct Interrupt(tokio::sync::watch::Receiver<bool>);

impl Interrupt {
    fn listen() -> Self {
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            match tokio::signal::ctrl_c().await {
                Ok(()) => {
                    let _ = tx.send(true);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for Ctrl-C");
                    // Keep the sender alive: no Ctrl-C can be seen, so none is reported.
                    std::future::pending::<()>().await;
                }
            }
        });
        Interrupt(rx)
    }

    /// Resolves once Ctrl-C was pressed (at any time since `listen`).
    async fn wait(&mut self) {
        if self.0.wait_for(|pressed| *pressed).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Starts the emulator, runs the demo on it, prints the report (and with `--keep` waits for
/// Ctrl-C); returns the exit code.
pub async fn exec(args: DemoArgs) -> u8 {
    let mut interrupt = Interrupt::listen();
    let progress = Progress::new(STEPS + 1);
    progress.step(&format!(
        "starting emulated AWS (moto {MOTO_VERSION} on 127.0.0.1; the first run installs it, about a minute)…"
    ));
    let detail = |m: &str| progress.detail(m);
    let emulator = tokio::select! {
        r = Emulator::start(&detail) => r,
        _ = interrupt.wait() => {
            eprintln!("interrupted");
            return exit::INTERRUPTED;
        }
    };
    let emulator = match emulator {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {}", DemoError::from(e));
            return exit::AWS;
        }
    };
    progress.detail(&format!("listening on {}", emulator.endpoint()));
    let result = tokio::select! {
        r = demo::run(&emulator, &progress) => Some(r),
        _ = interrupt.wait() => None,
    };
    let report = match result {
        None => {
            drop(emulator);
            eprintln!("interrupted: the emulated AWS was stopped");
            return exit::INTERRUPTED;
        }
        Some(Err(e)) => {
            drop(emulator);
            eprintln!("error: {e}");
            eprintln!("hint: run with -v for details; the emulated AWS was stopped");
            return exit::AWS;
        }
        Some(Ok(r)) => r,
    };
    let code = print_as(args.output, &report, |r| {
        render_text(r, &Style::for_stdout())
    });
    if args.keep {
        eprintln!();
        eprintln!("The emulated AWS keeps running. Point the AWS CLI at it:");
        eprintln!(
            "  export AWS_ENDPOINT_URL={} AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION={REGION}",
            emulator.endpoint()
        );
        eprintln!("  aws ec2 describe-network-interfaces --query 'NetworkInterfaces[].[NetworkInterfaceId,SourceDestCheck,TagSet]'");
        eprintln!("  ssr-onboard audit");
        eprintln!("Press Ctrl-C to stop it.");
        interrupt.wait().await;
    }
    drop(emulator);
    eprintln!("emulated AWS stopped");
    code
}
