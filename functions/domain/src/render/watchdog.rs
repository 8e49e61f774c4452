//! The watchdog's two messages: "onboarding overdue" (read by a person at 3 a.m.: what, which
//! router, how late, what to do) and "onboarding recovered". Pure; never given a secret.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};

pub use super::operational::{member_unreachable_alert, token_rejected_alert};
use super::{
    console_link, kind_attr, short, string_attr, subject, Alert, AlertKind, AlertSeverity,
    EventContext,
};
use crate::episode::{Episode, OnboardingRule, Phase};
use crate::select::Snooze;
use crate::snapshot::Interface;

/// The hardware bootstrapper's tech-support archive (vendor guide, "Mist-Managed Setup").
pub const TECH_SUPPORT_ZIP: &str =
    "/var/log/128T-hardware-bootstrapper/hardware-bootstrapper-tech-support.zip";
/// The services whose journals the guide says to read.
pub const JOURNAL_UNITS: [&str; 3] = ["128T-hardware-bootstrapper", "ember", "128T-mist-agent"];

/// What the alert says about one router's onboarding episode.
#[derive(Clone, Debug)]
pub struct EpisodeView<'a> {
    pub instance_id: &'a str,
    /// Onboarding-config name, else Name tag, else stack name, else the instance id.
    pub label: &'a str,
    pub name_tag: Option<&'a str>,
    pub stack_name: Option<&'a str>,
    pub instance_type: Option<&'a str>,
    pub key_name: Option<&'a str>,
    pub launch_time: DateTime<Utc>,
    /// The episode start: the launch time, or a later start recorded by the guard/stack-watch.
    pub started_at: DateTime<Utc>,
    pub interfaces: &'a [Interface],
    /// The onboarding config's `ssr-version`, when it was read.
    pub ssr_version: Option<&'a str>,
    /// What is wrong with (or missing from) the onboarding config in the user data.
    pub onboarding_note: Option<&'a str>,
    /// The router's `SSR-ONBOARD-SNOOZE-UNTIL` time, when it has one (the page after a snooze
    /// says it was snoozed).
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The rule the episode is judged by: first install (the version floor) or reconnect only
    /// (the instance onboarded before).
    pub rule: OnboardingRule<'a>,
}

impl<'a> From<&'a Episode> for EpisodeView<'a> {
    fn from(e: &'a Episode) -> Self {
        EpisodeView {
            instance_id: &e.instance_id,
            label: e.label(),
            name_tag: e.name_tag(),
            stack_name: e.stack_name(),
            instance_type: e.instance_type.as_deref(),
            key_name: e.key_name.as_deref(),
            launch_time: e.launch_time,
            started_at: e.started_at,
            interfaces: &e.interfaces,
            ssr_version: e.wanted_version(),
            onboarding_note: e.watch.as_ref().and_then(|w| w.onboarding_note.as_deref()),
            snoozed_until: match Snooze::of(&e.tags) {
                Snooze::Until(t) => Some(t),
                Snooze::None | Snooze::Invalid(_) => None,
            },
            rule: e.onboarding_rule(),
        }
    }
}

/// The SSH user: `t128` for instances created by a CloudFormation stack (the vendor's BYOL
/// template is one), else `ec2-user` (the guide). Returns (first try, fallback).
pub fn ssh_users(stack_name: Option<&str>) -> (&'static str, &'static str) {
    if stack_name.is_some() {
        ("t128", "ec2-user")
    } else {
        ("ec2-user", "t128")
    }
}

fn minutes(d: Duration) -> i64 {
    d.num_minutes().max(0)
}

/// "16 min", "2 h 5 min", "3 d 4 h".
pub fn human_duration(d: Duration) -> String {
    let m = minutes(d);
    match m {
        0..=119 => format!("{m} min"),
        120..=2879 => format!("{} h {} min", m / 60, m % 60),
        _ => format!("{} d {} h", m / 1440, (m % 1440) / 60),
    }
}

pub(super) fn context_lines(
    b: &mut String,
    ctx: &EventContext,
    e: &EpisodeView<'_>,
    now: DateTime<Utc>,
) {
    let _ = writeln!(b, "Router");
    let _ = writeln!(b, "  Name:        {}", e.label);
    let _ = writeln!(
        b,
        "  Instance:    {}{}",
        e.instance_id,
        e.instance_type
            .map(|t| format!(" ({t})"))
            .unwrap_or_default()
    );
    if let Some(n) = e.name_tag.filter(|n| *n != e.label) {
        let _ = writeln!(b, "  Name tag:    {n}");
    }
    let _ = writeln!(
        b,
        "  Stack:       {}",
        e.stack_name.unwrap_or("(not created by CloudFormation)")
    );
    let _ = writeln!(
        b,
        "  Account:     {}   Region: {}",
        ctx.account_label(),
        ctx.region.as_deref().unwrap_or("?")
    );
    let _ = writeln!(
        b,
        "  Launched:    {}",
        e.launch_time.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if e.started_at > e.launch_time {
        let _ = writeln!(
            b,
            "  Onboarding clock started: {} (recorded when its stack/guard check completed)",
            e.started_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    let _ = writeln!(b, "  Elapsed:     {}", human_duration(now - e.started_at));
    if let Some(v) = e.ssr_version {
        let _ = writeln!(b, "  SSR version: {v} (from the onboarding config)");
    }
    let _ = writeln!(b, "  Rule:        {}", e.rule);
    if let Some(note) = e.onboarding_note {
        let _ = writeln!(b, "  Onboarding config: {note}");
    }
    for i in e.interfaces {
        let role = match i.role_tag() {
            Some(r) => r.to_string(),
            None if i.device_index == Some(0) => "WAN? (device 0, untagged)".into(),
            None => "untagged".into(),
        };
        let _ = writeln!(
            b,
            "  Interface:   {} {} device {} private {} public {} MAC {}",
            role,
            i.eni_id,
            i.device_index.map_or("?".into(), |d| d.to_string()),
            i.private_ip.as_deref().unwrap_or("-"),
            i.public_ip.as_deref().unwrap_or("-"),
            i.mac_address.as_deref().unwrap_or("-"),
        );
    }
}

/// The WAN address to SSH to: the WAN (or device-0) interface's public IP, else its private IP.
fn ssh_target(interfaces: &[Interface]) -> Option<(String, bool)> {
    let wan = interfaces
        .iter()
        .find(|i| i.role_tag().map(str::trim) == Some("WAN"))
        .or_else(|| interfaces.iter().find(|i| i.device_index == Some(0)))
        .or_else(|| interfaces.first())?;
    match (&wan.public_ip, &wan.private_ip) {
        (Some(p), _) => Some((p.clone(), true)),
        (None, Some(p)) => Some((p.clone(), false)),
        _ => None,
    }
}

/// "SSR onboarding overdue: <router> (<id>) 16 min" and the body with the guide's
/// troubleshooting steps made concrete.
pub fn overdue_alert(
    ctx: &EventContext,
    e: &EpisodeView<'_>,
    phase: &Phase,
    now: DateTime<Utc>,
    deadline: Duration,
) -> Alert {
    let elapsed = now - e.started_at;
    let subject = subject(&format!(
        "SSR onboarding overdue: {} ({}) {}",
        short(e.label, 40),
        e.instance_id,
        human_duration(elapsed)
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The Session Smart Router {} ({}) has not finished onboarding {} after launch (deadline: {} min).",
        e.label,
        e.instance_id,
        human_duration(elapsed),
        minutes(deadline)
    );
    if let Some(t) = e.snoozed_until.filter(|t| *t <= now) {
        let _ = writeln!(
            b,
            "This router was snoozed until {} (SSR-ONBOARD-SNOOZE-UNTIL); the snooze has ended.",
            t.format("%Y-%m-%d %H:%M UTC")
        );
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "Phase reached: {}", phase.code());
    let _ = writeln!(b, "  {}", phase.describe());
    let _ = writeln!(b);
    // The guard holds WAN_NO_PUBLIC_IP back right after launch (the address may come with a
    // later resource); by the deadline it is due: re-checked here, on what the sweep read.
    let late_findings: Vec<crate::findings::Finding> =
        crate::snapshot::wan_interface_of(e.interfaces)
            .and_then(crate::rules::network::wan_public_ip)
            .into_iter()
            .collect();
    for f in &late_findings {
        let _ = writeln!(b, "Found now: {} on {}", f.code.as_str(), f.resource);
        let _ = writeln!(b, "  {}", f.message);
        let _ = writeln!(b, "  Fix{}: {}", ctx.run_in(), ctx.commands(&f.remediation));
        let _ = writeln!(b);
    }
    context_lines(&mut b, ctx, e, now);
    let _ = writeln!(b);
    let (user, other) = ssh_users(e.stack_name);
    let key = e
        .key_name
        .map(|k| format!("{k}.pem"))
        .unwrap_or_else(|| "<your-key>.pem".into());
    let _ = writeln!(b, "What to do ({})", phase.code());
    let mut next_steps = Vec::new();
    let mut n = 0;
    let mut step = |b: &mut String, text: &str, commands: &[String]| {
        n += 1;
        let _ = writeln!(b, "  {n}. {text}");
        for c in commands {
            let _ = writeln!(b, "       {c}");
        }
    };
    // First what the phase points at: Mist itself when its status is unknown (before anyone
    // SSHes in), the registration code and the way out to the Mist cloud when Mist never saw
    // the router, the upgrade when it runs the wrong version.
    for (text, commands) in phase_steps(ctx, e, phase) {
        step(&mut b, &text, &commands);
        next_steps.push(match commands.as_slice() {
            [] => text,
            cmds => format!("{text} `{}`", cmds.join("`; `")),
        });
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "  On the router (vendor guide, \"Mist-Managed Setup\"):");
    match ssh_target(e.interfaces) {
        Some((ip, public)) => {
            step(
                &mut b,
                "SSH into the router:",
                &[format!("ssh -i {key} {user}@{ip}")],
            );
            next_steps.push(format!(
                "SSH into the router: `ssh -i {key} {user}@{ip}` (or {other}@{ip}){}",
                if public { "" } else { ", from inside the VPC" }
            ));
            if !public {
                let _ = writeln!(
                    b,
                    "     ({ip} is the WAN private address: the WAN has no public IP, so connect from inside the VPC or over VPN.)"
                );
            }
            let _ = writeln!(
                b,
                "     User {user}{}; if refused, try {other}@{ip}.",
                if user == "t128" {
                    " because the instance was created by a CloudFormation stack (the vendor's BYOL template uses t128)"
                } else {
                    " (the AWS default; the vendor's BYOL template uses t128)"
                }
            );
        }
        None => {
            step(
                &mut b,
                &format!("SSH into the router as {user} (or {other}) with {key}: the instance has no IP address EC2 reports."),
                &[],
            );
            next_steps.push(format!(
                "SSH into the router as {user} (or {other}) with {key}"
            ));
        }
    }
    next_steps.push("Ask Mist's view in the PCLI: `su admin`, then `show mist`".to_string());
    next_steps.push(format!(
        "Read the onboarding journals: `sudo journalctl -u {} --no-pager | tail -n 200` (also {})",
        JOURNAL_UNITS[0],
        JOURNAL_UNITS[1..].join(", ")
    ));
    step(
        &mut b,
        "Open the PCLI and ask Mist's view of the router:",
        &["su admin".to_string(), "show mist".to_string()],
    );
    step(
        &mut b,
        "If the PCLI is not reachable or the status is not obvious, unzip the Hardware Bootstrapper tech support:",
        &[format!("sudo unzip {TECH_SUPPORT_ZIP} -d /tmp/bootstrapper-ts")],
    );
    step(
        &mut b,
        "Read the journals of the onboarding services:",
        &JOURNAL_UNITS.map(|unit| format!("sudo journalctl -u {unit} --no-pager | tail -n 200")),
    );
    let _ = writeln!(b);
    // The episode is closed by an acknowledgement (recorded, with its reason and who gave it),
    // not by the SSR-ONBOARDED tag, which is deprecated.
    let ack = ack_command(ctx, e.instance_id);
    step(
        &mut b,
        &format!(
            "Onboarded by hand, or nothing more to do? Acknowledge this episode (no recovered notice follows; the page is resolved){}:",
            hub_note(ctx)
        ),
        std::slice::from_ref(&ack),
    );
    next_steps.push(format!(
        "Onboarded by hand? Acknowledge the episode: `{ack}`"
    ));
    if let Some(region) = &ctx.region {
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {}", console_link(region, e.instance_id));
        next_steps.push(format!("Console: {}", console_link(region, e.instance_id)));
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "This alert is sent once per onboarding episode; a recovery notice follows when the router onboards."
    );
    Alert {
        subject,
        body: b,
        attributes: attributes(
            AlertKind::OnboardingOverdue,
            AlertSeverity::Error,
            e.instance_id,
            phase,
        ),
        thread_id: episode_thread(e),
        related_resources: vec![e.instance_id.to_string()],
        next_steps,
    }
    .in_context(ctx)
}

/// `ssr-onboard ack <instance-id> --region <region> [--reason TEXT]`: closes the router's
/// current onboarding episode as acknowledged.
pub fn ack_command(ctx: &EventContext, instance_id: &str) -> String {
    format!(
        "ssr-onboard ack {instance_id} --region {} [--reason TEXT]",
        ctx.region
            .as_deref()
            .filter(|r| !r.is_empty())
            .unwrap_or("<region>")
    )
}

/// At an organization hub: where the acknowledgement is run (the episode is in the hub's state
/// table, so with the hub's credentials, for a router of the member account).
fn hub_note(ctx: &EventContext) -> String {
    match (ctx.member, ctx.account.as_deref()) {
        (true, Some(_)) => format!(
            ", with the hub's credentials (the episode is recorded at the hub) for this router of account {}",
            ctx.account_label()
        ),
        _ => String::new(),
    }
}

/// The steps the phase reached points at, before anyone logs in to the router.
fn phase_steps(
    ctx: &EventContext,
    e: &EpisodeView<'_>,
    phase: &Phase,
) -> Vec<(String, Vec<String>)> {
    let console_output = ctx.commands(&format!(
        "aws ec2 get-console-output --instance-id {} --output text",
        e.instance_id
    ));
    let run_in = ctx.run_in();
    let reach = (
        "Check the router reaches the Mist cloud: outbound HTTPS (TCP 443) from the WAN interface, i.e. a public IP (or NAT), a default route to an internet gateway, and security group and network ACL egress that allow 443. Findings above (WAN_NO_PUBLIC_IP, WAN_NO_INTERNET_ROUTE) name what is missing.".to_string(),
        vec![],
    );
    match phase {
        Phase::Unknown { reason } => vec![
            (
                format!("Check Mist first: ssr-onboard could not read it ({reason}). Is Mist up (https://status.mist.com)? Is the watchdog's API token still valid (Mist deletes tokens unused for 90 days; a token of another Mist cloud is refused) and MistApiUrl your organization's Mist cloud (docs/support.md)?"),
                vec![],
            ),
            (
                "Look the router up in the Mist portal (Organization > Inventory > Gateways): if it is there and connected, it onboarded and nobody needs to log in; acknowledge this page (last step).".to_string(),
                vec![],
            ),
        ],
        Phase::NotInInventory => vec![
            (
                format!(
                    "Check the registration code: Mist never saw the router, most often because the onboarding config's registration-code is not this Mist organization's (the user data's /etc/128T-hardware-bootstrapper/onboarding-config.json; the stack's RegistrationCode parameter). Read the router's boot log{run_in}, no login needed:"
                ),
                vec![console_output],
            ),
            reach,
        ],
        Phase::NotConnected { .. } => vec![
            (
                "Mist has the router in its inventory but it is not connected: it lost (or never completed) its connection to the Mist cloud.".to_string(),
                vec![],
            ),
            reach,
            (
                format!("Check it did not reboot or stop{run_in}:"),
                vec![console_output],
            ),
        ],
        Phase::VersionMismatch { want, have, .. } => vec![(
            format!(
                "The upgrade: the router is connected to Mist but runs SSR {}, below the configured {want}. The SSR install after onboarding (5-10 minutes) has not finished or failed: in the Mist portal open the gateway and check its upgrade status; if none is running, upgrade it to {want} from there. On the router, the 128T-hardware-bootstrapper journal (below) shows the install.",
                have.as_deref().unwrap_or("(no version reported yet)")
            ),
            vec![],
        )],
        Phase::ConnectedNoStats { .. } => vec![(
            "Connected to Mist, but Mist reports no stats (so no version) for it: assign the gateway to a site in the Mist portal (Organization > Inventory > Gateways). With MistVersionCheck=when-reported the router counts as onboarded without a version.".to_string(),
            vec![],
        )],
        Phase::Onboarded { .. } => vec![],
    }
}

/// "SSR onboarding recovered: <router> (<id>) after 23 min".
pub fn recovered_alert(
    ctx: &EventContext,
    e: &EpisodeView<'_>,
    phase: &Phase,
    onboarded_at: DateTime<Utc>,
) -> Alert {
    let took = onboarded_at - e.started_at;
    let subject = subject(&format!(
        "SSR onboarding recovered: {} ({}) after {}",
        short(e.label, 40),
        e.instance_id,
        human_duration(took)
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The Session Smart Router {} ({}), reported overdue earlier, has onboarded: total onboarding time {} (seen by the sweep at {}).",
        e.label,
        e.instance_id,
        human_duration(took),
        onboarded_at.format("%Y-%m-%d %H:%M UTC")
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "  {}", phase.describe());
    let _ = writeln!(b);
    context_lines(&mut b, ctx, e, onboarded_at);
    if let Some(region) = &ctx.region {
        let _ = writeln!(b);
        let _ = writeln!(b, "Console: {}", console_link(region, e.instance_id));
    }
    let _ = writeln!(b);
    let _ = writeln!(b, "No action needed.");
    Alert {
        subject,
        body: b,
        attributes: attributes(
            AlertKind::OnboardingRecovered,
            AlertSeverity::Info,
            e.instance_id,
            phase,
        ),
        thread_id: episode_thread(e),
        related_resources: vec![e.instance_id.to_string()],
        next_steps: vec!["No action needed.".to_string()],
    }
    .in_context(ctx)
}

/// One chat thread per onboarding episode: the overdue page and its recovery notice share it.
pub fn episode_thread(e: &EpisodeView<'_>) -> String {
    format!(
        "ssr-onboard/onboarding/{}/{}",
        e.instance_id,
        e.started_at.timestamp()
    )
}

/// "SSR onboarding failed": Mist reported `GW_ZTP_FAILED` for the router (its text and reason
/// quoted), then the overdue alert's router facts and troubleshooting steps.
pub fn failed_alert(
    ctx: &EventContext,
    e: &EpisodeView<'_>,
    text: Option<&str>,
    reason: Option<&str>,
    at: DateTime<Utc>,
    deadline: Duration,
) -> Alert {
    let placeholder = Phase::Unknown {
        reason: String::new(),
    };
    let base = overdue_alert(ctx, e, &placeholder, at, deadline);
    let subject = subject(&format!(
        "SSR onboarding failed: {} ({}) ZTP failed",
        short(e.label, 40),
        e.instance_id
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "Mist reports that zero-touch provisioning failed for the Session Smart Router {} ({}) at {}, {} after launch.",
        e.label,
        e.instance_id,
        at.format("%Y-%m-%d %H:%M:%S UTC"),
        human_duration(at - e.started_at)
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "Phase reached: ztp-failed");
    let _ = writeln!(
        b,
        "  Mist says: {}",
        short(text.unwrap_or("(no text)"), 500)
    );
    if let Some(r) = reason {
        let _ = writeln!(b, "  Reason:    {}", short(r, 500));
    }
    let _ = writeln!(b);
    if let Some(i) = base.body.find("Router\n") {
        b.push_str(&base.body[i..]);
    }
    Alert {
        subject,
        body: b.replace(
            "This alert is sent once per onboarding episode; a recovery notice follows when the router onboards.",
            "This alert is sent once per onboarding episode (the deadline sweep does not page it again); a recovery notice follows when the router onboards.",
        ),
        attributes: BTreeMap::from([
            kind_attr(AlertKind::OnboardingFailed),
            AlertSeverity::Error.attr(),
            ("instance_id".to_string(), string_attr(e.instance_id)),
            ("phase".to_string(), string_attr("ztp-failed")),
        ]),
        thread_id: base.thread_id.clone(),
        related_resources: base.related_resources.clone(),
        next_steps: base.next_steps.clone(),
    }
    .in_context(ctx)
}

pub(super) fn attributes(
    kind: AlertKind,
    severity: AlertSeverity,
    instance_id: &str,
    phase: &Phase,
) -> BTreeMap<String, (String, String)> {
    BTreeMap::from([
        kind_attr(kind),
        severity.attr(),
        ("instance_id".to_string(), string_attr(instance_id)),
        ("phase".to_string(), string_attr(phase.code())),
    ])
}

#[cfg(test)]
mod tests;
