//! `ssr-onboard report` against moto: seeded episode items in a state table → the right count,
//! percentiles and overdue list, in JSON and text, and the exit codes.

use crate::common;

use common::cli;

use aws_sdk_dynamodb::types::AttributeValue;
use ssr_onboard_tests::TestAws;

const TABLE: &str = "ssr-onboard-state";
const T0: i64 = 1_790_000_000;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// One finished episode as the onboarding-watchdog writes it.
async fn seed_episode(aws: &TestAws, i: usize, minutes: i64, alerted: bool) {
    let id = format!("i-{i:017x}");
    let started = T0 + i as i64 * 3600;
    let duration = minutes * 60;
    aws.dynamodb
        .put_item()
        .table_name(TABLE)
        .item("pk", s(&format!("episode#{id}#{started}")))
        .item("kind", s("episode"))
        .item("instance_id", s(&id))
        .item("router_name", s(&format!("branch-{i}")))
        .item("started_at", n(started))
        .item("onboarded_at", n(started + duration))
        .item("duration_seconds", n(duration))
        .item("alerted", AttributeValue::Bool(alerted))
        .item("onboarded_by", s("mist"))
        .item("expires_at", n(started + 90 * 86400))
        .send()
        .await
        .expect("PutItem episode");
}

/// Items that are not finished episodes and must not be counted.
async fn seed_other_items(aws: &TestAws) {
    for (pk, kind) in [
        ("watch#i-0000000000000000a#1790000000", "watch"),
        ("alert#i-0000000000000000a#abcd", "guard-alert"),
        (
            "episode#i-0000000000000000b#1790000000",
            "episode-unmeasured",
        ),
    ] {
        aws.dynamodb
            .put_item()
            .table_name(TABLE)
            .item("pk", s(pk))
            .item("kind", s(kind))
            .item("instance_id", s("i-0000000000000000a"))
            .send()
            .await
            .expect("PutItem other");
    }
}

#[tokio::test]
async fn when_episodes_seeded_then_count_p50_p95_max_are_right_in_json_and_text() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    // 20 episodes taking 1..=20 minutes; 3 of them paged on-call (the slowest).
    for i in 1..=20 {
        seed_episode(&aws, i, i as i64, i > 17).await;
    }
    seed_other_items(&aws).await;

    let out = cli(
        aws.emulator.endpoint(),
        &["report", "--table", TABLE, "--output", "json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["schema"], "ssr-onboard/report/v1");
    assert_eq!(doc["count"], 20);
    assert_eq!(doc["alerted"], 3);
    // Nearest rank: p50 = 10th of 20, p95 = 19th of 20.
    assert_eq!(doc["durations_seconds"]["p50"], 10 * 60);
    assert_eq!(doc["durations_seconds"]["p95"], 19 * 60);
    assert_eq!(doc["durations_seconds"]["max"], 20 * 60);
    assert_eq!(doc["slowest"].as_array().map(Vec::len), Some(5));
    assert_eq!(doc["slowest"][0]["router_name"], "branch-20");
    assert!(
        doc["overdue"].is_null(),
        "no sweep recorded the overdue list"
    );

    let out = cli(aws.emulator.endpoint(), &["report", "--table", TABLE]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("COUNT  P50      P95      MAX"), "{text}");
    assert!(
        text.contains("20     10m 00s  19m 00s  20m 00s  3"),
        "{text}"
    );
    assert!(text.contains("Currently overdue: unknown"), "{text}");
}

#[tokio::test]
async fn when_table_is_empty_then_report_says_no_episode_yet() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let out = cli(
        aws.emulator.endpoint(),
        &["report", "--table", TABLE, "-o", "json"],
    );
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(doc["count"], 0);
    assert!(doc["durations_seconds"].is_null());
}

#[tokio::test]
async fn when_table_does_not_exist_then_exit_1_with_a_hint() {
    let aws = TestAws::start().await;
    let out = cli(
        aws.emulator.endpoint(),
        &["report", "--table", "no-such-table"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("ResourceNotFoundException"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn when_no_table_given_then_exit_2_saying_how_to_give_one() {
    let out = cli("http://127.0.0.1:9", &["report"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--table") && err.contains("STATE_TABLE"),
        "{err}"
    );
}
