//! The watchdog's daily Mist probe against moto and a fake Mist (wiremock): with no router
//! onboarding, the first sweep of a UTC day reads Mist once; a refused token raises the
//! once-a-day `mist-token-rejected` alert, any other failure the once-a-day `mist-unreachable`
//! alert; later sweeps that day do not read Mist at all.

use chrono::{DateTime, TimeZone, Utc};
use ssr_core::handlers::watchdog::{SweepOutcome, Watchdog};
use ssr_core::metrics::Function;
use ssr_core::{Config, Deps};
use ssr_onboard_tests::{AlertCapture, TestAws};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TABLE: &str = "ssr-onboard-state";
const ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";
const TOKEN: &str = "mist-probe-token-TEST-do-not-leak";

struct World {
    aws: TestAws,
    capture: AlertCapture,
    mist: MockServer,
}

impl World {
    async fn start() -> World {
        let aws = TestAws::start().await;
        aws.create_state_table(TABLE).await;
        let capture = aws.alert_capture().await;
        World {
            aws,
            capture,
            mist: MockServer::start().await,
        }
    }

    fn watchdog(&self, with_mist: bool) -> (Deps, Watchdog) {
        let mist_url = self.mist.uri();
        let vars: Vec<(&str, String)> = vec![
            ("STATE_TABLE", TABLE.to_string()),
            ("ALERT_TOPIC_ARN", self.capture.topic_arn.clone()),
            ("MIST_API_URL", mist_url),
            (
                "MIST_ORG_ID",
                if with_mist {
                    ORG.to_string()
                } else {
                    String::new()
                },
            ),
            ("MIST_API_TOKEN", TOKEN.to_string()),
        ];
        let config =
            Config::from_vars(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()))
                .expect("config");
        let deps = self.aws.deps(Function::OnboardingWatchdog, config);
        let w = Watchdog::new(&deps.config, deps.secrets_client());
        (deps, w)
    }

    /// Mist answers every read with `status` (and, for 200, an empty list).
    async fn mist_answers(&self, status: u16) {
        self.mist.reset().await;
        let auth = format!("Token {TOKEN}");
        let template = if status == 200 {
            ResponseTemplate::new(200).set_body_json(serde_json::json!([]))
        } else {
            ResponseTemplate::new(status)
        };
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orgs/{ORG}/inventory")))
            .and(header("authorization", auth.as_str()))
            .respond_with(template.clone())
            .mount(&self.mist)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orgs/{ORG}/stats/devices")))
            .and(header("authorization", auth.as_str()))
            .respond_with(template)
            .mount(&self.mist)
            .await;
    }

    async fn mist_requests(&self) -> usize {
        self.mist
            .received_requests()
            .await
            .map(|r| r.len())
            .unwrap_or(0)
    }

    /// The `kind` of every alert published since the last call.
    async fn alert_kinds(&self) -> Vec<String> {
        self.capture
            .drain(&self.aws)
            .await
            .into_iter()
            .map(|a| {
                assert!(!a.message.contains(TOKEN), "the token in an alert");
                a.attributes.get("kind").cloned().unwrap_or_default()
            })
            .collect()
    }
}

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0)
        .single()
        .expect("a valid time")
}

async fn sweep(w: &Watchdog, d: &Deps, now: DateTime<Utc>) -> SweepOutcome {
    let mut event = ssr_testkit::fixture("scheduled-event");
    event["time"] = now
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        .into();
    event["id"] = format!("sweep-{}", now.timestamp()).into();
    w.handle_event(d, event, ssr_core::Deadline::NONE)
        .await
        .expect("sweep")
}

#[tokio::test]
async fn when_no_router_is_onboarding_then_mist_is_read_once_a_day_and_not_again() {
    let w = World::start().await;
    w.mist_answers(200).await;
    let (d, wd) = w.watchdog(true);
    let o = sweep(&wd, &d, at(2, 0, 1)).await;
    assert_eq!(o.open_episodes, 0);
    assert_eq!(o.mist.status.as_str(), "ok");
    assert_eq!(o.mist.detail.as_deref(), Some("daily Mist probe"));
    let probed = w.mist_requests().await;
    assert_eq!(probed, 2, "one inventory and one stats read");
    for minute in 2..5 {
        let o = sweep(&wd, &d, at(2, 0, minute)).await;
        assert_eq!(o.mist.status.as_str(), "not-needed");
    }
    // Another cold start the same day does not probe again either: the claim is in the table.
    let (d2, wd2) = w.watchdog(true);
    let _ = sweep(&wd2, &d2, at(2, 13, 0)).await;
    assert_eq!(w.mist_requests().await, probed);
    // The next UTC day probes again.
    let o = sweep(&wd, &d, at(3, 0, 0)).await;
    assert_eq!(o.mist.status.as_str(), "ok");
    assert_eq!(w.mist_requests().await, 2 * probed);
    assert!(w.alert_kinds().await.is_empty());
}

#[tokio::test]
async fn when_the_probe_finds_the_token_refused_then_mist_token_rejected_is_sent_once_a_day() {
    let w = World::start().await;
    w.mist_answers(401).await;
    let (d, wd) = w.watchdog(true);
    let o = sweep(&wd, &d, at(2, 0, 1)).await;
    assert_eq!(o.mist.status.as_str(), "unavailable");
    assert!(
        o.mist.token_alert.as_ref().is_some_and(|a| a.sent),
        "{:?}",
        o.mist
    );
    assert_eq!(w.alert_kinds().await, vec!["mist-token-rejected"]);
    let _ = sweep(&wd, &d, at(2, 0, 2)).await;
    assert!(w.alert_kinds().await.is_empty(), "once a day");
}

#[tokio::test]
async fn when_the_probe_cannot_read_mist_then_mist_unreachable_is_sent_once_a_day() {
    let w = World::start().await;
    w.mist_answers(404).await;
    let (d, wd) = w.watchdog(true);
    let o = sweep(&wd, &d, at(2, 0, 1)).await;
    assert_eq!(o.mist.status.as_str(), "unavailable");
    assert!(o
        .mist
        .detail
        .as_deref()
        .unwrap_or("")
        .starts_with("daily Mist probe: "));
    assert_eq!(w.alert_kinds().await, vec!["mist-unreachable"]);
    let _ = sweep(&wd, &d, at(2, 0, 2)).await;
    assert!(w.alert_kinds().await.is_empty(), "once a day");
    let _ = sweep(&wd, &d, at(3, 0, 1)).await;
    assert_eq!(
        w.alert_kinds().await,
        vec!["mist-unreachable"],
        "again the next day"
    );
}

#[tokio::test]
async fn when_mist_is_not_configured_then_there_is_no_probe() {
    let w = World::start().await;
    w.mist_answers(200).await;
    let (d, wd) = w.watchdog(false);
    let o = sweep(&wd, &d, at(2, 0, 1)).await;
    assert_eq!(o.mist.status.as_str(), "not-needed");
    assert_eq!(w.mist_requests().await, 0);
    assert!(w.alert_kinds().await.is_empty());
}
