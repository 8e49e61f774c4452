//! `ssr-onboard doctor` against moto and a local fake Mist: a good setup exits 0; a missing
//! table, TTL off, a rejected token, a token from another Mist cloud and a disabled rule are
//! problems (exit 3) named by their check. What moto cannot show is replayed with
//! aws-smithy-mocks: a `PendingConfirmation` subscription (moto confirms e-mail subscriptions at
//! once) and the functions' preflight (moto cannot invoke functions). `--stack` runs against a
//! plain CloudFormation stack with the outputs and parameters of infra/template.yaml (moto
//! cannot expand the SAM transform).

use crate::common;

use std::process::Output;

use aws_sdk_dynamodb::types::TimeToLiveSpecification;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use chrono::Utc;
use common::{cli, cli_env};
use ssr_core::check::CheckStatus;
use ssr_core::metrics::Function;
use ssr_core::Config;
use ssr_onboard::ops::doctor::{self, DoctorClients, DoctorOptions, DoctorReport};
use ssr_onboard::stack;
use ssr_onboard_tests::TestAws;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TABLE: &str = "ssr-onboard-doctor-state";
const ORG: &str = "a97c1b22-a4e9-411e-9bfd-d8695a0f9e61";
const TOKEN: &str = "doctor-test-token-not-a-real-one";
const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(o),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// The status of check `name` in doctor's JSON.
fn status(report: &serde_json::Value, name: &str) -> String {
    report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .map(|c| c["status"].as_str().unwrap_or_default().to_string())
        .unwrap_or_else(|| panic!("no check {name} in {report:#}"))
}

fn problems(report: &serde_json::Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|c| c["status"] == "problem")
                .map(|c| c["name"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A Mist cloud that knows the token and the org: `GET /api/v1/self` (Mist's `admin` shape) and
/// the gateway inventory; anything else, or another token, is 401 as Mist answers.
async fn mist_cloud_knowing_the_token() -> MockServer {
    let server = MockServer::start().await;
    let auth = format!("Token {TOKEN}");
    Mock::given(method("GET"))
        .and(path("/api/v1/self"))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "name": "ssr-onboard read token",
            "privileges": [{"scope": "org", "role": "read", "org_id": ORG, "org_name": "Demo"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/inventory")))
        .and(header("authorization", auth.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            serde_json::json!({"detail": "Authentication credentials were not provided."}),
        ))
        .with_priority(10)
        .mount(&server)
        .await;
    server
}

/// A Mist cloud that refuses every token (401), as the wrong cloud does.
async fn mist_cloud_refusing() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    server
}

/// The deployment's pieces in moto: the state table (TTL on `expires_at` when `ttl`), the alert
/// topic with a confirmed (SQS) subscription and a KMS key, the Mist token's secret.
struct Setup {
    topic_arn: String,
    queue_url: String,
    token_secret_arn: String,
}

async fn setup(aws: &TestAws, ttl: bool) -> Setup {
    aws.create_state_table(TABLE).await;
    if ttl {
        enable_ttl(aws, TABLE).await;
    }
    let capture = aws.alert_capture().await;
    let kms = aws_sdk_kms::Client::new(&aws.sdk);
    let key = kms
        .create_key()
        .description("alert topic key")
        .send()
        .await
        .expect("CreateKey")
        .key_metadata
        .expect("key metadata")
        .key_id;
    aws.sns
        .set_topic_attributes()
        .topic_arn(&capture.topic_arn)
        .attribute_name("KmsMasterKeyId")
        .attribute_value(&key)
        .send()
        .await
        .expect("SetTopicAttributes");
    let token_secret_arn = aws
        .secrets
        .create_secret()
        .name("ssr-onboard/mist-token")
        .secret_string(serde_json::json!({"token": TOKEN}).to_string())
        .send()
        .await
        .expect("CreateSecret")
        .arn
        .expect("secret ARN");
    Setup {
        topic_arn: capture.topic_arn,
        queue_url: capture.queue_url,
        token_secret_arn,
    }
}

/// The functions' settings for `s` and Mist at `mist_url`.
fn env<'a>(s: &'a Setup, mist_url: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("ALERT_TOPIC_ARN", s.topic_arn.as_str()),
        ("STATE_TABLE", TABLE),
        ("MIST_API_URL", mist_url),
        ("MIST_ORG_ID", ORG),
        ("MIST_TOKEN_SECRET_ARN", s.token_secret_arn.as_str()),
    ]
}

fn doctor(aws: &TestAws, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let mut args = vec!["doctor", "--output", "json"];
    args.extend_from_slice(extra);
    cli_env(aws.emulator.endpoint(), &args, env)
}

/// doctor as a library over this emulator, with `clouds` as Mist's clouds.
async fn run_doctor(aws: &TestAws, config: Config, clouds: &[String]) -> DoctorReport {
    doctor::run(
        &DoctorClients::new(&aws.sdk),
        DoctorOptions {
            stack: None,
            config: Ok(config),
            send_test_alert: false,
            mist_clouds: clouds.to_vec(),
            region: Some("us-east-1".into()),
            now: Utc::now(),
        },
    )
    .await
}

fn config(s: &Setup, mist_url: &str) -> Config {
    let vars = env(s, mist_url);
    Config::from_vars(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("valid config")
}

#[tokio::test]
async fn when_the_setup_is_good_then_doctor_exits_0_and_no_secret_is_printed() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    let uri = mist.uri();
    let out = doctor(&aws, &env(&s, &uri), &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["schema"], "ssr-onboard/doctor/v1");
    for name in [
        "config.valid",
        "alerts.topic",
        "alerts.topic-policy",
        "alerts.subscription-confirmed",
        "alerts.kms-key",
        "state-table.exists",
        "state-table.key-schema",
        "state-table.ttl",
        "mist.token-secret",
        "mist.token",
        "mist.org",
        "mist.inventory",
    ] {
        assert_eq!(status(&report, name), "ok", "{name}: {report:#}");
    }
    // Not one of Mist's clouds (a local fake): a warning, not a problem.
    assert_eq!(status(&report, "mist.api-url"), "warning");
    assert_eq!(status(&report, "preflight"), "skipped");
    assert!(!stdout(&out).contains(TOKEN));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(TOKEN));
    // The text form says the same, one line per check.
    let text = cli_env(aws.emulator.endpoint(), &["doctor"], &env(&s, &uri));
    assert_eq!(text.status.code(), Some(0));
    assert!(
        stdout(&text).contains("state-table.ttl"),
        "{}",
        stdout(&text)
    );
}

#[tokio::test]
async fn when_the_table_is_missing_or_ttl_is_off_then_exit_3_names_the_check() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, false).await;
    let uri = mist.uri();
    let out = doctor(&aws, &env(&s, &uri), &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "{report:#}");
    assert_eq!(problems(&report), vec!["state-table.ttl"], "{report:#}");
    let fix = report["checks"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == "state-table.ttl"))
        .map(|c| c["fix"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert!(fix.contains("update-time-to-live"), "{fix}");

    let mut missing = env(&s, &uri);
    missing.retain(|(k, _)| *k != "STATE_TABLE");
    missing.push(("STATE_TABLE", "no-such-table"));
    let out = doctor(&aws, &missing, &[]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(problems(&report), vec!["state-table.exists"], "{report:#}");
}

#[tokio::test]
async fn when_mist_refuses_the_token_everywhere_then_mist_token_is_a_problem() {
    let aws = TestAws::start().await;
    let refusing = mist_cloud_refusing().await;
    let s = setup(&aws, true).await;
    let report = run_doctor(&aws, config(&s, &refusing.uri()), &[refusing.uri()]).await;
    assert!(report.has_problems());
    let c = report.check("mist.token").expect("mist.token");
    assert_eq!(c.status, CheckStatus::Problem, "{c:?}");
    assert!(c.detail.contains("401"), "{}", c.detail);
    assert!(
        c.fix.as_deref().unwrap_or("").contains("API Token"),
        "{c:?}"
    );
    assert!(
        report.check("mist.inventory").is_none(),
        "no read after a refusal"
    );
    assert_eq!(ssr_onboard::commands::doctor::exit_code(&report), 3);
}

#[tokio::test]
async fn when_the_token_belongs_to_another_mist_cloud_then_the_fix_names_that_cloud() {
    let aws = TestAws::start().await;
    let wrong = mist_cloud_refusing().await;
    let right = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    let clouds = vec![wrong.uri(), right.uri()];
    let report = run_doctor(&aws, config(&s, &wrong.uri()), &clouds).await;
    let c = report.check("mist.token").expect("mist.token");
    assert_eq!(c.status, CheckStatus::Problem);
    assert!(
        c.fix
            .as_deref()
            .unwrap_or("")
            .contains(&format!("MistApiUrl={}", right.uri())),
        "{c:?}"
    );
    // And at the right cloud every Mist check passes.
    let report = run_doctor(&aws, config(&s, &right.uri()), &clouds).await;
    for name in ["mist.api-url", "mist.token", "mist.org", "mist.inventory"] {
        assert_eq!(
            report.check(name).map(|c| c.status),
            Some(CheckStatus::Ok),
            "{name}: {:?}",
            report.checks
        );
    }
}

#[tokio::test]
async fn when_the_org_is_not_the_tokens_then_mist_org_is_a_problem() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    let uri = mist.uri();
    let mut vars = env(&s, &uri);
    vars.retain(|(k, _)| *k != "MIST_ORG_ID");
    vars.push(("MIST_ORG_ID", "00000000-0000-0000-0000-000000000000"));
    let config = Config::from_vars(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("valid");
    let report = run_doctor(&aws, config, std::slice::from_ref(&uri)).await;
    let c = report.check("mist.org").expect("mist.org");
    assert_eq!(c.status, CheckStatus::Problem);
    assert!(
        c.detail.contains(ORG),
        "names the org the token sees: {}",
        c.detail
    );
}

#[tokio::test]
async fn when_send_test_alert_then_a_test_alert_and_its_resolve_arrive() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    let uri = mist.uri();
    let out = doctor(&aws, &env(&s, &uri), &["--send-test-alert"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(status(&report, "alerts.test-alert"), "ok");
    let capture = ssr_sandbox::world::AlertCapture {
        topic_arn: s.topic_arn.clone(),
        queue_url: s.queue_url.clone(),
    };
    let alerts = aws.sandbox.drain_alerts(&capture).await.expect("drain");
    let actions: Vec<(String, String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a.attributes.get("kind").cloned().unwrap_or_default(),
                a.attributes.get("severity").cloned().unwrap_or_default(),
                a.attributes.get("action").cloned().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        actions.contains(&("test".into(), "info".into(), "trigger".into())),
        "{actions:?}"
    );
    assert!(
        actions.contains(&("test".into(), "info".into(), "resolve".into())),
        "{actions:?}"
    );
    assert!(alerts
        .iter()
        .all(|a| a.attributes.get("incident_key").map(String::as_str) == Some("ssr-onboard/test")));
}

/// `ListSubscriptionsByTopic` as AWS documents its answer, with an e-mail subscription nobody
/// confirmed yet (`SubscriptionArn` = `PendingConfirmation`) beside a confirmed one.
const PENDING_SUBSCRIPTIONS: &str = r#"<ListSubscriptionsByTopicResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">
  <ListSubscriptionsByTopicResult>
    <Subscriptions>
      <member>
        <TopicArn>arn:aws:sns:us-east-1:123456789012:ssr-onboard-AlertTopic-1ABC</TopicArn>
        <Protocol>email</Protocol>
        <SubscriptionArn>PendingConfirmation</SubscriptionArn>
        <Owner>123456789012</Owner>
        <Endpoint>noc@example.com</Endpoint>
      </member>
      <member>
        <TopicArn>arn:aws:sns:us-east-1:123456789012:ssr-onboard-AlertTopic-1ABC</TopicArn>
        <Protocol>sqs</Protocol>
        <SubscriptionArn>arn:aws:sns:us-east-1:123456789012:ssr-onboard-AlertTopic-1ABC:80289ba6-0fd4-4079-afb4-ce8c8260f0ca</SubscriptionArn>
        <Owner>123456789012</Owner>
        <Endpoint>arn:aws:sqs:us-east-1:123456789012:pager</Endpoint>
      </member>
    </Subscriptions>
  </ListSubscriptionsByTopicResult>
  <ResponseMetadata>
    <RequestId>b9275252-3774-11df-9540-99d0768312d3</RequestId>
  </ResponseMetadata>
</ListSubscriptionsByTopicResponse>"#;

#[tokio::test]
async fn when_a_subscription_is_pending_confirmation_then_it_is_a_problem() {
    let rule = mock!(aws_sdk_sns::Client::list_subscriptions_by_topic).then_http_response(|| {
        Response::new(
            StatusCode::try_from(200).expect("status"),
            SdkBody::from(PENDING_SUBSCRIPTIONS),
        )
    });
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
    let c = doctor::check_subscriptions(
        &sns,
        "arn:aws:sns:us-east-1:123456789012:ssr-onboard-AlertTopic-1ABC",
    )
    .await
    .expect("answered");
    assert_eq!(c.status, CheckStatus::Problem, "{c:?}");
    assert!(
        c.detail
            .contains("1 subscription(s) PendingConfirmation (email), 1 confirmed"),
        "{}",
        c.detail
    );
    assert!(c
        .fix
        .as_deref()
        .unwrap_or("")
        .contains("Subscription Confirmation"));
    assert!(!c.detail.contains("noc@example.com"), "no address printed");
}

/// Lambda's Invoke answer: the function's result as the body; a function error adds
/// `X-Amz-Function-Error` and the error document as the body (status 200 either way).
fn invoke_response(body: String, function_error: Option<&'static str>) -> Response {
    let mut r = Response::new(
        StatusCode::try_from(200).expect("status"),
        SdkBody::from(body),
    );
    r.headers_mut().insert("X-Amz-Executed-Version", "$LATEST");
    if let Some(e) = function_error {
        r.headers_mut().insert("X-Amz-Function-Error", e);
    }
    r
}

#[tokio::test]
async fn when_doctor_invokes_a_preflight_then_each_of_its_checks_is_reported_under_the_function() {
    let report = serde_json::json!({
        "schema": "ssr-onboard/preflight/v1",
        "function": "instance-guard",
        "version": "0.1.0",
        "checks": [
            {"name": "ec2.describe-instances", "status": "ok", "detail": "allowed"},
            {"name": "ec2.modify-eni-dry-run", "status": "problem", "detail": "UnauthorizedOperation", "fix": "add ec2:ModifyNetworkInterfaceAttribute"}
        ]
    })
    .to_string();
    let ok = mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(|r| {
            r.function_name() == Some("ssr-onboard-InstanceGuardFunction-1A")
                && r.payload().map(|p| p.as_ref())
                    == Some(br#"{"ssr-onboard": "preflight"}"#.as_slice())
        })
        .then_http_response(move || invoke_response(report.clone(), None));
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&ok]);
    let checks = doctor::check_preflight(
        &lambda,
        Function::InstanceGuard,
        "ssr-onboard-InstanceGuardFunction-1A",
    )
    .await;
    let names: Vec<(&str, CheckStatus)> =
        checks.iter().map(|c| (c.name.as_str(), c.status)).collect();
    assert_eq!(
        names,
        vec![
            ("preflight.instance-guard", CheckStatus::Problem),
            (
                "preflight.instance-guard.ec2.describe-instances",
                CheckStatus::Ok
            ),
            (
                "preflight.instance-guard.ec2.modify-eni-dry-run",
                CheckStatus::Problem
            ),
        ]
    );

    // A function that fails (or predates the preflight) is a problem saying what to do.
    let failed = mock!(aws_sdk_lambda::Client::invoke).then_http_response(|| {
        invoke_response(
            r#"{"errorType":"Config","errorMessage":"STATE_TABLE: the onboarding watchdog needs a state table"}"#.to_string(),
            Some("Unhandled"),
        )
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&failed]);
    let checks = doctor::check_preflight(&lambda, Function::OnboardingWatchdog, "w").await;
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].status, CheckStatus::Problem);
    assert!(
        checks[0].detail.contains("Config: STATE_TABLE"),
        "{}",
        checks[0].detail
    );
}

// ---- --stack: a plain CloudFormation stack with infra/template.yaml's parameters and outputs ---

/// infra/template.yaml's `Parameters:` block, verbatim (every parameter has a default).
fn template_parameters() -> String {
    let start = TEMPLATE.find("\nParameters:\n").expect("Parameters block") + 1;
    let end = TEMPLATE[start..]
        .find("\nConditions:\n")
        .expect("Conditions after Parameters")
        + start
        + 1;
    TEMPLATE[start..end].to_string()
}

/// infra/template.yaml's unconditional outputs (the conditional ones need a hub or a webhook).
fn template_outputs() -> Vec<String> {
    let start = TEMPLATE.find("\nOutputs:\n").expect("Outputs block");
    let mut names = Vec::new();
    let mut current: Option<String> = None;
    let mut conditional = false;
    for line in TEMPLATE[start + 1..].lines().skip(1) {
        if let Some(name) = line.strip_prefix("  ").filter(|l| !l.starts_with(' ')) {
            if let Some(n) = current.take() {
                if !conditional {
                    names.push(n);
                }
            }
            current = Some(name.trim_end_matches(':').to_string());
            conditional = false;
        } else if line.trim_start().starts_with("Condition:") {
            conditional = true;
        } else if !line.starts_with(' ') && !line.is_empty() {
            break;
        }
    }
    if let Some(n) = current.filter(|_| !conditional) {
        names.push(n);
    }
    names
}

/// The stack: the resources the checks read (table with TTL, topic, queue, the functions with
/// the template's environment, the SAM-generated rules with their logical ids) and the same
/// parameters and unconditional outputs as infra/template.yaml.
fn plain_stack_template(mist_url: &str, token_secret_arn: &str, disabled_rule: bool) -> String {
    let function = |logical: &str| {
        format!(
            r#"  {logical}:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt FunctionRole.Arn
      Code:
        ZipFile: "def handler(event, context):\n    return {{}}\n"
      Environment:
        Variables:
          ALERT_TOPIC_ARN: !Ref AlertTopic
          STATE_TABLE: !Ref StateTable
          ROUTER_TAG_KEY: !Ref RouterTagKey
          DRY_RUN: !Ref DryRun
          ENABLED: !Ref Enabled
          MIST_API_URL: "{mist_url}"
          MIST_ORG_ID: "{ORG}"
          MIST_TOKEN_SECRET_ARN: "{token_secret_arn}"
"#
        )
    };
    let rule = |logical: &str, target: &str, state: &str, schedule: bool| {
        let trigger = if schedule {
            "      ScheduleExpression: rate(1 minute)\n".to_string()
        } else {
            "      EventPattern:\n        source: [aws.ec2]\n".to_string()
        };
        format!(
            r#"  {logical}:
    Type: AWS::Events::Rule
    Properties:
      Name: !Sub ${{AWS::StackName}}-{logical}
      State: {state}
{trigger}      Targets:
        - Id: {logical}Target
          Arn: !GetAtt {target}.Arn
"#
        )
    };
    let mut t = String::from("AWSTemplateFormatVersion: \"2010-09-09\"\n");
    t.push_str(&template_parameters());
    t.push_str("Resources:\n");
    t.push_str(
        r#"  StateTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: pk
          AttributeType: S
      KeySchema:
        - AttributeName: pk
          KeyType: HASH
      TimeToLiveSpecification:
        AttributeName: expires_at
        Enabled: true
  AlertTopicKey:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS: !Sub arn:${AWS::Partition}:iam::${AWS::AccountId}:root
            Action: kms:*
            Resource: "*"
  AlertTopic:
    Type: AWS::SNS::Topic
  FailedEventsQueue:
    Type: AWS::SQS::Queue
  FunctionRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              Service: lambda.amazonaws.com
            Action: sts:AssumeRole
"#,
    );
    for f in [
        "InstanceGuardFunction",
        "StackWatchFunction",
        "OnboardingWatchdogFunction",
    ] {
        t.push_str(&function(f));
    }
    let state = |off: bool| if off { "DISABLED" } else { "ENABLED" };
    t.push_str(&rule(
        "InstanceGuardFunctionEc2StateChange",
        "InstanceGuardFunction",
        state(disabled_rule),
        false,
    ));
    t.push_str(&rule(
        "StackWatchFunctionStackStatusChange",
        "StackWatchFunction",
        "ENABLED",
        false,
    ));
    t.push_str(&rule(
        "OnboardingWatchdogFunctionSweep",
        "OnboardingWatchdogFunction",
        "ENABLED",
        true,
    ));
    t.push_str(
        r#"Outputs:
  AlertTopicArn:
    Value: !Ref AlertTopic
  AlertTopicKeyArn:
    Value: !GetAtt AlertTopicKey.Arn
  DashboardName:
    Value: !Sub ${AWS::StackName}-dashboard
  StateTableName:
    Value: !Ref StateTable
  FailedEventsQueueUrl:
    Value: !Ref FailedEventsQueue
  InstanceGuardFunctionName:
    Value: !Ref InstanceGuardFunction
  StackWatchFunctionName:
    Value: !Ref StackWatchFunction
  OnboardingWatchdogFunctionName:
    Value: !Ref OnboardingWatchdogFunction
  GuardServiceToken:
    Value: !GetAtt StackWatchFunction.Arn
"#,
    );
    t
}

async fn create_stack(aws: &TestAws, name: &str, body: &str) {
    aws.cloudformation
        .create_stack()
        .stack_name(name)
        .template_body(body)
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityIam)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "CreateStack: {}",
                aws_sdk_cloudformation::error::DisplayErrorContext(&e)
            )
        });
    // moto's CloudFormation ignores the table's TimeToLiveSpecification (real CloudFormation
    // enables it): enable it as the template asks.
    let table = stack::resolve(&aws.sdk, name)
        .await
        .expect("stack read")
        .state_table()
        .expect("StateTableName output");
    enable_ttl(aws, &table).await;
}

async fn enable_ttl(aws: &TestAws, table: &str) {
    aws.dynamodb
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()
                .expect("ttl spec"),
        )
        .send()
        .await
        .expect("UpdateTimeToLive");
}

#[tokio::test]
async fn when_a_stack_is_given_then_settings_come_from_it_and_a_disabled_rule_is_a_problem() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    let body = plain_stack_template(&mist.uri(), &s.token_secret_arn, true);
    // The plain stack has the template's parameters and unconditional outputs.
    for output in template_outputs() {
        assert!(
            body.contains(&format!("\n  {output}:\n")),
            "output {output} missing"
        );
    }
    create_stack(&aws, "ssr-onboard", &body).await;

    let deployed = stack::resolve(&aws.sdk, "ssr-onboard")
        .await
        .expect("stack read");
    assert_eq!(
        deployed.parameters.get("Enabled").map(String::as_str),
        Some("true")
    );
    assert_eq!(deployed.functions.len(), 3, "{:?}", deployed.functions);
    let config = deployed.config().expect("valid deployed config");
    assert_eq!(config.mist.org_id.as_deref(), Some(ORG));
    assert_eq!(config.state_table, deployed.state_table());

    let out = doctor(&aws, &[], &["--stack", "ssr-onboard"]);
    let report = json(&out);
    assert_eq!(out.status.code(), Some(3), "{report:#}");
    assert_eq!(report["stack"], "ssr-onboard");
    assert_eq!(
        status(&report, "events.rule.InstanceGuardFunctionEc2StateChange"),
        "problem"
    );
    assert_eq!(
        status(&report, "events.rule.StackWatchFunctionStackStatusChange"),
        "ok"
    );
    assert_eq!(status(&report, "events.schedule"), "ok");
    assert_eq!(status(&report, "stack.status"), "ok");
    assert_eq!(status(&report, "dlq.empty"), "ok");
    assert_eq!(
        status(&report, "state-table.ttl"),
        "ok",
        "the stack's own table"
    );
    assert_eq!(status(&report, "mist.token"), "ok");
    assert!(
        problems(&report).contains(&"events.rule.InstanceGuardFunctionEc2StateChange".to_string()),
        "{report:#}"
    );

    // report --stack reads the stack's table (no --table, no STATE_TABLE).
    let out = cli(
        aws.emulator.endpoint(),
        &["report", "--stack", "ssr-onboard", "--output", "json"],
    );
    let r = json(&out);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    assert_eq!(
        Some(r["table"].as_str().unwrap_or_default().to_string()),
        deployed.state_table()
    );

    // An unknown stack is a usage error.
    let out = cli(
        aws.emulator.endpoint(),
        &["report", "--stack", "no-such-stack"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn when_the_stack_is_good_and_each_preflight_passes_then_doctor_finds_no_problem() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    create_stack(
        &aws,
        "ssr-onboard",
        &plain_stack_template(&mist.uri(), &s.token_secret_arn, false),
    )
    .await;
    // The stack's topic gets a confirmed subscription, as on-call's would be.
    let deployed = stack::resolve(&aws.sdk, "ssr-onboard")
        .await
        .expect("stack read");
    let topic = deployed
        .output(stack::ALERT_TOPIC_OUTPUT)
        .expect("topic output")
        .to_string();
    aws.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint("arn:aws:sqs:us-east-1:123456789012:on-call")
        .send()
        .await
        .expect("Subscribe");
    // moto cannot invoke functions: the preflight answers come from aws-smithy-mocks.
    let answer = mock!(aws_sdk_lambda::Client::invoke).then_http_response(|| {
        invoke_response(
            serde_json::json!({
                "schema": "ssr-onboard/preflight/v1", "function": "any", "version": "0.1.0",
                "checks": [{"name": "state-table.write", "status": "ok", "detail": "conditional put and delete allowed"}]
            })
            .to_string(),
            None,
        )
    });
    let mut clients = DoctorClients::new(&aws.sdk);
    clients.lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&answer]);
    let config = deployed.config().map_err(|e| e.to_string());
    let report = doctor::run(
        &clients,
        DoctorOptions {
            stack: Some(deployed),
            config,
            send_test_alert: false,
            mist_clouds: vec![mist.uri()],
            region: Some("us-east-1".into()),
            now: Utc::now(),
        },
    )
    .await;
    let problems: Vec<_> = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Problem)
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    for f in ["instance-guard", "stack-watch", "onboarding-watchdog"] {
        assert_eq!(
            report.check(&format!("preflight.{f}")).map(|c| c.status),
            Some(CheckStatus::Ok),
            "{:?}",
            report.checks
        );
    }
    assert_eq!(answer.num_calls(), 3, "one preflight per deployed function");
    assert!(report.not_checked.is_empty(), "{:?}", report.not_checked);
    assert_eq!(ssr_onboard::commands::doctor::exit_code(&report), 0);
}

#[tokio::test]
async fn when_a_hub_covers_a_member_never_read_then_it_is_reported_as_never_enrolled() {
    let aws = TestAws::start().await;
    let mist = mist_cloud_knowing_the_token().await;
    let s = setup(&aws, true).await;
    // The watchdog's history: 444455556666 was read once, 777788889999 never.
    aws.dynamodb
        .put_item()
        .table_name(TABLE)
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("member-enrolled#444455556666".into()),
        )
        .item(
            "kind",
            aws_sdk_dynamodb::types::AttributeValue::S("member-enrolled".into()),
        )
        .item(
            "account",
            aws_sdk_dynamodb::types::AttributeValue::S("444455556666".into()),
        )
        .item(
            "enrolled_at",
            aws_sdk_dynamodb::types::AttributeValue::N("1790000000".into()),
        )
        .send()
        .await
        .expect("PutItem");
    let uri = mist.uri();
    let mut vars = env(&s, &uri);
    vars.push(("HUB_ACCOUNT_ID", "123456789012"));
    vars.push(("MEMBER_ACCOUNTS", "444455556666,777788889999"));
    let config = Config::from_vars(|k| {
        vars.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    })
    .expect("valid hub config");
    let report = run_doctor(&aws, config, std::slice::from_ref(&uri)).await;
    assert_eq!(
        report.check("organization.scopes").map(|c| c.status),
        Some(CheckStatus::Ok),
        "{:?}",
        report.checks
    );
    assert_eq!(
        report.check("organization.444455556666").map(|c| c.status),
        Some(CheckStatus::Ok)
    );
    let never = report
        .check("organization.777788889999")
        .expect("the member never read");
    assert_eq!(never.status, CheckStatus::Warning);
    assert!(
        never.detail.starts_with("never enrolled"),
        "{}",
        never.detail
    );
    assert!(never.fix.as_deref().unwrap_or("").contains("member.yaml"));
}
