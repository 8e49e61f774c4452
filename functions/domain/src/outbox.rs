//! The alert outbox's rules: an alert's claim is a **lease**, and the claim item carries the
//! rendered alert, so whoever finds the lease over (a Lambda retry, the every-minute sweep)
//! delivers the stored alert. Pure: the state adapter reads and writes, these decide.
//!
//! Life of a claim item (`status`):
//! - written `pending` with the rendered alert and `lease_until` = now + [`LEASE_SECONDS`];
//! - each target that accepted the alert is added to `delivered`; when every target has,
//!   the claim is confirmed `sent` (it leaves the outbox index);
//! - on a known failure the lease is given back (`lease_until` = now): the Lambda retry, or the
//!   sweep when no retry comes, takes it over and delivers only the missing targets;
//! - a process that dies holding the lease leaves it to run out; its retry (about a minute
//!   later) or the sweep takes it over.
//!
//! Claims written before the outbox existed have no `status`: they read as sent.

use serde::{Deserialize, Serialize};

/// How long a claim's holder has to deliver it. Lambda retries a failed asynchronous invocation
/// about one minute after the failure, whatever the function's timeout, so a lease of 45 s is
/// over before the first retry of an invocation that died at once after claiming.
pub const LEASE_SECONDS: i64 = 45;

/// `status` of a claim item.
pub const STATUS_PENDING: &str = "pending";
pub const STATUS_SENT: &str = "sent";

/// Where an alert is delivered. The claim is `sent` only when every configured target
/// accepted it; a partial delivery resumes only the missing targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The alert topic (`ALERT_TOPIC_ARN`).
    Sns,
    /// The alert event bus (`ALERT_EVENT_BUS`).
    EventBus,
}

impl Target {
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Sns => "sns",
            Target::EventBus => "event-bus",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        [Target::Sns, Target::EventBus]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

/// What a claim item says, as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClaimSeen {
    pub expires_at: Option<i64>,
    pub status: Option<String>,
    pub lease_until: Option<i64>,
}

/// What an invocation that wants to send an alert finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    /// No live claim: claim it.
    Free,
    /// Sent (or written before the outbox: no status).
    Sent,
    /// Pending and its holder's lease runs until then: leave it to the holder (neither send
    /// nor fail: a duplicate delivery must not raise the error alarm).
    Leased { until: i64 },
    /// Pending and the lease is over: take it over and deliver the stored alert.
    LeaseOver,
}

/// Classifies an existing claim at `now` (epoch seconds). TTL deletion is lazy, so an expired
/// item counts as absent.
pub fn found(now: i64, seen: Option<&ClaimSeen>) -> Found {
    let Some(seen) = seen else {
        return Found::Free;
    };
    if seen.expires_at.is_some_and(|e| e < now) {
        return Found::Free;
    }
    match seen.status.as_deref() {
        Some(STATUS_PENDING) => match seen.lease_until {
            Some(until) if until >= now => Found::Leased { until },
            _ => Found::LeaseOver,
        },
        // `sent`, or a claim written before the outbox (no status): it was sent.
        _ => Found::Sent,
    }
}

/// The configured targets not yet in `delivered`, in delivery order.
pub fn missing(configured: &[Target], delivered: &[String]) -> Vec<Target> {
    configured
        .iter()
        .copied()
        .filter(|t| !delivered.iter().any(|d| d == t.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: Option<&str>, lease: Option<i64>, expires: Option<i64>) -> ClaimSeen {
        ClaimSeen {
            expires_at: expires,
            status: status.map(String::from),
            lease_until: lease,
        }
    }

    #[test]
    fn when_a_claim_has_no_status_then_it_reads_as_sent() {
        assert_eq!(found(100, Some(&seen(None, None, Some(200)))), Found::Sent);
        assert_eq!(found(100, Some(&seen(None, None, None))), Found::Sent);
    }

    #[test]
    fn when_a_pending_claim_is_within_its_lease_then_it_is_left_to_its_holder() {
        assert_eq!(
            found(100, Some(&seen(Some("pending"), Some(100), Some(999)))),
            Found::Leased { until: 100 }
        );
        assert_eq!(
            found(101, Some(&seen(Some("pending"), Some(100), Some(999)))),
            Found::LeaseOver
        );
        assert_eq!(
            found(101, Some(&seen(Some("pending"), None, Some(999)))),
            Found::LeaseOver
        );
    }

    #[test]
    fn when_the_claim_expired_or_is_absent_then_it_is_free() {
        assert_eq!(found(100, None), Found::Free);
        assert_eq!(
            found(100, Some(&seen(Some("sent"), None, Some(99)))),
            Found::Free
        );
        assert_eq!(
            found(100, Some(&seen(Some("pending"), Some(500), Some(99)))),
            Found::Free
        );
        assert_eq!(
            found(100, Some(&seen(Some("sent"), None, Some(100)))),
            Found::Sent
        );
    }

    #[test]
    fn when_one_target_was_delivered_then_only_the_other_is_missing() {
        let both = [Target::Sns, Target::EventBus];
        assert_eq!(missing(&both, &["sns".into()]), vec![Target::EventBus]);
        assert_eq!(missing(&both, &[]), both.to_vec());
        assert!(missing(&[Target::Sns], &["sns".into(), "event-bus".into()]).is_empty());
        assert_eq!(Target::parse("event-bus"), Some(Target::EventBus));
    }
}
