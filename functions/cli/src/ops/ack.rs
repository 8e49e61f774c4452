//! The acknowledgement engine (`ssr-onboard ack`): closes a router's current onboarding episode
//! as acknowledged — its record `episode#<instance-id>#<start>` (kind `episode-acknowledged`)
//! with the reason and the caller's identity — so the watchdog's sweep and the mist-webhook
//! see it closed (the one batch read they already make) and never page it or send a recovered
//! notice for it. That episode only: the router's next episode (after a stop/start) is a new
//! key, watched and paged as usual. An acknowledgement is not proof of onboarding, so it never
//! writes `onboarded#<instance-id>`.
//!
//! When the episode had been paged (its overdue claim is held: the sweep's page or the
//! webhook's ZTP failure), the page's resolve is published once (claim
//! `acknowledged#<key>`, through [`ssr_core::alerting::publish_once`]) with the page's
//! incident key, so no incident stays open in a paging tool. Running `ack` again on an
//! acknowledged episode sends a resolve that failed before, and nothing twice.
//!
//! The current episode: the instance's launch time, or a later start recorded by stack-watch
//! (as the sweep computes it), when the instance is in this account and region; else (an
//! organization hub acknowledging a member account's router) the episode listed in the
//! latest sweep's overdue list.

use aws_config::SdkConfig;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use ssr_core::alerting::{publish_once, AlertClaim, AlertOutcome};
use ssr_core::aws::state::items::{Acknowledgement, ClaimItem, ACKNOWLEDGED_PREFIX};
use ssr_core::aws::AwsError;
use ssr_core::episode::RETENTION_DAYS;
use ssr_core::label;
use ssr_core::render::ack::{acknowledged_alert, ACKNOWLEDGED_PHASE};
use ssr_core::render::{AlertKind, EventContext};
use ssr_core::Deps;

pub const SCHEMA: &str = "ssr-onboard/ack/v1";

/// What to acknowledge.
#[derive(Debug, Clone)]
pub struct AckOptions {
    pub instance_id: String,
    /// `--reason`.
    pub reason: Option<String>,
}

/// Who is acknowledging: the caller's ARN and account (sts:GetCallerIdentity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub arn: String,
    pub account: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckStatus {
    /// This run closed the episode as acknowledged.
    Acknowledged,
    /// The episode was acknowledged before (this run wrote nothing new; a resolve that failed
    /// before was sent now, if any).
    AlreadyAcknowledged,
    /// The episode had already finished (onboarded, or closed by the tag): nothing to do.
    AlreadyFinished,
}

/// What `ack` did.
#[derive(Debug, Serialize)]
pub struct AckReport {
    pub schema: &'static str,
    pub status: AckStatus,
    pub instance_id: String,
    /// The episode's key in the state table (`<instance-id>#<start-epoch>`).
    pub episode: String,
    pub started_at: DateTime<Utc>,
    /// How the episode had finished (`AlreadyFinished`): `mist` or `tag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_by: Option<String>,
    /// The acknowledgement recorded (this run's, or the earlier one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledgement: Option<Acknowledgement>,
    /// The page's resolve (only for an episode that had been paged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve: Option<AlertOutcome>,
}

#[derive(Debug, thiserror::Error)]
pub enum AckError {
    #[error("{0} is not an EC2 instance id (i- and 8 or 17 hex digits)")]
    BadInstanceId(String),
    #[error("instance {0} is not in this account and region, and no sweep lists it as overdue (check --region / --profile; an organization hub acknowledges a member's router once it is overdue)")]
    NotFound(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

/// The caller's identity (sts:GetCallerIdentity, which needs no permission).
pub async fn caller(sdk: &SdkConfig) -> Result<Caller, AwsError> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
    let arn = out.arn().map(String::from).ok_or_else(|| {
        AwsError::new(
            "sts:GetCallerIdentity",
            "MissingArn",
            "the answer names no caller",
        )
    })?;
    Ok(Caller {
        arn,
        account: out.account().map(String::from),
    })
}

/// The episode being acknowledged, as found.
struct Current {
    started_at: DateTime<Utc>,
    tags: std::collections::BTreeMap<String, String>,
    account: Option<String>,
    region: Option<String>,
}

/// The instance's current episode: from EC2 (this account and region), else from the latest
/// overdue list.
async fn current_episode(deps: &Deps, instance_id: &str) -> Result<Current, AckError> {
    if let Some(facts) = deps.ec2.describe_instance(instance_id).await? {
        // Whole seconds, as the sweep keys episodes.
        let launched = facts
            .launch_time
            .and_then(|t| DateTime::from_timestamp(t.timestamp(), 0));
        let recorded = deps
            .state
            .onboarding_starts(&[instance_id.to_string()])
            .await?
            .remove(instance_id);
        let started_at = match (launched, recorded) {
            (Some(l), Some(r)) => l.max(r),
            (l, r) => l
                .or(r)
                .ok_or_else(|| AckError::NotFound(instance_id.into()))?,
        };
        return Ok(Current {
            started_at,
            tags: facts.tags,
            account: deps.account.clone(),
            region: deps.region.clone(),
        });
    }
    let listed = deps
        .state
        .overdue_now()
        .await?
        .and_then(|o| o.routers.into_iter().find(|r| r.instance_id == instance_id))
        .ok_or_else(|| AckError::NotFound(instance_id.into()))?;
    Ok(Current {
        started_at: listed.started_at,
        tags: std::collections::BTreeMap::from([("Name".to_string(), listed.router_name)]),
        account: listed.account,
        region: listed.region,
    })
}

/// Acknowledges `options.instance_id`'s current episode as `caller` at `now`.
pub async fn run(
    deps: &Deps,
    options: &AckOptions,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<AckReport, AckError> {
    let id = options.instance_id.trim();
    if !ssr_core::snapshot::is_instance_id(id) {
        return Err(AckError::BadInstanceId(id.to_string()));
    }
    let current = current_episode(deps, id).await?;
    let key = format!("{id}#{}", current.started_at.timestamp());
    let mut report = AckReport {
        schema: SCHEMA,
        status: AckStatus::Acknowledged,
        instance_id: id.to_string(),
        episode: key.clone(),
        started_at: current.started_at,
        finished_by: None,
        acknowledgement: None,
        resolve: None,
    };
    let ack = match deps.state.closed_episode(&key).await? {
        Some(Ok(earlier)) => {
            report.status = AckStatus::AlreadyAcknowledged;
            earlier
        }
        Some(Err(by)) => {
            report.status = AckStatus::AlreadyFinished;
            report.finished_by = by;
            return Ok(report);
        }
        None => {
            let (mut states, _) = deps
                .state
                .episode_states(std::slice::from_ref(&key), now, false)
                .await?;
            let state = states.remove(&key).unwrap_or_default();
            let onboarding_name = state.watch.as_ref().and_then(|w| w.router_name.as_deref());
            let ack = Acknowledgement {
                instance_id: id.to_string(),
                router_name: Some(label::router_label(onboarding_name, &current.tags, id))
                    .filter(|l| *l != id)
                    .map(String::from),
                started_at: current.started_at,
                acknowledged_at: now,
                reason: options
                    .reason
                    .as_deref()
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(String::from),
                acknowledged_by: caller.arn.clone(),
                alerted: state.alerted,
                account: current.account.clone(),
                region: current.region.clone(),
            };
            let expires = now + Duration::days(RETENTION_DAYS);
            if !deps.state.put_acknowledgement(&key, &ack, expires).await? {
                // Closed meanwhile (a sweep or the webhook finished it, or another ack).
                return match deps.state.closed_episode(&key).await? {
                    Some(Ok(earlier)) => {
                        report.status = AckStatus::AlreadyAcknowledged;
                        resolve(deps, report, earlier, caller, now).await
                    }
                    Some(Err(by)) => {
                        report.status = AckStatus::AlreadyFinished;
                        report.finished_by = by;
                        Ok(report)
                    }
                    None => Err(AckError::Aws(AwsError::new(
                        "PutItem",
                        "NoTable",
                        "the acknowledgement was not written (no state table)",
                    ))),
                };
            }
            tracing::info!(
                instance_id = id,
                episode = key,
                alerted = ack.alerted,
                decision = "acknowledged",
                "onboarding episode acknowledged"
            );
            ack
        }
    };
    resolve(deps, report, ack, caller, now).await
}

/// Sends the paged episode's resolve once (claim `acknowledged#<key>`); nothing for an
/// episode that was never paged.
async fn resolve(
    deps: &Deps,
    mut report: AckReport,
    ack: Acknowledgement,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<AckReport, AckError> {
    if ack.alerted {
        let member = ack.account.is_some() && ack.account != caller.account;
        let ctx = EventContext {
            trigger: "ssr-onboard ack".into(),
            region: ack.region.clone().or_else(|| deps.region.clone()),
            account: ack.account.clone().or_else(|| caller.account.clone()),
            member,
            ..Default::default()
        };
        let alert = acknowledged_alert(&ctx, &ack);
        let once = AlertClaim {
            pk: format!("{ACKNOWLEDGED_PREFIX}{}", report.episode),
            expires_at: ack.started_at + Duration::days(RETENTION_DAYS),
            item: ClaimItem {
                kind: AlertKind::OnboardingAcknowledged.as_str().to_string(),
                instance_id: Some(ack.instance_id.clone()),
                router_name: ack.router_name.clone(),
                started_at: Some(ack.started_at.timestamp()),
                phase: Some(ACKNOWLEDGED_PHASE.to_string()),
                account: ack.account.clone(),
                region: ack.region.clone(),
                ..Default::default()
            },
            held_reason: "the resolve was already sent for this episode".into(),
            sent_reason: "sent".into(),
        };
        report.resolve = Some(publish_once(&deps.alerts, &deps.state, &alert, once, now).await?);
    }
    report.acknowledgement = Some(ack);
    Ok(report)
}

/// The report for a person.
pub fn render_text(r: &AckReport) -> String {
    let mut out = String::new();
    let started = r.started_at.format("%Y-%m-%d %H:%M:%S UTC");
    match r.status {
        AckStatus::Acknowledged => out.push_str(&format!(
            "Acknowledged the onboarding episode of {} started {started}: no page and no recovered notice for it.\n",
            r.instance_id
        )),
        AckStatus::AlreadyAcknowledged => out.push_str(&format!(
            "The onboarding episode of {} started {started} was already acknowledged.\n",
            r.instance_id
        )),
        AckStatus::AlreadyFinished => out.push_str(&format!(
            "The onboarding episode of {} started {started} had already finished ({}): nothing to acknowledge.\n",
            r.instance_id,
            r.finished_by.as_deref().unwrap_or("closed")
        )),
    }
    if let Some(a) = &r.acknowledgement {
        out.push_str(&format!(
            "  By:     {}\n  At:     {}\n  Reason: {}\n",
            a.acknowledged_by,
            a.acknowledged_at.format("%Y-%m-%d %H:%M:%S UTC"),
            a.reason.as_deref().unwrap_or("(none given)")
        ));
    }
    match &r.resolve {
        Some(o) if o.sent => out.push_str("  The page's resolve was sent.\n"),
        Some(o) => out.push_str(&format!("  The page's resolve: {}.\n", o.reason)),
        None if r.acknowledgement.as_ref().is_some_and(|a| !a.alerted) => {
            out.push_str("  It had not been paged: nothing to resolve.\n")
        }
        None => {}
    }
    if r.status != AckStatus::AlreadyFinished {
        out.push_str(
            "That episode only: the router's next episode (after a stop/start) is watched and paged as usual.\n",
        );
    }
    out
}
