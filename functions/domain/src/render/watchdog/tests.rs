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
        account: Some("123456789012".into()),
        account_name: None,
        event_id: None,
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
        "ssr-onboard ack i-0123456789abcdef0 --region us-east-1 [--reason TEXT]",
    ] {
        assert!(a.body.contains(needle), "missing {needle:?} in\n{}", a.body);
    }
    // The deprecated tag is no longer how a page is closed.
    assert!(!a.body.contains("SSR-ONBOARDED"), "{}", a.body);
    assert!(!a.body.contains("create-tags"), "{}", a.body);
}

fn overdue_in(phase: &Phase, ctx: &EventContext) -> Alert {
    let ifs = [
        eni("eni-wan", 0, Some("WAN")),
        eni("eni-lan", 1, Some("LAN")),
    ];
    let e = view(&ifs, "SSR_1_Router");
    overdue_alert(
        ctx,
        &e,
        phase,
        e.started_at + Duration::minutes(16),
        Duration::minutes(15),
    )
}

/// The body's "What to do" part.
fn steps(a: &Alert) -> &str {
    a.body.split_once("What to do (").map_or("", |(_, s)| s)
}

#[test]
fn when_mist_status_is_unknown_then_mist_is_checked_first_before_anyone_sshes_in() {
    let a = overdue_in(
        &Phase::Unknown {
            reason: "Mist API unreachable (timeout)".into(),
        },
        &ctx(),
    );
    let s = steps(&a);
    let mist = s.find("Check Mist first").expect("a Mist step");
    let ssh = s.find("SSH into the router").expect("an SSH step");
    assert!(mist < ssh, "{s}");
    for needle in [
        "Mist API unreachable (timeout)",
        "https://status.mist.com",
        "API token",
        "MistApiUrl",
        "Organization > Inventory > Gateways",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
    assert!(
        a.next_steps[0].starts_with("Check Mist first"),
        "{:?}",
        a.next_steps
    );
}

#[test]
fn when_not_in_the_inventory_then_the_registration_code_and_outbound_https_come_first() {
    let a = overdue_in(&Phase::NotInInventory, &ctx());
    let s = steps(&a);
    let code = s.find("Check the registration code").expect("a code step");
    let reach = s
        .find("outbound HTTPS (TCP 443)")
        .expect("a reachability step");
    let ssh = s.find("SSH into the router").expect("an SSH step");
    assert!(code < reach && reach < ssh, "{s}");
    assert!(
        s.contains(
            "aws ec2 get-console-output --region us-east-1 --instance-id i-0123456789abcdef0"
        ),
        "{s}"
    );
    assert!(!s.contains("upgrade"), "{s}");
}

#[test]
fn when_connected_with_the_wrong_version_then_the_upgrade_is_the_first_step() {
    let device = crate::episode::DeviceSummary {
        name: Some("SSR_1_Router".into()),
        mac: Some("02:00:00:00:00:01".into()),
        serial: None,
        version: Some("6.2.5".into()),
        site_id: Some("site-1".into()),
        matched_by: crate::episode::MatchedBy::Mac("02:00:00:00:00:01".into()),
    };
    let a = overdue_in(
        &Phase::VersionMismatch {
            device,
            want: "6.3.0".into(),
            have: Some("6.2.5".into()),
        },
        &ctx(),
    );
    let s = steps(&a);
    assert!(
        s.starts_with("version-mismatch)\n  1. The upgrade: the router is connected to Mist but runs SSR 6.2.5, below the configured 6.3.0"),
        "{s}"
    );
    assert!(!s.contains("registration code"), "{s}");
}

#[test]
fn when_the_router_is_in_a_member_account_then_the_ack_says_the_region_and_the_account() {
    let ctx = EventContext {
        member: true,
        account: Some("444455556666".into()),
        account_name: Some("Branch Prod".into()),
        region: Some("eu-west-1".into()),
        ..ctx()
    };
    let a = overdue_in(&Phase::NotInInventory, &ctx);
    assert!(
        a.body
            .contains("ssr-onboard ack i-0123456789abcdef0 --region eu-west-1 [--reason TEXT]"),
        "{}",
        a.body
    );
    assert!(
        a.body
            .contains("for this router of account 444455556666 (Branch Prod)"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains(
            "Read the router's boot log in account 444455556666 (Branch Prod), no login needed:"
        ),
        "{}",
        a.body
    );
    assert!(
        a.subject
            .starts_with("[Branch Prod eu-west-1] SSR onboarding overdue"),
        "{}",
        a.subject
    );
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
fn when_a_member_account_is_unreachable_then_the_alert_names_the_account_the_role_and_the_checks() {
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

#[test]
fn when_a_snooze_has_ended_then_the_page_says_the_router_was_snoozed() {
    let interfaces = [eni("eni-w", 0, Some("WAN"))];
    let mut v = view(&interfaces, "r1");
    let t0 = v.started_at;
    v.snoozed_until = Some(t0 + Duration::hours(1));
    let at = |m: i64| t0 + Duration::minutes(m);
    let after = overdue_alert(
        &ctx(),
        &v,
        &Phase::NotInInventory,
        at(61),
        Duration::minutes(15),
    );
    assert!(after.body.contains("was snoozed until"), "{}", after.body);
    let during = overdue_alert(
        &ctx(),
        &v,
        &Phase::NotInInventory,
        at(30),
        Duration::minutes(15),
    );
    assert!(!during.body.contains("snoozed"), "{}", during.body);
}
