//! Exactly-once delivery, written once for every alert the functions send, that survives the
//! process dying mid-invocation: the claim is a **lease** on an **outbox** entry that carries the
//! rendered alert ([`crate::outbox`] has the rules, [`crate::aws::state::outbox`] the item).
//!
//! claim (pending, lease 45 s, alert stored) → deliver to every target (the topic, then the
//! alert event bus when `ALERT_EVENT_BUS` is set) → confirm `sent`.
//! - A known failure gives the lease back (the targets that accepted it are recorded) and fails
//!   the invocation, so Lambda retries; the retry takes the lease over and delivers the stored
//!   alert to the missing targets only. When no retry comes, the watchdog's every-minute sweep
//!   does ([`deliver_due`]).
//! - A process that dies holding the lease: the lease runs out before Lambda's first retry
//!   (about a minute after the failure), which takes it over; or the sweep does.
//! - An invocation that finds a pending claim within its lease leaves it to its holder: it
//!   neither sends nor fails (a duplicate event must not raise the error alarm).
//! - The cost: a process that dies after the topic accepted the alert and before the confirm
//!   makes its taker deliver it once more: at most one duplicate, never a lost alert.
//!
//! One policy for every alert when something is missing:
//! - no `ALERT_TOPIC_ARN`: the alert is rendered (the outcome shows its subject), not sent;
//! - no `STATE_TABLE`: nothing can be de-duplicated, so the alert is sent anyway (a page twice
//!   beats no page) and the outcome says `deduplicated: false`. Functions whose alerts repeat
//!   every run without a table (the watchdog) refuse to start without one instead
//!   ([`crate::config::Config::require_state_table`]).
//!
//! With `CHAT_TOPIC_ARN`, an alert delivered is also published to the chat topic as an AWS
//! Chatbot custom notification ([`crate::render::chat`]). The chat copy is a courtesy: its
//! failure is logged and reported in [`AlertOutcome::chat`], and never un-sends, re-sends or
//! fails the alert.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aws::sns::Alerts;
use crate::aws::state::incidents::{FindingsScope, INCIDENT_RETENTION_DAYS};
use crate::aws::state::items::ClaimItem;
use crate::aws::state::outbox::{AlertClaimed, Held};
use crate::aws::state::StateStore;
use crate::aws::AwsError;
use crate::outbox::{missing, Target};
use crate::render::{Alert, AlertKind, IncidentKey};

/// `resolve#<incident-key>#<opened-at>`: the one resolve of an incident's opening.
pub const RESOLVE_PREFIX: &str = "resolve#";

/// What happened to one alert.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertOutcome {
    pub sent: bool,
    /// An earlier or concurrent invocation already sent it (its claim is held).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_sent: bool,
    /// Another invocation holds its lease and is delivering it (or the sweep will).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub in_flight: bool,
    /// Delivered from the outbox after an earlier invocation's lease ran out.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub taken_over: bool,
    /// `false` when no state table was there to de-duplicate it.
    #[serde(skip_serializing_if = "Clone::clone")]
    pub deduplicated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// `trigger` or `resolve` (the alert's `action` attribute).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<&'static str>,
    pub reason: String,
    /// The chat copy of a sent alert (only with `CHAT_TOPIC_ARN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat: Option<ChatDelivery>,
}

/// What happened to the chat copy of an alert.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ChatDelivery {
    pub sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Why it was not sent (the alert itself was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl AlertOutcome {
    /// Nothing to alert (the reason says why).
    pub fn nothing(reason: impl Into<String>) -> Self {
        AlertOutcome {
            deduplicated: true,
            reason: reason.into(),
            ..Default::default()
        }
    }
}

/// The claim that makes an alert exactly-once: its key, how long it holds, what it records.
#[derive(Clone, Debug)]
pub struct AlertClaim {
    pub pk: String,
    pub expires_at: DateTime<Utc>,
    pub item: ClaimItem,
    /// The outcome's reason when the claim is already held.
    pub held_reason: String,
    /// The outcome's reason when the alert is sent.
    pub sent_reason: String,
}

/// Claim → deliver → confirm. `Err` only when the claim or a delivery failed (the lease is
/// then given back, so the retried event or the sweep delivers it).
pub async fn publish_once(
    alerts: &Alerts,
    state: &StateStore,
    alert: &Alert,
    once: AlertClaim,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    claim_and_deliver(alerts, state, alert, once, now, false).await
}

/// [`publish_once`]; with `opens_incident`, the claim's winner records the alert's incident open
/// before delivering it (a replay that finds the claim writes nothing).
async fn claim_and_deliver(
    alerts: &Alerts,
    state: &StateStore,
    alert: &Alert,
    once: AlertClaim,
    now: DateTime<Utc>,
    opens_incident: bool,
) -> Result<AlertOutcome, AwsError> {
    let mut out = AlertOutcome {
        subject: Some(alert.subject.clone()),
        action: Some(alert.action().as_str()),
        deduplicated: true,
        ..Default::default()
    };
    if alerts.topic_arn().is_none() {
        out.reason = "ALERT_TOPIC_ARN is not set: alert rendered, not sent".into();
        return Ok(out);
    }
    // A guard-findings incident is listed for the sweep's re-check, with its router's scope.
    let listed = match (alert.kind(), &once.item.instance_id) {
        (Some(AlertKind::GuardFindings), Some(instance_id)) => Some(FindingsScope {
            instance_id: instance_id.clone(),
            account: once.item.account.clone(),
            region: once.item.region.clone(),
        }),
        _ => None,
    };
    let held = match state
        .claim_alert(&once.pk, now, once.expires_at, once.item, alert)
        .await?
    {
        AlertClaimed::Won(held) => {
            if let (true, false, Some(key)) =
                (opens_incident, held.taken_over, held.alert.incident_key())
            {
                let kind = held.alert.kind().map_or("alert", AlertKind::as_str);
                state
                    .open_incident(&key, kind, now, listed.as_ref())
                    .await?;
            }
            held
        }
        AlertClaimed::Sent => {
            tracing::info!(decision = "dedup", claim = %once.pk, "alert already sent");
            out.already_sent = true;
            out.reason = once.held_reason;
            return Ok(out);
        }
        AlertClaimed::Leased { until } => {
            tracing::info!(decision = "in-flight", claim = %once.pk, lease_until = %until, "alert being delivered by another invocation");
            out.in_flight = true;
            out.reason = format!(
                "another invocation is delivering this alert (its lease runs until {}; after that a retry or the sweep delivers it)",
                until.to_rfc3339()
            );
            return Ok(out);
        }
        AlertClaimed::NoTable => {
            tracing::warn!("STATE_TABLE is not set: this alert is not de-duplicated");
            out.deduplicated = false;
            Held {
                pk: once.pk.clone(),
                alert: alert.clone(),
                delivered: Vec::new(),
                taken_over: false,
            }
        }
    };
    out.taken_over = held.taken_over;
    out.message_id = deliver(alerts, state, &held, now).await?;
    out.sent = true;
    out.reason = once.sent_reason;
    out.subject = Some(held.alert.subject.clone());
    out.chat = publish_chat(alerts, &held.alert).await;
    Ok(out)
}

/// A trigger whose incident a later run resolves (guard findings, a stack failure): whoever
/// wins its claim records the incident open before delivering it (a resolve can then only
/// follow a trigger that is claimed, and the outbox delivers every claimed alert), then the
/// trigger is sent once.
pub async fn trigger_once(
    alerts: &Alerts,
    state: &StateStore,
    alert: &Alert,
    once: AlertClaim,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    claim_and_deliver(alerts, state, alert, once, now, true).await
}

/// Resolves the incident `key` if a trigger opened it: the resolve `render(opened_at)` is sent
/// once per opening (claim `resolve#<key>#<opened-at>`), then the incident is forgotten.
/// `Ok(None)`: no open incident (nothing was alerted, or it is already resolved).
pub async fn resolve_once(
    alerts: &Alerts,
    state: &StateStore,
    key: &IncidentKey,
    now: DateTime<Utc>,
    render: impl FnOnce(DateTime<Utc>) -> Alert,
) -> Result<Option<AlertOutcome>, AwsError> {
    if alerts.topic_arn().is_none() {
        return Ok(None);
    }
    let Some(open) = state.open_incident_of(key).await? else {
        return Ok(None);
    };
    let alert = render(open.opened());
    let once = AlertClaim {
        pk: format!("{RESOLVE_PREFIX}{key}#{}", open.opened_at),
        expires_at: now + chrono::Duration::days(INCIDENT_RETENTION_DAYS),
        item: ClaimItem {
            kind: format!(
                "resolve:{}",
                alert.kind().map_or("alert", AlertKind::as_str)
            ),
            ..Default::default()
        },
        held_reason: "this incident's resolve was already sent".into(),
        sent_reason: "the problem alerted earlier is gone: incident resolved".into(),
    };
    let out = publish_once(alerts, state, &alert, once, now).await?;
    if out.sent || out.already_sent {
        state.close_incident(key, open.opened_at).await?;
    }
    Ok(Some(out))
}

/// Delivers `held` to the targets that have not accepted it yet, then confirms it sent. A
/// failed target gives the lease back (recording the targets that did accept) and fails.
/// Returns the topic's message id when this call published to it.
async fn deliver(
    alerts: &Alerts,
    state: &StateStore,
    held: &Held,
    now: DateTime<Utc>,
) -> Result<Option<String>, AwsError> {
    let mut delivered: Vec<Target> = held
        .delivered
        .iter()
        .filter_map(|d| Target::parse(d))
        .collect();
    let mut message_id = None;
    for target in missing(&alerts.targets(), &held.delivered) {
        let result = match target {
            Target::Sns => alerts.publish(&held.alert).await.map(|id| message_id = id),
            Target::EventBus => alerts.put_event(&held.alert).await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, target = target.as_str(), claim = %held.pk, "alert delivery failed; lease given back");
            if let Err(release) = state.alert_lease_released(&held.pk, &delivered, now).await {
                tracing::warn!(error = %release, claim = %held.pk, "could not give the alert's lease back; it runs out by itself");
            }
            return Err(e);
        }
        delivered.push(target);
    }
    tracing::info!(decision = "alerted", subject = %held.alert.subject, action = held.alert.action().as_str(), "alert sent");
    // The router's timeline learns of it beside the confirm (no extra round trip; never fails).
    let timeline = async {
        if let Some((id, entries)) = crate::timeline::alert_entries(now, &held.alert) {
            state.record_timeline(&id, &entries, now).await;
        }
    };
    let (confirmed, ()) = tokio::join!(state.alert_sent(&held.pk), timeline);
    if let Err(e) = confirmed {
        // Delivered; only the confirm is missing: after the lease the sweep delivers it once
        // more (the documented at-most-one duplicate).
        tracing::warn!(error = %e, claim = %held.pk, "alert sent but not confirmed; it may be delivered once more");
    }
    Ok(message_id)
}

/// What the sweep's outbox step did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct OutboxDelivery {
    /// Pending alerts whose lease ran out, delivered now (their subjects).
    pub delivered: Vec<String>,
    /// Those still failing (their claims; the next sweep tries again).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

impl OutboxDelivery {
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty() && self.failed.is_empty()
    }
}

/// The sweep's safety net: every pending alert whose lease ran out (no retry came, or every
/// retry failed) is taken over and delivered. A bounded batch per call.
pub async fn deliver_due(
    alerts: &Alerts,
    state: &StateStore,
    now: DateTime<Utc>,
) -> Result<OutboxDelivery, AwsError> {
    let mut out = OutboxDelivery::default();
    if alerts.topic_arn().is_none() {
        return Ok(out);
    }
    for held in state.due_alerts(now).await? {
        match deliver(alerts, state, &held, now).await {
            Ok(_) => {
                publish_chat(alerts, &held.alert).await;
                out.delivered.push(held.alert.subject.clone());
            }
            Err(e) => {
                tracing::warn!(error = %e, claim = %held.pk, "pending alert still not delivered");
                out.failed.push(held.pk.clone());
            }
        }
    }
    Ok(out)
}

/// The chat copy of a sent alert; `None` without a chat topic. Never an error: the alert is sent.
async fn publish_chat(alerts: &Alerts, alert: &Alert) -> Option<ChatDelivery> {
    alerts.chat_topic_arn()?;
    Some(match alerts.publish_chat(alert).await {
        Ok(message_id) => {
            tracing::info!(decision = "chat-sent", subject = %alert.subject, "chat notification sent");
            ChatDelivery {
                sent: true,
                message_id,
                error: None,
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, subject = %alert.subject, "chat notification not sent; the alert was");
            ChatDelivery {
                sent: false,
                message_id: None,
                error: Some(e.to_string()),
            }
        }
    })
}

#[cfg(test)]
mod tests;
