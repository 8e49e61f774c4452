//! Drift against an emulated AWS (moto): CloudTrail-recorded EC2 calls re-run the guard for the
//! routers they touched, debounced; the watchdog's sweep re-checks routers with an open findings
//! incident. moto cannot deliver CloudTrail events, so the tests change the world by hand (as a
//! person would) and hand the handler the event EventBridge would deliver, built from the
//! real-shaped fixtures in tests/fixtures (cloudtrail-*.json, see their README).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::{json, Value};
use ssr_core::handlers::drift::{self, DriftDecision, DriftOutcome};
use ssr_core::handlers::guard;
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::metrics::Function;
use ssr_core::plan::ActionStatus;
use ssr_core::render::EventContext;
use ssr_core::{Config, Deadline, Deps};
use ssr_onboard_tests::{ec2_state_change_event, AlertCapture, CapturedAlert, RouterSpec, TestAws};

const TABLE: &str = "ssr-onboard-state";

fn deps(aws: &TestAws, capture: &AlertCapture, function: Function) -> Deps {
    let vars: HashMap<String, String> = HashMap::from([
        ("STATE_TABLE".to_string(), TABLE.to_string()),
        ("ALERT_TOPIC_ARN".to_string(), capture.topic_arn.clone()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    aws.deps(function, config)
}

/// A fixture event with its request's ids replaced by `ids` (`requestParameters` members).
fn cloudtrail(fixture: &str, params: Value) -> Value {
    let text = match fixture {
        "modify-network-interface-attribute" => {
            include_str!("../fixtures/cloudtrail-modify-network-interface-attribute.json")
        }
        "modify-network-interface-attribute-failed" => {
            include_str!("../fixtures/cloudtrail-modify-network-interface-attribute-failed.json")
        }
        "create-tags" => include_str!("../fixtures/cloudtrail-create-tags.json"),
        "modify-instance-attribute" => {
            include_str!("../fixtures/cloudtrail-modify-instance-attribute.json")
        }
        "modify-volume" => include_str!("../fixtures/cloudtrail-modify-volume.json"),
        "associate-address" => include_str!("../fixtures/cloudtrail-associate-address.json"),
        other => panic!("no fixture {other}"),
    };
    let mut ev: Value = serde_json::from_str(text).expect("fixture JSON");
    if let (Some(p), Some(edits)) = (
        ev["detail"]["requestParameters"].as_object_mut(),
        params.as_object(),
    ) {
        for (k, v) in edits {
            p.insert(k.clone(), v.clone());
        }
    }
    ev
}

fn kind(a: &CapturedAlert) -> &str {
    a.attributes.get("kind").map(String::as_str).unwrap_or("")
}

fn action(a: &CapturedAlert) -> &str {
    a.attributes.get("action").map(String::as_str).unwrap_or("")
}

fn decisions(o: &DriftOutcome) -> Vec<DriftDecision> {
    o.instances.iter().map(|r| r.decision).collect()
}

#[tokio::test]
async fn when_source_dest_check_is_turned_back_on_by_hand_then_the_event_fixes_it_again_and_reports_it_once(
) {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws.launch_router(&vpc, &RouterSpec::guide("drift-1")).await;
    let d = deps(&aws, &capture, Function::InstanceGuard);
    guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        Deadline::NONE,
    )
    .await
    .expect("first run");
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false)
    );
    assert!(
        capture.drain(&aws).await.is_empty(),
        "fixes alone are not alerted"
    );

    // Someone turns source/destination check back on by hand.
    aws.set_source_dest_check(&router.wan_eni_id, true).await;
    let event = cloudtrail(
        "modify-network-interface-attribute",
        json!({"networkInterfaceId": router.wan_eni_id}),
    );
    let o = drift::handle_event(&d, event.clone(), Deadline::NONE)
        .await
        .expect("drift event");

    assert_eq!(decisions(&o), [DriftDecision::Checked], "{o:?}");
    let run = &o.instances[0];
    assert_eq!(run.instance_id, router.instance_id);
    let g = run.guard.as_ref().expect("guard ran");
    assert_eq!(
        g.trigger,
        "CloudTrail: ModifyNetworkInterfaceAttribute by arn:aws:sts::123456789012:assumed-role/NetworkAdmin/alice"
    );
    let applied: Vec<&str> = g
        .actions
        .iter()
        .filter(|a| a.status == ActionStatus::Applied)
        .map(|a| a.action.resource())
        .collect();
    assert_eq!(applied, [router.wan_eni_id.as_str()]);
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false)
    );
    assert!(run.drift_alert.as_ref().is_some_and(|a| a.sent), "{run:?}");
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1, "one drift notice: {alerts:?}");
    assert_eq!(kind(&alerts[0]), "guard-drift");
    assert_eq!(
        alerts[0].attributes.get("severity").map(String::as_str),
        Some("warning")
    );
    assert!(
        alerts[0].message.contains("NetworkAdmin/alice"),
        "the notice names who changed it"
    );

    // The same event again (EventBridge may deliver twice): debounced, nothing sent.
    let replay = drift::handle_event(&d, event, Deadline::NONE)
        .await
        .expect("replay");
    assert_eq!(decisions(&replay), [DriftDecision::Debounced]);
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_an_alerted_finding_is_fixed_by_hand_then_the_cloudtrail_event_resolves_it_once() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        lan_tag: None,
        ..RouterSpec::guide("drift-2")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = deps(&aws, &capture, Function::InstanceGuard);
    let first = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        Deadline::NONE,
    )
    .await
    .expect("first run");
    assert!(first.alert.sent, "{:?}", first.alert);
    assert_eq!(capture.drain(&aws).await.len(), 1);

    // The LAN interface is tagged by hand; CloudTrail records CreateTags on the ENI.
    aws.sandbox
        .tag(&router.lan_eni_id, "SSR-ROLE", "LAN")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let event = cloudtrail(
        "create-tags",
        json!({"resourcesSet": {"items": [{"resourceId": router.lan_eni_id}]}}),
    );
    let o = drift::handle_event(&d, event, Deadline::NONE)
        .await
        .expect("drift event");

    assert_eq!(decisions(&o), [DriftDecision::Checked], "{o:?}");
    let g = o.instances[0].guard.as_ref().expect("guard ran");
    assert_eq!(g.alert.action, Some("resolve"), "{:?}", g.alert);
    assert!(
        o.instances[0].drift_alert.is_none(),
        "nothing was fixed by the guard"
    );
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(kind(&alerts[0]), "guard-findings");
    assert_eq!(action(&alerts[0]), "resolve");
    assert_eq!(
        alerts[0].attributes.get("incident_key"),
        Some(&format!("ssr-onboard/guard/{}", router.instance_id))
    );
    // The list is the sweep's to read (the guard's role has no Query).
    let sweep = deps(&aws, &capture, Function::OnboardingWatchdog);
    assert!(
        sweep
            .state
            .open_findings(10)
            .await
            .expect("list")
            .is_empty(),
        "the resolved incident left the findings-open list"
    );
}

#[tokio::test]
async fn when_five_calls_arrive_in_a_burst_then_the_guard_runs_once() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws.launch_router(&vpc, &RouterSpec::guide("drift-3")).await;
    let d = deps(&aws, &capture, Function::InstanceGuard);
    let id = router.instance_id.as_str();
    let burst = [
        cloudtrail("modify-instance-attribute", json!({"instanceId": id})),
        cloudtrail(
            "create-tags",
            json!({"resourcesSet": {"items": [{"resourceId": id}]}}),
        ),
        cloudtrail(
            "modify-network-interface-attribute",
            json!({"networkInterfaceId": router.wan_eni_id}),
        ),
        cloudtrail("associate-address", json!({"instanceId": id})),
        cloudtrail(
            "create-tags",
            json!({"resourcesSet": {"items": [{"resourceId": router.lan_eni_id}]}}),
        ),
    ];
    let mut all = Vec::new();
    for event in burst {
        let o = drift::handle_event(&d, event, Deadline::NONE)
            .await
            .expect("drift event");
        assert!(o.instances.iter().all(|r| r.instance_id == id), "{o:?}");
        all.extend(decisions(&o));
    }
    assert_eq!(
        all,
        [
            DriftDecision::Checked,
            DriftDecision::Debounced,
            DriftDecision::Debounced,
            DriftDecision::Debounced,
            DriftDecision::Debounced,
        ]
    );
}

#[tokio::test]
async fn when_the_call_touches_a_non_router_then_nothing_is_written() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let plain = aws.launch_plain_instance(&vpc).await;
    let d = deps(&aws, &capture, Function::InstanceGuard);

    aws.start_recording().await;
    let o = drift::handle_event(
        &d,
        cloudtrail("modify-instance-attribute", json!({"instanceId": plain})),
        Deadline::NONE,
    )
    .await
    .expect("drift event");

    assert_eq!(decisions(&o), [DriftDecision::NotARouter], "{o:?}");
    let writes: Vec<String> = aws
        .recorded_requests()
        .await
        .into_iter()
        .filter_map(|r| r.action)
        .filter(|a| {
            !["Describe", "Get", "BatchGet", "List", "Query"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect();
    assert!(writes.is_empty(), "a non-router's event wrote: {writes:?}");
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_the_call_failed_or_was_ssr_onboards_own_fix_then_nothing_is_checked() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws.launch_router(&vpc, &RouterSpec::guide("drift-5")).await;
    let d = deps(&aws, &capture, Function::InstanceGuard);

    aws.start_recording().await;
    let failed = drift::handle_event(
        &d,
        cloudtrail(
            "modify-network-interface-attribute-failed",
            json!({"networkInterfaceId": router.wan_eni_id}),
        ),
        Deadline::NONE,
    )
    .await
    .expect("failed call");
    assert!(failed.instances.is_empty());
    assert!(failed
        .skipped
        .as_deref()
        .is_some_and(|s| s.contains("Client.UnauthorizedOperation")));

    // The guard's own fix in a member account: the member role's session "ssr-onboard".
    let mut own = cloudtrail(
        "modify-network-interface-attribute",
        json!({"networkInterfaceId": router.wan_eni_id, "sourceDestCheck": {"value": false}}),
    );
    own["detail"]["userIdentity"]["arn"] =
        json!("arn:aws:sts::123456789012:assumed-role/ssr-onboard-member/ssr-onboard");
    own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] =
        json!("arn:aws:iam::123456789012:role/ssr-onboard-member");
    let own = drift::handle_event(&d, own, Deadline::NONE)
        .await
        .expect("own call");
    assert!(own.instances.is_empty(), "{own:?}");
    assert!(own.skipped.is_some());
    assert!(
        aws.recorded_requests().await.is_empty(),
        "nothing was even read"
    );
}

/// The first minute at or after `t` that is a multiple of five.
fn next_recheck_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let t = t
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(t);
    let extra = (5 - t.minute() % 5) % 5;
    t + Duration::minutes(i64::from(extra))
}

#[tokio::test]
async fn when_a_hand_fix_has_no_cloudtrail_event_then_the_sweep_recheck_resolves_the_incident() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        lan_tag: None,
        ..RouterSpec::guide("drift-6")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let guard_deps = deps(&aws, &capture, Function::InstanceGuard);
    let first = guard::handle_event(
        &guard_deps,
        ec2_state_change_event(&router.instance_id, "running"),
        Deadline::NONE,
    )
    .await
    .expect("first run");
    assert!(first.alert.sent, "{:?}", first.alert);
    assert_eq!(capture.drain(&aws).await.len(), 1);
    let d = deps(&aws, &capture, Function::OnboardingWatchdog);
    let listed = d.state.open_findings(10).await.expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].scope.instance_id, router.instance_id);
    assert_eq!(listed[0].scope.region.as_deref(), Some("us-east-1"));

    // Fixed by hand; no trail, so no CloudTrail event reaches the guard.
    aws.sandbox
        .tag(&router.lan_eni_id, "SSR-ROLE", "LAN")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let w = Watchdog::new(&d.config, d.secrets_client());
    let ctx = EventContext {
        region: Some("us-east-1".into()),
        ..Default::default()
    };
    let due = next_recheck_minute(Utc::now());

    // A sweep in a minute that is not a multiple of five does not re-check.
    let off = w
        .sweep(&d, due + Duration::minutes(1), &ctx, Deadline::NONE)
        .await
        .expect("sweep");
    assert!(off.rechecked.is_empty(), "{:?}", off.rechecked);

    let on = w.sweep(&d, due, &ctx, Deadline::NONE).await.expect("sweep");
    assert_eq!(on.rechecked.len(), 1, "{:?}", on.rechecked);
    let r = &on.rechecked[0];
    assert_eq!(r.instance_id, router.instance_id);
    assert!(r.resolve.as_ref().is_some_and(|a| a.sent), "{r:?}");
    let resolves: Vec<CapturedAlert> = capture
        .drain(&aws)
        .await
        .into_iter()
        .filter(|a| kind(a) == "guard-findings")
        .collect();
    assert_eq!(resolves.len(), 1, "{resolves:?}");
    assert_eq!(action(&resolves[0]), "resolve");
    assert!(d.state.open_findings(10).await.expect("list").is_empty());

    // The next re-check finds nothing open: nothing is read for it, nothing sent.
    let again = w
        .sweep(&d, due + Duration::minutes(5), &ctx, Deadline::NONE)
        .await
        .expect("sweep");
    assert!(again.rechecked.is_empty());
    assert!(capture
        .drain(&aws)
        .await
        .iter()
        .all(|a| kind(a) != "guard-findings"));
}

/// The hub: moto's default account, and the account of the fixtures' events.
const HUB: &str = "123456789012";
const MEMBER: &str = "444455556666";

#[tokio::test]
async fn when_a_member_accounts_call_reaches_the_hub_then_the_drift_is_fixed_in_the_member_account()
{
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let (_, member) = aws.member_world(MEMBER, "ssr-onboard-member").await;
    let vpc = member.guide_vpc().await.expect("member vpc");
    // Without an instance profile (the sandbox cannot create one there): NO_INSTANCE_PROFILE
    // is alerted, and stays open.
    let spec = RouterSpec {
        iam_instance_profile: false,
        ..RouterSpec::guide("member-drift")
    };
    let router = member.launch_router(&vpc, &spec).await.expect("router");
    let vars = HashMap::from([
        ("STATE_TABLE", TABLE.to_string()),
        ("ALERT_TOPIC_ARN", capture.topic_arn.clone()),
        ("HUB_ACCOUNT_ID", HUB.to_string()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    let d = Deps::from_sdk_config(config, &aws.sdk);
    let mut state_change = ec2_state_change_event(&router.instance_id, "running");
    state_change["account"] = MEMBER.into();
    let first = guard::handle_event(&d, state_change, Deadline::NONE)
        .await
        .expect("first run");
    assert!(first.alert.sent, "{:?}", first.alert);
    assert_eq!(capture.drain(&aws).await.len(), 1);
    let listed = d.state.open_findings(10).await.expect("list");
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].scope.account.as_deref(), Some(MEMBER));

    // Source/destination check turned back on in the member account; its trail's event is
    // forwarded to the hub bus.
    member
        .set_source_dest_check(&router.wan_eni_id, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut event = cloudtrail(
        "modify-network-interface-attribute",
        json!({"networkInterfaceId": router.wan_eni_id}),
    );
    event["account"] = MEMBER.into();
    event["detail"]["recipientAccountId"] = MEMBER.into();
    let o = drift::handle_event(&d, event, Deadline::NONE)
        .await
        .expect("member drift event");

    assert_eq!(decisions(&o), [DriftDecision::Checked], "{o:?}");
    let g = o.instances[0].guard.as_ref().expect("guard ran");
    assert!(
        g.actions
            .iter()
            .any(|a| a.status == ActionStatus::Applied && a.action.resource() == router.wan_eni_id),
        "{:?}",
        g.actions
    );
    assert!(
        g.alert.already_sent,
        "the open findings were alerted already: {:?}",
        g.alert
    );
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(kind(&alerts[0]), "guard-drift");
    assert!(
        alerts[0]
            .subject
            .as_deref()
            .is_some_and(|s| s.starts_with(&format!("[{MEMBER} us-east-1]"))),
        "{:?}",
        alerts[0].subject
    );
    assert_eq!(
        alerts[0].attributes.get("account").map(String::as_str),
        Some(MEMBER)
    );
}
