//! The guard's drift notice: a setting the guard keeps was changed back by someone (a
//! CloudTrail-recorded call) and the guard fixed it again.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{
    array_attr, console_link, kind_attr, short, string_attr, subject, Alert, AlertKind,
    AlertSeverity, EventContext,
};
use crate::findings::Finding;
use crate::plan::{ActionResult, ActionStatus};

/// The drift notice for `instance_id` (`label`): the fixes applied again after `ctx.trigger`
/// (e.g. "CloudTrail: ModifyNetworkInterfaceAttribute by arn:…") and the findings they fixed.
pub fn drift_fixed_alert(
    ctx: &EventContext,
    instance_id: &str,
    label: &str,
    findings: &[Finding],
    actions: &[ActionResult],
) -> Alert {
    let applied: Vec<&ActionResult> = actions
        .iter()
        .filter(|a| a.status == ActionStatus::Applied)
        .collect();
    let fixed: Vec<&Finding> = findings.iter().filter(|f| f.fixed).collect();
    let n = applied.len();
    let mut b = String::new();
    let _ = writeln!(
        b,
        "Drift: a setting ssr-onboard keeps on the Session Smart Router {label} ({instance_id}) was changed back, and ssr-onboard fixed it again."
    );
    let _ = writeln!(b, "Trigger: {}", ctx.trigger);
    let _ = writeln!(
        b,
        "Account: {}   Region: {}",
        ctx.account_label(),
        ctx.region.as_deref().unwrap_or("?")
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "Fixed again");
    for a in &applied {
        let _ = writeln!(b, "  - {}", a.action.describe());
    }
    for f in &fixed {
        let _ = writeln!(b, "  {} on {}: {}", f.code.as_str(), f.resource, f.message);
    }
    let mut next_steps = vec![
        "Find out who changed it and why: the principal in the trigger above, in CloudTrail."
            .to_string(),
        "If the change is intended, tag the router SSR-ONBOARD=monitor (checked and alerted, never written)."
            .to_string(),
    ];
    if let Some(region) = ctx.region.as_deref().filter(|r| !r.is_empty()) {
        let link = console_link(region, instance_id);
        let _ = writeln!(b, "Console: {link}");
        next_steps.push(format!("Console: {link}"));
    }
    let codes: Vec<&str> = fixed.iter().map(|f| f.code.as_str()).collect();
    Alert {
        subject: subject(&format!(
            "SSR router {}: drift fixed again ({n} setting{})",
            if label == instance_id {
                instance_id.to_string()
            } else {
                format!("{} ({instance_id})", short(label, 40))
            },
            if n == 1 { "" } else { "s" }
        )),
        body: b,
        attributes: BTreeMap::from([
            kind_attr(AlertKind::GuardDrift),
            AlertSeverity::Warning.attr(),
            ("instance_id".to_string(), string_attr(instance_id)),
            ("finding_codes".to_string(), array_attr(&codes)),
        ]),
        thread_id: format!("ssr-onboard/instance/{instance_id}"),
        related_resources: vec![instance_id.to_string()],
        next_steps,
    }
    .in_context(ctx)
}
