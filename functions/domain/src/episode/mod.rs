//! The onboarding watchdog's pure model: an onboarding episode (one router, from its launch or
//! its stack's completion until Mist knows it), where it is in the guide's sequence
//! ([`phase`]), the one router label rule ([`label`]), and [`plan_sweep`]: given the open
//! episodes, what Mist says and the time, what a sweep sends and records. No AWS, no Mist: the
//! handler ([`crate::handlers::watchdog`]) gathers the facts and carries out the plan.

pub mod records;

pub use crate::label;
pub mod matching;
pub mod phase;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

pub use matching::{device_matches, router_of_device, MatchedBy, RouterMatch};
pub use phase::*;

use crate::config::{VersionCheck, ONBOARDED_TAG_KEY};
use crate::select::STACK_NAME_TAG;
use crate::snapshot::Interface;
use records::{EpisodeRecord, OverdueRouter, WatchItem};

/// State items of an episode live this long after it started (alert once per episode for 90
/// days).
pub const RETENTION_DAYS: i64 = 90;

/// One open onboarding episode of a running managed router.
#[derive(Clone, Debug)]
pub struct Episode {
    pub instance_id: String,
    pub instance_type: Option<String>,
    pub key_name: Option<String>,
    pub launch_time: DateTime<Utc>,
    pub tags: BTreeMap<String, String>,
    pub interfaces: Vec<Interface>,
    /// The launch time, or the later recorded start (the router's stack completed).
    pub started_at: DateTime<Utc>,
    /// What the episode's onboarding config says (`None`: not read yet).
    pub watch: Option<WatchItem>,
    /// The overdue page was sent.
    pub alerted: bool,
    /// Where the router runs (the sweep's scope): an organization deployment's member account
    /// and region, or this deployment's own (the account `None` when not known).
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Episode {
    /// The episode's key in the state table: `<instance-id>#<start-epoch>`.
    pub fn key(&self) -> String {
        format!("{}#{}", self.instance_id, self.started_at.timestamp())
    }

    pub fn stack_name(&self) -> Option<&str> {
        self.tags.get(STACK_NAME_TAG).map(String::as_str)
    }

    pub fn name_tag(&self) -> Option<&str> {
        self.tags
            .get("Name")
            .map(String::as_str)
            .filter(|n| !n.trim().is_empty())
    }

    fn onboarding_name(&self) -> Option<&str> {
        self.watch.as_ref().and_then(|w| w.router_name.as_deref())
    }

    /// The name Mist knows the router by ([`label::mist_name`]).
    pub fn mist_name(&self) -> Option<&str> {
        label::mist_name(self.onboarding_name(), &self.tags)
    }

    /// The router's label ([`label::router_label`]).
    pub fn label(&self) -> &str {
        label::router_label(self.onboarding_name(), &self.tags, &self.instance_id)
    }

    pub fn macs(&self) -> Vec<String> {
        self.interfaces
            .iter()
            .filter_map(|i| i.mac_address.clone())
            .collect()
    }

    pub fn onboarded_tag(&self) -> bool {
        self.tags
            .get(ONBOARDED_TAG_KEY)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    pub fn wanted_version(&self) -> Option<&str> {
        self.watch.as_ref().and_then(|w| w.ssr_version.as_deref())
    }

    /// The record of this episode finished at `now` in `phase`, and whether its duration is
    /// measured: it is when the episode was alerted, or first seen before its deadline (a router
    /// older than the watchdog, first seen already onboarded, has no known duration).
    pub fn finished(
        &self,
        phase: &Phase,
        now: DateTime<Utc>,
        deadline: Duration,
    ) -> (EpisodeRecord, bool) {
        let first_seen = self.watch.as_ref().map_or(now, |w| w.first_seen_at);
        let measured = self.alerted || first_seen <= self.started_at + deadline;
        let onboarded_by = match phase {
            Phase::Onboarded {
                by: OnboardedBy::Tag,
            } => "tag",
            _ => "mist",
        };
        (
            EpisodeRecord {
                instance_id: self.instance_id.clone(),
                router_name: Some(self.label().to_string()),
                started_at: self.started_at,
                onboarded_at: now,
                duration_seconds: (now - self.started_at).num_seconds(),
                alerted: self.alerted,
                onboarded_by: Some(onboarded_by.to_string()),
                account: self.account.clone(),
                region: self.region.clone(),
            },
            measured,
        )
    }

    /// When this episode's state items expire.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.started_at + Duration::days(RETENTION_DAYS)
    }
}

/// What one sweep decided about one episode.
#[derive(Clone, Debug)]
pub struct EpisodePlan {
    /// Index into the episodes given to [`plan_sweep`].
    pub episode: usize,
    pub phase: Phase,
    pub decision: Decision,
    pub elapsed_minutes: i64,
}

/// What one sweep sends and records.
#[derive(Clone, Debug, Default)]
pub struct SweepPlan {
    /// One entry per episode, in the order given.
    pub episodes: Vec<EpisodePlan>,
    /// The routers overdue after this sweep, sorted by instance id.
    pub overdue: Vec<OverdueRouter>,
}

impl SweepPlan {
    /// The episodes that need a write: an overdue page, or a finish (record, maybe a notice).
    pub fn actions(&self) -> impl Iterator<Item = &EpisodePlan> {
        self.episodes
            .iter()
            .filter(|p| matches!(p.decision, Decision::Overdue | Decision::Finish))
    }
}

/// The whole per-sweep decision, pure: each episode's phase (from Mist's view and the
/// `SSR-ONBOARDED` tag) and what to do about it, and the routers overdue now.
pub fn plan_sweep(
    episodes: &[Episode],
    mist: &MistView<'_>,
    check: VersionCheck,
    now: DateTime<Utc>,
    deadline: Duration,
) -> SweepPlan {
    let mut plan = SweepPlan::default();
    for (i, e) in episodes.iter().enumerate() {
        let phase = phase_of(
            mist,
            e.onboarded_tag(),
            e.mist_name(),
            &e.macs(),
            e.wanted_version(),
            check,
        );
        let decision = decide(
            now,
            e.started_at,
            deadline,
            &phase,
            e.watch.is_some(),
            e.alerted,
        );
        if matches!(decision, Decision::Overdue | Decision::StillOverdue) {
            plan.overdue.push(OverdueRouter {
                instance_id: e.instance_id.clone(),
                router_name: e.label().to_string(),
                started_at: e.started_at,
                phase: phase.code().to_string(),
                alerted: e.alerted,
                account: e.account.clone(),
                region: e.region.clone(),
            });
        }
        plan.episodes.push(EpisodePlan {
            episode: i,
            elapsed_minutes: (now - e.started_at).num_minutes(),
            phase,
            decision,
        });
    }
    plan.overdue
        .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mist_model::{GatewayStats, InventoryDevice};

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default()
    }

    fn episode(id: &str, name: &str, alerted: bool, version: Option<&str>) -> Episode {
        Episode {
            instance_id: id.into(),
            instance_type: Some("c5.xlarge".into()),
            key_name: None,
            launch_time: t0(),
            tags: BTreeMap::from([("Name".to_string(), name.to_string())]),
            interfaces: vec![],
            started_at: t0(),
            watch: Some(WatchItem {
                router_name: None,
                ssr_version: version.map(String::from),
                onboarding_note: None,
                first_seen_at: t0(),
            }),
            alerted,
            account: Some("444455556666".into()),
            region: Some("eu-west-1".into()),
        }
    }

    fn device(name: &str, mac: &str, connected: bool) -> InventoryDevice {
        InventoryDevice {
            name: Some(name.into()),
            mac: Some(mac.into()),
            serial: None,
            model: None,
            device_type: Some("gateway".into()),
            connected: Some(connected),
            site_id: None,
        }
    }

    fn stats(mac: &str, version: &str) -> GatewayStats {
        GatewayStats {
            mac: Some(mac.into()),
            version: Some(version.into()),
            ..Default::default()
        }
    }

    #[test]
    fn when_a_sweep_runs_past_the_deadline_then_unonboarded_routers_page_once_and_onboarded_ones_finish(
    ) {
        let inv = InventoryIndex::new(
            vec![
                device("good", "0a0000000001", true),
                device("old", "0a0000000002", true),
            ],
            vec![
                stats("0a0000000001", "6.3.0-107.r1"),
                stats("0a0000000002", "6.2.5-1.r2"),
            ],
        );
        let episodes = vec![
            episode("i-good", "good", true, Some("6.3.0")),
            episode("i-old", "old", false, Some("6.3.0")),
            episode("i-absent", "absent", true, Some("6.3.0")),
        ];
        let now = t0() + Duration::minutes(16);
        let plan = plan_sweep(
            &episodes,
            &MistView::Inventory(&inv),
            VersionCheck::WhenReported,
            now,
            Duration::minutes(15),
        );
        let decisions: Vec<(&str, Decision, &str)> = plan
            .episodes
            .iter()
            .map(|p| {
                (
                    episodes[p.episode].instance_id.as_str(),
                    p.decision,
                    p.phase.code(),
                )
            })
            .collect();
        assert_eq!(
            decisions,
            vec![
                ("i-good", Decision::Finish, "onboarded"),
                ("i-old", Decision::Overdue, "version-mismatch"),
                ("i-absent", Decision::StillOverdue, "not-in-inventory"),
            ]
        );
        let overdue: Vec<&str> = plan
            .overdue
            .iter()
            .map(|o| o.instance_id.as_str())
            .collect();
        assert_eq!(overdue, vec!["i-absent", "i-old"], "sorted, both overdue");
        assert_eq!(plan.actions().count(), 2, "one page and one finish");
    }

    #[test]
    fn when_mist_is_unavailable_then_overdue_routers_still_page_with_the_reason() {
        let episodes = vec![episode("i-1", "r", false, Some("6.3.0"))];
        let plan = plan_sweep(
            &episodes,
            &MistView::Unavailable("Mist API answered 500".into()),
            VersionCheck::WhenReported,
            t0() + Duration::minutes(20),
            Duration::minutes(15),
        );
        assert_eq!(plan.episodes[0].decision, Decision::Overdue);
        assert!(plan.episodes[0].phase.describe().contains("500"));
    }

    #[test]
    fn when_an_old_router_is_first_seen_onboarded_after_its_deadline_then_its_duration_is_not_measured(
    ) {
        let mut e = episode("i-1", "r", false, None);
        let now = t0() + Duration::hours(3);
        if let Some(w) = e.watch.as_mut() {
            w.first_seen_at = now;
        }
        let tag = Phase::Onboarded {
            by: OnboardedBy::Tag,
        };
        let (record, measured) = e.finished(&tag, now, Duration::minutes(15));
        assert!(!measured);
        assert_eq!(record.onboarded_by.as_deref(), Some("tag"));
        e.alerted = true;
        assert!(
            e.finished(&tag, now, Duration::minutes(15)).1,
            "alerted episodes are measured"
        );
    }
}
