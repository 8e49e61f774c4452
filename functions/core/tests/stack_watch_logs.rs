//! stack-watch never logs or returns the registration code, at the most verbose level the Lambda
//! allows: not from a router stack's parameters (DescribeStacks answers NoEcho values in clear
//! when the vendor template does not set NoEcho, and moto always does), nor from its instance's
//! user data (base64 in DescribeInstanceAttribute). Stack completion, stack failure and a
//! resource completion all run. (Its own test binary: `tracing`'s per-thread subscriber is
//! reliable only without other tests racing on callsite registration.)

use crate::call_check;
use crate::log_capture;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{Parameter, ResourceStatus, Stack, StackEvent, StackStatus};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use base64::Engine as _;
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::stack_watch;
use ssr_core::metrics::Function;
use ssr_core::Config;
use ssr_testkit::fixtures::fixture;
use ssr_testkit::router::guide_user_data;
use ssr_testkit::{MockRouter, MockUserData};

const REG_CODE: &str = "REG-CODE-stack-watch-9d41e7b2";
const ID: &str = "i-0abc1234567890def";
const NAME: &str = "SSR_1_Router";
const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/ssr-router-1/5e2b7a40-a6c1-11ef-9d3c-0affd3a1b2c5";

/// The router of the stack: onboarding with [`REG_CODE`], its LAN interface still checking
/// source/destination (so the guard fixes, reads back and alerts).
fn router() -> MockRouter {
    let mut r = MockRouter::guide(ID, NAME);
    r.interfaces[1].source_dest_check = Some(true);
    r.user_data = MockUserData::Text(guide_user_data(NAME, "6.3.0", REG_CODE));
    r
}

/// The vendor's router stack as DescribeStacks answers it, the registration code in clear.
fn describe_stacks() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        let mut stack = Stack::builder()
            .stack_id(STACK_ID)
            .stack_name("ssr-router-1")
            .stack_status(StackStatus::RollbackInProgress)
            .creation_time(aws_smithy_types::DateTime::from_secs(1_636_666_200));
        for (k, v) in [
            ("RegistrationCode", REG_CODE),
            ("SSRVersion", "6.3.0-107.r1"),
            ("InstanceName", NAME),
        ] {
            stack = stack.parameters(
                Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build(),
            );
        }
        DescribeStacksOutput::builder()
            .stacks(stack.build())
            .build()
    })
}

/// The failed create's events, newest first, back to the operation's start.
fn describe_stack_events() -> Rule {
    mock!(aws_sdk_cloudformation::Client::describe_stack_events).then_output(|| {
        let event = |id: &str, ty: &str, status: ResourceStatus, reason: &str, secs: i64| {
            StackEvent::builder()
                .stack_id(STACK_ID)
                .stack_name("ssr-router-1")
                .event_id(format!("{id}-{secs}"))
                .logical_resource_id(id)
                .resource_type(ty)
                .resource_status(status)
                .resource_status_reason(reason)
                .timestamp(aws_smithy_types::DateTime::from_secs(secs))
                .build()
        };
        DescribeStackEventsOutput::builder()
            .stack_events(event(
                "Router",
                "AWS::EC2::Instance",
                ResourceStatus::CreateFailed,
                "Resource handler returned message: \"The requested configuration is currently not supported.\"",
                1_636_666_260,
            ))
            .stack_events(event(
                "ssr-router-1",
                "AWS::CloudFormation::Stack",
                ResourceStatus::CreateInProgress,
                "User Initiated",
                1_636_666_200,
            ))
            .build()
    })
}

/// An empty state table that accepts every write (claims won, onboarding starts recorded,
/// incidents opened, alerts confirmed sent).
fn state_table() -> [Rule; 4] {
    [
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build()),
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build()),
        mock!(aws_sdk_dynamodb::Client::update_item).then_output(|| {
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput::builder().build()
        }),
        mock!(aws_sdk_dynamodb::Client::delete_item)
            .then_output(|| DeleteItemOutput::builder().build()),
    ]
}

/// Publish, recording every message (subject and body).
fn publish(sent: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |r| {
            if let Ok(mut s) = sent.lock() {
                s.push(format!(
                    "{} {} {:?}",
                    r.subject().unwrap_or_default(),
                    r.message().unwrap_or_default(),
                    r.message_attributes()
                ));
            }
            true
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build())
}

fn event(name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let mut v = fixture(name);
    edit(&mut v);
    v
}

#[tokio::test]
async fn when_stack_watch_handles_stack_and_resource_events_at_trace_level_then_the_registration_code_is_not_logged_plain_or_base64(
) {
    let (logs, _guard) = log_capture::capture_at_lambda_trace();
    let rules = router().rules();
    let (stacks, events) = (describe_stacks(), describe_stack_events());
    let table = state_table();
    let sent: Arc<Mutex<Vec<String>>> = Arc::default();
    let publish = publish(sent.clone());
    let clients = Clients {
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all()),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, table.iter()),
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            [&stacks, &events]
        ),
        secrets: mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
    };
    let config = Config::from_vars(ssr_testkit::vars(&[
        (
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:ssr-alerts",
        ),
        ("STATE_TABLE", "ssr-state"),
        ("READBACK_BACKOFF_MS", "1"),
    ]))
    .expect("valid config");
    let d = Deps::new(
        config,
        call_check::checked(Function::StackWatch, clients),
        Some("us-east-1".into()),
    );
    let sender = ResponseSender::with_client(reqwest::Client::new(), 1, Duration::from_millis(1));
    let deadline = || SystemTime::now() + Duration::from_secs(60);

    let mut results = Vec::new();
    for payload in [
        // The stack completed: recognised by its parameters, its instance guarded.
        fixture("cfn-stack-status-create-complete.json"),
        // The stack failed: one page, its parameters listed.
        fixture("cfn-stack-status-create-failed.json"),
        // The instance resource completed: guarded.
        event("cfn-resource-status-instance-create-complete.json", |v| {
            v["detail"]["physical-resource-id"] = ID.into();
        }),
    ] {
        let o = stack_watch::handle_event(&d, &sender, payload, deadline()).await;
        results.push(match &o {
            Ok(o) => serde_json::to_string(o).unwrap_or_default(),
            Err(e) => e.to_string(),
        });
    }

    // Every path ran: the user data was read for both guarded events, the failure paged.
    assert_eq!(stacks.num_calls(), 2, "{results:?}");
    assert_eq!(events.num_calls(), 1, "{results:?}");
    assert!(rules.user_data.num_calls() >= 2, "{results:?}");
    assert!(
        results[0].contains("guarded 1 instance") && results[2].contains(ID),
        "{results:?}"
    );
    let sent = sent.lock().map(|s| s.join("\n")).unwrap_or_default();
    assert!(sent.contains("CREATE_FAILED"), "the failure paged: {sent}");
    let text = logs.text();
    assert!(
        text.contains("\"level\":\"TRACE\"")
            || text.contains("\"level\":\"DEBUG\"")
            || text.contains("stack recognition"),
        "the run logged:\n{text}"
    );

    let user_data =
        base64::engine::general_purpose::STANDARD.encode(guide_user_data(NAME, "6.3.0", REG_CODE));
    let results = results.join("\n");
    for (what, haystack) in [("logs", &text), ("outcome", &results), ("alerts", &sent)] {
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
