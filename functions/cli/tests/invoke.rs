//! `ssr-onboard invoke`: the exit-code contract (0 success, 1 AWS failure, 2 malformed event or
//! bad configuration) and the JSON result, with the real binary.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use ssr_onboard_tests::{RouterSpec, TestAws, REG_CODE};

const BIN: &str = env!("CARGO_BIN_EXE_ssr-onboard");

/// The EC2 state-change fixture's path, for `--event <file>`.
fn fixture_file() -> String {
    ssr_testkit::fixtures::fixture_path("ec2-state-change-running")
        .to_string_lossy()
        .into_owned()
}

fn invoke(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn ssr-onboard");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
    }
    drop(child.stdin.take());
    child.wait_with_output().expect("wait")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn when_event_is_not_json_then_exit_2_with_message() {
    let out = invoke(
        &["invoke", "instance-guard", "--event", "-"],
        &[],
        Some("not json"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("malformed event"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn when_event_has_wrong_shape_then_exit_2() {
    let out = invoke(
        &["invoke", "instance-guard", "--event", "-"],
        &[],
        Some(r#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("EC2 Instance State-change Notification"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn when_event_file_missing_then_exit_2() {
    let out = invoke(
        &[
            "invoke",
            "instance-guard",
            "--event",
            "/nonexistent/event.json",
        ],
        &[],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot read"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn when_configuration_is_bad_then_exit_2_naming_the_variable() {
    let out = invoke(
        &["invoke", "instance-guard", "--event", &fixture_file()],
        &[("DRY_RUN", "perhaps")],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("DRY_RUN"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn when_aws_is_unreachable_then_exit_1() {
    // A port nothing listens on: the SDK's connection attempts fail.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let endpoint = format!("http://127.0.0.1:{port}");
    let out = invoke(
        &["invoke", "instance-guard", "--event", &fixture_file()],
        &[("AWS_ENDPOINT_URL", &endpoint)],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    // DescribeInstances and DescribeNetworkInterfaces go out together: either fails first.
    assert!(
        text(&out.stderr).contains("DescribeInstances")
            || text(&out.stderr).contains("DescribeNetworkInterfaces"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test]
async fn when_router_event_invoked_against_emulator_then_exit_0_and_json_result() {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;
    let router = aws.launch_router(&vpc, &RouterSpec::guide("cli-1")).await;
    let mut event = ssr_testkit::fixture("ec2-state-change-running");
    event["detail"]["instance-id"] = router.instance_id.clone().into();
    let endpoint = aws.emulator.endpoint().to_string();
    let out = tokio::task::spawn_blocking(move || {
        invoke(
            &["invoke", "instance-guard", "--event", "-"],
            &[("AWS_ENDPOINT_URL", &endpoint)],
            Some(&event.to_string()),
        )
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is the JSON result");
    assert_eq!(result["instance_id"], router.instance_id.as_str());
    assert_eq!(result["selected"], true);
    assert_eq!(result["actions"].as_array().map(Vec::len), Some(2));
    assert!(!text(&out.stdout).contains(REG_CODE) && !text(&out.stderr).contains(REG_CODE));
}

/// Standard base64 (the test needs only encoding; no extra dependency).
fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..=c.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        for _ in c.len()..3 {
            out.push('=');
        }
    }
    out
}

/// What `secret` looks like inside any base64 stream, at each of its three alignments.
fn b64_fragments(secret: &str) -> Vec<String> {
    (0..3)
        .filter_map(|skip| {
            let rest = secret.as_bytes().get(skip..)?;
            let whole = rest.len() / 3 * 3;
            (whole >= 6).then(|| b64(&rest[..whole]))
        })
        .collect()
}

#[test]
fn when_base64_is_encoded_then_it_matches_the_standard_alphabet() {
    assert_eq!(b64(b"Man"), "TWFu");
    assert_eq!(b64(b"Ma"), "TWE=");
    assert_eq!(b64(b"M"), "TQ==");
}

#[tokio::test]
async fn when_invoked_with_vv_then_trace_logs_hold_no_registration_code_plain_or_base64() {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;
    let router = aws.launch_router(&vpc, &RouterSpec::guide("cli-vv")).await;
    let mut event: serde_json::Value = serde_json::from_str(include_str!(
        "../../../tests/fixtures/ec2-state-change-running.json"
    ))
    .expect("fixture");
    event["detail"]["instance-id"] = router.instance_id.clone().into();
    let endpoint = aws.emulator.endpoint().to_string();
    let out = tokio::task::spawn_blocking(move || {
        invoke(
            &["-vv", "invoke", "instance-guard", "--event", "-"],
            &[
                ("AWS_ENDPOINT_URL", &endpoint),
                ("READBACK_BACKOFF_MS", "1"),
            ],
            Some(&event.to_string()),
        )
    })
    .await
    .expect("join");
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "-vv logged:\n{stderr}"
    );
    for (what, haystack) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(!haystack.contains(REG_CODE), "registration code in {what}");
        for fragment in b64_fragments(REG_CODE) {
            assert!(
                !haystack.contains(&fragment),
                "registration code (base64 `{fragment}`) in {what}"
            );
        }
    }
}

const WEBHOOK_SECRET: &str = "cli-webhook-secret-do-not-leak-0b7e";

/// The Function URL request fixture (payload format 2.0) carrying a one-event `device-events`
/// delivery about `router` (built from the Mist fixture's `GW_ZTP_FINISHED` event), signed with
/// `secret` the way Mist signs (hex HMAC-SHA256 of the raw body).
fn webhook_request(router: &str, secret: &str) -> serde_json::Value {
    let mist = ssr_testkit::fixture("mist/webhook-device-events");
    let mut ev = mist["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "GW_ZTP_FINISHED"))
        .cloned()
        .expect("a GW_ZTP_FINISHED event in the fixture");
    ev["device_name"] = router.into();
    ev["timestamp"] = now_epoch().into();
    let body = serde_json::json!({"topic": mist["topic"], "events": [ev]}).to_string();
    let mut req = ssr_testkit::fixture("function-url-request");
    req["headers"]["x-mist-signature-v2"] =
        ssr_core::mist::webhook::signature_hex(secret.as_bytes(), body.as_bytes()).into();
    req["body"] = body.into();
    req
}

fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// stdout as the Function URL's answer: `{"statusCode", "headers", "body"}`.
fn http_answer(out: &Output) -> serde_json::Value {
    let stdout = text(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not the HTTP answer ({e}): {stdout}"));
    assert!(v["headers"].is_object(), "{v:#}");
    assert!(v["body"].is_string(), "{v:#}");
    for (what, t) in [("stdout", stdout), ("stderr", text(&out.stderr))] {
        assert!(!t.contains(WEBHOOK_SECRET), "webhook secret in {what}");
    }
    v
}

#[tokio::test]
async fn when_mist_webhook_gets_a_signed_delivery_then_it_prints_status_200_and_exits_0() {
    let aws = TestAws::start().await;
    aws.create_state_table("cli-state").await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws
        .launch_router(&vpc, &RouterSpec::guide("cli-hook"))
        .await;
    let event = webhook_request("cli-hook", WEBHOOK_SECRET);
    let endpoint = aws.emulator.endpoint().to_string();
    let out = tokio::task::spawn_blocking(move || {
        invoke(
            &["invoke", "mist-webhook", "--event", "-"],
            &[
                ("AWS_ENDPOINT_URL", &endpoint),
                ("STATE_TABLE", "cli-state"),
                ("ALERT_TOPIC_ARN", &capture.topic_arn),
                ("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET),
                // No Mist API here: the event alone ends the episode.
                ("MIST_VERSION_CHECK", "off"),
            ],
            Some(&event.to_string()),
        )
    })
    .await
    .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = http_answer(&out);
    assert_eq!(v["statusCode"], 200, "{v:#}");
    let summary: serde_json::Value =
        serde_json::from_str(v["body"].as_str().unwrap_or_default()).expect("JSON body");
    assert_eq!(summary["results"][0]["outcome"], "finished", "{summary:#}");
    assert_eq!(
        summary["results"][0]["instance_id"],
        router.instance_id.as_str()
    );
}

#[test]
fn when_mist_webhook_signature_is_wrong_then_it_prints_status_401_and_still_exits_0() {
    let mut event = webhook_request("cli-hook", "another-secret");
    let out = invoke(
        &["invoke", "mist-webhook", "--event", "-"],
        &[
            ("STATE_TABLE", "cli-state"),
            ("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
        Some(&event.to_string()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(http_answer(&out)["statusCode"], 401);
    // No signature at all: the same answer.
    if let Some(h) = event["headers"].as_object_mut() {
        h.remove("x-mist-signature-v2");
    }
    let dir = std::env::temp_dir().join(format!("ssr-onboard-hook-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("unsigned.json");
    std::fs::write(&file, event.to_string()).expect("write event file");
    let out = invoke(
        &[
            "invoke",
            "mist-webhook",
            "--event",
            file.to_str().expect("utf-8 path"),
        ],
        &[
            ("STATE_TABLE", "cli-state"),
            ("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
        None,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(http_answer(&out)["statusCode"], 401);
}

#[test]
fn when_mist_webhook_event_file_is_malformed_then_exit_2() {
    let dir = std::env::temp_dir().join(format!("ssr-onboard-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("truncated.json");
    let whole = webhook_request("cli-hook", WEBHOOK_SECRET).to_string();
    std::fs::write(&file, &whole[..whole.len() / 2]).expect("write event file");
    let out = invoke(
        &[
            "invoke",
            "mist-webhook",
            "--event",
            file.to_str().expect("utf-8 path"),
        ],
        &[
            ("STATE_TABLE", "cli-state"),
            ("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ],
        None,
    );
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("malformed event"),
        "{}",
        text(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[tokio::test]
async fn when_the_event_names_a_member_account_and_hub_account_id_is_set_then_invoke_acts_there_as_the_lambda_does(
) {
    const MEMBER: &str = "444455556666";
    let aws = TestAws::start().await;
    let (_, member) = aws.member_world(MEMBER, "ssr-onboard-member").await;
    let vpc = member.guide_vpc().await.expect("member vpc");
    let router = member
        .launch_router(
            &vpc,
            &RouterSpec {
                iam_instance_profile: false,
                ..RouterSpec::guide("cli-member")
            },
        )
        .await
        .expect("member router");
    let mut event = ssr_testkit::fixture("ec2-state-change-running");
    event["detail"]["instance-id"] = router.instance_id.clone().into();
    event["account"] = MEMBER.into();
    let endpoint = aws.emulator.endpoint().to_string();
    let run = |hub: Option<&'static str>| {
        let (endpoint, event) = (endpoint.clone(), event.to_string());
        tokio::task::spawn_blocking(move || {
            let mut env = vec![("AWS_ENDPOINT_URL", endpoint.as_str()), ("DRY_RUN", "true")];
            env.extend(hub.map(|h| ("HUB_ACCOUNT_ID", h)));
            invoke(
                &["invoke", "instance-guard", "--event", "-"],
                &env,
                Some(&event),
            )
        })
    };

    // As the hub: the member role is assumed in the event's account, the router found there.
    let out = run(Some(ssr_onboard_tests::ACCOUNT_ID))
        .await
        .expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(result["instance_id"], router.instance_id.as_str());
    assert_eq!(result["selected"], true, "{result}");

    // Without HUB_ACCOUNT_ID (a single-account deployment) it looks in its own account, where
    // the member's router does not exist: the Lambda would do the same.
    let out = run(None).await.expect("join");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON result");
    assert_eq!(result["selected"], false, "{result}");
}
