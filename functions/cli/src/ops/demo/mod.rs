//! The demo engine: the whole product on an emulated AWS. On a started emulator (moto) and a
//! local fake Mist API (the real inventory and device-stats shapes), builds the guide's VPC,
//! launches two routers the way the guide says and one with the usual mistakes, then drives the
//! real handlers with real-shaped events (the fixtures in tests/fixtures) and shows what changed
//! and what on-call would receive. The Mist side shows the three phases an operator meets: a
//! router Mist never sees (paged), one connected with the wrong SSR version (paged, both
//! versions named), and one that onboards through a signed `device-events` webhook delivery
//! (its episode ends at once).
//!
//! [`run`] reads as its steps: `world` builds the emulated world, launches the routers and reads
//! them back; `handlers` drives instance-guard, stack-watch, the onboarding-watchdog's sweeps and
//! the mist-webhook; `mist` is the fake Mist's side; `outcome` the [`DemoReport`]; `render` its
//! text. Starting and stopping the emulator (and Ctrl-C) is the `demo` command's.

use std::sync::atomic::{AtomicUsize, Ordering};

use ssr_core::aws::AwsError;
use ssr_core::config::ConfigError;
use ssr_core::handlers::watchdog::SweepError;
use ssr_core::handlers::HandlerError;
use ssr_sandbox::moto::{Emulator, EmulatorError, MOTO_VERSION};
use ssr_sandbox::world::SandboxError;

mod handlers;
mod mist;
mod outcome;
mod render;
mod world;

pub use outcome::{DemoReport, InterfaceFacts, MistPhase, RouterDemo, RouterFacts, WebhookDemo};
pub use render::render_text;

use crate::ops::report;

pub const SCHEMA: &str = "ssr-onboard/demo/v1";
pub const REGION: &str = "us-east-1";
const STATE_TABLE: &str = "ssr-onboard-demo-state";

/// Steps after "starting emulated AWS".
pub const STEPS: usize = 9;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the emulated AWS did not start: {0}")]
    Emulator(#[from] EmulatorError),
    #[error("provisioning the emulated AWS failed: {0}")]
    Sandbox(#[from] SandboxError),
    #[error("{0}")]
    Aws(#[from] AwsError),
    #[error("{0}")]
    Handler(#[from] HandlerError),
    #[error("{0}")]
    Sweep(#[from] SweepError),
    #[error("demo configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Event(String),
}

/// `[n/N] step` lines on stderr.
pub struct Progress {
    total: usize,
    done: AtomicUsize,
}

impl Progress {
    pub fn new(total: usize) -> Self {
        Progress {
            total,
            done: AtomicUsize::new(0),
        }
    }

    pub fn step(&self, what: &str) {
        let n = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        eprintln!("[{n}/{}] {what}", self.total);
    }

    pub fn detail(&self, what: &str) {
        eprintln!("      {what}");
    }
}

/// Everything between "emulator up" and "report ready", one [`Progress`] step after another
/// ([`STEPS`] in all).
pub async fn run(emulator: &Emulator, progress: &Progress) -> Result<DemoReport, DemoError> {
    let world = world::build(emulator, progress).await?;
    let launched = world::launch_routers(&world, progress).await?;
    let guard_outcomes = handlers::run_instance_guard(&world.deps, &launched, progress).await?;
    let stack_watch = handlers::run_stack_watch(&world.deps, &launched, progress).await?;
    let onboarding = handlers::run_onboarding(&world, &launched, progress).await?;
    let report = report::build(
        STATE_TABLE,
        world.deps.state.list_episodes().await?,
        world.deps.state.overdue_now().await?,
    );
    let routers = world::read_back(&world.deps, launched, guard_outcomes, progress).await?;

    progress.step("reading the on-call mailbox (the SQS queue subscribed to the alert topic)");
    let alerts = world.sandbox.drain_alerts(&world.capture).await?;

    Ok(DemoReport {
        schema: SCHEMA,
        endpoint: emulator.endpoint().to_string(),
        region: REGION,
        moto_version: MOTO_VERSION,
        alert_topic_arn: world.capture.topic_arn,
        state_table: STATE_TABLE,
        routers,
        stack_watch,
        first_sweep: onboarding.first_sweep,
        mist_webhook: onboarding.mist_webhook,
        watchdog: onboarding.final_sweep,
        mist_phases: onboarding.mist_phases,
        report,
        alerts,
        notes: notes(),
    })
}

/// What the emulator cannot show and how the demo deals with it.
fn notes() -> Vec<String> {
    vec![
        "ENA: moto does not report ENA (DescribeInstances omits EnaSupport, DescribeInstanceAttribute enaSupport is unknown), so the guard reports ENA_UNKNOWN (info) here; on real AWS it reads the attribute and reports ENA_DISABLED when it is off.".to_string(),
        "Mist is a local fake serving the real API's shapes (org inventory without versions, gateway device stats with them) and checking the token; the webhook delivery is signed with the demo secret exactly as Mist signs (X-Mist-Signature-v2, hex HMAC-SHA256 of the body) and passed to the mist-webhook handler as a Function URL request. moto reports no interface MACs, so Mist devices are matched to routers by name here; on AWS the interface MAC is used first.".to_string(),
        "Time: the watchdog takes \"now\" from the scheduled event's time, so the demo sends sweeps dated launch + 9 and + 16 minutes instead of waiting.".to_string(),
    ]
}
