//! onboarding-watchdog against an emulated AWS (moto: EC2, SNS→SQS capture, DynamoDB, Secrets
//! Manager) and a fake Mist API (wiremock), and the mist-webhook on the same world (signed
//! `device-events` deliveries in Function URL requests ending or failing the episodes the sweep
//! follows). "Now" is the scheduled event's `time`, so each test
//! sweeps at launch + N minutes without waiting. Paths moto cannot produce (a failing publish,
//! IAM denying the user-data read) are in functions/core/tests/watchdog_contract.rs.
//!
//! moto returns no `MacAddress` for interfaces, so these tests match Mist devices by name; MAC
//! matching is covered by the unit tests of `ssr_core::episode`.

use std::collections::BTreeMap;
use std::time::Instant;

use aws_sdk_ec2::types::{InstanceType, ResourceType, Tag, TagSpecification};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use ssr_core::aws::state::StateStore;
use ssr_core::handlers::mist_webhook::{HttpResponse, MistWebhook};
use ssr_core::handlers::watchdog::{SweepOutcome, Watchdog, INIT_BUDGET};
use ssr_core::Deps;
use ssr_onboard_tests::mist_world::{MistWorld as World, MIST_ORG, STATE_TABLE_NAME as TABLE};
use ssr_onboard_tests::{CapturedAlert, GuideVpc, RouterSpec, TestAws, REG_CODE, ROUTER_AMI};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const ORG: &str = MIST_ORG;
const TOKEN: &str = "mist-api-token-TEST-do-not-leak-5e1f";

/// What only these tests ask of the shared world.
trait Sweeps {
    fn watchdog(&self, table: &str, extra: &[(&str, &str)]) -> (Deps, Watchdog);
    async fn inventory(&self, devices: serde_json::Value);
    async fn mist_answers(&self, status: u16);
}

impl Sweeps for World {
    /// Deps and a watchdog (one "cold start") on `table` with the Mist token in `MIST_API_TOKEN`.
    fn watchdog(&self, table: &str, extra: &[(&str, &str)]) -> (Deps, Watchdog) {
        // Most tests here sweep for the first time 16 minutes after launch: the watchdog would
        // adopt such a router (first seen past its deadline) and, without Mist settings, send a
        // notice. They test the page path, so both are `page` unless a test sets them (the
        // adoption and notice tests below do).
        let mut vars = vec![
            ("STATE_TABLE", table),
            ("ADOPT_EXISTING", "page"),
            ("UNVERIFIED_ONBOARDING", "page"),
        ];
        vars.extend_from_slice(extra);
        self.watchdog_with(Some(TOKEN), &vars)
    }

    /// Mist answers `devices` (made by [`device`]) as the real API does: the inventory
    /// (without `version`) and, for the connected ones, the gateway stats (with `version`),
    /// only with the right token, org and query.
    async fn inventory(&self, devices: serde_json::Value) {
        self.mist.reset().await;
        let mut inventory = Vec::new();
        let mut stats = Vec::new();
        for d in devices.as_array().cloned().unwrap_or_default() {
            let mut inv = d.clone();
            let version = inv
                .as_object_mut()
                .and_then(|o| o.remove("version"))
                .unwrap_or(serde_json::Value::Null);
            if d["connected"] == true {
                stats.push(serde_json::json!({
                    "mac": d["mac"], "name": d["name"], "serial": d["serial"], "model": d["model"],
                    "type": "gateway", "status": "connected", "version": version
                }));
            }
            inventory.push(inv);
        }
        for (resource, body) in [("inventory", inventory), ("stats/devices", stats)] {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{ORG}/{resource}")))
                .and(query_param("type", "gateway"))
                .and(query_param("limit", "1000"))
                .and(header("authorization", format!("Token {TOKEN}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&self.mist)
                .await;
        }
    }

    async fn mist_answers(&self, status: u16) {
        self.mist.reset().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_string("{\"detail\":\"nope\"}"))
            .mount(&self.mist)
            .await;
    }
}

/// One gateway as [`World::inventory`] serves it: `version` goes into its stats entry (the
/// inventory has none). The MAC is derived from the name (moto reports no MACs: the routers here
/// match by name).
fn device(name: &str, connected: bool, version: Option<&str>) -> serde_json::Value {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    serde_json::json!({
        "name": name, "mac": format!("02{:010x}", hash & 0xff_ffff_ffff),
        "serial": format!("SN-{name}"), "model": "SSR", "type": "gateway",
        "connected": connected, "version": version, "magic": REG_CODE
    })
}

/// The scheduled-event fixture at `at`, with a fresh id.
fn sweep_event(at: DateTime<Utc>) -> serde_json::Value {
    let mut v = ssr_testkit::fixture("scheduled-event");
    v["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    v["id"] = format!("sweep-{}", at.timestamp()).into();
    v
}

async fn sweep(w: &Watchdog, d: &Deps, at: DateTime<Utc>) -> SweepOutcome {
    w.handle_event(d, sweep_event(at), ssr_core::Deadline::NONE)
        .await
        .expect("sweep")
}

fn assert_no_secrets(what: &str, text: &str) {
    assert!(!text.contains(REG_CODE), "registration code in {what}");
    assert!(!text.contains(TOKEN), "Mist token in {what}");
}

fn check_alerts_clean(alerts: &[CapturedAlert]) {
    for a in alerts {
        assert_no_secrets("alert subject", a.subject.as_deref().unwrap_or_default());
        assert_no_secrets("alert body", &a.message);
    }
}

#[tokio::test]
async fn when_14_minutes_then_no_alert_and_at_16_exactly_one_even_if_event_replayed() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-1").await;
    w.inventory(serde_json::json!([])).await;
    let (d, wd) = w.watchdog(TABLE, &[]);

    let o = sweep(&wd, &d, t0 + Duration::minutes(14)).await;
    assert_eq!((o.routers, o.open_episodes, o.initialised), (1, 1, 1));
    assert_eq!(o.episodes[0].phase.as_str(), "not-in-inventory");
    assert!(w.alerts().await.is_empty(), "no alert before the deadline");

    let at16 = t0 + Duration::minutes(16);
    let o = sweep(&wd, &d, at16).await;
    assert_no_secrets("result", &serde_json::to_string(&o).expect("json"));
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        a.subject.as_deref(),
        Some(
            format!(
                "SSR onboarding overdue: branch-1 ({}) 16 min",
                router.instance_id
            )
            .as_str()
        )
    );
    assert_eq!(
        a.attributes.get("kind").map(String::as_str),
        Some("onboarding-overdue")
    );
    assert_eq!(
        a.attributes.get("severity").map(String::as_str),
        Some("error")
    );
    assert_eq!(a.attributes.get("instance_id"), Some(&router.instance_id));
    let ip = router.public_ip.clone().expect("public ip");
    for needle in [
        "Phase reached: not-in-inventory".to_string(),
        format!("ssh -i <your-key>.pem ec2-user@{ip}"),
        "show mist".into(),
        "sudo journalctl -u 128T-mist-agent".into(),
        format!("Interface:   WAN {}", router.wan_eni_id),
        "Elapsed:     16 min".into(),
        "SSR version: 6.3.0".into(),
    ] {
        assert!(
            a.message.contains(&needle),
            "missing {needle:?} in\n{}",
            a.message
        );
    }
    check_alerts_clean(&alerts);

    // The same scheduled event delivered again, and the next minute's sweep: nothing more.
    let _ = wd
        .handle_event(&d, sweep_event(at16), ssr_core::Deadline::NONE)
        .await
        .expect("replay");
    let o = sweep(&wd, &d, t0 + Duration::minutes(17)).await;
    assert_eq!(
        o.episodes[0].decision,
        ssr_core::episode::Decision::StillOverdue
    );
    assert!(w.alerts().await.is_empty(), "exactly one alert per episode");
    let overdue = d.state.overdue_now().await.expect("read").expect("written");
    assert_eq!(overdue.routers.len(), 1);
    assert_eq!(overdue.routers[0].instance_id, router.instance_id);
    assert!(overdue.routers[0].alerted);
}

#[tokio::test]
async fn when_two_watchdog_instances_sweep_the_same_minute_one_after_the_other_then_one_alert() {
    // Two cold starts (two Lambda environments) sweeping the same minute. They run one after
    // the other: moto's conditional PutItem is not atomic across its server threads, so a truly
    // concurrent race is tested against DynamoDB's real answer in watchdog_contract.rs
    // (when_a_concurrent_sweep_holds_the_overdue_claim_then_this_sweep_pages_nobody).
    let w = World::start().await;
    let (_router, t0) = w.launch("branch-2").await;
    w.inventory(serde_json::json!([])).await;
    let (d1, wd1) = w.watchdog(TABLE, &[]);
    let (d2, wd2) = w.watchdog(TABLE, &[]);
    let at = t0 + Duration::minutes(16);
    let a = wd1
        .handle_event(&d1, sweep_event(at), ssr_core::Deadline::NONE)
        .await
        .expect("sweep 1");
    let b = wd2
        .handle_event(&d2, sweep_event(at), ssr_core::Deadline::NONE)
        .await
        .expect("sweep 2");
    let sent = a
        .alerts
        .iter()
        .chain(&b.alerts)
        .filter(|x| x.delivery.sent)
        .count();
    assert_eq!(sent, 1, "{:?} {:?}", a.alerts, b.alerts);
    assert_eq!(w.alerts().await.len(), 1);
}

#[tokio::test]
async fn when_router_connected_with_the_right_version_then_no_alert_and_duration_recorded() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-3").await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    w.inventory(serde_json::json!([device(
        "other",
        true,
        Some("6.3.0-107.r1")
    )]))
    .await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(3)).await;
    assert_eq!(o.episodes[0].phase.as_str(), "not-in-inventory");
    w.inventory(serde_json::json!([device(
        "branch-3",
        true,
        Some("6.2.5-1.r2")
    )]))
    .await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(8)).await;
    assert_eq!(o.episodes[0].phase.as_str(), "version-mismatch");
    w.inventory(serde_json::json!([device(
        "BRANCH-3",
        true,
        Some("6.3.0-107.r1")
    )]))
    .await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(11)).await;
    assert_eq!(o.finished, 1);
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(o.open_episodes, 0);
    // The first sweep of the day without an open episode makes the daily Mist probe; after
    // that, no Mist call without an open episode.
    assert_eq!(o.mist.status.as_str(), "ok");
    assert_eq!(o.mist.detail.as_deref(), Some("daily Mist probe"));
    let o = sweep(&wd, &d, t0 + Duration::minutes(17)).await;
    assert_eq!(
        o.mist.status.as_str(),
        "not-needed",
        "no Mist call without an open episode"
    );
    assert!(w.alerts().await.is_empty());
    // The CLI's Scan, not the watchdog's: read through unchecked clients.
    let episodes = StateStore::from_sdk_config(&w.aws.sdk, d.config.state_table.clone())
        .list_episodes()
        .await
        .expect("scan");
    assert_eq!(episodes.len(), 1);
    let e = &episodes[0];
    assert_eq!(e.instance_id, router.instance_id);
    assert_eq!(e.router_name.as_deref(), Some("branch-3"));
    assert_eq!((e.duration_seconds, e.alerted), (11 * 60, false));
    assert_eq!(e.onboarded_by.as_deref(), Some("mist"));
}

#[tokio::test]
async fn when_alerted_router_onboards_then_one_recovered_notice_with_total_time() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-4").await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    w.inventory(serde_json::json!([device("branch-4", false, None)]))
        .await;
    let _ = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    let first = w.alerts().await;
    assert_eq!(first.len(), 1);
    assert!(
        first[0].message.contains("Phase reached: not-connected"),
        "{}",
        first[0].message
    );

    w.inventory(serde_json::json!([device(
        "branch-4",
        true,
        Some("6.3.0-107.r1")
    )]))
    .await;
    let at = t0 + Duration::minutes(23);
    let o = sweep(&wd, &d, at).await;
    let _ = wd
        .handle_event(&d, sweep_event(at), ssr_core::Deadline::NONE)
        .await
        .expect("replay");
    let _ = sweep(&wd, &d, t0 + Duration::minutes(24)).await;
    assert_eq!(o.finished, 1);
    let notices = w.alerts().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = &notices[0];
    assert_eq!(
        n.subject.as_deref(),
        Some(
            format!(
                "SSR onboarding recovered: branch-4 ({}) after 23 min",
                router.instance_id
            )
            .as_str()
        )
    );
    assert!(
        n.message.contains("total onboarding time 23 min"),
        "{}",
        n.message
    );
    assert_eq!(
        n.attributes.get("kind").map(String::as_str),
        Some("onboarding-recovered")
    );
    check_alerts_clean(&notices);
    // The CLI's Scan, not the watchdog's: read through unchecked clients.
    let episodes = StateStore::from_sdk_config(&w.aws.sdk, d.config.state_table.clone())
        .list_episodes()
        .await
        .expect("scan");
    assert_eq!(episodes.len(), 1);
    assert_eq!(
        (episodes[0].duration_seconds, episodes[0].alerted),
        (23 * 60, true)
    );
    let overdue = d.state.overdue_now().await.expect("read").expect("written");
    assert!(overdue.routers.is_empty());
}

#[tokio::test]
async fn when_mist_answers_500_401_429_then_alert_says_status_unknown_and_why() {
    let w = World::start().await;
    let (_router, t0) = w.launch("branch-5").await;
    for (status, why) in [
        (500, "Mist API answered HTTP 500".to_string()),
        (
            401,
            "Mist API answered 401 Unauthorized: check MIST_API_TOKEN".to_string(),
        ),
        (429, "Mist API answered 429 Too Many Requests".to_string()),
    ] {
        // A fresh state table per case: a fresh episode history.
        let table = format!("state-{status}");
        w.aws.create_state_table(&table).await;
        w.mist_answers(status).await;
        let (d, wd) = w.watchdog(&table, &[]);
        let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
        assert_eq!(o.mist.status.as_str(), "unavailable");
        let all = w.alerts().await;
        check_alerts_clean(&all);
        // A refused token also raises the operational token alert.
        let want_token_alert = status == 401;
        assert_eq!(o.mist.token_alert.is_some(), want_token_alert, "{status}");
        let alerts: Vec<CapturedAlert> = all
            .into_iter()
            .filter(|a| a.attributes.get("kind").map(String::as_str) == Some("onboarding-overdue"))
            .collect();
        assert_eq!(alerts.len(), 1, "{status}: {alerts:?}");
        let body = &alerts[0].message;
        assert!(body.contains("Phase reached: unknown"), "{body}");
        assert!(
            body.contains(&format!("Mist status unknown: {why}")),
            "{status}: {body}"
        );
        check_alerts_clean(&alerts);
    }
}

#[tokio::test]
async fn when_mist_not_configured_then_alert_says_so_and_tag_closes_the_episode() {
    let w = World::start().await;
    let (r1, t0) = w.launch("branch-6").await;
    let (r2, _) = w.launch("branch-7").await;
    let (d, wd) = w.watchdog(TABLE, &[("MIST_ORG_ID", ""), ("MIST_API_TOKEN", "")]);
    // The tag closes the episode it was added during: the sweep sees the episode first.
    let _ = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    w.aws
        .ec2
        .create_tags()
        .resources(&r2.instance_id)
        .tags(Tag::builder().key("SSR-ONBOARDED").value("true").build())
        .send()
        .await
        .expect("CreateTags");
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(o.mist.status.as_str(), "not-configured");
    assert_eq!(w.mist_requests().await, 0);
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].attributes.get("instance_id"),
        Some(&r1.instance_id)
    );
    assert!(alerts[0]
        .message
        .contains("Mist status unknown: Mist not configured (MIST_ORG_ID is not set)"));
    let done: Vec<String> = o
        .episodes
        .iter()
        .filter(|e| e.phase.as_str() == "onboarded")
        .map(|e| e.instance_id.clone())
        .collect();
    assert_eq!(done, vec![r2.instance_id.clone()]);
}

#[tokio::test]
async fn when_router_stopped_or_terminated_then_no_alert() {
    let w = World::start().await;
    let (r1, t0) = w.launch("branch-8").await;
    let (r2, _) = w.launch("branch-9").await;
    w.inventory(serde_json::json!([])).await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let _ = sweep(&wd, &d, t0 + Duration::minutes(5)).await;
    w.aws
        .ec2
        .stop_instances()
        .instance_ids(&r1.instance_id)
        .send()
        .await
        .expect("StopInstances");
    w.aws.terminate(&r2.instance_id).await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(o.routers, 0);
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn when_token_is_in_secrets_manager_then_sweep_reads_it_and_mist_accepts_it() {
    let w = World::start().await;
    let (_router, t0) = w.launch("branch-10").await;
    let arn = w
        .aws
        .secrets
        .create_secret()
        .name("ssr-onboard/mist-token")
        .secret_string(format!("{{\"token\": \"{TOKEN}\"}}"))
        .send()
        .await
        .expect("CreateSecret")
        .arn
        .expect("arn");
    w.inventory(serde_json::json!([device(
        "branch-10",
        true,
        Some("6.3.0")
    )]))
    .await;
    let (d, wd) = w.watchdog(
        TABLE,
        &[("MIST_API_TOKEN", ""), ("MIST_TOKEN_SECRET_ARN", &arn)],
    );
    let o = sweep(&wd, &d, t0 + Duration::minutes(4)).await;
    assert_eq!(o.mist.status.as_str(), "ok", "{:?}", o.mist);
    assert_eq!(o.finished, 1);
    assert_no_secrets("result", &serde_json::to_string(&o).expect("json"));
}

#[tokio::test]
async fn when_mist_rejects_the_token_then_one_operational_alert_a_day_and_overdue_still_pages() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-11").await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    w.mist_answers(401).await;
    let first = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert!(
        first.mist.token_alert.as_ref().is_some_and(|a| a.sent),
        "{:?}",
        first.mist
    );
    let second = sweep(&wd, &d, t0 + Duration::minutes(17)).await;
    let held = second
        .mist
        .token_alert
        .clone()
        .expect("token alert outcome");
    assert!(!held.sent && held.already_sent, "{held:?}");
    let alerts = w.alerts().await;
    check_alerts_clean(&alerts);
    let kinds: Vec<Option<&str>> = alerts
        .iter()
        .map(|a| a.attributes.get("kind").map(String::as_str))
        .collect();
    assert_eq!(alerts.len(), 2, "{kinds:?}");
    let token = alerts
        .iter()
        .find(|a| a.attributes.get("kind").map(String::as_str) == Some("mist-token-rejected"))
        .unwrap_or_else(|| panic!("{kinds:?}"));
    assert!(
        token.message.contains("MIST_API_TOKEN"),
        "{}",
        token.message
    );
    let page = alerts
        .iter()
        .find(|a| a.attributes.get("kind").map(String::as_str) == Some("onboarding-overdue"))
        .unwrap_or_else(|| panic!("{kinds:?}"));
    assert_eq!(
        page.attributes.get("instance_id"),
        Some(&router.instance_id)
    );
    assert!(
        page.message.contains("Mist status unknown"),
        "{}",
        page.message
    );
    // Still refused the next UTC day: one more reminder that day, no page for the router again.
    let next_day = sweep(&wd, &d, t0 + Duration::days(1) + Duration::minutes(16)).await;
    assert!(
        next_day.mist.token_alert.as_ref().is_some_and(|a| a.sent),
        "{:?}",
        next_day.mist
    );
    let kinds: Vec<Option<String>> = w
        .alerts()
        .await
        .iter()
        .map(|a| a.attributes.get("kind").cloned())
        .collect();
    assert_eq!(kinds, [Some("mist-token-rejected".to_string())]);
}

/// A /20 subnet in the guide's VPC (the guide's /24 subnets hold 251 interfaces).
async fn fleet_subnet(aws: &TestAws, vpc: &GuideVpc) -> String {
    aws.ec2
        .create_subnet()
        .vpc_id(&vpc.vpc_id)
        .cidr_block("10.0.16.0/20")
        .send()
        .await
        .expect("CreateSubnet")
        .subnet
        .and_then(|s| s.subnet_id)
        .expect("subnet id")
}

/// Launches `count` routers in one RunInstances call (one interface each, tagged, named by the
/// `Name` tag and the onboarding config).
async fn launch_batch(aws: &TestAws, subnet_id: &str, name: &str, count: i32) {
    let ud = RouterSpec::guide_user_data(name, "6.3.0", REG_CODE);
    aws.ec2
        .run_instances()
        .image_id(ROUTER_AMI)
        .instance_type(InstanceType::C5Xlarge)
        .min_count(count)
        .max_count(count)
        .subnet_id(subnet_id)
        .user_data(base64::engine::general_purpose::STANDARD.encode(ud))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("Name").value(name).build())
                .tags(Tag::builder().key("SSR-ROUTER").value("true").build())
                .build(),
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("RunInstances {count}: {e:?}"));
}

/// One connected Mist gateway per interface in `subnet_id` (the fleet's routers), carrying that
/// interface's MAC and a name of its own.
async fn fleet_devices(aws: &TestAws, subnet_id: &str) -> Vec<serde_json::Value> {
    let mut pages = aws
        .ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("subnet-id")
                .values(subnet_id)
                .build(),
        )
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap_or_else(|e| panic!("DescribeNetworkInterfaces: {e:?}"));
        for eni in page.network_interfaces() {
            let mac = eni
                .mac_address()
                .unwrap_or_default()
                .replace(':', "")
                .to_lowercase();
            let name = format!("fleet-device-{}", out.len());
            out.push(serde_json::json!({
                "name": name, "mac": mac, "serial": format!("SN-{name}"), "model": "SSR",
                "type": "gateway", "connected": true, "version": "6.3.0-107.r1",
                "magic": REG_CODE
            }));
        }
    }
    out
}

/// Operation → number of calls, from the moto recorder.
async fn calls(aws: &TestAws) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for r in aws.recorded_requests().await {
        let key = format!(
            "{}:{}",
            r.service.unwrap_or_default(),
            r.action.unwrap_or_default()
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

#[tokio::test]
async fn when_1000_routers_then_each_sweep_is_o_pages_and_one_mist_read() {
    let w = World::start().await;
    let started = Instant::now();
    // 999 routers onboarded in Mist, one not. The routers of a batch share their onboarding
    // config's name, so each is matched to its own Mist device by its interface's MAC (a name
    // shared by several routers is never trusted: docs/watchdog.md).
    let subnet = fleet_subnet(&w.aws, &w.vpc).await;
    for (i, n) in [250, 250, 250, 249].into_iter().enumerate() {
        launch_batch(&w.aws, &subnet, &format!("fleet-{i}"), n).await;
    }
    let (late, _) = w.launch("late-router").await;
    let t0 = w.launch_time(&late.instance_id).await;
    eprintln!("launched 1,000 routers in moto in {:?}", started.elapsed());
    let devices = fleet_devices(&w.aws, &subnet).await;
    assert_eq!(devices.len(), 999, "one device per fleet router");
    w.inventory(serde_json::Value::Array(devices)).await;
    let (d, wd) = w.watchdog(TABLE, &[]);

    let mut sweeps = 0;
    let mut minute = 16;
    let steady = loop {
        w.aws.start_recording().await;
        let t = Instant::now();
        let o = sweep(&wd, &d, t0 + Duration::minutes(minute)).await;
        let took = t.elapsed();
        let c = calls(&w.aws).await;
        sweeps += 1;
        minute += 1;
        let total: usize = c.values().sum();
        let inits = c.get("ec2:DescribeInstanceAttribute").copied().unwrap_or(0);
        eprintln!(
            "sweep {sweeps}: {took:?}, routers {}, open {}, initialised {}, deferred {}, finished {}, {total} AWS calls {c:?}",
            o.routers, o.open_episodes, o.initialised, o.deferred_init, o.finished
        );
        assert_eq!(o.routers, 1000);
        // Wall time is the emulator's and the machine's, not ours: printed above, not asserted
        // (a timed test fails under load; the scaling property is the call count below).
        assert!(inits <= INIT_BUDGET, "{inits} user-data reads");
        // Pages: 1 DescribeInstances + 5 DescribeNetworkInterfaces (200 ids per filter) +
        // 10 BatchGetItem (starts) + 41 BatchGetItem (4 keys per router: watch, overdue,
        // episode, onboarded; + 1) = 57, plus at most INIT_BUDGET reads and writes for new
        // episodes, INIT_BUDGET records and their `onboarded#` items, 3 for the alert (claim
        // pre-read, claim, publish, confirm), 1 for the overdue summary and 1 Query of the alert
        // outbox's index; and the late router's timeline: the page's entry (written beside the
        // confirm) and its first Mist phase (the watch item's UpdateItem and the entry). The
        // episodes' starts and records are on the timeline in the writes above, at no cost.
        // Every fifth minute, 1 Query of the open guard findings (the re-check; none here).
        assert!(
            total <= 57 + 4 * INIT_BUDGET + 6 + 3 + 1,
            "{total} calls: {c:?}"
        );
        if o.deferred_init == 0 && o.initialised == 0 {
            break (total, took, c);
        }
        assert!(sweeps <= 12, "initialisation does not converge");
    };
    let (total, took, c) = steady;
    // The same pages, at most the overdue list's write, the outbox's one Query, and every
    // fifth minute the open guard findings' one Query.
    assert!(total <= 57 + 3, "steady sweep: {total} calls {c:?}");
    assert!(!c.contains_key("ec2:DescribeInstanceAttribute"));
    assert_eq!(
        w.mist_requests().await,
        2 * sweeps,
        "one inventory read and one stats read per sweep"
    );
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "only the router missing from Mist");
    assert_eq!(
        alerts[0].attributes.get("instance_id"),
        Some(&late.instance_id)
    );
    eprintln!(
        "steady-state sweep over 1,000 routers: {total} AWS calls in {took:?}; {sweeps} sweeps"
    );
}

// ---------------------------------------------------------------------------------------------
// The mist-webhook on the same world: a sweep pages, Mist's signed delivery ends (or fails) the
// episode at once, and the sweeps after it stay quiet.

const WEBHOOK_SECRET: &str = "mist-webhook-secret-TEST-do-not-leak-8c4d";

/// The webhook side of the shared world.
trait Webhooks {
    fn webhook(&self, table: &str) -> (Deps, MistWebhook);
    async fn mist_stats_reads_of_one_mac(&self) -> usize;
}

impl Webhooks for World {
    /// Deps and a webhook (one "cold start" of mist-webhook), configured like the watchdog plus
    /// the webhook secret.
    fn webhook(&self, table: &str) -> (Deps, MistWebhook) {
        let (d, _) = self.watchdog(table, &[("MIST_WEBHOOK_SECRET", WEBHOOK_SECRET)]);
        MistWebhook::check_config(&d.config).expect("webhook config");
        let h = MistWebhook::new(&d.config, self.aws.secrets.clone());
        (d, h)
    }

    /// The Mist requests received so far that read one gateway's stats (`mac=` in the query).
    async fn mist_stats_reads_of_one_mac(&self) -> usize {
        self.mist
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.url.path().ends_with("/stats/devices"))
            .filter(|r| r.url.query_pairs().any(|(k, _)| k == "mac"))
            .count()
    }
}

/// A `device-events` delivery of one event, built from the Mist fixture's event of that `type`
/// (tests/fixtures/mist/webhook-device-events.json) about the router `name` at `at`.
fn delivery(kind: &str, name: &str, at: DateTime<Utc>) -> String {
    let fixture = ssr_testkit::fixture("mist/webhook-device-events");
    let mut ev = fixture["events"]
        .as_array()
        .and_then(|evs| evs.iter().find(|e| e["type"] == kind))
        .cloned()
        .unwrap_or_else(|| panic!("a {kind} event in the fixture"));
    ev["device_name"] = name.into();
    ev["mac"] = device(name, true, None)["mac"].clone();
    ev["org_id"] = ORG.into();
    ev["timestamp"] = at.timestamp().into();
    serde_json::json!({"topic": fixture["topic"], "events": [ev]}).to_string()
}

/// The Function URL request fixture carrying `body`, signed with `secret` as Mist signs
/// (`X-Mist-Signature-v2` = hex HMAC-SHA256 of the raw body).
fn signed(body: &str, secret: &str) -> serde_json::Value {
    use hmac::{KeyInit, Mac};
    let mut m =
        hmac::Hmac::<sha2_v11::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC key");
    m.update(body.as_bytes());
    let mut req = ssr_testkit::fixture("function-url-request");
    req["headers"]["x-mist-signature-v2"] = hex::encode(m.finalize().into_bytes()).into();
    req["body"] = body.into();
    req
}

fn answer(r: &HttpResponse) -> serde_json::Value {
    assert!(
        !r.body.contains(WEBHOOK_SECRET) && !r.body.contains(TOKEN),
        "secret in {}",
        r.body
    );
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", r.body))
}

fn kind_of(a: &CapturedAlert) -> Option<&str> {
    a.attributes.get("kind").map(String::as_str)
}

#[tokio::test]
async fn when_paged_router_finishes_ztp_then_webhook_sends_the_recovered_notice_at_once_and_sweeps_stay_quiet(
) {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-w1").await;
    // Mist does not know the router yet: the deadline sweep pages it.
    w.inventory(serde_json::json!([])).await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let _ = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    let page = w.alerts().await;
    assert_eq!(page.len(), 1, "{page:?}");
    assert_eq!(kind_of(&page[0]), Some("onboarding-overdue"));

    // Mist now reports it connected with the right version; its ZTP finished at launch + 20 min.
    w.inventory(serde_json::json!([device(
        "branch-w1",
        true,
        Some("6.3.0-107.r1")
    )]))
    .await;
    let (hd, hook) = w.webhook(TABLE);
    let body = delivery("GW_ZTP_FINISHED", "branch-w1", t0 + Duration::minutes(20));
    let r = hook
        .handle_request(
            &hd,
            signed(&body, WEBHOOK_SECRET),
            ssr_core::handlers::Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let v = answer(&r);
    let result = &v["results"][0];
    assert_eq!(result["outcome"], "finished", "{v:#}");
    assert_eq!(result["phase"], "onboarded", "{v:#}");
    assert_eq!(result["instance_id"], router.instance_id.as_str());
    assert_eq!(result["alerts"][0]["sent"], true, "{v:#}");
    assert_eq!(
        w.mist_stats_reads_of_one_mac().await,
        1,
        "one stats read for the event's MAC confirms the version"
    );

    // The recovered notice went out from this invocation, measured to the event's timestamp.
    let notices = w.alerts().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    let n = &notices[0];
    assert_eq!(kind_of(n), Some("onboarding-recovered"));
    assert_eq!(
        n.subject.as_deref(),
        Some(
            format!(
                "SSR onboarding recovered: branch-w1 ({}) after 20 min",
                router.instance_id
            )
            .as_str()
        )
    );
    assert!(
        n.message.contains("total onboarding time 20 min"),
        "{}",
        n.message
    );
    check_alerts_clean(&notices);
    let episodes = StateStore::from_sdk_config(&w.aws.sdk, d.config.state_table.clone())
        .list_episodes()
        .await
        .expect("scan");
    assert_eq!(episodes.len(), 1);
    assert_eq!(episodes[0].instance_id, router.instance_id);
    assert_eq!(
        (episodes[0].duration_seconds, episodes[0].alerted),
        (20 * 60, true)
    );
    assert_eq!(
        episodes[0].onboarded_at.timestamp(),
        (t0 + Duration::minutes(20)).timestamp()
    );

    // The next sweeps find no open episode (even with Mist still listing nothing) and send nothing.
    w.inventory(serde_json::json!([])).await;
    for minute in [21, 30] {
        let o = sweep(&wd, &d, t0 + Duration::minutes(minute)).await;
        assert_eq!((o.routers, o.open_episodes), (1, 0), "+{minute} min");
        assert!(o.alerts.is_empty(), "+{minute} min: {:?}", o.alerts);
    }
    assert!(w.alerts().await.is_empty(), "the sweep stays quiet");
    let overdue = d.state.overdue_now().await.expect("read").expect("written");
    assert!(overdue.routers.is_empty(), "{:?}", overdue.routers);
}

#[tokio::test]
async fn when_mist_redelivers_the_same_events_then_nothing_changes_and_nothing_is_sent() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-w2").await;
    w.inventory(serde_json::json!([])).await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let _ = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(w.alerts().await.len(), 1, "paged");
    w.inventory(serde_json::json!([device(
        "branch-w2",
        true,
        Some("6.3.0-107.r1")
    )]))
    .await;
    let (hd, hook) = w.webhook(TABLE);
    let body = delivery("GW_CONNECTED", "branch-w2", t0 + Duration::minutes(18));
    let first = hook
        .handle_request(
            &hd,
            signed(&body, WEBHOOK_SECRET),
            ssr_core::handlers::Invocation::local(),
        )
        .await;
    assert_eq!(answer(&first)["results"][0]["outcome"], "finished");
    assert_eq!(w.alerts().await.len(), 1, "the recovered notice");
    let before = StateStore::from_sdk_config(&w.aws.sdk, d.config.state_table.clone())
        .list_episodes()
        .await
        .expect("scan");
    // The router's timeline: the event, beside the page, the recovered notice and the record.
    let timeline = || async {
        StateStore::from_sdk_config(&w.aws.sdk, d.config.state_table.clone())
            .timeline(&router.instance_id, chrono::Utc::now())
            .await
            .expect("timeline")
    };
    let timeline_before = timeline().await;
    let events: Vec<_> = timeline_before
        .iter()
        .filter(|e| e.kind == ssr_core::timeline::EntryKind::WebhookEvent)
        .collect();
    assert_eq!(events.len(), 1, "{timeline_before:?}");
    assert_eq!(events[0].get("event_type"), Some("GW_CONNECTED"));

    // Mist retries: the identical signed delivery, once to the same environment and once to a
    // fresh one (another cold start).
    let (hd2, hook2) = w.webhook(TABLE);
    for (deps, h) in [(&hd, &hook), (&hd2, &hook2)] {
        let again = h
            .handle_request(
                deps,
                signed(&body, WEBHOOK_SECRET),
                ssr_core::handlers::Invocation::local(),
            )
            .await;
        assert_eq!(again.status_code, 200, "{}", again.body);
        let v = answer(&again);
        assert_ne!(v["results"][0]["outcome"], "finished", "{v:#}");
        assert!(
            v["results"][0]["alerts"]
                .as_array()
                .is_none_or(|a| a.is_empty()),
            "{v:#}"
        );
    }
    assert!(w.alerts().await.is_empty(), "nothing sent twice");
    let after = StateStore::from_sdk_config(&w.aws.sdk, d.config.state_table.clone())
        .list_episodes()
        .await
        .expect("scan");
    assert_eq!(after.len(), 1);
    assert_eq!(
        (
            &after[0].instance_id,
            after[0].duration_seconds,
            after[0].onboarded_at
        ),
        (
            &before[0].instance_id,
            before[0].duration_seconds,
            before[0].onboarded_at
        )
    );
    assert_eq!(after[0].instance_id, router.instance_id);
    assert_eq!(
        timeline().await,
        timeline_before,
        "a redelivery adds no entry"
    );
}

#[tokio::test]
async fn when_ztp_fails_then_webhook_pages_at_once_with_mists_text_and_the_deadline_sweep_does_not_page_again(
) {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-w3").await;
    w.inventory(serde_json::json!([device("branch-w3", false, None)]))
        .await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let o = sweep(&wd, &d, t0 + Duration::minutes(2)).await;
    assert_eq!(o.open_episodes, 1);
    assert!(w.alerts().await.is_empty(), "nothing before the deadline");

    // Five minutes after launch, well before the deadline, Mist reports the ZTP failure.
    let (hd, hook) = w.webhook(TABLE);
    let body = delivery("GW_ZTP_FAILED", "branch-w3", t0 + Duration::minutes(5));
    let fixture = ssr_testkit::fixture("mist/webhook-device-events");
    let failed = fixture["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "GW_ZTP_FAILED"))
        .cloned()
        .expect("a GW_ZTP_FAILED event in the fixture");
    let (text, reason) = (
        failed["text"].as_str().expect("text"),
        failed["reason"].as_str().expect("reason"),
    );
    // As Lambda invokes it: the function's ARN names its account (the Function URL request's
    // requestContext.accountId is "anonymous").
    let lambda = ssr_core::handlers::Invocation {
        function_arn: Some(
            "arn:aws:lambda:us-east-1:123456789012:function:ssr-onboard-mist-webhook".into(),
        ),
        ..ssr_core::handlers::Invocation::local()
    };
    let r = hook
        .handle_request(&hd, signed(&body, WEBHOOK_SECRET), lambda)
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let v = answer(&r);
    assert_eq!(v["results"][0]["outcome"], "paged", "{v:#}");
    assert_eq!(v["results"][0]["phase"], "ztp-failed");
    assert_eq!(v["results"][0]["alerts"][0]["sent"], true, "{v:#}");
    let pages = w.alerts().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    let p = &pages[0];
    assert_eq!(kind_of(p), Some("onboarding-failed"));
    assert_eq!(p.attributes.get("instance_id"), Some(&router.instance_id));
    assert_eq!(
        p.subject.as_deref(),
        Some(
            format!(
                "SSR onboarding failed: branch-w3 ({}) ZTP failed",
                router.instance_id
            )
            .as_str()
        )
    );
    for needle in [
        "Phase reached: ztp-failed".to_string(),
        format!("Mist says: {text}"),
        format!("Reason:    {reason}"),
        // The invoked function's account.
        "Account:     123456789012".to_string(),
    ] {
        assert!(p.message.contains(&needle), "{needle:?} in\n{}", p.message);
    }
    assert_eq!(
        p.attributes.get("account").map(String::as_str),
        Some("123456789012")
    );
    check_alerts_clean(&pages);

    // The deadline passes with the router still not connected: no second page for the episode.
    for minute in [16, 17] {
        let o = sweep(&wd, &d, t0 + Duration::minutes(minute)).await;
        assert_eq!(o.open_episodes, 1, "+{minute} min: still not onboarded");
        assert!(
            o.alerts.iter().all(|a| !a.delivery.sent),
            "+{minute} min: {:?}",
            o.alerts
        );
    }
    assert!(w.alerts().await.is_empty(), "paged once, by the webhook");
}

#[tokio::test]
async fn when_the_first_sweep_comes_hours_after_launch_without_mist_then_nobody_is_paged_and_one_summary_lists_the_router(
) {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-old-1").await;
    let (d, wd) = w.watchdog(
        TABLE,
        &[
            ("MIST_ORG_ID", ""),
            ("MIST_API_TOKEN", ""),
            ("ADOPT_EXISTING", "summary"),
            ("UNVERIFIED_ONBOARDING", "notice"),
        ],
    );
    let at = t0 + Duration::hours(3);
    let o = sweep(&wd, &d, at).await;
    assert_eq!(o.episodes[0].decision, ssr_core::episode::Decision::Adopted);
    assert_eq!(o.adopted, 1);
    assert!(o.alerts.is_empty(), "no page, no notice: {:?}", o.alerts);
    assert_eq!(o.overdue_now, 0);
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "one summary: {alerts:?}");
    let a = &alerts[0];
    assert_eq!(
        a.attributes.get("kind").map(String::as_str),
        Some("routers-adopted")
    );
    assert_eq!(
        a.attributes.get("severity").map(String::as_str),
        Some("info")
    );
    assert!(a.message.contains(&router.instance_id), "{}", a.message);
    assert!(a.message.contains("phase unknown"), "{}", a.message);
    check_alerts_clean(&alerts);

    // The same event again, and the next sweeps: the router stays adopted, nothing is sent.
    let _ = wd
        .handle_event(&d, sweep_event(at), ssr_core::Deadline::NONE)
        .await
        .expect("replay");
    for later in [at + Duration::minutes(1), at + Duration::hours(2)] {
        let o = sweep(&wd, &d, later).await;
        assert_eq!(o.episodes[0].decision, ssr_core::episode::Decision::Adopted);
        assert_eq!(o.adopted, 0, "listed once, in the sweep that adopted it");
    }
    assert!(w.alerts().await.is_empty(), "nothing more");
}

#[tokio::test]
async fn when_mist_is_not_configured_then_the_deadline_sends_one_info_notice_and_no_page() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-new-1").await;
    let (d, wd) = w.watchdog(
        TABLE,
        &[
            ("MIST_ORG_ID", ""),
            ("MIST_API_TOKEN", ""),
            ("ADOPT_EXISTING", "summary"),
            ("UNVERIFIED_ONBOARDING", "notice"),
        ],
    );
    let o = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    assert_eq!(o.episodes[0].decision, ssr_core::episode::Decision::Wait);
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(
        o.episodes[0].decision,
        ssr_core::episode::Decision::Unverified
    );
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(
        alerts[0].attributes.get("kind").map(String::as_str),
        Some("onboarding-unverified")
    );
    assert_eq!(
        alerts[0].attributes.get("severity").map(String::as_str),
        Some("info")
    );
    assert_eq!(
        alerts[0].attributes.get("instance_id"),
        Some(&router.instance_id)
    );
    let o = sweep(&wd, &d, t0 + Duration::minutes(30)).await;
    assert_eq!(
        o.episodes[0].decision,
        ssr_core::episode::Decision::StillUnverified
    );
    assert!(w.alerts().await.is_empty(), "one notice per episode");
}

#[tokio::test]
async fn when_mist_upgraded_a_router_past_its_configured_version_then_it_is_onboarded_not_paged() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-upgraded").await;
    // Matched by name (the onboarding config's `name`), as the other tests here.
    w.inventory(serde_json::json!([device(
        "branch-upgraded",
        true,
        Some("6.4.1-12.r2")
    )]))
    .await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let o = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    assert_eq!(o.episodes[0].phase.as_str(), "onboarded", "{o:?}");
    assert_eq!(o.episodes[0].decision, ssr_core::episode::Decision::Finish);
    assert_eq!(o.episodes[0].instance_id, router.instance_id);
    assert!(
        w.alerts().await.is_empty(),
        "a newer SSR than asked for is no problem"
    );
}

#[tokio::test]
async fn when_a_router_is_tagged_ignore_then_the_watchdog_never_pages_it() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-ignored").await;
    w.aws
        .ec2
        .create_tags()
        .resources(&router.instance_id)
        .tags(Tag::builder().key("SSR-ONBOARD").value("ignore").build())
        .send()
        .await
        .expect("CreateTags");
    w.inventory(serde_json::json!([])).await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let _ = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(o.routers, 0, "an ignored router is not swept: {o:?}");
    assert!(w.alerts().await.is_empty());
}

#[tokio::test]
async fn when_a_router_is_snoozed_then_no_page_until_the_time_and_then_exactly_one_saying_so() {
    let w = World::start().await;
    let (router, t0) = w.launch("branch-snoozed").await;
    let until = t0 + Duration::hours(1);
    w.aws
        .ec2
        .create_tags()
        .resources(&router.instance_id)
        .tags(
            Tag::builder()
                .key("SSR-ONBOARD-SNOOZE-UNTIL")
                .value(until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .build(),
        )
        .send()
        .await
        .expect("CreateTags");
    w.inventory(serde_json::json!([])).await;
    let (d, wd) = w.watchdog(TABLE, &[]);
    let _ = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(o.episodes[0].decision, ssr_core::episode::Decision::Snoozed);
    assert!(w.alerts().await.is_empty(), "snoozed: no page");
    let o = sweep(&wd, &d, until + Duration::minutes(1)).await;
    assert_eq!(o.episodes[0].decision, ssr_core::episode::Decision::Overdue);
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].message.contains("was snoozed until"),
        "{}",
        alerts[0].message
    );
    let _ = sweep(&wd, &d, until + Duration::minutes(2)).await;
    assert!(w.alerts().await.is_empty(), "once");
}
