//! The watchdog on the real Mist API shapes (wiremock): the inventory (presence, connected) and
//! the gateway stats (version) joined by MAC, `MIST_VERSION_CHECK`, the time budget of the Mist
//! read, and the operational alert when Mist refuses the token. The router of
//! `watchdog_support` has the MAC `0a:00:00:00:00:01`, the onboarding config `ssr-version`
//! 6.3.0, and is 16 minutes old at the event's time (past its deadline).

use crate::watchdog_support;

use std::time::{Duration, Instant};

use ssr_core::episode::Decision;
use ssr_core::handlers::watchdog::DEADLINE_MARGIN;
use watchdog_support::*;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn inventory_entry(mac: &str, name: &str, connected: bool) -> serde_json::Value {
    serde_json::json!({"mac": mac, "name": name, "serial": "S1", "model": "SSR120",
        "type": "gateway", "connected": connected, "adopted": true, "magic": REG_CODE})
}

fn stats_entry(mac: &str, version: Option<&str>) -> serde_json::Value {
    serde_json::json!({"mac": mac, "name": "whatever", "type": "gateway",
        "status": "connected", "version": version})
}

/// Mist answering `inventory` and `stats` (each after `delay`); `stats_calls`: how many stats
/// reads are expected (checked when the server drops).
async fn mist(
    inventory: serde_json::Value,
    stats: serde_json::Value,
    delay: Duration,
    stats_calls: u64,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/inventory")))
        .and(query_param("type", "gateway"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(inventory)
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/stats/devices")))
        .and(query_param("type", "gateway"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(stats)
                .set_delay(delay),
        )
        .expect(stats_calls)
        .mount(&server)
        .await;
    server
}

fn published(f: &Fakes) -> Vec<(String, String)> {
    f.published.lock().map(|p| p.clone()).unwrap_or_default()
}

#[tokio::test]
async fn when_stats_are_joined_by_mac_then_the_version_decides() {
    // The router's MAC is in the inventory under another name; the stats list holds another
    // gateway first, with a wrong version, so only a join by MAC finds the right entry.
    let inv = serde_json::json!([inventory_entry("0a0000000001", "renamed-in-mist", true)]);
    let cases = [
        (Some("6.3.0-107.r1"), "onboarded", Decision::Finish, 0),
        (Some("6.2.5-5.r2"), "version-mismatch", Decision::Overdue, 1),
    ];
    for (version, phase, decision, pages) in cases {
        let stats = serde_json::json!([
            stats_entry("0a00000000ff", Some("6.2.5-5.r2")),
            stats_entry("0a0000000001", version)
        ]);
        let server = mist(inv.clone(), stats, Duration::ZERO, 1).await;
        let (d, w, fakes) = deps(cfg(&base_config(&server.uri())), false, false);
        let o = w
            .handle_event(&d, event(), ssr_core::Deadline::NONE)
            .await
            .expect("sweep");
        assert_eq!(o.mist.status.as_str(), "ok");
        assert_eq!((o.mist.devices, o.mist.stats, o.mist.requests), (1, 2, 2));
        assert_eq!(o.episodes[0].phase.as_str(), phase, "{version:?}");
        assert_eq!(o.episodes[0].decision, decision);
        let sent = published(&fakes);
        assert_eq!(sent.len(), pages, "{sent:?}");
        if pages == 1 {
            assert!(
                sent[0]
                    .1
                    .contains("running SSR 6.2.5-5.r2, below the configured 6.3.0"),
                "{}",
                sent[0].1
            );
        }
    }
}

#[tokio::test]
async fn when_connected_without_stats_then_the_version_check_mode_decides() {
    let inv = serde_json::json!([inventory_entry("0a0000000001", "SSR_1_Router", true)]);
    // when-reported (default): counts as onboarded, "version not reported".
    let server = mist(inv.clone(), serde_json::json!([]), Duration::ZERO, 1).await;
    let (d, w, fakes) = deps(cfg(&base_config(&server.uri())), false, false);
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!(o.mist.version_check.as_str(), "when-reported");
    assert_eq!(o.episodes[0].phase.as_str(), "connected-no-stats");
    assert_eq!(o.episodes[0].decision, Decision::Finish);
    assert_eq!(o.episodes[0].note.as_deref(), Some("version not reported"));
    assert!(published(&fakes).is_empty());

    // required: waits, so past the deadline it pages in its own phase.
    let server = mist(inv.clone(), serde_json::json!([]), Duration::ZERO, 1).await;
    let mut c = base_config(&server.uri());
    c.push(("MIST_VERSION_CHECK", "required".into()));
    let (d, w, fakes) = deps(cfg(&c), false, false);
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!(o.episodes[0].phase.as_str(), "connected-no-stats");
    assert_eq!(o.episodes[0].decision, Decision::Overdue);
    let sent = published(&fakes);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].1.contains("Phase reached: connected-no-stats"),
        "{}",
        sent[0].1
    );

    // off: the stats are not even read.
    let server = mist(inv, serde_json::json!([]), Duration::ZERO, 0).await;
    let mut c = base_config(&server.uri());
    c.push(("MIST_VERSION_CHECK", "off".into()));
    let (d, w, _) = deps(cfg(&c), false, false);
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!((o.mist.requests, o.mist.stats), (1, 0));
    assert_eq!(o.episodes[0].phase.as_str(), "onboarded");
}

#[tokio::test]
async fn when_mist_is_slower_than_the_budget_then_the_overdue_page_goes_out_with_status_unknown() {
    let server = mist(
        serde_json::json!([]),
        serde_json::json!([]),
        Duration::from_secs(5),
        1,
    )
    .await;
    let (d, w, fakes) = deps(cfg(&base_config(&server.uri())), false, false);
    let w = w.with_mist_budget(Duration::from_millis(300));
    let started = Instant::now();
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.mist.status.as_str(), "unavailable");
    let detail = o.mist.detail.clone().unwrap_or_default();
    assert!(detail.contains("time budget (0.3 s)"), "{detail}");
    assert_eq!(o.episodes[0].phase.as_str(), "unknown");
    let sent = published(&fakes);
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0]
            .1
            .contains("Mist status unknown: the Mist read did not finish"),
        "{}",
        sent[0].1
    );
}

#[tokio::test]
async fn when_the_invocation_deadline_is_near_then_the_mist_read_stops_before_it() {
    let server = mist(
        serde_json::json!([]),
        serde_json::json!([]),
        Duration::from_secs(5),
        1,
    )
    .await;
    let (d, w, _) = deps(cfg(&base_config(&server.uri())), false, false);
    // The default budget (20 s) would run past the deadline: the margin caps it at ~0.4 s.
    let deadline = Instant::now() + DEADLINE_MARGIN + Duration::from_millis(400);
    let started = Instant::now();
    let o = w.handle_event(&d, event(), deadline).await.expect("sweep");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.mist.status.as_str(), "unavailable");
    assert_eq!(o.alerts.len(), 1, "the overdue page still goes out");
}

#[tokio::test]
async fn when_mist_refuses_the_token_then_an_operational_alert_names_the_secret_not_the_token() {
    for status in [401, 403] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(status)
                    .set_body_string(format!("{{\"detail\":\"{TOKEN}\"}}")),
            )
            .mount(&server)
            .await;
        let (d, w, fakes) = deps(cfg(&base_config(&server.uri())), false, false);
        let o = w
            .handle_event(&d, event(), ssr_core::Deadline::NONE)
            .await
            .expect("sweep");
        let token_alert = o.mist.token_alert.clone().expect("token alert");
        assert!(token_alert.sent, "{token_alert:?}");
        let sent = published(&fakes);
        let (subject, body) = sent
            .iter()
            .find(|(s, _)| s.contains("Mist rejected the API token"))
            .unwrap_or_else(|| panic!("{sent:?}"));
        assert!(body.contains(SECRET_ARN), "{body}");
        let result = serde_json::to_string(&o).expect("json");
        for text in [subject.as_str(), body.as_str(), result.as_str()] {
            assert!(!text.contains(TOKEN), "token leaked: {text}");
        }
        assert_eq!(
            sent.len(),
            2,
            "the token alert and the overdue page ({status})"
        );
    }
}
