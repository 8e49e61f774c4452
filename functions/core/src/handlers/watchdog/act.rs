//! The writes of a sweep, each idempotent: an episode's onboarding config read once, the overdue
//! page and the recovered notice sent once (through [`crate::alerting`]), the finished episode
//! recorded once.

use chrono::{DateTime, Utc};

use super::outcome::EpisodeAlert;
use crate::alerting::AlertOutcome;
use crate::alerting::{publish_once, AlertClaim};
use crate::aws::state::items::{
    ClaimItem, WatchItem, MEMBER_UNREACHABLE_PREFIX, OVERDUE_PREFIX, RECOVERED_PREFIX,
    ROUTERS_ADOPTED_PREFIX, TOKEN_REJECTED_PREFIX, UNVERIFIED_PREFIX,
};
use crate::aws::AwsError;
use crate::deps::Deps;
use crate::episode::{Decision, Episode, Phase, PhaseCode, SweepPlan};
use crate::onboarding_config::{inspect_bytes, OnboardingStatus};
use crate::render::notices::{adopted_summary_alert, unverified_alert, AdoptedRouter};
use crate::render::watchdog::{
    failed_alert, member_unreachable_alert, overdue_alert, recovered_alert, token_rejected_alert,
    EpisodeView,
};
use crate::render::{Action, Alert, AlertKind, EventContext, IncidentKey};

/// Mist reported `GW_ZTP_FAILED`: page at once. The claim is the episode's overdue claim, so the
/// deadline sweep sees the episode as alerted and does not page it again.
pub async fn ztp_failed(
    deps: &Deps,
    ctx: &EventContext,
    e: &Episode,
    text: Option<&str>,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> Result<EpisodeAlert, AwsError> {
    let ctx = &deps.named(ctx).await;
    let alert = failed_alert(
        ctx,
        &EpisodeView::from(e),
        text,
        reason,
        at,
        deps.config.onboarding_deadline,
    );
    send_once(
        deps,
        OVERDUE_PREFIX,
        e,
        at,
        AlertKind::OnboardingFailed,
        "ztp-failed",
        alert,
    )
    .await
}

/// Mist refused the token: one operational alert per UTC day (claim
/// `mist-token-rejected#<date>`), naming where the token lives, never the token.
pub async fn token_rejected(
    deps: &Deps,
    ctx: &EventContext,
    origin: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    let alert = token_rejected_alert(ctx, origin, error, now).for_incident(
        &IncidentKey::deployment(AlertKind::MistTokenRejected.as_str()),
        Action::Trigger,
    );
    let once = AlertClaim {
        pk: format!("{TOKEN_REJECTED_PREFIX}{}", now.format("%Y-%m-%d")),
        expires_at: now + chrono::Duration::days(2),
        item: ClaimItem {
            kind: AlertKind::MistTokenRejected.as_str().to_string(),
            status: Some(error.to_string()),
            ..Default::default()
        },
        held_reason: "already sent today".into(),
        sent_reason: "sent".into(),
    };
    publish_once(&deps.alerts, &deps.state, &alert, once, now).await
}

/// A member account the sweep could not read: one operational alert per account per UTC day
/// (claim `member-unreachable#<account>#<date>`), naming the role and the error.
pub async fn member_unreachable(
    deps: &Deps,
    ctx: &EventContext,
    account: &str,
    role: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    let alert = member_unreachable_alert(ctx, account, role, error, now);
    daily_account_alert(
        deps,
        ctx,
        alert,
        MEMBER_UNREACHABLE_PREFIX,
        account,
        error,
        now,
    )
    .await
}

/// Sends `alert` (about member `account`, kind from the alert) at most once per account per
/// UTC day: claim `<prefix><account>#<date>`, recording the error.
pub(crate) async fn daily_account_alert(
    deps: &Deps,
    ctx: &EventContext,
    alert: Alert,
    prefix: &str,
    account: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    let kind = alert.kind().map_or("", AlertKind::as_str);
    let alert = alert.for_incident(&IncidentKey::member(kind, account), Action::Trigger);
    let once = AlertClaim {
        pk: format!("{prefix}{account}#{}", now.format("%Y-%m-%d")),
        expires_at: now + chrono::Duration::days(2),
        item: ClaimItem {
            kind: alert.kind().map_or("", AlertKind::as_str).to_string(),
            status: Some(error.to_string()),
            account: Some(account.to_string()),
            region: ctx.region.clone(),
            ..Default::default()
        },
        held_reason: "already sent today for this account".into(),
        sent_reason: "sent".into(),
    };
    publish_once(&deps.alerts, &deps.state, &alert, once, now).await
}

pub enum Effect {
    Alert(EpisodeAlert),
    /// The episode's record was written; its onboarding duration in seconds when measured.
    Recorded {
        seconds: Option<i64>,
    },
}

/// Reads the onboarding config (user data) once for a new episode and writes `watch#…`.
pub async fn init_watch(deps: &Deps, e: &Episode, now: DateTime<Utc>) -> WatchItem {
    let (router_name, ssr_version, onboarding_note) = match deps.ec2.user_data(&e.instance_id).await
    {
        Ok(bytes) => match inspect_bytes(bytes.as_deref()) {
            OnboardingStatus::Parsed { config, problems } => (
                config.name,
                config.ssr_version,
                (!problems.is_empty()).then(|| problems.join("; ")),
            ),
            OnboardingStatus::Missing { reason }
            | OnboardingStatus::Unreadable { reason }
            | OnboardingStatus::NotChecked { reason } => (None, None, Some(reason)),
        },
        Err(err) => {
            tracing::warn!(instance_id = e.instance_id, error = %err, "user data not readable");
            (
                None,
                None,
                Some(format!(
                    "user data not readable ({}); the SSR version is not checked",
                    err.code
                )),
            )
        }
    };
    let w = WatchItem {
        router_name,
        ssr_version,
        onboarding_note,
        first_seen_at: now,
        onboarded_tag_at_start: e.onboarded_tag_set(),
        mist_phase: None,
    };
    // The watch item is also the episode's `episode-started` timeline entry.
    let source = if e.started_at > e.launch_time {
        "stack"
    } else {
        "launch"
    };
    let stored = deps
        .state
        .put_watch(
            &e.key(),
            &e.instance_id,
            e.started_at,
            e.expires_at(),
            &w,
            source,
        )
        .await;
    if let Err(err) = stored {
        // Used for this sweep anyway; the next sweep reads the config again.
        tracing::warn!(instance_id = e.instance_id, error = %err, "could not store the episode's onboarding config");
    }
    w
}

/// Sends `alert` once for the episode (claim `<prefix><key>`).
async fn send_once(
    deps: &Deps,
    prefix: &str,
    e: &Episode,
    now: DateTime<Utc>,
    kind: AlertKind,
    phase: &str,
    alert: Alert,
) -> Result<EpisodeAlert, AwsError> {
    let once = AlertClaim {
        pk: format!("{prefix}{}", e.key()),
        expires_at: e.expires_at(),
        item: ClaimItem {
            kind: kind.as_str().to_string(),
            instance_id: Some(e.instance_id.clone()),
            router_name: Some(e.label().to_string()),
            started_at: Some(e.started_at.timestamp()),
            phase: Some(phase.to_string()),
            account: e.account.clone(),
            region: e.region.clone(),
            ..Default::default()
        },
        held_reason: "already sent for this episode".into(),
        sent_reason: "sent".into(),
    };
    // The episode is the incident: the overdue page (or Mist's ZTP failure) triggers it, the
    // recovered notice resolves it.
    let action = if kind == AlertKind::OnboardingRecovered {
        Action::Resolve
    } else {
        Action::Trigger
    };
    let alert = alert.for_incident(
        &IncidentKey::episode(&e.instance_id, e.started_at.timestamp()),
        action,
    );
    let delivery = publish_once(&deps.alerts, &deps.state, &alert, once, now).await?;
    Ok(EpisodeAlert {
        instance_id: e.instance_id.clone(),
        kind,
        delivery,
    })
}

/// Past the deadline without Mist settings: the episode's one info notice that its onboarding
/// cannot be verified (claim `unverified#<key>`).
pub async fn unverified(
    deps: &Deps,
    ctx: &EventContext,
    e: &Episode,
    phase: &Phase,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, AwsError> {
    let ctx = &deps.named(ctx).await;
    let alert = unverified_alert(
        ctx,
        &EpisodeView::from(e),
        phase,
        now,
        deps.config.onboarding_deadline,
    );
    let a = send_once(
        deps,
        UNVERIFIED_PREFIX,
        e,
        now,
        AlertKind::OnboardingUnverified,
        phase.code(),
        alert,
    )
    .await?;
    Ok(vec![Effect::Alert(a)])
}

/// The one summary of the routers a sweep adopted that are not onboarded: claimed on a digest
/// of their episode keys, so a replayed sweep that adopts the same set sends nothing.
pub async fn adopted_summary(
    deps: &Deps,
    ctx: &EventContext,
    adopted: &[(&Episode, &Phase)],
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    use sha2::Digest;
    let routers: Vec<AdoptedRouter<'_>> = adopted
        .iter()
        .map(|(e, phase)| AdoptedRouter {
            view: EpisodeView::from(*e),
            phase,
            account: e.account.as_deref(),
            region: e.region.as_deref(),
        })
        .collect();
    let alert = adopted_summary_alert(ctx, &routers, deps.config.onboarding_deadline, now);
    let mut keys: Vec<String> = adopted.iter().map(|(e, _)| e.key()).collect();
    keys.sort();
    let digest = hex::encode(&sha2::Sha256::digest(keys.join(",").as_bytes())[..16]);
    let alert = alert.for_incident(
        &IncidentKey::from_raw(format!("ssr-onboard/routers-adopted/{digest}")),
        Action::Trigger,
    );
    let claim = AlertClaim {
        pk: format!("{ROUTERS_ADOPTED_PREFIX}{digest}"),
        expires_at: now + chrono::Duration::days(crate::episode::RETENTION_DAYS),
        item: ClaimItem {
            kind: AlertKind::RoutersAdopted.as_str().to_string(),
            ..Default::default()
        },
        held_reason: "already sent for these routers".into(),
        sent_reason: "sent".into(),
    };
    publish_once(&deps.alerts, &deps.state, &alert, claim, now).await
}

pub async fn overdue(
    deps: &Deps,
    ctx: &EventContext,
    e: &Episode,
    phase: &Phase,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, AwsError> {
    let ctx = &deps.named(ctx).await;
    let alert = overdue_alert(
        ctx,
        &EpisodeView::from(e),
        phase,
        now,
        deps.config.onboarding_deadline,
    );
    let a = send_once(
        deps,
        OVERDUE_PREFIX,
        e,
        now,
        AlertKind::OnboardingOverdue,
        phase.code(),
        alert,
    )
    .await?;
    Ok(vec![Effect::Alert(a)])
}

/// Onboarded: the recovery notice first (if it was alerted), then the episode record, so a
/// failed notice is retried by the next sweep.
pub async fn finish(
    deps: &Deps,
    ctx: &EventContext,
    e: &Episode,
    phase: &Phase,
    now: DateTime<Utc>,
) -> Result<Vec<Effect>, AwsError> {
    let mut acts = Vec::new();
    if e.alerted {
        let ctx = &deps.named(ctx).await;
        let alert = recovered_alert(ctx, &EpisodeView::from(e), phase, now);
        let a = send_once(
            deps,
            RECOVERED_PREFIX,
            e,
            now,
            AlertKind::OnboardingRecovered,
            phase.code(),
            alert,
        )
        .await?;
        acts.push(Effect::Alert(a));
    }
    let (record, measured) = e.finished(phase, now, deps.config.onboarding_deadline);
    let expires = now + chrono::Duration::days(crate::episode::RETENTION_DAYS);
    if deps
        .state
        .put_episode(&e.key(), &record, measured, expires)
        .await?
    {
        tracing::info!(
            instance_id = e.instance_id,
            duration_seconds = record.duration_seconds,
            measured,
            alerted = e.alerted,
            decision = "finished",
            "onboarding episode finished"
        );
        acts.push(Effect::Recorded {
            seconds: measured.then_some(record.duration_seconds),
        });
    }
    Ok(acts)
}

/// A Mist phase an episode is seen in that differs from its last recorded one: `(index into
/// the open episodes, the phase, the last one)`.
pub type PhaseChange = (usize, &'static str, Option<String>);

/// The Mist phases this sweep saw that differ from each episode's last recorded one.
/// `unknown` (no Mist settings, Mist not read) is not a phase seen; an episode without a watch
/// item (not stored yet) has nothing to compare with; an episode that finishes in this sweep
/// says so in its `episode-finished` entry (its record).
pub fn phase_changes(open: &[Episode], plan: &SweepPlan) -> Vec<PhaseChange> {
    plan.episodes
        .iter()
        .filter_map(|p| {
            let last = open.get(p.episode)?.watch.as_ref()?.mist_phase.clone();
            (p.phase.kind() != PhaseCode::Unknown
                && p.decision != Decision::Finish
                && last.as_deref() != Some(p.phase.code()))
            .then_some((p.episode, p.phase.code(), last))
        })
        .collect()
}

/// Each phase change remembered on the episode's watch item and recorded on its router's
/// timeline (a replayed sweep finds them remembered and writes nothing). Failures are logged:
/// the timeline never fails a sweep.
pub async fn phases_seen(
    deps: &Deps,
    open: &[Episode],
    changes: &[PhaseChange],
    now: DateTime<Utc>,
) {
    use futures_util::stream::{self, StreamExt};
    let changed = changes
        .iter()
        .filter_map(|(i, phase, last)| Some((open.get(*i)?, *phase, last.as_deref())));
    stream::iter(changed)
        .for_each_concurrent(8, |(e, phase, last)| async move {
            if let Err(err) = deps
                .state
                .mist_phase_seen(&e.instance_id, &e.key(), phase, last, now)
                .await
            {
                tracing::warn!(instance_id = e.instance_id, error = %err, "Mist phase change not recorded");
            }
        })
        .await;
}
