//! Property tests of the rules → findings → plan pipeline over generated router snapshots:
//! - the findings do not depend on the order the interfaces are listed in;
//! - a router launched as the guide says (in any of its compliant variants) has no open finding;
//! - plan → (simulated) apply → re-snapshot → plan is empty: every planned fix, once applied,
//!   removes the finding that planned it, and nothing is planned twice.
//!
//! Bounded: 256 cases per property (a few seconds in a debug build). Failing cases are kept in
//! `proptest-regressions/prop_rules.txt` and replayed first on every run.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use ssr_domain::config::ROLE_TAG_KEY;
use ssr_domain::findings::{Action, Finding, FindingCode, Severity};
use ssr_domain::onboarding_config::{OnboardingConfig, OnboardingStatus};
use ssr_domain::plan::plan;
use ssr_domain::rules::{evaluate, Policy};
use ssr_domain::select::SNOOZE_TAG_KEY;
use ssr_domain::snapshot::{
    EnaStatus, Interface, NotChecked, RootVolume, RouteFacts, RouterSnapshot,
};

const ID: &str = "i-0123456789abcdef0";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 256,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop_rules.txt",
        ))),
        ..ProptestConfig::default()
    }
}

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default()
}

fn eni(
    index: i32,
    role: Option<&str>,
    public_ip: bool,
    src_dst: Option<bool>,
    tags_extra: bool,
) -> Interface {
    let mut tags = BTreeMap::new();
    if let Some(r) = role {
        tags.insert(ROLE_TAG_KEY.to_string(), r.to_string());
    }
    if tags_extra {
        tags.insert("Name".into(), format!("ge-0-{index}"));
    }
    Interface {
        eni_id: format!("eni-{index:04}"),
        device_index: Some(index),
        subnet_id: Some(format!("subnet-{index}")),
        private_ip: Some(format!("10.0.{index}.10")),
        public_ip: public_ip.then(|| format!("203.0.113.{}", index + 10)),
        mac_address: Some(format!("0a:00:00:00:00:{index:02x}")),
        source_dest_check: src_dst,
        tags,
    }
}

fn onboarding_ok(name: &str) -> OnboardingStatus {
    OnboardingStatus::Parsed {
        config: OnboardingConfig {
            name: Some(name.into()),
            ssr_version: Some("6.3.0".into()),
            mode: Some("mist-managed".into()),
            cloud_provider: Some("aws".into()),
            registration_code_present: true,
        },
        problems: vec![],
    }
}

fn any_role() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("WAN"),
        Some("LAN"),
        Some(" LAN "),
        Some("wan"),
        Some("public"),
    ])
}

fn any_interface(index: i32) -> impl Strategy<Value = Interface> {
    (
        any_role(),
        any::<bool>(),
        prop::option::of(any::<bool>()),
        any::<bool>(),
    )
        .prop_map(move |(role, ip, sd, extra)| eni(index, role, ip, sd, extra))
}

fn any_interfaces() -> impl Strategy<Value = Vec<Interface>> {
    (0usize..=5).prop_flat_map(|n| {
        (0..n)
            .map(|i| any_interface(i as i32))
            .collect::<Vec<_>>()
            .prop_map(|v| v)
    })
}

fn any_onboarding() -> impl Strategy<Value = OnboardingStatus> {
    prop_oneof![
        Just(onboarding_ok("SSR_1_Router")),
        Just(OnboardingStatus::Missing {
            reason: "the instance has no user data".into()
        }),
        Just(OnboardingStatus::Unreadable {
            reason: "user data is a shell script".into()
        }),
        Just(OnboardingStatus::NotChecked {
            reason: "IAM denied".into()
        }),
        Just(OnboardingStatus::Parsed {
            config: OnboardingConfig {
                name: None,
                ssr_version: None,
                mode: Some("conductor-managed".into()),
                cloud_provider: None,
                registration_code_present: false,
            },
            problems: vec!["\"name\" is missing or empty".into()],
        }),
    ]
}

fn any_ena() -> impl Strategy<Value = EnaStatus> {
    prop::sample::select(vec![
        EnaStatus::Enabled,
        EnaStatus::Disabled,
        EnaStatus::Unknown,
        EnaStatus::NotChecked,
    ])
}

fn any_state() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "pending",
        "running",
        "stopping",
        "stopped",
        "rebooting",
    ])
}

fn any_snooze() -> impl Strategy<Value = Option<&'static str>> {
    prop::sample::select(vec![
        None,
        Some("2026-12-31T18:00:00Z"),
        Some("tomorrow"),
        Some(""),
    ])
}

prop_compose! {
    fn any_snapshot()(
        state in any_state(),
        instance_type in prop::option::of(prop::sample::select(vec![
            "c5.xlarge", "c5.large", "t3.2xlarge", "trn1.32xlarge", "m5", "c6i.metal",
        ])),
        profile in any::<bool>(),
        ena in any_ena(),
        root in prop::option::of(prop::option::of(0i32..300)),
        interfaces in any_interfaces(),
        route in prop::option::of(prop::option::of(prop::sample::select(vec![
            "igw-1", "nat-1", "eni-0001", "local",
        ]))),
        onboarding in any_onboarding(),
        not_checked in 0usize..3,
        snooze in any_snooze(),
        launched_minutes_ago in prop::option::of(0i64..120),
    ) -> RouterSnapshot {
        let mut tags = BTreeMap::from([("SSR-ROUTER".to_string(), "true".to_string())]);
        if let Some(v) = snooze {
            tags.insert(SNOOZE_TAG_KEY.to_string(), v.to_string());
        }
        RouterSnapshot {
            instance_id: ID.into(),
            state: state.into(),
            instance_type: instance_type.map(String::from),
            launch_time: launched_minutes_ago.map(|m| t0() - Duration::minutes(m)),
            tags,
            iam_instance_profile_arn: profile
                .then(|| "arn:aws:iam::123456789012:instance-profile/ssr".into()),
            ena,
            vpc_id: Some("vpc-1".into()),
            key_name: None,
            root_volume: root.map(|size_gb| RootVolume {
                device_name: "/dev/xvda".into(),
                volume_id: Some("vol-1".into()),
                size_gb,
            }),
            interfaces,
            wan_route: route.map(|target| RouteFacts {
                subnet_id: "subnet-0".into(),
                route_table_id: Some("rtb-1".into()),
                default_route_target: target.map(String::from),
            }),
            onboarding,
            not_checked: (0..not_checked)
                .map(|i| NotChecked {
                    action: "DescribeVolumes".into(),
                    resource: format!("vol-{i}"),
                    what: "the root volume size".into(),
                })
                .collect(),
        }
    }
}

prop_compose! {
    fn any_policy(state: String)(
        ena_fix in any::<bool>(),
        min_gb in prop::sample::select(vec![8, 64, 128]),
        grace in prop::option::of(0i64..60),
    ) -> Policy {
        let p = Policy::for_state(&state, ena_fix, min_gb);
        match grace {
            Some(m) => p.with_public_ip_grace(t0(), Duration::minutes(m)),
            None => p,
        }
    }
}

fn snapshot_and_policy() -> impl Strategy<Value = (RouterSnapshot, Policy)> {
    any_snapshot().prop_flat_map(|s| {
        let state = s.state.clone();
        (Just(s), any_policy(state))
    })
}

/// A finding as order-independent facts: what, about which resource, how bad, which fix.
fn key(f: &Finding) -> (FindingCode, String, Severity, Option<Action>, bool) {
    (
        f.code,
        f.resource.clone(),
        f.severity,
        f.fix.clone(),
        f.fixed,
    )
}

fn keys(findings: &[Finding]) -> Vec<(FindingCode, String, Severity, Option<Action>, bool)> {
    let mut k: Vec<_> = findings.iter().map(key).collect();
    k.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    k
}

/// What EC2 shows after the write (the guard reads it back before it counts as applied).
fn apply(s: &mut RouterSnapshot, actions: &[Action]) {
    for a in actions {
        match a {
            Action::DisableSourceDestCheck { eni_id } => {
                let eni = s.interfaces.iter_mut().find(|i| &i.eni_id == eni_id);
                if let Some(i) = eni {
                    i.source_dest_check = Some(false);
                }
            }
            Action::EnableEna { instance_id } if instance_id == &s.instance_id => {
                s.ena = EnaStatus::Enabled;
            }
            Action::EnableEna { .. } => {}
        }
    }
}

/// Found by the order property: with two interfaces tagged WAN, which one counted as the WAN
/// (and so which one `WAN_NO_PUBLIC_IP` named, or whether it was reported at all) depended on
/// the order the interfaces were listed in. Now the lower device index is the WAN, in any order.
#[test]
fn when_two_interfaces_are_tagged_wan_then_the_lower_device_index_is_the_wan_in_any_order() {
    let wan0 = eni(0, Some("WAN"), false, Some(false), false);
    let wan1 = eni(1, Some("WAN"), true, Some(false), false);
    for order in [vec![wan0.clone(), wan1.clone()], vec![wan1, wan0]] {
        let wan = ssr_domain::snapshot::wan_interface_of(&order).map(|i| i.eni_id.as_str());
        assert_eq!(wan, Some("eni-0000"), "{order:?}");
    }
}

/// Kills the two mutants cargo-mutants left alive in plan.rs (`succeeded` → always true /
/// always false): only an applied or planned action succeeded.
#[test]
fn when_an_action_was_applied_or_planned_then_it_succeeded_and_otherwise_not() {
    use ssr_domain::plan::{ActionResult, ActionStatus};
    for (status, ok) in [
        (ActionStatus::Applied, true),
        (ActionStatus::Planned, true),
        (ActionStatus::Unverified, false),
        (ActionStatus::Failed, false),
    ] {
        let r = ActionResult {
            action: Action::DisableSourceDestCheck {
                eni_id: "eni-0000".into(),
            },
            status,
            error: None,
        };
        assert_eq!(r.succeeded(), ok, "{status:?}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn when_interfaces_are_listed_in_another_order_then_the_findings_are_the_same(
        (s, policy, shuffled) in snapshot_and_policy().prop_flat_map(|(s, p)| {
            let enis = Just(s.interfaces.clone()).prop_shuffle();
            (Just(s), Just(p), enis)
        }),
    ) {
        let mut other = s.clone();
        other.interfaces = shuffled;
        prop_assert_eq!(keys(&evaluate(&s, &policy)), keys(&evaluate(&other, &policy)));
    }

    #[test]
    fn when_a_plan_is_applied_and_the_router_read_again_then_nothing_more_is_planned(
        (mut s, policy) in snapshot_and_policy(),
    ) {
        let findings = evaluate(&s, &policy);
        let actions = plan(&findings);
        // Each fix once, and only for what is there.
        for (i, a) in actions.iter().enumerate() {
            prop_assert!(!actions[..i].contains(a), "{:?} planned twice", a);
            let known = a.resource() == s.instance_id
                || s.interfaces.iter().any(|e| e.eni_id == a.resource());
            prop_assert!(known, "{:?} is about nothing in the snapshot", a);
        }
        apply(&mut s, &actions);
        let again = evaluate(&s, &policy);
        prop_assert_eq!(plan(&again), Vec::<Action>::new());
        // And the findings those fixes were for are gone.
        for a in &actions {
            prop_assert!(
                !again.iter().any(|f| f.resource == a.resource()
                    && matches!(f.code, FindingCode::SrcDstCheckEnabled | FindingCode::EnaDisabled)),
                "{:?} still reported after its fix", a
            );
        }
    }

    #[test]
    fn when_a_router_is_launched_as_the_guide_says_then_no_finding_is_open(
        lans in 1usize..4,
        state in prop::sample::select(vec!["pending", "running", "stopped"]),
        instance_type in prop::sample::select(vec![
            "c5.xlarge", "c5.2xlarge", "m5.4xlarge", "c6i.metal", "trn1.32xlarge", "c7gn.16xlarge",
        ]),
        extra_gb in 0i32..200,
        ena_unknown in any::<bool>(),
        tag_names in any::<bool>(),
        igw in "igw-[0-9a-f]{8,17}",
        snoozed in any::<bool>(),
        launched_minutes_ago in prop::option::of(0i64..600),
        grace in prop::option::of(0i64..60),
        ena_fix in any::<bool>(),
    ) {
        let mut interfaces = vec![eni(0, Some("WAN"), true, Some(false), tag_names)];
        interfaces.extend((1..=lans as i32).map(|i| eni(i, Some("LAN"), false, Some(false), tag_names)));
        let mut tags = BTreeMap::from([("Name".to_string(), "SSR_1_Router".to_string())]);
        if snoozed {
            tags.insert(SNOOZE_TAG_KEY.into(), "2030-01-01T00:00:00Z".into());
        }
        let s = RouterSnapshot {
            instance_id: ID.into(),
            state: state.into(),
            instance_type: Some(instance_type.into()),
            launch_time: launched_minutes_ago.map(|m| t0() - Duration::minutes(m)),
            tags,
            iam_instance_profile_arn: Some("arn:aws:iam::123456789012:instance-profile/ssr".into()),
            ena: if ena_unknown { EnaStatus::Unknown } else { EnaStatus::Enabled },
            vpc_id: Some("vpc-1".into()),
            key_name: Some("ops".into()),
            root_volume: Some(RootVolume {
                device_name: "/dev/xvda".into(),
                volume_id: Some("vol-1".into()),
                size_gb: Some(128 + extra_gb),
            }),
            interfaces,
            wan_route: Some(RouteFacts {
                subnet_id: "subnet-0".into(),
                route_table_id: Some("rtb-1".into()),
                default_route_target: Some(igw),
            }),
            onboarding: onboarding_ok("SSR_1_Router"),
            not_checked: vec![],
        };
        let mut policy = Policy::for_state(state, ena_fix, 128);
        if let Some(m) = grace {
            policy = policy.with_public_ip_grace(t0(), Duration::minutes(m));
        }
        let findings = evaluate(&s, &policy);
        let open: Vec<&Finding> = findings.iter().filter(|f| f.is_open()).collect();
        prop_assert!(open.is_empty(), "{:?}", open);
        prop_assert!(plan(&findings).is_empty());
    }
}
