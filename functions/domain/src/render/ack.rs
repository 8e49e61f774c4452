//! "SSR onboarding acknowledged": the resolve `ssr-onboard ack` sends for an onboarding episode
//! that had been paged, so no incident stays open in a paging tool. It carries the page's
//! incident key ([`IncidentKey::episode`]) with `action` = `resolve`, and says who acknowledged
//! the episode and why. Pure; never given a secret.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::{
    console_link, kind_attr, short, string_attr, subject, Action, Alert, AlertKind, AlertSeverity,
    EventContext, IncidentKey,
};
use crate::episode::records::Acknowledgement;

/// The `phase` attribute of the resolve (the episode ended acknowledged, not onboarded).
pub const ACKNOWLEDGED_PHASE: &str = "acknowledged";

/// The resolve of an acknowledged, paged episode (kind `onboarding-acknowledged`, info).
pub fn acknowledged_alert(ctx: &EventContext, ack: &Acknowledgement) -> Alert {
    let label = ack
        .router_name
        .as_deref()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or(&ack.instance_id);
    let key = IncidentKey::episode(&ack.instance_id, ack.started_at.timestamp());
    let subject = subject(&format!(
        "SSR onboarding acknowledged: {} ({})",
        short(label, 40),
        ack.instance_id
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The onboarding episode of the Session Smart Router {label} ({}), paged earlier, was acknowledged by {} at {}. This resolves the page; no recovered notice follows for this episode.",
        ack.instance_id,
        ack.acknowledged_by,
        ack.acknowledged_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "  Reason:      {}",
        ack.reason.as_deref().unwrap_or("(none given)")
    );
    let _ = writeln!(
        b,
        "  Episode:     started {}",
        ack.started_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(
        b,
        "  Account:     {}   Region: {}",
        ctx.account_label(),
        ctx.region.as_deref().unwrap_or("?")
    );
    if let Some(region) = &ctx.region {
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {}", console_link(region, &ack.instance_id));
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "That episode only: the router's next onboarding episode (after a stop/start) is watched, and paged when overdue, as usual."
    );
    Alert {
        subject,
        body: b,
        attributes: BTreeMap::from([
            kind_attr(AlertKind::OnboardingAcknowledged),
            AlertSeverity::Info.attr(),
            ("instance_id".to_string(), string_attr(&*ack.instance_id)),
            ("phase".to_string(), string_attr(ACKNOWLEDGED_PHASE)),
        ]),
        // The episode's chat thread (the page's).
        thread_id: key.as_str().to_string(),
        related_resources: vec![ack.instance_id.clone()],
        next_steps: vec!["No action needed.".to_string()],
    }
    .in_context(ctx)
    .for_incident(&key, Action::Resolve)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Duration};

    fn ack() -> Acknowledgement {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        Acknowledgement {
            instance_id: "i-0abc1234def567890".into(),
            router_name: Some("branch-7".into()),
            started_at: t0,
            acknowledged_at: t0 + Duration::minutes(40),
            reason: Some("lab router, onboarded by hand".into()),
            acknowledged_by: "arn:aws:sts::111122223333:assumed-role/Ops/jane".into(),
            alerted: true,
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
        }
    }

    #[test]
    fn when_a_paged_episode_is_acknowledged_then_the_resolve_carries_the_pages_incident_key() {
        let ctx = EventContext {
            trigger: "ssr-onboard ack".into(),
            region: Some("eu-west-1".into()),
            account: Some("111122223333".into()),
            ..Default::default()
        };
        let a = acknowledged_alert(&ctx, &ack());
        assert_eq!(a.kind(), Some(AlertKind::OnboardingAcknowledged));
        assert_eq!(a.action(), Action::Resolve);
        assert_eq!(
            a.incident_key(),
            Some(IncidentKey::episode("i-0abc1234def567890", 1_700_000_000))
        );
        assert_eq!(
            a.subject,
            "SSR onboarding acknowledged: branch-7 (i-0abc1234def567890)"
        );
        assert!(
            a.body.contains("lab router, onboarded by hand"),
            "{}",
            a.body
        );
        assert!(
            a.body
                .contains("arn:aws:sts::111122223333:assumed-role/Ops/jane"),
            "{}",
            a.body
        );
        assert_eq!(
            a.attributes.get("severity").map(|(_, v)| v.as_str()),
            Some("info")
        );
        assert_eq!(
            a.thread_id, "ssr-onboard/onboarding/i-0abc1234def567890/1700000000",
            "the page's chat thread"
        );
    }
}
