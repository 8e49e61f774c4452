//! The watchdog's info notices for an estate it did not see launch: routers adopted (running
//! past their deadline before the watchdog first saw them) and onboarding that cannot be
//! verified (no Mist settings). Neither pages; both say what a person can do about it.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};

use super::watchdog::{attributes, context_lines, episode_thread, human_duration, EpisodeView};
use super::{
    console_link, kind_attr, short, subject, Alert, AlertKind, AlertSeverity, EventContext,
};
use crate::episode::Phase;

/// At most this many routers are listed in one summary (the rest are counted).
const MAX_LISTED: usize = 50;

/// One router adopted in a sweep, as the summary lists it.
#[derive(Clone, Debug)]
pub struct AdoptedRouter<'a> {
    pub view: EpisodeView<'a>,
    pub phase: &'a Phase,
    pub account: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// "ssr-onboard adopted N running routers not onboarded": one info summary per sweep listing
/// the routers adopted in that sweep that Mist does not show onboarded, with their phase.
pub fn adopted_summary_alert(
    ctx: &EventContext,
    routers: &[AdoptedRouter<'_>],
    deadline: Duration,
    now: DateTime<Utc>,
) -> Alert {
    let subject = subject(&format!(
        "ssr-onboard adopted {} running router(s) not onboarded",
        routers.len()
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "ssr-onboard found {} router(s) already running longer than the onboarding deadline ({} min) when it first saw them: they were running before it was deployed, or while the watchdog was off. They are adopted, not paged, and Mist does not show them onboarded:",
        routers.len(),
        deadline.num_minutes()
    );
    let _ = writeln!(b);
    for r in routers.iter().take(MAX_LISTED) {
        let _ = writeln!(
            b,
            "- {} ({}){}: running {}, phase {}",
            r.view.label,
            r.view.instance_id,
            match (r.account, r.region) {
                (Some(a), Some(g)) => format!(" in {a} {g}"),
                (None, Some(g)) => format!(" in {g}"),
                _ => String::new(),
            },
            human_duration(now - r.view.started_at),
            r.phase.code()
        );
        let _ = writeln!(b, "    {}", r.phase.describe());
    }
    if routers.len() > MAX_LISTED {
        let _ = writeln!(b, "- and {} more", routers.len() - MAX_LISTED);
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "What to do: check each router in the Mist portal (Organization > Inventory > Gateways). A router that should be onboarded and is not needs the usual troubleshooting (docs/watchdog.md). Adopted routers are never paged; each is listed here once, in the sweep that adopted it. To page them instead, deploy with AdoptExisting=page."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "Seen: {}", now.format("%Y-%m-%d %H:%M:%S UTC"));
    Alert {
        subject,
        body: b,
        attributes: BTreeMap::from([
            kind_attr(AlertKind::RoutersAdopted),
            AlertSeverity::Info.attr(),
        ]),
        thread_id: "ssr-onboard-adopted-routers".to_string(),
        related_resources: routers
            .iter()
            .take(MAX_LISTED)
            .map(|r| r.view.instance_id.to_string())
            .collect(),
        next_steps: vec![
            "Check each listed router in the Mist portal's inventory.".to_string(),
            "Troubleshoot the ones that should be onboarded (docs/watchdog.md).".to_string(),
        ],
    }
    .in_context(ctx)
}

/// "SSR onboarding not verified: <router> (<id>)": the deadline passed and, without Mist
/// settings, the watchdog cannot tell whether the router onboarded. Once per episode, info.
pub fn unverified_alert(
    ctx: &EventContext,
    e: &EpisodeView<'_>,
    phase: &Phase,
    now: DateTime<Utc>,
    deadline: Duration,
) -> Alert {
    let elapsed = now - e.started_at;
    let subject = subject(&format!(
        "SSR onboarding not verified: {} ({}) {}",
        short(e.label, 40),
        e.instance_id,
        human_duration(elapsed)
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The Session Smart Router {} ({}) was launched {} ago (deadline: {} min). ssr-onboard has no Mist settings, so it cannot tell whether the router onboarded; this is not a page.",
        e.label,
        e.instance_id,
        human_duration(elapsed),
        deadline.num_minutes()
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "  {}", phase.describe());
    let _ = writeln!(b);
    context_lines(&mut b, ctx, e, now);
    if let Some(region) = &ctx.region {
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {}", console_link(region, e.instance_id));
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "What to do: check the router in the Mist portal (Organization > Inventory > Gateways). To have ssr-onboard verify onboarding and page when it fails, deploy with the MistOrgId and MistTokenSecretArn parameters (docs/configuration.md). To page at the deadline without Mist instead, deploy with UnverifiedOnboarding=page."
    );
    Alert {
        subject,
        body: b,
        attributes: attributes(AlertKind::OnboardingUnverified, AlertSeverity::Info, e.instance_id, phase),
        thread_id: episode_thread(e),
        related_resources: vec![e.instance_id.to_string()],
        next_steps: vec![
            "Check the router in the Mist portal's inventory.".to_string(),
            "Give ssr-onboard the Mist settings (MistOrgId, MistTokenSecretArn) to verify onboarding.".to_string(),
        ],
    }
    .in_context(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::string_attr;
    use crate::snapshot::Interface;

    fn view<'a>(interfaces: &'a [Interface], id: &'a str) -> EpisodeView<'a> {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        EpisodeView {
            instance_id: id,
            label: "branch-1",
            name_tag: Some("branch-1"),
            stack_name: None,
            instance_type: Some("c5.xlarge"),
            key_name: None,
            launch_time: t0,
            started_at: t0,
            interfaces,
            ssr_version: Some("6.3.0"),
            onboarding_note: None,
            snoozed_until: None,
            rule: crate::episode::OnboardingRule::FirstInstall {
                floor: Some("6.3.0"),
            },
        }
    }

    fn ctx() -> EventContext {
        EventContext {
            trigger: "scheduled sweep".into(),
            region: Some("us-east-1".into()),
            account: Some("111122223333".into()),
            ..Default::default()
        }
    }

    #[test]
    fn when_routers_are_adopted_then_one_info_summary_lists_each_with_its_phase() {
        let now = DateTime::from_timestamp(1_700_000_000 + 3 * 86_400, 0).unwrap_or_default();
        let phase = Phase::NotInInventory;
        let routers = [
            AdoptedRouter {
                view: view(&[], "i-0aaaaaaaaaaaaaaa1"),
                phase: &phase,
                account: Some("444455556666"),
                region: Some("eu-west-1"),
            },
            AdoptedRouter {
                view: view(&[], "i-0aaaaaaaaaaaaaaa2"),
                phase: &phase,
                account: None,
                region: None,
            },
        ];
        let a = adopted_summary_alert(&ctx(), &routers, Duration::minutes(15), now);
        assert_eq!(a.kind(), Some(AlertKind::RoutersAdopted));
        assert_eq!(a.attributes["severity"], string_attr("info"));
        assert!(
            a.subject.contains("adopted 2 running router(s)"),
            "{}",
            a.subject
        );
        assert!(
            a.body
                .contains("i-0aaaaaaaaaaaaaaa1) in 444455556666 eu-west-1"),
            "{}",
            a.body
        );
        assert!(a.body.contains("phase not-in-inventory"), "{}", a.body);
        assert!(a.body.contains("AdoptExisting=page"), "{}", a.body);
        assert_eq!(a.related_resources.len(), 2);
    }

    #[test]
    fn when_onboarding_cannot_be_verified_then_an_info_notice_says_why_and_how_to_fix_it() {
        let now = DateTime::from_timestamp(1_700_000_000 + 20 * 60, 0).unwrap_or_default();
        let phase = Phase::Unknown {
            reason: "Mist not configured (MIST_ORG_ID is not set)".into(),
        };
        let a = unverified_alert(
            &ctx(),
            &view(&[], "i-0aaaaaaaaaaaaaaa1"),
            &phase,
            now,
            Duration::minutes(15),
        );
        assert_eq!(a.kind(), Some(AlertKind::OnboardingUnverified));
        assert_eq!(a.attributes["severity"], string_attr("info"));
        assert!(
            a.subject
                .starts_with("SSR onboarding not verified: branch-1"),
            "{}",
            a.subject
        );
        assert!(a.body.contains("not a page"), "{}", a.body);
        assert!(a.body.contains("MistTokenSecretArn"), "{}", a.body);
        assert!(a.body.contains("UnverifiedOnboarding=page"), "{}", a.body);
    }
}
