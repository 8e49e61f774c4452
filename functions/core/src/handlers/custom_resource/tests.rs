//! Custom resource contract: wiremock stands in for the presigned `ResponseURL`, aws-smithy-mocks
//! for EC2. Every test reads the body CloudFormation would receive.

use std::time::{Instant, SystemTime};

use super::*;
use crate::handlers::test_support::{deps, Ec2Rules, Router, INSTANCE_ID, REG_CODE};
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{Stack, StackStatus};
use aws_smithy_mocks::{mock_client, Rule, RuleMode};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const CREATE: &str = include_str!("../../../../../tests/fixtures/cfn-custom-resource-create.json");
const UPDATE: &str = include_str!("../../../../../tests/fixtures/cfn-custom-resource-update.json");
const DELETE: &str = include_str!("../../../../../tests/fixtures/cfn-custom-resource-delete.json");
const MALFORMED: &str =
    include_str!("../../../../../tests/fixtures/cfn-custom-resource-create-malformed.json");

/// The fixture with its ResponseURL pointed at the mock server and `props` merged in.
fn request(fixture: &str, server: &MockServer, props: &[(&str, Value)]) -> Value {
    let mut v: Value = serde_json::from_str(fixture).unwrap();
    v["ResponseURL"] = Value::String(format!(
        "{}/cfn-response/RouterGuard?X-Amz-Signature=abc",
        server.uri()
    ));
    for (k, val) in props {
        v["ResourceProperties"][*k] = val.clone();
    }
    v
}

async fn server() -> MockServer {
    let s = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/cfn-response/RouterGuard"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&s)
        .await;
    s
}

async fn only_put(server: &MockServer) -> (Value, Request) {
    let reqs = server.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 1, "exactly one response PUT");
    let r = reqs.into_iter().next().unwrap();
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert!(r.body.len() <= MAX_RESPONSE_BYTES);
    (body, r)
}

fn sender() -> ResponseSender {
    ResponseSender::with_client(reqwest::Client::new(), 3, Duration::from_millis(10))
}

fn in_minutes(m: u64) -> SystemTime {
    SystemTime::now() + Duration::from_secs(60 * m)
}

fn ec2_deps(router: &Router) -> (Deps, Ec2Rules) {
    ec2_deps_with_stack(router, &stack_in(StackStatus::UpdateInProgress))
}

/// The guard's EC2 rules and CloudFormation's answer to DescribeStacks (Update requests read
/// the stack's status first).
fn ec2_deps_with_stack(router: &Router, describe_stacks: &Rule) -> (Deps, Ec2Rules) {
    let rules = Ec2Rules::new(router);
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
    let d = deps(
        &[],
        ec2,
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [describe_stacks]
        ),
    );
    (d, rules)
}

/// DescribeStacks answering the request's stack in `status`.
fn stack_in(status: StackStatus) -> Rule {
    aws_smithy_mocks::mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(
        move || {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_id(CR_STACK_ID)
                        .stack_name("ssr-router-1")
                        .stack_status(status.clone())
                        .creation_time(aws_smithy_types::DateTime::from_secs(1_636_666_200))
                        .build(),
                )
                .build()
        },
    )
}

const CR_STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/ssr-router-1/5e2b7a40-a6c1-11ef-9d3c-0affd3a1b2c5";

fn no_aws_deps() -> Deps {
    deps(
        &[],
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, []),
    )
}

#[tokio::test]
async fn when_create_on_a_good_router_then_success_with_counts_and_stable_physical_id() {
    let s = server().await;
    let (d, _rules) = ec2_deps(&Router::default());
    let out = handle_request(&d, &sender(), request(CREATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, req) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(
        body["PhysicalResourceId"],
        format!("ssr-guard-{INSTANCE_ID}")
    );
    assert_eq!(
        body["StackId"],
        "arn:aws:cloudformation:us-east-1:123456789012:stack/ssr-router-1/5e2b7a40-a6c1-11ef-9d3c-0affd3a1b2c5"
    );
    assert_eq!(body["RequestId"], "3c6b2a9e-0f4d-4b1a-8e27-5d9c3f1a6b80");
    assert_eq!(body["LogicalResourceId"], "RouterGuard");
    assert_eq!(body["Data"]["Findings"], "0");
    assert_eq!(body["Data"]["Fixed"], "0");
    assert_eq!(body["Data"]["Remaining"], "0");
    assert!(body["Reason"]
        .as_str()
        .unwrap()
        .contains("checked router i-abcd1111"));
    // Presigned URLs are signed without a Content-Type: the header must be there and empty.
    assert_eq!(
        req.headers.get("content-type").map(|v| v.as_bytes()),
        Some(&b""[..])
    );
    assert!(out.response_sent);
    assert_eq!(out.status.as_str(), "SUCCESS");
}

#[tokio::test]
async fn when_create_fixes_source_dest_check_then_success_reports_it_fixed() {
    let s = server().await;
    let router = Router {
        lan_source_dest_check: true,
        ..Default::default()
    };
    let (d, rules) = ec2_deps(&router);
    handle_request(&d, &sender(), request(CREATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["Data"]["Fixed"], "1");
    assert_eq!(body["Data"]["Remaining"], "0");
    assert_eq!(rules.modify_eni.num_calls(), 1);
}

#[tokio::test]
async fn when_fail_on_findings_and_findings_remain_then_failed_with_codes_and_no_secret() {
    let s = server().await;
    let router = Router {
        lan_role_tag: false,
        ..Default::default()
    };
    let (d, _rules) = ec2_deps(&router);
    let out = handle_request(
        &d,
        &sender(),
        request(
            CREATE,
            &s,
            &[("FailOnFindings", Value::String("true".into()))],
        ),
        in_minutes(5),
    )
    .await
    .unwrap();
    let (body, req) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(reason.contains("ENI_ROLE_TAG_MISSING"), "{reason}");
    assert!(reason.contains("FailOnFindings is true"), "{reason}");
    assert_ne!(body["Data"]["Remaining"], "0");
    assert!(body["Data"]["RemainingCodes"]
        .as_str()
        .unwrap()
        .contains("ENI_ROLE_TAG_MISSING"));
    // The user data holds the registration code; nothing CloudFormation or the CLI sees does.
    assert!(!String::from_utf8_lossy(&req.body).contains(REG_CODE));
    assert!(!serde_json::to_string(&out).unwrap().contains(REG_CODE));
}

#[tokio::test]
async fn when_findings_remain_without_fail_on_findings_then_success_still_lists_them() {
    let s = server().await;
    let router = Router {
        lan_role_tag: false,
        ..Default::default()
    };
    let (d, _rules) = ec2_deps(&router);
    handle_request(
        &d,
        &sender(),
        request(CREATE, &s, &[("FailOnFindings", Value::Bool(false))]),
        in_minutes(5),
    )
    .await
    .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS");
    assert!(body["Reason"]
        .as_str()
        .unwrap()
        .contains("ENI_ROLE_TAG_MISSING"));
}

#[tokio::test]
async fn when_delete_then_success_at_once_without_aws_calls() {
    let s = server().await;
    // Mock clients with no rules panic on any call: SUCCESS proves no AWS call was made.
    let out = handle_request(
        &no_aws_deps(),
        &sender(),
        request(DELETE, &s, &[]),
        in_minutes(5),
    )
    .await
    .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(
        body["PhysicalResourceId"],
        "ssr-router-guard-RouterGuard-5e2b7a40"
    );
    assert_eq!(out.request_type, "Delete");
}

#[tokio::test]
async fn when_instance_id_missing_then_failed_with_a_clear_reason() {
    let s = server().await;
    handle_request(
        &no_aws_deps(),
        &sender(),
        request(MALFORMED, &s, &[]),
        in_minutes(5),
    )
    .await
    .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    assert!(body["Reason"]
        .as_str()
        .unwrap()
        .contains("property InstanceId is required"));
    assert_eq!(body["PhysicalResourceId"], "ssr-guard-RouterGuard");
}

#[tokio::test]
async fn when_fail_on_findings_is_not_a_boolean_then_failed_naming_the_property() {
    let s = server().await;
    handle_request(
        &no_aws_deps(),
        &sender(),
        request(
            CREATE,
            &s,
            &[("FailOnFindings", Value::String("maybe".into()))],
        ),
        in_minutes(5),
    )
    .await
    .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    assert!(body["Reason"].as_str().unwrap().contains("FailOnFindings"));
}

#[tokio::test]
async fn when_aws_fails_mid_way_then_failed_with_the_aws_error() {
    let s = server().await;
    let router = Router {
        volumes_denied: true,
        ..Default::default()
    };
    let (d, _rules) = ec2_deps(&router);
    handle_request(&d, &sender(), request(CREATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    let reason = body["Reason"].as_str().unwrap();
    assert!(reason.contains("AuthFailure"), "{reason}");
    assert_eq!(
        body["PhysicalResourceId"],
        format!("ssr-guard-{INSTANCE_ID}")
    );
}

#[tokio::test]
async fn when_the_check_panics_then_failed_is_still_sent() {
    let s = server().await;
    // No DescribeRouteTables rule: the mock client panics inside the guard task.
    let router = Router {
        no_route_rule: true,
        ..Default::default()
    };
    let (d, _rules) = ec2_deps(&router);
    handle_request(&d, &sender(), request(CREATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    assert!(body["Reason"].as_str().unwrap().contains("internal error"));
}

#[tokio::test]
async fn when_no_time_is_left_before_the_deadline_then_failed_timed_out() {
    let s = server().await;
    // Less than the margin left: the check does not start, CloudFormation still gets an answer.
    let deadline = SystemTime::now() + DEADLINE_MARGIN - Duration::from_millis(100);
    handle_request(
        &no_aws_deps(),
        &sender(),
        request(CREATE, &s, &[]),
        deadline,
    )
    .await
    .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    assert!(body["Reason"].as_str().unwrap().contains("timed out"));
}

#[tokio::test]
async fn when_update_keeps_the_instance_then_physical_id_is_kept_else_replaced() {
    let s = server().await;
    let (d, _rules) = ec2_deps(&Router::default());
    // The fixture's Update replaces the router (old i-abcd0000, new i-abcd1111).
    handle_request(&d, &sender(), request(UPDATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS");
    assert_eq!(body["PhysicalResourceId"], "ssr-guard-i-abcd1111");

    let s2 = server().await;
    let mut same = request(UPDATE, &s2, &[]);
    same["OldResourceProperties"]["InstanceId"] = Value::String(INSTANCE_ID.into());
    handle_request(&d, &sender(), same, in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s2).await;
    assert_eq!(
        body["PhysicalResourceId"],
        "ssr-router-guard-RouterGuard-5e2b7a40"
    );
}

#[tokio::test]
async fn when_the_put_meets_a_5xx_then_it_is_retried() {
    let s = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&s)
        .await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&s)
        .await;
    let out = handle_request(
        &no_aws_deps(),
        &sender(),
        request(DELETE, &s, &[]),
        in_minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(out.put_attempts, 2);
    assert_eq!(s.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn when_the_put_is_refused_then_the_invocation_fails_without_leaking_the_url() {
    let s = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&s)
        .await;
    let err = handle_request(
        &no_aws_deps(),
        &sender(),
        request(DELETE, &s, &[]),
        in_minutes(5),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("HTTP 403"), "{err}");
    assert!(!err.contains("X-Amz-Signature"), "{err}");
    // 4xx is final: no retry.
    assert_eq!(s.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn when_request_has_no_response_url_then_typed_malformed_error() {
    let mut v: Value = serde_json::from_str(CREATE).unwrap();
    v.as_object_mut().unwrap().remove("ResponseURL");
    let err = handle_request(&no_aws_deps(), &sender(), v, in_minutes(5))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        HandlerError::Event(EventError::Malformed(ref m)) if m.contains("ResponseURL")
    ));
}

#[tokio::test]
async fn when_request_is_unparseable_but_has_a_response_url_then_failed_is_sent() {
    let s = server().await;
    let mut v = request(CREATE, &s, &[]);
    v.as_object_mut().unwrap().remove("RequestId");
    handle_request(&no_aws_deps(), &sender(), v, in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "FAILED");
    assert!(body["Reason"].as_str().unwrap().contains("RequestId"));
}

#[test]
fn when_reason_is_huge_then_body_is_cut_to_4096_bytes() {
    let reason = "é".repeat(5000);
    let data = BTreeMap::from([("Findings".to_string(), "1".to_string())]);
    let body = response_body(
        false,
        &reason,
        "ssr-guard-i-1",
        "stack",
        "req",
        "Guard",
        &data,
    );
    assert!(body.len() <= MAX_RESPONSE_BYTES, "{}", body.len());
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(v["Reason"].as_str().unwrap().ends_with("..."));
    assert_eq!(v["Data"]["Findings"], "1");
}

#[test]
fn when_properties_come_as_strings_or_booleans_then_both_are_accepted() {
    let p = |v: Value| parse_properties(&v);
    assert_eq!(
        p(serde_json::json!({"InstanceId": "i-abcd1111", "FailOnFindings": "True"})),
        Ok(GuardProperties {
            instance_id: "i-abcd1111".into(),
            fail_on_findings: true
        })
    );
    assert!(
        !p(serde_json::json!({"InstanceId": "i-0123456789abcdef0", "FailOnFindings": false}))
            .unwrap()
            .fail_on_findings
    );
    assert!(
        !p(serde_json::json!({"InstanceId": "i-abcd1111"}))
            .unwrap()
            .fail_on_findings
    );
    assert!(p(serde_json::json!({"InstanceId": "sg-123"})).is_err());
    assert!(p(serde_json::json!({"InstanceId": 5})).is_err());
    assert!(p(serde_json::json!({"InstanceId": "i-abcd1111", "FailOnFindings": 1})).is_err());
}

#[tokio::test]
async fn when_response_url_is_not_an_absolute_http_url_then_malformed_at_once_without_a_put() {
    let s = server().await;
    for bad in [
        "not a url",
        "/cfn-response/RouterGuard",
        "ftp://example.com/x",
        "file:///etc/passwd",
        "https://",
    ] {
        let mut v = request(CREATE, &s, &[]);
        v["ResponseURL"] = Value::String(bad.into());
        let started = Instant::now();
        let err = handle_request(&no_aws_deps(), &sender(), v, in_minutes(5))
            .await
            .expect_err(bad);
        assert!(started.elapsed() < Duration::from_secs(1), "{bad}");
        assert!(
            matches!(err, HandlerError::Event(EventError::Malformed(_))),
            "{bad}: {err:?}"
        );
    }
    assert!(s.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn when_instance_id_is_upper_case_or_16_hex_digits_then_failed_without_aws_calls() {
    let s = server().await;
    for bad in ["i-0123456789ABCDEF0", "i-0123456789abcdef"] {
        handle_request(
            &no_aws_deps(),
            &sender(),
            request(CREATE, &s, &[("InstanceId", Value::String(bad.into()))]),
            in_minutes(5),
        )
        .await
        .unwrap();
    }
    let reqs = s.received_requests().await.unwrap();
    assert_eq!(reqs.len(), 2);
    for r in reqs {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body["Status"], "FAILED");
        assert!(body["Reason"].as_str().unwrap().contains("lower-case hex"));
    }
}

#[tokio::test]
async fn when_update_arrives_while_the_stack_rolls_back_then_success_without_a_check() {
    let s = server().await;
    let describe = stack_in(StackStatus::UpdateRollbackInProgress);
    let d = deps(
        &[],
        // No EC2 rule: any EC2 call would panic.
        mock_client!(aws_sdk_ec2, []),
        mock_client!(aws_sdk_sns, []),
        mock_client!(aws_sdk_dynamodb, []),
        mock_client!(aws_sdk_cloudformation, [&describe]),
    );
    let out = handle_request(&d, &sender(), request(UPDATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS");
    assert!(body["Reason"]
        .as_str()
        .unwrap()
        .contains("UPDATE_ROLLBACK_IN_PROGRESS"));
    assert_eq!(
        body["PhysicalResourceId"], "ssr-router-guard-RouterGuard-5e2b7a40",
        "the request's physical id is kept"
    );
    assert!(out.guard.is_none());
    assert_eq!(
        describe.num_calls(),
        1,
        "one DescribeStacks for the StackId"
    );
}

/// CloudFormation's (Query protocol) error document.
fn cfn_error(code: &str, message: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>11111111-2222-3333-4444-555555555555</RequestId></ErrorResponse>"
    )
}

#[tokio::test]
async fn when_describe_stacks_throttles_past_the_sdk_retries_then_retried_and_the_update_checked() {
    let s = server().await;
    // The SDK makes 3 attempts per call; 4 throttled answers need one retry of ours.
    let describe = aws_smithy_mocks::mock!(aws_sdk_cloudformation::Client::describe_stacks)
        .sequence()
        .http_status(400, Some(cfn_error("Throttling", "Rate exceeded")))
        .times(4)
        .output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_id(CR_STACK_ID)
                        .stack_name("ssr-router-1")
                        .stack_status(StackStatus::UpdateInProgress)
                        .build(),
                )
                .build()
        })
        .build();
    let (d, rules) = ec2_deps_with_stack(&Router::default(), &describe);
    handle_request(&d, &sender(), request(UPDATE, &s, &[]), in_minutes(5))
        .await
        .unwrap();
    let (body, _) = only_put(&s).await;
    assert_eq!(body["Status"], "SUCCESS", "{body}");
    assert_eq!(describe.num_calls(), 5);
    assert_eq!(
        rules.describe_instances.num_calls(),
        1,
        "the router was checked"
    );
}

#[tokio::test]
async fn when_ssr_onboard_is_disabled_then_create_and_update_succeed_at_once_without_aws_calls() {
    for fixture in [CREATE, UPDATE] {
        let s = server().await;
        // No EC2 or CloudFormation answer is mocked: any call would fail the check.
        let d = deps(
            &[("ENABLED", "false")],
            mock_client!(aws_sdk_ec2, []),
            mock_client!(aws_sdk_sns, []),
            mock_client!(aws_sdk_dynamodb, []),
            mock_client!(aws_sdk_cloudformation, []),
        );
        let out = handle_request(&d, &sender(), request(fixture, &s, &[]), in_minutes(5))
            .await
            .unwrap();
        let (body, _) = only_put(&s).await;
        assert_eq!(body["Status"], "SUCCESS", "{body}");
        assert!(
            body["Reason"]
                .as_str()
                .unwrap_or_default()
                .starts_with("disabled:"),
            "{body}"
        );
        assert!(out.guard.is_none(), "nothing checked");
    }
}
