//! The `resolve` alerts that close an incident a trigger opened: a router's guard findings all
//! gone (fixed by hand or by the guard), a router stack whose later operation succeeded. The
//! watchdog's recovered notice ([`super::watchdog::recovered_alert`]) is the onboarding
//! episode's resolve. Each carries the kind of what it resolves and severity `info`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::incident::{Action, IncidentKey};
use super::severity::AlertSeverity;
use super::{console_link, kind_attr, string_attr, subject, Alert, AlertKind, EventContext};

/// The guard found none of the findings it alerted for `instance_id` open any more.
pub fn findings_cleared_alert(
    ctx: &EventContext,
    instance_id: &str,
    label: &str,
    opened_at: &str,
) -> Alert {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "Resolved: the findings alerted for SSR router {label} ({instance_id}) since {opened_at} are no longer open."
    );
    let _ = writeln!(b, "Trigger: {}", ctx.trigger);
    let mut next_steps = vec!["Nothing to do: the router passes the guard's checks.".to_string()];
    if let Some(region) = ctx.region.as_deref().filter(|r| !r.is_empty()) {
        let link = console_link(region, instance_id);
        let _ = writeln!(b, "Console: {link}");
        next_steps.push(format!("Console: {link}"));
    }
    Alert {
        subject: subject(&format!(
            "Resolved: SSR router {label} ({instance_id}) findings cleared"
        )),
        body: b,
        attributes: BTreeMap::from([
            kind_attr(AlertKind::GuardFindings),
            AlertSeverity::Info.attr(),
            ("instance_id".to_string(), string_attr(instance_id)),
        ]),
        thread_id: format!("ssr-onboard/guard/{instance_id}"),
        related_resources: vec![instance_id.to_string()],
        next_steps,
    }
    .in_context(ctx)
    .for_incident(&IncidentKey::guard(instance_id), Action::Resolve)
}

/// A router stack whose failure was paged completed a later operation (`CREATE_COMPLETE` or
/// `UPDATE_COMPLETE`).
pub fn stack_recovered_alert(
    ctx: &EventContext,
    stack_name: &str,
    stack_id: &str,
    status: &str,
    opened_at: &str,
) -> Alert {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "Resolved: router stack {stack_name} is {status}; the failure paged at {opened_at} is over."
    );
    let _ = writeln!(b, "Stack: {stack_id}");
    Alert {
        subject: subject(&format!("Resolved: router stack {stack_name} is {status}")),
        body: b,
        attributes: BTreeMap::from([
            kind_attr(AlertKind::StackFailed),
            AlertSeverity::Info.attr(),
            ("stack_name".to_string(), string_attr(stack_name)),
            ("status".to_string(), string_attr(status)),
        ]),
        thread_id: format!("ssr-onboard/stack/{stack_id}"),
        related_resources: vec![stack_id.to_string()],
        next_steps: vec!["Nothing to do: the stack's latest operation succeeded.".to_string()],
    }
    .in_context(ctx)
    .for_incident(&IncidentKey::stack(stack_id), Action::Resolve)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> EventContext {
        EventContext {
            trigger: "EC2 state change: running".into(),
            region: Some("us-east-1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn when_findings_clear_then_the_resolve_shares_the_guard_incident_key() {
        let a = findings_cleared_alert(&ctx(), "i-1", "r1", "2026-12-06T10:00:00Z");
        assert_eq!(a.action(), Action::Resolve);
        assert_eq!(a.incident_key(), Some(IncidentKey::guard("i-1")));
        assert_eq!(a.kind(), Some(AlertKind::GuardFindings));
        assert_eq!(a.attributes["severity"], string_attr("info"));
        assert!(a.subject.starts_with("Resolved: "), "{}", a.subject);
    }

    #[test]
    fn when_a_stack_recovers_then_the_resolve_shares_the_stack_incident_key() {
        let a = stack_recovered_alert(&ctx(), "r1", "arn:s", "UPDATE_COMPLETE", "t");
        assert_eq!(a.incident_key(), Some(IncidentKey::stack("arn:s")));
        assert_eq!(a.action(), Action::Resolve);
        assert!(a.body.contains("UPDATE_COMPLETE"));
    }
}
