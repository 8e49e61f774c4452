//! The alert outbox against the emulator: a function killed at each point of an alert's delivery
//! (after the claim, during the publish, after the publish and before the confirm) loses no
//! alert. The kill is a request that hangs (`ssr_testkit::faults`) and the handler's future
//! dropped, which is what DynamoDB and SNS see of a killed process. The replay within the lease
//! sends nothing and does not fail; the watchdog sweep's outbox step (or Lambda's retry, a minute
//! later) delivers it: exactly once when the publish never reached SNS, at most twice when SNS
//! accepted it and the process died before the confirm.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use ssr_core::alerting::{deliver_due, publish_once, AlertClaim};
use ssr_core::aws::state::items::ClaimItem;
use ssr_core::handlers::guard;
use ssr_core::render::{Action, Alert, IncidentKey};
use ssr_core::{Config, Deps};
use ssr_onboard_tests::{ec2_state_change_event, AlertCapture, RouterSpec, TestAws};
use ssr_testkit::faults::{Fault, FaultRules};

const TABLE: &str = "ssr-onboard-state";

/// Deps over the emulator whose every request passes `rules` first.
fn faulty_deps(aws: &TestAws, capture: &AlertCapture, rules: &FaultRules) -> Deps {
    let vars: HashMap<String, String> = HashMap::from([
        ("STATE_TABLE".to_string(), TABLE.to_string()),
        ("ALERT_TOPIC_ARN".to_string(), capture.topic_arn.clone()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    aws.faulty_deps(config, rules, None)
}

fn is_publish(_target: &str, body: &str) -> bool {
    body.contains("Action=Publish")
}

/// The outbox confirm (`status` = `sent`).
fn is_confirm(target: &str, body: &str) -> bool {
    target.ends_with(".UpdateItem") && body.contains("SET #s = :sent")
}

struct Killed {
    aws: TestAws,
    capture: AlertCapture,
    deps: Deps,
    event: serde_json::Value,
}

/// A guide router with an 8 GB disk (alerted, not fixable) whose guard invocation is killed by
/// `fault` on the requests `matches` selects.
async fn guard_killed(fault: Fault, matches: fn(&str, &str) -> bool) -> Killed {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        root_volume_gb: 8,
        ..RouterSpec::guide("branch-k")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let rules = FaultRules::new();
    rules.add(fault, matches);
    let deps = faulty_deps(&aws, &capture, &rules);
    let event = ec2_state_change_event(&router.instance_id, "running");
    let killed = tokio::time::timeout(
        Duration::from_secs(5),
        guard::handle_event(&deps, event.clone(), ssr_core::Deadline::NONE),
    )
    .await;
    assert!(
        killed.is_err(),
        "the invocation should hang at the fault and be killed"
    );
    rules.clear();
    Killed {
        aws,
        capture,
        deps,
        event,
    }
}

/// The pending claims in the table (`status` = `pending`).
async fn pending(aws: &TestAws) -> usize {
    aws.dynamodb
        .scan()
        .table_name(TABLE)
        .filter_expression("#s = :p")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(
            ":p",
            aws_sdk_dynamodb::types::AttributeValue::S("pending".into()),
        )
        .send()
        .await
        .expect("scan")
        .count as usize
}

/// The replay within the lease leaves the alert to its holder (no send, no error); the sweep's
/// outbox step a minute later delivers it; a replay after that sends nothing.
async fn recover(k: &Killed) -> usize {
    assert_eq!(
        pending(&k.aws).await,
        1,
        "the killed invocation's claim is pending"
    );
    let replay = guard::handle_event(&k.deps, k.event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("a replay within the lease does not fail");
    assert!(
        !replay.alert.sent && replay.alert.in_flight,
        "{:?}",
        replay.alert
    );
    let swept = deliver_due(
        &k.deps.alerts,
        &k.deps.state,
        Utc::now() + chrono::Duration::seconds(60),
    )
    .await
    .expect("outbox");
    assert_eq!(swept.delivered.len(), 1, "{swept:?}");
    assert_eq!(pending(&k.aws).await, 0, "confirmed sent");
    let later = guard::handle_event(&k.deps, k.event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("a later replay");
    assert!(later.alert.already_sent, "{:?}", later.alert);
    k.capture.drain(&k.aws).await.len()
}

#[tokio::test]
async fn when_killed_after_the_claim_before_the_publish_then_the_sweep_delivers_exactly_one() {
    let k = guard_killed(Fault::HangBefore, is_publish).await;
    assert_eq!(recover(&k).await, 1);
}

#[tokio::test]
async fn when_killed_during_the_publish_then_the_alert_arrives_at_most_twice_and_never_zero() {
    let k = guard_killed(Fault::HangAfter, is_publish).await;
    let n = recover(&k).await;
    assert!((1..=2).contains(&n), "{n} deliveries");
}

#[tokio::test]
async fn when_killed_after_the_publish_before_the_confirm_then_at_most_one_duplicate() {
    let k = guard_killed(Fault::HangBefore, is_confirm).await;
    let n = recover(&k).await;
    assert_eq!(n, 2, "SNS had it once; the take-over delivers it once more");
}

#[tokio::test]
async fn when_a_retry_comes_after_the_lease_then_it_takes_over_and_no_sweep_is_needed() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let rules = FaultRules::new();
    rules.add(Fault::HangBefore, is_publish);
    let deps = faulty_deps(&aws, &capture, &rules);
    let alert = Alert {
        subject: "SSR onboarding overdue: r1 (i-1) 16 min".into(),
        body: "body\n".into(),
        attributes: [(
            "kind".to_string(),
            ssr_core::render::string_attr("onboarding-overdue"),
        )]
        .into(),
        thread_id: "t".into(),
        related_resources: vec!["i-1".into()],
        next_steps: vec![],
    }
    .for_incident(&IncidentKey::episode("i-1", 1), Action::Trigger);
    let claim = |now: chrono::DateTime<Utc>| AlertClaim {
        pk: "overdue#i-1#1".into(),
        expires_at: now + chrono::Duration::days(1),
        item: ClaimItem::default(),
        held_reason: "held".into(),
        sent_reason: "sent".into(),
    };
    let t0 = Utc::now();
    let killed = tokio::time::timeout(
        Duration::from_secs(3),
        publish_once(&deps.alerts, &deps.state, &alert, claim(t0), t0),
    )
    .await;
    assert!(killed.is_err());
    rules.clear();
    // Lambda's retry, about a minute after the failure.
    let t1 = t0 + chrono::Duration::seconds(70);
    let retry = publish_once(&deps.alerts, &deps.state, &alert, claim(t1), t1)
        .await
        .expect("retry");
    assert!(retry.sent && retry.taken_over, "{retry:?}");
    let swept = deliver_due(
        &deps.alerts,
        &deps.state,
        t1 + chrono::Duration::seconds(60),
    )
    .await
    .expect("outbox");
    assert!(
        swept.delivered.is_empty(),
        "nothing left pending: {swept:?}"
    );
    let got = capture.drain(&aws).await;
    assert_eq!(got.len(), 1);
    assert_eq!(
        got[0].attributes.get("incident_key").map(String::as_str),
        Some("ssr-onboard/onboarding/i-1/1")
    );
    assert_eq!(
        got[0].attributes.get("action").map(String::as_str),
        Some("trigger")
    );
}
