//! The sweep's re-check of open guard findings (the safety net of the drift trigger): every
//! [`RECHECK_EVERY_MINUTES`] minutes ([`recheck_due`]), the routers with an open guard-findings
//! incident (the state table's list `findings-open`, one Query) are looked at again, so a hand
//! fix resolves within minutes even without a CloudTrail trail, or when its CloudTrail event fell
//! in a debounce window that had already run.
//!
//! **Check only**: the watchdog reads the router (the guard's snapshot, with the watchdog's own
//! read-only EC2 permissions, or the member role in a member account) and evaluates the guard's
//! rules; when no alerted finding is open any more, it sends the incident's one resolve. It
//! never writes to EC2 and never sends a trigger: fixing and reporting stay the guard's (a
//! router whose findings remain keeps its incident open; the guard re-reports it on its next
//! event). A router that is gone (terminated), no longer a managed router, or tagged
//! `SSR-ONBOARD=ignore` has nothing left to check: its incident is resolved too.

use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use serde::Serialize;

use super::SweepOutcome;
use crate::alerting::AlertOutcome;
use crate::aws::state::incidents::OpenFindings;
use crate::deadline::Deadline;
use crate::deps::Deps;
use crate::drift::{recheck_due, RECHECK_EVERY_MINUTES};
use crate::handlers::guard::{check_and_fix, observe, resolve_findings, Observed};
use crate::handlers::HandlerError;
use crate::instance_state::InstanceState;
use crate::render::EventContext;

/// Open incidents re-checked per sweep at most (oldest first); the rest wait for the next
/// re-check.
pub const RECHECK_BUDGET: i32 = 50;
/// Routers re-checked at once.
const CONCURRENCY: usize = 4;

/// One router re-checked.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Recheck {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The alerted-severity findings still open (codes).
    pub open_findings: Vec<String>,
    /// What was decided, in words.
    pub reason: String,
    /// The incident's resolve, when nothing is open any more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve: Option<AlertOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

pub(super) async fn recheck_findings(
    deps: &Deps,
    ctx: &EventContext,
    now: DateTime<Utc>,
    outcome: &mut SweepOutcome,
) {
    if !recheck_due(now) {
        return;
    }
    let open = match deps.state.open_findings(RECHECK_BUDGET).await {
        Ok(open) => open,
        Err(e) => {
            tracing::error!(error = %e, "could not list the open guard findings");
            outcome.errors.push(e.to_string());
            return;
        }
    };
    let trigger = format!(
        "sweep re-check of open findings (every {RECHECK_EVERY_MINUTES} minutes) at {}",
        now.format("%Y-%m-%dT%H:%M:%SZ")
    );
    let ctx = &EventContext {
        trigger,
        ..ctx.clone()
    };
    let mut rechecked: Vec<Recheck> = stream::iter(open)
        .map(|f| recheck_one(deps, ctx, f))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    rechecked.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    for r in &rechecked {
        if let Some(e) = &r.error {
            outcome
                .errors
                .push(format!("re-check of {}: {e}", r.instance_id));
        }
    }
    if !rechecked.is_empty() {
        tracing::info!(
            routers = rechecked.len(),
            resolved = rechecked
                .iter()
                .filter(|r| r.resolve.as_ref().is_some_and(|a| a.sent))
                .count(),
            decision = "recheck",
            "open guard findings re-checked"
        );
    }
    outcome.rechecked = rechecked;
}

async fn recheck_one(deps: &Deps, ctx: &EventContext, f: OpenFindings) -> Recheck {
    let mut r = Recheck {
        instance_id: f.scope.instance_id.clone(),
        account: f.scope.account.clone(),
        region: f.scope.region.clone(),
        ..Default::default()
    };
    if let Err(e) = look(deps, ctx, &f, &mut r).await {
        tracing::warn!(instance_id = %r.instance_id, error = %e, "re-check failed; the next one tries again");
        r.error = Some(e.to_string());
    }
    r
}

async fn look(
    deps: &Deps,
    ctx: &EventContext,
    f: &OpenFindings,
    r: &mut Recheck,
) -> Result<(), HandlerError> {
    let (account, region) = (f.scope.account.as_deref(), f.scope.region.as_deref());
    let scoped = &deps.scoped(account, region).await?;
    let ctx = &ctx.at(account, region, scoped.is_member());
    let id = f.scope.instance_id.as_str();
    let label = match observe(scoped, id, None).await? {
        Observed::NotFound => {
            r.reason = "the instance no longer exists".into();
            id.to_string()
        }
        Observed::Unselected { selection, .. } => {
            r.reason = format!("no longer checked by the guard: {}", selection.reason);
            id.to_string()
        }
        Observed::Router { snapshot, .. } => {
            let state = InstanceState::parse(&snapshot.state);
            if state.is_some_and(|s| {
                matches!(s, InstanceState::ShuttingDown | InstanceState::Terminated)
            }) {
                r.reason = format!("the instance is {}", snapshot.state);
            } else if !matches!(state, Some(InstanceState::Running | InstanceState::Stopped)) {
                r.reason = format!(
                    "the instance is {}: checked at a later re-check",
                    snapshot.state
                );
                return Ok(());
            } else {
                // Dry run: rules and plan only, no EC2 write.
                let (findings, _) = check_and_fix(scoped, &snapshot, true, Deadline::NONE).await;
                r.open_findings = findings
                    .iter()
                    .filter(|f| f.is_open())
                    .map(|f| f.code.as_str().to_string())
                    .collect();
                if !r.open_findings.is_empty() {
                    r.reason = "findings still open: the incident stays open".into();
                    return Ok(());
                }
                r.reason = "no alerted finding is open any more".into();
            }
            snapshot.label().to_string()
        }
    };
    r.resolve = resolve_findings(deps, ctx, id, &label).await?;
    tracing::info!(instance_id = id, decision = "recheck-resolve", reason = %r.reason, resolved = r.resolve.as_ref().is_some_and(|a| a.sent), "open findings re-checked");
    Ok(())
}
