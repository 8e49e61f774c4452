//! The preflight (`{"ssr-onboard": "preflight"}`) against EC2's real DryRun answers, replayed
//! with `aws-smithy-mocks` (`412 DryRunOperation` = allowed, `403 UnauthorizedOperation` =
//! denied, in EC2's XML error document), the state table's claim path, and a local fake Mist
//! for `GET /api/v1/self`. Every call a test's handler sends is checked against the function's
//! IAM table (`call_check`).

use crate::call_check;

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use ssr_core::check::{CheckStatus, PreflightReport, PREFLIGHT_SCHEMA};
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::preflight::{self, Preflight};
use ssr_core::metrics::Function;
use ssr_core::{Config, Deadline};
use ssr_testkit::{errors, MockRouter};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ID: &str = "i-0abc1234567890def";
const TABLE: &str = "ssr-onboard-state";
const ORG: &str = "9f2c3b1e-0000-4000-8000-00000000abcd";
const TOKEN: &str = "mist-token-do-not-leak-5e1b";

fn config(pairs: &[(&str, &str)]) -> Config {
    let mut all = vec![("STATE_TABLE", TABLE)];
    all.extend_from_slice(pairs);
    Config::from_vars(ssr_testkit::vars(&all)).expect("valid config")
}

/// What EC2 answers a dry-run write in these tests.
#[derive(Clone, Copy)]
enum Answer {
    Allowed,
    Denied,
}

impl Answer {
    fn shape(self) -> errors::AwsErrorShape {
        match self {
            Answer::Allowed => errors::dry_run_operation(),
            Answer::Denied => errors::unauthorized_operation().with_message(
                "You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/x/y is not authorized to perform: ec2:ModifyNetworkInterfaceAttribute. Encoded authorization failure message: AbCdEf",
            ),
        }
    }
}

/// The DynamoDB calls of the claim path, recorded: (operation, pk).
#[derive(Clone, Default)]
struct Table {
    calls: Arc<Mutex<Vec<(String, String)>>>,
}

impl Table {
    fn rules(&self) -> Vec<Rule> {
        let pk = |item: Option<
            &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
        >| {
            item.and_then(|i| i.get("pk"))
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default()
        };
        let calls = self.calls.clone();
        let get = mock!(aws_sdk_dynamodb::Client::get_item).then_compute_output(move |r| {
            calls.lock().unwrap().push(("GetItem".into(), pk(r.key())));
            GetItemOutput::builder().build()
        });
        let calls = self.calls.clone();
        let put = mock!(aws_sdk_dynamodb::Client::put_item).then_compute_output(move |r| {
            calls.lock().unwrap().push(("PutItem".into(), pk(r.item())));
            PutItemOutput::builder().build()
        });
        let calls = self.calls.clone();
        let delete = mock!(aws_sdk_dynamodb::Client::delete_item).then_compute_output(move |r| {
            calls
                .lock()
                .unwrap()
                .push(("DeleteItem".into(), pk(r.key())));
            DeleteItemOutput::builder().build()
        });
        let calls = self.calls.clone();
        let batch =
            mock!(aws_sdk_dynamodb::Client::batch_get_item).then_compute_output(move |_| {
                calls
                    .lock()
                    .unwrap()
                    .push(("BatchGetItem".into(), String::new()));
                BatchGetItemOutput::builder().build()
            });
        vec![get, put, delete, batch]
    }

    fn calls(&self) -> Vec<(String, String)> {
        self.calls.lock().unwrap().clone()
    }
}

/// EC2 for one guide router; the two writes answer `eni` / `ena` and accept only `DryRun=true`
/// (a write without it would panic the mock: no rule matches).
struct Ec2 {
    router: ssr_testkit::RouterRules,
    modify_eni: Rule,
    modify_instance: Rule,
}

impl Ec2 {
    fn new(router: &MockRouter, eni: Answer, ena: Answer) -> Ec2 {
        let rules = router.rules();
        let modify_eni = mock!(aws_sdk_ec2::Client::modify_network_interface_attribute)
            .match_requests(|r| {
                r.dry_run() == Some(true)
                    && r.source_dest_check().and_then(|v| v.value()) == Some(false)
            })
            .then_http_response(move || eni.shape().ec2_response());
        let modify_instance = mock!(aws_sdk_ec2::Client::modify_instance_attribute)
            .match_requests(|r| {
                r.dry_run() == Some(true) && r.ena_support().and_then(|v| v.value()) == Some(true)
            })
            .then_http_response(move || ena.shape().ec2_response());
        Ec2 {
            router: rules,
            modify_eni,
            modify_instance,
        }
    }

    fn client(&self) -> aws_sdk_ec2::Client {
        let r = &self.router;
        let reads = r.without(&[&r.modify_interface, &r.modify_instance]);
        let mut all: Vec<&Rule> = reads;
        all.push(&self.modify_eni);
        all.push(&self.modify_instance);
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, all)
    }
}

fn deps(function: Function, ec2: aws_sdk_ec2::Client, table: &Table, cfg: Config) -> Deps {
    let table_rules = table.rules();
    let none = Vec::<&Rule>::new();
    let clients = Clients {
        ec2,
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, none.clone()),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, table_rules.iter()),
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, none.clone()),
        secrets: mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, none),
    };
    Deps::new(
        cfg,
        call_check::checked(function, clients),
        Some("us-east-1".into()),
    )
}

async fn run(d: &Deps, function: Function, event: serde_json::Value) -> PreflightReport {
    let request = preflight::request_of(&event).expect("a preflight event");
    let pf = Preflight::new(function, "req-1", Deadline::NONE);
    preflight::run(d, &pf, &request).await
}

fn status(report: &PreflightReport, name: &str) -> CheckStatus {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {:#?}", report.checks))
        .status
}

fn check<'a>(report: &'a PreflightReport, name: &str) -> &'a ssr_core::check::Check {
    report
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name}: {:#?}", report.checks))
}

fn guide_router() -> MockRouter {
    MockRouter::guide(ID, "SSR_1_Router")
}

#[tokio::test]
async fn when_ec2_answers_dry_run_operation_then_the_guard_preflight_passes_and_writes_only_its_state_item(
) {
    let ec2 = Ec2::new(&guide_router(), Answer::Allowed, Answer::Allowed);
    let table = Table::default();
    let d = deps(Function::InstanceGuard, ec2.client(), &table, config(&[]));
    let report = run(
        &d,
        Function::InstanceGuard,
        serde_json::json!({"ssr-onboard": "preflight"}),
    )
    .await;

    assert!(report.passed(), "{:#?}", report.checks);
    assert_eq!(report.schema, PREFLIGHT_SCHEMA);
    assert_eq!(report.function, "instance-guard");
    assert_eq!(report.version, ssr_core::build_info::describe());
    // The guide router has the router tag and tagged interfaces: picked by both paths, and no
    // router stack is configured.
    for path in ["router-tag", "eni-tag"] {
        assert_eq!(status(&report, &format!("routers.{path}")), CheckStatus::Ok);
        assert_eq!(
            status(&report, &format!("ec2.modify-eni-dry-run.{path}")),
            CheckStatus::Ok
        );
        assert_eq!(
            status(&report, &format!("ec2.modify-instance-dry-run.{path}")),
            CheckStatus::Ok
        );
        for read in [
            "ec2.describe-instance-attribute-user-data",
            "ec2.describe-instance-attribute-ena-support",
            "ec2.describe-volumes",
            "ec2.describe-route-tables",
        ] {
            assert_eq!(status(&report, &format!("{read}.{path}")), CheckStatus::Ok);
        }
    }
    assert!(check(&report, "ec2.modify-eni-dry-run.router-tag")
        .detail
        .contains("eni-wan, eni-lan"));
    assert_eq!(status(&report, "routers.stack-name"), CheckStatus::Skipped);
    // Both interfaces and the instance, once per path, each asked with DryRun only.
    assert_eq!(ec2.modify_eni.num_calls(), 4);
    assert_eq!(ec2.modify_instance.num_calls(), 2);
    // The only write: the claim of preflight#<request-id>, deleted at once.
    assert_eq!(status(&report, "state.claim"), CheckStatus::Ok);
    assert_eq!(status(&report, "state.delete"), CheckStatus::Ok);
    let writes: Vec<(String, String)> = table
        .calls()
        .into_iter()
        .filter(|(op, _)| op != "GetItem")
        .collect();
    assert_eq!(
        writes,
        vec![
            ("PutItem".to_string(), "preflight#req-1".to_string()),
            ("DeleteItem".to_string(), "preflight#req-1".to_string()),
        ]
    );
    // The answer Lambda serialises.
    let json = serde_json::to_value(&report).expect("json");
    assert_eq!(json["schema"], "ssr-onboard/preflight/v1");
    assert!(json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .all(|c| c["name"].is_string() && c["status"].is_string() && c["detail"].is_string()));
}

#[tokio::test]
async fn when_ec2_answers_unauthorized_operation_then_the_report_names_the_denied_action() {
    let ec2 = Ec2::new(&guide_router(), Answer::Denied, Answer::Allowed);
    let table = Table::default();
    let d = deps(Function::StackWatch, ec2.client(), &table, config(&[]));
    let report = run(
        &d,
        Function::StackWatch,
        serde_json::json!({"ssr-onboard": "preflight", "instance_id": ID}),
    )
    .await;

    assert!(!report.passed());
    let denied = check(&report, "ec2.modify-eni-dry-run.instance");
    assert_eq!(denied.status, CheckStatus::Problem);
    assert!(denied.detail.contains("denied"), "{}", denied.detail);
    assert!(
        !denied.detail.contains("Encoded authorization failure"),
        "{}",
        denied.detail
    );
    let fix = denied.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("ec2:ModifyNetworkInterfaceAttribute")
            && fix.contains("WriteGrantConditions=tag-only"),
        "{fix}"
    );
    assert_eq!(
        status(&report, "ec2.modify-instance-dry-run.instance"),
        CheckStatus::Ok
    );
    assert_eq!(status(&report, "routers.instance"), CheckStatus::Ok);
    // Not created by a stack: stack-watch's CloudFormation reads are skipped, not failed.
    assert_eq!(
        status(&report, "cloudformation.describe-stacks.instance"),
        CheckStatus::Skipped
    );
    let json = serde_json::to_value(&report).expect("json");
    assert!(json["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .any(|c| c["status"] == "problem" && c["fix"].is_string()));
}

#[tokio::test]
async fn when_the_named_instance_is_not_a_router_then_its_dry_runs_are_flagged_as_proving_nothing()
{
    let mut plain = MockRouter::guide(ID, "web");
    plain.tags.clear();
    for eni in &mut plain.interfaces {
        eni.role = None;
    }
    let ec2 = Ec2::new(&plain, Answer::Allowed, Answer::Allowed);
    let table = Table::default();
    let d = deps(Function::InstanceGuard, ec2.client(), &table, config(&[]));
    let report = run(
        &d,
        Function::InstanceGuard,
        serde_json::json!({"ssr-onboard": "preflight", "instance_id": ID}),
    )
    .await;
    let routers = check(&report, "routers.instance");
    assert_eq!(routers.status, CheckStatus::Warning);
    assert!(
        routers.detail.contains("not a managed router"),
        "{}",
        routers.detail
    );
}

#[tokio::test]
async fn when_no_instance_is_a_router_then_each_path_is_skipped_and_nothing_is_written_to_ec2() {
    let mut plain = MockRouter::guide(ID, "web");
    plain.tags.clear();
    for eni in &mut plain.interfaces {
        eni.role = None;
    }
    let ec2 = Ec2::new(&plain, Answer::Allowed, Answer::Allowed);
    let table = Table::default();
    let d = deps(
        Function::InstanceGuard,
        ec2.client(),
        &table,
        config(&[("ROUTER_STACKS", "ssr-*")]),
    );
    let report = run(
        &d,
        Function::InstanceGuard,
        serde_json::json!({"ssr-onboard": "preflight"}),
    )
    .await;
    for path in ["router-tag", "eni-tag", "stack-name"] {
        let c = check(&report, &format!("routers.{path}"));
        assert_eq!(c.status, CheckStatus::Skipped, "{c:?}");
        assert!(c.detail.contains("no router found"), "{}", c.detail);
    }
    assert!(report.passed());
    assert_eq!(ec2.modify_eni.num_calls(), 0);
    assert_eq!(ec2.modify_instance.num_calls(), 0);
}

/// A fake Mist answering `GET /api/v1/self` for [`TOKEN`] with `status` and `body`.
async fn mist_self(status: u16, body: serde_json::Value) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/self"))
        .and(header("Authorization", format!("Token {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    server
}

fn watchdog_config(mist_url: &str) -> Config {
    config(&[
        ("MIST_ORG_ID", ORG),
        ("MIST_API_URL", mist_url),
        ("MIST_API_TOKEN", TOKEN),
    ])
}

#[tokio::test]
async fn when_the_watchdog_preflights_then_mist_is_asked_who_the_token_is_and_ec2_is_only_read() {
    let mist = mist_self(
        200,
        serde_json::json!({
            "email": "noc@example.com",
            "privileges": [
                {"scope": "org", "org_id": ORG, "role": "read", "name": "Example"},
                {"scope": "site", "site_id": "x", "org_id": "other", "role": "admin"}
            ]
        }),
    )
    .await;
    let ec2 = Ec2::new(&guide_router(), Answer::Denied, Answer::Denied);
    let table = Table::default();
    let d = deps(
        Function::OnboardingWatchdog,
        ec2.client(),
        &table,
        watchdog_config(&mist.uri()),
    );
    let report = run(
        &d,
        Function::OnboardingWatchdog,
        serde_json::json!({"ssr-onboard": "preflight"}),
    )
    .await;

    assert!(report.passed(), "{:#?}", report.checks);
    assert_eq!(status(&report, "mist.token"), CheckStatus::Ok);
    let me = check(&report, "mist.self");
    assert_eq!(me.status, CheckStatus::Ok);
    assert!(me.detail.contains("role read on org"), "{}", me.detail);
    assert_eq!(status(&report, "state.batch-read"), CheckStatus::Ok);
    assert_eq!(
        status(
            &report,
            "ec2.describe-instance-attribute-user-data.router-tag"
        ),
        CheckStatus::Ok
    );
    // The watchdog never writes to EC2: no dry run either.
    assert_eq!(ec2.modify_eni.num_calls(), 0);
    assert_eq!(ec2.modify_instance.num_calls(), 0);
    let text = serde_json::to_string(&report).expect("json");
    assert!(!text.contains(TOKEN), "the token leaked: {text}");
    assert!(!text.contains("noc@example.com"), "{text}");
}

#[tokio::test]
async fn when_mist_refuses_the_token_then_the_report_points_at_the_mist_cloud_without_the_token() {
    let mist = mist_self(
        401,
        serde_json::json!({"detail": "Authentication credentials were not provided."}),
    )
    .await;
    let ec2 = Ec2::new(&guide_router(), Answer::Allowed, Answer::Allowed);
    let table = Table::default();
    let d = deps(
        Function::MistWebhook,
        ec2.client(),
        &table,
        config(&[
            ("MIST_ORG_ID", ORG),
            ("MIST_API_URL", &mist.uri()),
            ("MIST_API_TOKEN", TOKEN),
            ("MIST_WEBHOOK_SECRET", "webhook-secret-do-not-leak-77"),
        ]),
    );
    let report = run(
        &d,
        Function::MistWebhook,
        serde_json::json!({"ssr-onboard": "preflight"}),
    )
    .await;

    assert!(!report.passed());
    let me = check(&report, "mist.self");
    assert_eq!(me.status, CheckStatus::Problem);
    assert!(
        me.fix.as_deref().unwrap_or_default().contains("MistApiUrl"),
        "{me:?}"
    );
    assert_eq!(status(&report, "webhook.secret"), CheckStatus::Ok);
    let text = serde_json::to_string(&report).expect("json");
    assert!(
        !text.contains(TOKEN) && !text.contains("webhook-secret-do-not-leak-77"),
        "{text}"
    );
}

#[tokio::test]
async fn when_the_preflight_item_cannot_be_written_then_the_claim_is_a_problem_naming_put_item() {
    let ec2 = Ec2::new(&guide_router(), Answer::Allowed, Answer::Allowed);
    let denied = errors::AwsErrorShape::new(
        400,
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/r/f is not authorized to perform: dynamodb:PutItem",
    );
    let get =
        mock!(aws_sdk_dynamodb::Client::get_item).then_output(|| GetItemOutput::builder().build());
    let put = mock!(aws_sdk_dynamodb::Client::put_item)
        .then_http_response(move || denied.json_response());
    let none = Vec::<&Rule>::new();
    let clients = Clients {
        ec2: ec2.client(),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, none.clone()),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get, &put]),
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, none.clone()),
        secrets: mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, none),
    };
    let d = Deps::new(
        config(&[]),
        call_check::checked(Function::InstanceGuard, clients),
        Some("us-east-1".into()),
    );
    let report = run(
        &d,
        Function::InstanceGuard,
        serde_json::json!({"ssr-onboard": "preflight", "instance_id": ID}),
    )
    .await;
    let claim = check(&report, "state.claim");
    assert_eq!(claim.status, CheckStatus::Problem);
    assert!(
        claim
            .fix
            .as_deref()
            .unwrap_or_default()
            .contains("dynamodb:PutItem"),
        "{claim:?}"
    );
    assert!(!report.passed());
}

#[tokio::test]
async fn when_a_hub_cannot_use_a_member_scope_then_that_scope_is_a_problem_and_the_hub_still_checks_its_own(
) {
    let ec2 = Ec2::new(&guide_router(), Answer::Allowed, Answer::Allowed);
    let table = Table::default();
    let d = deps(
        Function::InstanceGuard,
        ec2.client(),
        &table,
        config(&[
            ("HUB_ACCOUNT_ID", "111122223333"),
            ("MEMBER_ACCOUNTS", "444455556666"),
        ]),
    );
    let report = run(
        &d,
        Function::InstanceGuard,
        serde_json::json!({"ssr-onboard": "preflight"}),
    )
    .await;
    // Explicit clients carry no SDK configuration to assume the member role from: the scope is
    // reported, not skipped silently, and the hub's own checks still ran.
    let member = check(&report, "member.444455556666/us-east-1.assume-role");
    assert_eq!(member.status, CheckStatus::Problem, "{member:?}");
    assert_eq!(status(&report, "member.scopes"), CheckStatus::Ok);
    assert_eq!(
        status(&report, "ec2.modify-eni-dry-run.router-tag"),
        CheckStatus::Ok
    );
    assert!(!report.passed());
}
