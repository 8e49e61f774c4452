//! Exactly-once publishing, written once for every alert the functions send: claim the alert's
//! key in the state table (a conditional write), publish, and give the claim back when the
//! publish fails so a retry can send it.
//!
//! One policy for every alert when something is missing:
//! - no `ALERT_TOPIC_ARN`: the alert is rendered (the outcome shows its subject), not sent;
//! - no `STATE_TABLE`: nothing can be de-duplicated, so the alert is sent anyway (a page twice
//!   beats no page) and the outcome says `deduplicated: false`. Functions whose alerts repeat
//!   every run without a table (the watchdog) refuse to start without one instead
//!   ([`crate::config::Config::require_state_table`]).
//!
//! With `CHAT_TOPIC_ARN`, an alert that was sent is also published to the chat topic as an AWS
//! Chatbot custom notification ([`crate::render::chat`]). The chat copy is a courtesy: its
//! failure is logged and reported in [`AlertOutcome::chat`], and never un-sends, re-sends or
//! fails the alert (its claim stays, so no retry pages twice).

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::aws::sns::Alerts;
use crate::aws::state::items::ClaimItem;
use crate::aws::state::{Claim, StateStore};
use crate::aws::AwsError;
use crate::render::Alert;

/// What happened to one alert.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AlertOutcome {
    pub sent: bool,
    /// An earlier or concurrent invocation already sent it (its claim is held).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub already_sent: bool,
    /// `false` when no state table was there to de-duplicate it.
    #[serde(skip_serializing_if = "Clone::clone")]
    pub deduplicated: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
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

/// Claim → publish → release on failure. `Err` only when the claim or the publish failed (the
/// claim is then given back, so the retried event or the next sweep sends it).
pub async fn publish_once(
    alerts: &Alerts,
    state: &StateStore,
    alert: &Alert,
    once: AlertClaim,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    let mut out = AlertOutcome {
        subject: Some(alert.subject.clone()),
        deduplicated: true,
        ..Default::default()
    };
    if alerts.topic_arn().is_none() {
        out.reason = "ALERT_TOPIC_ARN is not set: alert rendered, not sent".into();
        return Ok(out);
    }
    match state
        .claim(&once.pk, now, once.expires_at, once.item)
        .await?
    {
        Claim::Won => {}
        Claim::Held => {
            tracing::info!(decision = "dedup", claim = %once.pk, "alert already sent");
            out.already_sent = true;
            out.reason = once.held_reason;
            return Ok(out);
        }
        Claim::NoTable => {
            tracing::warn!("STATE_TABLE is not set: this alert is not de-duplicated");
            out.deduplicated = false;
        }
    }
    match alerts.publish(alert).await {
        Ok(message_id) => {
            tracing::info!(decision = "alerted", subject = %alert.subject, "alert sent");
            out.sent = true;
            out.message_id = message_id;
            out.reason = once.sent_reason;
            out.chat = publish_chat(alerts, alert).await;
            Ok(out)
        }
        Err(e) => {
            if out.deduplicated {
                if let Err(release) = state.release(&once.pk).await {
                    tracing::warn!(error = %release, claim = %once.pk, "could not release the alert claim");
                }
            }
            Err(e)
        }
    }
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
