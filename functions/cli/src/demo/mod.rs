//! `ssr-onboard demo`: the whole product on an emulated AWS, in one command. Starts moto and a
//! local fake Mist API (the real inventory and device-stats shapes), builds the guide's VPC,
//! launches two routers the way the guide says and one with the usual mistakes, then drives the
//! real handlers with real-shaped events (the fixtures in tests/fixtures) and shows what changed
//! and what on-call would receive. The Mist side shows the three phases an operator meets: a
//! router Mist never sees (paged), one connected with the wrong SSR version (paged, both
//! versions named), and one that onboards through a signed `device-events` webhook delivery
//! (its episode ends at once).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use serde::Serialize;
use ssr_core::aws::AwsError;
use ssr_core::config::{ConfigError, ONBOARDED_TAG_KEY};
use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::guard::{self, GuardOutcome, Observed};
use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::handlers::stack_watch::{self, StackWatchOutcome};
use ssr_core::handlers::watchdog::{SweepError, SweepOutcome, Watchdog};
use ssr_core::handlers::HandlerError;
use ssr_core::mist::webhook::{signature_hex, SIGNATURE_HEADER};
use ssr_core::onboarding_config::OnboardingStatus;
use ssr_core::plan::ActionStatus;
use ssr_core::snapshot::{EnaStatus, RouterSnapshot};
use ssr_core::{Config, Deps};
use ssr_sandbox::mist::{FakeGateway, FakeMist};
use ssr_sandbox::moto::{Emulator, EmulatorError, MOTO_VERSION};
use ssr_sandbox::world::{
    ec2_state_change_event, scheduled_event, AlertCapture, CapturedAlert, LaunchedRouter,
    RouterSpec, Sandbox, SandboxError, GUIDE_SSR_VERSION,
};

mod render;

pub use render::render_text;

use crate::output::{exit, print_json, OutputFormat, Style};
use crate::report::{self, Report};

/// CloudFormation's "Resource Status Change" sample for the router instance of a stack.
const CFN_INSTANCE_CREATED: &str =
    include_str!("../../../../tests/fixtures/cfn-resource-status-instance-create-complete.json");
/// A Lambda Function URL request (payload format 2.0), as the mist-webhook function receives it.
const FUNCTION_URL_REQUEST: &str =
    include_str!("../../../../tests/fixtures/function-url-request.json");
/// Mist's `device-events` webhook delivery (the shape of Mist's OpenAPI description).
const MIST_DEVICE_EVENTS: &str =
    include_str!("../../../../tests/fixtures/mist/webhook-device-events.json");

/// The fake Mist org, its API token and the org webhook's secret. Demo values, but handled as
/// secrets all the same: none of them is printed.
const MIST_ORG: &str = "6b7a9c1e-3f42-4d8a-9e15-2c0d4b7f8a31";
const MIST_TOKEN: &str = "demo-mist-api-token-3b8e51c0";
const WEBHOOK_SECRET: &str = "demo-webhook-secret-9d04a7e2";
/// What the fake Mist reports for branch-old: an older SSR than its onboarding config asks for.
const OLD_SSR_VERSION: &str = "6.2.5-5.r2";
/// What it reports for branch-good once it is connected.
const GOOD_SSR_VERSION: &str = "6.3.0-107.r1";

pub const SCHEMA: &str = "ssr-onboard/demo/v1";
pub const REGION: &str = "us-east-1";
const STATE_TABLE: &str = "ssr-onboard-demo-state";

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

/// Steps after "starting emulated AWS".
const STEPS: usize = 9;

/// The facts a person compares before and after, for one router.
#[derive(Debug, Clone, Serialize)]
pub struct RouterFacts {
    pub state: String,
    pub interfaces: Vec<InterfaceFacts>,
    pub root_volume_gb: Option<i32>,
    pub ena: EnaStatus,
    pub instance_profile: bool,
    /// Onboarding configuration in the user data: `valid`, `missing` or `invalid` (never the
    /// registration code).
    pub onboarding: String,
    pub onboarded_tag: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct InterfaceFacts {
    pub eni_id: String,
    pub device_index: Option<i32>,
    pub role_tag: Option<String>,
    pub source_dest_check: Option<bool>,
}

impl RouterFacts {
    pub fn of(s: &RouterSnapshot) -> Self {
        RouterFacts {
            state: s.state.clone(),
            interfaces: s
                .interfaces
                .iter()
                .map(|i| InterfaceFacts {
                    eni_id: i.eni_id.clone(),
                    device_index: i.device_index,
                    role_tag: i.role_tag().map(String::from),
                    source_dest_check: i.source_dest_check,
                })
                .collect(),
            root_volume_gb: s.root_volume.as_ref().and_then(|v| v.size_gb),
            ena: s.ena,
            instance_profile: s.iam_instance_profile_arn.is_some(),
            onboarding: onboarding_summary(&s.onboarding),
            onboarded_tag: s.tags.contains_key(ONBOARDED_TAG_KEY),
        }
    }
}

/// `valid`, `missing` or `invalid` (the findings carry the details).
fn onboarding_summary(o: &OnboardingStatus) -> String {
    match o {
        OnboardingStatus::Parsed { problems, .. } if problems.is_empty() => "valid",
        OnboardingStatus::Missing { .. } => "missing",
        _ => "invalid",
    }
    .to_string()
}

#[derive(Debug, Serialize)]
pub struct RouterDemo {
    pub name: String,
    pub instance_id: String,
    /// How the router was launched.
    pub scenario: String,
    pub before: RouterFacts,
    pub after: RouterFacts,
    /// The instance-guard outcome for its `running` event.
    pub guard: GuardOutcome,
}

#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub schema: &'static str,
    pub endpoint: String,
    pub region: &'static str,
    pub moto_version: &'static str,
    pub alert_topic_arn: String,
    pub state_table: &'static str,
    pub routers: Vec<RouterDemo>,
    /// stack-watch on a (redelivered) CloudFormation "instance CREATE_COMPLETE" event for
    /// branch-bad: the guard runs again, writes nothing and sends no second alert.
    pub stack_watch: StackWatchOutcome,
    /// The onboarding-watchdog sweep at launch + 9 minutes (before the deadline).
    pub first_sweep: SweepOutcome,
    /// The signed `device-events` delivery for branch-good and the mist-webhook's answer.
    pub mist_webhook: WebhookDemo,
    /// The onboarding-watchdog sweep at launch + 16 minutes.
    pub watchdog: SweepOutcome,
    /// Where each router ended on the Mist side (one line per router).
    pub mist_phases: Vec<MistPhase>,
    /// `ssr-onboard report` on the demo's state table after the sweep.
    pub report: Report,
    /// Messages delivered to the alert topic, as an email subscriber receives them.
    pub alerts: Vec<CapturedAlert>,
    /// What the emulator cannot show and how the demo deals with it.
    pub notes: Vec<String>,
}

/// The webhook delivery the demo sends, as Mist would.
#[derive(Debug, Serialize)]
pub struct WebhookDemo {
    /// The fake Mist API the watchdog and the webhook read (`MIST_API_URL`).
    pub mist_api_url: String,
    /// The event type delivered, e.g. `GW_ZTP_FINISHED`.
    pub event: String,
    pub router: String,
    /// When Mist says it happened.
    pub event_time: chrono::DateTime<chrono::Utc>,
    /// The HTTP status the Function URL answered.
    pub status_code: u16,
    /// The answer's JSON body (what became of each event).
    pub summary: serde_json::Value,
}

/// One router's Mist-side outcome.
#[derive(Debug, Serialize)]
pub struct MistPhase {
    pub router: String,
    pub instance_id: String,
    /// What the fake Mist reported about it.
    pub mist_reports: String,
    /// The phase the watchdog (or the webhook) reached, e.g. `not-in-inventory`.
    pub phase: String,
    /// `paged`, `ended by the webhook`, …
    pub outcome: String,
    /// The alert kind sent for it, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_kind: Option<String>,
}

struct Planned {
    spec: RouterSpec,
    scenario: &'static str,
}

fn routers() -> Vec<Planned> {
    let bad_name = "branch-bad";
    vec![
        Planned {
            spec: RouterSpec::guide("branch-good"),
            scenario: "launched as the guide says (source/dest check left at the AWS default: on)",
        },
        Planned {
            spec: RouterSpec {
                lan_tag: None,
                root_volume_gb: 8,
                // The registration code was never pasted into the onboarding JSON.
                user_data: Some(RouterSpec::guide_user_data(bad_name, GUIDE_SSR_VERSION, "")),
                ..RouterSpec::guide(bad_name)
            },
            scenario: "launched with the usual mistakes: source/dest check on, no SSR-ROLE tag on the LAN interface, 8 GB disk, onboarding JSON without the registration code (so it never reaches Mist)",
        },
        Planned {
            spec: RouterSpec::guide("branch-old"),
            scenario: "launched as the guide says, but its image runs an older SSR than the onboarding config asks for (Mist reports 6.2.5)",
        },
    ]
}

async fn sweep(
    watchdog: &Watchdog,
    deps: &Deps,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<SweepOutcome, DemoError> {
    match watchdog.handle_event(deps, scheduled_event(at)).await {
        Ok(o) => Ok(o),
        Err(SweepError::Incomplete { outcome, .. }) => Ok(*outcome),
        Err(e) => Err(e.into()),
    }
}

/// The Function URL request Mist's webhook would cause: a `device-events` delivery with one
/// `GW_ZTP_FINISHED` event for `gw` at `at` (the fixture's event, about this gateway), signed with
/// the demo's webhook secret.
fn signed_delivery(
    gw: &FakeGateway,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<serde_json::Value, DemoError> {
    let fixture = |name: &str, text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| DemoError::Event(format!("fixture {name}: {e}")))
    };
    let events = fixture("mist/webhook-device-events.json", MIST_DEVICE_EVENTS)?;
    let mut ev = events["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "GW_ZTP_FINISHED"))
        .cloned()
        .ok_or_else(|| DemoError::Event("no GW_ZTP_FINISHED event in the Mist fixture".into()))?;
    ev["device_name"] = gw.name.clone().into();
    ev["mac"] = gw.mac.clone().into();
    ev["org_id"] = MIST_ORG.into();
    ev["site_id"] = ssr_sandbox::mist::SITE_ID.into();
    ev["timestamp"] = at.timestamp().into();
    let body = serde_json::json!({"topic": events["topic"], "events": [ev]}).to_string();
    let mut request = fixture("function-url-request.json", FUNCTION_URL_REQUEST)?;
    request["headers"][SIGNATURE_HEADER] =
        signature_hex(WEBHOOK_SECRET.as_bytes(), body.as_bytes()).into();
    request["body"] = body.into();
    Ok(request)
}

/// Where `router` ended: closed by the webhook, or its phase and page in the last sweep.
fn mist_phase(
    router: &str,
    instance_id: &str,
    sweep: &SweepOutcome,
    hook: &WebhookDemo,
) -> MistPhase {
    let by_hook = hook.summary["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["instance_id"] == instance_id));
    if let Some(r) = by_hook {
        return MistPhase {
            router: router.to_string(),
            instance_id: instance_id.to_string(),
            mist_reports: format!("{} (connected, SSR {GOOD_SSR_VERSION})", hook.event),
            phase: r["phase"].as_str().unwrap_or("?").to_string(),
            outcome: match r["outcome"].as_str() {
                Some("finished") => format!(
                    "episode ended by the webhook at {}",
                    hook.event_time.format("%H:%M:%SZ")
                ),
                Some(o) => o.to_string(),
                None => "?".to_string(),
            },
            alert_kind: None,
        };
    }
    let episode = sweep.episodes.iter().find(|e| e.instance_id == instance_id);
    let alert = sweep
        .alerts
        .iter()
        .find(|a| a.instance_id == instance_id && a.delivery.sent);
    let phase = episode.map_or("?", |e| e.phase.as_str()).to_string();
    MistPhase {
        router: router.to_string(),
        instance_id: instance_id.to_string(),
        mist_reports: match phase.as_str() {
            "not-in-inventory" => "nothing: not in the org inventory".to_string(),
            "version-mismatch" => format!("connected, SSR {OLD_SSR_VERSION}"),
            other => other.to_string(),
        },
        outcome: match alert {
            Some(_) => "paged".to_string(),
            None => "no page".to_string(),
        },
        alert_kind: alert.map(|a| a.kind.clone()),
        phase,
    }
}

async fn observe(deps: &Deps, id: &str) -> Result<RouterSnapshot, DemoError> {
    match guard::observe(deps, id, None).await? {
        Observed::Router { snapshot, .. } => Ok(*snapshot),
        other => Err(DemoError::Event(format!(
            "router {id} is not seen as a router by the guard: {other:?}"
        ))),
    }
}

/// Everything between "emulator up" and "report ready".
async fn body(emulator: &Emulator, progress: &Progress) -> Result<DemoReport, DemoError> {
    progress.step("building the guide's VPC (public subnet + internet gateway, private subnet), the alert topic (SNS → SQS), the state table and a local fake Mist API");
    let sandbox = Sandbox::new(emulator, REGION)?;
    let vpc = sandbox.guide_vpc().await?;
    let capture: AlertCapture = sandbox.alert_capture().await?;
    sandbox.create_state_table(STATE_TABLE).await?;
    let mist = FakeMist::start(MIST_ORG, MIST_TOKEN).await;
    progress.detail(&format!("fake Mist API on {}", mist.uri()));
    let vars = HashMap::from([
        ("ALERT_TOPIC_ARN", capture.topic_arn.clone()),
        ("STATE_TABLE", STATE_TABLE.to_string()),
        ("DESCRIBE_RETRY_ATTEMPTS", "3".to_string()),
        ("DESCRIBE_RETRY_BASE_MS", "100".to_string()),
        ("MIST_API_URL", mist.uri()),
        ("MIST_ORG_ID", MIST_ORG.to_string()),
        ("MIST_API_TOKEN", MIST_TOKEN.to_string()),
        ("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET.to_string()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned())?;
    let deps = Deps::from_sdk_config(config, &emulator.sdk_config(REGION));

    progress.step("launching three routers: branch-good (as the guide says), branch-bad (the usual mistakes), branch-old (as the guide says, older SSR image)");
    let mut launched: Vec<(Planned, LaunchedRouter, RouterSnapshot)> = Vec::new();
    for p in routers() {
        let r = sandbox.launch_router(&vpc, &p.spec).await?;
        progress.detail(&format!("{} = {}", p.spec.name, r.instance_id));
        let before = observe(&deps, &r.instance_id).await?;
        launched.push((p, r, before));
    }

    progress.step("instance-guard: an EC2 \"running\" event for each router");
    let mut outcomes = Vec::new();
    for (_, r, _) in &launched {
        // The fixture tests/fixtures/ec2-state-change-running.json, about this router.
        let event = ec2_state_change_event(&r.instance_id, "running");
        let outcome = match guard::handle_event(&deps, event).await {
            Ok(o) => o,
            Err(HandlerError::FixesFailed { outcome, .. }) => *outcome,
            Err(e) => return Err(e.into()),
        };
        progress.detail(&format!(
            "{}: {} finding(s), {} fix(es) applied, alert {}",
            r.instance_id,
            outcome.findings.len(),
            outcome
                .actions
                .iter()
                .filter(|a| a.status == ActionStatus::Applied)
                .count(),
            if outcome.alert.sent {
                "sent"
            } else {
                "not sent"
            }
        ));
        outcomes.push(outcome);
    }

    progress.step("stack-watch: CloudFormation \"Router CREATE_COMPLETE\" for branch-bad (a second trigger for the same router)");
    let stack_watch = match launched.get(1) {
        Some((_, bad, _)) => {
            let mut event: serde_json::Value =
                serde_json::from_str(CFN_INSTANCE_CREATED).map_err(|e| {
                    DemoError::Event(format!(
                        "fixture cfn-resource-status-instance-create-complete.json: {e}"
                    ))
                })?;
            event["detail"]["physical-resource-id"] = bad.instance_id.clone().into();
            let sender = ResponseSender::new().map_err(|e| DemoError::Event(e.to_string()))?;
            let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
            let o = stack_watch::handle_event(&deps, &sender, event, deadline).await?;
            for i in &o.instances {
                if let Some(g) = &i.guard {
                    progress.detail(&format!(
                        "{}: {} fix(es) needed now, alert: {}",
                        i.instance_id,
                        g.actions.len(),
                        g.alert.reason
                    ));
                }
            }
            o
        }
        None => return Err(DemoError::Event("no second router launched".into())),
    };

    // The first launch: the routers are launched a moment apart (possibly in different seconds),
    // and the sweeps are timed from the first, so its measured onboarding time is exact.
    let launched_at = launched
        .iter()
        .filter_map(|(_, _, b)| b.launch_time)
        .min()
        .unwrap_or_else(chrono::Utc::now);
    let watchdog = Watchdog::new(&deps.config, deps.secrets_client());
    // Mist's view before the deadline: branch-good is claimed but not connected yet, branch-old
    // is connected with an older SSR, branch-bad (no registration code) never shows up.
    mist.serve(&[
        FakeGateway::named("branch-good", false, None),
        FakeGateway::named("branch-old", true, Some(OLD_SSR_VERSION)),
    ])
    .await;
    progress.step(&format!(
        "onboarding-watchdog: scheduled sweep at launch + 9 min (deadline {} min; one inventory and one device-stats read from Mist)",
        deps.config.onboarding_deadline.num_minutes()
    ));
    let first_sweep = sweep(&watchdog, &deps, launched_at + chrono::Duration::minutes(9)).await?;
    for e in &first_sweep.episodes {
        progress.detail(&format!(
            "{} ({}): {} after {} min",
            e.router_name, e.instance_id, e.phase, e.elapsed_minutes
        ));
    }

    progress.step("mist-webhook: Mist reports GW_ZTP_FINISHED for branch-good at launch + 11 min, in a delivery signed with the webhook secret");
    let good = launched
        .first()
        .map(|(p, _, _)| p.spec.name.clone())
        .ok_or_else(|| DemoError::Event("no first router launched".into()))?;
    let good_mist = FakeGateway::named(&good, true, Some(GOOD_SSR_VERSION));
    mist.serve(&[
        good_mist.clone(),
        FakeGateway::named("branch-old", true, Some(OLD_SSR_VERSION)),
    ])
    .await;
    let event_time = launched_at + chrono::Duration::minutes(11);
    let hook = MistWebhook::new(&deps.config, deps.secrets_client());
    let request = signed_delivery(&good_mist, event_time)?;
    let answer = hook.handle_request(&deps, request).await;
    let summary: serde_json::Value = serde_json::from_str(&answer.body)
        .map_err(|e| DemoError::Event(format!("the webhook's answer is not JSON: {e}")))?;
    progress.detail(&format!(
        "HTTP {}: {} → {}",
        answer.status_code,
        good,
        summary["results"][0]["outcome"].as_str().unwrap_or("?")
    ));
    let mist_webhook = WebhookDemo {
        mist_api_url: mist.uri(),
        event: "GW_ZTP_FINISHED".into(),
        router: good.clone(),
        event_time,
        status_code: answer.status_code,
        summary,
    };

    progress.step("onboarding-watchdog: scheduled sweep at launch + 16 min, past the deadline");
    let at = launched_at + chrono::Duration::minutes(16);
    let sweep = sweep(&watchdog, &deps, at).await?;
    for e in &sweep.episodes {
        progress.detail(&format!(
            "{} ({}): {} after {} min",
            e.router_name, e.instance_id, e.phase, e.elapsed_minutes
        ));
    }
    let mist_phases = launched
        .iter()
        .map(|(p, r, _)| mist_phase(&p.spec.name, &r.instance_id, &sweep, &mist_webhook))
        .collect();
    let report = report::build(
        STATE_TABLE,
        deps.state.list_episodes().await?,
        deps.state.overdue_now().await?,
    );

    progress.step("reading back what changed");
    let mut routers = Vec::new();
    for ((p, r, before), guard) in launched.into_iter().zip(outcomes) {
        let after = observe(&deps, &r.instance_id).await?;
        routers.push(RouterDemo {
            name: p.spec.name.clone(),
            instance_id: r.instance_id.clone(),
            scenario: p.scenario.to_string(),
            before: RouterFacts::of(&before),
            after: RouterFacts::of(&after),
            guard,
        });
    }

    progress.step("reading the on-call mailbox (the SQS queue subscribed to the alert topic)");
    let alerts = sandbox.drain_alerts(&capture).await?;

    Ok(DemoReport {
        schema: SCHEMA,
        endpoint: emulator.endpoint().to_string(),
        region: REGION,
        moto_version: MOTO_VERSION,
        alert_topic_arn: capture.topic_arn,
        state_table: STATE_TABLE,
        routers,
        stack_watch,
        first_sweep,
        mist_webhook,
        watchdog: sweep,
        mist_phases,
        report,
        alerts,
        notes: vec![
            "ENA: moto does not report ENA (DescribeInstances omits EnaSupport, DescribeInstanceAttribute enaSupport is unknown), so the guard reports ENA_UNKNOWN (info) here; on real AWS it reads the attribute and reports ENA_DISABLED when it is off.".to_string(),
            "Mist is a local fake serving the real API's shapes (org inventory without versions, gateway device stats with them) and checking the token; the webhook delivery is signed with the demo secret exactly as Mist signs (X-Mist-Signature-v2, hex HMAC-SHA256 of the body) and passed to the mist-webhook handler as a Function URL request. moto reports no interface MACs, so Mist devices are matched to routers by name here; on AWS the interface MAC is used first.".to_string(),
            "Time: the watchdog takes \"now\" from the scheduled event's time, so the demo sends sweeps dated launch + 9 and + 16 minutes instead of waiting.".to_string(),
        ],
    })
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

pub async fn run(args: DemoArgs) -> u8 {
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
        r = body(&emulator, &progress) => Some(r),
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
    let code = match args.output {
        OutputFormat::Json => print_json(&report),
        OutputFormat::Text => {
            print!("{}", render_text(&report, &Style::for_stdout()));
            exit::OK
        }
    };
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
