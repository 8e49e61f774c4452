//! The daily Mist probe: Mist is read only while an episode is open, so a wrong token, org id
//! or Mist cloud would show only when the first router pages. Once per UTC day (claim
//! `mist-probe#<date>`), a sweep with no open episode reads Mist anyway; a refused token raises
//! the once-a-day `mist-token-rejected` alert, any other failure the once-a-day
//! `mist-unreachable` alert (claim `mist-unreachable#<date>`).

use chrono::{DateTime, Utc};

use super::act;
use super::outcome::{MistStatus, SweepOutcome};
use crate::alerting::{publish_once, AlertClaim};
use crate::aws::state::items::{ClaimItem, MIST_PROBE_PREFIX, MIST_UNREACHABLE_PREFIX};
use crate::aws::state::Claim;
use crate::deadline::Deadline;
use crate::deps::Deps;
use crate::mist::{MistRead, MistReader};
use crate::render::operational::mist_unreachable_alert;
use crate::render::{AlertKind, EventContext};

/// What the sweep's `mist.detail` says when it made the probe.
pub const PROBE_DETAIL: &str = "daily Mist probe";

/// The probe, when it is due: Mist configured, and this sweep wins today's claim.
pub(super) async fn daily_probe(
    mist: &MistReader,
    deps: &Deps,
    ctx: &EventContext,
    now: DateTime<Utc>,
    deadline: Deadline,
    outcome: &mut SweepOutcome,
) {
    if !deps.config.mist.is_configured() {
        return;
    }
    let claim = deps
        .state
        .claim(
            &format!("{MIST_PROBE_PREFIX}{}", now.format("%Y-%m-%d")),
            now,
            now + chrono::Duration::days(2),
            ClaimItem {
                kind: "mist-probe".to_string(),
                ..Default::default()
            },
        )
        .await;
    match claim {
        Ok(Claim::Won) => {}
        // Already probed today, or no table to remember it by (one probe a sweep would cost
        // 1,440 Mist reads a day).
        Ok(Claim::Held) | Ok(Claim::NoTable) => return,
        Err(e) => {
            tracing::error!(error = %e, "daily Mist probe not claimed");
            outcome.errors.push(e.to_string());
            return;
        }
    }
    match mist.read_all(mist.budget_before(deadline)).await {
        MistRead::NotConfigured(_) => {}
        MistRead::Ok { inventory, stats } => {
            tracing::info!(
                decision = "mist-probe-ok",
                devices = inventory.items.len(),
                "daily Mist probe"
            );
            outcome.mist.status = MistStatus::Ok;
            outcome.mist.detail = Some(PROBE_DETAIL.to_string());
            outcome.mist.requests = inventory.requests + stats.as_ref().map_or(0, |s| s.requests);
            outcome.mist.devices = inventory.items.len();
            outcome.mist.stats = stats.as_ref().map_or(0, |s| s.items.len());
        }
        MistRead::Failed {
            reason,
            requests,
            token_rejected,
        } => {
            tracing::warn!(decision = "mist-probe-failed", reason = %reason, "daily Mist probe");
            outcome.mist.status = MistStatus::Unavailable;
            outcome.mist.detail = Some(format!("{PROBE_DETAIL}: {reason}"));
            outcome.mist.requests = requests;
            let sent = match token_rejected {
                Some(origin) => act::token_rejected(deps, ctx, &origin, &reason, now).await,
                None => unreachable(deps, ctx, &reason, now).await,
            };
            match sent {
                Ok(a) => outcome.mist.token_alert = Some(a),
                Err(e) => {
                    tracing::error!(error = %e, "daily Mist probe alert not sent");
                    outcome.errors.push(e.to_string());
                }
            }
        }
    }
}

/// The probe could not read Mist (not a refused token): one alert per UTC day.
async fn unreachable(
    deps: &Deps,
    ctx: &EventContext,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<crate::alerting::AlertOutcome, crate::aws::AwsError> {
    let alert = mist_unreachable_alert(ctx, reason, now);
    let once = AlertClaim {
        pk: format!("{MIST_UNREACHABLE_PREFIX}{}", now.format("%Y-%m-%d")),
        expires_at: now + chrono::Duration::days(2),
        item: ClaimItem {
            kind: AlertKind::MistUnreachable.as_str().to_string(),
            status: Some(reason.to_string()),
            ..Default::default()
        },
        held_reason: "already sent today".into(),
        sent_reason: "sent".into(),
    };
    publish_once(&deps.alerts, &deps.state, &alert, once, now).await
}
