//! The watchdog never logs, returns or alerts a secret: the Mist token and the registration code
//! (in its own test binary: `tracing`'s per-thread subscriber is reliable only without other
//! tests racing on callsite registration).

use crate::log_capture;
use crate::watchdog_support;

use watchdog_support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn when_sweep_alerts_then_no_token_or_registration_code_in_logs_result_or_alert() {
    let (logs, _guard) = log_capture::capture();

    let mist = MockServer::start().await;
    // The router is known to Mist (by MAC) but not connected; Mist echoes a claim code.
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/inventory")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"name": "SSR_1_Router", "mac": "0a0000000001", "serial": "S1", "type": "gateway",
             "connected": false, "magic": REG_CODE}
        ])))
        .mount(&mist)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/stats/devices")))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&mist)
        .await;
    let (d, w, fakes) = deps(cfg(&base_config(&mist.uri())), false, false);
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!(o.alerts.len(), 1);
    assert!(o.alerts[0].delivery.sent);
    let result = serde_json::to_string(&o).expect("json");
    let published = fakes
        .published
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    assert_eq!(published.len(), 1);
    let (subject, body) = &published[0];
    assert_eq!(
        subject,
        "SSR onboarding overdue: SSR_1_Router (i-0abc1234567890def) 16 min"
    );
    assert!(body.contains("Phase reached: not-connected"), "{body}");
    let text = logs.text();
    for (what, haystack) in [
        ("logs", &text),
        ("result", &result),
        ("subject", subject),
        ("alert", body),
    ] {
        assert!(!haystack.contains(TOKEN), "Mist token leaked into {what}");
        assert!(
            !haystack.contains(REG_CODE),
            "registration code leaked into {what}"
        );
    }
    let swept = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["decision"] == "swept")
        .unwrap_or_else(|| panic!("one structured summary line in\n{text}"));
    assert_eq!(swept["routers"], 1);
    assert_eq!(swept["mist_requests"], 2, "inventory and stats");
}
