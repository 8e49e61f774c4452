//! The real `instance-guard` binary answers the preflight event (`{"ssr-onboard":
//! "preflight"}`) with a preflight report, not as an EC2 event: driven through a local Lambda
//! Runtime API stub (wiremock), with every AWS endpoint closed so each check reports its failure.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REQUEST_ID: &str = "0f3c2a55-1b7e-4c55-9d0e-6a1f2b3c4d5e";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

#[tokio::test]
async fn when_lambda_delivers_the_preflight_event_then_the_binary_answers_a_preflight_report() {
    let server = MockServer::start().await;
    let deadline_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() + 30_000)
        .unwrap_or_default();
    Mock::given(method("GET"))
        .and(path(NEXT))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Lambda-Runtime-Aws-Request-Id", REQUEST_ID)
                .insert_header(
                    "Lambda-Runtime-Deadline-Ms",
                    deadline_ms.to_string().as_str(),
                )
                .insert_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:instance-guard:7",
                )
                .set_body_json(
                    json!({"ssr-onboard": "preflight", "instance_id": "i-0abc1234567890def"}),
                ),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(NEXT))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(600)))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202))
        .mount(&server)
        .await;
    let api = server.uri().trim_start_matches("http://").to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_instance-guard"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "instance-guard")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "7")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/instance-guard")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/06/[7]0")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        // Every AWS call fails at once (a closed port, one attempt): the report says so.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("STATE_TABLE", "ssr-onboard-state")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the instance-guard binary starts");
    let mut posted = None;
    for _ in 0..400 {
        let requests = server.received_requests().await.unwrap_or_default();
        if let Some(r) = requests.iter().find(|r| r.method.as_str() == "POST") {
            posted = Some((r.url.path().to_string(), r.body.clone()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("the binary's output");
    let (path, body) = posted.unwrap_or_else(|| {
        panic!(
            "the function posted nothing; stderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert_eq!(
        path,
        format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response")
    );
    let report: Value = serde_json::from_slice(&body).expect("the posted body is JSON");
    assert_eq!(report["schema"], "ssr-onboard/preflight/v1", "{report}");
    assert_eq!(report["function"], "instance-guard", "{report}");
    let checks = report["checks"].as_array().expect("checks");
    let named = |name: &str| {
        checks
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {report}"))
    };
    // The state item is keyed by the invocation's request id; nothing answered.
    assert_eq!(named("state.claim")["status"], "problem", "{report}");
    assert_eq!(
        named("ec2.describe-instances")["status"],
        "problem",
        "{report}"
    );
}
