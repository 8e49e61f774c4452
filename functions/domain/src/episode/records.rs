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
    /// The last Mist phase the watchdog recorded for the episode (`None`: none yet): a sweep
    /// that sees another one records the change on the router's timeline.
    pub mist_phase: Option<String>,
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
    /// `mist`, `tag` or `acknowledged` ([`ONBOARDED_BY_MIST`], …).
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
    /// The instance onboarded through Mist before (`onboarded#<instance-id>`), whichever
    /// episode that was ([`super::Episode::reconnect_only`] keeps only earlier ones).
    pub onboarded_before: Option<OnboardedBefore>,
}

/// `onboarded_by` of an episode closed because Mist showed the router onboarded (the sweep or
/// the webhook, adopted episodes included).
pub const ONBOARDED_BY_MIST: &str = "mist";
/// `onboarded_by` of an episode closed by the deprecated `SSR-ONBOARDED=true` tag.
pub const ONBOARDED_BY_TAG: &str = "tag";
/// `onboarded_by` of an episode closed by `ssr-onboard ack` (not onboarded: a person's word).
pub const ONBOARDED_BY_ACK: &str = "acknowledged";

impl EpisodeRecord {
    /// Does this finished episode make the instance remembered as onboarded (item
    /// `onboarded#<instance-id>`)? Only when Mist showed it onboarded: an acknowledgement or the
    /// deprecated tag is a person's word, not proof that the router ever reached Mist.
    pub fn proves_onboarded(&self) -> bool {
        self.onboarded_by.as_deref() == Some(ONBOARDED_BY_MIST)
    }
}

/// Item `onboarded#<instance-id>`: the instance onboarded through Mist in an earlier episode.
/// Kept beyond the episodes' TTL ([`ONBOARDED_RETENTION_DAYS`], renewed by every onboarded
/// episode), so its later episodes (after a stop/start) wait only for it to reconnect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct OnboardedBefore {
    /// When that episode ended onboarded.
    pub onboarded_at: DateTime<Utc>,
    /// That episode's start: only a later episode is "onboarded before".
    pub episode_started_at: DateTime<Utc>,
}

/// How long `onboarded#<instance-id>` is kept after the latest episode that onboarded (the
/// episodes' own items expire after [`super::RETENTION_DAYS`]).
pub const ONBOARDED_RETENTION_DAYS: i64 = 730;

/// An onboarding episode closed by `ssr-onboard ack` (item `episode#<instance-id>#<start>`,
/// kind `episode-acknowledged`): no page and no recovered notice for it afterwards.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    pub instance_id: String,
    pub router_name: Option<String>,
    pub started_at: DateTime<Utc>,
    pub acknowledged_at: DateTime<Utc>,
    /// `--reason`, as given.
    pub reason: Option<String>,
    /// Who acknowledged it: the caller's ARN (STS GetCallerIdentity).
    pub acknowledged_by: String,
    /// The episode had been paged (its resolve is sent).
    pub alerted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// A closed episode that was not a measured onboarding: adopted (the watchdog first saw it
/// past its deadline; closed when Mist showed it onboarded) or acknowledged. What `report`
/// counts and lists apart from the durations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClosedEpisode {
    pub instance_id: String,
    pub router_name: Option<String>,
    pub started_at: DateTime<Utc>,
    pub closed_at: DateTime<Utc>,
    /// `mist`, `tag` or `acknowledged`.
    pub closed_by: Option<String>,
    pub alerted: bool,
    /// The acknowledgement's reason and who gave it (acknowledged episodes only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}
