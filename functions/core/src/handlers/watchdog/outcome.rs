//! What one sweep returns (the Lambda's result, the CLI's output) and how it fails.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::alerting::AlertOutcome;
use crate::aws::AwsError;
use crate::episode::Decision;
use crate::handlers::EventError;

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
    /// CLI exit code: 2 for a malformed event, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            SweepError::Event(_) => 2,
            _ => 1,
        }
    }

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
    /// How long each episode finished this sweep took to onboard, in seconds (only those whose
    /// duration is measured: see [`crate::episode::Episode::finished`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub onboarding_seconds: Vec<i64>,
    pub overdue_now: usize,
    /// Each account and region swept (an organization deployment: the hub's own and every
    /// member's), with its router count; an unreachable one with its error and alert.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<MemberOutcome>,
    pub errors: Vec<String>,
}

/// One account and region of the sweep.
#[derive(Clone, Debug, Default, Serialize)]
pub struct MemberOutcome {
    pub account: Option<String>,
    pub region: Option<String>,
    /// `ok` or `unreachable` (the member role could not be assumed or EC2 refused the reads).
    pub status: String,
    /// Routers running there.
    pub routers: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The `member-unreachable` alert (once per account per UTC day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertOutcome>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MistOutcome {
    /// `ok`, `unavailable`, `not-configured` or `not-needed` (no open episode).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Inventory devices read.
    pub devices: usize,
    /// Gateway stats entries read (0 with `MIST_VERSION_CHECK=off`).
    pub stats: usize,
    pub requests: usize,
    /// `MIST_VERSION_CHECK`: `when-reported`, `required` or `off`.
    pub version_check: String,
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
    pub phase: String,
    /// "version not reported" when counted as onboarded without a version from Mist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub decision: Decision,
}

/// One alert of a sweep: which episode, which kind, and what happened to it.
#[derive(Clone, Debug, Serialize)]
pub struct EpisodeAlert {
    pub instance_id: String,
    /// `onboarding-overdue` or `onboarding-recovered`.
    pub kind: String,
    #[serde(flatten)]
    pub delivery: AlertOutcome,
}
