//! The sweep's closing steps: the adopted-routers summary, the list of routers overdue now, and
//! the summary line and result.

use chrono::{DateTime, Utc};

use super::{act, SweepError, SweepOutcome};
use crate::aws::state::items::OverdueNow;
use crate::deps::Deps;
use crate::episode::{Episode, SweepPlan};
use crate::render::EventContext;

/// Step 5b: one info summary of the routers adopted in this sweep that are not onboarded
/// (`ADOPT_EXISTING=summary`; none when there are none).
pub(super) async fn adopted(
    deps: &Deps,
    ctx: &EventContext,
    open: &[Episode],
    plan: &SweepPlan,
    now: DateTime<Utc>,
    outcome: &mut SweepOutcome,
) {
    outcome.adopted = plan.adopted_now.len();
    if plan.adopted_now.is_empty() {
        return;
    }
    let adopted: Vec<(&Episode, &crate::episode::Phase)> = plan
        .adopted_now
        .iter()
        .filter_map(|&i| {
            let phase = &plan.episodes.iter().find(|p| p.episode == i)?.phase;
            Some((open.get(i)?, phase))
        })
        .collect();
    tracing::info!(
        adopted = adopted.len(),
        decision = "adopted",
        "routers adopted"
    );
    match act::adopted_summary(deps, ctx, &adopted, now).await {
        Ok(a) => outcome.adopted_alert = Some(a),
        Err(e) => {
            tracing::error!(error = %e, "adopted-routers summary not sent");
            outcome.errors.push(e.to_string());
        }
    }
}

/// Step 6: the "currently overdue" list for `ssr-onboard report`, written when it changed.
pub(super) async fn overdue_now(
    deps: &Deps,
    before: Option<&OverdueNow>,
    plan: SweepPlan,
    now: DateTime<Utc>,
    outcome: &mut SweepOutcome,
) {
    outcome.overdue_now = plan.overdue.len();
    if before.map(|o| &o.routers) != Some(&plan.overdue) {
        let list = OverdueNow {
            as_of: now,
            routers: plan.overdue,
        };
        if let Err(e) = deps.state.put_overdue_now(&list).await {
            tracing::error!(error = %e, "could not write the overdue list");
            outcome.errors.push(e.to_string());
        }
    }
}

/// The sweep's summary line, and its result: incomplete when a write failed.
pub(super) fn finish(outcome: SweepOutcome) -> Result<SweepOutcome, SweepError> {
    tracing::info!(
        running = outcome.running_instances,
        routers = outcome.routers,
        open = outcome.open_episodes,
        initialised = outcome.initialised,
        deferred_init = outcome.deferred_init,
        mist = outcome.mist.status.as_str(),
        mist_requests = outcome.mist.requests,
        alerts_sent = outcome.alerts.iter().filter(|a| a.delivery.sent).count(),
        finished = outcome.finished,
        overdue_now = outcome.overdue_now,
        errors = outcome.errors.len(),
        decision = "swept",
        "onboarding sweep done"
    );
    if let Some(first) = outcome.errors.first().cloned() {
        return Err(SweepError::Incomplete {
            failed: outcome.errors.len(),
            first,
            outcome: Box::new(outcome),
        });
    }
    Ok(outcome)
}
