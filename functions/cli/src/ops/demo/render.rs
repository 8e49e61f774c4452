//! The demo's text report: a before/after table per router, what was fixed, what needs a
//! person, the stack-watch pass, the watchdog's sweeps, the Mist phases (fake Mist API and the
//! signed webhook delivery), the report and the on-call messages.

use super::{DemoReport, RouterDemo};
use crate::ops::report;
use crate::output::{Cell, Color, Style, Table};
use ssr_core::plan::ActionStatus;
use ssr_core::snapshot::EnaStatus;

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "on",
        Some(false) => "off",
        None => "?",
    }
}

fn ena_text(e: EnaStatus) -> &'static str {
    match e {
        EnaStatus::Enabled => "enabled",
        EnaStatus::Disabled => "disabled",
        EnaStatus::Unknown => "unknown (emulator)*",
        EnaStatus::NotChecked => "not checked (IAM denied)",
    }
}

fn change_cell(before: &str, after: &str, good: bool) -> Cell {
    if before != after {
        Cell::colored(format!("{after}  (fixed)"), Color::Green)
    } else if good {
        Cell::new(after)
    } else {
        Cell::colored(format!("{after}  (needs a person)"), Color::Red)
    }
}

fn facts_table(r: &RouterDemo, min_disk: i32) -> Table {
    let mut t = Table::new(&["CHECK", "BEFORE", "AFTER"]);
    for (b, a) in r.before.interfaces.iter().zip(&r.after.interfaces) {
        let role = a.role_tag.as_deref().unwrap_or("untagged");
        let dev = a.device_index.map_or("?".into(), |d| d.to_string());
        t.row(vec![
            format!("source/dest check {} (device {dev}, {role})", a.eni_id).into(),
            yes_no(b.source_dest_check).into(),
            change_cell(
                yes_no(b.source_dest_check),
                yes_no(a.source_dest_check),
                a.source_dest_check == Some(false),
            ),
        ]);
    }
    for (b, a) in r.before.interfaces.iter().zip(&r.after.interfaces) {
        let dev = a.device_index.map_or("?".into(), |d| d.to_string());
        let bt = b.role_tag.clone().unwrap_or_else(|| "(missing)".into());
        let at = a.role_tag.clone().unwrap_or_else(|| "(missing)".into());
        t.row(vec![
            format!("SSR-ROLE tag {} (device {dev})", a.eni_id).into(),
            bt.as_str().into(),
            change_cell(&bt, &at, a.role_tag.is_some()),
        ]);
    }
    let disk = |v: Option<i32>| v.map_or("?".to_string(), |g| format!("{g} GB"));
    t.row(vec![
        "root disk".into(),
        disk(r.before.root_volume_gb).into(),
        change_cell(
            &disk(r.before.root_volume_gb),
            &disk(r.after.root_volume_gb),
            r.after.root_volume_gb.is_some_and(|g| g >= min_disk),
        ),
    ]);
    t.row(vec![
        "ENA".into(),
        ena_text(r.before.ena).into(),
        Cell::colored(ena_text(r.after.ena), Color::Yellow),
    ]);
    let profile = |p: bool| if p { "attached" } else { "(none)" };
    t.row(vec![
        "IAM instance profile".into(),
        profile(r.before.instance_profile).into(),
        change_cell(
            profile(r.before.instance_profile),
            profile(r.after.instance_profile),
            r.after.instance_profile,
        ),
    ]);
    t.row(vec![
        "onboarding config (user data)".into(),
        r.before.onboarding.as_str().into(),
        change_cell(
            &r.before.onboarding,
            &r.after.onboarding,
            r.after.onboarding == "valid",
        ),
    ]);
    t
}

pub fn render_text(report: &DemoReport, style: &Style) -> String {
    let mut out = String::new();
    let h = |s: &str| format!("{}\n", style.paint(Color::Bold, s));
    out.push_str(&h(&format!(
        "ssr-onboard demo: emulated AWS (moto {}) at {}, region {}",
        report.moto_version, report.endpoint, report.region
    )));
    for r in &report.routers {
        out.push('\n');
        out.push_str(&h(&format!("{} ({})", r.name, r.instance_id)));
        out.push_str(&format!("{}\n\n", r.scenario));
        out.push_str(&facts_table(r, 128).render(style));
        let fixed: Vec<String> = r
            .guard
            .actions
            .iter()
            .filter(|a| a.status == ActionStatus::Applied)
            .map(|a| a.action.describe())
            .collect();
        out.push('\n');
        if fixed.is_empty() {
            out.push_str("Fixed automatically: nothing\n");
        } else {
            out.push_str(&format!(
                "Fixed automatically (verified by read-back): {}\n",
                fixed.join(", ")
            ));
        }
        let human: Vec<_> = r.guard.findings.iter().filter(|f| f.is_open()).collect();
        if human.is_empty() {
            out.push_str(&format!(
                "{}\n",
                style.paint(Color::Green, "Needs a person: nothing")
            ));
        } else {
            out.push_str(&format!(
                "{}\n",
                style.paint(Color::Red, &format!("Needs a person ({}):", human.len()))
            ));
            for f in human {
                out.push_str(&format!(
                    "  - {} on {}: {}\n",
                    f.code, f.resource, f.message
                ));
                out.push_str(&format!("    What to do: {}\n", f.remediation));
            }
        }
        out.push_str(&format!(
            "Alert: {}\n",
            match (&r.guard.alert.sent, &r.guard.alert.subject) {
                (true, Some(s)) => format!("sent \"{s}\""),
                _ => format!("not sent ({})", r.guard.alert.reason),
            }
        ));
    }
    out.push('\n');
    out.push_str(&h(
        "stack-watch: CloudFormation \"Router CREATE_COMPLETE\" for branch-bad",
    ));
    for i in &report.stack_watch.instances {
        match &i.guard {
            Some(g) => out.push_str(&format!(
                "{}: the guard ran again: {} write(s), alert {}\n",
                i.instance_id,
                g.actions.len(),
                if g.alert.sent {
                    "sent".to_string()
                } else {
                    format!("not sent ({})", g.alert.reason)
                }
            )),
            None => out.push_str(&format!(
                "{}: {}\n",
                i.instance_id,
                i.error.as_deref().unwrap_or("not guarded")
            )),
        }
    }
    out.push('\n');
    out.push_str(&h(&format!(
        "Onboarding watchdog: sweep at {} (Mist: {})",
        report
            .watchdog
            .now
            .map(|t| t.format("%Y-%m-%d %H:%M:%SZ").to_string())
            .unwrap_or_default(),
        report.watchdog.mist.status.as_str()
    )));
    let mut t = Table::new(&["ROUTER", "INSTANCE", "WAITING", "PHASE", "ALERT"]);
    for e in &report.watchdog.episodes {
        let alert = report
            .watchdog
            .alerts
            .iter()
            .find(|a| a.instance_id == e.instance_id);
        t.row(vec![
            e.router_name.as_str().into(),
            e.instance_id.as_str().into(),
            format!("{} min", e.elapsed_minutes).into(),
            e.phase.as_str().into(),
            match alert {
                Some(a) if a.delivery.sent => Cell::colored(format!("{} sent", a.kind), Color::Red),
                Some(a) => Cell::new(format!("{} not sent: {}", a.kind, a.delivery.reason)),
                None => Cell::new("-"),
            },
        ]);
    }
    out.push_str(&t.render(style));
    out.push('\n');
    let hook = &report.mist_webhook;
    out.push_str(&h(&format!(
        "Mist (a local fake of the Mist API at {}): three phases",
        hook.mist_api_url
    )));
    out.push_str(&format!(
        "mist-webhook: {} for {} at {}, signed (X-Mist-Signature-v2) → HTTP {} {}\n",
        hook.event,
        hook.router,
        hook.event_time.format("%Y-%m-%d %H:%M:%SZ"),
        hook.status_code,
        hook.summary["results"][0]["outcome"]
            .as_str()
            .unwrap_or("?")
    ));
    let mut t = Table::new(&["ROUTER", "MIST REPORTS", "PHASE", "OUTCOME"]);
    for m in &report.mist_phases {
        t.row(vec![
            m.router.as_str().into(),
            m.mist_reports.as_str().into(),
            m.phase.as_str().into(),
            match &m.alert_kind {
                Some(k) => Cell::colored(format!("{} ({k})", m.outcome), Color::Red),
                None => Cell::colored(m.outcome.as_str(), Color::Green),
            },
        ]);
    }
    out.push_str(&t.render(style));
    out.push('\n');
    out.push_str(&report::render_text(&report.report, style));
    out.push('\n');
    out.push_str(&h(&format!(
        "On-call mailbox: {} message(s), as an email subscriber of {} receives them",
        report.alerts.len(),
        report.alert_topic_arn
    )));
    for (i, a) in report.alerts.iter().enumerate() {
        out.push_str(&format!("\n----- message {} -----\n", i + 1));
        out.push_str(&format!(
            "Subject: {}\n\n",
            a.subject.as_deref().unwrap_or("(no subject)")
        ));
        out.push_str(a.message.trim_end());
        out.push('\n');
    }
    out.push('\n');
    for n in &report.notes {
        out.push_str(&format!("* {n}\n"));
    }
    out
}
