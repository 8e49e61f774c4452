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
