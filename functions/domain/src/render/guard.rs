//! The guard's alert: the findings that remain after fixes, the fixes applied and failed.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{
    array_attr, console_link, kind_attr, short, string_attr, subject, Alert, AlertKind,
    AlertSeverity, EventContext,
};
use crate::findings::{Action, Finding, Severity};
use crate::plan::{ActionResult, ActionStatus};
use crate::snapshot::RouterSnapshot;

/// The guard's alert for findings that remain after fixes.
pub fn guard_alert(
    ctx: &EventContext,
    s: &RouterSnapshot,
    findings: &[Finding],
    actions: &[ActionResult],
    dry_run: bool,
    dedup: chrono::Duration,
) -> Alert {
    // Info-level findings (e.g. ENA_UNKNOWN) are notes, not problems for a person.
    let remaining: Vec<&Finding> = findings.iter().filter(|f| f.is_open()).collect();
    let notes: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.fixed && f.severity == Severity::Info)
        .collect();
    // A fix the guard wrote that did not take (EC2 refused it, or the read-back does not show
    // it) is harm now: with source/destination check still on, the router drops the traffic it
    // forwards. Its own subject and the highest severity, distinct from findings that only warn.
    let failed: Vec<&ActionResult> = actions
        .iter()
        .filter(|a| matches!(a.status, ActionStatus::Failed | ActionStatus::Unverified))
        .collect();
    let severity = if failed.is_empty() {
        remaining
            .iter()
            .map(|f| AlertSeverity::from(f.severity))
            .max()
            .unwrap_or(AlertSeverity::Info)
    } else {
        AlertSeverity::Critical
    };
    let n = remaining.len();
    let subject = subject(&match failed.first() {
        Some(first) => format!(
            "SSR fix FAILED: {} ({}): {}{}",
            short(s.label(), 24),
            s.instance_id,
            match first.action {
                Action::DisableSourceDestCheck { .. } => "source/dest check still on",
                Action::EnableEna { .. } => "ENA still off",
            },
            if failed.len() > 1 {
                format!(" (+{} more)", failed.len() - 1)
            } else {
                String::new()
            }
        ),
        None => format!(
            "SSR router {} ({}): {n} problem{} need{} attention",
            short(s.label(), 40),
            s.instance_id,
            if n == 1 { "" } else { "s" },
            if n == 1 { "s" } else { "" },
        ),
    });

    let mut b = String::new();
    let _ = writeln!(
        b,
        "ssr-onboard checked the Session Smart Router {} ({}) after: {}.",
        s.label(),
        s.instance_id,
        ctx.trigger
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "Router");
    let _ = writeln!(
        b,
        "  Instance:  {} ({}, {})",
        s.instance_id,
        s.instance_type.as_deref().unwrap_or("?"),
        s.state
    );
    if let Some(stack) = s.stack_name() {
        let _ = writeln!(b, "  Stack:     {stack}");
    }
    let _ = writeln!(
        b,
        "  Account:   {}   Region: {}",
        ctx.account_label(),
        ctx.region.as_deref().unwrap_or("?")
    );
    for i in &s.interfaces {
        let _ = writeln!(
            b,
            "  Interface: {} device {} role {} private {} public {}",
            i.eni_id,
            i.device_index.map_or("?".into(), |d| d.to_string()),
            i.role_tag().unwrap_or("(untagged)"),
            i.private_ip.as_deref().unwrap_or("-"),
            i.public_ip.as_deref().unwrap_or("-"),
        );
    }
    if !failed.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(
            b,
            "AUTOMATIC FIX FAILED: the guard wrote a fix that did not take. Act now: the event will be retried, but until a fix holds the router is misconfigured{}:",
            if failed.iter().any(|a| matches!(a.action, Action::DisableSourceDestCheck { .. })) {
                " (source/destination check is still on, so the router drops the traffic it forwards)"
            } else {
                ""
            }
        );
        for a in &failed {
            let _ = writeln!(
                b,
                "  - {}: {}",
                a.action.describe(),
                a.error.as_deref().unwrap_or("not verified by read-back")
            );
            let _ = writeln!(
                b,
                "    Fix it by hand{}: {}",
                ctx.run_in(),
                ctx.commands(&by_hand(&a.action))
            );
        }
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "{n} problem{} need{} a person:",
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" }
    );
    let mut next_steps = Vec::new();
    for (k, f) in remaining.iter().enumerate() {
        let _ = writeln!(b);
        let _ = writeln!(
            b,
            "{}. [{}] {} on {}",
            k + 1,
            f.severity.as_str().to_uppercase(),
            f.code,
            f.resource
        );
        let _ = writeln!(b, "   {}", f.message);
        let planned = dry_run && f.fix.is_some();
        let what = if planned {
            f.fix.as_ref().map(|a| a.describe()).unwrap_or_default()
        } else {
            ctx.commands(&f.remediation)
        };
        let _ = writeln!(
            b,
            "   {}: {what}",
            if planned {
                "Planned automatic fix (DRY_RUN, not applied)".to_string()
            } else {
                format!("What to do{}", ctx.run_in())
            },
        );
        next_steps.push(format!(
            "{} on {}: {}{what}",
            f.code,
            f.resource,
            if planned {
                "planned fix (DRY_RUN): "
            } else {
                ""
            }
        ));
    }
    let applied: Vec<&ActionResult> = actions
        .iter()
        .filter(|a| a.status == ActionStatus::Applied)
        .collect();
    if !applied.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "Fixed automatically (verified by read-back):");
        for a in applied {
            let _ = writeln!(b, "  - {}", a.action.describe());
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "Notes (no action needed):");
        for f in &notes {
            let _ = writeln!(b, "  - {} on {}: {}", f.code, f.resource, f.message);
        }
    }
    if let Some(region) = &ctx.region {
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {}", console_link(region, &s.instance_id));
        next_steps.push(format!("Console: {}", console_link(region, &s.instance_id)));
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "Identical findings for this router are not re-sent within {} (ALERT_DEDUP_HOURS).",
        hours(dedup)
    );

    let codes: Vec<&str> = remaining.iter().map(|f| f.code.as_str()).collect();
    let attributes = BTreeMap::from([
        kind_attr(AlertKind::GuardFindings),
        severity.attr(),
        ("instance_id".to_string(), string_attr(&s.instance_id)),
        ("finding_codes".to_string(), array_attr(&codes)),
    ]);
    Alert {
        subject,
        body: b,
        attributes,
        thread_id: format!("ssr-onboard/instance/{}", s.instance_id),
        related_resources: vec![s.instance_id.clone()],
        next_steps,
    }
    .in_context(ctx)
}

/// The command that does by hand what a failed automatic fix tried to do.
fn by_hand(action: &Action) -> String {
    match action {
        Action::DisableSourceDestCheck { eni_id } => format!(
            "aws ec2 modify-network-interface-attribute --network-interface-id {eni_id} --no-source-dest-check"
        ),
        Action::EnableEna { instance_id } => format!(
            "aws ec2 modify-instance-attribute --instance-id {instance_id} --ena-support   (the instance must be stopped)"
        ),
    }
}

/// "24 hours", "1 hour", "90 minutes".
fn hours(d: chrono::Duration) -> String {
    match (d.num_hours(), d.num_minutes()) {
        (1, 60) => "1 hour".to_string(),
        (h, m) if m == h * 60 => format!("{h} hours"),
        (_, m) => format!("{m} minutes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{evaluate, Policy};
    use crate::snapshot::fixture::good_router;

    const DEDUP: chrono::Duration = chrono::Duration::hours(24);

    #[test]
    fn when_only_info_remains_besides_problems_then_info_is_a_note_not_counted() {
        let mut s = good_router();
        s.ena = crate::snapshot::EnaStatus::Unknown;
        s.interfaces[1].tags.clear();
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let a = guard_alert(&EventContext::default(), &s, &f, &[], false, DEDUP);
        assert!(a.subject.contains(": 2 problems"), "{}", a.subject);
        assert!(
            a.body
                .contains("Notes (no action needed):\n  - ENA_UNKNOWN"),
            "{}",
            a.body
        );
        assert!(!a.attributes["finding_codes"].1.contains("ENA_UNKNOWN"));
    }

    #[test]
    fn when_label_is_long_then_subject_stays_under_100_ascii_chars() {
        let mut s = good_router();
        s.tags.insert("Name".into(), "Zürich-".repeat(30));
        s.onboarding = crate::onboarding_config::inspect(None);
        s.interfaces[1].tags.clear();
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let a = guard_alert(&EventContext::default(), &s, &f, &[], false, DEDUP);
        assert!(
            a.subject.len() < 100 && a.subject.is_ascii(),
            "{}",
            a.subject
        );
        assert!(a.subject.contains("i-0123456789abcdef0"));
    }

    #[test]
    fn when_findings_remain_then_body_lists_each_with_remediation_and_attributes_filterable() {
        let mut s = good_router();
        s.interfaces[1].tags.clear();
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let ctx = EventContext {
            trigger: "EC2 state change: running".into(),
            region: Some("us-east-1".into()),
            ..Default::default()
        };
        let a = guard_alert(&ctx, &s, &f, &[], false, DEDUP);
        assert!(a.body.contains("ENI_ROLE_TAG_MISSING on eni-lan"));
        assert!(a
            .body
            .contains("aws ec2 create-tags --region us-east-1 --resources eni-lan"));
        assert!(a.body.contains("console.aws.amazon.com"));
        assert_eq!(a.attributes["severity"], string_attr("error"));
        assert_eq!(
            a.attributes["finding_codes"],
            (
                "String.Array".to_string(),
                r#"["ENI_ROLE_TAG_MISSING","NO_LAN_INTERFACE"]"#.to_string()
            )
        );
    }

    fn failed_srcdst(eni: &str) -> ActionResult {
        ActionResult {
            action: Action::DisableSourceDestCheck { eni_id: eni.into() },
            status: ActionStatus::Unverified,
            error: Some("read-back still shows SourceDestCheck=true".into()),
        }
    }

    fn eu_west_1() -> EventContext {
        EventContext {
            trigger: "EC2 state change: running".into(),
            region: Some("eu-west-1".into()),
            account: Some("111122223333".into()),
            ..Default::default()
        }
    }

    #[test]
    fn when_a_fix_failed_then_its_own_subject_and_critical_severity_above_any_finding() {
        let mut s = good_router();
        s.interfaces[0].source_dest_check = Some(true);
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let a = guard_alert(
            &eu_west_1(),
            &s,
            &f,
            &[failed_srcdst("eni-wan")],
            false,
            DEDUP,
        );
        assert!(
            a.subject
                == "SSR fix FAILED: SSR_1_Router (i-0123456789abcdef0): source/dest check still on",
            "{}",
            a.subject
        );
        assert!(a.subject.len() < 100, "{}", a.subject);
        assert_eq!(a.attributes["severity"], string_attr("critical"));
        assert!(
            a.body.contains("the router drops the traffic it forwards"),
            "{}",
            a.body
        );
        assert!(
            a.body.contains("aws ec2 modify-network-interface-attribute --region eu-west-1 --network-interface-id eni-wan --no-source-dest-check"),
            "{}",
            a.body
        );
    }

    #[test]
    fn when_only_the_disk_is_small_then_a_warning_with_the_problems_subject_not_a_failed_fix() {
        let s = good_router();
        let f = evaluate(&s, &Policy::for_state("running", false, 256));
        assert!(f
            .iter()
            .any(|f| f.code == crate::findings::FindingCode::RootVolumeTooSmall));
        let a = guard_alert(&eu_west_1(), &s, &f, &[], false, DEDUP);
        assert_eq!(a.attributes["severity"], string_attr("warning"));
        assert!(
            a.subject.ends_with(": 1 problem needs attention"),
            "{}",
            a.subject
        );
        assert!(!a.body.contains("AUTOMATIC FIX FAILED"), "{}", a.body);
        assert!(
            a.body
                .contains("aws ec2 modify-volume --region eu-west-1 --volume-id"),
            "{}",
            a.body
        );
    }

    #[test]
    fn when_alert_dedup_hours_is_configured_then_the_footer_says_that_window() {
        let mut s = good_router();
        s.interfaces[1].tags.clear();
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let a = guard_alert(&eu_west_1(), &s, &f, &[], false, chrono::Duration::hours(6));
        assert!(
            a.body
                .contains("not re-sent within 6 hours (ALERT_DEDUP_HOURS)"),
            "{}",
            a.body
        );
        assert!(!a.body.contains("24 hours"), "{}", a.body);
        let a = guard_alert(&eu_west_1(), &s, &f, &[], false, chrono::Duration::hours(1));
        assert!(a.body.contains("within 1 hour "), "{}", a.body);
    }

    #[test]
    fn when_the_router_is_in_a_member_account_then_each_remediation_names_the_account_and_region() {
        let mut s = good_router();
        s.interfaces[1].tags.clear();
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let ctx = EventContext {
            member: true,
            account: Some("444455556666".into()),
            account_name: Some("Branch Prod".into()),
            ..eu_west_1()
        };
        let a = guard_alert(&ctx, &s, &f, &[], false, DEDUP);
        assert!(
            a.body
                .contains("What to do in account 444455556666 (Branch Prod): Tag it"),
            "{}",
            a.body
        );
        assert!(
            a.body
                .contains("aws ec2 create-tags --region eu-west-1 --resources eni-lan"),
            "{}",
            a.body
        );
        assert!(
            a.subject.starts_with("[Branch Prod eu-west-1] SSR router"),
            "{}",
            a.subject
        );
        assert_eq!(a.attributes["account"], string_attr("444455556666"));
    }
}
