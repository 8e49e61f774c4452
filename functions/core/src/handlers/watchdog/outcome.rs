//! What one sweep returns (the Lambda's result, the CLI's output) and how it fails.

use crate::alerting::OutboxDelivery;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alerting::AlertOutcome;
use crate::aws::accounts::Scope;
use crate::aws::AwsError;
use crate::config::VersionCheck;
use crate::episode::{Decision, PhaseCode};
use crate::handlers::EventError;
use crate::metrics::{
    Measured, Metrics, Unit, ALERTS_SENT, MEMBERS_NOT_ENROLLED, MEMBERS_UNREACHABLE,
    MIST_READ_FAILURES, ONBOARDING_SECONDS, ROUTERS_OVERDUE,
};
use crate::render::AlertKind;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why a sweep failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Some alerts or records could not be written: the sweep fails so the error is visible
    /// (Lambda errors metric, retry); the next sweep retries them anyway.
    #[error("{failed} of the sweep's writes failed (first: {first}); the next sweep retries them")]
    Incomplete {
        failed: usize,
        first: String,
        outcome: Box<SweepOutcome>,
    },
}

impl SweepError {
    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            SweepError::Event(_) => "MalformedEvent",
            SweepError::Aws(_) => "AwsError",
            SweepError::Incomplete { .. } => "SweepIncomplete",
        }
    }
}

/// The JSON summary of one sweep. No secrets.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SweepOutcome {
    pub now: Option<DateTime<Utc>>,
    pub event_id: Option<String>,
    pub running_instances: usize,
    pub routers: usize,
    /// Episodes not finished before this sweep.
    pub open_episodes: usize,
    /// Episodes whose onboarding config was read this sweep.
    pub initialised: usize,
    /// New episodes left for a later sweep ([`super::INIT_BUDGET`]).
    pub deferred_init: usize,
    pub mist: MistOutcome,
    pub episodes: Vec<EpisodeOutcome>,
    pub alerts: Vec<EpisodeAlert>,
    /// Episodes finished (recorded) this sweep.
    pub finished: usize,
    /// Episodes adopted in this sweep (first seen already past their deadline) and not
    /// onboarded; with `ADOPT_EXISTING=summary`, `adopted_alert` lists them.
    #[serde(skip_serializing_if = "is_zero")]
    pub adopted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adopted_alert: Option<AlertOutcome>,
    /// How long each episode finished this sweep took to onboard, in seconds (only those whose
    /// duration is measured: see [`crate::episode::Episode::finished`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub onboarding_seconds: Vec<i64>,
    pub overdue_now: usize,
    /// Alerts delivered from the outbox this sweep (their lease ran out unconfirmed).
    #[serde(skip_serializing_if = "OutboxDelivery::is_empty")]
    pub outbox: OutboxDelivery,
    /// Each account and region swept (an organization deployment: the hub's own and every
    /// member's), with its router count; an unreachable one with its error and alert.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberOutcome>,
    /// Routers with an open guard-findings incident re-checked this sweep (every few
    /// minutes, [`super::recheck`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rechecked: Vec<super::recheck::Recheck>,
    pub errors: Vec<String>,
}

/// One account and region of the sweep.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MemberOutcome {
    pub account: Option<String>,
    pub region: Option<String>,
    pub status: ScopeStatus,
    /// Routers running there.
    pub routers: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `member-unreachable` alert, or for a `not-enrolled` scope the `member-not-enrolled`
    /// notice (each once per account per UTC day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertOutcome>,
}

/// Whether one account and region of the sweep could be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScopeStatus {
    #[default]
    Ok,
    /// The member role could not be assumed, or EC2 refused the reads, in an account read
    /// before (or the hub's own): paged (`member-unreachable`).
    Unreachable,
    /// As unreachable, but no scope of the account has ever been read: the member stack was
    /// never deployed there (or never trusted this hub). An info notice, not a page.
    NotEnrolled,
}

impl ScopeStatus {
    /// The JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeStatus::Ok => "ok",
            ScopeStatus::Unreachable => "unreachable",
            ScopeStatus::NotEnrolled => "not-enrolled",
        }
    }
}

/// What became of the sweep's Mist read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MistStatus {
    /// No open episode: Mist was not read.
    #[default]
    NotNeeded,
    /// No Mist settings: phases are `unknown`.
    NotConfigured,
    /// Mist was read.
    Ok,
    /// Mist could not be read (unreachable, refused, malformed).
    Unavailable,
}

impl MistStatus {
    /// The JSON value (logs use it too).
    pub fn as_str(self) -> &'static str {
        match self {
            MistStatus::NotNeeded => "not-needed",
            MistStatus::NotConfigured => "not-configured",
            MistStatus::Ok => "ok",
            MistStatus::Unavailable => "unavailable",
        }
    }
}

impl MemberOutcome {
    /// A scope's status and router count, with no error or alert.
    pub fn of(scope: &Scope, status: ScopeStatus, routers: usize) -> Self {
        MemberOutcome {
            account: scope.account.clone(),
            region: scope.region.clone(),
            status,
            routers,
            error: None,
            alert: None,
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MistOutcome {
    pub status: MistStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Inventory devices read.
    pub devices: usize,
    /// Gateway stats entries read (0 with `MIST_VERSION_CHECK=off`).
    pub stats: usize,
    pub requests: usize,
    /// `MIST_VERSION_CHECK`.
    pub version_check: VersionCheck,
    /// Mist refused the token: the operational alert (`kind` `mist-token-rejected`, once a day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_alert: Option<AlertOutcome>,
}

#[derive(Clone, Debug, Serialize)]
pub struct EpisodeOutcome {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub router_name: String,
    pub started_at: DateTime<Utc>,
    pub elapsed_minutes: i64,
    pub phase: PhaseCode,
    /// "version not reported" when counted as onboarded without a version from Mist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub decision: Decision,
}

/// One alert of a sweep: which episode, which kind, and what happened to it.
#[derive(Clone, Debug, Serialize)]
pub struct EpisodeAlert {
    pub instance_id: String,
    pub kind: AlertKind,
    #[serde(flatten)]
    pub delivery: AlertOutcome,
}

/// One sweep: alerts sent, routers overdue now, the durations of the episodes it finished, and
/// whether the Mist read it needed failed.
impl Measured for SweepOutcome {
    fn metrics(&self) -> Metrics {
        let o = self;
        let mut m = Metrics::default();
        m.count(
            ALERTS_SENT,
            o.alerts.iter().filter(|a| a.delivery.sent).count()
                + usize::from(o.adopted_alert.as_ref().is_some_and(|a| a.sent))
                + o.rechecked
                    .iter()
                    .filter(|r| r.resolve.as_ref().is_some_and(|a| a.sent))
                    .count(),
        );
        m.count(ROUTERS_OVERDUE, o.overdue_now);
        if !o.members.is_empty() {
            // An organization sweep: how many scopes were unreachable or never enrolled, and the
            // overdue routers per account (dimension set [Function, Account]) so a dashboard can
            // show where.
            let with =
                |status: ScopeStatus| o.members.iter().filter(|s| s.status == status).count();
            m.count(MEMBERS_UNREACHABLE, with(ScopeStatus::Unreachable));
            m.count(MEMBERS_NOT_ENROLLED, with(ScopeStatus::NotEnrolled));
            let mut accounts: Vec<&str> = o
                .members
                .iter()
                .filter_map(|s| s.account.as_deref())
                .collect();
            accounts.sort_unstable();
            accounts.dedup();
            for a in accounts {
                let n = o
                    .episodes
                    .iter()
                    .filter(|e| e.account.as_deref() == Some(a))
                    .filter(|e| matches!(e.decision, Decision::Overdue | Decision::StillOverdue))
                    .count();
                m.count_by(ROUTERS_OVERDUE, &[("Account", a)], n);
            }
        }
        let seconds: Vec<f64> = o.onboarding_seconds.iter().map(|s| *s as f64).collect();
        m.values(ONBOARDING_SECONDS, Unit::Seconds, &seconds);
        match o.mist.status {
            MistStatus::Ok => {
                m.count(MIST_READ_FAILURES, 0);
            }
            MistStatus::Unavailable => {
                m.count(MIST_READ_FAILURES, 1);
            }
            MistStatus::NotConfigured | MistStatus::NotNeeded => {}
        }
        m
    }
}

/// An incomplete sweep still reports what it saw.
impl Measured for SweepError {
    fn metrics(&self) -> Metrics {
        match self {
            SweepError::Incomplete { outcome, .. } => outcome.metrics(),
            _ => Metrics::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_scopes_are_unreachable_or_not_enrolled_then_each_is_counted_in_its_own_metric() {
        let scope = |a: &str| Scope {
            account: Some(a.into()),
            region: Some("eu-west-1".into()),
        };
        let o = SweepOutcome {
            members: vec![
                MemberOutcome::of(&scope("111122223333"), ScopeStatus::Ok, 2),
                MemberOutcome::of(&scope("444455556666"), ScopeStatus::Unreachable, 0),
                MemberOutcome::of(&scope("777788889999"), ScopeStatus::NotEnrolled, 0),
                MemberOutcome::of(&scope("222233334444"), ScopeStatus::NotEnrolled, 0),
            ],
            ..Default::default()
        };
        let m = o.metrics();
        assert_eq!(m.get(MEMBERS_UNREACHABLE, &[]), Some(&[1.0][..]));
        assert_eq!(m.get(MEMBERS_NOT_ENROLLED, &[]), Some(&[2.0][..]));
        let single = SweepOutcome::default().metrics();
        assert_eq!(single.get(MEMBERS_NOT_ENROLLED, &[]), None);
    }

    #[test]
    fn when_a_status_is_serialised_then_it_is_its_json_name() {
        for s in [
            MistStatus::NotNeeded,
            MistStatus::NotConfigured,
            MistStatus::Ok,
            MistStatus::Unavailable,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
        for s in [
            ScopeStatus::Ok,
            ScopeStatus::Unreachable,
            ScopeStatus::NotEnrolled,
        ] {
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::from(s.as_str()))
            );
        }
    }
}
