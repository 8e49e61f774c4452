//! instance-guard against an emulated AWS (a moto server per test, started and stopped by the
//! harness). Paths moto gets wrong (instance-level source/dest check, ENA) are covered by the
//! aws-smithy-mocks contract tests in functions/core/tests/guard_contract.rs.

use std::collections::HashMap;

use ssr_core::handlers::guard::{self, GuardOutcome};
use ssr_core::metrics::Function;
use ssr_core::plan::ActionStatus;
use ssr_core::{Config, Deps};
use ssr_onboard_tests::{ec2_state_change_event, AlertCapture, RouterSpec, TestAws, REG_CODE};

const TABLE: &str = "ssr-onboard-state";

async fn deps(aws: &TestAws, alerts: Option<&AlertCapture>, extra: &[(&str, &str)]) -> Deps {
    let mut vars: HashMap<String, String> =
        HashMap::from([("STATE_TABLE".to_string(), TABLE.to_string())]);
    if let Some(a) = alerts {
        vars.insert("ALERT_TOPIC_ARN".into(), a.topic_arn.clone());
    }
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    aws.deps(Function::InstanceGuard, config)
}

fn codes(o: &GuardOutcome) -> Vec<&str> {
    o.findings
        .iter()
        .filter(|f| !f.fixed)
        .map(|f| f.code.as_str())
        .collect()
}

#[tokio::test]
async fn when_two_eni_router_launched_like_the_guide_then_both_enis_fixed_and_verified() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws
        .launch_router(&vpc, &RouterSpec::guide("branch-1"))
        .await;
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(true)
    );
    let d = deps(&aws, Some(&capture), &[]).await;

    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");

    assert!(o.selected, "{}", o.reason);
    let fixed: Vec<&str> = o
        .actions
        .iter()
        .filter(|a| a.status == ActionStatus::Applied)
        .map(|a| a.action.resource())
        .collect();
    assert_eq!(
        fixed,
        vec![router.wan_eni_id.as_str(), router.lan_eni_id.as_str()]
    );
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false)
    );
    assert_eq!(
        aws.eni_source_dest_check(&router.lan_eni_id).await,
        Some(false)
    );
    // moto cannot report ENA: info only, never alerted.
    assert_eq!(codes(&o), vec!["ENA_UNKNOWN"], "{:?}", o.findings);
    assert!(!o.alert.sent);
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_same_event_replayed_then_zero_ec2_writes_and_no_second_alert() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        root_volume_gb: 8,
        ..RouterSpec::guide("branch-2")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = deps(&aws, Some(&capture), &[]).await;
    let event = ec2_state_change_event(&router.instance_id, "running");

    let first = guard::handle_event(&d, event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("first");
    assert_eq!(first.actions.len(), 2);
    assert!(first.alert.sent, "small disk is alerted");

    aws.start_recording().await;
    let replay = guard::handle_event(&d, event, ssr_core::Deadline::NONE)
        .await
        .expect("replay");
    let writes = aws.ec2_write_calls().await;
    assert!(writes.is_empty(), "replay wrote to EC2: {writes:?}");
    let calls: Vec<String> = aws
        .recorded_requests()
        .await
        .into_iter()
        .filter_map(|r| r.action)
        .collect();
    let any_write: Vec<&String> = calls
        .iter()
        .filter(|a| {
            !["Describe", "Get", "BatchGet", "List"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect();
    assert!(
        any_write.is_empty(),
        "replay made write calls: {any_write:?} (all: {calls:?})"
    );
    assert!(
        calls.iter().any(|a| a == "GetItem"),
        "the alert claim was read: {calls:?}"
    );
    assert!(replay.actions.is_empty());
    assert!(!replay.alert.sent, "{}", replay.alert.reason);
    assert_eq!(
        capture.drain(&aws).await.len(),
        1,
        "exactly one alert over both deliveries"
    );
}

#[tokio::test]
async fn when_instance_is_not_a_router_then_it_is_untouched() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let plain = aws.launch_plain_instance(&vpc).await;
    let d = deps(&aws, Some(&capture), &[]).await;

    aws.start_recording().await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&plain, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("skipped");
    assert!(!o.selected);
    assert!(o.reason.contains("not a managed router"), "{}", o.reason);
    assert!(aws.ec2_write_calls().await.is_empty());
    assert!(o.findings.is_empty() && o.actions.is_empty());
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_only_an_eni_carries_ssr_role_then_instance_is_selected() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        instance_tags: vec![("Name".into(), "edge".into())],
        ..RouterSpec::guide("edge")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = deps(&aws, None, &[]).await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");
    assert!(o.selected);
    assert!(o.reason.contains("SSR-ROLE"), "{}", o.reason);
}

#[tokio::test]
async fn when_lan_tag_missing_and_user_data_bad_then_one_readable_alert_without_registration_code()
{
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let bad_user_data = format!(
        "#cloud-config\nwrite_files:\n  - path: /etc/128T-hardware-bootstrapper/onboarding-config.json\n    content: |\n      {{\"name\": \"branch-3\", \"registration-code\": \"{REG_CODE}\", \"mode\": \"conductor-managed\"\n"
    );
    let spec = RouterSpec {
        lan_tag: None,
        user_data: Some(bad_user_data),
        ..RouterSpec::guide("branch-3")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = deps(&aws, Some(&capture), &[]).await;

    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");
    let remaining = codes(&o);
    for code in [
        "ENI_ROLE_TAG_MISSING",
        "NO_LAN_INTERFACE",
        "ONBOARDING_CONFIG_INVALID",
    ] {
        assert!(
            remaining.contains(&code),
            "{code} missing from {remaining:?}"
        );
    }
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1);
    let a = &alerts[0];
    let subject = a.subject.as_deref().expect("subject");
    assert!(
        subject.len() < 100 && subject.contains(&router.instance_id),
        "{subject}"
    );
    assert!(a
        .message
        .contains(&format!("ENI_ROLE_TAG_MISSING on {}", router.lan_eni_id)));
    // Every command names the router's region (the CLI's profile region may be another).
    assert!(
        a.message.contains(&format!(
            "aws ec2 create-tags --region {} --resources {} --tags Key=SSR-ROLE,Value=LAN",
            aws.region, router.lan_eni_id
        )),
        "{}",
        a.message
    );
    assert!(a.message.contains("ONBOARDING_CONFIG_INVALID"));
    assert!(
        a.message.contains("Fixed automatically"),
        "the src/dst fixes are listed"
    );
    assert_eq!(
        a.attributes.get("severity").map(String::as_str),
        Some("error")
    );
    assert_eq!(a.attributes.get("instance_id"), Some(&router.instance_id));
    assert!(a
        .attributes
        .get("finding_codes")
        .is_some_and(|c| c.contains("NO_LAN_INTERFACE")));
    let everything = format!(
        "{subject}{}{:?}{}",
        a.message,
        a.attributes,
        serde_json::to_string(&o).expect("json")
    );
    assert!(!everything.contains(REG_CODE), "registration code leaked");
}

#[tokio::test]
async fn when_instance_terminated_then_no_op_without_writes() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let vpc = aws.guide_vpc().await;
    let router = aws
        .launch_router(&vpc, &RouterSpec::guide("branch-4"))
        .await;
    aws.terminate(&router.instance_id).await;
    let d = deps(&aws, None, &[]).await;
    aws.start_recording().await;
    for state in ["shutting-down", "terminated"] {
        let o = guard::handle_event(
            &d,
            ec2_state_change_event(&router.instance_id, state),
            ssr_core::Deadline::NONE,
        )
        .await
        .expect("no-op");
        assert!(o.actions.is_empty() && o.findings.is_empty());
    }
    // A late "running" event for the terminated instance: described as terminated, left alone.
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("no-op");
    assert!(o.actions.is_empty(), "{o:?}");
    assert!(aws.ec2_write_calls().await.is_empty());
}

#[tokio::test]
async fn when_dry_run_then_plan_reported_and_enis_unchanged() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws
        .launch_router(&vpc, &RouterSpec::guide("branch-5"))
        .await;
    let d = deps(&aws, Some(&capture), &[("DRY_RUN", "true")]).await;
    aws.start_recording().await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("planned");
    assert!(aws.ec2_write_calls().await.is_empty());
    assert!(o.actions.iter().all(|a| a.status == ActionStatus::Planned) && o.actions.len() == 2);
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(true)
    );
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1, "dry run alerts with the plan");
    assert!(alerts[0]
        .message
        .contains("Planned automatic fix (DRY_RUN, not applied)"));
}

#[tokio::test]
async fn when_router_selected_by_stack_glob_then_guarded() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let vpc = aws.guide_vpc().await;
    // No SSR-ROUTER tag and no SSR-ROLE tags: only the stack-name glob can select it.
    let spec = RouterSpec {
        wan_tag: None,
        lan_tag: None,
        instance_tags: vec![(
            "aws:cloudformation:stack-name".into(),
            "ssr-branch-6".into(),
        )],
        ..RouterSpec::guide("branch-6")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = deps(&aws, None, &[("ROUTER_STACKS", "ssr-*")]).await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");
    assert!(o.selected);
    assert!(o.reason.contains("ROUTER_STACKS"), "{}", o.reason);
}

async fn tag_instance(aws: &TestAws, instance_id: &str, key: &str, value: &str) {
    aws.ec2
        .create_tags()
        .resources(instance_id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key(key)
                .value(value)
                .build(),
        )
        .send()
        .await
        .expect("CreateTags");
}

#[tokio::test]
async fn when_a_router_is_tagged_ignore_then_nothing_is_written_or_alerted() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        lan_tag: None,
        ..RouterSpec::guide("branch-ignored")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    tag_instance(&aws, &router.instance_id, "SSR-ONBOARD", "ignore").await;
    aws.start_recording().await;
    let d = deps(&aws, Some(&capture), &[]).await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");
    assert!(!o.selected && o.ignored, "{}", o.reason);
    assert!(o.reason.contains("SSR-ONBOARD=ignore"), "{}", o.reason);
    assert!(aws.ec2_write_calls().await.is_empty(), "nothing written");
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(true),
        "left as it was"
    );
    assert!(capture.drain(&aws).await.is_empty(), "nothing alerted");
}

#[tokio::test]
async fn when_a_router_is_tagged_monitor_then_it_is_checked_and_alerted_but_never_written() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        lan_tag: None,
        ..RouterSpec::guide("branch-monitored")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    tag_instance(&aws, &router.instance_id, "SSR-ONBOARD", "monitor").await;
    aws.start_recording().await;
    let d = deps(&aws, Some(&capture), &[]).await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");
    assert!(o.selected && o.dry_run, "{}", o.reason);
    assert!(
        o.actions.iter().all(|a| a.status == ActionStatus::Planned),
        "{:?}",
        o.actions
    );
    assert!(aws.ec2_write_calls().await.is_empty(), "nothing written");
    assert!(
        codes(&o).contains(&"SRC_DST_CHECK_ENABLED"),
        "{:?}",
        o.findings
    );
    assert_eq!(capture.drain(&aws).await.len(), 1, "alerted as usual");
}

#[tokio::test]
async fn when_a_router_is_snoozed_then_fixes_are_applied_but_nothing_is_alerted() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        lan_tag: None,
        ..RouterSpec::guide("branch-snoozed")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    tag_instance(
        &aws,
        &router.instance_id,
        "SSR-ONBOARD-SNOOZE-UNTIL",
        "2999-01-01T00:00:00Z",
    )
    .await;
    let d = deps(&aws, Some(&capture), &[]).await;
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded");
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false),
        "fixed anyway"
    );
    assert!(
        codes(&o).contains(&"ENI_ROLE_TAG_MISSING"),
        "{:?}",
        o.findings
    );
    assert!(
        !o.alert.sent && o.alert.reason.starts_with("snoozed until"),
        "{:?}",
        o.alert
    );
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_an_alerted_finding_is_fixed_by_hand_then_one_resolve_with_the_same_incident_key() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        lan_tag: None,
        ..RouterSpec::guide("branch-r")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = deps(&aws, Some(&capture), &[]).await;
    let event = ec2_state_change_event(&router.instance_id, "running");

    let first = guard::handle_event(&d, event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("first");
    assert!(first.alert.sent, "{:?}", first.alert);
    let trigger = capture.drain(&aws).await;
    assert_eq!(trigger.len(), 1);
    let key = format!("ssr-onboard/guard/{}", router.instance_id);
    assert_eq!(trigger[0].attributes.get("incident_key"), Some(&key));
    assert_eq!(
        trigger[0].attributes.get("action").map(String::as_str),
        Some("trigger")
    );

    // Someone tags the LAN interface by hand; the next guard run finds nothing open.
    aws.sandbox
        .tag(&router.lan_eni_id, "SSR-ROLE", "LAN")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let fixed = guard::handle_event(&d, event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("after the hand fix");
    assert!(fixed.alert.sent, "the resolve: {:?}", fixed.alert);
    assert_eq!(fixed.alert.action, Some("resolve"));
    let resolve = capture.drain(&aws).await;
    assert_eq!(resolve.len(), 1);
    assert_eq!(resolve[0].attributes.get("incident_key"), Some(&key));
    assert_eq!(
        resolve[0].attributes.get("action").map(String::as_str),
        Some("resolve")
    );
    assert_eq!(
        resolve[0].attributes.get("severity").map(String::as_str),
        Some("info")
    );

    // A replay resolves nothing twice.
    let replay = guard::handle_event(&d, event, ssr_core::Deadline::NONE)
        .await
        .expect("replay");
    assert!(!replay.alert.sent, "{:?}", replay.alert);
    assert!(capture.drain(&aws).await.is_empty());
}
