//! The onboarding watchdog's pure model: an onboarding episode (one router, from its launch or
//! its stack's completion until Mist knows it), where it is in the guide's sequence
//! ([`phase`]), the one router label rule ([`label`]), and [`plan_sweep`]: given the open
//! episodes, what Mist says and the time, what a sweep sends and records. No AWS, no Mist: the
//! handler ([`crate::handlers::watchdog`]) gathers the facts and carries out the plan.

pub mod records;

pub use crate::label;
pub mod matching;
pub mod phase;
pub mod version;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

pub use matching::{device_matches, router_of_device, MatchedBy, RouterMatch};
pub use phase::*;

use crate::config::{AdoptExisting, UnverifiedOnboarding, VersionCheck, ONBOARDED_TAG_KEY};
use crate::select::{Snooze, STACK_NAME_TAG};
use crate::snapshot::Interface;
use records::{EpisodeRecord, OnboardedBefore, OverdueRouter, WatchItem};
pub use version::OnboardingRule;

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
    /// The `onboarding-unverified` notice was sent (no Mist settings to verify it).
    pub notified: bool,
    /// Where the router runs (the sweep's scope): an organization deployment's member account
    /// and region, or this deployment's own (the account `None` when not known).
    pub account: Option<String>,
    pub region: Option<String>,
    /// The instance onboarded through Mist before (`onboarded#<instance-id>`, read with the
    /// episode's state items); [`Episode::reconnect_only`] says whether that was an earlier
    /// episode.
    pub onboarded_before: Option<OnboardedBefore>,
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

    /// The instance carries `SSR-ONBOARDED=true` now.
    pub fn onboarded_tag_set(&self) -> bool {
        self.tags
            .get(ONBOARDED_TAG_KEY)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    /// `SSR-ONBOARDED=true` closes this episode: the tag was added during it (it was absent when
    /// the episode was first seen). A tag left from an earlier episode does not, so it never
    /// mutes a router for good.
    pub fn onboarded_tag(&self) -> bool {
        self.onboarded_tag_set()
            && self
                .watch
                .as_ref()
                .is_some_and(|w| !w.onboarded_tag_at_start)
    }

    pub fn wanted_version(&self) -> Option<&str> {
        self.watch.as_ref().and_then(|w| w.ssr_version.as_deref())
    }

    /// When an earlier episode of this instance ended onboarded through Mist: this one then
    /// waits only for the router to reconnect. `None` for a first install (or when the memory
    /// is this episode's own, e.g. its record not written yet).
    pub fn reconnect_only(&self) -> Option<DateTime<Utc>> {
        self.onboarded_before
            .filter(|o| o.episode_started_at < self.started_at)
            .map(|o| o.onboarded_at)
    }

    /// The version Mist must report (a floor): the onboarding config's `ssr-version` on a
    /// first install, none once the instance onboarded before (reconnect only).
    pub fn version_floor(&self) -> Option<&str> {
        match self.reconnect_only() {
            Some(_) => None,
            None => self.wanted_version(),
        }
    }

    /// The rule this episode is judged by (the page says which applied).
    pub fn onboarding_rule(&self) -> OnboardingRule<'_> {
        match self.reconnect_only() {
            Some(onboarded_at) => OnboardingRule::ReconnectOnly { onboarded_at },
            None => OnboardingRule::FirstInstall {
                floor: self.wanted_version(),
            },
        }
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
            } => records::ONBOARDED_BY_TAG,
            _ => records::ONBOARDED_BY_MIST,
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

    /// Adopted: first seen already past its deadline (`first_seen_at` is when the watchdog read
    /// its onboarding config), i.e. running before the watchdog was deployed or while it was
    /// off. `false` while its config is not read yet.
    pub fn adopted(&self, deadline: Duration) -> bool {
        self.watch
            .as_ref()
            .is_some_and(|w| w.first_seen_at - self.started_at >= deadline)
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
    /// Episodes adopted in this sweep (first seen now, already past the deadline) that are not
    /// onboarded: what the `routers-adopted` summary lists (indexes into the episodes given).
    pub adopted_now: Vec<usize>,
}

impl SweepPlan {
    /// The episodes that need a write: an overdue page, an unverified notice, or a finish
    /// (record, maybe a recovered notice).
    pub fn actions(&self) -> impl Iterator<Item = &EpisodePlan> {
        self.episodes.iter().filter(|p| {
            matches!(
                p.decision,
                Decision::Overdue | Decision::Unverified | Decision::Finish
            )
        })
    }
}

/// The rules a sweep decides by (from the configuration).
#[derive(Clone, Copy, Debug)]
pub struct SweepRules {
    /// `MIST_VERSION_CHECK`.
    pub check: VersionCheck,
    /// `ONBOARDING_DEADLINE_MINUTES`.
    pub deadline: Duration,
    /// `ADOPT_EXISTING`.
    pub adopt: AdoptExisting,
    /// `UNVERIFIED_ONBOARDING`.
    pub unverified: UnverifiedOnboarding,
}

impl SweepRules {
    pub fn of(config: &crate::config::Config) -> Self {
        SweepRules {
            check: config.mist.version_check,
            deadline: config.onboarding_deadline,
            adopt: config.watchdog.adopt_existing,
            unverified: config.watchdog.unverified_onboarding,
        }
    }
}

/// The whole per-sweep decision, pure: each episode's phase (from Mist's view and the
/// `SSR-ONBOARDED` tag) and what to do about it, the routers overdue now, and the routers
/// adopted in this sweep.
pub fn plan_sweep(
    episodes: &[Episode],
    mist: &MistView<'_>,
    rules: &SweepRules,
    now: DateTime<Utc>,
) -> SweepPlan {
    let mut plan = SweepPlan::default();
    let mist_configured = !matches!(mist, MistView::NotConfigured(_));
    // A device is at most one router's: a name match shared with another open episode, or on
    // a device with another episode's MAC, does not count.
    let names_trusted = match mist {
        MistView::Inventory(inv) => inv.names_trusted(
            &episodes
                .iter()
                .map(|e| (e.mist_name(), e.macs(), e.version_floor()))
                .collect::<Vec<_>>(),
        ),
        _ => vec![true; episodes.len()],
    };
    for (i, e) in episodes.iter().enumerate() {
        let phase = phase_of(
            mist,
            e.onboarded_tag(),
            e.mist_name().filter(|_| names_trusted[i]),
            &e.macs(),
            e.version_floor(),
            rules.check,
        );
        let adopting = rules.adopt != AdoptExisting::Page;
        let facts = EpisodeFacts {
            started_at: e.started_at,
            // Reconnect only: no version to wait for.
            version_known: e.watch.is_some() || e.reconnect_only().is_some(),
            alerted: e.alerted,
            notified: e.notified,
            adopted: adopting && e.adopted(rules.deadline),
            // Not read yet, already past its deadline: it may be adopted once read.
            awaiting_adoption: adopting
                && e.watch.is_none()
                && now - e.started_at >= rules.deadline,
            mist_configured,
            snoozed: Snooze::of(&e.tags).holds(now),
        };
        let decision = decide(now, rules, &phase, &facts);
        if rules.adopt == AdoptExisting::Summary
            && decision == Decision::Adopted
            && e.watch.as_ref().is_some_and(|w| w.first_seen_at == now)
        {
            plan.adopted_now.push(i);
        }
        if matches!(
            decision,
            Decision::Overdue | Decision::StillOverdue | Decision::Snoozed
        ) {
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
mod tests;
