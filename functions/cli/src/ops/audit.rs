//! The audit engine: every managed router in a region, checked with the guard's rules, and
//! (in [`Mode::Fix`]) the guard's safe fixes applied — the same `check_and_fix` the Lambda runs.
//! With a [`Fleet`]: the same audit in every account and region of an organization
//! ([`scan_fleet`]), each through the member role, in one report. Returns an [`AuditReport`];
//! the `audit` command turns it into text or JSON and an exit code.

use std::collections::HashMap;

use aws_config::SdkConfig;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use ssr_core::aws::accounts::{scopes, Scope};
use ssr_core::aws::ec2::InstanceQuery;
use ssr_core::aws::AwsError;
use ssr_core::config::MemberAccounts;
use ssr_core::deps::{across, member_account_ids, member_role_arn, ScopeFailure};
use ssr_core::findings::{Finding, Severity};
use ssr_core::handlers::guard::{check_and_fix, observe_described, Observed};
use ssr_core::instance_state::is_guarded;
use ssr_core::plan::{ActionResult, ActionStatus};
use ssr_core::select::{Control, Snooze, STACK_NAME_TAG};
use ssr_core::snapshot::{InstanceFacts, Interface};
use ssr_core::{Config, Deadline, Deps};

mod render;
#[cfg(test)]
mod tests;

pub use render::render_text;

use crate::aws_errors;

/// Version tag of the JSON document (bumped on incompatible changes).
pub const SCHEMA: &str = "ssr-onboard/audit/v1";

/// Routers of one account and region observed and checked at once.
const ROUTER_CONCURRENCY: usize = 8;

/// What to audit and how.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The Lambdas' settings (from the environment, with the member role to assume).
    pub config: Config,
    pub mode: Mode,
    /// `None`: the SDK configuration's region only.
    pub fleet: Option<Fleet>,
    /// Account/region scopes audited at once (audits of a [`Fleet`] only).
    pub concurrency: usize,
}

/// What `--accounts` and `--regions` ask for: the audit of several accounts and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub members: MemberAccounts,
    /// Empty: the own region only.
    pub regions: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Report only.
    Check,
    /// `--fix --dry-run`: report and plan.
    DryRun,
    /// `--fix`: apply the safe fixes.
    Fix,
}

#[derive(Debug, Serialize)]
pub struct AuditReport {
    pub schema: &'static str,
    /// The caller's account (audits of several accounts or regions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The region audited (several: the caller's own, audited first).
    pub region: Option<String>,
    pub mode: Mode,
    /// Instances described (pending, running, stopping, stopped), in every scope audited.
    pub instances_scanned: usize,
    /// Sorted by name; with several scopes, scope by scope in the order of `accounts`.
    pub routers: Vec<RouterAudit>,
    pub summary: Summary,
    /// One entry per account and region (audits of several accounts or regions only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<ScopeAudit>,
}

#[derive(Debug, Serialize)]
pub struct RouterAudit {
    /// The router's account and region (audits of several accounts or regions only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub instance_id: String,
    /// Onboarding name, else the Name tag, else the instance id.
    pub name: String,
    pub state: String,
    pub instance_type: Option<String>,
    pub stack: Option<String>,
    /// Why this instance counts as a router.
    pub selected_because: String,
    /// False when the router is in a state the rules do not check (e.g. stopping), or is
    /// tagged `SSR-ONBOARD=ignore`.
    pub checked: bool,
    /// The router's `SSR-ONBOARD` tag: `ignore` (not checked, never written) or `monitor`
    /// (checked, never written, even with `--fix`).
    #[serde(skip_serializing_if = "is_managed")]
    pub control: Control,
    /// `SSR-ONBOARD-SNOOZE-UNTIL`, while it holds (no alerts or pages until then; fixes are
    /// still applied).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snoozed_until: Option<chrono::DateTime<chrono::Utc>>,
    pub findings: Vec<Finding>,
    /// Planned (check, dry-run) or applied (fix) actions with their status.
    pub actions: Vec<ActionResult>,
}

fn is_managed(c: &Control) -> bool {
    *c == Control::Manage
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ScopeStatus {
    Ok,
    Failed,
}

/// One account in one region of an audit across several.
#[derive(Debug, Serialize)]
pub struct ScopeAudit {
    pub account: Option<String>,
    pub region: Option<String>,
    pub status: ScopeStatus,
    /// The member role assumed there (`None`: the caller's own credentials).
    pub role_arn: Option<String>,
    /// Why the scope could not be audited.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What to do about `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    pub instances_scanned: usize,
    pub routers: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub routers: usize,
    pub routers_with_findings: usize,
    /// Unfixed findings of severity warning or error.
    pub findings_remaining: usize,
    pub fixes_planned: usize,
    pub fixes_applied: usize,
    pub fixes_failed: usize,
    /// Account/region scopes that could not be audited (always 0 for one region).
    pub accounts_failed: usize,
}

impl RouterAudit {
    fn remaining(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_open())
    }
}

impl AuditReport {
    /// An audit of several accounts or regions (one table with ACCOUNT and REGION columns).
    fn is_fleet(&self) -> bool {
        !self.accounts.is_empty()
    }
}

/// The counts over `routers` (`accounts_failed` left at 0).
fn summarize(routers: &[RouterAudit]) -> Summary {
    let mut summary = Summary {
        routers: routers.len(),
        ..Default::default()
    };
    for r in routers {
        let remaining = r.remaining().count();
        summary.findings_remaining += remaining;
        summary.routers_with_findings += usize::from(remaining > 0);
        for a in &r.actions {
            match a.status {
                ActionStatus::Planned => summary.fixes_planned += 1,
                ActionStatus::Applied => summary.fixes_applied += 1,
                ActionStatus::Failed | ActionStatus::Unverified => summary.fixes_failed += 1,
            }
        }
    }
    summary
}

/// One instance: the guard's selection, then `check_and_fix` when it is a router in a checked
/// state. `None`: not a router (or gone).
async fn audit_instance(
    deps: &Deps,
    instance: InstanceFacts,
    attached: Vec<Interface>,
    dry_run: bool,
) -> Result<Option<RouterAudit>, AwsError> {
    let snoozed_until = match Snooze::of(&instance.tags) {
        Snooze::Until(t) if t > chrono::Utc::now() => Some(t),
        _ => None,
    };
    let (instance_id, name, instance_type, stack) = (
        instance.instance_id.clone(),
        instance.tags.get("Name").cloned(),
        instance.instance_type.clone(),
        instance.tags.get(STACK_NAME_TAG).cloned(),
    );
    let (snapshot, selection) = match observe_described(deps, instance, attached).await? {
        Observed::Router {
            snapshot,
            selection,
        } => (snapshot, selection),
        // Listed, so the operator sees it is ignored on purpose; nothing more is read.
        Observed::Unselected { state, selection } if selection.control == Control::Ignore => {
            return Ok(Some(RouterAudit {
                account: None,
                region: None,
                name: name.unwrap_or_else(|| instance_id.clone()),
                instance_id,
                state,
                instance_type,
                stack,
                selected_because: selection.reason,
                checked: false,
                control: Control::Ignore,
                snoozed_until,
                findings: vec![],
                actions: vec![],
            }))
        }
        Observed::Unselected { .. } | Observed::NotFound => return Ok(None),
    };
    let checked = is_guarded(&snapshot.state);
    // `SSR-ONBOARD=monitor`: checked, never written (even with --fix).
    let dry_run = dry_run || selection.control == Control::Monitor;
    let (findings, actions) = if checked {
        check_and_fix(deps, &snapshot, dry_run, Deadline::NONE).await
    } else {
        (vec![], vec![])
    };
    tracing::info!(
        instance_id = %snapshot.instance_id,
        findings = findings.len(),
        actions = actions.len(),
        dry_run,
        "router audited"
    );
    Ok(Some(RouterAudit {
        account: None,
        region: None,
        instance_id: snapshot.instance_id.clone(),
        name: snapshot.label().to_string(),
        state: snapshot.state.clone(),
        instance_type: snapshot.instance_type.clone(),
        stack: snapshot.stack_name().map(String::from),
        selected_because: selection.reason,
        checked,
        control: selection.control,
        snoozed_until,
        findings,
        actions,
    }))
}

/// Scans the region: all instances (paginated), their interfaces (batched), the guard's
/// selection, then `check_and_fix` for each router in a checked state (up to
/// `ROUTER_CONCURRENCY` routers at once; the report is sorted by name, then instance id).
pub async fn scan(deps: &Deps, mode: Mode) -> Result<AuditReport, AwsError> {
    let instances = deps.ec2.instances(InstanceQuery::NotTerminated).await?;
    let instances_scanned = instances.len();
    let ids: Vec<String> = instances.iter().map(|i| i.instance_id.clone()).collect();
    let mut enis = if ids.is_empty() {
        HashMap::new()
    } else {
        deps.ec2.interfaces_of(&ids).await?
    };
    let dry_run = mode != Mode::Fix || deps.config.dry_run;
    let work: Vec<(InstanceFacts, Vec<Interface>)> = instances
        .into_iter()
        .map(|i| {
            let attached = enis.remove(&i.instance_id).unwrap_or_default();
            (i, attached)
        })
        .collect();
    let audited: Vec<Option<RouterAudit>> = stream::iter(work)
        .map(|(instance, attached)| audit_instance(deps, instance, attached, dry_run))
        .buffer_unordered(ROUTER_CONCURRENCY)
        .try_collect()
        .await?;
    let mut routers: Vec<RouterAudit> = audited.into_iter().flatten().collect();
    routers.sort_by(|a, b| (&a.name, &a.instance_id).cmp(&(&b.name, &b.instance_id)));
    Ok(AuditReport {
        schema: SCHEMA,
        account: None,
        region: deps.region.clone(),
        mode,
        instances_scanned,
        summary: summarize(&routers),
        routers,
        accounts: Vec::new(),
    })
}

/// The member role a scope is audited through (`None`: the caller's own credentials).
fn role_for(deps: &Deps, scope: &Scope) -> Option<String> {
    let account = scope.account.as_deref()?;
    (Some(account) != deps.account.as_deref()).then(|| {
        member_role_arn(
            &deps.config.member_role_name,
            account,
            scope.region.as_deref().unwrap_or_default(),
        )
    })
}

/// What to do when a scope could not be audited: for a member account whose role could not be
/// used, how to try the role by hand; else the hint for the AWS error.
fn scope_hint(role_arn: Option<&str>, failure: &ScopeFailure<AwsError>) -> String {
    let ScopeFailure::Work(e) = failure else {
        return "run with -v for details".into();
    };
    let message = e.message.to_ascii_lowercase();
    match role_arn {
        Some(role)
            if message.contains("assumerole")
                || message.contains("credentials")
                || e.code.contains("AccessDenied")
                || e.code.contains("InvalidClientTokenId") =>
        {
            format!(
                "the member role could not be assumed: it must exist in that account \
                 (infra/member.yaml) and trust these credentials, which need sts:AssumeRole on it; \
                 try `aws sts assume-role --role-arn {role} --role-session-name ssr-onboard-audit`"
            )
        }
        Some(_) if e.code.contains("UnauthorizedOperation") => {
            "the member role lacks an EC2 permission: update the member stack (infra/member.yaml)"
                .into()
        }
        _ => aws_errors::hint(e).into(),
    }
}

/// Audits every scope (at most `concurrency` at once, each with [`scan`] through
/// [`Deps::scoped`]) and merges the results into one report; a scope that fails is reported in
/// `accounts` and the others are still audited.
pub async fn scan_fleet(
    deps: &Deps,
    scopes: &[Scope],
    mode: Mode,
    concurrency: usize,
) -> AuditReport {
    let results = across(deps, scopes, concurrency, move |d, _scope| async move {
        scan(&d, mode).await
    })
    .await;
    let mut routers = Vec::new();
    let mut accounts = Vec::new();
    let mut instances_scanned = 0;
    for (scope, result) in results {
        let role_arn = role_for(deps, &scope);
        match result {
            Ok(report) => {
                instances_scanned += report.instances_scanned;
                accounts.push(ScopeAudit {
                    account: scope.account.clone(),
                    region: scope.region.clone(),
                    status: ScopeStatus::Ok,
                    role_arn,
                    error: None,
                    hint: None,
                    instances_scanned: report.instances_scanned,
                    routers: report.routers.len(),
                });
                routers.extend(report.routers.into_iter().map(|r| RouterAudit {
                    account: scope.account.clone(),
                    region: scope.region.clone(),
                    ..r
                }));
            }
            Err(failure) => {
                // The whole error (with the SDK's dump) for -v; the report keeps it readable.
                tracing::info!(scope = %scope, error = %failure, "scope not audited");
                let error = match &failure {
                    ScopeFailure::Work(e) => aws_errors::concise(e),
                    ScopeFailure::Scope(e) => e.to_string(),
                };
                accounts.push(ScopeAudit {
                    hint: Some(scope_hint(role_arn.as_deref(), &failure)),
                    account: scope.account.clone(),
                    region: scope.region.clone(),
                    status: ScopeStatus::Failed,
                    role_arn,
                    error: Some(error),
                    instances_scanned: 0,
                    routers: 0,
                });
            }
        }
    }
    let mut summary = summarize(&routers);
    summary.accounts_failed = accounts
        .iter()
        .filter(|a| a.status == ScopeStatus::Failed)
        .count();
    AuditReport {
        schema: SCHEMA,
        account: deps.account.clone(),
        region: deps.region.clone(),
        mode,
        instances_scanned,
        routers,
        summary,
        accounts,
    }
}

/// Audits the SDK configuration's region with [`scan`], or, with `options.fleet`, every account
/// and region it names with [`scan_fleet`] (the caller's account from `sts:GetCallerIdentity`,
/// the member accounts listed or read from the organization first).
pub async fn run(sdk: &SdkConfig, options: AuditOptions) -> Result<AuditReport, AwsError> {
    let mut deps = Deps::from_sdk_config(options.config, sdk);
    let Some(fleet) = options.fleet else {
        return scan(&deps, options.mode).await;
    };
    // `Deps::scoped` assumes the member role only in accounts other than this one.
    deps.account = Some(caller_account(sdk).await?);
    let members = member_account_ids(&deps, &fleet.members).await?;
    let scopes = scopes(
        deps.account.as_deref(),
        deps.region.as_deref(),
        &members,
        &fleet.regions,
    );
    Ok(scan_fleet(&deps, &scopes, options.mode, options.concurrency).await)
}

/// The account the credentials belong to (`sts:GetCallerIdentity`, which needs no permission):
/// the "own" account of an audit across several.
async fn caller_account(sdk: &SdkConfig) -> Result<String, AwsError> {
    let out = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("sts:GetCallerIdentity", e))?;
    out.account().map(String::from).ok_or_else(|| {
        AwsError::new(
            "sts:GetCallerIdentity",
            "MissingAccount",
            "the answer names no account",
        )
    })
}
