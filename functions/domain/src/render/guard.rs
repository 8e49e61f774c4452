//! The guard's alert: the findings that remain after fixes, the fixes applied and failed.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{
    array_attr, console_link, kind_attr, short, string_attr, subject, Alert, AlertKind,
    EventContext,
};
use crate::findings::{Finding, Severity};
use crate::plan::{ActionResult, ActionStatus};
use crate::snapshot::RouterSnapshot;

/// The guard's alert for findings that remain after fixes.
pub fn guard_alert(
    ctx: &EventContext,
    s: &RouterSnapshot,
    findings: &[Finding],
    actions: &[ActionResult],
    dry_run: bool,
) -> Alert {
    // Info-level findings (e.g. ENA_UNKNOWN) are notes, not problems for a person.
    let remaining: Vec<&Finding> = findings.iter().filter(|f| f.is_open()).collect();
    let notes: Vec<&Finding> = findings
        .iter()
        .filter(|f| !f.fixed && f.severity == Severity::Info)
        .collect();
    let severity = remaining
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Info);
    let n = remaining.len();
    let subject = subject(&format!(
        "SSR router {} ({}): {n} problem{} need{} attention",
        short(s.label(), 40),
        s.instance_id,
        if n == 1 { "" } else { "s" },
        if n == 1 { "s" } else { "" },
    ));

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
        ctx.account.as_deref().unwrap_or("?"),
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
            f.remediation.clone()
        };
        let _ = writeln!(
            b,
            "   {}: {what}",
            if planned {
                "Planned automatic fix (DRY_RUN, not applied)"
            } else {
                "What to do"
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
    let failed: Vec<&ActionResult> = actions
        .iter()
        .filter(|a| matches!(a.status, ActionStatus::Failed | ActionStatus::Unverified))
        .collect();
    if !failed.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(
            b,
            "Automatic fixes that did not take (the event will be retried):"
        );
        for a in failed {
            let _ = writeln!(
                b,
                "  - {}: {}",
                a.action.describe(),
                a.error.as_deref().unwrap_or("not verified")
            );
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
        "Identical findings for this router are not re-sent for 24 hours."
    );

    let codes: Vec<&str> = remaining.iter().map(|f| f.code.as_str()).collect();
    let attributes = BTreeMap::from([
        kind_attr(AlertKind::GuardFindings),
        ("severity".to_string(), string_attr(severity.as_str())),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{evaluate, Policy};
    use crate::snapshot::fixture::good_router;

    #[test]
    fn when_only_info_remains_besides_problems_then_info_is_a_note_not_counted() {
        let mut s = good_router();
        s.ena = crate::snapshot::EnaStatus::Unknown;
        s.interfaces[1].tags.clear();
        let f = evaluate(&s, &Policy::for_state("running", false, 128));
        let a = guard_alert(&EventContext::default(), &s, &f, &[], false);
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
        let a = guard_alert(&EventContext::default(), &s, &f, &[], false);
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
        let a = guard_alert(&ctx, &s, &f, &[], false);
        assert!(a.body.contains("ENI_ROLE_TAG_MISSING on eni-lan"));
        assert!(a.body.contains("aws ec2 create-tags --resources eni-lan"));
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
}
