//! `instance-guard`, second trigger: an EC2 API call recorded by CloudTrail ("AWS API Call via
//! CloudTrail", [`crate::drift`]) that may have changed what the guard checks — a tag, source/
//! destination check, ENA, a volume, an address, an attached interface. EC2 emits no state-change
//! event for these; CloudTrail does, when the account has a trail.
//!
//! For each router the call touched (at most [`MAX_INSTANCES_PER_CALL`]): a debounce claim
//! `drift#<instance-id>#<window>` in the state table (one per [`DEBOUNCE_SECONDS`] window, a
//! conditional write), then [`guard_instance`]: **drift** (someone turned source/destination
//! check back on) is fixed again and reported; a hand fix of an alerted finding resolves its
//! incident. A failed call (`errorCode`) and ssr-onboard's own calls (its fixes) are skipped; an
//! instance that is not a router is left untouched before anything is written.

use std::collections::BTreeSet;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, Utc};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::guard::{self, guard_instance, GuardOutcome, EC2_SOURCE};
use super::{parse_event, EventError, HandlerError};
use crate::alerting::{publish_once, AlertClaim, AlertOutcome};
use crate::aws::state::items::ClaimItem;
use crate::aws::state::Claim;
use crate::aws::AwsError;
use crate::deadline::Deadline;
use crate::deps::Deps;
use crate::drift::{
    debounce_key, debounce_window, parse_call, window_end, ApiCall, CLOUDTRAIL_DETAIL_TYPE,
    DEBOUNCE_SECONDS, MAX_INSTANCES_PER_CALL,
};
use crate::metrics::{Measured, Metrics, ALERTS_SENT};
use crate::plan::ActionStatus;
use crate::render::drift::drift_fixed_alert;
use crate::render::{Action, EventContext, IncidentKey};
use crate::select::select;

/// `drift-alert#<instance-id>#<window>`: the one drift notice of a router and window.
pub const DRIFT_ALERT_PREFIX: &str = "drift-alert#";
/// Routers of one call checked at once.
const CONCURRENCY: usize = 4;
/// How long a debounce claim outlives its window (then the table's TTL drops it).
const CLAIM_RETENTION_MINUTES: i64 = 10;

/// What the guard did with one CloudTrail event.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DriftOutcome {
    pub event_name: String,
    /// Who made the call (`userIdentity.arn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Why nothing was looked at (a failed call, ssr-onboard's own call).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// One entry per instance the call touched, up to [`MAX_INSTANCES_PER_CALL`].
    pub instances: Vec<DriftRun>,
    /// Instances beyond [`MAX_INSTANCES_PER_CALL`], not looked at.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_checked: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// One instance of a drift event.
#[derive(Clone, Debug, Serialize)]
pub struct DriftRun {
    pub instance_id: String,
    pub decision: DriftDecision,
    pub reason: String,
    /// The guard run (for `checked`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardOutcome>,
    /// The drift notice (`guard-drift`), when the guard had to fix something again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_alert: Option<AlertOutcome>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DriftDecision {
    /// Not a managed router (or gone, or tagged ignore): nothing written.
    NotARouter,
    /// The guard already ran for this router in this window.
    Debounced,
    /// The guard ran.
    Checked,
}

/// What `instance-guard` answers: a state-change run or a drift event's runs.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum GuardAnswer {
    Instance(Box<GuardOutcome>),
    Drift(DriftOutcome),
}

impl Measured for DriftOutcome {
    fn metrics(&self) -> Metrics {
        let mut m = Metrics::default();
        for run in self.instances.iter().filter_map(|r| r.guard.as_ref()) {
            m.merge(run.metrics());
        }
        let notices = self
            .instances
            .iter()
            .filter(|r| r.drift_alert.as_ref().is_some_and(|a| a.sent))
            .count();
        m.count(ALERTS_SENT, notices);
        m
    }
}

impl Measured for GuardAnswer {
    fn metrics(&self) -> Metrics {
        match self {
            GuardAnswer::Instance(o) => o.metrics(),
            GuardAnswer::Drift(o) => o.metrics(),
        }
    }
}

/// Any event of `instance-guard`: a CloudTrail API call ([`handle_event`]) or an EC2 state
/// change ([`guard::handle_event`]), told apart by `detail-type`.
pub async fn handle_any(
    deps: &Deps,
    event: serde_json::Value,
    deadline: impl Into<Deadline>,
) -> Result<GuardAnswer, HandlerError> {
    if event.get("detail-type").and_then(|v| v.as_str()) == Some(CLOUDTRAIL_DETAIL_TYPE) {
        handle_event(deps, event, deadline)
            .await
            .map(GuardAnswer::Drift)
    } else {
        guard::handle_event(deps, event, deadline)
            .await
            .map(|o| GuardAnswer::Instance(Box::new(o)))
    }
}

/// An EventBridge "AWS API Call via CloudTrail" event for one of the calls in
/// [`crate::drift::DRIFT_EVENT_NAMES`]. `deadline`: the invocation's.
pub async fn handle_event(
    deps: &Deps,
    event: serde_json::Value,
    deadline: impl Into<Deadline>,
) -> Result<DriftOutcome, HandlerError> {
    let deadline = deadline.into();
    let ev: EventBridgeEvent<serde_json::Value> = parse_event(
        "an EventBridge \"AWS API Call via CloudTrail\" event",
        event,
    )?;
    if ev.source != EC2_SOURCE || ev.detail_type != CLOUDTRAIL_DETAIL_TYPE {
        return Err(EventError::malformed(format!(
            "expected source {EC2_SOURCE} and detail-type \"{CLOUDTRAIL_DETAIL_TYPE}\", got {} / \"{}\"",
            ev.source, ev.detail_type
        ))
        .into());
    }
    let call = parse_call(&ev.detail).map_err(|e| EventError::malformed(e.to_string()))?;
    let mut outcome = DriftOutcome {
        event_name: call.event_name.clone(),
        principal: call.principal.clone(),
        ..Default::default()
    };
    if let Some(code) = &call.error_code {
        outcome.skipped = Some(format!("the call failed ({code}): nothing changed"));
        tracing::info!(event_name = %call.event_name, decision = "skip", error_code = %code, "failed call");
        return Ok(outcome);
    }
    if call.is_own(&deps.config.member_role_name) {
        outcome.skipped = Some("ssr-onboard's own call (a fix): nothing to re-check".into());
        tracing::info!(event_name = %call.event_name, decision = "skip", "own call");
        return Ok(outcome);
    }
    // A member account's call (forwarded to the hub's bus) is checked in that account.
    let deps = &deps
        .scoped(ev.account.as_deref(), ev.region.as_deref())
        .await?;
    let ids = deps.ec2.instances_of(&call.resources).await?;
    outcome.not_checked = ids.len().saturating_sub(MAX_INSTANCES_PER_CALL);
    let ids: Vec<String> = ids.into_iter().take(MAX_INSTANCES_PER_CALL).collect();
    let ctx = EventContext {
        trigger: call.trigger(),
        region: ev.region.clone().or_else(|| deps.region.clone()),
        account: ev.account.clone().or_else(|| deps.account.clone()),
        event_id: ev.id.clone(),
        account_name: None,
        member: deps.is_member(),
    };
    let window = debounce_window(ev.time.unwrap_or_else(Utc::now));
    tracing::info!(
        event_name = %call.event_name,
        principal = call.principal.as_deref().unwrap_or(""),
        instances = ids.len(),
        not_checked = outcome.not_checked,
        "CloudTrail call on EC2 resources"
    );
    let results: Vec<Result<DriftRun, HandlerError>> = stream::iter(ids)
        .map(|id| {
            let ctx = &ctx;
            let call = &call;
            async move { one(deps, call, &id, ctx, window, deadline).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut first_error = None;
    for r in results {
        match r {
            Ok(run) => outcome.instances.push(run),
            Err(e) => {
                tracing::error!(error = %e, "drift re-check failed; its debounce claim was given back");
                first_error.get_or_insert(e);
            }
        }
    }
    outcome
        .instances
        .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    match first_error {
        // The event fails so Lambda retries it; the routers already checked are debounced.
        Some(e) => Err(e),
        None => Ok(outcome),
    }
}

/// One instance: is it a router (reads only), the debounce claim, the guard run.
async fn one(
    deps: &Deps,
    call: &ApiCall,
    instance_id: &str,
    ctx: &EventContext,
    window: i64,
    deadline: Deadline,
) -> Result<DriftRun, HandlerError> {
    let run = |decision, reason: String, guard| DriftRun {
        instance_id: instance_id.to_string(),
        decision,
        reason,
        guard,
        drift_alert: None,
    };
    if let Some(why) = not_a_router(deps, instance_id).await? {
        tracing::info!(instance_id, decision = "skip", reason = %why, "not a managed router");
        return Ok(run(DriftDecision::NotARouter, why, None));
    }
    let now = Utc::now();
    let key = debounce_key(instance_id, window);
    let expires_at = window_end(window).max(now) + Duration::minutes(CLAIM_RETENTION_MINUTES);
    let item = ClaimItem {
        kind: "drift".into(),
        instance_id: Some(instance_id.to_string()),
        status: Some(call.event_name.clone()),
        ..Default::default()
    };
    if deps.state.claim(&key, now, expires_at, item).await? == Claim::Held {
        tracing::info!(instance_id, decision = "debounced", claim = %key, "guard already ran in this window");
        return Ok(run(
            DriftDecision::Debounced,
            format!("the guard already ran for this router within this {DEBOUNCE_SECONDS}-second window"),
            None,
        ));
    }
    match guard_instance(deps, instance_id, None, ctx, deadline).await {
        Ok(o) => {
            let notice = drift_notice(deps, ctx, &o, window, now).await?;
            let reason = o.reason.clone();
            let mut r = run(DriftDecision::Checked, reason, Some(o));
            r.drift_alert = notice;
            Ok(r)
        }
        Err(e) => {
            // Give the window back so Lambda's retry runs the guard again.
            if let Err(release) = deps.state.release(&key).await {
                tracing::warn!(error = %release, claim = %key, "debounce claim not given back; it expires by itself");
            }
            Err(e)
        }
    }
}

/// The drift notice, once per router and window, when the guard applied a fix: what it had
/// set was changed back. `None` when nothing was fixed (or in a dry run).
async fn drift_notice(
    deps: &Deps,
    ctx: &EventContext,
    o: &GuardOutcome,
    window: i64,
    now: DateTime<Utc>,
) -> Result<Option<AlertOutcome>, HandlerError> {
    let applied = o
        .actions
        .iter()
        .filter(|a| a.status == ActionStatus::Applied)
        .count();
    if o.dry_run || applied == 0 {
        return Ok(None);
    }
    let ctx = &deps.named(ctx).await;
    // A notice with its own key (nothing to resolve: the guard already fixed it).
    let key = IncidentKey::from_raw(format!("ssr-onboard/guard-drift/{}", o.instance_id));
    let alert = drift_fixed_alert(ctx, &o.instance_id, &o.instance_id, &o.findings, &o.actions)
        .for_incident(&key, Action::Trigger);
    let once = AlertClaim {
        pk: format!("{DRIFT_ALERT_PREFIX}{}#{window}", o.instance_id),
        expires_at: now + Duration::days(1),
        item: ClaimItem {
            kind: "drift-alert".into(),
            instance_id: Some(o.instance_id.clone()),
            ..Default::default()
        },
        held_reason: "this window's drift notice was already sent".into(),
        sent_reason: format!("{applied} setting(s) changed back and fixed again"),
    };
    tracing::info!(instance_id = %o.instance_id, decision = "drift-fixed", fixes = applied, "drift fixed again");
    Ok(Some(
        publish_once(&deps.alerts, &deps.state, &alert, once, now).await?,
    ))
}

/// `Some(why)` when `instance_id` is not a managed router (not found, not selected): two reads
/// (the instance, its interfaces), nothing written.
async fn not_a_router(deps: &Deps, instance_id: &str) -> Result<Option<String>, AwsError> {
    let ids = [instance_id.to_string()];
    let (instance, interfaces) = tokio::join!(
        deps.ec2.describe_instance(instance_id),
        deps.ec2.interfaces_of(&ids)
    );
    let Some(facts) = instance? else {
        return Ok(Some("instance does not exist".into()));
    };
    let interfaces = interfaces?.remove(instance_id).unwrap_or_default();
    let selection = select(
        &deps.config,
        &facts.tags,
        interfaces.iter().map(|i| (i.eni_id.as_str(), &i.tags)),
    );
    Ok((!selection.selected).then_some(selection.reason))
}

/// The instance ids in `runs` by decision (tests, logs).
pub fn instances_with(outcome: &DriftOutcome, decision: DriftDecision) -> BTreeSet<String> {
    outcome
        .instances
        .iter()
        .filter(|r| r.decision == decision)
        .map(|r| r.instance_id.clone())
        .collect()
}
