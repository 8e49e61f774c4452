//! `instance-guard`: EC2 instance state-change events → check, fix what is safe, report the rest.
//! The stack watcher and the CLI call [`guard_instance`] for the same work from other triggers.

use aws_lambda_events::event::cloudwatch_events::ec2::InstanceStateChange;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::Instrument;

use super::{parse_event, EventError, HandlerError};
pub use crate::alerting::AlertOutcome;
use crate::alerting::{resolve_once, trigger_once, AlertClaim};
use crate::apply::{apply, Readback};
use crate::aws::state::items::ClaimItem;
use crate::aws::AwsError;
use crate::config::RetryPolicy;
use crate::deadline::Deadline;
use crate::deps::Deps;
use crate::findings::Finding;
use crate::instance_state::{is_guarded, InstanceState};
use crate::metrics::{
    Measured, Metrics, ALERTS_SENT, FINDINGS, FINDINGS_OPEN, FIXES_APPLIED, FIXES_FAILED,
};
use crate::plan::{mark_fixed, plan, ActionResult, ActionStatus};
use crate::render::guard::guard_alert;
use crate::render::resolved::findings_cleared_alert;
use crate::render::EventContext;
use crate::render::{Action, IncidentKey};
use crate::retry::Waits;
use crate::rules::{evaluate, Policy};
use crate::select::{select, Control, Selection, Snooze, SNOOZE_TAG_KEY};
use crate::snapshot::{is_instance_id, InstanceFacts, Interface, RouterSnapshot};

pub const EC2_SOURCE: &str = "aws.ec2";
pub const EC2_DETAIL_TYPE: &str = "EC2 Instance State-change Notification";

/// The JSON summary every guard run returns (and the CLI prints).
#[derive(Clone, Debug, Serialize)]
pub struct GuardOutcome {
    pub instance_id: String,
    pub trigger: String,
    /// The state EC2 described (or the event's, when nothing was described).
    pub state: Option<String>,
    pub selected: bool,
    /// The router is tagged `SSR-ONBOARD=ignore`: nothing was read beyond the tags, nothing
    /// written or alerted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ignored: bool,
    /// Why the instance was selected, skipped, or left alone.
    pub reason: String,
    pub dry_run: bool,
    pub findings: Vec<Finding>,
    pub actions: Vec<ActionResult>,
    pub alert: AlertOutcome,
}

/// What a look at one instance found.
#[derive(Debug)]
pub enum Observed {
    /// EC2 does not know the instance (after retries, if any).
    NotFound,
    /// Not a managed router: nothing more was read, nothing will be written.
    Unselected { state: String, selection: Selection },
    /// A managed router and all facts the rules need.
    Router {
        snapshot: Box<RouterSnapshot>,
        selection: Selection,
    },
}

/// Looks at one instance: the instance and its interfaces (read concurrently, retrying NotFound
/// while EC2 catches up with a new instance), selection, and only for routers the rest of the
/// snapshot.
pub async fn observe(
    deps: &Deps,
    instance_id: &str,
    retry_not_found: Option<RetryPolicy>,
) -> Result<Observed, AwsError> {
    let ids = [instance_id.to_string()];
    let mut waits = retry_not_found.map(|p| Waits::policy(p, Deadline::NONE));
    let (facts, mut interfaces) = loop {
        let (instance, interfaces) = tokio::join!(
            deps.ec2.describe_instance(instance_id),
            deps.ec2.interfaces_of(&ids)
        );
        // When both fail (AWS unreachable), the instance read's error is the one reported.
        let (instance, interfaces) = (instance?, interfaces?);
        if let Some(i) = instance {
            break (i, interfaces);
        }
        let Some(w) = waits.as_mut() else {
            return Ok(Observed::NotFound);
        };
        let Some(wait) = w.next_wait() else {
            return Ok(Observed::NotFound);
        };
        tracing::info!(
            instance_id,
            attempt = w.attempt() - 1,
            "instance not visible yet; retrying"
        );
        tokio::time::sleep(wait).await;
    };
    let interfaces = interfaces.remove(instance_id).unwrap_or_default();
    observe_described(deps, facts, interfaces).await
}

/// Like [`observe`] for an instance and its interfaces already described (batch audits).
pub async fn observe_described(
    deps: &Deps,
    facts: InstanceFacts,
    interfaces: Vec<Interface>,
) -> Result<Observed, AwsError> {
    let selection = select(
        &deps.config,
        &facts.tags,
        interfaces.iter().map(|i| (i.eni_id.as_str(), &i.tags)),
    );
    if !selection.selected {
        return Ok(Observed::Unselected {
            state: facts.state,
            selection,
        });
    }
    let snapshot = deps.ec2.snapshot(facts, interfaces).await?;
    Ok(Observed::Router {
        snapshot: Box::new(snapshot),
        selection,
    })
}

impl GuardOutcome {
    fn skipped(
        instance_id: &str,
        ctx: &EventContext,
        state: Option<String>,
        reason: String,
        dry_run: bool,
    ) -> Self {
        GuardOutcome {
            instance_id: instance_id.to_string(),
            trigger: ctx.trigger.clone(),
            state,
            selected: false,
            ignored: false,
            reason,
            dry_run,
            findings: vec![],
            actions: vec![],
            alert: AlertOutcome::nothing("nothing to report"),
        }
    }
}

/// An EventBridge "EC2 Instance State-change Notification". `deadline`: the invocation's (the
/// fixes' read-back never waits past it), [`Deadline::NONE`] from the CLI.
pub async fn handle_event(
    deps: &Deps,
    event: serde_json::Value,
    deadline: impl Into<Deadline>,
) -> Result<GuardOutcome, HandlerError> {
    let ev: EventBridgeEvent<InstanceStateChange> = parse_event(
        "an EventBridge \"EC2 Instance State-change Notification\"",
        event,
    )?;
    if ev.source != EC2_SOURCE || ev.detail_type != EC2_DETAIL_TYPE {
        return Err(EventError::malformed(format!(
            "expected source {EC2_SOURCE} and detail-type \"{EC2_DETAIL_TYPE}\", got {} / \"{}\"",
            ev.source, ev.detail_type
        ))
        .into());
    }
    let id = ev.detail.instance_id.as_str();
    if !is_instance_id(id) {
        return Err(EventError::malformed(format!(
            "detail.instance-id {:?} is not an EC2 instance id (i- and 8 or 17 lower-case hex digits)",
            id.chars().take(40).collect::<String>()
        ))
        .into());
    }
    // A member account's event (forwarded to the hub's bus) is handled in that account.
    let deps = &deps
        .scoped(ev.account.as_deref(), ev.region.as_deref())
        .await?;
    let ctx = EventContext {
        trigger: format!("EC2 state change: {}", ev.detail.state),
        region: ev.region.clone().or_else(|| deps.region.clone()),
        account: ev.account.clone().or_else(|| deps.account.clone()),
        event_id: ev.id.clone(),
        account_name: None,
        member: deps.is_member(),
    };
    guard_instance(deps, id, Some(&ev.detail.state), &ctx, deadline.into()).await
}

/// Checks and fixes one instance. `event_state` is what the triggering event said (if any):
/// terminal states short-circuit without a describe call; `pending`/`running` retry describe
/// while EC2 catches up with a new instance.
pub async fn guard_instance(
    deps: &Deps,
    instance_id: &str,
    event_state: Option<&str>,
    ctx: &EventContext,
    deadline: Deadline,
) -> Result<GuardOutcome, HandlerError> {
    let span = tracing::info_span!(
        "guard",
        instance_id,
        event_id = ctx.event_id.as_deref().unwrap_or("")
    );
    guard_inner(deps, instance_id, event_state, ctx, deadline)
        .instrument(span)
        .await
}

async fn guard_inner(
    deps: &Deps,
    instance_id: &str,
    event_state: Option<&str>,
    ctx: &EventContext,
    deadline: Deadline,
) -> Result<GuardOutcome, HandlerError> {
    let dry_run = deps.config.dry_run;
    let state = event_state.and_then(InstanceState::parse);
    if let Some(s) = event_state.filter(|_| state.is_some_and(InstanceState::is_leaving)) {
        let o = GuardOutcome::skipped(
            instance_id,
            ctx,
            Some(s.into()),
            format!("instance is {s}: nothing to do"),
            dry_run,
        );
        tracing::info!(
            instance_id,
            state = s,
            decision = "no-op",
            "instance leaving service"
        );
        return Ok(o);
    }
    let retry = state
        .is_some_and(InstanceState::is_starting_or_running)
        .then_some(deps.config.describe_retry);
    let (snapshot, selection) = match observe(deps, instance_id, retry).await? {
        Observed::NotFound => {
            tracing::info!(instance_id, decision = "no-op", "instance not found");
            return Ok(GuardOutcome::skipped(
                instance_id,
                ctx,
                event_state.map(String::from),
                "instance does not exist (InvalidInstanceID.NotFound): nothing to do".into(),
                dry_run,
            ));
        }
        Observed::Unselected { state, selection } => {
            tracing::info!(instance_id, state, decision = "skip", reason = %selection.reason, "not a managed router");
            let mut o =
                GuardOutcome::skipped(instance_id, ctx, Some(state), selection.reason, dry_run);
            o.ignored = selection.control == Control::Ignore;
            return Ok(o);
        }
        Observed::Router {
            snapshot,
            selection,
        } => (snapshot, selection),
    };
    let state = snapshot.state.clone();
    if !is_guarded(&state) {
        let mut o = GuardOutcome::skipped(
            instance_id,
            ctx,
            Some(state.clone()),
            format!("instance is {state}: nothing to do"),
            dry_run,
        );
        o.selected = true;
        tracing::info!(
            instance_id,
            state,
            decision = "no-op",
            "router in a transitional state"
        );
        return Ok(o);
    }

    // `SSR-ONBOARD=monitor`: checked and alerted, never written.
    let dry_run = dry_run || selection.control == Control::Monitor;
    let (findings, actions) = check_and_fix(deps, &snapshot, dry_run, deadline).await;

    let mut outcome = GuardOutcome {
        instance_id: instance_id.to_string(),
        trigger: ctx.trigger.clone(),
        state: Some(state),
        selected: true,
        ignored: false,
        reason: selection.reason,
        dry_run,
        findings,
        actions,
        alert: AlertOutcome::nothing(""),
    };
    // The fixes written go to the router's timeline beside the alert step (never fails it).
    let now = Utc::now();
    let fixes: Vec<_> = outcome
        .actions
        .iter()
        .filter_map(|a| crate::timeline::Entry::fix(now, a))
        .collect();
    let (alerted, ()) = tokio::join!(
        alert(deps, ctx, &snapshot, &outcome),
        deps.state.record_timeline(instance_id, &fixes, now)
    );
    outcome.alert = alerted?;

    let codes: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| !f.fixed)
        .map(|f| f.code.as_str())
        .collect();
    let fixed: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| f.fixed)
        .map(|f| f.code.as_str())
        .collect();
    tracing::info!(
        instance_id,
        state = outcome.state.as_deref().unwrap_or(""),
        decision = "checked",
        finding_codes = ?codes,
        fixed_codes = ?fixed,
        actions = outcome.actions.len(),
        alert_sent = outcome.alert.sent,
        dry_run,
        "router checked"
    );
    let failed = outcome.actions.iter().filter(|a| !a.succeeded()).count();
    if failed > 0 {
        return Err(HandlerError::FixesFailed {
            instance_id: instance_id.to_string(),
            failed,
            total: outcome.actions.len(),
            outcome: Box::new(outcome),
        });
    }
    Ok(outcome)
}

/// Rules, plan and (unless `dry_run`) the verified fixes for one router snapshot: the part of the
/// guard the audit command shares. The read-back polls (`READBACK_BACKOFF_MS`) but never past
/// `deadline`.
pub async fn check_and_fix(
    deps: &Deps,
    snapshot: &RouterSnapshot,
    dry_run: bool,
    deadline: Deadline,
) -> (Vec<Finding>, Vec<ActionResult>) {
    let policy = Policy::for_state(
        &snapshot.state,
        deps.config.ena_fix_when_stopped,
        deps.config.min_root_volume_gb,
    )
    .with_public_ip_grace(Utc::now(), deps.config.public_ip_grace);
    let mut findings = evaluate(snapshot, &policy);
    let readback = Readback {
        backoff: &deps.config.readback_backoff,
        deadline,
    };
    let actions = apply(&deps.ec2, &plan(&findings), dry_run, &readback).await;
    mark_fixed(&mut findings, &actions);
    (findings, actions)
}

/// Sends one alert for the findings that remain, unless the same set was sent for this instance
/// within the de-duplication window (a conditional write in the state table decides).
async fn alert(
    deps: &Deps,
    ctx: &EventContext,
    s: &RouterSnapshot,
    o: &GuardOutcome,
) -> Result<AlertOutcome, HandlerError> {
    let remaining: Vec<&Finding> = o.findings.iter().filter(|f| f.is_open()).collect();
    let failed_fixes = o.actions.iter().any(|a| !a.succeeded());
    if remaining.is_empty() {
        // Findings alerted earlier and gone now (fixed by hand or by the guard): resolve their
        // incident once.
        let resolved = resolve_findings(deps, ctx, &s.instance_id, s.label()).await?;
        return Ok(resolved.unwrap_or_else(|| AlertOutcome::nothing("no findings remain")));
    }
    match Snooze::of(&s.tags) {
        Snooze::Until(until) if until > Utc::now() => {
            return Ok(AlertOutcome::nothing(format!(
                "snoozed until {} ({SNOOZE_TAG_KEY}); fixes are still applied",
                until.to_rfc3339()
            )));
        }
        _ => {}
    }
    // A member account's alert names the account (looked up only now, when one is sent).
    let ctx = &deps.named(ctx).await;
    let alert = guard_alert(
        ctx,
        s,
        &o.findings,
        &o.actions,
        o.dry_run,
        deps.config.alert_dedup,
    );
    let mut keys: Vec<String> = remaining
        .iter()
        .map(|f| format!("{}|{}", f.code, f.resource))
        .collect();
    keys.sort();
    if failed_fixes {
        keys.push("fix-failed".into());
    }
    let fingerprint = hex(&Sha256::digest(keys.join("\n").as_bytes())[..8]);
    let now = Utc::now();
    let once = AlertClaim {
        pk: format!("alert#{}#{fingerprint}", s.instance_id),
        expires_at: now + deps.config.alert_dedup,
        item: ClaimItem {
            kind: "guard-alert".into(),
            instance_id: Some(s.instance_id.clone()),
            // Where the router runs: the incident's listing for the sweep re-check.
            account: ctx.account.clone(),
            region: ctx.region.clone(),
            ..Default::default()
        },
        held_reason: "identical findings already alerted within the de-duplication window".into(),
        sent_reason: format!("{} finding(s) remain", remaining.len()),
    };
    let alert = alert.for_incident(&IncidentKey::guard(&s.instance_id), Action::Trigger);
    Ok(trigger_once(&deps.alerts, &deps.state, &alert, once, now).await?)
}

/// Resolves the router's guard-findings incident once, if one is open (`Ok(None)`: none is).
/// The guard calls it when no alerted finding remains; the sweep re-check too.
pub async fn resolve_findings(
    deps: &Deps,
    ctx: &EventContext,
    instance_id: &str,
    label: &str,
) -> Result<Option<AlertOutcome>, AwsError> {
    let key = IncidentKey::guard(instance_id);
    resolve_once(&deps.alerts, &deps.state, &key, Utc::now(), |opened| {
        findings_cleared_alert(ctx, instance_id, label, &opened.to_rfc3339())
    })
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One guard run: open findings (total and by code), fixes applied and failed, the alert.
impl Measured for GuardOutcome {
    fn metrics(&self) -> Metrics {
        let o = self;
        let mut m = Metrics::default();
        let open: Vec<&str> = o
            .findings
            .iter()
            .filter(|f| f.is_open())
            .map(|f| f.code.as_str())
            .collect();
        m.count(FINDINGS_OPEN, open.len());
        for code in &open {
            m.count_by(FINDINGS, &[("Code", code)], 1);
        }
        let status =
            |s: &[ActionStatus]| o.actions.iter().filter(|a| s.contains(&a.status)).count();
        m.count(FIXES_APPLIED, status(&[ActionStatus::Applied]));
        m.count(
            FIXES_FAILED,
            status(&[ActionStatus::Failed, ActionStatus::Unverified]),
        );
        m.count(ALERTS_SENT, usize::from(o.alert.sent));
        m
    }
}
