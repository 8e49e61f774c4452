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
mod gather;
pub mod outcome;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use tracing::Instrument;

pub use act::{
    KIND_FAILED, KIND_MEMBER_UNREACHABLE, KIND_OVERDUE, KIND_RECOVERED, KIND_TOKEN_REJECTED,
};
pub(crate) use gather::{gather, own_scope, Gathered};
pub use outcome::{
    EpisodeAlert, EpisodeOutcome, MemberOutcome, MistOutcome, SweepError, SweepOutcome,
};

use super::{parse_event, EventError};
use crate::aws::accounts::{member_account_ids, scopes, Scope};
use crate::aws::secrets::Secrets;
use crate::aws::state::items::{OverdueNow, WatchItem};
use crate::config::{Config, ConfigError, VersionCheck};
use crate::deps::Deps;
use crate::episode::{plan_sweep, Decision, Episode, InventoryIndex, MistView};
use crate::mist::token::TokenSource;
use crate::mist::{GatewayStats, InventoryDevice, Listed, MistClient, MistError};
use crate::render::EventContext;

pub const SCHEDULE_SOURCE: &str = "aws.events";
pub const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";

/// New episodes whose onboarding config is read per sweep (one DescribeInstanceAttribute each);
/// the rest wait for the next sweep. Keeps a mass launch inside EC2's describe rate limits.
pub const INIT_BUDGET: usize = 100;
/// Concurrent AWS calls for per-episode work.
const CONCURRENCY: usize = 8;
/// The whole Mist read of a sweep (both lists, every page) ends within this.
pub const MIST_BUDGET: Duration = Duration::from_secs(20);
/// Left for the rest of the sweep (alerts, records) before the invocation deadline.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(15);
/// How long the organization's account list (`MEMBER_ACCOUNTS=org`) is reused.
const ORG_ACCOUNTS_TTL: Duration = Duration::from_secs(15 * 60);

enum MistSetup {
    NotConfigured(String),
    Broken(String),
    Ready {
        client: MistClient,
        token: TokenSource,
    },
}

enum MistRead {
    NotConfigured(String),
    Failed {
        reason: String,
        requests: usize,
        /// Mist refused the token (401/403): where it came from (secret ARN or MIST_API_TOKEN).
        token_rejected: Option<String>,
    },
    Ok {
        inventory: Listed<InventoryDevice>,
        /// `None` with `MIST_VERSION_CHECK=off`.
        stats: Option<Listed<GatewayStats>>,
    },
}

/// The watchdog's per-cold-start state: the Mist client (one connection pool, timeouts) and the
/// cached token.
pub struct Watchdog {
    mist: MistSetup,
    version_check: VersionCheck,
    mist_budget: Duration,
    /// The organization's active accounts (`MEMBER_ACCOUNTS=org`) and when they were listed.
    org_accounts: tokio::sync::Mutex<Option<(Instant, Vec<String>)>>,
}

impl std::fmt::Debug for Watchdog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mist = match &self.mist {
            MistSetup::NotConfigured(why) => format!("not configured ({why})"),
            MistSetup::Broken(why) => format!("broken ({why})"),
            MistSetup::Ready { client, .. } => format!("org {}", client.org_id()),
        };
        f.debug_struct("Watchdog").field("mist", &mist).finish()
    }
}

impl Watchdog {
    /// Builds the Mist client once (per cold start or CLI run). `secrets` is only used when the
    /// token comes from Secrets Manager.
    pub fn new(config: &Config, secrets: aws_sdk_secretsmanager::Client) -> Self {
        let token = match (&config.mist.token_secret_arn, &config.mist.token) {
            (Some(arn), _) => Some(TokenSource::secret(arn.clone(), Secrets::new(secrets))),
            (None, Some(t)) => Some(TokenSource::Env(t.clone())),
            (None, None) => None,
        };
        let mist = match (&config.mist.org_id, token) {
            (None, _) => MistSetup::NotConfigured("MIST_ORG_ID is not set".into()),
            (Some(_), None) => MistSetup::NotConfigured(
                "neither MIST_TOKEN_SECRET_ARN nor MIST_API_TOKEN is set".into(),
            ),
            (Some(org), Some(token)) => match MistClient::new(&config.mist.api_url, org) {
                Err(e) => MistSetup::Broken(e.to_string()),
                Ok(client) => MistSetup::Ready { client, token },
            },
        };
        Watchdog {
            mist,
            version_check: config.mist.version_check,
            mist_budget: MIST_BUDGET,
            org_accounts: tokio::sync::Mutex::new(None),
        }
    }

    /// A shorter (or longer) Mist time budget than [`MIST_BUDGET`] (tests).
    pub fn with_mist_budget(mut self, budget: Duration) -> Self {
        self.mist_budget = budget;
        self
    }

    /// The scopes a sweep covers: this account and region, then `MEMBER_ACCOUNTS` (this account
    /// included) × `MEMBER_REGIONS` (this region when unset). The organization's account list
    /// is read once per [`ORG_ACCOUNTS_TTL`] per warm container.
    pub(crate) async fn scopes(&self, deps: &Deps) -> Result<Vec<Scope>, crate::aws::AwsError> {
        use crate::config::MemberAccounts;
        let config = &deps.config;
        let members = match &config.member_accounts {
            MemberAccounts::Organization => {
                let mut cached = self.org_accounts.lock().await;
                match cached.as_ref() {
                    Some((at, ids)) if at.elapsed() < ORG_ACCOUNTS_TTL => ids.clone(),
                    _ => {
                        let ids = member_account_ids(deps, &config.member_accounts).await?;
                        *cached = Some((Instant::now(), ids.clone()));
                        ids
                    }
                }
            }
            other => member_account_ids(deps, other).await?,
        };
        Ok(scopes(
            deps.account.as_deref(),
            deps.region.as_deref(),
            &members,
            &config.member_regions,
        ))
    }

    /// The time the Mist read may take: the budget, never past `deadline` minus
    /// [`DEADLINE_MARGIN`].
    pub(crate) fn mist_budget(&self, deadline: Option<Instant>) -> Duration {
        match deadline {
            None => self.mist_budget,
            Some(d) => self.mist_budget.min(
                d.saturating_duration_since(Instant::now())
                    .saturating_sub(DEADLINE_MARGIN),
            ),
        }
    }

    /// The watchdog pages once per episode only with a state table to remember it by.
    pub fn check_config(config: &Config) -> Result<(), ConfigError> {
        config.require_state_table("the onboarding watchdog")
    }

    /// An EventBridge "Scheduled Event" without an invocation deadline (CLI, tests).
    pub async fn handle_event(
        &self,
        deps: &Deps,
        event: serde_json::Value,
    ) -> Result<SweepOutcome, SweepError> {
        self.handle_event_until(deps, event, None).await
    }

    /// Lambda entry: an EventBridge "Scheduled Event"; "now" is the event's `time`; `deadline`
    /// (the Lambda context's) bounds the Mist read.
    pub async fn handle_event_until(
        &self,
        deps: &Deps,
        event: serde_json::Value,
        deadline: Option<Instant>,
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
            deadline: None,
            member: false,
        };
        self.sweep(deps, now, &ctx, deadline).await
    }

    /// One sweep at `now`.
    pub async fn sweep(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
        ctx: &EventContext,
        deadline: Option<Instant>,
    ) -> Result<SweepOutcome, SweepError> {
        let event_id = ctx.event_id.as_deref().unwrap_or("");
        let span = tracing::info_span!("sweep", event_id, function = "onboarding-watchdog");
        self.sweep_inner(deps, now, ctx, deadline)
            .instrument(span)
            .await
    }

    async fn sweep_inner(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
        ctx: &EventContext,
        deadline: Option<Instant>,
    ) -> Result<SweepOutcome, SweepError> {
        let config = &deps.config;
        let mut outcome = SweepOutcome {
            now: Some(now),
            event_id: ctx.event_id.clone(),
            ..Default::default()
        };

        // 1. Running routers of every account and region swept (selection in core:
        //    DescribeInstances has no ENI-tag filter), then the episodes' starts and state items.
        let scopes = match self.scopes(deps).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "member accounts not listed; sweeping this account only");
                outcome.errors.push(e.to_string());
                vec![own_scope(deps)]
            }
        };
        let gathered = gather(deps, &scopes, now).await?;
        outcome.running_instances = gathered.running;
        outcome.routers = gathered.routers;
        let overdue_before = gathered.overdue_before.clone();
        let mut open = gathered.open.clone();
        outcome.open_episodes = open.len();
        for m in &gathered.unreachable {
            let ctx = ctx.at(m.scope.account.as_deref(), m.scope.region.as_deref(), true);
            let alert = match m.scope.account.as_deref() {
                Some(account) => {
                    act::member_unreachable(deps, &ctx, account, &m.role, &m.error, now)
                        .await
                        .map_err(|e| {
                            tracing::error!(error = %e, "member-unreachable alert not sent");
                            outcome.errors.push(e.to_string());
                        })
                        .ok()
                }
                None => None,
            };
            outcome.members.push(MemberOutcome {
                account: m.scope.account.clone(),
                region: m.scope.region.clone(),
                status: "unreachable".into(),
                routers: 0,
                error: Some(m.error.clone()),
                alert,
            });
        }
        for (scope, routers) in &gathered.reached {
            outcome.members.push(MemberOutcome {
                account: scope.account.clone(),
                region: scope.region.clone(),
                status: "ok".into(),
                routers: *routers,
                error: None,
                alert: None,
            });
        }
        outcome
            .members
            .sort_by(|a, b| (&a.account, &a.region).cmp(&(&b.account, &b.region)));

        // 3. New episodes: read the onboarding config once (oldest first, bounded per sweep).
        let mut new: Vec<&Episode> = open.iter().filter(|e| e.watch.is_none()).collect();
        new.sort_by(|a, b| (a.started_at, &a.instance_id).cmp(&(b.started_at, &b.instance_id)));
        outcome.deferred_init = new.len().saturating_sub(INIT_BUDGET);
        new.truncate(INIT_BUDGET);
        let gathered = &gathered;
        let inits: HashMap<String, WatchItem> = stream::iter(new)
            .map(|e| async move {
                let scoped = gathered.deps_for(deps, e);
                (e.instance_id.clone(), act::init_watch(scoped, e, now).await)
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        outcome.initialised = inits.len();
        for e in &mut open {
            if let Some(w) = inits.get(&e.instance_id) {
                e.watch = Some(w.clone());
            }
        }

        // 4. Mist: one inventory read and one stats read for the whole sweep, only when an
        //    episode is open, within the time budget.
        let inventory;
        outcome.mist.version_check = self.version_check.as_str().to_string();
        let mist_view = if open.is_empty() {
            outcome.mist.status = "not-needed".into();
            MistView::NotConfigured("no open episode".into())
        } else {
            match self.read_mist(self.mist_budget(deadline)).await {
                MistRead::NotConfigured(why) => {
                    outcome.mist.status = "not-configured".into();
                    outcome.mist.detail = Some(why.clone());
                    MistView::NotConfigured(why)
                }
                MistRead::Failed {
                    reason,
                    requests,
                    token_rejected,
                } => {
                    tracing::warn!(decision = "mist-unavailable", reason = %reason, "Mist not read");
                    outcome.mist.status = "unavailable".into();
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
                    MistView::Unavailable(reason)
                }
                MistRead::Ok {
                    inventory: inv,
                    stats,
                } => {
                    outcome.mist.status = "ok".into();
                    outcome.mist.requests = inv.requests + stats.as_ref().map_or(0, |s| s.requests);
                    outcome.mist.devices = inv.items.len();
                    outcome.mist.stats = stats.as_ref().map_or(0, |s| s.items.len());
                    inventory =
                        InventoryIndex::new(inv.items, stats.map(|s| s.items).unwrap_or_default());
                    MistView::Inventory(&inventory)
                }
            }
        };

        // 5. Decide (pure), then act (conditional writes, bounded concurrency).
        let mut plan = plan_sweep(
            &open,
            &mist_view,
            self.version_check,
            now,
            config.onboarding_deadline,
        );
        for p in &plan.episodes {
            let e = &open[p.episode];
            let (id, phase, elapsed) = (e.instance_id.as_str(), p.phase.code(), p.elapsed_minutes);
            match p.decision {
                Decision::Overdue | Decision::Finish => tracing::info!(
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
                phase: phase.to_string(),
                note: p.phase.note().map(String::from),
                decision: p.decision,
            });
        }
        let results: Vec<Result<Vec<act::Act>, crate::aws::AwsError>> =
            stream::iter(plan.actions())
                .map(|p| {
                    let e = &open[p.episode];
                    let ctx = gathered.ctx_for(deps, ctx, e);
                    async move {
                        match p.decision {
                            Decision::Overdue => act::overdue(deps, &ctx, e, &p.phase, now).await,
                            _ => act::finish(deps, &ctx, e, &p.phase, now).await,
                        }
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
        for res in results {
            match res {
                Ok(acts) => {
                    for a in acts {
                        match a {
                            act::Act::Alert(a) => {
                                if a.kind == KIND_OVERDUE {
                                    if let Some(o) = plan
                                        .overdue
                                        .iter_mut()
                                        .find(|o| o.instance_id == a.instance_id)
                                    {
                                        o.alerted |= a.delivery.sent || a.delivery.already_sent;
                                    }
                                }
                                outcome.alerts.push(a);
                            }
                            act::Act::Recorded { seconds } => {
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
        outcome
            .episodes
            .sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        outcome.onboarding_seconds.sort_unstable();

        // 6. The "currently overdue" list for `ssr-onboard report`, written when it changes.
        outcome.overdue_now = plan.overdue.len();
        if overdue_before.as_ref().map(|o| &o.routers) != Some(&plan.overdue) {
            let list = OverdueNow {
                as_of: now,
                routers: plan.overdue,
            };
            if let Err(e) = deps.state.put_overdue_now(&list).await {
                tracing::error!(error = %e, "could not write the overdue list");
                outcome.errors.push(e.to_string());
            }
        }

        tracing::info!(
            running = outcome.running_instances,
            routers = outcome.routers,
            open = outcome.open_episodes,
            initialised = outcome.initialised,
            deferred_init = outcome.deferred_init,
            mist = outcome.mist.status.as_str(),
            mist_requests = outcome.mist.requests,
            alerts_sent = outcome.alerts.iter().filter(|a| a.delivery.sent).count(),
            finished = outcome.finished,
            overdue_now = outcome.overdue_now,
            errors = outcome.errors.len(),
            decision = "swept",
            "onboarding sweep done"
        );
        if let Some(first) = outcome.errors.first().cloned() {
            return Err(SweepError::Incomplete {
                failed: outcome.errors.len(),
                first,
                outcome: Box::new(outcome),
            });
        }
        Ok(outcome)
    }

    /// Both Mist lists (concurrently), all within `budget`.
    async fn read_mist(&self, budget: Duration) -> MistRead {
        let (client, source) = match &self.mist {
            MistSetup::NotConfigured(why) => return MistRead::NotConfigured(why.clone()),
            MistSetup::Broken(why) => {
                return MistRead::Failed {
                    reason: why.clone(),
                    requests: 0,
                    token_rejected: None,
                }
            }
            MistSetup::Ready { client, token } => (client, token),
        };
        let budget_text = format!("{:.1} s", budget.as_secs_f64());
        let timed_out = || MistRead::Failed {
            reason: format!("the Mist read did not finish within its time budget ({budget_text})"),
            requests: 0,
            token_rejected: None,
        };
        let started = Instant::now();
        let token = match tokio::time::timeout(budget, source.token()).await {
            Err(_) => return timed_out(),
            Ok(Ok(t)) => t,
            Ok(Err(reason)) => {
                return MistRead::Failed {
                    reason,
                    requests: 0,
                    token_rejected: None,
                }
            }
        };
        let check = self.version_check;
        let reads = async {
            let inventory = client.gateway_inventory(&token);
            if check == VersionCheck::Off {
                (inventory.await, None)
            } else {
                let (i, s) = tokio::join!(inventory, client.gateway_stats(&token));
                (i, Some(s))
            }
        };
        let left = budget.saturating_sub(started.elapsed());
        let (inventory, stats) = match tokio::time::timeout(left, reads).await {
            Err(_) => return timed_out(),
            Ok(r) => r,
        };
        let requests = 1 + usize::from(stats.is_some());
        let stats = match stats.transpose() {
            Ok(s) => s,
            Err(e) => return self.failed(e, requests, source).await,
        };
        match inventory {
            Ok(inventory) => MistRead::Ok { inventory, stats },
            Err(e) => self.failed(e, requests, source).await,
        }
    }

    /// One gateway's stats (one request, done by `until`), for the webhook's version check.
    pub(crate) async fn stats_of(
        &self,
        mac: &str,
        until: Instant,
    ) -> Result<Option<GatewayStats>, String> {
        let MistSetup::Ready { client, token } = &self.mist else {
            return Err(match &self.mist {
                MistSetup::NotConfigured(why) | MistSetup::Broken(why) => why.clone(),
                MistSetup::Ready { .. } => String::new(),
            });
        };
        let read = async {
            let t = token.token().await?;
            match client.gateway_stats_of(&t, mac).await {
                Ok(s) => Ok(s),
                Err(e) => {
                    let hint = match e {
                        MistError::Unauthorized | MistError::Forbidden { .. } => {
                            token.rejected().await
                        }
                        _ => String::new(),
                    };
                    Err(format!("{e}{hint}"))
                }
            }
        };
        let left = until.saturating_duration_since(Instant::now());
        tokio::time::timeout(left, read).await.unwrap_or_else(|_| {
            Err("the Mist stats read did not finish within its time budget".into())
        })
    }

    pub(crate) fn version_check(&self) -> VersionCheck {
        self.version_check
    }

    async fn failed(&self, e: MistError, requests: usize, source: &TokenSource) -> MistRead {
        let rejected = matches!(e, MistError::Unauthorized | MistError::Forbidden { .. });
        let hint = if rejected {
            source.rejected().await
        } else {
            String::new()
        };
        MistRead::Failed {
            reason: format!("{e}{hint}"),
            requests,
            token_rejected: rejected.then(|| source.origin()),
        }
    }
}
