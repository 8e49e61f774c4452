//! `ssr-onboard audit`: every managed router in a region, checked with the guard's rules, and
//! (with `--fix`) the guard's safe fixes applied — the same `check_and_fix` the Lambda runs.

use std::collections::HashMap;

use clap::Args;
use serde::Serialize;
use ssr_core::aws::ec2::InstanceQuery;
use ssr_core::aws::AwsError;
use ssr_core::findings::{Finding, Severity};
use ssr_core::handlers::guard::{check_and_fix, observe_described, Observed};
use ssr_core::plan::{ActionResult, ActionStatus};
use ssr_core::{Config, Deps};

use crate::aws_args::{self, AwsArgs};
use crate::output::{exit, print_json, Cell, Color, OutputFormat, Style, Table};

/// Version tag of the JSON document (bumped on incompatible changes).
pub const SCHEMA: &str = "ssr-onboard/audit/v1";

/// States in which a router is checked (as the guard does).
const CHECKED_STATES: [&str; 3] = ["pending", "running", "stopped"];

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard audit --region us-east-1
  ssr-onboard audit --profile prod --region eu-west-1 --output json | jq '.summary'
  ssr-onboard audit --fix --dry-run      # show what --fix would change, change nothing
  ssr-onboard audit --fix                # disable source/dest check on router ENIs, etc.

Which instances are routers: the SSR-ROUTER instance tag (ROUTER_TAG_KEY), an SSR-ROLE tag on
any interface, or a CloudFormation stack name matching ROUTER_STACKS (comma-separated globs).
MIN_ROOT_VOLUME_GB and ENA_FIX_WHEN_STOPPED apply as in the Lambda.

Safe fixes (--fix): source/destination check off on each router ENI of a pending/running
router; ENA on for a stopped router when ENA_FIX_WHEN_STOPPED=true. Every write is read back.

Exit codes: 0 no findings remain, 3 findings remain (warnings or errors; info such as
ENA_UNKNOWN does not count), 1 AWS error or a fix that did not take, 2 usage/configuration.")]
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
    pub region: Option<String>,
    pub mode: Mode,
    /// Instances described (pending, running, stopping, stopped).
    pub instances_scanned: usize,
    pub routers: Vec<RouterAudit>,
    pub summary: Summary,
}

#[derive(Debug, Serialize)]
pub struct RouterAudit {
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

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub routers: usize,
    pub routers_with_findings: usize,
    /// Unfixed findings of severity warning or error.
    pub findings_remaining: usize,
    pub fixes_planned: usize,
    pub fixes_applied: usize,
    pub fixes_failed: usize,
}

impl RouterAudit {
    fn remaining(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| !f.fixed && f.severity > Severity::Info)
    }
}

/// Scans the region: all instances (paginated), their interfaces (batched), the guard's
/// selection, then `check_and_fix` for each router in a checked state.
pub async fn scan(deps: &Deps, mode: Mode) -> Result<AuditReport, AwsError> {
    let instances = deps.ec2.instances(InstanceQuery::NotTerminated).await?;
    let ids: Vec<String> = instances.iter().map(|i| i.instance_id.clone()).collect();
    let mut enis = if ids.is_empty() {
        HashMap::new()
    } else {
        deps.ec2.interfaces_of(&ids).await?
    };
    let dry_run = mode != Mode::Fix || deps.config.dry_run;
    let mut routers = Vec::new();
    for instance in instances {
        let attached = enis.remove(&instance.instance_id).unwrap_or_default();
        let (snapshot, selection) = match observe_described(deps, instance, attached).await? {
            Observed::Router {
                snapshot,
                selection,
            } => (snapshot, selection),
            Observed::Unselected { .. } | Observed::NotFound => continue,
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
        routers.push(RouterAudit {
            instance_id: snapshot.instance_id.clone(),
            name: snapshot.label().to_string(),
            state: snapshot.state.clone(),
            instance_type: snapshot.instance_type.clone(),
            stack: snapshot.stack_name().map(String::from),
            selected_because: selection.reason,
            checked,
            findings,
            actions,
        });
    }
    routers.sort_by(|a, b| (&a.name, &a.instance_id).cmp(&(&b.name, &b.instance_id)));
    let mut summary = Summary {
        routers: routers.len(),
        ..Default::default()
    };
    for r in &routers {
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
    Ok(AuditReport {
        schema: SCHEMA,
        region: deps.region.clone(),
        mode,
        instances_scanned: ids.len(),
        routers,
        summary,
    })
}

/// The exit code a finished audit deserves.
pub fn exit_code(report: &AuditReport) -> u8 {
    if report.summary.fixes_failed > 0 {
        exit::AWS
    } else if report.summary.findings_remaining > 0 {
        exit::FINDINGS
    } else {
        exit::OK
    }
}

pub async fn run(args: AuditArgs) -> u8 {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: bad configuration: {e}");
            return exit::USAGE;
        }
    };
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let deps = Deps::from_sdk_config(config, &sdk);
    let mode = match (args.fix, args.dry_run) {
        (true, false) => Mode::Fix,
        (true, true) => Mode::DryRun,
        (false, _) => Mode::Check,
    };
    if mode == Mode::Fix && deps.config.dry_run {
        eprintln!("note: DRY_RUN=true in the environment: nothing will be written");
    }
    let report = match scan(&deps, mode).await {
        Ok(r) => r,
        Err(e) => {
            aws_args::report(&e);
            return exit::AWS;
        }
    };
    match args.output {
        OutputFormat::Json => {
            let code = print_json(&report);
            if code != exit::OK {
                return code;
            }
        }
        OutputFormat::Text => print!("{}", render_text(&report, &Style::for_stdout())),
    }
    exit_code(&report)
}

fn action_for<'a>(r: &'a RouterAudit, f: &Finding) -> Option<&'a ActionResult> {
    let fix = f.fix.as_ref()?;
    r.actions.iter().find(|a| &a.action == fix)
}

fn fix_cell(mode: Mode, r: &RouterAudit, f: &Finding) -> Cell {
    match (action_for(r, f), mode) {
        (Some(a), _) if a.status == ActionStatus::Applied => Cell::colored("fixed", Color::Green),
        (Some(a), _) if !a.succeeded() => Cell::colored("FIX FAILED", Color::Red),
        (Some(_), Mode::Check) => Cell::new("fixable (--fix)"),
        (Some(_), _) => Cell::colored("would fix", Color::Yellow),
        (None, _) if f.severity == Severity::Info => Cell::new("-"),
        (None, _) => Cell::new("needs a person"),
    }
}

fn severity_cell(f: &Finding) -> Cell {
    match (f.fixed, f.severity) {
        (true, _) => Cell::colored(f.severity.as_str(), Color::Dim),
        (false, Severity::Error) => Cell::colored("error", Color::Red),
        (false, Severity::Warning) => Cell::colored("warning", Color::Yellow),
        (false, Severity::Info) => Cell::colored("info", Color::Dim),
    }
}

/// The findings table, then what to do for each remaining finding, then a one-line summary.
pub fn render_text(report: &AuditReport, style: &Style) -> String {
    let mut out = String::new();
    let region = report.region.as_deref().unwrap_or("?");
    if report.routers.is_empty() {
        out.push_str(&format!(
            "No managed routers among {} instance(s) in {region}.\n\
             Routers are instances tagged SSR-ROUTER, with an SSR-ROLE tag on an interface, or in a stack matching ROUTER_STACKS.\n",
            report.instances_scanned
        ));
        return out;
    }
    let mut t = Table::new(&[
        "ROUTER", "INSTANCE", "STATE", "SEVERITY", "FINDING", "RESOURCE", "FIX",
    ]);
    for r in &report.routers {
        if !r.checked {
            t.row(vec![
                r.name.as_str().into(),
                r.instance_id.as_str().into(),
                r.state.as_str().into(),
                "-".into(),
                Cell::colored("not checked in this state", Color::Dim),
                "".into(),
                "".into(),
            ]);
            continue;
        }
        if r.findings.is_empty() {
            t.row(vec![
                r.name.as_str().into(),
                r.instance_id.as_str().into(),
                r.state.as_str().into(),
                "-".into(),
                Cell::colored("ok", Color::Green),
                "".into(),
                "".into(),
            ]);
        }
        for f in &r.findings {
            t.row(vec![
                r.name.as_str().into(),
                r.instance_id.as_str().into(),
                r.state.as_str().into(),
                severity_cell(f),
                f.code.as_str().into(),
                f.resource.as_str().into(),
                fix_cell(report.mode, r, f),
            ]);
        }
    }
    out.push_str(&t.render(style));
    let todo: Vec<(&RouterAudit, &Finding)> = report
        .routers
        .iter()
        .flat_map(|r| r.remaining().map(move |f| (r, f)))
        .filter(|(r, f)| action_for(r, f).is_none_or(|a| !a.succeeded()))
        .collect();
    if !todo.is_empty() {
        out.push('\n');
        out.push_str(&style.paint(Color::Bold, "What to do"));
        out.push('\n');
        for (r, f) in todo {
            out.push_str(&format!(
                "- {} {} on {} ({}): {}\n    {}\n",
                r.name, f.code, f.resource, r.instance_id, f.message, f.remediation
            ));
        }
    }
    let s = &report.summary;
    out.push('\n');
    out.push_str(&format!(
        "{} router(s) of {} instance(s) in {region}; {} with findings; {} finding(s) remain",
        s.routers, report.instances_scanned, s.routers_with_findings, s.findings_remaining
    ));
    match report.mode {
        Mode::Check if s.fixes_planned > 0 => out.push_str(&format!(
            "; {} can be fixed automatically: run again with --fix (or --fix --dry-run to preview)",
            s.fixes_planned
        )),
        Mode::DryRun => out.push_str(&format!(
            "; dry run: {} fix(es) would be applied, nothing was written",
            s.fixes_planned
        )),
        Mode::Fix => out.push_str(&format!(
            "; {} fix(es) applied and verified{}",
            s.fixes_applied,
            if s.fixes_failed > 0 {
                format!(", {} FAILED", s.fixes_failed)
            } else {
                String::new()
            }
        )),
        Mode::Check => {}
    }
    out.push_str(".\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssr_core::findings::{Action, FindingCode};

    fn report_with(status: ActionStatus) -> AuditReport {
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
        let router = RouterAudit {
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
        };
        let mut report = AuditReport {
            schema: SCHEMA,
            region: Some("us-east-1".into()),
            mode: Mode::Fix,
            instances_scanned: 1,
            routers: vec![],
            summary: Summary::default(),
        };
        report.summary.routers = 1;
        let remaining = router.remaining().count();
        report.summary.findings_remaining = remaining;
        report.summary.routers_with_findings = usize::from(remaining > 0);
        report.summary.fixes_failed = usize::from(status == ActionStatus::Failed);
        report.summary.fixes_applied = usize::from(status == ActionStatus::Applied);
        report.routers.push(router);
        report
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
}
