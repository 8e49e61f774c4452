//! Contract tests of the guard against real AWS behaviour the emulator gets wrong or cannot
//! produce, replayed with `aws-smithy-mocks`: an instance EC2 does not know, throttling, a fix
//! that fails on one ENI of two, ENA fixed on a stopped router and verified by read-back.

use crate::call_check;
use crate::log_capture;

use std::collections::HashMap;

use aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::types::{AttributeBooleanValue, Instance, InstanceStateName, Reservation};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use base64::Engine as _;
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::guard::{self, GuardOutcome};
use ssr_core::handlers::HandlerError;
use ssr_core::metrics::Function;
use ssr_core::onboarding_config::guide_user_data;
use ssr_core::plan::ActionStatus;
use ssr_core::Config;
use ssr_testkit::errors;
use ssr_testkit::fixtures::ec2_state_change;
use ssr_testkit::{MockRouter, MockUserData, RouterRules};

const ID: &str = "i-0abc1234567890def";
const REG_CODE: &str = "REG-CODE-do-not-leak-7f3a9c";

fn event(state: &str) -> serde_json::Value {
    ec2_state_change(ID, state)
}

fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_vars(ssr_testkit::vars(pairs)).expect("valid config")
}

/// A router as real AWS describes it: two ENIs, tagged, 128 GB, c5.xlarge.
#[derive(Clone)]
struct Router {
    state: InstanceStateName,
    ena: Option<bool>,
    src_dst: [bool; 2],
}

impl Router {
    /// The testkit's guide router in this state, onboarding with [`REG_CODE`];
    /// ModifyNetworkInterfaceAttribute on `fail_eni` answers UnauthorizedOperation.
    fn mock(&self, fail_eni: Option<&str>) -> MockRouter {
        let mut r = MockRouter::guide(ID, "SSR_1_Router");
        r.state = self.state.clone();
        r.ena_support = self.ena;
        r.root_device = Some("/dev/xvda".into());
        r.interfaces[0].source_dest_check = Some(self.src_dst[0]);
        r.interfaces[1].source_dest_check = Some(self.src_dst[1]);
        r.user_data = MockUserData::Text(guide_user_data("SSR_1_Router", "6.3.0", REG_CODE));
        r.modify_denied_eni = fail_eni.map(str::to_string);
        r
    }

    fn instance(&self) -> Instance {
        self.mock(None).instance()
    }
}

/// A small EC2 fake over mock rules: ModifyNetworkInterfaceAttribute changes what
/// DescribeNetworkInterfaces returns, so read-backs see the write.
fn fake_ec2(router: Router, fail_eni: Option<&'static str>) -> RouterRules {
    router.mock(fail_eni).rules()
}

fn deps(ec2: aws_sdk_ec2::Client, sns_rules: &[&Rule], cfg: Config) -> Deps {
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns_rules.iter().copied());
    let clients = Clients {
        ec2,
        sns,
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, Vec::<&Rule>::new()),
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
        secrets: mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
    };
    let clients = call_check::checked(Function::InstanceGuard, clients);
    Deps::new(cfg, clients, Some("us-east-1".into()))
}

fn fast_retry() -> Vec<(&'static str, &'static str)> {
    vec![
        ("DESCRIBE_RETRY_BASE_MS", "1"),
        ("DESCRIBE_RETRY_ATTEMPTS", "3"),
    ]
}

#[tokio::test]
async fn when_instance_not_found_after_retries_then_no_op_success() {
    let nf = errors::instance_not_found(ID);
    let not_found = mock!(aws_sdk_ec2::Client::describe_instances)
        .sequence()
        .http_status(nf.status, Some(nf.ec2_body()))
        .repeatedly()
        .build();
    // The interfaces are read together with the instance (one round trip): none yet.
    let no_enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .then_output(|| DescribeNetworkInterfacesOutput::builder().build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&not_found, &no_enis]);
    let d = deps(ec2, &[], config(&fast_retry()));
    let o = guard::handle_event(&d, event("pending"), ssr_core::Deadline::NONE)
        .await
        .expect("no-op is success");
    assert!(!o.selected);
    assert!(o.reason.contains("does not exist"), "{}", o.reason);
    assert_eq!(
        not_found.num_calls(),
        3,
        "pending: describe retried DESCRIBE_RETRY_ATTEMPTS times"
    );
}

#[tokio::test]
async fn when_instance_appears_on_second_describe_then_it_is_guarded() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Pending,
            ena: Some(true),
            src_dst: [false, false],
        },
        None,
    );
    let nf = errors::instance_not_found(ID);
    let first_missing = mock!(aws_sdk_ec2::Client::describe_instances)
        .sequence()
        .http_status(nf.status, Some(nf.ec2_body()))
        .build();
    // MatchAny: the first non-exhausted matching rule answers, so the second describe reaches
    // the fake.
    let ec2 = mock_client!(
        aws_sdk_ec2,
        RuleMode::MatchAny,
        fake.after(&[&first_missing])
    );
    let d = deps(ec2, &[], config(&fast_retry()));
    let o = guard::handle_event(&d, event("pending"), ssr_core::Deadline::NONE)
        .await
        .expect("guarded");
    assert!(o.selected, "{o:?}");
    assert!(o.findings.is_empty(), "{:?}", o.findings);
}

#[tokio::test]
async fn when_ec2_throttles_then_sdk_retries_and_guard_succeeds() {
    let router = Router {
        state: InstanceStateName::Running,
        ena: Some(true),
        src_dst: [true, false],
    };
    let fake = fake_ec2(router.clone(), None);
    // One operation, three HTTP attempts: two RequestLimitExceeded (503), then the answer.
    let throttle = errors::request_limit_exceeded();
    let throttled = mock!(aws_sdk_ec2::Client::describe_instances)
        .sequence()
        .http_status(throttle.status, Some(throttle.ec2_body()))
        .times(2)
        .output(move || {
            DescribeInstancesOutput::builder()
                .reservations(Reservation::builder().instances(router.instance()).build())
                .build()
        })
        .build();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.after(&[&throttled]));
    let d = deps(ec2, &[], config(&[]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("throttling is retried");
    assert_eq!(throttled.num_calls(), 3);
    assert_eq!(o.actions.len(), 1);
    assert_eq!(o.actions[0].status, ActionStatus::Applied);
    assert!(o.findings.iter().all(|f| f.fixed), "{:?}", o.findings);
}

#[tokio::test]
async fn when_both_enis_have_src_dst_check_then_one_call_per_eni_never_instance_level() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(true),
            src_dst: [true, true],
        },
        None,
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("fixed");
    assert_eq!(fake.modify_interface.num_calls(), 2);
    assert_eq!(
        fake.modify_instance.num_calls(),
        0,
        "ModifyInstanceAttribute must not be used for source/dest check"
    );
    assert!(o.actions.iter().all(|a| a.status == ActionStatus::Applied));
    assert!(o.findings.iter().all(|f| f.fixed));
}

#[tokio::test]
async fn when_eni_modify_fails_for_one_of_two_then_partial_failure_reported_and_event_fails() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(true),
            src_dst: [true, true],
        },
        Some("eni-lan"),
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let publish = mock!(aws_sdk_sns::Client::publish)
        .then_output(|| PublishOutput::builder().message_id("m-1").build());
    let d = deps(
        ec2,
        &[&publish],
        config(&[("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ssr")]),
    );
    let err = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect_err("event must fail so it is retried");
    let HandlerError::FixesFailed {
        failed,
        total,
        outcome,
        ..
    } = err
    else {
        panic!("wrong error")
    };
    assert_eq!((failed, total), (1, 2));
    let by_eni: HashMap<&str, ActionStatus> = outcome
        .actions
        .iter()
        .map(|a| (a.action.resource(), a.status))
        .collect();
    assert_eq!(by_eni["eni-wan"], ActionStatus::Applied);
    assert_eq!(by_eni["eni-lan"], ActionStatus::Failed);
    assert!(outcome.actions.iter().any(|a| a
        .error
        .as_deref()
        .is_some_and(|e| e.contains("UnauthorizedOperation"))));
    assert!(
        outcome.alert.sent,
        "the remaining finding is alerted before the event fails"
    );
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn when_stopped_router_has_ena_off_and_fix_enabled_then_ena_set_and_verified() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Stopped,
            ena: None,
            src_dst: [false, false],
        },
        None,
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[("ENA_FIX_WHEN_STOPPED", "true")]));
    let o: GuardOutcome = guard::handle_event(&d, event("stopped"), ssr_core::Deadline::NONE)
        .await
        .expect("fixed");
    assert_eq!(o.actions.len(), 1, "{:?}", o.actions);
    assert_eq!(
        o.actions[0].status,
        ActionStatus::Applied,
        "read-back saw EnaSupport=true"
    );
    assert!(o
        .findings
        .iter()
        .any(|f| f.code.as_str() == "ENA_DISABLED" && f.fixed));
    assert_eq!(
        fake.modify_instance.num_calls(),
        1,
        "one ModifyInstanceAttribute"
    );
}

#[tokio::test]
async fn when_running_router_has_ena_off_then_no_write_and_finding_has_exact_command() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(false),
            src_dst: [false, false],
        },
        None,
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[("ENA_FIX_WHEN_STOPPED", "true")]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("checked");
    assert!(o.actions.is_empty());
    assert_eq!(
        fake.modify_instance.num_calls(),
        0,
        "a running router is never modified for ENA"
    );
    let f = o
        .findings
        .iter()
        .find(|f| f.code.as_str() == "ENA_DISABLED")
        .expect("finding");
    assert!(f.remediation.contains(&format!(
        "aws ec2 modify-instance-attribute --instance-id {ID} --ena-support"
    )));
}

#[tokio::test]
async fn when_ena_write_is_not_visible_on_read_back_then_action_unverified_and_event_fails() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Stopped,
            ena: None,
            src_dst: [false, false],
        },
        None,
    );
    // EC2 accepts the write but the attribute still reads false (what moto does, and what a
    // concurrent revert would look like).
    let stale = mock!(aws_sdk_ec2::Client::describe_instance_attribute)
        .match_requests(|r| {
            r.attribute() == Some(&aws_sdk_ec2::types::InstanceAttributeName::EnaSupport)
        })
        .then_output(|| {
            DescribeInstanceAttributeOutput::builder()
                .ena_support(AttributeBooleanValue::builder().value(false).build())
                .build()
        });
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.after(&[&stale]));
    let d = deps(ec2, &[], config(&[("ENA_FIX_WHEN_STOPPED", "true")]));
    let err = guard::handle_event(&d, event("stopped"), ssr_core::Deadline::NONE)
        .await
        .expect_err("unverified fix fails the event");
    let HandlerError::FixesFailed { outcome, .. } = err else {
        panic!("wrong error")
    };
    assert_eq!(outcome.actions[0].status, ActionStatus::Unverified);
    assert!(!outcome.findings.iter().any(|f| f.fixed));
}

#[tokio::test]
async fn when_dry_run_then_plan_shown_and_no_ec2_write() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(true),
            src_dst: [true, true],
        },
        None,
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[("DRY_RUN", "true")]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("planned");
    assert!(o.dry_run);
    assert_eq!(fake.modify_interface.num_calls(), 0);
    assert_eq!(o.actions.len(), 2);
    assert!(o.actions.iter().all(|a| a.status == ActionStatus::Planned));
}

#[tokio::test]
async fn when_router_checked_then_registration_code_is_nowhere_in_the_result() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(false),
            src_dst: [true, true],
        },
        Some("eni-wan"),
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[]));
    let err = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect_err("one fix fails");
    let HandlerError::FixesFailed { outcome, .. } = &err else {
        panic!("wrong error")
    };
    let dump = format!(
        "{}{err}{err:?}",
        serde_json::to_string(outcome).expect("json")
    );
    assert!(!dump.contains(REG_CODE));
}

#[tokio::test]
async fn when_event_is_malformed_then_typed_error_not_panic() {
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, Vec::<&Rule>::new());
    let d = deps(ec2, &[], config(&[]));
    for bad in [
        serde_json::json!({}),
        serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {"state": "running"}}),
        serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {"instance-id": ID, "state": "running"}}),
        serde_json::json!({"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {"instance-id": "vol-1", "state": "running"}}),
        serde_json::json!([1, 2, 3]),
    ] {
        let err = guard::handle_event(&d, bad.clone(), ssr_core::Deadline::NONE)
            .await
            .expect_err("malformed");
        assert!(matches!(err, HandlerError::Event(_)), "{bad}: {err}");
        // A malformed event, not AWS trouble: the CLI's usage error.
        assert!(
            matches!(
                err,
                HandlerError::Event(ssr_core::handlers::EventError::Malformed(_))
            ),
            "{bad}: {err}"
        );
    }
}

#[tokio::test]
async fn when_instance_terminated_then_no_aws_call_at_all() {
    let describe = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| DescribeInstancesOutput::builder().build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&describe]);
    let d = deps(ec2, &[], config(&[]));
    for state in ["shutting-down", "terminated"] {
        let o = guard::handle_event(&d, event(state), ssr_core::Deadline::NONE)
            .await
            .expect("no-op");
        assert!(o.findings.is_empty() && o.actions.is_empty());
    }
    assert_eq!(describe.num_calls(), 0);
}

#[tokio::test]
async fn when_router_checked_then_json_logs_have_decision_fields_and_no_registration_code() {
    let (logs, _guard) = log_capture::capture();

    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(false),
            src_dst: [true, true],
        },
        Some("eni-lan"),
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[]));
    let _ = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE).await;

    assert!(
        !logs.text().contains(REG_CODE),
        "registration code leaked into logs"
    );
    let decision = logs
        .json_lines()
        .into_iter()
        .find(|v| v["decision"] == "checked")
        .expect("one structured decision line");
    assert_eq!(decision["instance_id"], ID);
    assert!(
        decision["finding_codes"]
            .as_str()
            .is_some_and(|c| c.contains("ENA_DISABLED")),
        "{decision}"
    );
}

#[tokio::test]
async fn when_iam_denies_user_data_read_then_unchecked_finding_not_a_failed_event() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(true),
            src_dst: [false, false],
        },
        None,
    );
    let unauthorized = errors::unauthorized_operation();
    let denied = mock!(aws_sdk_ec2::Client::describe_instance_attribute)
        .match_requests(|r| {
            r.attribute() == Some(&aws_sdk_ec2::types::InstanceAttributeName::UserData)
        })
        .sequence()
        .http_status(unauthorized.status, Some(unauthorized.ec2_body()))
        .build();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.after(&[&denied]));
    let d = deps(ec2, &[], config(&[]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("checked, not failed");
    let codes: Vec<&str> = o.findings.iter().map(|f| f.code.as_str()).collect();
    assert_eq!(codes, vec!["ONBOARDING_CONFIG_UNCHECKED"]);
    assert!(o.findings[0].remediation.contains("create-tags"));
}

/// The guide router's WAN interface with source/destination check `on`, as EC2 describes it.
fn wan_eni(on: bool) -> aws_sdk_ec2::types::NetworkInterface {
    let mut r = Router {
        state: InstanceStateName::Running,
        ena: Some(true),
        src_dst: [on, false],
    }
    .mock(None);
    r.interfaces.truncate(1);
    r.describe_interfaces().remove(0)
}

/// EC2's answer to a read the caller's policy does not allow, as real AWS words it.
fn denied_body(action: &str) -> String {
    ssr_testkit::AwsErrorShape::new(
        403,
        "UnauthorizedOperation",
        &format!("You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/ssr-onboard-guard/instance-guard is not authorized to perform: ec2:{action} on resource: arn:aws:ec2:us-east-1:123456789012:instance/{ID} because no identity-based policy allows the ec2:{action} action"),
    )
    .ec2_body()
}

#[tokio::test]
async fn when_iam_denies_ena_volume_and_route_reads_then_not_checked_findings_not_a_failed_event() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            // Absent in DescribeInstances: the ENA attribute is read, and denied.
            ena: None,
            src_dst: [false, false],
        },
        None,
    );
    let ena_denied = mock!(aws_sdk_ec2::Client::describe_instance_attribute)
        .match_requests(|r| {
            r.attribute() == Some(&aws_sdk_ec2::types::InstanceAttributeName::EnaSupport)
        })
        .sequence()
        .http_status(403, Some(denied_body("DescribeInstanceAttribute")))
        .build();
    let volumes_denied = mock!(aws_sdk_ec2::Client::describe_volumes)
        .sequence()
        .http_status(403, Some(denied_body("DescribeVolumes")))
        .build();
    let routes_denied = mock!(aws_sdk_ec2::Client::describe_route_tables)
        .sequence()
        .http_status(403, Some(denied_body("DescribeRouteTables")))
        .build();
    let mut rules: Vec<&Rule> = vec![&ena_denied, &volumes_denied, &routes_denied];
    rules.extend(fake.all());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules);
    let d = deps(ec2, &[], config(&[]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("degraded to findings, not a failed event");
    let not_checked: Vec<(&str, &str)> = o
        .findings
        .iter()
        .map(|f| (f.code.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        not_checked,
        vec![
            (
                "NOT_CHECKED",
                "IAM denied ec2:DescribeInstanceAttribute: ENA (enhanced networking, attribute enaSupport) was not checked"
            ),
            (
                "NOT_CHECKED",
                "IAM denied ec2:DescribeVolumes: the root volume size was not checked"
            ),
            (
                "NOT_CHECKED",
                "IAM denied ec2:DescribeRouteTables: the WAN subnet's default route to an internet gateway was not checked"
            ),
        ]
    );
    let resources: Vec<&str> = o.findings.iter().map(|f| f.resource.as_str()).collect();
    assert_eq!(resources, vec![ID, "vol-1", "subnet-0"]);
    assert!(o
        .findings
        .iter()
        .all(|f| f.remediation.contains("Grant ec2:") && f.severity.as_str() == "warning"));
    assert_eq!(
        (
            ena_denied.num_calls(),
            volumes_denied.num_calls(),
            routes_denied.num_calls()
        ),
        (1, 1, 1)
    );
}

#[tokio::test]
async fn when_first_read_back_shows_the_old_value_then_polled_again_and_applied() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(true),
            src_dst: [true, false],
        },
        None,
    );
    // The read-back (by ENI id, after the write): EC2 first still shows the old value, then the
    // new one (eventual consistency).
    let read_backs = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| !r.network_interface_ids().is_empty())
        .sequence()
        .output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(wan_eni(true))
                .build()
        })
        .output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(wan_eni(false))
                .build()
        })
        .build();
    let mut rules: Vec<&Rule> = vec![&read_backs];
    rules.extend(fake.all());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules);
    let d = deps(ec2, &[], config(&[("READBACK_BACKOFF_MS", "1,1,1,1")]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("verified on the second read-back");
    assert_eq!(o.actions.len(), 1);
    assert_eq!(
        o.actions[0].status,
        ActionStatus::Applied,
        "{:?}",
        o.actions
    );
    assert_eq!(read_backs.num_calls(), 2);
}

#[tokio::test]
async fn when_the_deadline_leaves_no_time_to_wait_then_one_read_back_and_unverified() {
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(true),
            src_dst: [true, false],
        },
        None,
    );
    let stale = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| !r.network_interface_ids().is_empty())
        .then_output(|| {
            DescribeNetworkInterfacesOutput::builder()
                .network_interfaces(wan_eni(true))
                .build()
        });
    let mut rules: Vec<&Rule> = vec![&stale];
    rules.extend(fake.all());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules);
    let d = deps(ec2, &[], config(&[("READBACK_BACKOFF_MS", "60000")]));
    let started = std::time::Instant::now();
    let err = guard::handle_event(
        &d,
        event("running"),
        std::time::SystemTime::now() + std::time::Duration::from_secs(5),
    )
    .await
    .expect_err("an unverified fix fails the event");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let HandlerError::FixesFailed { outcome, .. } = err else {
        panic!("wrong error")
    };
    assert_eq!(outcome.actions[0].status, ActionStatus::Unverified);
    assert_eq!(stale.num_calls(), 1, "no wait past the deadline");
}

#[tokio::test]
async fn when_instance_id_is_not_i_and_8_or_17_lower_case_hex_then_malformed_before_any_aws_call() {
    let any_ec2 = mock!(aws_sdk_ec2::Client::describe_instances)
        .then_output(|| DescribeInstancesOutput::builder().build());
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&any_ec2]);
    let d = deps(ec2, &[], config(&[]));
    for bad in [
        "i-0ABC1234567890DEF",
        "i-0abc1234567890de",
        "i-abc",
        " i-0abc1234567890def",
        "i-0abc1234567890def; DROP",
        "sg-0abc1234567890def",
    ] {
        let mut ev = event("running");
        ev["detail"]["instance-id"] = bad.into();
        let err = guard::handle_event(&d, ev, ssr_core::Deadline::NONE)
            .await
            .expect_err(bad);
        assert!(matches!(err, HandlerError::Event(_)), "{bad}: {err:?}");
        // A malformed event, not AWS trouble: the CLI's usage error.
        assert!(
            matches!(
                err,
                HandlerError::Event(ssr_core::handlers::EventError::Malformed(_))
            ),
            "{bad}: {err:?}"
        );
    }
    assert_eq!(any_ec2.num_calls(), 0);
}

#[tokio::test]
async fn when_the_guard_runs_at_trace_level_then_the_registration_code_is_not_logged_plain_or_base64(
) {
    let (logs, _guard) = log_capture::capture_at_lambda_trace();
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: None,
            src_dst: [true, false],
        },
        None,
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let d = deps(ec2, &[], config(&[("READBACK_BACKOFF_MS", "1")]));
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE).await;
    let result = match &o {
        Ok(o) => serde_json::to_string(o).unwrap_or_default(),
        Err(e) => e.to_string(),
    };
    let text = logs.text();
    assert!(
        text.contains("\"level\":\"TRACE\"")
            || text.contains("\"level\":\"DEBUG\"")
            || text.contains("router checked"),
        "the run logged:\n{text}"
    );
    let user_data = base64::engine::general_purpose::STANDARD.encode(guide_user_data(
        "SSR_1_Router",
        "6.3.0",
        REG_CODE,
    ));
    for (what, haystack) in [("logs", &text), ("result", &result)] {
        assert!(!haystack.contains(REG_CODE), "registration code in {what}");
        assert!(
            !haystack.contains(&user_data),
            "user data (base64) in {what}"
        );
        for fragment in log_capture::base64_fragments(REG_CODE) {
            assert!(
                !haystack.contains(&fragment),
                "registration code (base64 `{fragment}`) in {what}"
            );
        }
    }
}

/// Is this PutItem a timeline entry (`timeline#…`)?
fn is_timeline_put(req: &aws_sdk_dynamodb::operation::put_item::PutItemInput) -> bool {
    req.item()
        .and_then(|i| i.get("pk"))
        .and_then(|v| v.as_s().ok())
        .is_some_and(|pk| pk.starts_with("timeline#"))
}

#[tokio::test]
async fn when_the_timeline_write_fails_then_the_guard_still_fixes_alerts_and_succeeds() {
    use aws_sdk_dynamodb::operation::{
        delete_item::DeleteItemOutput, get_item::GetItemOutput, put_item::PutItemOutput,
        query::QueryOutput, update_item::UpdateItemOutput,
    };
    // Two fixable interfaces and a finding that stays open (ENA off on a running router).
    let fake = fake_ec2(
        Router {
            state: InstanceStateName::Running,
            ena: Some(false),
            src_dst: [true, true],
        },
        None,
    );
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all());
    let publish = mock!(aws_sdk_sns::Client::publish)
        .sequence()
        .output(|| PublishOutput::builder().message_id("m-1").build())
        .repeatedly()
        .build();
    // DynamoDB refuses every timeline entry (as a policy without the grant would); every
    // other item is written.
    let denied = errors::AwsErrorShape::new(
        400,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/ssr-guard/instance-guard is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/ssr-state",
    );
    let timeline_put = mock!(aws_sdk_dynamodb::Client::put_item)
        .match_requests(is_timeline_put)
        .sequence()
        .http_response(move || denied.json_response())
        .repeatedly()
        .build();
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .sequence()
        .output(|| PutItemOutput::builder().build())
        .repeatedly()
        .build();
    let get = mock!(aws_sdk_dynamodb::Client::get_item)
        .sequence()
        .output(|| GetItemOutput::builder().build())
        .repeatedly()
        .build();
    let update = mock!(aws_sdk_dynamodb::Client::update_item)
        .sequence()
        .output(|| UpdateItemOutput::builder().build())
        .repeatedly()
        .build();
    let delete = mock!(aws_sdk_dynamodb::Client::delete_item)
        .sequence()
        .output(|| DeleteItemOutput::builder().build())
        .repeatedly()
        .build();
    let query = mock!(aws_sdk_dynamodb::Client::query)
        .sequence()
        .output(|| QueryOutput::builder().build())
        .repeatedly()
        .build();
    let clients = Clients {
        ec2,
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]),
        dynamodb: mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&timeline_put, &put, &get, &update, &delete, &query]
        ),
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
        secrets: mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
    };
    let clients = call_check::checked(Function::InstanceGuard, clients);
    let d = Deps::new(
        config(&[
            ("STATE_TABLE", "ssr-state"),
            ("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ssr"),
        ]),
        clients,
        Some("us-east-1".into()),
    );
    let o = guard::handle_event(&d, event("running"), ssr_core::Deadline::NONE)
        .await
        .expect("a failed timeline write never fails the guard");
    assert_eq!(o.actions.len(), 2);
    assert!(o.actions.iter().all(|a| a.status == ActionStatus::Applied));
    assert!(o.alert.sent, "{:?}", o.alert);
    assert_eq!(publish.num_calls(), 1, "the alert is sent once");
    // Two fixes, the findings and the alert were each tried, and refused.
    assert_eq!(timeline_put.num_calls(), 4);
}
