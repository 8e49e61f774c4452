//! Property tests of event parsing at the functions' entry points: any JSON value, and the
//! AWS-documented fixtures (tests/fixtures/) with a few parts replaced, removed or retyped, give
//! a typed value or a typed error, never a panic:
//! - instance-guard: `guard::handle_event`, end to end on the testkit's mock router;
//! - onboarding-watchdog: `Watchdog::handle_event` (Scheduled Event), end to end on the watchdog
//!   fakes without Mist settings;
//! - stack-watch: `stack_watch::classify` and the EventBridge shapes it parses (Stack / Resource
//!   Status Change), and the custom resource request shape;
//! - mist-webhook: `MistWebhook::handle_request` on Function URL requests (an HTTP status, never
//!   5xx for a bad request, the webhook secret never in the answer) and `mist::webhook::parse`
//!   on any body.
//!
//! Bounded: 64 to 128 cases per property (the end-to-end ones run a handler per case). Failing
//! cases are kept in `proptest-regressions/prop_events.txt` and replayed first on every run.

use crate::watchdog_support;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use aws_lambda_events::event::cloudwatch_events::ec2::InstanceStateChange;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_smithy_mocks::{mock_client, RuleMode};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Map, Value};
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::handlers::stack_watch::events::{ResourceStatusChange, StackStatusChange};
use ssr_core::handlers::{guard, parse_event, stack_watch, HandlerError, Invocation};
use ssr_core::metrics::Function;
use ssr_core::snapshot::is_instance_id;
use ssr_core::Config;
use ssr_testkit::MockRouter;

const WEBHOOK_SECRET: &str = "mist-webhook-secret-do-not-leak-prop";

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/prop_events.txt",
        ))),
        ..ProptestConfig::default()
    }
}

/// The fixtures each entry point takes, as AWS documents them.
const FIXTURES: &[&str] = &[
    "ec2-state-change-pending",
    "ec2-state-change-running",
    "ec2-state-change-stopped",
    "ec2-state-change-terminated",
    "cfn-stack-status-create-complete",
    "cfn-stack-status-create-failed",
    "cfn-stack-status-rollback-in-progress",
    "cfn-resource-status-eni-create-complete",
    "cfn-resource-status-instance-create-complete",
    "cfn-custom-resource-create",
    "cfn-custom-resource-update",
    "cfn-custom-resource-delete",
    "cfn-custom-resource-create-malformed",
    "scheduled-event",
    "function-url-request",
    "mist/webhook-device-events",
    "mist/webhook-device-events-underscore",
];

/// Keys the parsers look for, so generated objects hit them often.
const KEYS: &[&str] = &[
    "source",
    "detail-type",
    "detail",
    "instance-id",
    "state",
    "account",
    "region",
    "time",
    "id",
    "resources",
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "LogicalResourceId",
    "ResourceType",
    "ResourceProperties",
    "stack-id",
    "status-details",
    "logical-resource-id",
    "physical-resource-id",
    "resource-type",
    "body",
    "headers",
    "isBase64Encoded",
    "topic",
    "events",
    "mac",
    "timestamp",
    "type",
];

fn any_key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(KEYS).prop_map(String::from),
        1 => "[a-zA-Z_-]{0,12}",
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        prop::sample::select(vec![
            "aws.ec2",
            "aws.cloudformation",
            "aws.events",
            "EC2 Instance State-change Notification",
            "CloudFormation Stack Status Change",
            "CloudFormation Resource Status Change",
            "Scheduled Event",
            "i-0abc1234567890def",
            "i-ABC",
            "running",
            "Create",
            "Delete",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
            "123456789012",
            "us-east-1",
            "2021-11-11T21:45:00Z",
            "device-events",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<String, Value>>())),
        ]
    })
}

/// One change to a document: at the path chosen by `at`, replace the value, remove it, or turn
/// it into a string.
#[derive(Clone, Debug)]
enum Edit {
    Replace(Value),
    Remove,
    Stringify,
}

fn any_edit() -> impl Strategy<Value = (Vec<prop::sample::Index>, Edit)> {
    (
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop_oneof![
            3 => any_json().prop_map(Edit::Replace),
            2 => Just(Edit::Remove),
            1 => Just(Edit::Stringify),
        ],
    )
}

fn apply(v: &mut Value, path: &[prop::sample::Index], edit: &Edit) {
    let child = match v {
        Value::Object(m) if !m.is_empty() && !path.is_empty() => {
            let key = m.keys().nth(path[0].index(m.len())).cloned();
            match key {
                Some(k) if path.len() == 1 => {
                    match edit {
                        Edit::Remove => {
                            m.remove(&k);
                        }
                        Edit::Replace(n) => {
                            m.insert(k, n.clone());
                        }
                        Edit::Stringify => {
                            let s = m.get(&k).map(Value::to_string).unwrap_or_default();
                            m.insert(k, Value::from(s));
                        }
                    }
                    return;
                }
                Some(k) => m.get_mut(&k),
                None => None,
            }
        }
        Value::Array(a) if !a.is_empty() && !path.is_empty() => {
            let i = path[0].index(a.len());
            if path.len() == 1 {
                match edit {
                    Edit::Remove => {
                        a.remove(i);
                    }
                    Edit::Replace(n) => a[i] = n.clone(),
                    Edit::Stringify => a[i] = Value::from(a[i].to_string()),
                }
                return;
            }
            a.get_mut(i)
        }
        _ => {
            if let Edit::Replace(n) = edit {
                *v = n.clone();
            }
            return;
        }
    };
    if let Some(c) = child {
        apply(c, &path[1..], edit);
    }
}

/// A fixture with up to three edits, or (one time in five) any JSON value at all.
fn any_event() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (
            prop::sample::select(FIXTURES),
            prop::collection::vec(any_edit(), 0..4),
        )
            .prop_map(|(name, edits)| {
                let mut v = ssr_testkit::fixture(name);
                for (path, edit) in &edits {
                    apply(&mut v, path, edit);
                }
                v
            }),
        1 => any_json(),
    ]
}

fn guard_deps() -> (Deps, ssr_testkit::RouterRules) {
    let fake = MockRouter::guide("i-0abc1234567890def", "SSR_1_Router").rules();
    let clients = Clients {
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, fake.all()),
        sns: mock_client!(
            aws_sdk_sns,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
        dynamodb: mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
        secrets: mock_client!(
            aws_sdk_secretsmanager,
            RuleMode::MatchAny,
            Vec::<&aws_smithy_mocks::Rule>::new()
        ),
    };
    let cfg = Config::from_vars(ssr_testkit::vars(&[
        ("DESCRIBE_RETRY_BASE_MS", "1"),
        ("DESCRIBE_RETRY_ATTEMPTS", "2"),
    ]))
    .expect("valid config");
    (Deps::new(cfg, clients, Some("us-east-1".into())), fake)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn when_any_event_reaches_the_guard_then_a_typed_outcome_or_error(event in any_event()) {
        let rt = runtime();
        let (deps, fake) = guard_deps();
        let id = event
            .pointer("/detail/instance-id")
            .and_then(Value::as_str)
            .map(String::from);
        let wellformed = event["source"] == "aws.ec2"
            && event["detail-type"] == "EC2 Instance State-change Notification"
            && id.as_deref().is_some_and(is_instance_id);
        let result = rt.block_on(guard::handle_event(&deps, event, ssr_core::Deadline::NONE));
        match result {
            Ok(o) => {
                prop_assert!(wellformed, "accepted an event that is not an EC2 state change: {:?}", o);
                prop_assert_eq!(Some(o.instance_id), id);
            }
            Err(HandlerError::Event(_)) => {
                // Malformed: refused before any AWS call.
                prop_assert_eq!(fake.describe_instances.num_calls(), 0);
                prop_assert_eq!(fake.modify_interface.num_calls(), 0);
            }
            // Another account or region than this deployment's, without an organization role.
            Err(HandlerError::Scope(_)) => prop_assert!(wellformed),
            Err(other) => prop_assert!(false, "unexpected error for a mock router: {}", other),
        }
    }

    #[test]
    fn when_any_event_reaches_the_watchdog_then_a_sweep_or_a_typed_error(event in any_event()) {
        let rt = runtime();
        let cfg = watchdog_support::cfg(&[("STATE_TABLE", "ssr-state".into())]);
        let (deps, watchdog, fakes) = watchdog_support::deps(cfg, false, false);
        let scheduled = event["source"] == "aws.events" && event["detail-type"] == "Scheduled Event";
        let result = rt.block_on(watchdog.handle_event(&deps, event, ssr_core::Deadline::NONE));
        if result.is_ok() {
            prop_assert!(scheduled, "a sweep from an event that is not the schedule's");
        } else if !scheduled {
            prop_assert_eq!(fakes.published.lock().map(|p| p.len()).unwrap_or(0), 0);
        }
    }

    #[test]
    fn when_any_event_reaches_stack_watch_then_it_is_classified_or_refused(event in any_event()) {
        match stack_watch::classify(&event) {
            Ok(stack_watch::EventKind::CustomResource) => {
                prop_assert!(event.get("RequestType").is_some());
                let _ = serde_json::from_value::<CloudFormationCustomResourceRequest>(event);
            }
            Ok(stack_watch::EventKind::StackStatusChange) => {
                let _ = parse_event::<EventBridgeEvent<StackStatusChange>>("stack", event);
            }
            Ok(stack_watch::EventKind::ResourceStatusChange) => {
                let _ = parse_event::<EventBridgeEvent<ResourceStatusChange>>("resource", event);
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }

    #[test]
    fn when_any_event_is_parsed_as_an_ec2_state_change_then_typed(event in any_event()) {
        if let Ok(ev) = parse_event::<EventBridgeEvent<InstanceStateChange>>("ec2", event) {
            prop_assert!(ev.detail.state.len() < usize::MAX);
        }
    }

    #[test]
    fn when_any_body_is_parsed_as_a_mist_delivery_then_typed(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            any_event().prop_map(|v| v.to_string().into_bytes()),
        ],
    ) {
        if let Err(e) = ssr_core::mist::webhook::parse(&body) {
            prop_assert!(!e.to_string().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn when_any_request_reaches_the_webhook_unsigned_then_a_4xx_without_the_secret(
        event in prop_oneof![
            any_event(),
            (any_event(), any::<bool>()).prop_map(|(body, b64)| {
                let mut r = ssr_testkit::fixture("function-url-request");
                r["body"] = Value::from(body.to_string());
                r["isBase64Encoded"] = Value::from(b64);
                r
            }),
        ],
    ) {
        let rt = runtime();
        let mut c = watchdog_support::base_config("http://127.0.0.1:9");
        c.push(("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET.into()));
        let (deps, _w, fakes) = watchdog_support::deps_for(Function::MistWebhook, watchdog_support::cfg(&c), false, false);
        let hook = MistWebhook::new(&deps.config, deps.secrets_client());
        let r = rt.block_on(hook.handle_request(&deps, event, Invocation::local()));
        prop_assert!([400, 401, 413].contains(&r.status_code), "{} {}", r.status_code, r.body);
        prop_assert!(!r.body.contains(WEBHOOK_SECRET));
        prop_assert_eq!(fakes.published.lock().map(|p| p.len()).unwrap_or(0), 0);
    }
}
