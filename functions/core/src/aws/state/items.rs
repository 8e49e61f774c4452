//! The state table's items, typed. Each item kind has one domain type (what handlers and the
//! report use) and, here only, its stored shape (serde_dynamo maps it to DynamoDB attributes).
//!
//! | `pk` | kind | written by |
//! | --- | --- | --- |
//! | `alert#<instance-id>#<fingerprint>` | `guard-alert` | guard: one alert per set of findings per window |
//! | `stack-alert#<stack-id>#<status>` | `stack-alert` | stack-watch: one page per failed stack status |
//! | `onboarding-start#<instance-id>` | `onboarding-start` | stack-watch: the watchdog's clock starts later |
//! | `watch#<instance-id>#<start>` | `watch` | watchdog: what the episode's onboarding config says |
//! | `overdue#<instance-id>#<start>` | `onboarding-overdue` | watchdog: the one overdue page |
//! | `recovered#<instance-id>#<start>` | `onboarding-recovered` | watchdog: the one recovered notice |
//! | `unverified#<instance-id>#<start>` | `onboarding-unverified` | watchdog: the one "cannot verify" notice (no Mist settings) |
//! | `routers-adopted#<digest>` | `routers-adopted` | watchdog: the one summary of the routers a sweep adopted |
//! | `episode#<instance-id>#<start>` | `episode` / `episode-unmeasured` | watchdog: the finished episode |
//! | `episode#<instance-id>#<start>` | `episode-acknowledged` | `ssr-onboard ack`: the episode closed by a person (reason, who) |
//! | `onboarded#<instance-id>` | `onboarded` | watchdog, mist-webhook: the instance onboarded through Mist once (later episodes: reconnect only) |
//! | `acknowledged#<instance-id>#<start>` | `onboarding-acknowledged` | `ssr-onboard ack`: the one resolve of a paged episode |
//! | `mist-token-rejected#<date>` | `mist-token-rejected` | watchdog: Mist refused the token (once a day) |
//! | `mist-probe#<date>` | `mist-probe` | watchdog: the daily Mist probe was made (once a day) |
//! | `mist-unreachable#<date>` | `mist-unreachable` | watchdog: the daily probe could not read Mist (once a day) |
//! | `member-unreachable#<account>#<date>` | `member-unreachable` | watchdog: a member account not swept (once a day) |
//! | `member-not-enrolled#<account>#<date>` | `member-not-enrolled` | watchdog: a member account never read yet (once a day) |
//! | `member-enrolled#<account>` | `member-enrolled` | watchdog: the member account was read once (its role works) |
//! | `watchdog#overdue-now` | `overdue-now` | watchdog: routers overdue as of the latest sweep |
//! | `drift#<instance-id>#<window>` | `drift` | guard: the one drift re-check of a router per 60-second window |
//! | `drift-alert#<instance-id>#<window>` | `drift-alert` | guard: the one `guard-drift` notice of a router per window |
//!
//! Every item carries `expires_at` (epoch seconds, the table's TTL attribute) except
//! `watchdog#overdue-now`, which is replaced by every sweep that changes it, and
//! `member-enrolled#<account>`, the history that tells a member whose role stopped working
//! (paged) from one never enrolled (a notice): written once, kept. `onboarded#<instance-id>`
//! outlives the episodes: it expires [`ONBOARDED_RETENTION_DAYS`] after the latest episode that
//! onboarded.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use ssr_domain::episode::records::{
    Acknowledgement, ClosedEpisode, EpisodeRecord, EpisodeState, OnboardedBefore, OverdueNow,
    OverdueRouter, WatchItem, ONBOARDED_RETENTION_DAYS,
};

pub const ONBOARDING_START_PREFIX: &str = "onboarding-start#";
pub const WATCH_PREFIX: &str = "watch#";
pub const OVERDUE_PREFIX: &str = "overdue#";
pub const RECOVERED_PREFIX: &str = "recovered#";
pub const EPISODE_PREFIX: &str = "episode#";
/// `unverified#<instance-id>#<start>`: the episode's one `onboarding-unverified` notice.
pub const UNVERIFIED_PREFIX: &str = "unverified#";
/// `routers-adopted#<digest of the adopted episodes' keys>`: one summary per set adopted.
pub const ROUTERS_ADOPTED_PREFIX: &str = "routers-adopted#";
/// `mist-token-rejected#<YYYY-MM-DD>`: the one "Mist rejected the token" alert of a UTC day.
pub const TOKEN_REJECTED_PREFIX: &str = "mist-token-rejected#";
/// `mist-probe#<YYYY-MM-DD>`: the one daily Mist probe of a UTC day (made while no episode is open).
pub const MIST_PROBE_PREFIX: &str = "mist-probe#";
/// `mist-unreachable#<YYYY-MM-DD>`: the one "the daily probe could not read Mist" alert of a UTC day.
pub const MIST_UNREACHABLE_PREFIX: &str = "mist-unreachable#";
/// `member-unreachable#<account>#<YYYY-MM-DD>`: the one "member account not swept" alert of a
/// UTC day for that account.
pub const MEMBER_UNREACHABLE_PREFIX: &str = "member-unreachable#";
/// `member-not-enrolled#<account>#<YYYY-MM-DD>`: the one "member account not enrolled" notice
/// of a UTC day for that account.
pub const MEMBER_NOT_ENROLLED_PREFIX: &str = "member-not-enrolled#";
/// `member-enrolled#<account>`: a scope of the account was read at least once.
pub const MEMBER_ENROLLED_PREFIX: &str = "member-enrolled#";
/// The one item listing the routers overdue as of the latest sweep.
pub const OVERDUE_NOW_PK: &str = "watchdog#overdue-now";
/// `kind` of a finished episode whose duration was measured.
pub const KIND_EPISODE: &str = "episode";
/// `kind` of a finished episode the watchdog first saw already onboarded after the deadline
/// (e.g. routers older than the watchdog): closed, but its duration is not known.
pub const KIND_EPISODE_UNMEASURED: &str = "episode-unmeasured";

/// What a claim records besides its key (who claimed what). The key and `expires_at` are set by
/// [`super::StateStore::claim`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimItem {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The episode's start (epoch seconds), for watchdog claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The account and region the router runs in (an organization deployment's member, or
    /// the hub's own when known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// Stored shape of a claim.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredClaim {
    pub pk: String,
    #[serde(flatten)]
    pub item: ClaimItem,
    pub expires_at: i64,
    pub created_at: String,
}

/// Only the expiry of a claim (the pre-read projects `expires_at`).
#[derive(Deserialize)]
pub(crate) struct ClaimExpiry {
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// Item `onboarding-start#<instance-id>`.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredOnboardingStart {
    pub pk: String,
    pub kind: String,
    pub instance_id: String,
    pub started_at: i64,
    pub source: String,
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredWatch {
    pub pk: String,
    pub kind: String,
    pub instance_id: String,
    pub started_at: i64,
    pub first_seen_at: i64,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssr_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarding_note: Option<String>,
    /// Absent in items written before this field existed: read as false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub onboarded_tag_at_start: bool,
    /// The last Mist phase recorded on the router's timeline (absent: none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mist_phase: Option<String>,
    /// `launch` or `stack`: what started the episode (absent in items written before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_source: Option<String>,
    /// On the router's timeline as its `episode-started` entry ([`super::lists`]: `list` =
    /// `timeline#<instance-id>`, `list_at` = the start in epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_at: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredEpisode {
    pub pk: String,
    pub kind: String,
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_name: Option<String>,
    pub started_at: i64,
    pub onboarded_at: i64,
    #[serde(default)]
    pub alerted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onboarded_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<i64>,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// On the router's timeline as its `episode-finished` entry (`list_at` = the end in epoch
    /// milliseconds; absent in items written before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_at: Option<i64>,
}

/// Item `member-enrolled#<account>` (no `expires_at`: the history is kept).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredMemberEnrolled {
    pub pk: String,
    pub kind: String,
    pub account: String,
    /// When a sweep first read the account (epoch seconds).
    pub enrolled_at: i64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct StoredOverdueNow {
    pub pk: String,
    pub kind: String,
    pub as_of: i64,
    pub count: i64,
    /// JSON array of [`OverdueRouter`].
    pub routers: String,
}

pub(crate) fn epoch(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

pub(crate) fn from_epoch(s: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(s, 0)
}

impl StoredWatch {
    pub fn into_domain(self, fallback_seen: DateTime<Utc>) -> WatchItem {
        WatchItem {
            router_name: self.router_name.filter(|s| !s.is_empty()),
            ssr_version: self.ssr_version.filter(|s| !s.is_empty()),
            onboarding_note: self.onboarding_note.filter(|s| !s.is_empty()),
            first_seen_at: from_epoch(self.first_seen_at).unwrap_or(fallback_seen),
            onboarded_tag_at_start: self.onboarded_tag_at_start,
            mist_phase: self.mist_phase.filter(|s| !s.is_empty()),
        }
    }
}

impl StoredEpisode {
    /// `None` for an unmeasured episode or a damaged item (the report lists measured ones).
    pub fn into_domain(self) -> Option<EpisodeRecord> {
        Some(EpisodeRecord {
            instance_id: self.instance_id,
            router_name: self.router_name.filter(|s| !s.is_empty()),
            started_at: from_epoch(self.started_at)?,
            onboarded_at: from_epoch(self.onboarded_at)?,
            duration_seconds: self.duration_seconds?,
            alerted: self.alerted,
            onboarded_by: self.onboarded_by.filter(|s| !s.is_empty()),
            account: self.account.filter(|s| !s.is_empty()),
            region: self.region.filter(|s| !s.is_empty()),
        })
    }
}

impl StoredOverdueNow {
    pub fn into_domain(self) -> Option<OverdueNow> {
        Some(OverdueNow {
            as_of: from_epoch(self.as_of)?,
            routers: serde_json::from_str(&self.routers).ok()?,
        })
    }
}

/// `onboarded#<instance-id>`: the instance onboarded through Mist in some episode.
pub const ONBOARDED_PREFIX: &str = "onboarded#";
/// `acknowledged#<instance-id>#<start>`: the one resolve sent for an acknowledged, paged
/// episode.
pub const ACKNOWLEDGED_PREFIX: &str = "acknowledged#";
/// `kind` of an episode closed by `ssr-onboard ack` (item `episode#<instance-id>#<start>`).
pub const KIND_EPISODE_ACKNOWLEDGED: &str = "episode-acknowledged";

/// Item `onboarded#<instance-id>` (kept [`ONBOARDED_RETENTION_DAYS`] after the latest episode
/// that onboarded).
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredOnboarded {
    pub pk: String,
    pub kind: String,
    pub instance_id: String,
    /// When the episode ended onboarded (epoch seconds).
    pub onboarded_at: i64,
    /// That episode's start (epoch seconds): only later episodes are "onboarded before".
    pub episode_started_at: i64,
    pub expires_at: i64,
}

impl StoredOnboarded {
    pub fn into_domain(self) -> Option<OnboardedBefore> {
        Some(OnboardedBefore {
            onboarded_at: from_epoch(self.onboarded_at)?,
            episode_started_at: from_epoch(self.episode_started_at)?,
        })
    }
}

/// Item `episode#<instance-id>#<start>` of kind `episode-acknowledged`: the episode's record,
/// closed by a person. The sweep and the webhook see the key (the episode is done); `report`
/// lists it apart from the measured onboardings.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredAcknowledgement {
    pub pk: String,
    pub kind: String,
    pub instance_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub router_name: Option<String>,
    pub started_at: i64,
    /// When it was acknowledged (the episode record's "closed at").
    pub onboarded_at: i64,
    /// Always `acknowledged`.
    pub onboarded_by: String,
    #[serde(default)]
    pub alerted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub acknowledged_by: String,
    pub expires_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// On the router's timeline as its `acknowledged` and `episode-finished` entries
    /// (`list_at` = the acknowledgement in epoch milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_at: Option<i64>,
}

impl StoredAcknowledgement {
    pub fn into_domain(self) -> Option<Acknowledgement> {
        Some(Acknowledgement {
            instance_id: self.instance_id,
            router_name: self.router_name.filter(|s| !s.is_empty()),
            started_at: from_epoch(self.started_at)?,
            acknowledged_at: from_epoch(self.onboarded_at)?,
            reason: self.reason.filter(|s| !s.is_empty()),
            acknowledged_by: self.acknowledged_by,
            alerted: self.alerted,
            account: self.account.filter(|s| !s.is_empty()),
            region: self.region.filter(|s| !s.is_empty()),
        })
    }
}

impl StoredEpisode {
    /// An unmeasured episode (adopted: first seen past its deadline, closed when Mist showed
    /// it onboarded) as a closed episode; `None` for a damaged item.
    pub fn into_closed(self) -> Option<ClosedEpisode> {
        Some(ClosedEpisode {
            instance_id: self.instance_id,
            router_name: self.router_name.filter(|s| !s.is_empty()),
            started_at: from_epoch(self.started_at)?,
            closed_at: from_epoch(self.onboarded_at)?,
            closed_by: self.onboarded_by.filter(|s| !s.is_empty()),
            alerted: self.alerted,
            reason: None,
            acknowledged_by: None,
            account: self.account.filter(|s| !s.is_empty()),
            region: self.region.filter(|s| !s.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use std::collections::HashMap;

    #[test]
    fn when_a_claim_is_stored_then_its_attributes_are_flat_strings_and_epoch_numbers() {
        let stored = StoredClaim {
            pk: "overdue#i-1#100".into(),
            item: ClaimItem {
                kind: "onboarding-overdue".into(),
                instance_id: Some("i-1".into()),
                started_at: Some(100),
                ..Default::default()
            },
            expires_at: 200,
            created_at: "2026-01-01T00:00:00+00:00".into(),
        };
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(stored).expect("serialise");
        assert_eq!(item["pk"], AttributeValue::S("overdue#i-1#100".into()));
        assert_eq!(item["kind"], AttributeValue::S("onboarding-overdue".into()));
        assert_eq!(item["started_at"], AttributeValue::N("100".into()));
        assert_eq!(item["expires_at"], AttributeValue::N("200".into()));
        assert!(
            !item.contains_key("stack_name"),
            "absent fields are not written"
        );
    }

    #[test]
    fn when_an_episode_item_has_no_duration_then_it_is_not_a_measured_record() {
        let item: HashMap<String, AttributeValue> = HashMap::from([
            ("pk".into(), AttributeValue::S("episode#i-1#1".into())),
            (
                "kind".into(),
                AttributeValue::S(KIND_EPISODE_UNMEASURED.into()),
            ),
            ("instance_id".into(), AttributeValue::S("i-1".into())),
            ("started_at".into(), AttributeValue::N("1".into())),
            ("onboarded_at".into(), AttributeValue::N("2".into())),
            ("expires_at".into(), AttributeValue::N("3".into())),
        ]);
        let stored: StoredEpisode = serde_dynamo::from_item(item).expect("parse");
        assert!(stored.into_domain().is_none());
    }
}
