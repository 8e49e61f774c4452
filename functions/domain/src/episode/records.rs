//! What the state table remembers of an onboarding episode, as the watchdog's model uses it.
//! Their stored shapes (DynamoDB items) live with the state adapter (the core's
//! `aws::state::items`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Item `watch#…`: what the episode's first sweep learnt from the onboarding config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchItem {
    pub router_name: Option<String>,
    pub ssr_version: Option<String>,
    pub onboarding_note: Option<String>,
    pub first_seen_at: DateTime<Utc>,
    /// The instance already carried `SSR-ONBOARDED=true` when this episode was first seen: a
    /// tag left from an earlier episode, which does not close this one.
    pub onboarded_tag_at_start: bool,
}

/// A finished onboarding episode (item `episode#<instance-id>#<start-epoch>`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpisodeRecord {
    pub instance_id: String,
    pub router_name: Option<String>,
    pub started_at: DateTime<Utc>,
    pub onboarded_at: DateTime<Utc>,
    pub duration_seconds: i64,
    pub alerted: bool,
    /// `mist` or `tag`.
    pub onboarded_by: Option<String>,
    /// The account and region the router runs in (an organization deployment's member, or
    /// the hub's own when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A router overdue as of the latest sweep (inside item `watchdog#overdue-now`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueRouter {
    pub instance_id: String,
    pub router_name: String,
    pub started_at: DateTime<Utc>,
    pub phase: String,
    pub alerted: bool,
    /// The account and region the router runs in (an organization deployment's member, or
    /// the hub's own when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverdueNow {
    pub as_of: DateTime<Utc>,
    pub routers: Vec<OverdueRouter>,
}

/// What the state table says about one open episode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EpisodeState {
    pub watch: Option<WatchItem>,
    /// The overdue page was claimed (and has not expired).
    pub alerted: bool,
    /// The episode record exists: the episode is finished.
    pub done: bool,
    /// The `onboarding-unverified` notice was claimed (no Mist settings).
    pub notified: bool,
}
