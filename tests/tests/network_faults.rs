//! The network faults a real AWS endpoint shows and the emulator does not: an answer slower than
//! the SDK's attempt timeout, and a dropped connection. The guard against the emulator, its
//! requests passed through `ssr_testkit::faults`: the promise is that the SDK retries, the event
//! succeeds with everything done, every write and the alert happen once.

use std::collections::HashMap;
use std::time::Duration;

use ssr_core::handlers::guard;
use ssr_core::Config;
use ssr_onboard_tests::{ec2_state_change_event, AlertCapture, RouterSpec, TestAws};
use ssr_testkit::faults::{Fault, FaultRules};

const TABLE: &str = "ssr-onboard-state";

fn config(capture: &AlertCapture) -> Config {
    let vars: HashMap<String, String> = HashMap::from([
        ("STATE_TABLE".to_string(), TABLE.to_string()),
        ("ALERT_TOPIC_ARN".to_string(), capture.topic_arn.clone()),
    ]);
    Config::from_vars(|k| vars.get(k).cloned()).expect("config")
}

/// A guide router with an 8 GB disk (two source/destination fixes, one alert), guarded through
/// `rules`; returns the outcome and the alerts delivered.
async fn guard_through(rules: FaultRules) -> (guard::GuardOutcome, usize, TestAws) {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        root_volume_gb: 8,
        ..RouterSpec::guide("branch-n")
    };
    let router = aws.launch_router(&vpc, &spec).await;
    let d = aws.faulty_deps(config(&capture), &rules, Some(Duration::from_secs(1)));
    let o = guard::handle_event(
        &d,
        ec2_state_change_event(&router.instance_id, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("the SDK retries; the event succeeds");
    let alerts = capture.drain(&aws).await.len();
    (o, alerts, aws)
}

#[tokio::test]
async fn when_an_ec2_answer_is_slower_than_the_attempt_timeout_then_the_sdk_retries_and_all_is_done_once(
) {
    let rules = FaultRules::new();
    rules.add_times(Fault::HangBefore, 1, |_, body| {
        body.contains("Action=DescribeInstances")
    });
    rules.add_times(Fault::HangAfter, 1, |_, body| {
        body.contains("Action=ModifyNetworkInterfaceAttribute")
    });
    let (o, alerts, aws) = guard_through(rules).await;
    assert_eq!(o.actions.len(), 2, "{:?}", o.actions);
    assert!(
        o.actions.iter().all(|a| a.succeeded()),
        "both fixes verified: {:?}",
        o.actions
    );
    assert_eq!(alerts, 1, "the small disk is alerted once");
    drop(aws);
}

#[tokio::test]
async fn when_connections_drop_then_the_sdk_retries_and_the_alert_goes_out_once() {
    let rules = FaultRules::new();
    rules.add_times(Fault::Drop, 2, |_, body| body.contains("Action=Publish"));
    rules.add_times(Fault::Drop, 1, |target, _| target.ends_with(".PutItem"));
    rules.add_times(Fault::Drop, 1, |_, body| {
        body.contains("Action=DescribeNetworkInterfaces")
    });
    let (o, alerts, aws) = guard_through(rules).await;
    assert!(o.alert.sent, "{:?}", o.alert);
    assert_eq!(alerts, 1);
    assert!(o.actions.iter().all(|a| a.succeeded()), "{:?}", o.actions);
    drop(aws);
}
