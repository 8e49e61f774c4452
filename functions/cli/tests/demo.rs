//! `ssr-onboard demo` end to end: the built binary starts its own emulator, provisions, runs the
//! real handlers and prints what on-call would get. Checked in both output formats.

use std::process::{Command, Output};

use ssr_onboard_tests::REG_CODE;

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
fn when_demo_runs_with_json_output_then_enis_fixed_findings_listed_and_alerts_captured() {
    let out = demo(&["--output", "json"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    let doc: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    assert_eq!(doc["schema"], "ssr-onboard/demo/v1");

    // Every router interface had source/dest check on before and off after (verified fixes).
    for name in ["branch-good", "branch-bad"] {
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
    let overdue = alerts
        .iter()
        .find(|a| a["attributes"]["kind"] == "onboarding-overdue")
        .unwrap_or_else(|| panic!("an overdue alert: {alerts:#?}"));
    assert_eq!(overdue["attributes"]["instance_id"], bad_id);
    assert!(overdue["message"]
        .as_str()
        .is_some_and(|m| m.contains("Mist not configured")));
    let good_id = good["instance_id"].as_str().expect("instance id");
    assert!(
        !alerts
            .iter()
            .any(|a| a["attributes"]["kind"] == "onboarding-overdue"
                && a["attributes"]["instance_id"] == good_id),
        "no overdue alert for the router that onboarded"
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
    assert_eq!(doc["watchdog"]["mist"]["status"], "not-configured");
    assert_eq!(doc["report"]["count"], 1, "{:#}", doc["report"]);
    assert_eq!(doc["report"]["slowest"][0]["instance_id"], good_id);
    assert_eq!(doc["report"]["durations_seconds"]["max"], 16 * 60);
    assert_eq!(
        doc["report"]["overdue"]["routers"][0]["instance_id"],
        bad_id
    );
    assert!(doc["notes"]
        .as_array()
        .expect("notes")
        .iter()
        .any(|n| n.as_str().is_some_and(|n| n.contains("ENA_UNKNOWN"))));

    assert!(!stdout.contains(REG_CODE) && !stderr.contains(REG_CODE));
    assert!(stderr.contains("[1/"), "progress on stderr: {stderr}");
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
    assert!(stdout.contains("Currently overdue: 1"), "{stdout}");
    assert!(
        stdout.contains("the guard ran again: 0 write(s), alert not sent"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("\x1b["),
        "no colours when stdout is not a terminal"
    );
    assert!(!stdout.contains(REG_CODE) && !stderr.contains(REG_CODE));
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
