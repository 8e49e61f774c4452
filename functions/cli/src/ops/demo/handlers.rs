//! The real handlers, driven with real-shaped events: instance-guard on each router's `running`
//! event, stack-watch on a redelivered CloudFormation event, and the onboarding-watchdog's sweeps
//! around the mist-webhook's signed delivery, on Mist's view as it changes.

use chrono::{DateTime, Utc};
use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::guard::{self, GuardOutcome};
use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::handlers::stack_watch::{self, StackWatchOutcome};
use ssr_core::handlers::watchdog::{SweepError, SweepOutcome, Watchdog};
use ssr_core::handlers::{HandlerError, Invocation};
use ssr_core::plan::ActionStatus;
use ssr_core::{Deadline, Deps};
use ssr_sandbox::mist::FakeGateway;
use ssr_sandbox::world::{ec2_state_change_event, scheduled_event};

use super::mist::{mist_phase, signed_delivery, GOOD_SSR_VERSION, OLD_SSR_VERSION};
use super::outcome::{MistPhase, WebhookDemo};
use super::world::{Launched, World};
use super::{DemoError, Progress};

/// CloudFormation's "Resource Status Change" sample for the router instance of a stack.
const CFN_INSTANCE_CREATED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/cfn-resource-status-instance-create-complete.json"
));

/// The onboarding-watchdog's sweeps before and past the deadline, the mist-webhook's delivery
/// between them, and where each router ended on the Mist side.
pub(super) struct OnboardingRun {
    pub(super) first_sweep: SweepOutcome,
    pub(super) mist_webhook: WebhookDemo,
    pub(super) final_sweep: SweepOutcome,
    pub(super) mist_phases: Vec<MistPhase>,
}

/// Step: instance-guard on an EC2 "running" event for each router (fixes that failed still
/// yield the outcome, as the Lambda logs and alerts it).
pub(super) async fn run_instance_guard(
    deps: &Deps,
    launched: &[Launched],
    progress: &Progress,
) -> Result<Vec<GuardOutcome>, DemoError> {
    progress.step("instance-guard: an EC2 \"running\" event for each router");
    let mut outcomes = Vec::new();
    for Launched { router: r, .. } in launched {
        // The fixture tests/fixtures/ec2-state-change-running.json, about this router.
        let event = ec2_state_change_event(&r.instance_id, "running");
        let outcome = match guard::handle_event(deps, event, Deadline::NONE).await {
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
    Ok(outcomes)
}

/// Step: stack-watch on CloudFormation's "instance CREATE_COMPLETE" for branch-bad, a second
/// trigger for a router the guard already handled.
pub(super) async fn run_stack_watch(
    deps: &Deps,
    launched: &[Launched],
    progress: &Progress,
) -> Result<StackWatchOutcome, DemoError> {
    progress.step("stack-watch: CloudFormation \"Router CREATE_COMPLETE\" for branch-bad (a second trigger for the same router)");
    let Some(Launched { router: bad, .. }) = launched.get(1) else {
        return Err(DemoError::Event("no second router launched".into()));
    };
    let mut event: serde_json::Value = serde_json::from_str(CFN_INSTANCE_CREATED).map_err(|e| {
        DemoError::Event(format!(
            "fixture cfn-resource-status-instance-create-complete.json: {e}"
        ))
    })?;
    event["detail"]["physical-resource-id"] = bad.instance_id.clone().into();
    let sender = ResponseSender::new().map_err(|e| DemoError::Event(e.to_string()))?;
    let deadline = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let outcome = stack_watch::handle_event(deps, &sender, event, deadline).await?;
    for i in &outcome.instances {
        if let Some(g) = &i.guard {
            progress.detail(&format!(
                "{}: {} fix(es) needed now, alert: {}",
                i.instance_id,
                g.actions.len(),
                g.alert.reason
            ));
        }
    }
    Ok(outcome)
}

/// Steps: the onboarding-watchdog's sweep before the deadline, Mist's signed `GW_ZTP_FINISHED`
/// delivery for branch-good, the sweep past the deadline; then each router's Mist phase.
pub(super) async fn run_onboarding(
    world: &World,
    launched: &[Launched],
    progress: &Progress,
) -> Result<OnboardingRun, DemoError> {
    // The first launch: the routers are launched a moment apart (possibly in different seconds),
    // and the sweeps are timed from the first, so its measured onboarding time is exact.
    let launched_at = launched
        .iter()
        .filter_map(|l| l.before.launch_time)
        .min()
        .unwrap_or_else(Utc::now);
    let watchdog = Watchdog::new(&world.deps.config, world.deps.secrets_client());
    let first_sweep = sweep_before_deadline(world, &watchdog, launched_at, progress).await?;
    let mist_webhook = deliver_mist_webhook(world, launched, launched_at, progress).await?;
    let final_sweep = sweep_past_deadline(world, &watchdog, launched_at, progress).await?;
    let mist_phases = launched
        .iter()
        .map(|l| {
            mist_phase(
                &l.planned.spec.name,
                &l.router.instance_id,
                &final_sweep,
                &mist_webhook,
            )
        })
        .collect();
    Ok(OnboardingRun {
        first_sweep,
        mist_webhook,
        final_sweep,
        mist_phases,
    })
}

/// Step: the sweep at launch + 9 minutes, Mist seeing branch-good claimed but not connected and
/// branch-old connected with an older SSR.
async fn sweep_before_deadline(
    world: &World,
    watchdog: &Watchdog,
    launched_at: DateTime<Utc>,
    progress: &Progress,
) -> Result<SweepOutcome, DemoError> {
    // Mist's view before the deadline: branch-good is claimed but not connected yet, branch-old
    // is connected with an older SSR, branch-bad (no registration code) never shows up.
    world
        .mist
        .serve(&[
            FakeGateway::named("branch-good", false, None),
            FakeGateway::named("branch-old", true, Some(OLD_SSR_VERSION)),
        ])
        .await;
    progress.step(&format!(
        "onboarding-watchdog: scheduled sweep at launch + 9 min (deadline {} min; one inventory and one device-stats read from Mist)",
        world.deps.config.onboarding_deadline.num_minutes()
    ));
    let at = launched_at + chrono::Duration::minutes(9);
    run_sweep(watchdog, &world.deps, at, progress).await
}

/// Step: Mist reports branch-good connected and delivers `GW_ZTP_FINISHED` for it at launch +
/// 11 minutes, signed with the webhook secret, to the mist-webhook handler.
async fn deliver_mist_webhook(
    world: &World,
    launched: &[Launched],
    launched_at: DateTime<Utc>,
    progress: &Progress,
) -> Result<WebhookDemo, DemoError> {
    progress.step("mist-webhook: Mist reports GW_ZTP_FINISHED for branch-good at launch + 11 min, in a delivery signed with the webhook secret");
    let good = launched
        .first()
        .map(|l| l.planned.spec.name.clone())
        .ok_or_else(|| DemoError::Event("no first router launched".into()))?;
    let good_mist = FakeGateway::named(&good, true, Some(GOOD_SSR_VERSION));
    world
        .mist
        .serve(&[
            good_mist.clone(),
            FakeGateway::named("branch-old", true, Some(OLD_SSR_VERSION)),
        ])
        .await;
    let event_time = launched_at + chrono::Duration::minutes(11);
    let hook = MistWebhook::new(&world.deps.config, world.deps.secrets_client());
    let request = signed_delivery(&good_mist, event_time)?;
    let answer = hook
        .handle_request(&world.deps, request, Invocation::local())
        .await;
    let summary: serde_json::Value = serde_json::from_str(&answer.body)
        .map_err(|e| DemoError::Event(format!("the webhook's answer is not JSON: {e}")))?;
    progress.detail(&format!(
        "HTTP {}: {} → {}",
        answer.status_code,
        good,
        summary["results"][0]["outcome"].as_str().unwrap_or("?")
    ));
    Ok(WebhookDemo {
        mist_api_url: world.mist.uri(),
        event: "GW_ZTP_FINISHED".into(),
        router: good,
        event_time,
        status_code: answer.status_code,
        summary,
    })
}

/// Step: the sweep at launch + 16 minutes, past the deadline: the routers still not onboarded
/// are paged.
async fn sweep_past_deadline(
    world: &World,
    watchdog: &Watchdog,
    launched_at: DateTime<Utc>,
    progress: &Progress,
) -> Result<SweepOutcome, DemoError> {
    progress.step("onboarding-watchdog: scheduled sweep at launch + 16 min, past the deadline");
    let at = launched_at + chrono::Duration::minutes(16);
    run_sweep(watchdog, &world.deps, at, progress).await
}

/// One scheduled sweep dated `at` (a sweep whose writes partly failed still yields its
/// outcome), each episode shown as a detail line.
async fn run_sweep(
    watchdog: &Watchdog,
    deps: &Deps,
    at: DateTime<Utc>,
    progress: &Progress,
) -> Result<SweepOutcome, DemoError> {
    let outcome = match watchdog
        .handle_event(deps, scheduled_event(at), Deadline::NONE)
        .await
    {
        Ok(o) => o,
        Err(SweepError::Incomplete { outcome, .. }) => *outcome,
        Err(e) => return Err(e.into()),
    };
    for e in &outcome.episodes {
        progress.detail(&format!(
            "{} ({}): {} after {} min",
            e.router_name,
            e.instance_id,
            e.phase.as_str(),
            e.elapsed_minutes
        ));
    }
    Ok(outcome)
}
