//! The fault suite (part): the real handlers driven through AWS and Mist faults, replayed with
//! `aws-smithy-mocks` rule sequences in the shapes AWS sends them (the testkit's error shapes)
//! and a fake Mist API (`wiremock`). For each fault the promise is checked: the event fails (so
//! Lambda or EventBridge retries it) or succeeds with everything done; no panic; nothing
//! written twice; an alert delivered at most once. docs/reliability.md indexes these tests
//! (fault → promise → test).

use crate::call_check;
use crate::watchdog_support;

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput;
use aws_sdk_ec2::operation::modify_network_interface_attribute::ModifyNetworkInterfaceAttributeOutput;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, InstanceAttributeName, InstanceStateName, Route,
    RouteState, RouteTable, RouteTableAssociation, Volume,
};
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::guard;
use ssr_core::handlers::watchdog::{SweepError, Watchdog};
use ssr_core::handlers::HandlerError;
use ssr_core::metrics::Function;
use ssr_core::onboarding_config::guide_user_data;
use ssr_core::plan::ActionStatus;
use ssr_core::Config;
use ssr_testkit::fixtures::ec2_state_change;
use ssr_testkit::{errors, AwsErrorShape, MockRouter, MockUserData, RouterRules};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "i-0abc1234567890def";
const REG_CODE: &str = "REG-CODE-do-not-leak-faults";
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:ssr";

/// The guide router, running, with source/destination check on both ENIs (two fixes) and ENA
/// off (a finding a running router is never fixed for: the alert always has something to say).
fn router() -> MockRouter {
    let mut r = MockRouter::guide(ID, "SSR_1_Router");
    r.state = InstanceStateName::Running;
    r.ena_support = Some(false);
    r.root_device = Some("/dev/xvda".into());
    for eni in &mut r.interfaces {
        eni.source_dest_check = Some(true);
    }
    r.user_data = MockUserData::Text(guide_user_data("SSR_1_Router", "6.3.0", REG_CODE));
    r
}

fn config(pairs: &[(&str, &str)]) -> Config {
    Config::from_vars(ssr_testkit::vars(pairs)).expect("valid config")
}

/// Alerts on, de-duplicated in the state table.
fn alerting() -> Config {
    config(&[("ALERT_TOPIC_ARN", TOPIC), ("STATE_TABLE", "ssr-state")])
}

/// A state table that answers every call: nothing claimed yet, every write accepted.
struct Table {
    rules: Vec<Rule>,
}

impl Table {
    fn healthy() -> Table {
        Table {
            rules: vec![
                mock!(aws_sdk_dynamodb::Client::get_item)
                    .then_output(|| GetItemOutput::builder().build()),
                mock!(aws_sdk_dynamodb::Client::put_item)
                    .then_output(|| PutItemOutput::builder().build()),
                mock!(aws_sdk_dynamodb::Client::update_item)
                    .then_output(|| UpdateItemOutput::builder().build()),
                mock!(aws_sdk_dynamodb::Client::delete_item)
                    .then_output(|| DeleteItemOutput::builder().build()),
                mock!(aws_sdk_dynamodb::Client::query)
                    .then_output(|| QueryOutput::builder().count(0).build()),
                mock!(aws_sdk_dynamodb::Client::batch_get_item)
                    .then_output(|| BatchGetItemOutput::builder().build()),
            ],
        }
    }

    /// Every operation answers `shape` (awsJson): always (`once` false), or to its first
    /// attempt and then as [`Table::healthy`]. (The SDK's retry of an operation stays on the rule
    /// that answered its first attempt, so the recovery is in the same rule.)
    fn failing(shape: &AwsErrorShape, once: bool) -> Vec<Rule> {
        macro_rules! fail {
            ($op:path, $ok:expr) => {{
                let s = shape.clone();
                let r = mock!($op)
                    .sequence()
                    .http_response(move || s.json_response());
                if once {
                    r.output($ok).repeatedly().build()
                } else {
                    r.repeatedly().build()
                }
            }};
        }
        vec![
            fail!(aws_sdk_dynamodb::Client::get_item, || {
                GetItemOutput::builder().build()
            }),
            fail!(aws_sdk_dynamodb::Client::put_item, || {
                PutItemOutput::builder().build()
            }),
            fail!(aws_sdk_dynamodb::Client::update_item, || {
                UpdateItemOutput::builder().build()
            }),
            fail!(aws_sdk_dynamodb::Client::delete_item, || {
                DeleteItemOutput::builder().build()
            }),
            fail!(aws_sdk_dynamodb::Client::query, || QueryOutput::builder()
                .count(0)
                .build()),
            fail!(aws_sdk_dynamodb::Client::batch_get_item, || {
                BatchGetItemOutput::builder().build()
            }),
        ]
    }
}

/// SNS Publish: `None` succeeds; `Some((shape, once))` answers `shape` (awsQuery) always, or
/// to the first attempt only, then succeeds (in the same rule: see [`Table::failing`]).
fn sns_rule(fault: Option<(AwsErrorShape, bool)>) -> Rule {
    let ok = || PublishOutput::builder().message_id("m-1").build();
    match fault {
        None => mock!(aws_sdk_sns::Client::publish).then_output(ok),
        Some((shape, once)) => {
            let r = mock!(aws_sdk_sns::Client::publish)
                .sequence()
                .http_response(move || shape.query_response());
            if once {
                r.output(ok).repeatedly().build()
            } else {
                r.repeatedly().build()
            }
        }
    }
}

fn guard_deps(ec2: Vec<&Rule>, sns: Vec<&Rule>, dynamodb: Vec<&Rule>, cfg: Config) -> Deps {
    let clients = Clients {
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, sns),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, dynamodb),
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

/// Successful SourceDestCheck writes per ENI (the ones that reached the fake EC2).
fn src_dst_writes(fake: &RouterRules) -> usize {
    fake.modify_interface.num_calls()
}

async fn run(deps: &Deps) -> Result<guard::GuardOutcome, HandlerError> {
    guard::handle_event(
        deps,
        ec2_state_change(ID, "running"),
        ssr_core::Deadline::NONE,
    )
    .await
}

/// The router's EC2 as rules whose every other answer, per operation, is `RequestLimitExceeded`
/// (503, EC2's throttling): each call's first attempt is throttled and the SDK's retry answered.
/// Stateful like the testkit's fake (a SourceDestCheck write shows in later reads), built from
/// plain outputs because the SDK retries an operation on the rule that answered it first.
struct Storm {
    rules: Vec<Rule>,
    /// Accepted SourceDestCheck writes, by ENI.
    writes: Arc<Mutex<Vec<String>>>,
}

impl Storm {
    fn new(router: MockRouter) -> Storm {
        const PAIRS: usize = 16;
        let state = Arc::new(Mutex::new(router.clone()));
        let writes = Arc::new(Mutex::new(Vec::new()));
        let throttle = || errors::request_limit_exceeded().ec2_response();
        macro_rules! storm {
            ($rule:expr, $ok:expr) => {{
                let ok = Arc::new($ok);
                let mut r = $rule.sequence();
                for _ in 0..PAIRS {
                    let ok = ok.clone();
                    r = r.http_response(throttle).output(move || ok());
                }
                r.build()
            }};
        }
        let mut rules = Vec::new();
        let st = state.clone();
        rules.push(storm!(
            mock!(aws_sdk_ec2::Client::describe_instances),
            move || { lock(&st).describe_instances_output() }
        ));
        let st = state.clone();
        rules.push(storm!(
            mock!(aws_sdk_ec2::Client::describe_network_interfaces),
            move || DescribeNetworkInterfacesOutput::builder()
                .set_network_interfaces(Some(lock(&st).describe_interfaces()))
                .build()
        ));
        let user_data = router.user_data_base64();
        let id = router.instance_id.clone();
        rules.push(storm!(
            mock!(aws_sdk_ec2::Client::describe_instance_attribute)
                .match_requests(|r| r.attribute() == Some(&InstanceAttributeName::UserData)),
            move || {
                let mut b = DescribeInstanceAttributeOutput::builder().instance_id(&id);
                if let Some(v) = &user_data {
                    b = b.user_data(AttributeValue::builder().value(v).build());
                }
                b.build()
            }
        ));
        let ena = router.ena_support.unwrap_or(false);
        let id = router.instance_id.clone();
        rules.push(storm!(
            mock!(aws_sdk_ec2::Client::describe_instance_attribute)
                .match_requests(|r| r.attribute() == Some(&InstanceAttributeName::EnaSupport)),
            move || DescribeInstanceAttributeOutput::builder()
                .instance_id(&id)
                .ena_support(AttributeBooleanValue::builder().value(ena).build())
                .build()
        ));
        let size = router.root_volume_gb;
        rules.push(storm!(
            mock!(aws_sdk_ec2::Client::describe_volumes),
            move || {
                DescribeVolumesOutput::builder()
                    .volumes(Volume::builder().volume_id("vol-1").size(size).build())
                    .build()
            }
        ));
        let wan_subnet = router
            .interfaces
            .iter()
            .find(|e| e.device_index == 0)
            .and_then(|e| e.subnet_id.clone());
        rules.push(storm!(
            mock!(aws_sdk_ec2::Client::describe_route_tables),
            move || {
                let mut t = RouteTable::builder().route_table_id("rtb-1").routes(
                    Route::builder()
                        .destination_cidr_block("0.0.0.0/0")
                        .gateway_id("igw-1")
                        .state(RouteState::Active)
                        .build(),
                );
                if let Some(subnet) = &wan_subnet {
                    t = t.associations(RouteTableAssociation::builder().subnet_id(subnet).build());
                }
                DescribeRouteTablesOutput::builder()
                    .route_tables(t.build())
                    .build()
            }
        ));
        for eni in router.interfaces.iter().map(|e| e.id.clone()) {
            let (st, w, matched) = (state.clone(), writes.clone(), eni.clone());
            rules.push(storm!(
                mock!(aws_sdk_ec2::Client::modify_network_interface_attribute)
                    .match_requests(move |r| r.network_interface_id() == Some(matched.as_str())
                        && r.source_dest_check().and_then(|v| v.value()) == Some(false)),
                move || {
                    let mut s = lock(&st);
                    if let Some(e) = s.interfaces.iter_mut().find(|e| e.id == eni) {
                        e.source_dest_check = Some(false);
                    }
                    if let Ok(mut w) = w.lock() {
                        w.push(eni.clone());
                    }
                    ModifyNetworkInterfaceAttributeOutput::builder().build()
                }
            ));
        }
        Storm { rules, writes }
    }

    fn throttled(&self) -> usize {
        // Each rule alternates throttle/answer: its odd calls were throttled.
        self.rules.iter().map(|r| r.num_calls().div_ceil(2)).sum()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[tokio::test]
async fn when_every_other_ec2_call_is_throttled_then_the_guard_fixes_both_enis_once_and_alerts_once(
) {
    let storm = Storm::new(router());
    let table = Table::healthy();
    let publish = sns_rule(None);
    let d = guard_deps(
        storm.rules.iter().collect(),
        vec![&publish],
        table.rules.iter().collect(),
        alerting(),
    );
    let o = run(&d)
        .await
        .expect("throttling is retried by the SDK: the event succeeds");
    assert_eq!(o.actions.len(), 2, "{:?}", o.actions);
    assert!(
        o.actions.iter().all(|a| a.status == ActionStatus::Applied),
        "{:?}",
        o.actions
    );
    let mut writes = lock(&storm.writes).clone();
    writes.sort();
    assert_eq!(
        writes,
        vec!["eni-lan", "eni-wan"],
        "one accepted write per ENI"
    );
    assert!(
        storm.throttled() >= 7,
        "every operation was throttled: {}",
        storm.throttled()
    );
    assert!(o.alert.sent, "{:?}", o.alert);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn when_dynamodb_and_sns_answer_500_once_then_the_sdk_retries_and_the_alert_goes_out_once() {
    let fake = router().rules();
    let dynamo_500 = Table::failing(
        &AwsErrorShape::new(500, "InternalServerError", "Internal server error"),
        true,
    );
    let table = Table::healthy();
    let mut dynamodb: Vec<&Rule> = dynamo_500.iter().collect();
    dynamodb.extend(table.rules.iter());
    let publish = sns_rule(Some((
        AwsErrorShape::new(500, "InternalError", "Internal service error"),
        true,
    )));
    let d = guard_deps(fake.all(), vec![&publish], dynamodb, alerting());
    let o = run(&d)
        .await
        .expect("a transient 5xx is retried: the event succeeds");
    assert!(o.alert.sent, "{:?}", o.alert);
    assert_eq!(
        publish.num_calls(),
        2,
        "one failed attempt, then the one publish"
    );
    let dynamo_calls: usize = dynamo_500.iter().map(Rule::num_calls).sum();
    assert!(
        dynamo_calls >= 2,
        "the state table answered 500, then the retry: {dynamo_calls}"
    );
    assert_eq!(src_dst_writes(&fake), 2);
}

#[tokio::test]
async fn when_sns_is_down_for_the_whole_invocation_then_the_event_fails_after_the_fixes_and_the_retry_does_not_rewrite(
) {
    let fake = router().rules();
    let table = Table::healthy();
    let down = sns_rule(Some((
        AwsErrorShape::new(500, "InternalError", "Internal service error"),
        false,
    )));
    let d = guard_deps(
        fake.all(),
        vec![&down],
        table.rules.iter().collect(),
        alerting(),
    );
    let err = run(&d)
        .await
        .expect_err("an alert that could not be delivered fails the event");
    assert!(
        matches!(err, HandlerError::Aws(_) | HandlerError::FixesFailed { .. }),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains(REG_CODE));
    assert!(down.num_calls() >= 1);
    assert_eq!(
        src_dst_writes(&fake),
        2,
        "the fixes were made before the alert"
    );

    // SNS is back: Lambda's retry delivers the alert and writes nothing again.
    let publish = sns_rule(None);
    let d = guard_deps(
        fake.all(),
        vec![&publish],
        table.rules.iter().collect(),
        alerting(),
    );
    let o = run(&d).await.expect("the retry succeeds");
    assert_eq!(src_dst_writes(&fake), 2, "nothing written twice");
    assert!(o.actions.is_empty(), "already fixed: {:?}", o.actions);
    assert!(o.alert.sent, "{:?}", o.alert);
    assert_eq!(publish.num_calls(), 1);
}

#[tokio::test]
async fn when_the_state_table_is_down_then_the_event_fails_and_no_alert_is_published_unclaimed() {
    let fake = router().rules();
    let down = Table::failing(
        &AwsErrorShape::new(500, "InternalServerError", "Internal server error"),
        false,
    );
    let publish = sns_rule(None);
    let d = guard_deps(
        fake.all(),
        vec![&publish],
        down.iter().collect(),
        alerting(),
    );
    let err = run(&d)
        .await
        .expect_err("no claim, no alert: the event fails for a retry");
    assert!(matches!(err, HandlerError::Aws(_)), "{err}");
    assert_eq!(publish.num_calls(), 0, "never published without its claim");
    assert_eq!(
        src_dst_writes(&fake),
        2,
        "the fixes do not wait for the table"
    );
}

#[tokio::test]
async fn when_one_eni_write_is_refused_then_the_event_fails_and_the_retry_writes_only_that_eni() {
    let mut r = router();
    r.modify_denied_eni = Some("eni-lan".into());
    let fake = r.rules();
    let table = Table::healthy();
    let publish = sns_rule(None);
    let d = guard_deps(
        fake.all(),
        vec![&publish],
        table.rules.iter().collect(),
        alerting(),
    );
    let err = run(&d).await.expect_err("a refused fix fails the event");
    let HandlerError::FixesFailed {
        failed,
        total,
        outcome,
        ..
    } = err
    else {
        panic!("expected FixesFailed, got {err}")
    };
    assert_eq!((failed, total), (1, 2));
    assert!(
        outcome.alert.sent,
        "what stays wrong is alerted before the event fails"
    );
    // The refused call reached the fake too: two calls, one write accepted (eni-wan).
    assert_eq!(src_dst_writes(&fake), 2);

    // The retry (IAM still refusing eni-lan): eni-wan is not written again.
    let err = run(&d).await.expect_err("still refused");
    let HandlerError::FixesFailed { outcome, .. } = err else {
        panic!("expected FixesFailed")
    };
    let written: Vec<&str> = outcome
        .actions
        .iter()
        .map(|a| a.action.resource())
        .collect();
    assert_eq!(
        written,
        vec!["eni-lan"],
        "only the refused ENI is tried again"
    );
    assert_eq!(src_dst_writes(&fake), 3);
}

#[tokio::test]
async fn when_the_read_back_never_shows_the_change_then_the_action_is_unverified_and_the_event_fails(
) {
    let fake = router().rules();
    // EC2 accepts the writes, but reading the ENIs back by id still shows the check on.
    let stale_router = router();
    let stale = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
        .match_requests(|r| !r.network_interface_ids().is_empty())
        .then_output(move || {
            DescribeNetworkInterfacesOutput::builder()
                .set_network_interfaces(Some(stale_router.describe_interfaces()))
                .build()
        });
    let table = Table::healthy();
    let publish = sns_rule(None);
    let d = guard_deps(
        fake.after(&[&stale]),
        vec![&publish],
        table.rules.iter().collect(),
        alerting(),
    );
    let err = run(&d)
        .await
        .expect_err("an unverified fix fails the event");
    let HandlerError::FixesFailed { outcome, .. } = err else {
        panic!("expected FixesFailed, got {err}")
    };
    assert!(
        outcome
            .actions
            .iter()
            .all(|a| a.status == ActionStatus::Unverified),
        "{:?}",
        outcome.actions
    );
    assert!(!outcome.findings.iter().any(|f| f.fixed));
    assert_eq!(
        src_dst_writes(&fake),
        2,
        "each ENI written once, not again while polling"
    );
    assert!(stale.num_calls() >= 1);
}

// ------------------------------------------------------------------ the watchdog's sweep

/// A fake Mist that answers every GET with `status` and `body` (and `Retry-After: 30`).
async fn mist_answering(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(status)
                .insert_header("Retry-After", "30")
                .set_body_string(body),
        )
        .mount(&server)
        .await;
    server
}

/// The watchdog's dependencies: the watchdog fakes' router (16 minutes old, not onboarded),
/// Mist at `mist_url`, this state table, SNS answering `publish`; the Mist token in Secrets
/// Manager.
fn watchdog_deps(mist_url: &str, dynamodb: Vec<&Rule>, publish: &Rule) -> (Deps, Watchdog) {
    let cfg = watchdog_support::cfg(&watchdog_support::base_config(mist_url));
    let ec2_rules = watchdog_support::ec2_rules(false);
    let secret = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
        aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput::builder()
            .secret_string(format!("{{\"token\": \"{}\"}}", watchdog_support::TOKEN))
            .build()
    });
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&secret]);
    let clients = Clients {
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2_rules.all()),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, [publish]),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, dynamodb),
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
        secrets: secrets.clone(),
    };
    let clients = call_check::checked(Function::OnboardingWatchdog, clients);
    let d = Deps::new(cfg, clients, Some("us-east-1".into()));
    let w = Watchdog::new(&d.config, secrets);
    (d, w)
}

/// SNS Publish, succeeding and recording each message (subject, body).
/// What SNS was asked to publish: (subject, message).
type Sent = Arc<Mutex<Vec<(String, String)>>>;

fn recording_publish() -> (Rule, Sent) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let rec = sent.clone();
    let rule = mock!(aws_sdk_sns::Client::publish)
        .match_requests(move |r| {
            lock(&rec).push((
                r.subject().unwrap_or_default().to_string(),
                r.message().unwrap_or_default().to_string(),
            ));
            true
        })
        .then_output(|| PublishOutput::builder().message_id("m-1").build());
    (rule, sent)
}

#[tokio::test]
async fn when_mist_is_down_rate_limited_or_answers_garbage_then_the_overdue_router_still_pages_once_with_status_unknown(
) {
    // A port nothing listens on: Mist down.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        format!("http://127.0.0.1:{port}")
    };
    let rate_limited = mist_answering(429, "{\"detail\":\"Too Many Requests\"}").await;
    let failing = mist_answering(500, "<html>oops</html>").await;
    let garbage = mist_answering(200, "{\"not\": \"a list\"").await;
    for (what, url) in [
        ("down", down),
        ("429 Retry-After", rate_limited.uri()),
        ("500", failing.uri()),
        ("garbage", garbage.uri()),
    ] {
        let table = Table::healthy();
        let (publish, sent) = recording_publish();
        let (d, w) = watchdog_deps(&url, table.rules.iter().collect(), &publish);
        let o = w
            .handle_event(&d, watchdog_support::event(), ssr_core::Deadline::NONE)
            .await
            .unwrap_or_else(|e| panic!("{what}: the sweep still pages: {e}"));
        assert_eq!(o.mist.status.as_str(), "unavailable", "{what}");
        assert_eq!(o.episodes[0].phase.as_str(), "unknown", "{what}");
        let sent = lock(&sent).clone();
        let pages: Vec<_> = sent
            .iter()
            .filter(|(_, m)| m.contains("Mist status unknown"))
            .collect();
        assert_eq!(pages.len(), 1, "{what}: one page: {sent:?}");
        for (subject, m) in &sent {
            for secret in [watchdog_support::TOKEN, watchdog_support::REG_CODE] {
                assert!(
                    !m.contains(secret) && !subject.contains(secret),
                    "{what}: a secret in {subject} {m}"
                );
            }
        }
    }
}

#[tokio::test]
async fn when_the_state_table_is_down_then_the_sweep_fails_and_pages_nobody() {
    let mist = mist_answering(200, "[]").await;
    let down = Table::failing(
        &AwsErrorShape::new(500, "InternalServerError", "Internal server error"),
        false,
    );
    let (publish, sent) = recording_publish();
    let (d, w) = watchdog_deps(&mist.uri(), down.iter().collect(), &publish);
    let err = w
        .handle_event(&d, watchdog_support::event(), ssr_core::Deadline::NONE)
        .await
        .expect_err("without its memory the sweep cannot page exactly once: it fails for a retry");
    assert!(!matches!(err, SweepError::Event(_)), "{err}");
    assert_eq!(lock(&sent).len(), 0, "no page without its claim");
}
