//! `ssr-onboard demo` end to end: the built binary starts its own emulator, provisions, runs the
//! real handlers and prints what on-call would get. Checked in both output formats.

use std::process::{Command, Output};

use ssr_onboard_tests::REG_CODE;

/// The demo's fake Mist token and webhook secret (functions/cli/src/ops/demo/mist.rs): demo values,
/// but handled as secrets, so never printed.
const DEMO_SECRETS: [&str; 2] = [
    "demo-mist-api-token-3b8e51c0",
    "demo-webhook-secret-9d04a7e2",
];

const BIN: &str = env!("CARGO_BIN_EXE_ssr-onboard");

fn demo(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.arg("demo").args(args);
    // The demo must not need (or touch) any AWS configuration of the caller.
    for var in [
        "AWS_PROFILE",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "ALERT_TOPIC_ARN",
        "STATE_TABLE",
    ] {
        cmd.env_remove(var);
    }
    cmd.output().expect("the ssr-onboard binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn router<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["routers"]
        .as_array()
        .expect("routers")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("router {name} in {doc:#}"))
}

fn remaining_codes(r: &serde_json::Value) -> Vec<String> {
    r["guard"]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["fixed"] == false && f["severity"] != "info")
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn when_demo_runs_with_json_output_then_enis_fixed_three_mist_phases_and_alerts_captured() {
    let out = demo(&["--output", "json"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(doc["schema"], "ssr-onboard/demo/v1");

    // Every router interface had source/dest check on before and off after (verified fixes).
    for name in ["branch-good", "branch-bad", "branch-old"] {
        let r = router(&doc, name);
        let before = r["before"]["interfaces"].as_array().expect("interfaces");
        let after = r["after"]["interfaces"].as_array().expect("interfaces");
        assert_eq!(before.len(), 2, "{name}");
        assert!(
            before.iter().all(|i| i["source_dest_check"] == true),
            "{name}"
        );
        assert!(
            after.iter().all(|i| i["source_dest_check"] == false),
            "{name}"
        );
        let applied = r["guard"]["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .filter(|a| a["status"] == "applied")
            .count();
        assert_eq!(applied, 2, "{name}: {:#}", r["guard"]);
        // moto cannot report ENA: reported as unknown, never faked.
        assert_eq!(r["after"]["ena"], "unknown", "{name}");
    }

    let good = router(&doc, "branch-good");
    assert_eq!(remaining_codes(good), Vec::<String>::new());
    assert_eq!(good["guard"]["alert"]["sent"], false);

    let bad = router(&doc, "branch-bad");
    let codes = remaining_codes(bad);
    for want in [
        "ENI_ROLE_TAG_MISSING",
        "NO_LAN_INTERFACE",
        "ROOT_VOLUME_TOO_SMALL",
        "ONBOARDING_CONFIG_INVALID",
    ] {
        assert!(codes.iter().any(|c| c == want), "{want} in {codes:?}");
    }
    assert_eq!(bad["before"]["root_volume_gb"], 8);
    assert_eq!(bad["after"]["onboarding"], "invalid");

    let alerts = doc["alerts"].as_array().expect("alerts");
    let bad_id = bad["instance_id"].as_str().expect("instance id");
    assert!(
        alerts.iter().any(|a| a["subject"]
            .as_str()
            .is_some_and(|s| s.contains(bad_id) && s.contains("branch-bad"))),
        "guard alert for branch-bad delivered: {alerts:#?}"
    );
    let overdue = |id: &str| {
        alerts
            .iter()
            .find(|a| {
                a["attributes"]["kind"] == "onboarding-overdue"
                    && a["attributes"]["instance_id"] == id
            })
            .unwrap_or_else(|| panic!("an overdue alert for {id}: {alerts:#?}"))
    };
    // Phase 1: branch-bad (no registration code) never shows up in Mist's inventory: paged.
    let page = overdue(bad_id)["message"].as_str().unwrap_or_default();
    assert!(page.contains("Phase reached: not-in-inventory"), "{page}");
    // Phase 2: branch-old is connected with an older SSR: paged, both versions named.
    let old = router(&doc, "branch-old");
    let old_id = old["instance_id"].as_str().expect("instance id");
    let page = overdue(old_id)["message"].as_str().unwrap_or_default();
    assert!(page.contains("Phase reached: version-mismatch"), "{page}");
    assert!(
        page.contains("running SSR 6.2.5-5.r2, below the configured 6.3.0"),
        "{page}"
    );
    // Phase 3: branch-good onboarded through the signed webhook delivery: its episode ended at
    // once (at the event's time, launch + 11 min), so no page and no recovery notice for it.
    let good_id = good["instance_id"].as_str().expect("instance id");
    let hook = &doc["mist_webhook"];
    assert_eq!(hook["status_code"], 200, "{hook:#}");
    assert_eq!(hook["event"], "GW_ZTP_FINISHED");
    assert_eq!(
        hook["summary"]["results"][0]["outcome"], "finished",
        "{hook:#}"
    );
    assert_eq!(hook["summary"]["results"][0]["phase"], "onboarded");
    assert_eq!(hook["summary"]["results"][0]["instance_id"], good_id);
    assert!(
        !alerts
            .iter()
            .any(|a| a["attributes"]["instance_id"] == good_id
                && a["attributes"]["kind"]
                    .as_str()
                    .is_some_and(|k| k.starts_with("onboarding-"))),
        "no onboarding alert for the router that onboarded: {alerts:#?}"
    );
    assert_eq!(
        doc["first_sweep"]["episodes"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["instance_id"] == good_id))
            .map(|e| e["phase"].clone()),
        Some("not-connected".into()),
        "before the delivery Mist listed branch-good as not connected"
    );
    let phases: Vec<(String, String, String)> = doc["mist_phases"]
        .as_array()
        .expect("mist_phases")
        .iter()
        .map(|p| {
            (
                p["router"].as_str().unwrap_or_default().to_string(),
                p["phase"].as_str().unwrap_or_default().to_string(),
                p["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(phases.len(), 3, "{phases:?}");
    assert_eq!(
        (&phases[0].0, &phases[0].1),
        (&"branch-good".to_string(), &"onboarded".to_string())
    );
    assert!(
        phases[0].2.starts_with("episode ended by the webhook"),
        "{phases:?}"
    );
    assert_eq!(
        phases[1],
        (
            "branch-bad".into(),
            "not-in-inventory".into(),
            "paged".into()
        )
    );
    assert_eq!(
        phases[2],
        (
            "branch-old".into(),
            "version-mismatch".into(),
            "paged".into()
        )
    );
    let again = &doc["stack_watch"]["instances"][0]["guard"];
    assert_eq!(again["instance_id"], bad_id);
    assert_eq!(
        again["actions"].as_array().map(Vec::len),
        Some(0),
        "nothing left to fix"
    );
    assert_eq!(
        again["alert"]["sent"], false,
        "no second alert for the same findings"
    );
    assert_eq!(
        doc["watchdog"]["mist"]["status"], "ok",
        "{:#}",
        doc["watchdog"]["mist"]
    );
    assert_eq!(doc["report"]["count"], 1, "{:#}", doc["report"]);
    assert_eq!(doc["report"]["slowest"][0]["instance_id"], good_id);
    assert_eq!(doc["report"]["durations_seconds"]["max"], 11 * 60);
    let mut overdue_now: Vec<&str> = doc["report"]["overdue"]["routers"]
        .as_array()
        .expect("overdue routers")
        .iter()
        .filter_map(|r| r["instance_id"].as_str())
        .collect();
    overdue_now.sort_unstable();
    let mut want = vec![bad_id, old_id];
    want.sort_unstable();
    assert_eq!(overdue_now, want);
    assert!(doc["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .any(|n| n.as_str().is_some_and(|n| n.contains("ENA_UNKNOWN"))));

    assert!(!stdout.contains(REG_CODE) && !stderr.contains(REG_CODE));
    for secret in DEMO_SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed"
        );
    }
    assert!(stderr.contains("[1/"), "progress on stderr: {stderr}");
    // Every progress line counts within its total, and the last step is the total.
    let steps: Vec<(u32, u32)> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix('[')?.split_once(']'))
        .filter_map(|(n, _)| n.split_once('/'))
        .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .collect();
    assert!(steps.iter().all(|(n, total)| n <= total), "{steps:?}");
    assert_eq!(steps.last().map(|(n, t)| n == t), Some(true), "{steps:?}");
    assert!(stderr.contains("emulated AWS stopped"), "{stderr}");
}

#[test]
fn when_demo_runs_with_text_output_then_before_after_tables_and_email_messages_shown() {
    let out = demo(&[]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("CHECK"), "{stdout}");
    assert!(stdout.contains("BEFORE"), "{stdout}");
    assert!(stdout.contains("off  (fixed)"), "{stdout}");
    assert!(stdout.contains("(missing)  (needs a person)"), "{stdout}");
    assert!(stdout.contains("8 GB  (needs a person)"), "{stdout}");
    assert!(
        stdout.contains(
            "Fixed automatically (verified by read-back): disable source/destination check on eni-"
        ),
        "{stdout}"
    );
    assert!(stdout.contains("Needs a person (4):"), "{stdout}");
    assert!(stdout.contains("On-call mailbox:"), "{stdout}");
    assert!(
        stdout.contains("Subject: SSR router branch-bad"),
        "{stdout}"
    );
    assert!(
        stdout.contains("aws ec2 create-tags --resources eni-"),
        "{stdout}"
    );
    assert!(stdout.contains("unknown (emulator)*"), "{stdout}");
    assert!(
        stdout.contains("Subject: SSR onboarding overdue: branch-bad"),
        "{stdout}"
    );
    assert!(stdout.contains("onboarding-overdue sent"), "{stdout}");
    assert!(stdout.contains("Currently overdue: 2"), "{stdout}");
    assert!(
        stdout.contains("Subject: SSR onboarding overdue: branch-old"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Mist (a local fake of the Mist API at http://127.0.0.1:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("mist-webhook: GW_ZTP_FINISHED for branch-good at "),
        "{stdout}"
    );
    assert!(stdout.contains("→ HTTP 200 finished"), "{stdout}");
    assert!(stdout.contains("episode ended by the webhook"), "{stdout}");
    assert!(stdout.contains("connected, SSR 6.2.5-5.r2"), "{stdout}");
    assert!(
        stdout.contains("the guard ran again: 0 write(s), alert not sent"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\x1b["),
        "no colours when stdout is not a terminal"
    );
    assert!(!stdout.contains(REG_CODE) && !stderr.contains(REG_CODE));
    for secret in DEMO_SECRETS {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} printed"
        );
    }
}

#[test]
fn when_keep_then_emulator_stays_up_with_aws_cli_instructions_until_ctrl_c_stops_it() {
    use std::io::{BufRead, BufReader};
    use std::net::TcpStream;
    use std::process::Stdio;

    let mut child = Command::new(BIN)
        .args(["demo", "--keep", "--output", "json"])
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ssr-onboard demo --keep");
    let stderr = child.stderr.take().expect("stderr");
    let mut endpoint = None;
    let mut seen = Vec::new();
    let mut lines = BufReader::new(stderr).lines();
    for line in lines.by_ref() {
        let line = line.expect("stderr line");
        if let Some(rest) = line.trim().strip_prefix("export AWS_ENDPOINT_URL=") {
            endpoint = rest.split_whitespace().next().map(str::to_string);
            assert!(line.contains("AWS_ACCESS_KEY_ID=testing"), "{line}");
            assert!(line.contains("AWS_REGION=us-east-1"), "{line}");
        }
        let waiting = line.contains("Press Ctrl-C");
        seen.push(line);
        if waiting {
            break;
        }
    }
    // Keep reading stderr so the demo's last lines do not hit a closed pipe.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<_>>());
    let endpoint = endpoint.unwrap_or_else(|| panic!("no export line in {seen:#?}"));
    let addr = endpoint.trim_start_matches("http://").to_string();
    assert!(
        TcpStream::connect(&addr).is_ok(),
        "emulator up while waiting"
    );

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    let exit = child.wait().expect("demo exits after Ctrl-C");
    let rest = rest.join().expect("stderr reader");
    assert_eq!(exit.code(), Some(0), "{rest:#?}");
    assert!(
        rest.iter().any(|l| l.contains("emulated AWS stopped")),
        "{rest:#?}"
    );
    assert!(
        TcpStream::connect(&addr).is_err(),
        "the emulator at {addr} was stopped"
    );
}
