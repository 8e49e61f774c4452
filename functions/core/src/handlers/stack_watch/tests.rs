//! Fixtures dispatch and parse; recognition; and, with aws-smithy-mocks replaying real
//! CloudFormation answers moto cannot give (failed resource events, NoEcho masked as `****`,
//! "does not exist"), the failure alert and the no-op paths.

use std::sync::{Arc, Mutex};

use super::events::failure_claim_key;
use super::*;
use crate::aws::cloudformation::{StackInfo, StackParameter};
use crate::config::Config;
use crate::handlers::test_support::{deps, Ec2Rules, Router, REG_CODE};
use aws_sdk_cloudformation::error::ErrorMetadata as CfnErrorMetadata;
use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::{
    DescribeStacksError, DescribeStacksOutput,
};
use aws_sdk_cloudformation::types::{
    Parameter, ResourceStatus, Stack, StackEvent, StackStatus, Tag as CfnTag,
};
use aws_sdk_dynamodb::error::ErrorMetadata as DdbErrorMetadata;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ec2::error::ErrorMetadata as Ec2ErrorMetadata;
use aws_sdk_ec2::operation::describe_instances::{DescribeInstancesError, DescribeInstancesOutput};
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::types::{NetworkInterface, NetworkInterfaceAttachment};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use std::collections::HashMap;

const FIX_STACK_COMPLETE: &str =
    include_str!("../../../../../tests/fixtures/cfn-stack-status-create-complete.json");
const FIX_STACK_FAILED: &str =
    include_str!("../../../../../tests/fixtures/cfn-stack-status-create-failed.json");
const FIX_STACK_ROLLBACK: &str =
    include_str!("../../../../../tests/fixtures/cfn-stack-status-rollback-in-progress.json");
const FIX_RES_INSTANCE: &str =
    include_str!("../../../../../tests/fixtures/cfn-resource-status-instance-create-complete.json");
const FIX_RES_ENI: &str =
    include_str!("../../../../../tests/fixtures/cfn-resource-status-eni-create-complete.json");
const FIX_CR_CREATE: &str =
    include_str!("../../../../../tests/fixtures/cfn-custom-resource-create.json");
const FIX_CR_UPDATE: &str =
    include_str!("../../../../../tests/fixtures/cfn-custom-resource-update.json");
const FIX_CR_DELETE: &str =
    include_str!("../../../../../tests/fixtures/cfn-custom-resource-delete.json");
const FIX_CR_MALFORMED: &str =
    include_str!("../../../../../tests/fixtures/cfn-custom-resource-create-malformed.json");
const FIX_EC2: &str = include_str!("../../../../../tests/fixtures/ec2-state-change-running.json");

const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/ssr-router-1/5e2b7a40-a6c1-11ef-9d3c-0affd3a1b2c5";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ssr-alerts";

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap()
}

fn sender() -> ResponseSender {
    ResponseSender::with_client(
        reqwest::Client::new(),
        1,
        std::time::Duration::from_millis(1),
    )
}

fn deadline() -> std::time::SystemTime {
    std::time::SystemTime::now() + std::time::Duration::from_secs(300)
}

fn cfg(pairs: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|k| map.get(k).cloned()).unwrap()
}

// ---------------------------------------------------------------- fixtures and dispatch

#[test]
fn when_fixtures_are_classified_then_each_shape_goes_to_its_handler() {
    let cases = [
        (FIX_STACK_COMPLETE, EventKind::StackStatusChange),
        (FIX_STACK_FAILED, EventKind::StackStatusChange),
        (FIX_STACK_ROLLBACK, EventKind::StackStatusChange),
        (FIX_RES_INSTANCE, EventKind::ResourceStatusChange),
        (FIX_RES_ENI, EventKind::ResourceStatusChange),
        (FIX_CR_CREATE, EventKind::CustomResource),
        (FIX_CR_UPDATE, EventKind::CustomResource),
        (FIX_CR_DELETE, EventKind::CustomResource),
        (FIX_CR_MALFORMED, EventKind::CustomResource),
    ];
    for (text, kind) in cases {
        assert_eq!(classify(&json(text)).unwrap(), kind, "{text}");
    }
}

#[test]
fn when_stack_fixtures_parse_then_kebab_case_fields_are_read() {
    let ev: EventBridgeEvent<StackStatusChange> =
        parse_event("stack", json(FIX_STACK_ROLLBACK)).unwrap();
    assert_eq!(ev.detail.stack_id, STACK_ID);
    assert_eq!(ev.detail.status_details.status, "ROLLBACK_IN_PROGRESS");
    assert!(ev
        .detail
        .status_details
        .status_reason
        .unwrap()
        .contains("[Router]"));
    assert!(ev.time.is_some());

    let ev: EventBridgeEvent<ResourceStatusChange> =
        parse_event("resource", json(FIX_RES_INSTANCE)).unwrap();
    assert_eq!(ev.detail.resource_type, "AWS::EC2::Instance");
    assert_eq!(
        ev.detail.physical_resource_id.as_deref(),
        Some("i-abcd1111")
    );
    assert_eq!(ev.detail.logical_resource_id, "Router");

    let ev: EventBridgeEvent<ResourceStatusChange> =
        parse_event("resource", json(FIX_RES_ENI)).unwrap();
    assert_eq!(ev.detail.resource_type, "AWS::EC2::NetworkInterface");
}

#[test]
fn when_event_is_not_cloudformation_then_malformed_error_says_what_was_expected() {
    let err = classify(&json(FIX_EC2)).unwrap_err().to_string();
    assert!(err.contains("aws.cloudformation"), "{err}");
    assert!(classify(&json("[1,2]")).is_err());
    assert!(classify(&json("{}"))
        .unwrap_err()
        .to_string()
        .contains("RequestType"));
}

#[tokio::test]
async fn when_stack_event_lacks_detail_then_typed_malformed_error() {
    let mut v = json(FIX_STACK_COMPLETE);
    v["detail"] = serde_json::json!({"status-details": {"status": "CREATE_COMPLETE"}});
    let d = no_aws(&[]);
    let err = handle_event(&d, &sender(), v, deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Event(EventError::Malformed(_))));
}

// ---------------------------------------------------------------- recognition

fn info(name: &str, tags: &[(&str, &str)], params: &[&str]) -> StackInfo {
    StackInfo {
        stack_id: format!("arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/u"),
        stack_name: name.into(),
        status: "CREATE_COMPLETE".into(),
        status_reason: None,
        operation_started: None,
        parameters: params
            .iter()
            .map(|k| StackParameter {
                key: k.to_string(),
                value: None,
            })
            .collect(),
        tags: tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

#[test]
fn when_stack_name_matches_router_stacks_then_router_without_describe() {
    let c = cfg(&[("ROUTER_STACKS", "SSR_*,ssr-router-*")]);
    let r = recognise_by_name(&c, "ssr-router-1").unwrap();
    assert!(r.router && r.reason.contains("ssr-router-*"));
    assert!(recognise_by_name(&c, "web-app").is_none());
}

#[test]
fn when_stack_has_router_tag_or_vendor_parameters_then_router() {
    let c = cfg(&[]);
    assert!(recognise_described(&c, &info("x", &[("SSR-ROUTER", "")], &[])).router);
    for params in [
        &["RegistrationCode", "SSRVersion"][..],
        &["registration_code", "SsrVersion"][..],
        &["MistRegCode", "ssr-version"][..],
        &["RegistrationCode", "Version", "KeyName"][..],
    ] {
        let r = recognise_described(&c, &info("x", &[], params));
        assert!(r.router, "{params:?}");
        assert!(r.reason.contains("vendor template"), "{}", r.reason);
    }
}

#[test]
fn when_stack_is_unrelated_then_not_router_with_reason() {
    let c = cfg(&[("ROUTER_STACKS", "SSR_*")]);
    for s in [
        info("web-app", &[("team", "web")], &["DbPassword", "Version"]),
        info("ssr-ish", &[], &["RegistrationCode"]),
    ] {
        let r = recognise_described(&c, &s);
        assert!(!r.router, "{}", s.stack_name);
        assert!(r.reason.starts_with("not a router stack"));
    }
}

// ---------------------------------------------------------------- mocks

fn no_aws(vars: &[(&str, &str)]) -> Deps {
    deps(
        vars,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, []),
    )
}

fn stack(params: &[(&str, &str)], tags: &[(&str, &str)]) -> Stack {
    let mut b = Stack::builder()
        .stack_id(STACK_ID)
        .stack_name("ssr-router-1")
        .stack_status(StackStatus::RollbackInProgress)
        .creation_time(aws_smithy_types::DateTime::from_secs(1_636_666_200));
    for (k, v) in params {
        b = b.parameters(
            Parameter::builder()
                .parameter_key(*k)
                .parameter_value(*v)
                .build(),
        );
    }
    for (k, v) in tags {
        b = b.tags(CfnTag::builder().key(*k).value(*v).build());
    }
    b.build()
}

fn describe_stacks(s: Stack) -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .then_output(move || DescribeStacksOutput::builder().stacks(s.clone()).build())
}

fn stack_missing() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stacks).then_error(|| {
        DescribeStacksError::generic(
            CfnErrorMetadata::builder()
                .code("ValidationError")
                .message(format!("Stack with id {STACK_ID} does not exist"))
                .build(),
        )
    })
}

fn event(
    id: &str,
    ty: &str,
    status: ResourceStatus,
    reason: Option<&str>,
    secs: i64,
    physical: Option<&str>,
) -> StackEvent {
    let mut b = StackEvent::builder()
        .stack_id(STACK_ID)
        .stack_name("ssr-router-1")
        .event_id(format!("{id}-{secs}"))
        .logical_resource_id(id)
        .resource_type(ty)
        .resource_status(status)
        .timestamp(aws_smithy_types::DateTime::from_secs(secs));
    if let Some(r) = reason {
        b = b.resource_status_reason(r);
    }
    if let Some(p) = physical {
        b = b.physical_resource_id(p);
    }
    b.build()
}

/// What real CloudFormation returns for a create whose instance failed (newest first), with an
/// older operation behind the start event that must not be read.
fn failed_create_events() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_output(|| {
        let stack_ty = "AWS::CloudFormation::Stack";
        DescribeStackEventsOutput::builder()
            .stack_events(event(
                "ssr-router-1",
                stack_ty,
                ResourceStatus::RollbackInProgress,
                Some("The following resource(s) failed to create: [Router]. Rollback requested by user."),
                1_636_666_266,
                Some(STACK_ID),
            ))
            .stack_events(event(
                "PublicEip",
                "AWS::EC2::EIP",
                ResourceStatus::CreateFailed,
                Some("Resource creation cancelled"),
                1_636_666_265,
                None,
            ))
            .stack_events(event(
                "Router",
                "AWS::EC2::Instance",
                ResourceStatus::CreateFailed,
                Some("Resource handler returned message: \"Your requested instance type (c5.xlarge) is not supported in your requested Availability Zone (us-east-1e).\" (Service: Ec2, Status Code: 400)"),
                1_636_666_260,
                None,
            ))
            .stack_events(event(
                "Router",
                "AWS::EC2::Instance",
                ResourceStatus::CreateInProgress,
                None,
                1_636_666_230,
                None,
            ))
            .stack_events(event(
                "ssr-router-1",
                stack_ty,
                ResourceStatus::CreateInProgress,
                Some("User Initiated"),
                1_636_666_200,
                Some(STACK_ID),
            ))
            .next_token("older-page")
            .build()
    })
}

/// UpdateItem succeeds (the incident recorded open, the alert confirmed sent).
fn updated() -> Rule {
    mock!(aws_sdk_dynamodb::Client::update_item).then_output(|| UpdateItemOutput::builder().build())
}

fn claim_won() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build())
}

/// The claim's pre-read finds nothing yet.
fn no_claim_yet() -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build())
}

/// The claim's pre-read finds an unexpired claim (a redelivered event).
fn claim_found() -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| {
        GetItemOutput::builder()
            .item("expires_at", AttributeValue::N(i64::MAX.to_string()))
            .build()
    })
}

/// The conditional write loses (a concurrent invocation claimed first).
fn claim_held() -> Rule {
    mock!(aws_sdk_dynamodb::Client::put_item).then_error(|| {
        PutItemError::generic(
            DdbErrorMetadata::builder()
                .code("ConditionalCheckFailedException")
                .message("The conditional request failed")
                .build(),
        )
    })
}

/// A Publish rule that records (subject, message, attributes) of every call.
fn publish(captured: Arc<Mutex<Vec<(String, String, String)>>>) -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |r| {
            captured.lock().unwrap().push((
                r.subject().unwrap_or_default().to_string(),
                r.message().unwrap_or_default().to_string(),
                format!("{:?}", r.message_attributes()),
            ));
            true
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build())
}

const ALERT_VARS: &[(&str, &str)] = &[("ALERT_TOPIC_ARN", TOPIC), ("STATE_TABLE", "ssr-state")];

// ---------------------------------------------------------------- failure alerts

#[tokio::test]
async fn when_router_stack_rolls_back_then_one_alert_with_root_cause_and_no_secret() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    // Real AWS masks the NoEcho registration code as ****.
    let describe = describe_stacks(stack(
        &[
            ("RegistrationCode", "****"),
            ("SSRVersion", "6.3.0-107.r1"),
            ("InstanceType", "c5.xlarge"),
            ("KeyName", "ops-key"),
        ],
        &[],
    ));
    let events = failed_create_events();
    let claim = claim_won();
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&no_claim_yet(), &claim, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_ROLLBACK), deadline())
        .await
        .unwrap();
    assert_eq!(
        events.num_calls(),
        1,
        "the page reaching CREATE_IN_PROGRESS is the last read"
    );
    assert_eq!(describe.num_calls(), 1);
    let alert = o.alert.clone().unwrap();
    assert!(alert.sent);
    let sent = captured.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let (subject, body, attrs) = &sent[0];
    assert_eq!(
        subject,
        "SSR stack ssr-router-1 ROLLBACK_IN_PROGRESS: Router (AWS::EC2::Instance)"
    );
    assert!(subject.len() < 100);
    assert!(body.contains("is not supported in your requested Availability Zone"));
    // Oldest real failure first, the cancellation after it.
    let router_at = body
        .find("1. Router (AWS::EC2::Instance) CREATE_FAILED")
        .unwrap();
    let eip_at = body.find("2. PublicEip (AWS::EC2::EIP)").unwrap();
    assert!(router_at < eip_at);
    assert!(body.contains("SSRVersion = 6.3.0-107.r1"));
    assert!(body.contains("KeyName = ops-key"));
    assert!(body.contains("RegistrationCode = (hidden)"));
    assert!(!body.contains("****"));
    assert!(body.contains("Rollback requested by user"));
    for k in [
        "stack-failed",
        "error",
        "ssr-router-1",
        "ROLLBACK_IN_PROGRESS",
    ] {
        assert!(attrs.contains(k), "{attrs}");
    }
    assert!(o.recognition.unwrap().router);
}

#[tokio::test]
async fn when_noecho_value_comes_back_unmasked_then_the_key_still_hides_it() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    // moto's behaviour: NoEcho values in clear.
    let describe = describe_stacks(stack(
        &[
            ("RegistrationCode", REG_CODE),
            ("SSRVersion", "6.3.0-107.r1"),
        ],
        &[],
    ));
    let events = failed_create_events();
    let claim = claim_won();
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&no_claim_yet(), &claim, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_FAILED), deadline())
        .await
        .unwrap();
    let sent = captured.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    let all = format!("{sent:?} {}", serde_json::to_string(&o).unwrap());
    assert!(!all.contains(REG_CODE));
    assert!(sent[0].0.contains("CREATE_FAILED"));
}

const CHAT_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ssr-chat";

#[tokio::test]
async fn when_a_chat_topic_is_set_then_the_stack_alert_and_its_chat_notification_are_published_without_a_secret(
) {
    let captured: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let c = captured.clone();
    let pub_rule = mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |r| {
            c.lock().unwrap().push((
                r.topic_arn().unwrap_or_default().to_string(),
                r.message().unwrap_or_default().to_string(),
            ));
            true
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build());
    // moto's behaviour: NoEcho values in clear.
    let describe = describe_stacks(stack(
        &[
            ("RegistrationCode", REG_CODE),
            ("SSRVersion", "6.3.0-107.r1"),
        ],
        &[],
    ));
    let events = failed_create_events();
    let claim = claim_won();
    let vars = [
        ("ALERT_TOPIC_ARN", TOPIC),
        ("CHAT_TOPIC_ARN", CHAT_TOPIC),
        ("STATE_TABLE", "ssr-state"),
    ];
    let d = deps(
        &vars,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&no_claim_yet(), &claim, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_FAILED), deadline())
        .await
        .unwrap();
    let sent = captured.lock().unwrap().clone();
    let topics: Vec<&str> = sent.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        topics,
        [TOPIC, CHAT_TOPIC],
        "the alert first, then its chat copy"
    );
    let chat: serde_json::Value = serde_json::from_str(&sent[1].1).unwrap();
    assert_eq!(chat["version"], "1.0");
    assert_eq!(chat["source"], "custom");
    assert_eq!(chat["content"]["textType"], "client-markdown");
    assert_eq!(chat["metadata"]["eventType"], "stack-failed");
    let stack_id = o.stack_id.clone().unwrap();
    assert_eq!(
        chat["metadata"]["threadId"],
        format!("ssr-onboard/stack/{stack_id}")
    );
    assert_eq!(
        chat["metadata"]["relatedResources"],
        serde_json::json!([stack_id])
    );
    assert!(chat["content"]["nextSteps"]
        .as_array()
        .is_some_and(|s| s.len() >= 3));
    let alert = o.alert.clone().unwrap();
    assert!(alert.sent);
    assert!(alert.chat.as_ref().is_some_and(|c| c.sent), "{alert:?}");
    let all = format!("{sent:?} {}", serde_json::to_string(&o).unwrap());
    assert!(!all.contains(REG_CODE));
}

/// A failure event whose alert claim is already held: `pre_read` is the claim's GetItem answer.
/// Returns the conditional-write rule and the publish rule.
async fn failure_event_with_claim_held(pre_read: Rule) -> (Rule, Rule) {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    let describe = describe_stacks(stack(&[], &[("SSR-ROUTER", "true")]));
    let events = failed_create_events();
    let claim = claim_held();
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&pre_read, &claim, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_ROLLBACK), deadline())
        .await
        .unwrap();
    assert!(captured.lock().unwrap().is_empty());
    let alert = o.alert.unwrap();
    assert!(!alert.sent);
    // Found sent: "already alerted"; lost the race for the claim: the winner holds the lease
    // and delivers it.
    assert!(
        (alert.already_sent && alert.reason.contains("already alerted"))
            || (alert.in_flight && alert.reason.contains("another invocation")),
        "{alert:?}"
    );
    (claim, pub_rule)
}

#[tokio::test]
async fn when_failure_event_is_redelivered_then_claim_held_and_no_second_alert() {
    let (claim, pub_rule) = failure_event_with_claim_held(claim_found()).await;
    assert_eq!(pub_rule.num_calls(), 0);
    assert_eq!(
        claim.num_calls(),
        0,
        "a redelivered event makes no write call"
    );
}

#[tokio::test]
async fn when_concurrent_invocation_claims_first_then_conditional_write_loses_and_no_alert() {
    let (claim, pub_rule) = failure_event_with_claim_held(no_claim_yet()).await;
    assert_eq!(pub_rule.num_calls(), 0);
    assert_eq!(claim.num_calls(), 1);
}

#[tokio::test]
async fn when_no_failed_resource_event_exists_then_alert_falls_back_to_status_reason() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    let describe = describe_stacks(stack(&[], &[("SSR-ROUTER", "true")]));
    // What moto returns: stack-level events only.
    let events = mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_output(|| {
        DescribeStackEventsOutput::builder()
            .stack_events(event(
                "ssr-router-1",
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateComplete,
                None,
                1_636_666_300,
                Some(STACK_ID),
            ))
            .stack_events(event(
                "ssr-router-1",
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateInProgress,
                Some("User Initiated"),
                1_636_666_200,
                Some(STACK_ID),
            ))
            .build()
    });
    let claim = claim_won();
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&no_claim_yet(), &claim, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    handle_event(&d, &sender(), json(FIX_STACK_ROLLBACK), deadline())
        .await
        .unwrap();
    let sent = captured.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0]
        .0
        .ends_with("ROLLBACK_IN_PROGRESS: see stack events"));
    assert!(sent[0].1.contains("failed to create: [Router]"));
    assert!(sent[0].1.contains("No failed resource event was found"));
}

#[tokio::test]
async fn when_failed_stack_no_longer_exists_then_no_op() {
    let missing = stack_missing();
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, [&missing]),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_FAILED), deadline())
        .await
        .unwrap();
    assert!(o.decision.contains("no longer exists"), "{}", o.decision);
    assert!(o.alert.is_none());
}

#[tokio::test]
async fn when_unrelated_stack_fails_then_one_describe_and_nothing_else() {
    let describe = describe_stacks(stack(&[("DbPassword", "****")], &[("team", "web")]));
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, [&describe]),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_ROLLBACK), deadline())
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 1);
    assert!(!o.recognition.unwrap().router);
    assert!(o.alert.is_none());
}

#[tokio::test]
async fn when_no_topic_is_configured_then_alert_is_rendered_not_sent() {
    let describe = describe_stacks(stack(&[], &[("SSR-ROUTER", "true")]));
    let events = failed_create_events();
    let d = deps(
        &[],
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_ROLLBACK), deadline())
        .await
        .unwrap();
    let a = o.alert.unwrap();
    assert!(!a.sent && a.reason.contains("ALERT_TOPIC_ARN"));
    assert!(a.subject.unwrap().contains("Router (AWS::EC2::Instance)"));
}

// ---------------------------------------------------------------- completed stacks

#[tokio::test]
async fn when_unrelated_stack_completes_then_one_describe_and_no_ec2_call() {
    let describe = describe_stacks(stack(&[("Env", "prod")], &[]));
    let d = deps(
        &[("ROUTER_STACKS", "SSR_*")],
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, [&describe]),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_COMPLETE), deadline())
        .await
        .unwrap();
    assert_eq!(describe.num_calls(), 1);
    assert!(o.instances.is_empty());
    assert!(o.decision.contains("not a router stack"));
}

#[tokio::test]
async fn when_router_stack_matched_by_name_completes_then_no_describe_guard_and_onboarding_start() {
    let router = Router {
        lan_source_dest_check: true,
        ..Default::default()
    };
    let rules = Ec2Rules::new(&router);
    let mut all = rules.all();
    // DescribeInstances by the stack-id tag: the same instance rule answers it.
    all.push(&rules.describe_instances);
    let record = claim_won();
    // The fix written goes to the router's timeline (its own item, `timeline#…`).
    let timeline = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(|r| {
            r.item()
                .and_then(|i| i.get("pk"))
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with("timeline#"))
        })
        .then_output(|| PutItemOutput::builder().build());
    let d = deps(
        &[
            ("ROUTER_STACKS", "ssr-router-*"),
            ("STATE_TABLE", "ssr-state"),
        ],
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, all),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&timeline, &record]),
        // No CloudFormation rule: any CloudFormation call would panic.
        mock_client!(aws_sdk_cloudformation, []),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_COMPLETE), deadline())
        .await
        .unwrap();
    assert!(o
        .recognition
        .as_ref()
        .unwrap()
        .reason
        .contains("ROUTER_STACKS"));
    assert_eq!(o.instances.len(), 1);
    let i = &o.instances[0];
    assert_eq!(i.instance_id, "i-abcd1111");
    assert_eq!(i.onboarding_start_recorded, Some(true));
    assert_eq!(rules.modify_eni.num_calls(), 1);
    assert!(o.decision.contains("aws:cloudformation:stack-id tag"));
    assert_eq!(record.num_calls(), 1);
    assert_eq!(timeline.num_calls(), 1, "the LAN fix on the timeline");
}

#[tokio::test]
async fn when_no_instance_carries_the_stack_tag_then_stack_resources_are_used() {
    let rules = Ec2Rules::new(&Router::default());
    let by_tag = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|r| !r.filters().is_empty())
        .then_output(|| DescribeInstancesOutput::builder().build());
    let mut all = vec![&by_tag];
    all.extend(rules.all());
    let describe = describe_stacks(stack(&[], &[("SSR-ROUTER", "true")]));
    let resources = mock!(aws_sdk_cloudformation::Client::list_stack_resources).then_output(|| {
        aws_sdk_cloudformation::operation::list_stack_resources::ListStackResourcesOutput::builder()
            .stack_resource_summaries(
                aws_sdk_cloudformation::types::StackResourceSummary::builder()
                    .logical_resource_id("Router")
                    .physical_resource_id("i-abcd1111")
                    .resource_type("AWS::EC2::Instance")
                    .resource_status(ResourceStatus::CreateComplete)
                    .last_updated_timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    });
    let d = deps(
        &[],
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, all),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &resources]
        ),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_COMPLETE), deadline())
        .await
        .unwrap();
    assert_eq!(by_tag.num_calls(), 1);
    assert_eq!(resources.num_calls(), 1);
    assert_eq!(o.instances.len(), 1);
    assert!(o.decision.contains("ListStackResources"));
    // No STATE_TABLE: nothing recorded, nothing failed.
    assert_eq!(o.instances[0].onboarding_start_recorded, Some(false));
}

// ---------------------------------------------------------------- resource events

#[tokio::test]
async fn when_instance_resource_completes_then_guard_runs_on_it() {
    let rules = Ec2Rules::new(&Router::default());
    let d = deps(
        &[],
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all()),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, []),
    );
    let o = handle_event(&d, &sender(), json(FIX_RES_INSTANCE), deadline())
        .await
        .unwrap();
    let g = o.instances[0].guard.as_ref().unwrap();
    assert!(g.selected && g.findings.is_empty(), "{g:?}");
    assert!(g
        .trigger
        .contains("AWS::EC2::Instance Router CREATE_COMPLETE"));
}

#[tokio::test]
async fn when_instance_was_deleted_before_the_event_then_no_op() {
    let gone = mock!(aws_sdk_ec2::Client::describe_instances).then_error(|| {
        DescribeInstancesError::generic(
            Ec2ErrorMetadata::builder()
                .code("InvalidInstanceID.NotFound")
                .message("The instance ID 'i-abcd1111' does not exist")
                .build(),
        )
    });
    // The interfaces are read together with the instance (one round trip): none.
    let no_enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .then_output(|| DescribeNetworkInterfacesOutput::builder().build());
    let d = deps(
        &[],
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&gone, &no_enis]),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, []),
    );
    let o = handle_event(&d, &sender(), json(FIX_RES_INSTANCE), deadline())
        .await
        .unwrap();
    let g = o.instances[0].guard.as_ref().unwrap();
    assert!(!g.selected && g.reason.contains("does not exist"));
    assert_eq!(gone.num_calls(), 1, "no retry for a CloudFormation event");
}

#[tokio::test]
async fn when_attachment_resource_completes_then_its_instance_is_found_by_attachment_id() {
    let by_attachment = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| {
            r.filters().iter().any(|f| {
                f.name() == Some("attachment.attachment-id")
                    && f.values() == ["eni-attach-0f1e2d3c4b5a69788"]
            })
        })
        .then_output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(
                    NetworkInterface::builder()
                        .network_interface_id("eni-lan")
                        .attachment(
                            NetworkInterfaceAttachment::builder()
                                .attachment_id("eni-attach-0f1e2d3c4b5a69788")
                                .instance_id("i-abcd2222")
                                .device_index(1)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
    let gone = mock!(aws_sdk_ec2::Client::describe_instances)
        .match_requests(|r| r.instance_ids() == ["i-abcd2222"])
        .then_output(|| DescribeInstancesOutput::builder().build());
    // The instance's interfaces are read together with the instance (one round trip).
    let its_enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| {
            r.filters()
                .iter()
                .any(|f| f.name() == Some("attachment.instance-id"))
        })
        .then_output(|| DescribeNetworkInterfacesOutput::builder().build());
    let d = deps(
        &[],
        mock_client!(
            aws_sdk_ec2,
            RuleMode::MatchAny,
            [&by_attachment, &gone, &its_enis]
        ),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, []),
    );
    let mut v = json(FIX_RES_ENI);
    v["detail"]["resource-type"] = "AWS::EC2::NetworkInterfaceAttachment".into();
    v["detail"]["logical-resource-id"] = "LanAttachment".into();
    v["detail"]["physical-resource-id"] = "eni-attach-0f1e2d3c4b5a69788".into();
    let o = handle_event(&d, &sender(), v, deadline()).await.unwrap();
    assert_eq!(by_attachment.num_calls(), 1);
    assert_eq!(o.instances[0].instance_id, "i-abcd2222");
}

#[tokio::test]
async fn when_interface_is_not_attached_yet_then_no_op() {
    let eni = mock!(aws_sdk_ec2::Client::describe_network_interfaces).then_output(|| {
        DescribeNetworkInterfacesOutput::builder()
            .network_interfaces(
                NetworkInterface::builder()
                    .network_interface_id("eni-0a1b2c3d4e5f60718")
                    .build(),
            )
            .build()
    });
    let d = deps(
        &[],
        mock_client!(aws_sdk_ec2, [&eni]),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, []),
    );
    let o = handle_event(&d, &sender(), json(FIX_RES_ENI), deadline())
        .await
        .unwrap();
    assert!(o.instances.is_empty());
    assert!(o.decision.contains("not attached"));
}

#[tokio::test]
async fn when_resource_status_is_not_complete_then_ignored_without_calls() {
    let mut v = json(FIX_RES_INSTANCE);
    v["detail"]["status-details"]["status"] = "DELETE_COMPLETE".into();
    let o = handle_event(&no_aws(&[]), &sender(), v, deadline())
        .await
        .unwrap();
    assert!(o.decision.contains("not acted on"));
}

#[tokio::test]
async fn when_instance_event_has_no_instance_id_then_malformed() {
    let mut v = json(FIX_RES_INSTANCE);
    v["detail"]["physical-resource-id"] = "".into();
    let err = handle_event(&no_aws(&[]), &sender(), v, deadline())
        .await
        .unwrap_err();
    assert!(matches!(err, HandlerError::Event(EventError::Malformed(_))));
}

#[tokio::test]
async fn when_instance_event_physical_id_is_not_an_instance_id_then_malformed_without_calls() {
    for bad in ["i-", "i-xyz", "i-abcd11", "sg-0abc1234567890def"] {
        let mut v = json(FIX_RES_INSTANCE);
        v["detail"]["physical-resource-id"] = bad.into();
        let err = handle_event(&no_aws(&[]), &sender(), v, deadline())
            .await
            .unwrap_err();
        assert!(
            matches!(err, HandlerError::Event(EventError::Malformed(_))),
            "{bad}: {err:?}"
        );
    }
}

#[test]
fn when_outcome_serialises_then_kind_is_kebab_case() {
    let o = StackWatchOutcome::new(EventKind::StackStatusChange, None);
    let v = serde_json::to_value(&o).unwrap();
    assert_eq!(v["kind"], "stack-status-change");
}

// ---------------------------------------------------------------- one page per stack operation

/// A state table that remembers claims: PutItem records the pk, GetItem finds it.
fn state_table() -> (Rule, Rule) {
    let claims: Arc<Mutex<std::collections::HashSet<String>>> = Arc::default();
    let c = claims.clone();
    let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_output(move |req| {
        if let Some(AttributeValue::S(pk)) = req.item().and_then(|i| i.get("pk")) {
            c.lock().unwrap().insert(pk.clone());
        }
        PutItemOutput::builder().build()
    });
    let get = mock!(aws_sdk_dynamodb::Client::get_item).then_compute_output(move |req| {
        let held = match req.key().and_then(|k| k.get("pk")) {
            Some(AttributeValue::S(pk)) => claims.lock().unwrap().contains(pk),
            _ => false,
        };
        let b = GetItemOutput::builder();
        if held {
            b.item("expires_at", AttributeValue::N(i64::MAX.to_string()))
                .build()
        } else {
            b.build()
        }
    });
    (put, get)
}

fn with_status(fixture: &str, status: &str) -> serde_json::Value {
    let mut v = json(fixture);
    v["detail"]["status-details"]["status"] = status.into();
    v
}

#[tokio::test]
async fn when_rollback_in_progress_then_complete_then_one_page_and_a_failed_rollback_pages_again() {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    let describe = describe_stacks(stack(&[], &[("SSR-ROUTER", "true")]));
    let events = failed_create_events();
    let (put, get) = state_table();
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&get, &put, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    for status in [
        "ROLLBACK_IN_PROGRESS",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_COMPLETE",
    ] {
        handle_event(
            &d,
            &sender(),
            with_status(FIX_STACK_ROLLBACK, status),
            deadline(),
        )
        .await
        .unwrap();
    }
    assert_eq!(pub_rule.num_calls(), 1, "one page for the failed create");
    handle_event(
        &d,
        &sender(),
        with_status(FIX_STACK_ROLLBACK, "ROLLBACK_FAILED"),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(
        pub_rule.num_calls(),
        2,
        "the rollback itself failed: a follow-up"
    );
    handle_event(
        &d,
        &sender(),
        with_status(FIX_STACK_ROLLBACK, "ROLLBACK_FAILED"),
        deadline(),
    )
    .await
    .unwrap();
    assert_eq!(pub_rule.num_calls(), 2, "the follow-up pages once too");
}

#[test]
fn when_a_later_update_of_the_stack_fails_then_it_pages_as_its_own_operation() {
    let k1 = failure_claim_key(
        STACK_ID,
        chrono::DateTime::from_timestamp(1_636_666_200, 0),
        "ROLLBACK_COMPLETE",
    );
    let k2 = failure_claim_key(
        STACK_ID,
        chrono::DateTime::from_timestamp(1_636_666_200, 0),
        "ROLLBACK_IN_PROGRESS",
    );
    let k3 = failure_claim_key(
        STACK_ID,
        chrono::DateTime::from_timestamp(1_636_999_999, 0),
        "UPDATE_ROLLBACK_IN_PROGRESS",
    );
    let k4 = failure_claim_key(
        STACK_ID,
        chrono::DateTime::from_timestamp(1_636_999_999, 0),
        "UPDATE_ROLLBACK_FAILED",
    );
    assert_eq!(k1, k2);
    assert_ne!(k1, k3);
    assert_ne!(k3, k4);
    assert!(
        k1.starts_with(&format!("stack-alert#{STACK_ID}#2021-11-11T")),
        "{k1}"
    );
}

#[tokio::test]
async fn when_described_stack_is_delete_complete_then_no_op_without_events_or_page() {
    let mut s = stack(&[], &[("SSR-ROUTER", "true")]);
    s.stack_status = Some(StackStatus::DeleteComplete);
    let describe = describe_stacks(s);
    let d = deps(
        ALERT_VARS,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, [&describe]),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_ROLLBACK), deadline())
        .await
        .unwrap();
    assert!(o.decision.contains("deleted"), "{}", o.decision);
    assert!(o.alert.is_none());
    assert_eq!(describe.num_calls(), 1);
}

// ---------------------------------------------------------------- the hub's own events, twice

#[tokio::test]
async fn when_the_hub_accounts_stack_failure_arrives_on_the_default_bus_and_the_hub_bus_then_the_second_delivery_writes_nothing_and_pages_nobody(
) {
    // A delegated-administrator hub whose own account is also covered by the member StackSet:
    // the same CloudFormation event (same id, account = the hub's) reaches stack-watch from the
    // default bus and again from the hub bus.
    let vars: Vec<(&str, &str)> = ALERT_VARS
        .iter()
        .copied()
        .chain([("HUB_ACCOUNT_ID", "123456789012")])
        .collect();
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    let describe = describe_stacks(stack(&[], &[("SSR-ROUTER", "true")]));
    let events = failed_create_events();
    let (put, get) = state_table();
    let d = deps(
        &vars,
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&get, &put, &updated()]
        ),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&describe, &events]
        ),
    );
    let event = json(FIX_STACK_ROLLBACK);
    assert_eq!(event["account"], "123456789012", "the hub's own account");

    let first = handle_event(&d, &sender(), event.clone(), deadline())
        .await
        .unwrap();
    assert!(first.alert.as_ref().is_some_and(|a| a.sent), "{first:?}");
    let (writes, pages) = (put.num_calls(), pub_rule.num_calls());
    assert_eq!(pages, 1);

    let second = handle_event(&d, &sender(), event, deadline())
        .await
        .unwrap();
    let alert = second.alert.unwrap();
    assert!(
        !alert.sent && alert.reason.contains("already alerted"),
        "{alert:?}"
    );
    assert_eq!(
        put.num_calls(),
        writes,
        "the second delivery writes nothing"
    );
    assert_eq!(pub_rule.num_calls(), 1, "and pages nobody");
}

#[tokio::test]
async fn when_a_paged_router_stack_later_completes_then_one_resolve_with_the_stack_incident_key() {
    let router = Router {
        lan_source_dest_check: true,
        ..Default::default()
    };
    let rules = Ec2Rules::new(&router);
    let mut all = rules.all();
    all.push(&rules.describe_instances);
    let captured = Arc::new(Mutex::new(Vec::new()));
    let pub_rule = publish(captured.clone());
    // The stack's failure was paged: its incident is open.
    let incident = mock!(aws_sdk_dynamodb::Client::get_item)
        .match_requests(|r| {
            r.key()
                .and_then(|k| k.get("pk"))
                .and_then(|v| v.as_s().ok())
                .is_some_and(|pk| pk.starts_with("incident#ssr-onboard/stack/"))
        })
        .then_output(|| {
            GetItemOutput::builder()
                .item("opened_at", AttributeValue::N("1700000000".into()))
                .build()
        });
    let nothing = no_claim_yet();
    let writes = claim_won();
    let confirm = updated();
    let closed = mock!(aws_sdk_dynamodb::Client::delete_item).then_output(|| {
        aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput::builder().build()
    });
    let mut vars = ALERT_VARS.to_vec();
    vars.push(("ROUTER_STACKS", "ssr-router-*"));
    let d = deps(
        &vars,
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, all),
        mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&pub_rule]),
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&incident, &nothing, &writes, &confirm, &closed]
        ),
        mock_client!(aws_sdk_cloudformation, []),
    );
    let o = handle_event(&d, &sender(), json(FIX_STACK_COMPLETE), deadline())
        .await
        .unwrap();
    let resolve = o.alert.expect("the resolve");
    assert!(resolve.sent, "{resolve:?}");
    assert_eq!(resolve.action, Some("resolve"));
    let sent = captured.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "{sent:?}");
    let (subject, _, attributes) = &sent[0];
    assert!(subject.starts_with("Resolved: router stack"), "{subject}");
    assert!(attributes.contains("ssr-onboard/stack/"), "{attributes}");
    assert!(attributes.contains("resolve"), "{attributes}");
    assert_eq!(
        closed.num_calls(),
        1,
        "the incident is forgotten once resolved"
    );
}
