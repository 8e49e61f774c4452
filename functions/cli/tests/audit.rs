//! `ssr-onboard audit` against moto: the built binary, pointed at a per-test emulator through the
//! standard AWS environment variables.

mod common;

use std::process::Output;

use common::cli;

use ssr_onboard_tests::{RouterSpec, TestAws, REG_CODE};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

fn codes(router: &serde_json::Value) -> Vec<String> {
    router["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A guide router (only source/dest check on) and a broken one (no LAN tag, 8 GB disk), plus an
/// instance that is no router.
async fn region_with_two_routers(aws: &TestAws) -> (String, String, String) {
    let vpc = aws.guide_vpc().await;
    let good = aws
        .launch_router(&vpc, &RouterSpec::guide("audit-good"))
        .await;
    let bad = aws
        .launch_router(
            &vpc,
            &RouterSpec {
                lan_tag: None,
                root_volume_gb: 8,
                ..RouterSpec::guide("audit-bad")
            },
        )
        .await;
    let plain = aws.launch_plain_instance(&vpc).await;
    (good.wan_eni_id, bad.instance_id, plain)
}

#[tokio::test]
async fn when_routers_have_findings_then_table_lists_them_and_exit_code_is_3() {
    let aws = TestAws::start().await;
    let (good_wan, bad_id, plain) = region_with_two_routers(&aws).await;
    aws.start_recording().await;

    let out = cli(aws.emulator.endpoint(), &["audit"]);

    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .starts_with("ROUTER"),
        "{text}"
    );
    assert!(text.contains("SRC_DST_CHECK_ENABLED"), "{text}");
    assert!(text.contains(&good_wan), "{text}");
    assert!(text.contains("fixable (--fix)"), "{text}");
    assert!(text.contains("ENI_ROLE_TAG_MISSING"), "{text}");
    assert!(text.contains("ROOT_VOLUME_TOO_SMALL"), "{text}");
    assert!(text.contains(&bad_id), "{text}");
    assert!(text.contains("What to do"), "{text}");
    assert!(text.contains("run again with --fix"), "{text}");
    assert!(
        !text.contains(&plain),
        "a plain instance is not audited: {text}"
    );
    assert!(!text.contains(REG_CODE) && !stderr(&out).contains(REG_CODE));
    assert!(
        !text.contains("\x1b["),
        "no colours when stdout is not a terminal"
    );
    assert_eq!(
        aws.ec2_write_calls().await,
        Vec::<String>::new(),
        "audit without --fix writes nothing"
    );
}

#[tokio::test]
async fn when_output_json_then_stable_document_with_summary_and_findings() {
    let aws = TestAws::start().await;
    let (_, bad_id, _) = region_with_two_routers(&aws).await;

    let out = cli(aws.emulator.endpoint(), &["audit", "--output", "json"]);

    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["schema"], "ssr-onboard/audit/v1");
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["mode"], "check");
    assert_eq!(doc["instances_scanned"], 3);
    assert_eq!(doc["summary"]["routers"], 2);
    assert_eq!(doc["summary"]["routers_with_findings"], 2);
    // 2 + 2 source/dest checks, LAN tag missing, no LAN interface, small disk.
    assert_eq!(doc["summary"]["findings_remaining"], 7);
    assert_eq!(doc["summary"]["fixes_planned"], 4);
    let routers = doc["routers"].as_array().expect("routers");
    let bad = routers
        .iter()
        .find(|r| r["instance_id"] == bad_id.as_str())
        .expect("bad router listed");
    assert_eq!(bad["name"], "audit-bad");
    let bad_codes = codes(bad);
    for want in [
        "SRC_DST_CHECK_ENABLED",
        "ENI_ROLE_TAG_MISSING",
        "NO_LAN_INTERFACE",
        "ROOT_VOLUME_TOO_SMALL",
    ] {
        assert!(
            bad_codes.iter().any(|c| c == want),
            "{want} in {bad_codes:?}"
        );
    }
    assert!(bad["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .all(|a| a["status"] == "planned"));
    assert!(!stdout(&out).contains(REG_CODE));
}

#[tokio::test]
async fn when_fix_dry_run_then_plan_shown_and_nothing_written() {
    let aws = TestAws::start().await;
    let router = aws
        .launch_router(&aws.guide_vpc().await, &RouterSpec::guide("dry"))
        .await;
    aws.start_recording().await;

    let out = cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--dry-run", "--output", "json"],
    );

    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["mode"], "dry-run");
    assert_eq!(doc["summary"]["fixes_planned"], 2);
    assert_eq!(doc["summary"]["fixes_applied"], 0);
    assert_eq!(aws.ec2_write_calls().await, Vec::<String>::new());
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(true)
    );

    let text = stdout(&cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--dry-run"],
    ));
    assert!(text.contains("would fix"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(aws.ec2_write_calls().await, Vec::<String>::new());
}

#[tokio::test]
async fn when_fix_then_source_dest_check_off_on_each_eni_exit_0_and_rerun_writes_nothing() {
    let aws = TestAws::start().await;
    let router = aws
        .launch_router(&aws.guide_vpc().await, &RouterSpec::guide("fixme"))
        .await;
    aws.start_recording().await;

    let out = cli(aws.emulator.endpoint(), &["audit", "--fix"]);

    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("fixed"), "{text}");
    assert!(text.contains("2 fix(es) applied and verified"), "{text}");
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false)
    );
    assert_eq!(
        aws.eni_source_dest_check(&router.lan_eni_id).await,
        Some(false)
    );
    assert_eq!(
        aws.ec2_write_calls().await,
        vec![
            "ModifyNetworkInterfaceAttribute",
            "ModifyNetworkInterfaceAttribute"
        ]
    );

    aws.start_recording().await;
    let again = cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--output", "json"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(json(&again)["summary"]["fixes_applied"], 0);
    assert_eq!(
        aws.ec2_write_calls().await,
        Vec::<String>::new(),
        "a second --fix writes nothing"
    );
}

#[tokio::test]
async fn when_region_has_no_routers_then_exit_0_and_say_how_routers_are_recognised() {
    let aws = TestAws::start().await;
    aws.launch_plain_instance(&aws.guide_vpc().await).await;

    let out = cli(aws.emulator.endpoint(), &["audit"]);

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("No managed routers among 1 instance(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn when_aws_unreachable_then_exit_1_with_a_hint() {
    // Port 9 (discard) on loopback: nothing listens there.
    let out = cli("http://127.0.0.1:9", &["audit"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error: DescribeInstances failed"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn when_dry_run_without_fix_then_usage_error_exit_2() {
    let out = cli("http://127.0.0.1:9", &["audit", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--fix"), "{}", stderr(&out));
}
