//! `ssr-onboard audit`'s text output: one table of findings (with ACCOUNT and REGION columns
//! across several scopes), what a person must do, and the scopes that could not be audited.

use super::*;
use crate::output::{Cell, Color, Style, Table};

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

fn scope_label(account: Option<&str>, region: Option<&str>) -> String {
    format!("{}/{}", account.unwrap_or("?"), region.unwrap_or("?"))
}

/// Where the audit looked, for the summary line: the region, or how many account/region
/// scopes were audited.
fn audited_where(report: &AuditReport) -> String {
    if report.is_fleet() {
        let ok = report.accounts.len() - report.summary.accounts_failed;
        format!("{ok} of {} account/region scope(s)", report.accounts.len())
    } else {
        report.region.as_deref().unwrap_or("?").to_string()
    }
}

/// The scopes that could not be audited, each with its error and what to do.
fn render_failures(report: &AuditReport, style: &Style) -> String {
    let failed: Vec<&ScopeAudit> = report
        .accounts
        .iter()
        .filter(|a| a.status == ScopeStatus::Failed)
        .collect();
    if failed.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n");
    out.push_str(&style.paint(
        Color::Red,
        &format!(
            "Not audited ({} of {} account/region scope(s))",
            failed.len(),
            report.accounts.len()
        ),
    ));
    out.push('\n');
    for a in failed {
        out.push_str(&format!(
            "- {}: {}\n",
            scope_label(a.account.as_deref(), a.region.as_deref()),
            a.error.as_deref().unwrap_or("unknown error")
        ));
        if let Some(hint) = &a.hint {
            out.push_str(&format!("    hint: {hint}\n"));
        }
    }
    out
}

/// The findings table (with ACCOUNT and REGION columns when several scopes were audited), then
/// what to do for each remaining finding, then the scopes that could not be audited, then a
/// one-line summary.
/// The state column: the instance state, and the router's per-router control when it has one
/// (`monitor`, `snoozed until …`; ignored routers say so in the finding column).
fn state_label(r: &RouterAudit) -> String {
    let mut notes = Vec::new();
    if r.control == Control::Monitor {
        notes.push("monitor".to_string());
    }
    if let Some(t) = r.snoozed_until {
        notes.push(format!("snoozed until {}", t.format("%Y-%m-%d %H:%MZ")));
    }
    if notes.is_empty() {
        r.state.clone()
    } else {
        format!("{} ({})", r.state, notes.join(", "))
    }
}

pub fn render_text(report: &AuditReport, style: &Style) -> String {
    let mut out = String::new();
    let fleet = report.is_fleet();
    let place = audited_where(report);
    if report.routers.is_empty() {
        out.push_str(&format!(
            "No managed routers among {} instance(s) in {place}.\n\
             Routers are instances tagged SSR-ROUTER, with an SSR-ROLE tag on an interface, or in a stack matching ROUTER_STACKS.\n",
            report.instances_scanned
        ));
        out.push_str(&render_failures(report, style));
        return out;
    }
    let mut headers: Vec<&str> = if fleet {
        vec!["ACCOUNT", "REGION"]
    } else {
        vec![]
    };
    headers.extend([
        "ROUTER", "INSTANCE", "STATE", "SEVERITY", "FINDING", "RESOURCE", "FIX",
    ]);
    let mut t = Table::new(&headers);
    for r in &report.routers {
        let lead = |mut cells: Vec<Cell>| -> Vec<Cell> {
            let mut row: Vec<Cell> = if fleet {
                vec![
                    r.account.as_deref().unwrap_or("?").into(),
                    r.region.as_deref().unwrap_or("?").into(),
                ]
            } else {
                vec![]
            };
            row.extend([
                r.name.as_str().into(),
                r.instance_id.as_str().into(),
                state_label(r).into(),
            ]);
            row.append(&mut cells);
            row
        };
        if !r.checked {
            let why = if r.control == Control::Ignore {
                "ignored (SSR-ONBOARD=ignore)"
            } else {
                "not checked in this state"
            };
            t.row(lead(vec![
                "-".into(),
                Cell::colored(why, Color::Dim),
                "".into(),
                "".into(),
            ]));
            continue;
        }
        if r.findings.is_empty() {
            t.row(lead(vec![
                "-".into(),
                Cell::colored("ok", Color::Green),
                "".into(),
                "".into(),
            ]));
        }
        for f in &r.findings {
            t.row(lead(vec![
                severity_cell(f),
                f.code.as_str().into(),
                f.resource.as_str().into(),
                fix_cell(report.mode, r, f),
            ]));
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
            let scope = if fleet {
                format!(
                    " in {}",
                    scope_label(r.account.as_deref(), r.region.as_deref())
                )
            } else {
                String::new()
            };
            out.push_str(&format!(
                "- {} {} on {} ({}{scope}): {}\n    {}\n",
                r.name, f.code, f.resource, r.instance_id, f.message, f.remediation
            ));
        }
    }
    out.push_str(&render_failures(report, style));
    let s = &report.summary;
    out.push('\n');
    out.push_str(&format!(
        "{} router(s) of {} instance(s) in {place}; {} with findings; {} finding(s) remain",
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
    if s.accounts_failed > 0 {
        out.push_str(&format!(
            "; {} account/region scope(s) NOT audited",
            s.accounts_failed
        ));
    }
    out.push_str(".\n");
    out
}
