//! The custom resource never logs its pre-signed ResponseURL's signature or query, at the most
//! verbose level the Lambda allows, on success, on a 5xx retry and when the PUT cannot connect.
//! (Its own test binary: `tracing`'s per-thread subscriber is reliable only without other tests
//! racing on callsite registration.)

use crate::call_check;
use crate::log_capture;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_smithy_mocks::{mock_client, Rule, RuleMode};
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::custom_resource::{handle_request, ResponseSender};
use ssr_core::metrics::Function;
use ssr_core::Config;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const DELETE: &str = include_str!("../../../tests/fixtures/cfn-custom-resource-delete.json");
const SIGNATURE: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a39281706f5e4d3c2b1a0";
const CREDENTIAL: &str = "ASIAEXAMPLEDONOTLOG01";

fn deps() -> Deps {
    let none = Vec::<&Rule>::new();
    let clients = Clients {
        ec2: mock_client!(aws_sdk_ec2, RuleMode::MatchAny, none.clone()),
        sns: mock_client!(aws_sdk_sns, RuleMode::MatchAny, none.clone()),
        dynamodb: mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, none.clone()),
        cloudformation: mock_client!(aws_sdk_cloudformation, RuleMode::MatchAny, none.clone()),
        secrets: mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, none),
    };
    let vars: HashMap<String, String> = HashMap::new();
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    // The custom resource provider is the stack-watch function.
    let clients = call_check::checked(Function::StackWatch, clients);
    Deps::new(config, clients, Some("us-east-1".into()))
}

/// The Delete fixture answered at `base`, with a pre-signed query like S3's.
fn request(base: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(DELETE).expect("fixture");
    v["ResponseURL"] = format!(
        "{base}/cfn-response/RouterGuard?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={CREDENTIAL}%2F20211111%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature={SIGNATURE}"
    )
    .into();
    v
}

#[tokio::test]
async fn when_the_custom_resource_answers_at_trace_level_then_no_signature_or_query_is_logged() {
    let (logs, _guard) = log_capture::capture_at_lambda_trace();
    let d = deps();
    let sender = ResponseSender::with_client(reqwest::Client::new(), 3, Duration::from_millis(5));
    let deadline = || SystemTime::now() + Duration::from_secs(60);

    // A 503 first (retried), then success.
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
    let out = handle_request(&d, &sender, request(&s.uri()), deadline())
        .await
        .expect("answered");
    assert!(out.response_sent);
    assert_eq!(s.received_requests().await.map(|r| r.len()), Some(2));

    // Nothing listens: every PUT fails to connect.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let err = handle_request(
        &d,
        &sender,
        request(&format!("http://127.0.0.1:{port}")),
        deadline(),
    )
    .await
    .expect_err("not delivered");

    let text = logs.text();
    assert!(
        text.contains("custom resource response PUT failed"),
        "the failure paths ran and logged:\n{text}"
    );
    for (what, haystack) in [("logs", text.as_str()), ("error", &err.to_string())] {
        assert!(!haystack.contains(SIGNATURE), "signature in {what}");
        assert!(!haystack.contains(CREDENTIAL), "credential in {what}");
        assert!(!haystack.contains("X-Amz-"), "pre-signed query in {what}");
    }
}
