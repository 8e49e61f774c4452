//! `ssr-onboard timeline <instance-id>` (the built binary) against moto and a fake Mist API
//! (wiremock), after the real handlers did their work on one router: the guard fixed both
//! interfaces and alerted a small disk, the watchdog saw the episode start, saw its Mist phase
//! and paged it, and a person acknowledged it. Each step is one entry, in time order; replayed
//! events add none; no secret appears.
//!
//! The watchdog takes "now" from its scheduled event (minutes after the launch), while the
//! guard and `ack` run at the wall clock, so entries are checked in their time order and by
//! kind, and the guard's own entries (fixes, then its findings and alert) in sequence.

use crate::common;

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use common::cli;
use ssr_core::handlers::guard;
use ssr_core::handlers::watchdog::{SweepOutcome, Watchdog};
use ssr_core::metrics::Function;
use ssr_core::Deps;
use ssr_onboard_tests::mist_world::{MistWorld as World, STATE_TABLE_NAME as TABLE};
use ssr_onboard_tests::{ec2_state_change_event, RouterSpec, TestAws, REG_CODE};

const TOKEN: &str = "mist-api-token-TEST-do-not-leak-5b1e";

/// What only these tests ask of the shared world.
trait Timeline {
    fn deps(&self, function: Function, mist: bool) -> Deps;
    fn timeline(&self, id: &str, output: &str) -> std::process::Output;
}

impl Timeline for World {
    fn deps(&self, function: Function, mist: bool) -> Deps {
        self.deps_with(function, mist.then_some(TOKEN), &[])
    }

    fn timeline(&self, id: &str, output: &str) -> std::process::Output {
        cli(
            self.aws.emulator.endpoint(),
            &["timeline", id, "--table", TABLE, "--output", output],
        )
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

fn kinds(doc: &serde_json::Value) -> Vec<String> {
    doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn of_kind<'a>(doc: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn when_a_router_is_fixed_alerted_paged_and_acknowledged_then_its_timeline_lists_each_step_once_in_time_order(
) {
    let w = World::start().await;
    let spec = RouterSpec {
        root_volume_gb: 8,
        ..RouterSpec::guide("branch-tl")
    };
    let router = w.aws.launch_router(&w.vpc, &spec).await;
    let id = router.instance_id.clone();
    let t0 = w.launch_time(&id).await;
    let key = format!("{id}#{}", t0.timestamp());

    // The guard: both interfaces fixed and read back, the small disk alerted.
    let g = w.deps(Function::InstanceGuard, false);
    let event = ec2_state_change_event(&id, "running");
    let o = guard::handle_event(&g, event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("guarded");
    assert_eq!(o.actions.len(), 2, "{:?}", o.actions);
    assert!(o.alert.sent, "{:?}", o.alert);

    // The watchdog: the episode starts (first sweep, Mist does not list the router yet), the
    // router is listed but never connects, then it is paged.
    let (wd_deps, wd) = {
        let d = w.deps(Function::OnboardingWatchdog, true);
        let wd = Watchdog::new(&d.config, d.secrets_client());
        (d, wd)
    };
    w.mist_shows(&[]).await;
    let _ = sweep(&wd, &wd_deps, t0 + Duration::minutes(1)).await;
    let _ = sweep(&wd, &wd_deps, t0 + Duration::minutes(2)).await;
    w.mist_shows(&[("branch-tl", false, None)]).await;
    let _ = sweep(&wd, &wd_deps, t0 + Duration::minutes(5)).await;
    let paged = sweep(&wd, &wd_deps, t0 + Duration::minutes(16)).await;
    assert_eq!(paged.alerts.len(), 1, "{paged:?}");

    // A person acknowledges it: the page's resolve is sent.
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
            ],
        )
    };
    let out = ack("lab router");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = w.timeline(&id, "json");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema"], "ssr-onboard/timeline/v1");
    assert_eq!(doc["instance_id"], id.as_str());

    // In time order.
    let times: Vec<DateTime<Utc>> = doc["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            DateTime::parse_from_rfc3339(e["at"].as_str().expect("at"))
                .expect("an RFC 3339 time")
                .with_timezone(&Utc)
        })
        .collect();
    assert!(times.windows(2).all(|p| p[0] <= p[1]), "{doc:#}");

    // Each step once.
    let mut count: HashMap<String, usize> = HashMap::new();
    for k in kinds(&doc) {
        *count.entry(k).or_default() += 1;
    }
    let expected = HashMap::from(
        [
            ("episode-started", 1),
            ("fix", 2),
            ("findings", 1),
            ("alert", 3),
            ("mist-phase", 2),
            ("acknowledged", 1),
            ("episode-finished", 1),
        ]
        .map(|(k, n)| (k.to_string(), n)),
    );
    assert_eq!(count, expected, "{doc:#}");

    // The episode began at the launch, before anything else.
    let started = &doc["entries"][0];
    assert_eq!(started["kind"], "episode-started", "{doc:#}");
    assert_eq!(started["fields"]["episode"], key.as_str());
    assert_eq!(started["fields"]["source"], "launch");

    // The guard's entries: each interface fixed and read back, then its findings and alert.
    let fixes = of_kind(&doc, "fix");
    let mut enis: Vec<&str> = fixes
        .iter()
        .map(|f| f["fields"]["resource"].as_str().unwrap_or_default())
        .collect();
    enis.sort_unstable();
    let mut want = vec![router.wan_eni_id.as_str(), router.lan_eni_id.as_str()];
    want.sort_unstable();
    assert_eq!(enis, want);
    for f in &fixes {
        assert_eq!(f["fields"]["attribute"], "SourceDestCheck");
        assert_eq!(f["fields"]["status"], "applied");
        assert_eq!(f["fields"]["verified"], "true");
    }
    let guard_kinds: Vec<String> = kinds(&doc)
        .into_iter()
        .filter(|k| k == "fix" || k == "findings")
        .collect();
    assert_eq!(guard_kinds, ["fix", "fix", "findings"], "{doc:#}");
    let findings = of_kind(&doc, "findings");
    assert!(
        findings[0]["fields"]["codes"]
            .as_str()
            .is_some_and(|c| !c.is_empty()),
        "{doc:#}"
    );

    // The alerts: the guard's trigger, the page, the acknowledgement's resolve.
    let alerts: Vec<(String, String, String)> = of_kind(&doc, "alert")
        .iter()
        .map(|a| {
            let f = &a["fields"];
            (
                f["alert_kind"].as_str().unwrap_or_default().to_string(),
                f["action"].as_str().unwrap_or_default().to_string(),
                f["incident_key"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let episode_incident = format!("ssr-onboard/onboarding/{id}/{}", t0.timestamp());
    assert!(
        alerts.contains(&(
            "guard-findings".into(),
            "trigger".into(),
            ssr_core::render::IncidentKey::guard(&id).to_string()
        )),
        "{alerts:?}"
    );
    assert!(
        alerts.contains(&(
            "onboarding-overdue".into(),
            "trigger".into(),
            episode_incident.clone()
        )),
        "{alerts:?}"
    );
    assert!(
        alerts.contains(&(
            "onboarding-acknowledged".into(),
            "resolve".into(),
            episode_incident
        )),
        "{alerts:?}"
    );

    // The Mist phases seen, each change once, in order.
    let phases: Vec<(&str, Option<&str>)> = of_kind(&doc, "mist-phase")
        .iter()
        .map(|p| {
            (
                p["fields"]["phase"].as_str().unwrap_or_default(),
                p["fields"]["previous"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        phases,
        [
            ("not-in-inventory", None),
            ("not-connected", Some("not-in-inventory"))
        ],
        "{doc:#}"
    );

    // The acknowledgement closed the episode: its duration is the time from the launch.
    let ack_entry = &of_kind(&doc, "acknowledged")[0];
    assert_eq!(ack_entry["fields"]["reason"], "lab router");
    assert_eq!(doc["episodes"][0]["episode"], key.as_str());
    assert_eq!(doc["episodes"][0]["finished_by"], "acknowledged");
    assert!(doc["episodes"][0]["duration_seconds"].as_i64().is_some());

    // Replays: the guard's event, the paging sweep, the acknowledgement: no entry added.
    let before = doc["entries"].as_array().map(Vec::len);
    guard::handle_event(&g, event, ssr_core::Deadline::NONE)
        .await
        .expect("replayed guard");
    let _ = sweep(&wd, &wd_deps, t0 + Duration::minutes(16)).await;
    assert!(ack("again").status.success());
    let again: serde_json::Value =
        serde_json::from_slice(&w.timeline(&id, "json").stdout).expect("json");
    assert_eq!(
        again["entries"].as_array().map(Vec::len),
        before,
        "{again:#}"
    );

    // The text: one line per entry, time first; no secret anywhere.
    let text = w.timeline(&id, "text");
    assert!(text.status.success());
    let text = String::from_utf8_lossy(&text.stdout).to_string();
    let lines: Vec<&str> = text.lines().skip(1).take(times.len()).collect();
    assert_eq!(lines.len(), times.len(), "{text}");
    for (line, t) in lines.iter().zip(&times) {
        assert!(
            line.starts_with(&t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
            "{line}"
        );
    }
    let json = String::from_utf8_lossy(&out.stdout).to_string();
    for secret in [TOKEN, REG_CODE] {
        assert!(!json.contains(secret) && !text.contains(secret));
    }
}

#[tokio::test]
async fn when_the_router_has_no_entries_then_an_empty_timeline_and_exit_0() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let out = cli(
        aws.emulator.endpoint(),
        &[
            "timeline",
            "i-0123456789abcdef0",
            "--table",
            TABLE,
            "--output",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["schema"], "ssr-onboard/timeline/v1");
    assert_eq!(doc["entries"], serde_json::json!([]));
}

#[tokio::test]
async fn when_the_id_is_not_an_instance_id_or_no_table_is_given_then_exit_2() {
    let aws = TestAws::start().await;
    let out = cli(
        aws.emulator.endpoint(),
        &["timeline", "router-1", "--table", TABLE],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an EC2 instance id"));
    let out = cli(
        aws.emulator.endpoint(),
        &["timeline", "i-0123456789abcdef0"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no state table"));
}
