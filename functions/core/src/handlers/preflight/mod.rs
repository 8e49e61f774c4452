//! Preflight: a function checks its own permissions, under its own role, without writing to
//! EC2. Every Lambda answers the event `{"ssr-onboard": "preflight", "instance_id": "i-…"?}`
//! with a [`PreflightReport`] (`ssr-onboard doctor` invokes it through `lambda:InvokeFunction`;
//! the deployment's PreTraffic hook runs it against a new version before traffic shifts).
//!
//! What it does:
//! - every read the function makes in its normal work, on one router per selection path it
//!   finds (router tag, interface tag, stack name: [`routers`]), or on the instance named;
//! - every EC2 write as a `DryRun` (instance-guard and stack-watch, the two that write):
//!   ModifyNetworkInterfaceAttribute `SourceDestCheck=false` on each of the router's
//!   interfaces, ModifyInstanceAttribute `EnaSupport=true` on the router. `DryRunOperation` is
//!   allowed (ok), `UnauthorizedOperation` denied (a problem naming the action);
//! - its only write: the claim path of the state table, on `preflight#<request-id>`
//!   (conditional PutItem, then DeleteItem at once; the item also expires by TTL);
//! - at an organization hub, the same in every member scope through the member role, bounded
//!   by the invocation's deadline; the scopes not reached are listed;
//! - the watchdog and the webhook: the Mist token readable and accepted (`GET /api/v1/self`,
//!   the org among its privileges); the webhook: its signing secret readable.
//!
//! No secret value is ever put into the report.

pub mod routers;

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::aws::accounts::Scope;
use crate::aws::ec2::{DryRun, InstanceQuery};
use crate::aws::secrets::{CachedSecret, Secrets, MIST_TOKEN, WEBHOOK_SECRET};
use crate::aws::state::items::ClaimItem;
use crate::aws::state::Claim;
use crate::aws::AwsError;
use crate::check::{Check, PreflightReport};
use crate::config::MemberAccounts;
use crate::deadline::Deadline;
use crate::deps::{across, member_role_arn, CoveredScopes, Deps, ScopeFailure};
use crate::function::Function;
use crate::metrics::{Measured, Metrics};
use crate::mist::client::{MistClient, MistError};
use crate::select::STACK_NAME_TAG;
use crate::snapshot::{is_instance_id, InstanceFacts, Interface};

pub use routers::{pick, Path, Pick};

/// The preflight event's key and value: `{"ssr-onboard": "preflight"}`.
pub const EVENT_KEY: &str = "ssr-onboard";
pub const EVENT_VALUE: &str = "preflight";
/// The key prefix of the state item the preflight writes and deletes.
pub const ITEM_PREFIX: &str = "preflight#";
/// How long the preflight's state item lives if its DeleteItem fails (TTL).
const ITEM_TTL: chrono::Duration = chrono::Duration::hours(1);
/// Kept before the invocation's deadline for the answer.
const DEADLINE_MARGIN: Duration = Duration::from_secs(3);
/// Member scopes checked at once.
const MEMBER_CONCURRENCY: usize = 4;
/// Interfaces of one router asked with DryRun (a guide router has two).
const MAX_DRY_RUN_ENIS: usize = 8;
/// The Mist `GET /api/v1/self` may take this long.
const MIST_TIMEOUT: Duration = Duration::from_secs(15);
/// Without a deadline (the CLI), the checks may take this long.
const UNBOUNDED: Duration = Duration::from_secs(300);

/// A preflight event, read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PreflightRequest {
    /// The router to check (else one per selection path).
    pub instance_id: Option<String>,
    /// What is wrong with the event (the report says so; the preflight still runs).
    pub invalid: Option<String>,
}

/// `Some` when `payload` is a preflight event (`"ssr-onboard": "preflight"`); any other event
/// is the function's normal work.
pub fn request_of(payload: &Value) -> Option<PreflightRequest> {
    if payload.get(EVENT_KEY)?.as_str()? != EVENT_VALUE {
        return None;
    }
    let mut request = PreflightRequest::default();
    match payload.get("instance_id") {
        None | Some(Value::Null) => {}
        Some(Value::String(id)) if is_instance_id(id) => request.instance_id = Some(id.clone()),
        Some(other) => {
            let shown: String = other.to_string().chars().take(40).collect();
            request.invalid = Some(format!(
                "instance_id must be an EC2 instance id (i- and 8 or 17 hex digits), got {shown}"
            ));
        }
    }
    Some(request)
}

/// One preflight run: which function, the invocation's request id and deadline.
#[derive(Clone, Debug)]
pub struct Preflight<'a> {
    pub function: Function,
    /// The invocation's request id: the state item is `preflight#<request-id>`.
    pub request_id: String,
    pub deadline: Deadline,
    /// A hub's scope list, cached per warm container (`None`: read afresh).
    pub scopes: Option<&'a CoveredScopes>,
}

impl Preflight<'static> {
    pub fn new(function: Function, request_id: impl Into<String>, deadline: Deadline) -> Self {
        Preflight {
            function,
            request_id: request_id.into(),
            deadline,
            scopes: None,
        }
    }
}

impl<'a> Preflight<'a> {
    /// The same run with the function's cached scope list.
    pub fn with_scopes<'b>(self, scopes: &'b CoveredScopes) -> Preflight<'b> {
        Preflight {
            function: self.function,
            request_id: self.request_id,
            deadline: self.deadline,
            scopes: Some(scopes),
        }
    }

    fn writes_ec2(&self) -> bool {
        matches!(
            self.function,
            Function::InstanceGuard | Function::StackWatch
        )
    }

    fn reads_mist(&self) -> bool {
        matches!(
            self.function,
            Function::OnboardingWatchdog | Function::MistWebhook
        )
    }
}

/// What a function answers: its normal outcome, or a preflight report.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Answer<O> {
    Outcome(O),
    Preflight(PreflightReport),
}

/// A preflight reports no outcome metrics (it is not a sweep, a fix or a delivery).
impl<O: Measured> Measured for Answer<O> {
    fn metrics(&self) -> Metrics {
        match self {
            Answer::Outcome(o) => o.metrics(),
            Answer::Preflight(_) => Metrics::default(),
        }
    }
}

/// Runs the preflight. Never fails: every problem is a check.
pub async fn run(deps: &Deps, pf: &Preflight<'_>, request: &PreflightRequest) -> PreflightReport {
    let mut checks = Vec::new();
    if let Some(why) = &request.invalid {
        checks.push(Check::problem(
            "preflight.request",
            why.clone(),
            r#"send {"ssr-onboard": "preflight"}, with "instance_id": "i-…" to check one router"#,
        ));
    }
    let deadline = pf.deadline.less(DEADLINE_MARGIN);
    let (state, services, ec2) = tokio::join!(
        state_checks(deps, pf),
        service_checks(deps, pf),
        ec2_checks(deps, pf, request, deadline)
    );
    checks.extend(state);
    checks.extend(services);
    checks.extend(ec2);
    let report = PreflightReport::new(pf.function.name(), crate::build_info::describe(), checks);
    tracing::info!(
        passed = report.passed(),
        checks = report.checks.len(),
        problems = report
            .checks
            .iter()
            .filter(|c| c.status == crate::check::CheckStatus::Problem)
            .count(),
        "preflight"
    );
    report
}

/// IAM denied the call (each service's code for it).
fn denied(e: &AwsError) -> bool {
    matches!(
        e.code.as_str(),
        "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" | "AuthFailure"
    )
}

/// The fix for a failed call of `action`: a grant when IAM denied it, else what EC2 said.
fn fix_for(function: Function, action: &str, e: &AwsError) -> String {
    if denied(e) {
        format!(
            "grant {action} to the {} role: deploy this release's infra/template.yaml (docs/iam.md lists every grant)",
            function.name()
        )
    } else {
        format!(
            "run the preflight again; AWS answered {} ({})",
            e.code, e.message
        )
    }
}

/// A check of one AWS call.
fn call_check<T>(
    function: Function,
    name: String,
    action: &str,
    res: &Result<T, AwsError>,
    ok_detail: impl FnOnce(&T) -> String,
) -> Check {
    match res {
        Ok(v) => Check::ok(name, ok_detail(v)),
        Err(e) => Check::problem(name, e.to_string(), fix_for(function, action, e)),
    }
}

// ---------------------------------------------------------------- state table

async fn state_checks(deps: &Deps, pf: &Preflight<'_>) -> Vec<Check> {
    let Some(table) = deps.state.table().map(String::from) else {
        return vec![Check::skipped(
            "state.claim",
            "no state table (STATE_TABLE is not set): alerts are not de-duplicated",
        )];
    };
    let f = pf.function;
    let pk = format!("{ITEM_PREFIX}{}", pf.request_id);
    let now = chrono::Utc::now();
    let item = ClaimItem {
        kind: "preflight".into(),
        ..ClaimItem::default()
    };
    let mut out = Vec::new();
    match deps.state.claim(&pk, now, now + ITEM_TTL, item).await {
        Ok(Claim::Won) => {
            out.push(Check::ok(
                "state.claim",
                format!("conditional PutItem of {pk} in {table} written (the alert claim path)"),
            ));
            let released = deps.state.release(&pk).await;
            out.push(call_check(
                f,
                "state.delete".into(),
                "dynamodb:DeleteItem",
                &released,
                |_| format!("DeleteItem of {pk}: deleted"),
            ));
        }
        Ok(Claim::Held) => out.push(Check::warning(
            "state.claim",
            format!(
                "{pk} already exists in {table}: the claim answered held, the write was not proven"
            ),
            "run the preflight again (each invocation has its own request id)",
        )),
        Ok(Claim::NoTable) => out.push(Check::skipped("state.claim", "no state table")),
        Err(e) => out.push(Check::problem(
            "state.claim",
            e.to_string(),
            fix_for(f, "dynamodb:PutItem", &e),
        )),
    }
    if pf.reads_mist() {
        // The sweep reads every episode with BatchGetItem: read one key that does not exist.
        let read = deps
            .state
            .onboarding_starts(std::slice::from_ref(&pk))
            .await;
        out.push(call_check(
            f,
            "state.batch-read".into(),
            "dynamodb:BatchGetItem",
            &read,
            |_| format!("BatchGetItem on {table} answered"),
        ));
    }
    out
}

// ---------------------------------------------------------------- secrets and Mist

async fn service_checks(deps: &Deps, pf: &Preflight<'_>) -> Vec<Check> {
    let mut out = Vec::new();
    if pf.function == Function::MistWebhook {
        out.push(webhook_secret_check(deps).await);
    }
    if pf.reads_mist() {
        out.extend(mist_checks(deps).await);
    }
    out
}

async fn webhook_secret_check(deps: &Deps) -> Check {
    let m = &deps.config.mist;
    let secret = match (&m.webhook_secret_arn, &m.webhook_secret) {
        (Some(arn), _) => CachedSecret::stored(
            WEBHOOK_SECRET,
            arn.clone(),
            Secrets::new(deps.secrets_client()),
        ),
        (None, Some(s)) => CachedSecret::given(WEBHOOK_SECRET, s.clone()),
        (None, None) => {
            return Check::problem(
                "webhook.secret",
                "neither MIST_WEBHOOK_SECRET_ARN nor MIST_WEBHOOK_SECRET is set: every delivery is refused",
                "set MistWebhookSecretArn",
            )
        }
    };
    match secret.get().await {
        Ok(_) => Check::ok("webhook.secret", format!("readable from {}", secret.origin())),
        Err(why) => Check::problem(
            "webhook.secret",
            why,
            "grant secretsmanager:GetSecretValue on MistWebhookSecretArn (and kms:Decrypt on MistWebhookSecretKmsKeyArn), or fix the secret's value",
        ),
    }
}

async fn mist_checks(deps: &Deps) -> Vec<Check> {
    let m = &deps.config.mist;
    let Some(org) = m.org_id.as_deref() else {
        return vec![Check::skipped(
            "mist.token",
            "Mist is not configured (MIST_ORG_ID is not set): onboarding is not confirmed with Mist",
        )];
    };
    let token = match (&m.token_secret_arn, &m.token) {
        (Some(arn), _) => {
            CachedSecret::stored(MIST_TOKEN, arn.clone(), Secrets::new(deps.secrets_client()))
        }
        (None, Some(t)) => CachedSecret::given(MIST_TOKEN, t.clone()),
        (None, None) => {
            return vec![Check::skipped(
                "mist.token",
                "neither MIST_TOKEN_SECRET_ARN nor MIST_API_TOKEN is set: Mist is not read",
            )]
        }
    };
    let value = match token.get().await {
        Ok(v) => v,
        Err(why) => {
            return vec![Check::problem(
                "mist.token",
                why,
                "grant secretsmanager:GetSecretValue on MistTokenSecretArn (and kms:Decrypt on MistTokenSecretKmsKeyArn), or fix the secret's value",
            )]
        }
    };
    let mut out = vec![Check::ok(
        "mist.token",
        format!("readable from {}", token.origin()),
    )];
    let api = m.api_url.as_str();
    let answer = match MistClient::new(api, org) {
        Err(e) => Err(e),
        Ok(client) => tokio::time::timeout(MIST_TIMEOUT, client.token_privileges(&value))
            .await
            .unwrap_or_else(|_| {
                Err(MistError::Unreachable {
                    url: api.to_string(),
                    reason: format!("no answer in {} s", MIST_TIMEOUT.as_secs()),
                })
            }),
    };
    out.push(match answer {
        Ok(privileges) => match privileges
            .iter()
            .find(|p| p.org_id.as_deref() == Some(org))
        {
            Some(p) => Check::ok(
                "mist.self",
                format!(
                    "{api} accepted the token; it has role {} on org {org}",
                    p.role.as_deref().unwrap_or("?")
                ),
            ),
            None => Check::problem(
                "mist.self",
                format!(
                    "{api} accepted the token, but none of its {} privileges is on org {org}",
                    privileges.len()
                ),
                "use a token of an administrator of MistOrgId's organization, or fix MistOrgId",
            ),
        },
        Err(MistError::Unauthorized) => Check::problem(
            "mist.self",
            format!("{api} refused the token (401)"),
            "a token from another Mist cloud is refused: set MistApiUrl to the token's cloud (https://api.mist.com, https://api.eu.mist.com, https://api.gc1.mist.com, https://api.ac2.mist.com, …: docs/support.md), or put a valid token in the secret",
        ),
        Err(e) => Check::problem(
            "mist.self",
            e.to_string(),
            "check MistApiUrl (docs/support.md lists Mist's clouds) and that the function can reach it",
        ),
    });
    out
}

// ---------------------------------------------------------------- EC2 (and CloudFormation)

async fn ec2_checks(
    deps: &Deps,
    pf: &Preflight<'_>,
    request: &PreflightRequest,
    deadline: Deadline,
) -> Vec<Check> {
    let own = async {
        let work = scope_checks(deps, pf, request.instance_id.as_deref(), "");
        match tokio::time::timeout(deadline.remaining_or(UNBOUNDED), work).await {
            Ok(checks) => checks,
            Err(_) => vec![Check::problem(
                "ec2.deadline",
                "the EC2 checks did not finish before the invocation's deadline",
                "raise the function's Timeout, or name one router with \"instance_id\"",
            )],
        }
    };
    // A hub (HUB_ACCOUNT_ID) with members or other regions also checks each member scope.
    let is_hub = deps.config.hub_account_id.is_some()
        && (!matches!(deps.config.member_accounts, MemberAccounts::None)
            || !deps.config.member_regions.is_empty());
    if !is_hub || request.instance_id.is_some() {
        return own.await;
    }
    let (mut checks, members) = tokio::join!(own, member_checks(deps, pf, deadline));
    checks.extend(members);
    checks
}

/// Every member scope of a hub (the hub's own account and region excluded: checked above).
async fn member_checks(deps: &Deps, pf: &Preflight<'_>, deadline: Deadline) -> Vec<Check> {
    let fresh = CoveredScopes::default();
    let covered = pf.scopes.unwrap_or(&fresh);
    let scopes = match covered.scopes(deps).await {
        Ok(s) => s,
        Err(e) => {
            return vec![Check::problem(
                "organization.accounts",
                e.to_string(),
                fix_for(pf.function, "organizations:ListAccounts", &e),
            )]
        }
    };
    let members: Vec<Scope> = scopes.into_iter().skip(1).collect();
    if members.is_empty() {
        return vec![Check::skipped(
            "member.scopes",
            "MEMBER_ACCOUNTS and MEMBER_REGIONS name no scope besides this one",
        )];
    }
    let results = across(deps, &members, MEMBER_CONCURRENCY, |d, scope| async move {
        let prefix = format!("member.{}.", scope.label());
        let left = deadline.remaining_or(UNBOUNDED);
        Ok::<_, std::convert::Infallible>(
            tokio::time::timeout(left, scope_checks(&d, pf, None, &prefix))
                .await
                .ok(),
        )
    })
    .await;
    let mut out = Vec::new();
    let mut not_reached = Vec::new();
    for (scope, res) in results {
        match res {
            Ok(Some(checks)) => out.extend(checks),
            Ok(None) => not_reached.push(scope.label()),
            Err(ScopeFailure::Scope(e)) => out.push(Check::problem(
                format!("member.{}.assume-role", scope.label()),
                e.to_string(),
                "run the preflight in Lambda (explicit clients cannot assume the member role)",
            )),
            Err(ScopeFailure::Work(never)) => match never {},
        }
    }
    out.push(if not_reached.is_empty() {
        Check::ok(
            "member.scopes",
            format!(
                "{} member scopes reached (their checks are named member.<account>/<region>.…)",
                members.len()
            ),
        )
    } else {
        Check::warning(
            "member.scopes",
            format!(
                "{} of {} member scopes not reached before the invocation's deadline: {}",
                not_reached.len(),
                members.len(),
                not_reached.join(", ")
            ),
            "raise the function's Timeout, or check those scopes with ssr-onboard audit --accounts/--regions",
        )
    });
    out
}

/// The routers of one scope and their checks; `prefix` names a member scope.
async fn scope_checks(
    deps: &Deps,
    pf: &Preflight<'_>,
    instance_id: Option<&str>,
    prefix: &str,
) -> Vec<Check> {
    let f = pf.function;
    let name = |base: &str| format!("{prefix}{base}");
    let role_hint = |e: &AwsError| {
        if prefix.is_empty() {
            fix_for(f, "ec2:DescribeInstances", e)
        } else {
            format!(
                "check that infra/member.yaml is deployed in this account and region and trusts this hub ({}), and that it grants ec2:DescribeInstances",
                member_role_arn(
                    &deps.config.member_role_name,
                    deps.account.as_deref().unwrap_or("?"),
                    deps.region.as_deref().unwrap_or("?"),
                )
            )
        }
    };
    let mut out = Vec::new();
    // The routers to check: the one named, or one per selection path.
    let (routers, interfaces) = match instance_id {
        Some(id) => match deps.ec2.describe_instance(id).await {
            Ok(Some(facts)) => {
                out.push(Check::ok(
                    name("ec2.describe-instances"),
                    format!("{id} is {}", facts.state),
                ));
                (vec![("instance", facts)], vec![id.to_string()])
            }
            Ok(None) => {
                out.push(Check::problem(
                    name("ec2.describe-instances"),
                    format!("EC2 does not know {id} in this account and region"),
                    "name an instance of this account and region",
                ));
                return out;
            }
            Err(e) => {
                let fix = role_hint(&e);
                out.push(Check::problem(
                    name("ec2.describe-instances"),
                    e.to_string(),
                    fix,
                ));
                return out;
            }
        },
        None => match deps.ec2.instances(InstanceQuery::NotTerminated).await {
            Ok(all) => {
                out.push(Check::ok(
                    name("ec2.describe-instances"),
                    format!("{} instances not terminated", all.len()),
                ));
                let ids: Vec<String> = all.iter().map(|i| i.instance_id.clone()).collect();
                (all.into_iter().map(|i| ("", i)).collect::<Vec<_>>(), ids)
            }
            Err(e) => {
                let fix = role_hint(&e);
                out.push(Check::problem(
                    name("ec2.describe-instances"),
                    e.to_string(),
                    fix,
                ));
                return out;
            }
        },
    };
    let by_instance: HashMap<String, Vec<Interface>> =
        match deps.ec2.interfaces_of(&interfaces).await {
            Ok(map) => {
                out.push(Check::ok(
                    name("ec2.describe-network-interfaces"),
                    format!("interfaces of {} instances read", map.len()),
                ));
                map
            }
            Err(e) => {
                out.push(Check::problem(
                    name("ec2.describe-network-interfaces"),
                    e.to_string(),
                    fix_for(f, "ec2:DescribeNetworkInterfaces", &e),
                ));
                return out;
            }
        };
    let none = Vec::new();
    let enis_of = |id: &str| by_instance.get(id).unwrap_or(&none);
    // (label, facts) of each router to check.
    let mut targets: Vec<(String, &InstanceFacts)> = Vec::new();
    if instance_id.is_some() {
        if let Some((_, facts)) = routers.first() {
            let selection = crate::select::select(
                &deps.config,
                &facts.tags,
                enis_of(&facts.instance_id)
                    .iter()
                    .map(|i| (i.eni_id.as_str(), &i.tags)),
            );
            out.push(if selection.selected {
                Check::ok(name("routers.instance"), selection.reason)
            } else {
                Check::warning(
                    name("routers.instance"),
                    format!(
                        "{} is not a managed router ({}): the write grants are conditioned on the router tags, so its dry runs prove nothing",
                        facts.instance_id, selection.reason
                    ),
                    "name a router, or leave instance_id out to check one router per selection path",
                )
            });
            targets.push(("instance".into(), facts));
        }
    } else {
        let all: Vec<InstanceFacts> = routers.iter().map(|(_, f)| f.clone()).collect();
        for p in pick(&deps.config, &all, &by_instance) {
            match p.instance_id {
                Some(id) => {
                    out.push(Check::ok(
                        name(&format!("routers.{}", p.path.slug())),
                        format!("{id} checked ({})", p.path.describe(&deps.config)),
                    ));
                    if let Some((_, facts)) = routers.iter().find(|(_, f)| f.instance_id == id) {
                        targets.push((p.path.slug().to_string(), facts));
                    }
                }
                None => out.push(Check::skipped(
                    name(&format!("routers.{}", p.path.slug())),
                    format!(
                        "no router found: no {} (not terminated) in this account and region",
                        p.path.describe(&deps.config)
                    ),
                )),
            }
        }
    }
    // One router picked by several paths is checked once per path: each path's write grant
    // is a different policy statement, so each is proven on its own.
    let runs = targets.iter().map(|(label, facts)| {
        router_checks(deps, pf, facts, enis_of(&facts.instance_id), label, prefix)
    });
    for checks in futures_util::future::join_all(runs).await {
        out.extend(checks);
    }
    out
}

/// The reads and the dry-run writes the function makes on one router.
async fn router_checks(
    deps: &Deps,
    pf: &Preflight<'_>,
    facts: &InstanceFacts,
    interfaces: &[Interface],
    label: &str,
    prefix: &str,
) -> Vec<Check> {
    let f = pf.function;
    let id = facts.instance_id.as_str();
    let name = |base: &str| format!("{prefix}{base}.{label}");
    let mut out = Vec::new();
    let user_data = deps.ec2.user_data(id).await;
    out.push(call_check(
        f,
        name("ec2.describe-instance-attribute-user-data"),
        "ec2:DescribeInstanceAttribute",
        &user_data,
        |u| {
            format!(
                "user data of {id} read ({})",
                if u.is_some() { "present" } else { "none" }
            )
        },
    ));
    if !pf.writes_ec2() {
        return out;
    }
    let ena = deps.ec2.ena_attribute(id).await;
    out.push(call_check(
        f,
        name("ec2.describe-instance-attribute-ena-support"),
        "ec2:DescribeInstanceAttribute",
        &ena,
        |v| format!("enaSupport of {id}: {v:?}"),
    ));
    if let Some(volume) = &facts.root_volume_id {
        let size = deps.ec2.volume_size_gb(volume).await;
        out.push(call_check(
            f,
            name("ec2.describe-volumes"),
            "ec2:DescribeVolumes",
            &size,
            |s| format!("root volume {volume} of {id}: {s:?} GB"),
        ));
    }
    let wan = crate::snapshot::wan_interface_of(interfaces).and_then(|w| w.subnet_id.clone());
    if let Some(subnet) = wan {
        let route = deps.ec2.route_facts(facts.vpc_id.as_deref(), &subnet).await;
        out.push(call_check(
            f,
            name("ec2.describe-route-tables"),
            "ec2:DescribeRouteTables",
            &route,
            |_| format!("route table of {subnet} read"),
        ));
    }
    out.push(eni_dry_runs(deps, pf, id, interfaces, &name("ec2.modify-eni-dry-run")).await);
    out.push(ena_dry_run(deps, pf, id, &name("ec2.modify-instance-dry-run")).await);
    if f == Function::StackWatch {
        out.extend(stack_checks(deps, pf, facts, &name).await);
    }
    out
}

/// The write grants' condition setting, for the fix of a denied dry run.
const CONDITIONS_FIX: &str = "if the stack has WriteGrantConditions=attribute-and-tag, EC2 may not supply the ec2:Attribute condition keys in this account: deploy with WriteGrantConditions=tag-only (and RouterVpcIds); otherwise check the router's tags against RouterTagKey/RouterStacks (docs/deploy.md)";

async fn eni_dry_runs(
    deps: &Deps,
    pf: &Preflight<'_>,
    instance_id: &str,
    interfaces: &[Interface],
    name: &str,
) -> Check {
    if interfaces.is_empty() {
        return Check::skipped(name, format!("{instance_id} has no interface attached"));
    }
    let enis: Vec<&str> = interfaces
        .iter()
        .take(MAX_DRY_RUN_ENIS)
        .map(|i| i.eni_id.as_str())
        .collect();
    let answers = futures_util::future::join_all(
        enis.iter()
            .map(|eni| deps.ec2.dry_run_disable_source_dest_check(eni)),
    )
    .await;
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    let mut unproven = Vec::new();
    for (eni, answer) in enis.iter().zip(answers) {
        match answer {
            DryRun::Allowed => allowed.push(*eni),
            DryRun::Denied { message } => refused.push(format!("{eni}: {message}")),
            DryRun::Other(e) => unproven.push(format!("{eni}: {}: {}", e.code, e.message)),
        }
    }
    let dry = if deps.config.dry_run {
        " (DRY_RUN=true: the function itself writes nothing yet)"
    } else {
        ""
    };
    if !refused.is_empty() {
        Check::problem(
            name,
            format!(
                "ModifyNetworkInterfaceAttribute SourceDestCheck=false (DryRun) on {instance_id} denied: {}",
                refused.join("; ")
            ),
            format!(
                "grant ec2:ModifyNetworkInterfaceAttribute on the router's interfaces to the {} role; {CONDITIONS_FIX}",
                pf.function.name()
            ),
        )
    } else if !unproven.is_empty() {
        Check::warning(
            name,
            format!(
                "ModifyNetworkInterfaceAttribute (DryRun) on {instance_id} not proven: {}",
                unproven.join("; ")
            ),
            "run the preflight again",
        )
    } else {
        Check::ok(
            name,
            format!(
                "ModifyNetworkInterfaceAttribute SourceDestCheck=false would succeed on {} of {instance_id} (DryRunOperation){dry}",
                allowed.join(", ")
            ),
        )
    }
}

async fn ena_dry_run(deps: &Deps, pf: &Preflight<'_>, instance_id: &str, name: &str) -> Check {
    let off = !deps.config.ena_fix_when_stopped;
    match deps.ec2.dry_run_enable_ena(instance_id).await {
        DryRun::Allowed => Check::ok(
            name,
            format!(
                "ModifyInstanceAttribute EnaSupport=true would succeed on {instance_id} (DryRunOperation){}",
                if off {
                    " (ENA_FIX_WHEN_STOPPED=false: the function does not make this fix)"
                } else {
                    ""
                }
            ),
        ),
        DryRun::Denied { message } => {
            let detail = format!(
                "ModifyInstanceAttribute EnaSupport=true (DryRun) on {instance_id} denied: {message}"
            );
            let fix = format!(
                "grant ec2:ModifyInstanceAttribute on routers to the {} role; {CONDITIONS_FIX}",
                pf.function.name()
            );
            if off {
                // The fix is off: the grant is not used today.
                Check::warning(name, format!("{detail} (ENA_FIX_WHEN_STOPPED=false)"), fix)
            } else {
                Check::problem(name, detail, fix)
            }
        }
        DryRun::Other(e) => Check::warning(
            name,
            format!(
                "ModifyInstanceAttribute (DryRun) on {instance_id} not proven: {}: {}",
                e.code, e.message
            ),
            "run the preflight again",
        ),
    }
}

/// stack-watch's reads of the router's stack, when CloudFormation created it.
async fn stack_checks(
    deps: &Deps,
    pf: &Preflight<'_>,
    facts: &InstanceFacts,
    name: &dyn Fn(&str) -> String,
) -> Vec<Check> {
    let f = pf.function;
    let Some(stack) = facts.tags.get(STACK_NAME_TAG) else {
        return vec![Check::skipped(
            name("cloudformation.describe-stacks"),
            format!(
                "{} was not created by a CloudFormation stack",
                facts.instance_id
            ),
        )];
    };
    let cfn = deps.cloudformation();
    let described = cfn.describe_stack(stack).await;
    let mut out = vec![call_check(
        f,
        name("cloudformation.describe-stacks"),
        "cloudformation:DescribeStacks",
        &described,
        |s| match s {
            Some(s) => format!("stack {stack}: {}", s.status),
            None => format!("stack {stack} no longer exists"),
        },
    )];
    if let Ok(Some(info)) = described {
        let (resources, events) = tokio::join!(
            cfn.stack_resources(&info.stack_id),
            cfn.current_operation_events(&info.stack_id, &info.stack_name)
        );
        out.push(call_check(
            f,
            name("cloudformation.list-stack-resources"),
            "cloudformation:ListStackResources",
            &resources,
            |r| format!("{} resources of {stack}", r.len()),
        ));
        out.push(call_check(
            f,
            name("cloudformation.describe-stack-events"),
            "cloudformation:DescribeStackEvents",
            &events,
            |e| format!("{} events of {stack}'s last operation", e.len()),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_event_is_a_preflight_then_it_is_recognised_and_its_instance_read() {
        let r = request_of(&serde_json::json!({"ssr-onboard": "preflight"}));
        assert_eq!(r, Some(PreflightRequest::default()));
        let r = request_of(
            &serde_json::json!({"ssr-onboard": "preflight", "instance_id": "i-0123456789abcdef0"}),
        );
        assert_eq!(
            r.and_then(|r| r.instance_id).as_deref(),
            Some("i-0123456789abcdef0")
        );
    }

    #[test]
    fn when_the_event_is_another_then_it_is_not_a_preflight() {
        for v in [
            serde_json::json!({"source": "aws.ec2", "detail": {}}),
            serde_json::json!({"ssr-onboard": "something-else"}),
            serde_json::json!({"ssr-onboard": 1}),
            serde_json::json!([1, 2]),
            Value::Null,
        ] {
            assert_eq!(request_of(&v), None, "{v}");
        }
    }

    #[test]
    fn when_the_instance_id_is_malformed_then_the_request_says_so_without_echoing_much() {
        let long = "x".repeat(500);
        let r = request_of(&serde_json::json!({"ssr-onboard": "preflight", "instance_id": long}))
            .unwrap_or_default();
        assert_eq!(r.instance_id, None);
        let why = r.invalid.unwrap_or_default();
        assert!(why.contains("instance_id must be"), "{why}");
        assert!(why.len() < 150, "{why}");
    }
}
