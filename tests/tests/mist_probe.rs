//! The watchdog's daily Mist probe against moto and a fake Mist (wiremock): with no router
//! onboarding, the first sweep of a UTC day reads Mist once; a refused token raises the
//! once-a-day `mist-token-rejected` alert, any other failure the once-a-day `mist-unreachable`
//! alert; later sweeps that day do not read Mist at all.

use chrono::{DateTime, TimeZone, Utc};
use ssr_core::handlers::watchdog::{SweepOutcome, Watchdog};
use ssr_core::Deps;
use ssr_onboard_tests::mist_world::{MistWorld as World, MIST_ORG};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

const ORG: &str = MIST_ORG;
const TOKEN: &str = "mist-probe-token-TEST-do-not-leak";

/// What only these tests ask of the shared world.
trait Probe {
    fn watchdog(&self, with_mist: bool) -> (Deps, Watchdog);
    async fn mist_answers(&self, status: u16);
    async fn alert_kinds(&self) -> Vec<String>;
}

impl Probe for World {
    /// Without `with_mist`, no Mist organization: Mist is not configured.
    fn watchdog(&self, with_mist: bool) -> (Deps, Watchdog) {
        let no_org: &[(&str, &str)] = if with_mist {
            &[]
        } else {
            &[("MIST_ORG_ID", "")]
        };
        self.watchdog_with(Some(TOKEN), no_org)
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
