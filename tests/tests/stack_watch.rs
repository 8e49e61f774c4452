//! stack-watch against an emulated AWS (a moto server per test). moto's CloudFormation ignores
//! NetworkInterfaces/SourceDestCheck on AWS::EC2::Instance, drops ENI tags, never fails a stack,
//! keeps only stack-level events and returns NoEcho parameters unmasked: the router here is one
//! AWS::EC2::Instance with SubnetId, tags and user data; failed stacks are synthesised events for
//! an existing stack. What moto cannot produce (failed resource events, `****` masking, a stack
//! that does not exist mid-alert) is covered by the aws-smithy-mocks tests in
//! functions/core/src/handlers/stack_watch/tests.rs.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudformation::types::Parameter;
use aws_sdk_dynamodb::types::AttributeValue;
use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::stack_watch::{self, StackWatchOutcome};
use ssr_core::metrics::Function;
use ssr_core::plan::ActionStatus;
use ssr_core::{Config, Deps};
use ssr_onboard_tests::{
    AlertCapture, RouterSpec, TestAws, GUIDE_SSR_VERSION, REG_CODE, ROUTER_AMI,
};

const TABLE: &str = "ssr-onboard-state";

fn deps(aws: &TestAws, alerts: &AlertCapture, extra: &[(&str, &str)]) -> Deps {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("STATE_TABLE".to_string(), TABLE.to_string()),
        ("ALERT_TOPIC_ARN".to_string(), alerts.topic_arn.clone()),
    ]);
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    aws.deps(Function::StackWatch, config)
}

fn sender() -> ResponseSender {
    ResponseSender::new().expect("http client")
}

fn deadline() -> SystemTime {
    SystemTime::now() + Duration::from_secs(300)
}

/// A router stack as small as moto models it: the vendor template's parameters (the
/// registration code NoEcho) and one router instance with the guide's onboarding user data.
fn router_template() -> String {
    let user_data =
        RouterSpec::guide_user_data("${AWS::StackName}", "${SSRVersion}", "${RegistrationCode}");
    serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "RegistrationCode": {"Type": "String", "NoEcho": true},
            "SSRVersion": {"Type": "String"},
            "SubnetId": {"Type": "String"}
        },
        "Resources": {
            "Router": {
                "Type": "AWS::EC2::Instance",
                "Properties": {
                    "ImageId": ROUTER_AMI,
                    "InstanceType": "c5.xlarge",
                    "SubnetId": {"Ref": "SubnetId"},
                    "Tags": [
                        {"Key": "Name", "Value": {"Ref": "AWS::StackName"}},
                        {"Key": "SSR-ROUTER", "Value": "true"}
                    ],
                    "UserData": {"Fn::Base64": {"Fn::Sub": user_data}}
                }
            }
        }
    })
    .to_string()
}

async fn create_router_stack(aws: &TestAws, name: &str, subnet: &str) -> String {
    let param = |k: &str, v: &str| {
        Parameter::builder()
            .parameter_key(k)
            .parameter_value(v)
            .build()
    };
    aws.cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(router_template())
        .parameters(param("RegistrationCode", REG_CODE))
        .parameters(param("SSRVersion", GUIDE_SSR_VERSION))
        .parameters(param("SubnetId", subnet))
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStack {name}: {e:?}"))
        .stack_id
        .expect("CreateStack returns a StackId")
}

async fn create_unrelated_stack(aws: &TestAws, name: &str) -> String {
    let template = serde_json::json!({
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": name}}}
    })
    .to_string();
    aws.cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(template)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateStack {name}: {e:?}"))
        .stack_id
        .expect("CreateStack returns a StackId")
}

/// The documented "CloudFormation Stack Status Change" sample for `stack_id` in `status`.
fn stack_event(stack_id: &str, status: &str, reason: &str, event_id: &str) -> serde_json::Value {
    let mut e = ssr_testkit::fixture("cfn-stack-status-create-complete");
    e["id"] = event_id.into();
    e["time"] = chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
        .into();
    e["resources"] = serde_json::json!([stack_id]);
    e["detail"]["stack-id"] = stack_id.into();
    e["detail"]["status-details"]["status"] = status.into();
    e["detail"]["status-details"]["status-reason"] = reason.into();
    e
}

async fn run(d: &Deps, event: serde_json::Value) -> StackWatchOutcome {
    stack_watch::handle_event(d, &sender(), event, deadline())
        .await
        .unwrap_or_else(|e| panic!("stack-watch failed: {e}"))
}

async fn onboarding_start(
    aws: &TestAws,
    instance_id: &str,
) -> Option<HashMap<String, AttributeValue>> {
    aws.dynamodb
        .get_item()
        .table_name(TABLE)
        .key(
            "pk",
            AttributeValue::S(format!("onboarding-start#{instance_id}")),
        )
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

fn calls(reqs: &[ssr_onboard_tests::RecordedRequest], service: &str) -> Vec<String> {
    reqs.iter()
        .filter(|r| r.service.as_deref() == Some(service))
        .filter_map(|r| r.action.clone())
        .collect()
}

#[tokio::test]
async fn when_router_stack_completes_then_guarded_recorded_and_a_replay_writes_and_alerts_nothing()
{
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let stack_id = create_router_stack(&aws, "ssr-branch-7", &vpc.public_subnet_id).await;
    let d = deps(&aws, &capture, &[]);
    let event = stack_event(
        &stack_id,
        "CREATE_COMPLETE",
        "",
        "7d0c3a52-0000-4000-8000-000000000001",
    );

    let first = run(&d, event.clone()).await;

    let rec = first.recognition.clone().expect("recognition");
    assert!(rec.router, "{}", rec.reason);
    // No tag, no ROUTER_STACKS: the vendor template's parameters decided.
    assert!(rec.reason.contains("RegistrationCode"), "{}", rec.reason);
    assert_eq!(first.instances.len(), 1, "{first:?}");
    let inst = &first.instances[0];
    let guard = inst.guard.as_ref().expect("guard outcome");
    assert!(guard.selected, "{}", guard.reason);
    // moto gives the instance one ENI with source/dest check on: fixed and verified.
    assert!(
        guard
            .actions
            .iter()
            .any(|a| a.status == ActionStatus::Applied),
        "{:?}",
        guard.actions
    );
    assert_eq!(inst.onboarding_start_recorded, Some(true));
    let item = onboarding_start(&aws, &inst.instance_id)
        .await
        .expect("onboarding start recorded");
    assert_eq!(item["source"], AttributeValue::S("stack-watch".into()));
    let first_alerts = capture.drain(&aws).await;
    // moto's instance has no SSR-ROLE tags and no LAN interface: the guard pages once.
    assert_eq!(first_alerts.len(), 1, "{first_alerts:?}");
    assert!(
        first_alerts
            .iter()
            .all(|a| a.attributes.get("kind").map(String::as_str) == Some("guard-findings")),
        "{first_alerts:?}"
    );

    // At-least-once delivery: the same event again.
    aws.start_recording().await;
    let replay = run(&d, event).await;
    assert_eq!(aws.ec2_write_calls().await, Vec::<String>::new());
    assert_eq!(replay.instances[0].onboarding_start_recorded, Some(false));
    assert!(capture.drain(&aws).await.is_empty(), "no second alert");

    let text = format!(
        "{} {} {first_alerts:?}",
        serde_json::to_string(&first).unwrap(),
        serde_json::to_string(&replay).unwrap()
    );
    assert!(!text.contains(REG_CODE), "the registration code leaked");
}

#[tokio::test]
async fn when_router_stack_fails_then_one_alert_with_reason_and_parameters_without_the_code() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let stack_id = create_router_stack(&aws, "ssr-branch-8", &vpc.public_subnet_id).await;
    let d = deps(&aws, &capture, &[]);
    // moto stacks never fail: the event EventBridge would deliver, for a stack that exists.
    let event = stack_event(
        &stack_id,
        "ROLLBACK_IN_PROGRESS",
        "The following resource(s) failed to create: [Router]. Rollback requested by user.",
        "7d0c3a52-0000-4000-8000-000000000002",
    );

    let o = run(&d, event.clone()).await;
    assert!(o.alert.as_ref().is_some_and(|a| a.sent), "{o:?}");
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    let subject = a.subject.clone().unwrap_or_default();
    assert!(
        subject.starts_with("SSR stack ssr-branch-8 ROLLBACK_IN_PROGRESS"),
        "{subject}"
    );
    assert!(subject.len() < 100);
    assert_eq!(
        a.attributes.get("kind").map(String::as_str),
        Some("stack-failed")
    );
    assert_eq!(
        a.attributes.get("severity").map(String::as_str),
        Some("error")
    );
    assert_eq!(
        a.attributes.get("status").map(String::as_str),
        Some("ROLLBACK_IN_PROGRESS")
    );
    assert_eq!(
        a.attributes.get("stack_name").map(String::as_str),
        Some("ssr-branch-8")
    );
    assert!(
        a.message.contains("failed to create: [Router]"),
        "{}",
        a.message
    );
    assert!(a
        .message
        .contains(&format!("SSRVersion = {GUIDE_SSR_VERSION}")));
    // moto returns the NoEcho value in clear; the key hides it.
    assert!(a.message.contains("RegistrationCode = (hidden)"));
    assert!(!format!("{alerts:?} {o:?}").contains(REG_CODE));

    // Redelivered: the claim holds, nobody is paged twice.
    let again = run(&d, event).await;
    assert!(again.alert.as_ref().is_some_and(|a| !a.sent));
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_unrelated_stack_changes_then_one_describe_call_and_nothing_else() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let stack_id = create_unrelated_stack(&aws, "web-app").await;
    let d = deps(&aws, &capture, &[("ROUTER_STACKS", "ssr-*")]);

    for (n, status) in ["CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS"]
        .iter()
        .enumerate()
    {
        aws.start_recording().await;
        let o = run(
            &d,
            stack_event(
                &stack_id,
                status,
                "",
                &format!("7d0c3a52-0000-4000-8000-00000000001{n}"),
            ),
        )
        .await;
        assert!(!o.recognition.expect("recognition").router);
        let reqs = aws.recorded_requests().await;
        let all: Vec<String> = reqs.iter().filter_map(|r| r.action.clone()).collect();
        assert_eq!(all, vec!["DescribeStacks".to_string()], "{status}");
    }
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_router_stack_matches_router_stacks_then_no_cloudformation_call_at_all() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let stack_id = create_router_stack(&aws, "ssr-branch-9", &vpc.public_subnet_id).await;
    let d = deps(&aws, &capture, &[("ROUTER_STACKS", "ssr-branch-*")]);

    aws.start_recording().await;
    let o = run(
        &d,
        stack_event(
            &stack_id,
            "CREATE_COMPLETE",
            "",
            "7d0c3a52-0000-4000-8000-000000000020",
        ),
    )
    .await;
    assert_eq!(o.instances.len(), 1);
    let reqs = aws.recorded_requests().await;
    assert_eq!(calls(&reqs, "cloudformation"), Vec::<String>::new());
}

#[tokio::test]
async fn when_instance_resource_completes_then_the_guard_checks_it() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let stack_id = create_router_stack(&aws, "ssr-branch-10", &vpc.public_subnet_id).await;
    let instance_id = aws
        .cloudformation
        .describe_stack_resource()
        .stack_name(&stack_id)
        .logical_resource_id("Router")
        .send()
        .await
        .expect("DescribeStackResource")
        .stack_resource_detail
        .and_then(|r| r.physical_resource_id)
        .expect("physical id");
    let d = deps(&aws, &capture, &[]);
    let mut event = ssr_testkit::fixture("cfn-resource-status-instance-create-complete");
    event["detail"]["stack-id"] = stack_id.as_str().into();
    event["detail"]["physical-resource-id"] = instance_id.as_str().into();

    let o = run(&d, event).await;
    assert_eq!(o.instances.len(), 1);
    assert_eq!(o.instances[0].instance_id, instance_id);
    assert!(o.instances[0].guard.as_ref().is_some_and(|g| g.selected));
}

#[tokio::test]
async fn when_stack_does_not_exist_then_no_op() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let d = deps(&aws, &capture, &[]);
    let gone = "arn:aws:cloudformation:us-east-1:123456789012:stack/ssr-gone/0e2b7a40-a6c1-11ef-9d3c-0affd3a1b2c5";
    for status in ["CREATE_COMPLETE", "ROLLBACK_COMPLETE"] {
        let o = run(
            &d,
            stack_event(gone, status, "", "7d0c3a52-0000-4000-8000-000000000030"),
        )
        .await;
        assert!(o.decision.contains("no longer exists"), "{}", o.decision);
    }
    assert!(capture.drain(&aws).await.is_empty());
}
