//! A router's onboarding episodes across its life, against moto and a fake Mist API
//! (wiremock): the watchdog remembers an instance that onboarded (`onboarded#<instance-id>`),
//! so its next episode after a stop/start needs only a reconnect, not the version; and
//! `ssr-onboard ack` (the built binary) closes one episode only, resolving its page once.
//!
//! moto keeps an instance's launch time across a stop/start (real EC2 sets a new one), so a
//! second episode is started here as stack-watch records one: a later `onboarding-start#` item,
//! which the sweep takes as the episode's start (a new episode key, as a new launch time is).
//! moto returns no MAC addresses: the routers match Mist devices by name.

use crate::common;

use chrono::{DateTime, Duration, Utc};
use common::cli;
use ssr_core::handlers::watchdog::{SweepOutcome, Watchdog};
use ssr_core::Deps;
use ssr_onboard_tests::mist_world::{MistWorld as World, STATE_TABLE_NAME as TABLE};
use ssr_onboard_tests::{CapturedAlert, TestAws};

const TOKEN: &str = "mist-api-token-TEST-do-not-leak-7a2c";

/// What only these tests ask of the shared world.
trait Episodes {
    fn watchdog(&self) -> (Deps, Watchdog);
    async fn launch_id(&self, name: &str) -> (String, DateTime<Utc>);
    async fn restart(&self, deps: &Deps, id: &str, at: DateTime<Utc>);
    async fn has_item(&self, pk: &str) -> bool;
}

impl Episodes for World {
    fn watchdog(&self) -> (Deps, Watchdog) {
        self.watchdog_with(Some(TOKEN), &[])
    }

    /// A router launched as the guide says (its onboarding config asks for SSR 6.3.0).
    async fn launch_id(&self, name: &str) -> (String, DateTime<Utc>) {
        let (r, t) = self.launch(name).await;
        (r.instance_id, t)
    }

    /// A new episode of `id` starting at `at` (as after a stop/start; see the module doc).
    async fn restart(&self, deps: &Deps, id: &str, at: DateTime<Utc>) {
        assert!(deps
            .state
            .record_onboarding_start(id, at, "test: stop/start")
            .await
            .expect("PutItem onboarding-start"));
    }

    async fn has_item(&self, pk: &str) -> bool {
        self.aws
            .dynamodb
            .get_item()
            .table_name(TABLE)
            .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.into()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem")
            .item
            .is_some()
    }
}

async fn sweep(w: &Watchdog, d: &Deps, at: DateTime<Utc>) -> SweepOutcome {
    let mut ev = ssr_testkit::fixture("scheduled-event");
    ev["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    ev["id"] = format!("sweep-{}", at.timestamp()).into();
    w.handle_event(d, ev, ssr_core::Deadline::NONE)
        .await
        .expect("sweep")
}

fn attr<'a>(a: &'a CapturedAlert, name: &str) -> Option<&'a str> {
    a.attributes.get(name).map(String::as_str)
}

#[tokio::test]
async fn when_a_router_onboarded_before_then_its_next_episode_needs_a_reconnect_not_the_version() {
    let w = World::start().await;
    let (id, t0) = w.launch_id("branch-again").await;
    let (fresh, _) = w.launch_id("branch-fresh").await;
    let (d, wd) = w.watchdog();
    // First episode: onboarded with the configured version.
    w.mist_shows(&[("branch-again", true, Some("6.3.0-107.r1"))])
        .await;
    let o = sweep(&wd, &d, t0 + Duration::minutes(9)).await;
    let first = o.episodes.iter().find(|e| e.instance_id == id).expect("ep");
    assert_eq!(first.phase.as_str(), "onboarded", "{o:?}");
    assert!(
        w.has_item(&format!("onboarded#{id}")).await,
        "remembered as onboarded"
    );

    // After a stop/start both report a version below the configured 6.3.0 (rolled back by
    // hand, say): the router that onboarded before only has to reconnect; the fresh one waits.
    let t1 = t0 + Duration::hours(3);
    w.restart(&d, &id, t1).await;
    w.restart(&d, &fresh, t1).await;
    w.mist_shows(&[
        ("branch-again", true, Some("6.2.5-1.r2")),
        ("branch-fresh", true, Some("6.2.5-1.r2")),
    ])
    .await;
    let o = sweep(&wd, &d, t1 + Duration::minutes(4)).await;
    let phase_of = |o: &SweepOutcome, id: &str| {
        o.episodes
            .iter()
            .find(|e| e.instance_id == id)
            .map(|e| (e.phase.as_str(), e.decision))
    };
    assert_eq!(
        phase_of(&o, &id),
        Some(("onboarded", ssr_core::episode::Decision::Finish)),
        "{o:?}"
    );
    assert_eq!(
        phase_of(&o, &fresh),
        Some(("version-mismatch", ssr_core::episode::Decision::Wait)),
        "a first install still needs its version: {o:?}"
    );

    // A third episode that does not reconnect pages, saying which rule applied.
    let t2 = t1 + Duration::hours(3);
    w.restart(&d, &id, t2).await;
    w.mist_shows(&[("branch-again", false, None)]).await;
    let _ = sweep(&wd, &d, t2 + Duration::minutes(1)).await;
    let _ = w.alerts().await;
    let _ = sweep(&wd, &d, t2 + Duration::minutes(16)).await;
    let pages: Vec<CapturedAlert> = w
        .alerts()
        .await
        .into_iter()
        .filter(|a| attr(a, "instance_id") == Some(id.as_str()))
        .collect();
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert!(
        pages[0]
            .message
            .contains("reconnect only, no version check"),
        "{}",
        pages[0].message
    );
}

#[tokio::test]
async fn when_a_paged_episode_is_acknowledged_then_one_resolve_and_only_that_episode_is_closed() {
    let w = World::start().await;
    let (id, t0) = w.launch_id("branch-ack").await;
    let (d, wd) = w.watchdog();
    w.mist_shows(&[]).await;
    let _ = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    let _ = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    let pages = w.alerts().await;
    assert_eq!(pages.len(), 1, "{pages:?}");
    assert_eq!(attr(&pages[0], "kind"), Some("onboarding-overdue"));

    let ack = |reason: &str| {
        cli(
            w.aws.emulator.endpoint(),
            &[
                "ack",
                &id,
                "--table",
                TABLE,
                "--topic",
                &w.capture.topic_arn,
                "--reason",
                reason,
                "--output",
                "json",
            ],
        )
    };
    let out = ack("lab router, onboarded by hand");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["status"], "acknowledged", "{report}");
    assert_eq!(
        report["acknowledgement"]["reason"],
        "lab router, onboarded by hand"
    );
    let by = report["acknowledgement"]["acknowledged_by"]
        .as_str()
        .unwrap_or_default();
    assert!(by.starts_with("arn:aws:"), "the caller's ARN: {report}");

    let resolves = w.alerts().await;
    assert_eq!(resolves.len(), 1, "exactly one resolve: {resolves:?}");
    let r = &resolves[0];
    assert_eq!(attr(r, "kind"), Some("onboarding-acknowledged"));
    assert_eq!(attr(r, "action"), Some("resolve"));
    let key = format!("ssr-onboard/onboarding/{id}/{}", t0.timestamp());
    assert_eq!(attr(r, "incident_key"), Some(key.as_str()));
    assert!(r.message.contains("lab router, onboarded by hand"));

    // Again: already acknowledged, nothing sent twice.
    let again = ack("again");
    assert!(again.status.success());
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(report["status"], "already-acknowledged");
    assert!(w.alerts().await.is_empty(), "one resolve only");

    // The sweep sees the episode closed: no page, and no recovered notice when it connects.
    let o = sweep(&wd, &d, t0 + Duration::minutes(17)).await;
    assert_eq!(o.open_episodes, 0, "{o:?}");
    w.mist_shows(&[("branch-ack", true, Some("6.3.0-107.r1"))])
        .await;
    let _ = sweep(&wd, &d, t0 + Duration::minutes(30)).await;
    assert!(w.alerts().await.is_empty(), "no recovered notice");
    assert!(
        !w.has_item(&format!("onboarded#{id}")).await,
        "an acknowledgement is not proof of onboarding"
    );

    // The next episode (after a stop/start) is watched and paged as usual, version included.
    let t1 = t0 + Duration::hours(2);
    w.restart(&d, &id, t1).await;
    w.mist_shows(&[("branch-ack", true, Some("6.2.5-1.r2"))])
        .await;
    let _ = sweep(&wd, &d, t1 + Duration::minutes(1)).await;
    let o = sweep(&wd, &d, t1 + Duration::minutes(16)).await;
    assert_eq!(o.episodes[0].phase.as_str(), "version-mismatch", "{o:?}");
    let pages = w.alerts().await;
    assert_eq!(pages.len(), 1, "the later episode pages again: {pages:?}");
    assert_eq!(attr(&pages[0], "kind"), Some("onboarding-overdue"));
    assert!(
        pages[0].message.contains("first install"),
        "{}",
        pages[0].message
    );
}

#[tokio::test]
async fn when_an_episode_is_acknowledged_before_any_page_then_nothing_is_sent_ever() {
    let w = World::start().await;
    let (id, t0) = w.launch_id("branch-quiet").await;
    let (d, wd) = w.watchdog();
    w.mist_shows(&[]).await;
    let _ = sweep(&wd, &d, t0 + Duration::minutes(1)).await;
    let out = cli(
        w.aws.emulator.endpoint(),
        &[
            "ack",
            &id,
            "--table",
            TABLE,
            "--topic",
            &w.capture.topic_arn,
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("nothing to resolve"), "{text}");
    let o = sweep(&wd, &d, t0 + Duration::minutes(16)).await;
    assert_eq!(o.open_episodes, 0);
    assert!(w.alerts().await.is_empty(), "no page, no resolve");

    let report = cli(
        w.aws.emulator.endpoint(),
        &["report", "--table", TABLE, "--output", "json"],
    );
    let report: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    assert_eq!(
        report["count"], 0,
        "an acknowledgement is not an onboarding"
    );
    assert_eq!(report["acknowledged"][0]["instance_id"], id.as_str());
}

#[tokio::test]
async fn when_ack_names_no_instance_then_it_fails_with_a_usage_error_and_writes_nothing() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let out = cli(
        aws.emulator.endpoint(),
        &["ack", "i-0123456789abcdef0", "--table", TABLE],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not in this account and region"), "{err}");
    let out = cli(
        aws.emulator.endpoint(),
        &["ack", "router-1", "--table", TABLE],
    );
    assert_eq!(out.status.code(), Some(2));
}
