//! `onboarding-watchdog`: every minute, an EventBridge scheduled event → one sweep over the
//! running routers; a router still not onboarded `ONBOARDING_DEADLINE_MINUTES` after its
//! onboarding started pages on-call exactly once, and once more ("recovered") when it onboards.
//!
//! Orchestration only: gather the facts (EC2, the state table, Mist), let
//! [`crate::episode::plan_sweep`] decide, carry out the plan ([`act`]).
//!
//! Cost of a sweep over N running instances: DescribeInstances (pages of 1,000),
//! DescribeNetworkInterfaces (200 instances per filter, pages of 1,000), BatchGetItem (100 keys
//! per call), at most one paged Mist inventory read and one paged Mist gateway-stats read
//! (concurrently, within [`MIST_BUDGET`]), and, only for episodes seen for the
//! first time, one DescribeInstanceAttribute (userData) and one PutItem each (at most
//! [`INIT_BUDGET`] per sweep). Alerts and records are conditional writes, so duplicate or
//! overlapping sweeps send nothing twice.

pub(crate) mod act;
mod closing;
mod enrollment;
mod gather;
mod outbox;
pub mod outcome;
mod probe;
pub mod recheck;

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use tracing::Instrument;

use closing::{adopted, finish, overdue_now};
pub(crate) use gather::{gather, own_scope, Fleet};
pub use outcome::{
    EpisodeAlert, EpisodeOutcome, MemberOutcome, MistOutcome, MistStatus, ScopeStatus, SweepError,
    SweepOutcome,
};

use super::{parse_event, EventError};
use crate::aws::state::items::WatchItem;
use crate::aws::AwsError;
use crate::config::{Config, ConfigError};
use crate::deadline::Deadline;
use crate::deps::{CoveredScopes, Deps};
use crate::episode::{
    plan_sweep, Decision, Episode, InventoryIndex, MistView, SweepPlan, SweepRules,
};
use crate::mist::{MistRead, MistReader};
use crate::render::{AlertKind, EventContext};

pub use crate::mist::reader::{DEADLINE_MARGIN, MIST_BUDGET};

pub const SCHEDULE_SOURCE: &str = "aws.events";
pub const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";

/// New episodes whose onboarding config is read per sweep (one DescribeInstanceAttribute each);
/// the rest wait for the next sweep. Keeps a mass launch inside EC2's describe rate limits.
pub const INIT_BUDGET: usize = 100;
/// Concurrent AWS calls for per-episode work.
const CONCURRENCY: usize = 8;

/// The watchdog's per-cold-start state: Mist access (one client, the cached token), the
/// organization's account list and the member accounts known enrolled.
#[derive(Debug)]
pub struct Watchdog {
    mist: MistReader,
    scopes: CoveredScopes,
    enrollment: enrollment::Enrollment,
}

/// What the sweep learnt from Mist, owned (the decisions borrow a [`MistView`] of it).
enum MistFacts {
    NotConfigured(String),
    Unavailable(String),
    Inventory(InventoryIndex),
}

impl MistFacts {
    fn view(&self) -> MistView<'_> {
        match self {
            MistFacts::NotConfigured(why) => MistView::NotConfigured(why.clone()),
            MistFacts::Unavailable(why) => MistView::Unavailable(why.clone()),
            MistFacts::Inventory(index) => MistView::Inventory(index),
        }
    }
}

impl Watchdog {
    /// Builds the Mist client once (per cold start or CLI run). `secrets` is only used when the
    /// token comes from Secrets Manager.
    pub fn new(config: &Config, secrets: aws_sdk_secretsmanager::Client) -> Self {
        Watchdog {
            mist: MistReader::new(config, secrets),
            scopes: CoveredScopes::default(),
            enrollment: enrollment::Enrollment::default(),
        }
    }

    /// A shorter (or longer) Mist time budget than [`MIST_BUDGET`] (tests).
    pub fn with_mist_budget(mut self, budget: Duration) -> Self {
        self.mist = self.mist.with_budget(budget);
        self
    }

    /// The watchdog pages once per episode only with a state table to remember it by.
    pub fn check_config(config: &Config) -> Result<(), ConfigError> {
        config.require_state_table("the onboarding watchdog")
    }

    /// An EventBridge "Scheduled Event"; "now" is the event's `time`; `deadline` (the Lambda
    /// context's; [`Deadline::NONE`] from the CLI) bounds the Mist read.
    pub async fn handle_event(
        &self,
        deps: &Deps,
        event: serde_json::Value,
        deadline: impl Into<Deadline>,
    ) -> Result<SweepOutcome, SweepError> {
        let ev: EventBridgeEvent<serde_json::Value> =
            parse_event("an EventBridge \"Scheduled Event\"", event)?;
        if ev.source != SCHEDULE_SOURCE || ev.detail_type != SCHEDULE_DETAIL_TYPE {
            return Err(EventError::malformed(format!(
                "expected source {SCHEDULE_SOURCE} and detail-type \"{SCHEDULE_DETAIL_TYPE}\", got {} / \"{}\"",
                ev.source, ev.detail_type
            ))
            .into());
        }
        let now = ev.time.ok_or_else(|| {
            EventError::malformed(
                "the scheduled event has no `time`; the sweep takes \"now\" from it",
            )
        })?;
        let ctx = EventContext {
            trigger: format!("scheduled sweep at {}", now.format("%Y-%m-%dT%H:%M:%SZ")),
            region: ev.region.clone().or_else(|| deps.region.clone()),
            account: ev.account.clone(),
            event_id: ev.id.clone(),
            account_name: None,
            member: false,
        };
        self.sweep(deps, now, &ctx, deadline.into()).await
    }

    /// One sweep at `now`.
    pub async fn sweep(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
        ctx: &EventContext,
        deadline: Deadline,
    ) -> Result<SweepOutcome, SweepError> {
        let event_id = ctx.event_id.as_deref().unwrap_or("");
        let span = tracing::info_span!("sweep", event_id, function = "onboarding-watchdog");
        self.sweep_steps(deps, now, ctx, deadline)
            .instrument(span)
            .await
    }

    /// The sweep, step by step: every scope's routers, the new episodes' configs, Mist's view,
    /// the decisions, the writes they call for, and the list of routers overdue now.
    async fn sweep_steps(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
        ctx: &EventContext,
        deadline: Deadline,
    ) -> Result<SweepOutcome, SweepError> {
        let mut outcome = SweepOutcome {
            now: Some(now),
            event_id: ctx.event_id.clone(),
            ..Default::default()
        };
        outbox::pending_alerts(deps, now, &mut outcome).await;
        recheck::recheck_findings(deps, ctx, now, &mut outcome).await;
        let fleet = self.members(deps, ctx, now, &mut outcome).await?;
        let mut open = fleet.open.clone();
        self.new_episodes(deps, &fleet, &mut open, now, &mut outcome)
            .await;
        let mist = self
            .mist_view(deps, ctx, &open, now, deadline, &mut outcome)
            .await;
        let mut plan = self.decisions(deps, &open, &mist, now, &mut outcome);
        // Mist phase changes go to the routers' timelines beside the plan's writes.
        let phases = act::phase_changes(&open, &plan);
        tokio::join!(
            self.actions(deps, ctx, &fleet, &open, &mut plan, now, &mut outcome),
            act::phases_seen(deps, &open, &phases, now)
        );
        adopted(deps, ctx, &open, &plan, now, &mut outcome).await;
        overdue_now(deps, fleet.overdue_before.as_ref(), plan, now, &mut outcome).await;
        finish(outcome)
    }

    /// Step 1: the running routers of every account and region swept (selection in core:
    /// DescribeInstances has no ENI-tag filter), their episodes and state items; each scope's
    /// status, and for a member that could not be read an alert: `member-unreachable` when the
    /// account was read before, a `member-not-enrolled` notice when it never was
    /// ([`enrollment`]).
    async fn members(
        &self,
        deps: &Deps,
        ctx: &EventContext,
        now: DateTime<Utc>,
        outcome: &mut SweepOutcome,
    ) -> Result<Fleet, SweepError> {
        let scopes = match self.scopes.scopes(deps).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "member accounts not listed; sweeping this account only");
                outcome.errors.push(e.to_string());
                vec![own_scope(deps)]
            }
        };
        let fleet = gather(deps, &scopes, now).await?;
        outcome.running_instances = fleet.running;
        outcome.routers = fleet.routers;
        outcome.open_episodes = fleet.open.len();
        let history = self.enrollment.update(deps, &fleet, now).await;
        outcome
            .errors
            .extend(history.errors.iter().map(ToString::to_string));
        for m in &fleet.unreachable {
            let ctx = ctx.at(m.scope.account.as_deref(), m.scope.region.as_deref(), true);
            let account = m.scope.account.as_deref();
            let status = match account {
                Some(a) if history.never_enrolled.contains(a) => {
                    tracing::info!(
                        account = a,
                        region = m.scope.region.as_deref().unwrap_or("?"),
                        decision = "member-not-enrolled",
                        "member account never read: a notice, not a page"
                    );
                    ScopeStatus::NotEnrolled
                }
                _ => ScopeStatus::Unreachable,
            };
            let alert = match account {
                None => None,
                Some(account) => {
                    let sent = if status == ScopeStatus::NotEnrolled {
                        enrollment::not_enrolled_notice(deps, &ctx, account, &m.role, &m.error, now)
                            .await
                    } else {
                        act::member_unreachable(deps, &ctx, account, &m.role, &m.error, now).await
                    };
                    sent.map_err(|e| {
                        tracing::error!(error = %e, status = status.as_str(), "member alert not sent");
                        outcome.errors.push(e.to_string());
                    })
                    .ok()
                }
            };
            outcome.members.push(MemberOutcome {
                error: Some(m.error.clone()),
                alert,
                ..MemberOutcome::of(&m.scope, status, 0)
            });
        }
        for (scope, routers) in &fleet.reached {
            outcome
                .members
                .push(MemberOutcome::of(scope, ScopeStatus::Ok, *routers));
        }
        outcome
            .members
            .sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));
        Ok(fleet)
    }

    /// Step 2: new episodes read their onboarding config once (oldest first, at most
    /// [`INIT_BUDGET`] per sweep).
    async fn new_episodes(
        &self,
        deps: &Deps,
        fleet: &Fleet,
        open: &mut [Episode],
        now: DateTime<Utc>,
        outcome: &mut SweepOutcome,
    ) {
        let mut new: Vec<&Episode> = open.iter().filter(|e| e.watch.is_none()).collect();
        new.sort_by(|a, b| (a.started_at, &a.instance_id).cmp(&(b.started_at, &b.instance_id)));
        outcome.deferred_init = new.len().saturating_sub(INIT_BUDGET);
        new.truncate(INIT_BUDGET);
        let inits: HashMap<String, WatchItem> = stream::iter(new)
            .map(|e| async move {
                let scoped = fleet.deps_for(deps, e);
                (e.instance_id.clone(), act::init_watch(scoped, e, now).await)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        outcome.initialised = inits.len();
        for e in open.iter_mut() {
            if let Some(w) = inits.get(&e.instance_id) {
                e.watch = Some(w.clone());
            }
        }
    }

    /// Step 3: Mist's view — one inventory read and one stats read for the whole sweep, only
    /// when an episode is open (else the daily probe, [`probe`]), within the time budget; a
    /// refused token alerts once a day.
    async fn mist_view(
        &self,
        deps: &Deps,
        ctx: &EventContext,
        open: &[Episode],
        now: DateTime<Utc>,
        deadline: Deadline,
        outcome: &mut SweepOutcome,
    ) -> MistFacts {
        outcome.mist.version_check = self.mist.version_check();
        if open.is_empty() {
            outcome.mist.status = MistStatus::NotNeeded;
            probe::daily_probe(&self.mist, deps, ctx, now, deadline, outcome).await;
            return MistFacts::NotConfigured("no open episode".into());
        }
        match self.mist.read_all(self.mist.budget_before(deadline)).await {
            MistRead::NotConfigured(why) => {
                outcome.mist.status = MistStatus::NotConfigured;
                outcome.mist.detail = Some(why.clone());
                MistFacts::NotConfigured(why)
            }
            MistRead::Failed {
                reason,
                requests,
                token_rejected,
            } => {
                tracing::warn!(decision = "mist-unavailable", reason = %reason, "Mist not read");
                outcome.mist.status = MistStatus::Unavailable;
                outcome.mist.detail = Some(reason.clone());
                outcome.mist.requests = requests;
                if let Some(origin) = token_rejected {
                    match act::token_rejected(deps, ctx, &origin, &reason, now).await {
                        Ok(a) => outcome.mist.token_alert = Some(a),
                        Err(e) => {
                            tracing::error!(error = %e, "Mist token alert not sent");
                            outcome.errors.push(e.to_string());
                        }
                    }
                }
                MistFacts::Unavailable(reason)
            }
            MistRead::Ok { inventory, stats } => {
                outcome.mist.status = MistStatus::Ok;
                outcome.mist.requests =
                    inventory.requests + stats.as_ref().map_or(0, |s| s.requests);
                outcome.mist.devices = inventory.items.len();
                outcome.mist.stats = stats.as_ref().map_or(0, |s| s.items.len());
                MistFacts::Inventory(InventoryIndex::new(
                    inventory.items,
                    stats.map(|s| s.items).unwrap_or_default(),
                ))
            }
        }
    }

    /// Step 4: the decisions (pure), each episode's phase and decision in the outcome.
    fn decisions(
        &self,
        deps: &Deps,
        open: &[Episode],
        mist: &MistFacts,
        now: DateTime<Utc>,
        outcome: &mut SweepOutcome,
    ) -> SweepPlan {
        let plan = plan_sweep(open, &mist.view(), &SweepRules::of(&deps.config), now);
        for p in &plan.episodes {
            let e = &open[p.episode];
            let (id, phase, elapsed) = (e.instance_id.as_str(), p.phase.code(), p.elapsed_minutes);
            match p.decision {
                Decision::Overdue | Decision::Finish | Decision::Unverified => tracing::info!(
                    instance_id = id, phase, elapsed_minutes = elapsed,
                    decision = ?p.decision, "onboarding episode"
                ),
                _ => tracing::debug!(
                    instance_id = id, phase, elapsed_minutes = elapsed,
                    decision = ?p.decision, "onboarding episode"
                ),
            }
            outcome.episodes.push(EpisodeOutcome {
                instance_id: e.instance_id.clone(),
                account: e.account.clone(),
                region: e.region.clone(),
                router_name: e.label().to_string(),
                started_at: e.started_at,
                elapsed_minutes: p.elapsed_minutes,
                phase: p.phase.kind(),
                note: p.phase.note().map(String::from),
                decision: p.decision,
            });
        }
        outcome
            .episodes
            .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        plan
    }

    /// Step 5: the writes the plan calls for (conditional: pages and records once), bounded;
    /// the overdue list learns which pages went out.
    #[allow(clippy::too_many_arguments)]
    async fn actions(
        &self,
        deps: &Deps,
        ctx: &EventContext,
        fleet: &Fleet,
        open: &[Episode],
        plan: &mut SweepPlan,
        now: DateTime<Utc>,
        outcome: &mut SweepOutcome,
    ) {
        let results: Vec<Result<Vec<act::Effect>, AwsError>> = stream::iter(plan.actions())
            .map(|p| {
                let e = &open[p.episode];
                let ctx = fleet.ctx_for(deps, ctx, e);
                async move {
                    match p.decision {
                        Decision::Overdue => act::overdue(deps, &ctx, e, &p.phase, now).await,
                        Decision::Unverified => act::unverified(deps, &ctx, e, &p.phase, now).await,
                        _ => act::finish(deps, &ctx, e, &p.phase, now).await,
                    }
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for res in results {
            match res {
                Ok(effects) => {
                    for effect in effects {
                        match effect {
                            act::Effect::Alert(a) => {
                                if a.kind == AlertKind::OnboardingOverdue {
                                    if let Some(o) = plan
                                        .overdue
                                        .iter_mut()
                                        .find(|o| o.instance_id == a.instance_id)
                                    {
                                        o.alerted |= a.delivery.sent
                                            || a.delivery.already_sent
                                            || a.delivery.in_flight;
                                    }
                                }
                                outcome.alerts.push(a);
                            }
                            act::Effect::Recorded { seconds } => {
                                outcome.finished += 1;
                                outcome.onboarding_seconds.extend(seconds);
                            }
                        }
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "onboarding watchdog write failed");
                    outcome.errors.push(e.to_string());
                }
            }
        }
        outcome
            .alerts
            .sort_by(|a, b| (&a.instance_id, &a.kind).cmp(&(&b.instance_id, &b.kind)));
        outcome.onboarding_seconds.sort_unstable();
    }
}
