//! What a sweep (or a webhook delivery) reads before it decides: every scope's running routers
//! (concurrently, bounded), then their recorded starts and state items from the hub's table.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::SweepError;
use crate::aws::accounts::Scope;
use crate::aws::ec2::InstanceQuery;
use crate::aws::state::items::OverdueNow;
use crate::config::UnverifiedOnboarding;
use crate::deps::{across, ScopeFailure};
use crate::deps::{member_role_arn, Deps};
use crate::episode::Episode;
use crate::render::EventContext;
use crate::select::select;

/// Scopes swept at once (each a DescribeInstances walk and its interface reads).
const SCOPE_CONCURRENCY: usize = 8;

/// This deployment's own account and region.
pub(crate) fn own_scope(deps: &Deps) -> Scope {
    Scope {
        account: deps.account.clone(),
        region: deps.region.clone(),
    }
}

/// A member scope the sweep could not read.
pub(crate) struct Unreachable {
    pub scope: Scope,
    /// The role the hub tried to assume there.
    pub role: String,
    pub error: String,
}

/// What a sweep (or a webhook delivery) knows of the routers of every scope: the open
/// episodes with their state, and each scope's dependencies.
pub(crate) struct Fleet {
    pub running: usize,
    pub routers: usize,
    /// Episodes not finished, with their state items.
    pub open: Vec<Episode>,
    pub overdue_before: Option<OverdueNow>,
    /// Scopes read, with their router count.
    pub reached: Vec<(Scope, usize)>,
    pub unreachable: Vec<Unreachable>,
    /// Each member scope's dependencies (EC2 there with the member role).
    scoped: HashMap<Scope, Deps>,
}

impl Fleet {
    /// The dependencies that act where `e` runs.
    pub fn deps_for<'a>(&'a self, hub: &'a Deps, e: &Episode) -> &'a Deps {
        let scope = Scope {
            account: e.account.clone(),
            region: e.region.clone(),
        };
        self.scoped.get(&scope).unwrap_or(hub)
    }

    /// The alert context for `e`: its account and region, a member's named in the subject.
    pub fn ctx_for(&self, hub: &Deps, ctx: &EventContext, e: &Episode) -> EventContext {
        let member = self.deps_for(hub, e).is_member();
        ctx.at(e.account.as_deref(), e.region.as_deref(), member)
    }
}

/// Reads every scope's running routers (concurrently, bounded), then, from the hub's state
/// table, the episodes' recorded starts and state items (in batches). A member scope that fails
/// is reported in [`Fleet::unreachable`]; the own scope failing fails the whole.
pub(crate) async fn gather(
    deps: &Deps,
    scopes: &[Scope],
    now: DateTime<Utc>,
) -> Result<Fleet, SweepError> {
    let own = own_scope(deps);
    let results = across(deps, scopes, SCOPE_CONCURRENCY, |d, _| async move {
        running_routers(&d).await.map(|r| (d, r))
    })
    .await;
    let mut g = Fleet {
        running: 0,
        routers: 0,
        open: Vec::new(),
        overdue_before: None,
        reached: Vec::new(),
        unreachable: Vec::new(),
        scoped: HashMap::new(),
    };
    let mut episodes = Vec::new();
    for (scope, res) in results {
        match res {
            Ok((d, (running, eps))) => {
                g.running += running;
                g.reached.push((scope.clone(), eps.len()));
                episodes.extend(eps);
                if scope != own {
                    g.scoped.insert(scope, d);
                }
            }
            Err(ScopeFailure::Work(e)) if scope == own => return Err(e),
            Err(e) => {
                let role = member_role_arn(
                    &deps.config.member_role_name,
                    scope.account.as_deref().unwrap_or("?"),
                    scope.region.as_deref().unwrap_or(""),
                );
                tracing::warn!(
                    account = scope.account.as_deref().unwrap_or("?"),
                    region = scope.region.as_deref().unwrap_or("?"),
                    error = %e,
                    decision = "member-unreachable",
                    "member account not swept"
                );
                g.unreachable.push(Unreachable {
                    scope,
                    role,
                    error: e.to_string(),
                });
            }
        }
    }
    g.routers = episodes.len();
    let ids: Vec<String> = episodes.iter().map(|e| e.instance_id.clone()).collect();
    let starts = deps.state.onboarding_starts(&ids).await?;
    for e in &mut episodes {
        if let Some(s) = starts.get(&e.instance_id).filter(|s| **s > e.launch_time) {
            e.started_at = *s;
        }
    }
    let keys: Vec<String> = episodes.iter().map(Episode::key).collect();
    // The unverified notices can only have been sent without Mist settings.
    let with_notices = !deps.config.mist.is_configured()
        && deps.config.watchdog.unverified_onboarding == UnverifiedOnboarding::Notice;
    let (mut states, overdue_before) = deps.state.episode_states(&keys, now, with_notices).await?;
    g.overdue_before = overdue_before;
    for mut e in episodes {
        let st = states.remove(&e.key()).unwrap_or_default();
        if st.done {
            continue;
        }
        e.watch = st.watch;
        e.alerted = st.alerted;
        e.notified = st.notified;
        e.onboarded_before = st.onboarded_before;
        g.open.push(e);
    }
    Ok(g)
}

/// The running instances of the scope `deps` acts in, and those selected as routers as new
/// episodes (launch time as start).
pub(crate) async fn running_routers(deps: &Deps) -> Result<(usize, Vec<Episode>), SweepError> {
    let instances = deps.ec2.instances(InstanceQuery::Running).await?;
    let ids: Vec<String> = instances.iter().map(|i| i.instance_id.clone()).collect();
    let mut interfaces = if ids.is_empty() {
        HashMap::new()
    } else {
        deps.ec2.interfaces_of(&ids).await?
    };
    let running = instances.len();
    let mut out = Vec::new();
    for i in instances {
        // Whole seconds: an episode's key and items are in epoch seconds.
        let Some(launch_time) = i
            .launch_time
            .and_then(|t| DateTime::from_timestamp(t.timestamp(), 0))
        else {
            tracing::warn!(
                instance_id = i.instance_id,
                "running instance without a launch time; skipped"
            );
            continue;
        };
        let ifaces = interfaces.remove(&i.instance_id).unwrap_or_default();
        let selection = select(
            &deps.config,
            &i.tags,
            ifaces.iter().map(|x| (x.eni_id.as_str(), &x.tags)),
        );
        if !selection.selected {
            continue;
        }
        out.push(Episode {
            instance_type: i.instance_type,
            key_name: i.key_name,
            launch_time,
            started_at: launch_time,
            tags: i.tags,
            interfaces: ifaces,
            instance_id: i.instance_id,
            watch: None,
            alerted: false,
            notified: false,
            account: deps.account.clone(),
            region: deps.region.clone(),
            onboarded_before: None,
        });
    }
    Ok((running, out))
}
