//! The watchdog's two messages: "onboarding overdue" (read by a person at 3 a.m.: what, which
//! router, how late, what to do) and "onboarding recovered". Pure; never given a secret.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};

use super::{console_link, short, string_attr, subject, Alert, EventContext};
use crate::config::ONBOARDED_TAG_KEY;
use crate::episode::Phase;
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

fn context_lines(b: &mut String, ctx: &EventContext, e: &EpisodeView<'_>, now: DateTime<Utc>) {
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
        ctx.account.as_deref().unwrap_or("?"),
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
        let _ = writeln!(b, "  Fix: {}", f.remediation);
        let _ = writeln!(b);
    }
    context_lines(&mut b, ctx, e, now);
    let _ = writeln!(b);
    let (user, other) = ssh_users(e.stack_name);
    let key = e
        .key_name
        .map(|k| format!("{k}.pem"))
        .unwrap_or_else(|| "<your-key>.pem".into());
    let _ = writeln!(b, "What to do (vendor guide, \"Mist-Managed Setup\")");
    let mut next_steps = Vec::new();
    match ssh_target(e.interfaces) {
        Some((ip, public)) => {
            let _ = writeln!(b, "  1. SSH into the router:");
            let _ = writeln!(b, "       ssh -i {key} {user}@{ip}");
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
            let _ = writeln!(
                b,
                "  1. SSH into the router as {user} (or {other}) with {key}: the instance has no IP address EC2 reports."
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
    let _ = writeln!(b, "  2. Open the PCLI and ask Mist's view of the router:");
    let _ = writeln!(b, "       su admin");
    let _ = writeln!(b, "       show mist");
    let _ = writeln!(
        b,
        "  3. If the PCLI is not reachable or the status is not obvious, unzip the Hardware Bootstrapper tech support:"
    );
    let _ = writeln!(
        b,
        "       sudo unzip {TECH_SUPPORT_ZIP} -d /tmp/bootstrapper-ts"
    );
    let _ = writeln!(b, "  4. Read the journals of the onboarding services:");
    for unit in JOURNAL_UNITS {
        let _ = writeln!(
            b,
            "       sudo journalctl -u {unit} --no-pager | tail -n 200"
        );
    }
    let _ = writeln!(
        b,
        "  5. Onboarded by hand, or no Mist API token configured? Close this episode with the tag {ONBOARDED_TAG_KEY}=true:"
    );
    let close = format!(
        "aws ec2 create-tags --resources {} --tags Key={ONBOARDED_TAG_KEY},Value=true{}",
        e.instance_id,
        ctx.region
            .as_deref()
            .map(|r| format!(" --region {r}"))
            .unwrap_or_default()
    );
    let _ = writeln!(b, "       {close}");
    next_steps.push(format!("Onboarded by hand? Close the episode: `{close}`"));
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
        attributes: attributes("onboarding-overdue", "error", e.instance_id, phase),
        thread_id: episode_thread(e),
        related_resources: vec![e.instance_id.to_string()],
        next_steps,
    }
    .in_context(ctx)
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
        attributes: attributes("onboarding-recovered", "info", e.instance_id, phase),
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
            ("kind".to_string(), string_attr("onboarding-failed")),
            ("severity".to_string(), string_attr("error")),
            ("instance_id".to_string(), string_attr(e.instance_id)),
            ("phase".to_string(), string_attr("ztp-failed")),
        ]),
        thread_id: base.thread_id.clone(),
        related_resources: base.related_resources.clone(),
        next_steps: base.next_steps.clone(),
    }
    .in_context(ctx)
}

/// "Mist rejected the onboarding watchdog's API token": an operational alert (no router named),
/// sent once a day while the token is refused. `origin` says where the token comes from (the
/// secret's ARN or `MIST_API_TOKEN`); the token itself is never given here.
pub fn token_rejected_alert(
    ctx: &EventContext,
    origin: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Alert {
    let subject = subject("SSR onboarding watchdog: Mist rejected the API token");
    let mut b = String::new();
    let _ = writeln!(
        b,
        "Mist refused the API token the onboarding watchdog reads the inventory with ({error})."
    );
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "Until the token is fixed, the watchdog cannot see Mist: overdue routers are still paged, with \"Mist status unknown\", and no router is confirmed onboarded by Mist (only by the tag {ONBOARDED_TAG_KEY}=true)."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. In the Mist portal (Organization > Settings > API Token), create a token with read access to the organization (or check the existing one was not revoked)."
    );
    let _ = writeln!(b, "  2. Store it in {origin}:");
    if let Some(arn) = origin.strip_prefix("the secret ") {
        let _ = writeln!(
            b,
            "       aws secretsmanager put-secret-value --secret-id {arn} --secret-string '{{\"token\": \"<new token>\"}}'"
        );
    }
    let _ = writeln!(
        b,
        "     The watchdog reads the secret again after every rejection: no redeploy needed."
    );
    let _ = writeln!(b);
    daily_footer(
        &mut b,
        ctx.account.as_deref().unwrap_or("?"),
        ctx.region.as_deref().unwrap_or("?"),
        now,
        "while Mist keeps refusing the token",
    );
    Alert {
        subject,
        body: b,
        attributes: operational_attributes("mist-token-rejected"),
        thread_id: "ssr-onboard/mist-token".to_string(),
        related_resources: vec![],
        next_steps: vec![
            "Create a new Mist API token and store it in the token secret".to_string(),
        ],
    }
    .in_context(ctx)
}

/// "ssr-onboard cannot reach member account <account>": an operational alert, once a day per
/// account while the sweep cannot read it. Names the role and the error, and the checks that
/// settle it.
pub fn member_unreachable_alert(
    ctx: &EventContext,
    account: &str,
    role: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Alert {
    let region = ctx.region.as_deref().unwrap_or("?");
    let subject = subject(&format!(
        "SSR onboarding watchdog: member account {account} not swept ({region})"
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The onboarding watchdog could not read the routers of member account {account} in {region}:"
    );
    let _ = writeln!(b, "  {error}");
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "Until this is fixed, routers there are not watched: a router that does not onboard is not paged. Other accounts are swept as usual."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. Check the member stack is deployed there (StackSet ssr-onboard-member, infra/member.yaml) and that the role exists:"
    );
    let _ = writeln!(
        b,
        "       aws iam get-role --role-name {} (in account {account})",
        role.rsplit('/').next().unwrap_or(role)
    );
    let _ = writeln!(
        b,
        "  2. From the hub, check the watchdog's role may assume it (its trust policy names the hub's function roles):"
    );
    let _ = writeln!(
        b,
        "       aws sts assume-role --role-arn {role} --role-session-name ssr-onboard-check"
    );
    let _ = writeln!(
        b,
        "  3. If the account left the organization or was closed, remove it from MEMBER_ACCOUNTS (with MEMBER_ACCOUNTS=org it drops out by itself)."
    );
    let _ = writeln!(b);
    daily_footer(
        &mut b,
        account,
        region,
        now,
        "per account while it stays unreachable",
    );
    Alert {
        subject,
        body: b,
        attributes: operational_attributes("member-unreachable"),
        thread_id: format!("ssr-onboard/member/{account}"),
        related_resources: vec![role.to_string()],
        next_steps: vec![
            format!("Check the member role {role} exists and trusts the hub's watchdog role"),
            "Remove the account from MEMBER_ACCOUNTS if it left the organization".to_string(),
        ],
    }
    .in_context(&EventContext {
        member: false,
        ..ctx.clone()
    })
}

/// The last lines of an operational alert sent at most once a UTC day.
fn daily_footer(b: &mut String, account: &str, region: &str, now: DateTime<Utc>, while_: &str) {
    let _ = writeln!(
        b,
        "  Account: {account}   Region: {region}   Seen: {}",
        now.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "This alert is sent at most once a day (UTC) {while_}.");
}

/// An operational alert's attributes (no router): its kind, severity error.
fn operational_attributes(kind: &str) -> BTreeMap<String, (String, String)> {
    BTreeMap::from([
        ("kind".to_string(), string_attr(kind)),
        ("severity".to_string(), string_attr("error")),
    ])
}

fn attributes(
    kind: &str,
    severity: &str,
    instance_id: &str,
    phase: &Phase,
) -> BTreeMap<String, (String, String)> {
    BTreeMap::from([
        ("kind".to_string(), string_attr(kind)),
        ("severity".to_string(), string_attr(severity)),
        ("instance_id".to_string(), string_attr(instance_id)),
        ("phase".to_string(), string_attr(phase.code())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::fixture::eni;

    fn view<'a>(interfaces: &'a [Interface], label: &'a str) -> EpisodeView<'a> {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        EpisodeView {
            instance_id: "i-0123456789abcdef0",
            label,
            name_tag: Some("SSR_1_Router"),
            stack_name: Some("SSR_1_Router"),
            instance_type: Some("c5.xlarge"),
            key_name: Some("ops"),
            launch_time: t0,
            started_at: t0,
            interfaces,
            ssr_version: Some("6.3.0"),
            onboarding_note: None,
        }
    }

    fn ctx() -> EventContext {
        EventContext {
            trigger: "scheduled sweep".into(),
            region: Some("us-east-1".into()),
            account: Some("123456789012".into()),
            event_id: None,
            deadline: None,
            member: false,
        }
    }

    #[test]
    fn when_overdue_then_subject_says_what_which_and_how_late() {
        let ifs = [
            eni("eni-wan", 0, Some("WAN")),
            eni("eni-lan", 1, Some("LAN")),
        ];
        let e = view(&ifs, "SSR_1_Router");
        let a = overdue_alert(
            &ctx(),
            &e,
            &Phase::NotInInventory,
            e.started_at + Duration::minutes(16),
            Duration::minutes(15),
        );
        assert_eq!(
            a.subject,
            "SSR onboarding overdue: SSR_1_Router (i-0123456789abcdef0) 16 min"
        );
        assert_eq!(a.attributes["kind"], string_attr("onboarding-overdue"));
        assert_eq!(a.attributes["severity"], string_attr("error"));
        assert_eq!(
            a.attributes["instance_id"],
            string_attr("i-0123456789abcdef0")
        );
    }

    #[test]
    fn when_label_is_long_then_subject_under_100_ascii_chars() {
        let ifs = [eni("eni-wan", 0, Some("WAN"))];
        let long = "Zürich-edge-".repeat(20);
        let e = view(&ifs, &long);
        let a = overdue_alert(
            &ctx(),
            &e,
            &Phase::NotInInventory,
            e.started_at + Duration::days(3),
            Duration::minutes(15),
        );
        assert!(
            a.subject.len() < 100 && a.subject.is_ascii(),
            "{}",
            a.subject
        );
        assert!(
            a.subject.contains("i-0123456789abcdef0") && a.subject.ends_with("3 d 0 h"),
            "{}",
            a.subject
        );
    }

    #[test]
    fn when_overdue_then_body_has_every_troubleshooting_step_concretely() {
        let ifs = [
            eni("eni-wan", 0, Some("WAN")),
            eni("eni-lan", 1, Some("LAN")),
        ];
        let e = view(&ifs, "SSR_1_Router");
        let a = overdue_alert(
            &ctx(),
            &e,
            &Phase::NotInInventory,
            e.started_at + Duration::minutes(16),
            Duration::minutes(15),
        );
        for needle in [
            "Phase reached: not-in-inventory",
            "ssh -i ops.pem t128@203.0.113.10",
            "try ec2-user@203.0.113.10",
            "su admin",
            "show mist",
            TECH_SUPPORT_ZIP,
            "sudo journalctl -u 128T-hardware-bootstrapper",
            "sudo journalctl -u ember",
            "sudo journalctl -u 128T-mist-agent",
            "Stack:       SSR_1_Router",
            "Account:     123456789012   Region: us-east-1",
            "Elapsed:     16 min",
            "WAN eni-wan device 0 private 10.0.1.10 public 203.0.113.10",
            "LAN eni-lan device 1 private 10.0.2.10",
            "console.aws.amazon.com/ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0123456789abcdef0",
            "Key=SSR-ONBOARDED,Value=true",
        ] {
            assert!(a.body.contains(needle), "missing {needle:?} in\n{}", a.body);
        }
    }

    #[test]
    fn when_not_from_a_stack_and_no_public_ip_then_ec2_user_and_private_ip() {
        let mut ifs = [eni("eni-wan", 0, None)];
        ifs[0].public_ip = None;
        let mut e = view(&ifs, "r");
        e.stack_name = None;
        e.key_name = None;
        let a = overdue_alert(
            &ctx(),
            &e,
            &Phase::NotInInventory,
            e.started_at + Duration::minutes(20),
            Duration::minutes(15),
        );
        assert!(
            a.body.contains("ssh -i <your-key>.pem ec2-user@10.0.1.10"),
            "{}",
            a.body
        );
        assert!(a.body.contains("no public IP"), "{}", a.body);
        assert!(
            a.body
                .contains("Found now: WAN_NO_PUBLIC_IP on eni-wan\n  WAN interface eni-wan has no public IP address"),
            "the late re-check of what the guard held back after launch:\n{}",
            a.body
        );
        let with_ip = [eni("eni-wan", 0, Some("WAN"))];
        let a = overdue_alert(
            &ctx(),
            &view(&with_ip, "r"),
            &Phase::NotInInventory,
            e.started_at + Duration::minutes(20),
            Duration::minutes(15),
        );
        assert!(!a.body.contains("Found now"), "{}", a.body);
    }

    #[test]
    fn when_mist_unknown_then_alert_says_status_unknown_and_why() {
        let ifs = [eni("eni-wan", 0, Some("WAN"))];
        let e = view(&ifs, "r");
        let ph = Phase::Unknown {
            reason: "Mist API answered 401 Unauthorized: check the token in arn:aws:secretsmanager:us-east-1:123456789012:secret:mist".into(),
        };
        let a = overdue_alert(
            &ctx(),
            &e,
            &ph,
            e.started_at + Duration::minutes(16),
            Duration::minutes(15),
        );
        assert!(
            a.body.contains(
                "Mist status unknown: Mist API answered 401 Unauthorized: check the token in arn:"
            ),
            "{}",
            a.body
        );
        assert_eq!(a.attributes["phase"], string_attr("unknown"));
    }

    #[test]
    fn when_recovered_then_total_onboarding_time_and_info_severity() {
        let ifs = [eni("eni-wan", 0, Some("WAN"))];
        let e = view(&ifs, "r");
        let ph = Phase::Onboarded {
            by: crate::episode::OnboardedBy::Tag,
        };
        let a = recovered_alert(&ctx(), &e, &ph, e.started_at + Duration::minutes(23));
        assert_eq!(
            a.subject,
            "SSR onboarding recovered: r (i-0123456789abcdef0) after 23 min"
        );
        assert!(a.body.contains("total onboarding time 23 min"));
        assert_eq!(a.attributes["kind"], string_attr("onboarding-recovered"));
        assert_eq!(a.attributes["severity"], string_attr("info"));
    }

    #[test]
    fn when_token_rejected_then_alert_names_where_the_token_lives_and_kind() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbC";
        let a = token_rejected_alert(
            &ctx(),
            &format!("the secret {arn}"),
            "Mist API answered 401 Unauthorized",
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        );
        assert!(a.subject.len() < 100);
        assert!(a.body.contains(&format!("--secret-id {arn}")), "{}", a.body);
        assert_eq!(a.attributes["kind"], string_attr("mist-token-rejected"));
    }

    #[test]
    fn when_a_member_account_is_unreachable_then_the_alert_names_the_account_the_role_and_the_checks(
    ) {
        let role = "arn:aws:iam::444455556666:role/ssr-onboard-member";
        let c = ctx().at(Some("444455556666"), Some("eu-west-1"), true);
        let a = member_unreachable_alert(
            &c,
            "444455556666",
            role,
            "AssumeRole failed: AccessDenied: not authorized",
            DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        );
        assert_eq!(
            a.subject, "SSR onboarding watchdog: member account 444455556666 not swept (eu-west-1)",
            "named once, no [account region] prefix on an alert about the account itself"
        );
        assert!(a.body.contains("AccessDenied"), "{}", a.body);
        assert!(
            a.body
                .contains(&format!("aws sts assume-role --role-arn {role}")),
            "{}",
            a.body
        );
        assert!(a
            .body
            .contains("aws iam get-role --role-name ssr-onboard-member"));
        assert_eq!(a.attributes["kind"], string_attr("member-unreachable"));
        assert_eq!(a.attributes["account"], string_attr("444455556666"));
        assert_eq!(a.attributes["region"], string_attr("eu-west-1"));
        assert_eq!(a.thread_id, "ssr-onboard/member/444455556666");
    }

    #[test]
    fn when_the_router_is_in_a_member_account_then_the_subject_starts_with_account_and_region() {
        let e = view(&[], "branch-1");
        let c = ctx().at(Some("444455556666"), Some("eu-west-1"), true);
        let now = e.started_at + Duration::minutes(16);
        let a = overdue_alert(&c, &e, &Phase::NotInInventory, now, Duration::minutes(15));
        assert!(
            a.subject
                .starts_with("[444455556666 eu-west-1] SSR onboarding overdue: "),
            "{}",
            a.subject
        );
        assert!(
            a.subject.len() <= crate::render::MAX_SUBJECT,
            "{}",
            a.subject
        );
        assert!(a
            .body
            .contains("Account:     444455556666   Region: eu-west-1"));
        let own = overdue_alert(
            &ctx(),
            &e,
            &Phase::NotInInventory,
            now,
            Duration::minutes(15),
        );
        assert!(
            own.subject.starts_with("SSR onboarding overdue: "),
            "{}",
            own.subject
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::seconds(59)), "0 min");
        assert_eq!(human_duration(Duration::minutes(119)), "119 min");
        assert_eq!(human_duration(Duration::minutes(125)), "2 h 5 min");
        assert_eq!(human_duration(Duration::minutes(3 * 1440 + 61)), "3 d 1 h");
    }
}
