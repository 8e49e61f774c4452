//! `ssr-onboard audit`: every managed router in a region, checked with the guard's rules, and
//! (with `--fix`) the guard's safe fixes applied — the same `check_and_fix` the Lambda runs.
//! With `--accounts` / `--regions`: the same audit in every account and region of an
//! organization ([`scan_fleet`]), each through the member role, in one report.

use std::collections::HashMap;

use clap::Args;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use serde::Serialize;
use ssr_core::aws::accounts::{across, member_account_ids, scopes, Scope, ScopeFailure};
use ssr_core::aws::ec2::InstanceQuery;
use ssr_core::aws::AwsError;
use ssr_core::config::{is_role_name, parse_regions, ConfigError, MemberAccounts};
use ssr_core::deps::member_role_arn;
use ssr_core::findings::{Finding, Severity};
use ssr_core::handlers::guard::{check_and_fix, observe_described, Observed};
use ssr_core::plan::{ActionResult, ActionStatus};
use ssr_core::snapshot::{InstanceFacts, Interface};
use ssr_core::{Config, Deps};

mod render;
pub use render::render_text;

use crate::aws_args::{self, AwsArgs};
use crate::output::{exit, print_json, Cell, Color, OutputFormat, Style, Table};

/// Version tag of the JSON document (bumped on incompatible changes).
pub const SCHEMA: &str = "ssr-onboard/audit/v1";

/// States in which a router is checked (as the guard does).
const CHECKED_STATES: [&str; 3] = ["pending", "running", "stopped"];

/// Routers of one account and region observed and checked at once.
const ROUTER_CONCURRENCY: usize = 8;

/// Account/region scopes audited at once unless `--concurrency` says otherwise.
pub const DEFAULT_CONCURRENCY: u8 = 4;

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard audit --region us-east-1
  ssr-onboard audit --profile prod --region eu-west-1 --output json | jq '.summary'
  ssr-onboard audit --fix --dry-run      # show what --fix would change, change nothing
  ssr-onboard audit --fix                # disable source/dest check on router ENIs, etc.
  ssr-onboard audit --accounts 444455556666,777788889999 --regions us-east-1,eu-west-1
  ssr-onboard audit --accounts org --role-name ssr-onboard-member --output json

Which instances are routers: the SSR-ROUTER instance tag (ROUTER_TAG_KEY), an SSR-ROLE tag on
any interface, or a CloudFormation stack name matching ROUTER_STACKS (comma-separated globs).
MIN_ROOT_VOLUME_GB and ENA_FIX_WHEN_STOPPED apply as in the Lambda.

Safe fixes (--fix): source/destination check off on each router ENI of a pending/running
router; ENA on for a stopped router when ENA_FIX_WHEN_STOPPED=true. Every write is read back.

Several accounts and regions (--accounts, --regions): the credentials' own account (from
sts:GetCallerIdentity) in its own region first, then every account in every region; in another
account the audit assumes arn:aws:iam::<account>:role/<--role-name> (infra/member.yaml's role),
so the caller needs sts:AssumeRole on it and the role must trust the caller (member.yaml trusts
the hub account's roles named <HubStackName>-*; see docs/cli.md). `--accounts org`
lists the organization's active accounts (organizations:ListAccounts, from the management or a
delegated administrator account). An account or region that cannot be audited is reported with
its error; the others are still audited.

Exit codes: 0 no findings remain, 3 findings remain (warnings or errors; info such as
ENA_UNKNOWN does not count), 1 AWS error, a fix that did not take, or an account/region that
could not be audited (1 wins over 3), 2 usage/configuration.")]
pub struct AuditArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Apply the safe automatic fixes (each verified by read-back).
    #[arg(long)]
    pub fix: bool,
    /// With --fix: show the fixes that would be applied, write nothing.
    #[arg(long, requires = "fix")]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Member accounts to audit besides the credentials' own: a comma list of 12-digit account
    /// ids, or `org` for every active account of the AWS Organization.
    #[arg(long, value_name = "A,B|org")]
    pub accounts: Option<String>,
    /// Regions to audit in every account, comma-separated (default: the --region one).
    #[arg(long, value_name = "R1,R2")]
    pub regions: Option<String>,
    /// The role assumed in each member account (default: MEMBER_ROLE_NAME, else
    /// ssr-onboard-member).
    #[arg(long, value_name = "NAME")]
    pub role_name: Option<String>,
    /// How many account/region scopes are audited at once (1-32).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY,
          value_parser = clap::value_parser!(u8).range(1..=32))]
    pub concurrency: u8,
}

/// What `--accounts` and `--regions` ask for: the audit of several accounts and regions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fleet {
    pub members: MemberAccounts,
    /// Empty: the own region only.
    pub regions: Vec<String>,
}

/// The multi-account flags, validated: `None` when neither `--accounts` nor `--regions` is
/// given (the single-region audit).
pub fn fleet(accounts: Option<&str>, regions: Option<&str>) -> Result<Option<Fleet>, ConfigError> {
    if accounts.is_none() && regions.is_none() {
        return Ok(None);
    }
    Ok(Some(Fleet {
        members: MemberAccounts::parse("--accounts", accounts)?,
        regions: parse_regions("--regions", regions)?,
    }))
}

/// `config` with the member role `--role-name` names (validated as `MEMBER_ROLE_NAME` is).
pub fn with_role_name(mut config: Config, role_name: Option<&str>) -> Result<Config, ConfigError> {
    if let Some(name) = role_name {
        if !is_role_name(name) {
            return Err(ConfigError::Invalid {
                var: "--role-name",
                reason: format!(
                    "`{name}` is not an IAM role name (1-64 of A-Z a-z 0-9 + = , . @ _ -)"
                ),
            });
        }
        config.member_role_name = name.to_string();
    }
    Ok(config)
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
    /// False when the router is in a state the rules do not check (e.g. stopping).
    pub checked: bool,
    pub findings: Vec<Finding>,
    /// Planned (check, dry-run) or applied (fix) actions with their status.
    pub actions: Vec<ActionResult>,
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
        self.findings
            .iter()
            .filter(|f| !f.fixed && f.severity > Severity::Info)
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
    let (snapshot, selection) = match observe_described(deps, instance, attached).await? {
        Observed::Router {
            snapshot,
            selection,
        } => (snapshot, selection),
        Observed::Unselected { .. } | Observed::NotFound => return Ok(None),
    };
    let checked = CHECKED_STATES.contains(&snapshot.state.as_str());
    let (findings, actions) = if checked {
        check_and_fix(deps, &snapshot, dry_run, None).await
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
        findings,
        actions,
    }))
}

/// Scans the region: all instances (paginated), their interfaces (batched), the guard's
/// selection, then `check_and_fix` for each router in a checked state (up to
/// [`ROUTER_CONCURRENCY`] routers at once; the report is sorted by name, then instance id).
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
        _ => aws_args::hint(e).into(),
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
                    ScopeFailure::Work(e) => aws_args::concise(e),
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

/// The exit code a finished audit deserves: 1 for a fix that did not take or a scope that could
/// not be audited, else 3 when findings remain.
pub fn exit_code(report: &AuditReport) -> u8 {
    if report.summary.fixes_failed > 0 || report.summary.accounts_failed > 0 {
        exit::AWS
    } else if report.summary.findings_remaining > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

pub async fn run(args: AuditArgs) -> u8 {
    let config = match Config::from_env().and_then(|c| with_role_name(c, args.role_name.as_deref()))
    {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: bad configuration: {e}");
            return exit::USAGE;
        }
    };
    let fleet = match fleet(args.accounts.as_deref(), args.regions.as_deref()) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::USAGE;
        }
    };
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let mut deps = Deps::from_sdk_config(config, &sdk);
    let mode = match (args.fix, args.dry_run) {
        (true, false) => Mode::Fix,
        (true, true) => Mode::DryRun,
        (false, _) => Mode::Check,
    };
    if mode == Mode::Fix && deps.config.dry_run {
        eprintln!("note: DRY_RUN=true in the environment: nothing will be written");
    }
    let report = match fleet {
        None => match scan(&deps, mode).await {
            Ok(r) => r,
            Err(e) => {
                aws_args::report(&e);
                return exit::AWS;
            }
        },
        Some(fleet) => {
            // `Deps::scoped` assumes the member role only in accounts other than this one.
            deps.account = match aws_args::caller_account(&sdk).await {
                Ok(a) => Some(a),
                Err(e) => {
                    aws_args::report(&e);
                    return exit::AWS;
                }
            };
            let members = match member_account_ids(&deps, &fleet.members).await {
                Ok(m) => m,
                Err(e) => {
                    aws_args::report(&e);
                    return exit::AWS;
                }
            };
            let scopes = scopes(
                deps.account.as_deref(),
                deps.region.as_deref(),
                &members,
                &fleet.regions,
            );
            scan_fleet(&deps, &scopes, mode, usize::from(args.concurrency)).await
        }
    };
    match args.output {
        OutputFormat::Json => {
            for a in report.accounts.iter().filter(|a| a.error.is_some()) {
                eprintln!(
                    "error: {}/{} not audited: {}",
                    a.account.as_deref().unwrap_or("?"),
                    a.region.as_deref().unwrap_or("?"),
                    a.error.as_deref().unwrap_or_default()
                );
            }
            let code = print_json(&report);
            if code != exit::OK {
                return code;
            }
        }
        OutputFormat::Text => print!("{}", render_text(&report, &Style::for_stdout())),
    }
    exit_code(&report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssr_core::findings::{Action, FindingCode};

    fn router(status: ActionStatus) -> RouterAudit {
        let fix = Action::DisableSourceDestCheck {
            eni_id: "eni-1".into(),
        };
        let finding = Finding::new(
            FindingCode::SrcDstCheckEnabled,
            "eni-1",
            "on",
            "turn it off",
        )
        .with_fix(fix.clone());
        RouterAudit {
            account: None,
            region: None,
            instance_id: "i-1".into(),
            name: "r1".into(),
            state: "running".into(),
            instance_type: Some("c5.xlarge".into()),
            stack: None,
            selected_because: "tag".into(),
            checked: true,
            findings: vec![Finding {
                fixed: status == ActionStatus::Applied,
                ..finding
            }],
            actions: vec![ActionResult {
                action: fix,
                status,
                error: (status == ActionStatus::Failed).then(|| "UnauthorizedOperation".into()),
            }],
        }
    }

    fn report_with(status: ActionStatus) -> AuditReport {
        let routers = vec![router(status)];
        AuditReport {
            schema: SCHEMA,
            account: None,
            region: Some("us-east-1".into()),
            mode: Mode::Fix,
            instances_scanned: 1,
            summary: summarize(&routers),
            routers,
            accounts: vec![],
        }
    }

    /// A member router with an unfixed finding, and a member account whose role failed.
    fn fleet_report() -> AuditReport {
        let routers = vec![RouterAudit {
            account: Some("444455556666".into()),
            region: Some("eu-west-1".into()),
            ..router(ActionStatus::Planned)
        }];
        let role = "arn:aws:iam::777788889999:role/ssr-onboard-member";
        let failure = ScopeFailure::Work(AwsError::new(
            "DescribeInstances",
            "Unknown",
            "dispatch failure: failed to load credentials: AccessDenied: not authorized to perform: sts:AssumeRole",
        ));
        let scope = |account: &str, status, routers| ScopeAudit {
            account: Some(account.into()),
            region: Some("eu-west-1".into()),
            status,
            role_arn: None,
            error: None,
            hint: None,
            instances_scanned: routers,
            routers,
        };
        let mut summary = summarize(&routers);
        summary.accounts_failed = 1;
        AuditReport {
            schema: SCHEMA,
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            mode: Mode::Check,
            instances_scanned: 1,
            summary,
            routers,
            accounts: vec![
                scope("111122223333", ScopeStatus::Ok, 0),
                scope("444455556666", ScopeStatus::Ok, 1),
                ScopeAudit {
                    role_arn: Some(role.into()),
                    error: Some(failure.to_string()),
                    hint: Some(scope_hint(Some(role), &failure)),
                    ..scope("777788889999", ScopeStatus::Failed, 0)
                },
            ],
        }
    }

    #[test]
    fn when_a_fix_failed_then_exit_1_and_the_row_says_fix_failed_with_what_to_do() {
        let r = report_with(ActionStatus::Failed);
        assert_eq!(exit_code(&r), exit::AWS);
        let text = render_text(&r, &Style::plain());
        assert!(text.contains("FIX FAILED"), "{text}");
        assert!(text.contains("turn it off"), "{text}");
        assert!(text.contains("1 FAILED"), "{text}");
    }

    #[test]
    fn when_every_finding_fixed_then_exit_0() {
        let r = report_with(ActionStatus::Applied);
        assert_eq!(exit_code(&r), exit::OK);
        assert!(render_text(&r, &Style::plain()).contains("fixed"));
    }

    #[test]
    fn when_one_region_is_audited_then_the_json_has_no_account_fields() {
        let doc = serde_json::to_value(report_with(ActionStatus::Planned)).expect("json");
        assert!(doc.get("accounts").is_none(), "{doc}");
        assert!(doc.get("account").is_none(), "{doc}");
        assert!(doc["routers"][0].get("account").is_none(), "{doc}");
        assert!(doc["routers"][0].get("region").is_none(), "{doc}");
        assert_eq!(doc["summary"]["accounts_failed"], 0);
        let text = render_text(&report_with(ActionStatus::Planned), &Style::plain());
        assert!(text.starts_with("ROUTER"), "{text}");
    }

    #[test]
    fn when_a_scope_failed_and_findings_remain_then_exit_1_the_table_names_account_and_region_and_the_failure_has_a_hint(
    ) {
        let r = fleet_report();
        assert_eq!(
            exit_code(&r),
            exit::AWS,
            "a failed account wins over findings"
        );
        let text = render_text(&r, &Style::plain());
        let header = text.lines().next().unwrap_or_default();
        assert!(header.starts_with("ACCOUNT  "), "{text}");
        assert!(header.contains("REGION"), "{text}");
        let row = text
            .lines()
            .find(|l| l.contains("SRC_DST_CHECK_ENABLED"))
            .expect("finding row");
        assert!(row.starts_with("444455556666  eu-west-1"), "{text}");
        assert!(text.contains("Not audited (1 of 3"), "{text}");
        assert!(
            text.contains("- 777788889999/eu-west-1: DescribeInstances failed"),
            "{text}"
        );
        assert!(
            text.contains(
                "aws sts assume-role --role-arn arn:aws:iam::777788889999:role/ssr-onboard-member"
            ),
            "{text}"
        );
        assert!(text.contains("2 of 3 account/region scope(s)"), "{text}");
        assert!(
            text.contains("1 account/region scope(s) NOT audited"),
            "{text}"
        );

        let doc = serde_json::to_value(&r).expect("json");
        assert_eq!(doc["routers"][0]["account"], "444455556666");
        assert_eq!(doc["routers"][0]["region"], "eu-west-1");
        assert_eq!(doc["accounts"][2]["status"], "failed");
        assert_eq!(doc["accounts"][1]["status"], "ok");
        assert!(doc["accounts"][1].get("error").is_none(), "{doc}");
        assert_eq!(doc["summary"]["accounts_failed"], 1);
    }

    #[test]
    fn when_the_member_role_lacks_ec2_permissions_then_the_hint_says_update_the_member_stack() {
        let denied = ScopeFailure::Work(AwsError::new(
            "DescribeInstances",
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
        ));
        let role = "arn:aws:iam::777788889999:role/ssr-onboard-member";
        assert!(scope_hint(Some(role), &denied).contains("infra/member.yaml"));
        // The caller's own account: the ordinary permission hint.
        assert!(scope_hint(None, &denied).contains("permission"));
    }

    #[test]
    fn when_neither_accounts_nor_regions_are_given_then_the_audit_is_of_one_region() {
        assert_eq!(fleet(None, None).expect("valid"), None);
        assert_eq!(
            fleet(Some("org"), None).expect("valid"),
            Some(Fleet {
                members: MemberAccounts::Organization,
                regions: vec![]
            })
        );
        assert_eq!(
            fleet(
                Some("444455556666,444455556666"),
                Some("eu-west-1,us-east-1")
            )
            .expect("valid"),
            Some(Fleet {
                members: MemberAccounts::List(vec!["444455556666".into()]),
                regions: vec!["eu-west-1".into(), "us-east-1".into()]
            })
        );
    }

    #[test]
    fn when_an_account_region_or_role_name_is_malformed_then_the_error_names_the_flag() {
        let e = fleet(Some("444455556666,12345"), None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--accounts: `12345`"), "{e}");
        let e = fleet(None, Some("eu-west-1,Frankfurt"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--regions: `Frankfurt`"), "{e}");
        let config = Config::from_vars(|_| None).expect("default config");
        let e = with_role_name(config.clone(), Some("role/with/slashes"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--role-name"), "{e}");
        assert_eq!(
            with_role_name(config.clone(), Some("ops.member"))
                .expect("valid")
                .member_role_name,
            "ops.member"
        );
        assert_eq!(
            with_role_name(config, None)
                .expect("valid")
                .member_role_name,
            ssr_core::config::DEFAULT_MEMBER_ROLE_NAME
        );
    }
}
