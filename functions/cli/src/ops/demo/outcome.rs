//! What the demo returns: each router's facts before and after, every handler's outcome, the Mist
//! phases, the report and the on-call messages (the `--output json` document).

use serde::Serialize;
use ssr_core::config::ONBOARDED_TAG_KEY;
use ssr_core::handlers::guard::GuardOutcome;
use ssr_core::handlers::stack_watch::StackWatchOutcome;
use ssr_core::handlers::watchdog::SweepOutcome;
use ssr_core::onboarding_config::OnboardingStatus;
use ssr_core::snapshot::{EnaStatus, RouterSnapshot};
use ssr_sandbox::world::CapturedAlert;

use crate::ops::report::Report;

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
