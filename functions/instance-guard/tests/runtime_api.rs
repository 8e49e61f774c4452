//! The real `instance-guard` binary, driven as Lambda drives it: a local Lambda Runtime API stub
//! (wiremock) hands it one invocation and records what the function posts back.

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
const NEXT: &str = "/2018-06-01/runtime/invocation/next";

/// Serves `event` once as the next invocation, then holds further `next` calls (as Lambda does
/// between invocations); answers the function's response and error posts.
async fn runtime_stub(event: Value) -> MockServer {
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
                    "arn:aws:lambda:us-east-1:123456789012:function:instance-guard",
                )
                .set_body_json(event),
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
    server
}

/// Runs the binary against the stub until it posted a result; returns (path, body, stdout).
async fn invoke(event: Value) -> (String, Value, String) {
    let server = runtime_stub(event).await;
    let api = server.uri().trim_start_matches("http://").to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_instance-guard"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "instance-guard")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/instance-guard")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/02/[$LATEST]0")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        // Nothing may reach AWS for a malformed event: a closed port makes any call fail.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("RUST_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the instance-guard binary starts");
    let mut posted = None;
    for _ in 0..200 {
        let requests = server.received_requests().await.unwrap_or_default();
        if let Some(r) = requests.iter().find(|r| r.method.as_str() == "POST") {
            posted = Some((r.url.path().to_string(), r.body.clone()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("the binary's output");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let (path, body) = posted.unwrap_or_else(|| {
        panic!(
            "the function posted nothing; stdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let body: Value = serde_json::from_slice(&body).expect("the posted body is JSON");
    (path, body, stdout)
}

#[tokio::test]
async fn when_an_event_is_malformed_then_lambda_gets_a_named_error_type_and_every_log_line_has_the_request_id(
) {
    let (path, body, stdout) = invoke(json!({"hello": "not an EC2 event"})).await;
    assert_eq!(
        path,
        format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/error")
    );
    assert_eq!(body["errorType"], "MalformedEvent", "{body}");
    assert!(
        body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("EC2 Instance State-change Notification")),
        "{body}"
    );
    let lines: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let invocation: Vec<&Value> = lines
        .iter()
        .filter(|l| l.to_string().contains("invocation failed"))
        .collect();
    assert!(
        !invocation.is_empty(),
        "the failure is logged as JSON: {stdout}"
    );
    for l in invocation {
        assert!(
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["requestId"] == REQUEST_ID)),
            "log line without the request id: {l}"
        );
        assert_eq!(l["error_type"], "MalformedEvent");
    }
}

#[tokio::test]
async fn when_an_invocation_fails_then_its_duration_is_still_an_emf_metric_on_stdout() {
    let (_, _, stdout) = invoke(json!({"hello": "not an EC2 event"})).await;
    let emf: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l.get("_aws").is_some())
        .collect();
    assert_eq!(emf.len(), 1, "one EMF document: {stdout}");
    let doc = &emf[0];
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SsrOnboard",
        "{doc}"
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Function"]])
    );
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "DurationMs", "Unit": "Milliseconds"}])
    );
    assert_eq!(doc["Function"], "instance-guard");
    assert!(doc["DurationMs"].is_number(), "{doc}");
    assert!(doc["_aws"]["Timestamp"].is_i64(), "{doc}");
}

#[tokio::test]
async fn when_the_function_starts_and_answers_then_the_cold_start_line_and_the_result_name_the_build(
) {
    // A terminated instance short-circuits before any AWS call: a successful invocation.
    let event: Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/ec2-state-change-terminated.json"
    ))
    .expect("fixture parses");
    let (path, body, stdout) = invoke(event).await;
    assert_eq!(
        path,
        format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response"),
        "{body}"
    );
    let build = ssr_core::build_info::describe();
    assert_eq!(body["version"], build.as_str(), "{body}");
    assert_eq!(body["instance_id"], "i-abcd1111", "{body}");
    let cold: Vec<Value> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["message"] == "cold start")
        .collect();
    assert_eq!(cold.len(), 1, "one cold start line: {stdout}");
    assert_eq!(cold[0]["version"], build.as_str(), "{stdout}");
}
