//! `onboarding-watchdog`: every minute, an EventBridge scheduled event → one sweep over the
//! running routers; a router still not onboarded `ONBOARDING_DEADLINE_MINUTES` after its
//! onboarding started pages on-call exactly once, and once more ("recovered") when it onboards.
//!
//! Cost of a sweep over N running instances: DescribeInstances (pages of 1,000),
//! DescribeNetworkInterfaces (200 instances per filter, pages of 1,000), BatchGetItem (100 keys
//! per call), at most one paginated Mist inventory read, and, only for episodes seen for the
//! first time, one DescribeInstanceAttribute (userData) and one PutItem each (at most
//! [`INIT_BUDGET`] per sweep). Alerts and records are conditional writes, so duplicate or
//! overlapping sweeps send nothing twice.
//!
//! State items (table `STATE_TABLE`, documented in docs/watchdog.md): `watch#<id>#<start>`,
//! `overdue#<id>#<start>`, `recovered#<id>#<start>`, `episode#<id>#<start>`,
//! `watchdog#overdue-now`.

use std::collections::{BTreeMap, HashMap, HashSet};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ec2::types::{Filter, Instance, NetworkInterface};
use chrono::{DateTime, Duration, Utc};
use futures_util::stream::{self, StreamExt};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::{parse_event, EventError};
use crate::aws::ec2::{interfaces_from, tags_map};
use crate::aws::mist::{MistClient, MistError};
use crate::aws::secrets::{mist_token_from_secret, Secrets};
use crate::aws::state::{Claim, StateStore};
use crate::aws::AwsError;
use crate::config::{Config, ONBOARDED_TAG_KEY};
use crate::deps::Deps;
use crate::onboarding::{inspect_bytes, OnboardingStatus};
use crate::render::watchdog::{overdue_alert, recovered_alert, EpisodeView};
use crate::render::{Alert, EventContext};
use crate::select::{select, STACK_NAME_TAG};
use crate::snapshot::Interface;
use crate::watchdog::{decide, phase_of, Decision, InventoryIndex, MistView, Phase};

pub const SCHEDULE_SOURCE: &str = "aws.events";
pub const SCHEDULE_DETAIL_TYPE: &str = "Scheduled Event";

pub const WATCH_PREFIX: &str = "watch#";
pub const OVERDUE_PREFIX: &str = "overdue#";
pub const RECOVERED_PREFIX: &str = "recovered#";
pub const EPISODE_PREFIX: &str = "episode#";
/// The one item listing the routers overdue as of the latest sweep.
pub const OVERDUE_NOW_PK: &str = "watchdog#overdue-now";
/// `kind` of a finished episode whose duration was measured.
pub const KIND_EPISODE: &str = "episode";
/// `kind` of a finished episode the watchdog first saw already onboarded after the deadline
/// (e.g. routers older than the watchdog): closed, but its duration is not known.
pub const KIND_EPISODE_UNMEASURED: &str = "episode-unmeasured";

/// New episodes whose onboarding config is read per sweep (one DescribeInstanceAttribute each);
/// the rest wait for the next sweep. Keeps a mass launch inside EC2's describe rate limits.
pub const INIT_BUDGET: usize = 100;
/// Concurrent AWS calls for per-episode work.
const CONCURRENCY: usize = 8;
/// State items live this long after their episode started (alert once per episode for 90 days).
const RETENTION_DAYS: i64 = 90;

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
}

/// The JSON summary of one sweep (returned by the Lambda, printed by the CLI). No secrets.
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
    /// New episodes left for a later sweep ([`INIT_BUDGET`]).
    pub deferred_init: usize,
    pub mist: MistOutcome,
    pub episodes: Vec<EpisodeOutcome>,
    pub alerts: Vec<AlertOutcome>,
    /// Episodes finished (recorded) this sweep.
    pub finished: usize,
    pub overdue_now: usize,
    pub errors: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct MistOutcome {
    /// `ok`, `unavailable`, `not-configured` or `not-needed` (no open episode).
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub devices: usize,
    pub requests: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct EpisodeOutcome {
    pub instance_id: String,
    pub router_name: String,
    pub started_at: DateTime<Utc>,
    pub elapsed_minutes: i64,
    pub phase: String,
    pub decision: Decision,
}

#[derive(Clone, Debug, Serialize)]
pub struct AlertOutcome {
    pub instance_id: String,
    /// `onboarding-overdue` or `onboarding-recovered`.
    pub kind: String,
    pub subject: String,
    pub sent: bool,
    /// An earlier or concurrent sweep already sent it (claim held).
    pub already_sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    pub reason: String,
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
}

/// A router overdue as of the latest sweep (item `watchdog#overdue-now`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueRouter {
    pub instance_id: String,
    pub router_name: String,
    pub started_at: DateTime<Utc>,
    pub phase: String,
    pub alerted: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverdueNow {
    pub as_of: DateTime<Utc>,
    pub routers: Vec<OverdueRouter>,
}

/// Every finished, measured onboarding episode (Scan, filter `kind = episode`, all pages).
pub async fn list_episodes(state: &StateStore) -> Result<Vec<EpisodeRecord>, AwsError> {
    let items = state.scan_kinds(&[KIND_EPISODE]).await?;
    let mut out: Vec<EpisodeRecord> = items.iter().filter_map(episode_from_item).collect();
    out.sort_by_key(|e| (e.started_at, e.instance_id.clone()));
    Ok(out)
}

/// The routers overdue as of the latest sweep (`None`: no sweep has written the list yet).
pub async fn list_overdue(state: &StateStore) -> Result<Option<OverdueNow>, AwsError> {
    let Some(table) = state.table() else {
        return Ok(None);
    };
    let items = state
        .batch_get(table, vec![OVERDUE_NOW_PK.to_string()])
        .await?;
    Ok(items.first().and_then(overdue_now_from_item))
}

fn episode_from_item(item: &HashMap<String, AttributeValue>) -> Option<EpisodeRecord> {
    Some(EpisodeRecord {
        instance_id: s_attr(item, "instance_id")?,
        router_name: s_attr(item, "router_name"),
        started_at: time_attr(item, "started_at")?,
        onboarded_at: time_attr(item, "onboarded_at")?,
        duration_seconds: n_attr(item, "duration_seconds")?,
        alerted: item
            .get("alerted")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .unwrap_or(false),
        onboarded_by: s_attr(item, "onboarded_by"),
    })
}

fn overdue_now_from_item(item: &HashMap<String, AttributeValue>) -> Option<OverdueNow> {
    Some(OverdueNow {
        as_of: time_attr(item, "as_of")?,
        routers: serde_json::from_str(&s_attr(item, "routers")?).ok()?,
    })
}

fn s_attr(item: &HashMap<String, AttributeValue>, k: &str) -> Option<String> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .filter(|s| !s.is_empty())
        .cloned()
}

fn n_attr(item: &HashMap<String, AttributeValue>, k: &str) -> Option<i64> {
    item.get(k)?.as_n().ok()?.parse().ok()
}

fn time_attr(item: &HashMap<String, AttributeValue>, k: &str) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(n_attr(item, k)?, 0)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// Where the Mist token comes from.
enum TokenSource {
    /// `MIST_API_TOKEN` (local use).
    Env(SecretString),
    /// `MIST_TOKEN_SECRET_ARN`, read once per cold start (and again after a 401, in case the
    /// secret was rotated).
    Secret {
        arn: String,
        cache: tokio::sync::Mutex<Option<SecretString>>,
    },
}

enum MistSetup {
    NotConfigured(String),
    Broken(String),
    Ready {
        client: MistClient,
        token: TokenSource,
    },
}

/// The watchdog's per-cold-start state: the Mist client (one connection pool, timeouts) and the
/// cached token.
pub struct Watchdog {
    mist: MistSetup,
    secrets: Secrets,
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

/// One running managed router, as a sweep sees it.
struct Router {
    instance_id: String,
    instance_type: Option<String>,
    key_name: Option<String>,
    launch_time: DateTime<Utc>,
    tags: BTreeMap<String, String>,
    interfaces: Vec<Interface>,
    started_at: DateTime<Utc>,
    watch: Option<WatchItem>,
    alerted: bool,
    done: bool,
}

/// Item `watch#…`: what the episode's first sweep learnt from the onboarding config.
#[derive(Clone, Debug)]
struct WatchItem {
    router_name: Option<String>,
    ssr_version: Option<String>,
    onboarding_note: Option<String>,
    first_seen_at: DateTime<Utc>,
}

impl Router {
    fn key(&self) -> String {
        format!("{}#{}", self.instance_id, self.started_at.timestamp())
    }

    fn stack_name(&self) -> Option<&str> {
        self.tags.get(STACK_NAME_TAG).map(String::as_str)
    }

    fn name_tag(&self) -> Option<&str> {
        self.tags
            .get("Name")
            .map(String::as_str)
            .filter(|n| !n.trim().is_empty())
    }

    /// The name Mist knows the router by: onboarding config, else Name tag, else stack name.
    fn mist_name(&self) -> Option<&str> {
        self.watch
            .as_ref()
            .and_then(|w| w.router_name.as_deref())
            .or_else(|| self.name_tag())
            .or_else(|| self.stack_name())
    }

    fn label(&self) -> &str {
        self.mist_name().unwrap_or(&self.instance_id)
    }

    fn macs(&self) -> Vec<String> {
        self.interfaces
            .iter()
            .filter_map(|i| i.mac_address.clone())
            .collect()
    }

    fn onboarded_tag(&self) -> bool {
        self.tags
            .get(ONBOARDED_TAG_KEY)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    }

    fn view(&self) -> EpisodeView<'_> {
        EpisodeView {
            instance_id: &self.instance_id,
            label: self.label(),
            name_tag: self.name_tag(),
            stack_name: self.stack_name(),
            instance_type: self.instance_type.as_deref(),
            key_name: self.key_name.as_deref(),
            launch_time: self.launch_time,
            started_at: self.started_at,
            interfaces: &self.interfaces,
            ssr_version: self.watch.as_ref().and_then(|w| w.ssr_version.as_deref()),
            onboarding_note: self
                .watch
                .as_ref()
                .and_then(|w| w.onboarding_note.as_deref()),
        }
    }
}

impl Watchdog {
    /// Builds the Mist client once (per cold start or CLI run).
    pub fn new(config: &Config, secrets: aws_sdk_secretsmanager::Client) -> Self {
        let token = match (&config.mist.token_secret_arn, &config.mist.token) {
            (Some(arn), _) => Some(TokenSource::Secret {
                arn: arn.clone(),
                cache: tokio::sync::Mutex::new(None),
            }),
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
            secrets: Secrets::new(secrets),
        }
    }

    /// Lambda entry: an EventBridge "Scheduled Event"; "now" is the event's `time`.
    pub async fn handle_event(
        &self,
        deps: &Deps,
        event: serde_json::Value,
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
        };
        self.sweep(deps, now, &ctx).await
    }

    /// One sweep at `now`.
    pub async fn sweep(
        &self,
        deps: &Deps,
        now: DateTime<Utc>,
        ctx: &EventContext,
    ) -> Result<SweepOutcome, SweepError> {
        let event_id = ctx.event_id.as_deref().unwrap_or("");
        let span = tracing::info_span!("sweep", event_id, function = "onboarding-watchdog");
        let _enter = span.enter();
        let config = &deps.config;
        let mut outcome = SweepOutcome {
            now: Some(now),
            event_id: ctx.event_id.clone(),
            ..Default::default()
        };

        // 1. Running instances and their interfaces, in pages; select routers client-side
        //    (DescribeInstances has no ENI-tag filter).
        let instances = deps
            .ec2
            .describe_instances(vec![Filter::builder()
                .name("instance-state-name")
                .values("running")
                .build()])
            .await?;
        outcome.running_instances = instances.len();
        let ids: Vec<String> = instances
            .iter()
            .filter_map(|i| i.instance_id().map(String::from))
            .collect();
        let enis = if ids.is_empty() {
            Vec::new()
        } else {
            deps.ec2.interfaces_of(&ids).await?
        };
        let mut routers = routers_from(config, instances, enis);
        outcome.routers = routers.len();

        // 2. Episode starts, then the episodes' state items, in batches.
        let table = deps.state.table().map(String::from);
        if table.is_some() {
            let router_ids: Vec<String> = routers.iter().map(|r| r.instance_id.clone()).collect();
            let starts = deps.state.onboarding_starts(&router_ids).await?;
            for r in &mut routers {
                if let Some(s) = starts.get(&r.instance_id).filter(|s| **s > r.launch_time) {
                    r.started_at = *s;
                }
            }
        }
        let mut overdue_now_item = None;
        if let Some(table) = &table {
            let mut pks = vec![OVERDUE_NOW_PK.to_string()];
            for r in &routers {
                let k = r.key();
                pks.push(format!("{WATCH_PREFIX}{k}"));
                pks.push(format!("{OVERDUE_PREFIX}{k}"));
                pks.push(format!("{EPISODE_PREFIX}{k}"));
            }
            let items: HashMap<String, HashMap<String, AttributeValue>> = deps
                .state
                .batch_get(table, pks)
                .await?
                .into_iter()
                .filter_map(|item| Some((s_attr(&item, "pk")?, item)))
                .collect();
            for r in &mut routers {
                let k = r.key();
                r.watch = items.get(&format!("{WATCH_PREFIX}{k}")).map(|i| WatchItem {
                    router_name: s_attr(i, "router_name"),
                    ssr_version: s_attr(i, "ssr_version"),
                    onboarding_note: s_attr(i, "onboarding_note"),
                    first_seen_at: time_attr(i, "first_seen_at").unwrap_or(now),
                });
                r.alerted = items
                    .get(&format!("{OVERDUE_PREFIX}{k}"))
                    .is_some_and(|i| n_attr(i, "expires_at").is_none_or(|e| e >= now.timestamp()));
                r.done = items.contains_key(&format!("{EPISODE_PREFIX}{k}"));
            }
            overdue_now_item = items.get(OVERDUE_NOW_PK).and_then(overdue_now_from_item);
        }
        let mut open: Vec<Router> = routers.into_iter().filter(|r| !r.done).collect();
        outcome.open_episodes = open.len();

        // 3. New episodes: read the onboarding config once (oldest first, bounded per sweep).
        let mut new: Vec<&Router> = open.iter().filter(|r| r.watch.is_none()).collect();
        new.sort_by(|a, b| (a.started_at, &a.instance_id).cmp(&(b.started_at, &b.instance_id)));
        outcome.deferred_init = new.len().saturating_sub(INIT_BUDGET);
        new.truncate(INIT_BUDGET);
        let inits: HashMap<String, WatchItem> = stream::iter(new)
            .map(|r| async move { (r.instance_id.clone(), init_watch(deps, r, now).await) })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        outcome.initialised = inits.len();
        for r in &mut open {
            if let Some(w) = inits.get(&r.instance_id) {
                r.watch = Some(w.clone());
            }
        }

        // 4. Mist: one inventory read for the whole sweep, only when an episode is open.
        let inventory;
        let mist_view = if open.is_empty() {
            outcome.mist.status = "not-needed".into();
            MistView::NotConfigured("no open episode".into())
        } else {
            match self.inventory().await {
                MistRead::NotConfigured(why) => {
                    outcome.mist.status = "not-configured".into();
                    outcome.mist.detail = Some(why.clone());
                    MistView::NotConfigured(why)
                }
                MistRead::Failed { reason, requests } => {
                    tracing::warn!(decision = "mist-unavailable", reason = %reason, "Mist inventory not read");
                    outcome.mist.status = "unavailable".into();
                    outcome.mist.detail = Some(reason.clone());
                    outcome.mist.requests = requests;
                    MistView::Unavailable(reason)
                }
                MistRead::Ok(inv) => {
                    outcome.mist.status = "ok".into();
                    outcome.mist.requests = inv.requests;
                    outcome.mist.devices = inv.devices.len();
                    inventory = InventoryIndex::new(inv.devices);
                    MistView::Inventory(&inventory)
                }
            }
        };

        // 5. Decide per episode (pure), then act (conditional writes, bounded concurrency).
        let deadline = config.onboarding_deadline;
        let mut overdue_list = Vec::new();
        let mut work = Vec::new();
        for r in &open {
            let want = r.watch.as_ref().and_then(|w| w.ssr_version.as_deref());
            let phase = phase_of(
                &mist_view,
                r.onboarded_tag(),
                r.mist_name(),
                &r.macs(),
                want,
            );
            let decision = decide(
                now,
                r.started_at,
                deadline,
                &phase,
                r.watch.is_some(),
                r.alerted,
            );
            let elapsed = (now - r.started_at).num_minutes();
            let fields = (r.instance_id.as_str(), phase.code(), elapsed);
            match decision {
                Decision::Overdue | Decision::Finish => tracing::info!(
                    instance_id = fields.0, phase = fields.1, elapsed_minutes = fields.2,
                    decision = ?decision, "onboarding episode"
                ),
                _ => tracing::debug!(
                    instance_id = fields.0, phase = fields.1, elapsed_minutes = fields.2,
                    decision = ?decision, "onboarding episode"
                ),
            }
            if matches!(decision, Decision::Overdue | Decision::StillOverdue) {
                overdue_list.push(OverdueRouter {
                    instance_id: r.instance_id.clone(),
                    router_name: r.label().to_string(),
                    started_at: r.started_at,
                    phase: phase.code().to_string(),
                    alerted: r.alerted,
                });
            }
            outcome.episodes.push(EpisodeOutcome {
                instance_id: r.instance_id.clone(),
                router_name: r.label().to_string(),
                started_at: r.started_at,
                elapsed_minutes: elapsed,
                phase: phase.code().to_string(),
                decision,
            });
            if matches!(decision, Decision::Overdue | Decision::Finish) {
                work.push((r, phase, decision));
            }
        }
        let results: Vec<Result<Vec<ActOutcome>, AwsError>> = stream::iter(work)
            .map(|(r, phase, decision)| async move {
                match decision {
                    Decision::Overdue => overdue(deps, ctx, r, &phase, now).await.map(|a| vec![a]),
                    _ => finish(deps, ctx, r, &phase, now).await,
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
                            ActOutcome::Alert(a) => {
                                if a.kind == "onboarding-overdue" {
                                    if let Some(o) = overdue_list
                                        .iter_mut()
                                        .find(|o| o.instance_id == a.instance_id)
                                    {
                                        o.alerted |= a.sent || a.already_sent;
                                    }
                                }
                                outcome.alerts.push(a);
                            }
                            ActOutcome::Recorded => outcome.finished += 1,
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

        // 6. The "currently overdue" list for `ssr-onboard report`, written when it changes.
        overdue_list.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
        outcome.overdue_now = overdue_list.len();
        if table.is_some() && overdue_now_item.as_ref().map(|o| &o.routers) != Some(&overdue_list) {
            if let Err(e) = write_overdue_now(&deps.state, now, &overdue_list).await {
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
            alerts_sent = outcome.alerts.iter().filter(|a| a.sent).count(),
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

    async fn inventory(&self) -> MistRead {
        let (client, source) = match &self.mist {
            MistSetup::NotConfigured(why) => return MistRead::NotConfigured(why.clone()),
            MistSetup::Broken(why) => {
                return MistRead::Failed {
                    reason: why.clone(),
                    requests: 0,
                }
            }
            MistSetup::Ready { client, token } => (client, token),
        };
        let token = match self.token(source).await {
            Ok(t) => t,
            Err(reason) => {
                return MistRead::Failed {
                    reason,
                    requests: 0,
                }
            }
        };
        match client.gateway_inventory(&token).await {
            Ok(inv) => MistRead::Ok(inv),
            Err(e) => {
                let hint = match (&e, source) {
                    (MistError::Unauthorized, TokenSource::Secret { arn, cache }) => {
                        // Re-read the secret next sweep, in case it was rotated.
                        *cache.lock().await = None;
                        format!(": check the token in {arn}")
                    }
                    (MistError::Unauthorized, TokenSource::Env(_)) => {
                        ": check MIST_API_TOKEN".to_string()
                    }
                    _ => String::new(),
                };
                MistRead::Failed {
                    reason: format!("{e}{hint}"),
                    requests: 1,
                }
            }
        }
    }

    async fn token(&self, source: &TokenSource) -> Result<SecretString, String> {
        match source {
            TokenSource::Env(t) => Ok(t.clone()),
            TokenSource::Secret { arn, cache } => {
                let mut guard = cache.lock().await;
                if let Some(t) = guard.as_ref() {
                    return Ok(t.clone());
                }
                let raw = self.secrets.secret_string(arn).await.map_err(|e| {
                    format!(
                        "the Mist token could not be read from {arn} ({}: {})",
                        e.code, e.message
                    )
                })?;
                let token = mist_token_from_secret(&raw).ok_or_else(|| {
                    format!("secret {arn} holds neither a token nor JSON {{\"token\": \"...\"}}")
                })?;
                *guard = Some(token.clone());
                Ok(token)
            }
        }
    }
}

enum MistRead {
    NotConfigured(String),
    Failed { reason: String, requests: usize },
    Ok(crate::aws::mist::Inventory),
}

enum ActOutcome {
    Alert(AlertOutcome),
    Recorded,
}

fn routers_from(
    config: &Config,
    instances: Vec<Instance>,
    enis: Vec<NetworkInterface>,
) -> Vec<Router> {
    let mut by_instance: HashMap<String, Vec<NetworkInterface>> = HashMap::new();
    for eni in enis {
        if let Some(id) = eni.attachment().and_then(|a| a.instance_id()) {
            by_instance.entry(id.to_string()).or_default().push(eni);
        }
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for i in instances {
        let Some(id) = i.instance_id().map(String::from) else {
            continue;
        };
        if !seen.insert(id.clone()) {
            continue;
        }
        let Some(launch_time) = i
            .launch_time()
            .and_then(|t| DateTime::from_timestamp(t.secs(), 0))
        else {
            tracing::warn!(
                instance_id = id,
                "running instance without a launch time; skipped"
            );
            continue;
        };
        let tags = tags_map(i.tags());
        let interfaces = interfaces_from(by_instance.get(&id).map(Vec::as_slice).unwrap_or(&[]));
        let selection = select(
            config,
            &tags,
            interfaces.iter().map(|x| (x.eni_id.as_str(), &x.tags)),
        );
        if !selection.selected {
            continue;
        }
        out.push(Router {
            instance_type: i.instance_type().map(|t| t.as_str().to_string()),
            key_name: i.key_name().map(String::from),
            launch_time,
            started_at: launch_time,
            tags,
            interfaces,
            instance_id: id,
            watch: None,
            alerted: false,
            done: false,
        });
    }
    out
}

/// Reads the onboarding config (user data) once for a new episode and writes `watch#…`.
async fn init_watch(deps: &Deps, r: &Router, now: DateTime<Utc>) -> WatchItem {
    let (router_name, ssr_version, onboarding_note) = match deps.ec2.user_data(&r.instance_id).await
    {
        Ok(bytes) => match inspect_bytes(bytes.as_deref()) {
            OnboardingStatus::Parsed { config, problems } => (
                config.name,
                config.ssr_version,
                (!problems.is_empty()).then(|| problems.join("; ")),
            ),
            OnboardingStatus::Missing { reason }
            | OnboardingStatus::Unreadable { reason }
            | OnboardingStatus::NotChecked { reason } => (None, None, Some(reason)),
        },
        Err(e) => {
            tracing::warn!(instance_id = r.instance_id, error = %e, "user data not readable");
            (
                None,
                None,
                Some(format!(
                    "user data not readable ({}); the SSR version is not checked",
                    e.code
                )),
            )
        }
    };
    let w = WatchItem {
        router_name,
        ssr_version,
        onboarding_note,
        first_seen_at: now,
    };
    let mut attrs = HashMap::from([
        ("kind".to_string(), s("watch")),
        ("instance_id".to_string(), s(&r.instance_id)),
        ("started_at".to_string(), n(r.started_at.timestamp())),
        ("first_seen_at".to_string(), n(now.timestamp())),
        (
            "expires_at".to_string(),
            n((r.started_at + Duration::days(RETENTION_DAYS)).timestamp()),
        ),
    ]);
    for (k, v) in [
        ("router_name", &w.router_name),
        ("ssr_version", &w.ssr_version),
        ("onboarding_note", &w.onboarding_note),
    ] {
        if let Some(v) = v {
            attrs.insert(k.to_string(), s(v));
        }
    }
    if let Err(e) = deps
        .state
        .put_if_absent(&format!("{WATCH_PREFIX}{}", r.key()), attrs)
        .await
    {
        // Used for this sweep anyway; the next sweep reads the config again.
        tracing::warn!(instance_id = r.instance_id, error = %e, "could not store the episode's onboarding config");
    }
    w
}

/// Sends `alert` once for claim `pk` (released again if the publish fails). Without a topic or
/// a table nothing is sent: exactly-once could not be kept.
async fn send_once(
    deps: &Deps,
    pk: &str,
    r: &Router,
    now: DateTime<Utc>,
    kind: &str,
    phase: &Phase,
    alert: Alert,
) -> Result<AlertOutcome, AwsError> {
    let mut out = AlertOutcome {
        instance_id: r.instance_id.clone(),
        kind: kind.to_string(),
        subject: alert.subject.clone(),
        sent: false,
        already_sent: false,
        message_id: None,
        reason: String::new(),
    };
    if deps.alerts.topic_arn().is_none() {
        out.reason = "ALERT_TOPIC_ARN is not set: alert rendered, not sent".into();
        return Ok(out);
    }
    let attrs = HashMap::from([
        ("kind".to_string(), s(kind)),
        ("instance_id".to_string(), s(&r.instance_id)),
        ("router_name".to_string(), s(r.label())),
        ("started_at".to_string(), n(r.started_at.timestamp())),
        ("phase".to_string(), s(phase.code())),
    ]);
    let expires = r.started_at + Duration::days(RETENTION_DAYS);
    match deps.state.claim(pk, now, expires, attrs).await? {
        Claim::Won => {}
        Claim::Held => {
            out.already_sent = true;
            out.reason = "already sent for this episode".into();
            return Ok(out);
        }
        Claim::NoTable => {
            out.reason =
                "STATE_TABLE is not set: exactly-once cannot be kept, alert rendered, not sent"
                    .into();
            return Ok(out);
        }
    }
    match deps.alerts.publish(&alert).await {
        Ok(message_id) => {
            tracing::info!(
                instance_id = r.instance_id,
                kind,
                decision = "alerted",
                "alert sent"
            );
            out.sent = true;
            out.message_id = message_id;
            out.reason = "sent".into();
            Ok(out)
        }
        Err(e) => {
            if let Err(release) = deps.state.release(pk).await {
                tracing::warn!(instance_id = r.instance_id, error = %release, "could not release the alert claim");
            }
            Err(e)
        }
    }
}

async fn overdue(
    deps: &Deps,
    ctx: &EventContext,
    r: &Router,
    phase: &Phase,
    now: DateTime<Utc>,
) -> Result<ActOutcome, AwsError> {
    let alert = overdue_alert(ctx, &r.view(), phase, now, deps.config.onboarding_deadline);
    let pk = format!("{OVERDUE_PREFIX}{}", r.key());
    send_once(deps, &pk, r, now, "onboarding-overdue", phase, alert)
        .await
        .map(ActOutcome::Alert)
}

/// Onboarded: the recovery notice first (if it was alerted), then the episode record, so a
/// failed notice is retried by the next sweep.
async fn finish(
    deps: &Deps,
    ctx: &EventContext,
    r: &Router,
    phase: &Phase,
    now: DateTime<Utc>,
) -> Result<Vec<ActOutcome>, AwsError> {
    let mut acts = Vec::new();
    if r.alerted {
        let alert = recovered_alert(ctx, &r.view(), phase, now);
        let pk = format!("{RECOVERED_PREFIX}{}", r.key());
        acts.push(ActOutcome::Alert(
            send_once(deps, &pk, r, now, "onboarding-recovered", phase, alert).await?,
        ));
    }
    let first_seen = r.watch.as_ref().map_or(now, |w| w.first_seen_at);
    let measured = r.alerted || first_seen <= r.started_at + deps.config.onboarding_deadline;
    let onboarded_by = match phase {
        Phase::Onboarded {
            by: crate::watchdog::OnboardedBy::Tag,
        } => "tag",
        _ => "mist",
    };
    let mut attrs = HashMap::from([
        (
            "kind".to_string(),
            s(if measured {
                KIND_EPISODE
            } else {
                KIND_EPISODE_UNMEASURED
            }),
        ),
        ("instance_id".to_string(), s(&r.instance_id)),
        ("router_name".to_string(), s(r.label())),
        ("started_at".to_string(), n(r.started_at.timestamp())),
        ("onboarded_at".to_string(), n(now.timestamp())),
        ("alerted".to_string(), AttributeValue::Bool(r.alerted)),
        ("onboarded_by".to_string(), s(onboarded_by)),
        (
            "expires_at".to_string(),
            n((now + Duration::days(RETENTION_DAYS)).timestamp()),
        ),
    ]);
    if measured {
        attrs.insert(
            "duration_seconds".to_string(),
            n((now - r.started_at).num_seconds()),
        );
    }
    let written = deps
        .state
        .put_if_absent(&format!("{EPISODE_PREFIX}{}", r.key()), attrs)
        .await?;
    if written {
        tracing::info!(
            instance_id = r.instance_id,
            duration_seconds = (now - r.started_at).num_seconds(),
            measured,
            alerted = r.alerted,
            decision = "finished",
            "onboarding episode finished"
        );
        acts.push(ActOutcome::Recorded);
    }
    Ok(acts)
}

async fn write_overdue_now(
    state: &StateStore,
    now: DateTime<Utc>,
    routers: &[OverdueRouter],
) -> Result<(), AwsError> {
    let json = serde_json::to_string(routers)
        .map_err(|e| AwsError::new("PutItem", "Serialization", e.to_string()))?;
    let attrs = HashMap::from([
        ("kind".to_string(), s("overdue-now")),
        ("as_of".to_string(), n(now.timestamp())),
        ("count".to_string(), n(routers.len() as i64)),
        ("routers".to_string(), s(json)),
    ]);
    state.put(OVERDUE_NOW_PK, attrs).await.map(|_| ())
}
