use chrono::{DateTime, Duration};
use serde_json::{json, Value};

use super::*;
use crate::episode::{OnboardedBy, Phase};
use crate::render::guard::guard_alert;
use crate::render::watchdog::{overdue_alert, recovered_alert, EpisodeView};
use crate::render::EventContext;
use crate::rules::{evaluate, Policy};
use crate::snapshot::fixture::{eni, good_router};
use crate::snapshot::Interface;

fn view<'a>(interfaces: &'a [Interface], note: Option<&'a str>) -> EpisodeView<'a> {
    let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    EpisodeView {
        instance_id: "i-0123456789abcdef0",
        label: "SSR_1_Router",
        name_tag: Some("SSR_1_Router"),
        stack_name: None,
        instance_type: Some("c5.xlarge"),
        key_name: Some("ops"),
        launch_time: t0,
        started_at: t0,
        interfaces,
        ssr_version: Some("6.3.0-107.r1"),
        onboarding_note: note,
        snoozed_until: None,
        rule: crate::episode::OnboardingRule::FirstInstall {
            floor: Some("6.3.0"),
        },
    }
}

fn ctx() -> EventContext {
    EventContext {
        trigger: "scheduled sweep".into(),
        region: Some("us-east-1".into()),
        account: Some("123456789012".into()),
        account_name: None,
        event_id: None,
        member: false,
    }
}

fn parsed(alert: &Alert) -> Value {
    serde_json::from_str(&chat_message(alert)).expect("the chat message is JSON")
}

/// Every field the custom notification schema documents, of the documented type.
fn assert_schema(v: &Value) {
    assert_eq!(v["version"], "1.0");
    assert_eq!(v["source"], "custom");
    assert_eq!(v["content"]["textType"], "client-markdown");
    for k in ["title", "description"] {
        assert!(
            v["content"][k].as_str().is_some_and(|s| !s.is_empty()),
            "{k}: {v}"
        );
    }
    assert!(v["content"]["nextSteps"]
        .as_array()
        .is_some_and(|a| a.iter().all(Value::is_string)));
    for k in ["threadId", "summary", "eventType"] {
        assert!(
            v["metadata"][k].as_str().is_some_and(|s| !s.is_empty()),
            "{k}: {v}"
        );
    }
    assert!(v["metadata"]["relatedResources"]
        .as_array()
        .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)));
    assert!(v["metadata"]["additionalContext"].is_object());
    let mut keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["content", "metadata", "source", "version"]);
}

#[test]
fn when_an_overdue_page_is_rendered_for_chat_then_it_has_the_documented_fields() {
    let ifs = [
        eni("eni-wan", 0, Some("WAN")),
        eni("eni-lan", 1, Some("LAN")),
    ];
    let e = view(&ifs, None);
    let now = e.started_at + Duration::minutes(16);
    let a = overdue_alert(
        &ctx(),
        &e,
        &Phase::NotInInventory,
        now,
        Duration::minutes(15),
    );
    let v = parsed(&a);
    assert_schema(&v);
    assert_eq!(v["content"]["title"], a.subject);
    assert_eq!(v["metadata"]["summary"], a.subject);
    assert_eq!(v["metadata"]["eventType"], "onboarding-overdue");
    assert_eq!(
        v["metadata"]["relatedResources"],
        json!(["i-0123456789abcdef0"])
    );
    assert_eq!(
        v["metadata"]["threadId"],
        "ssr-onboard/onboarding/i-0123456789abcdef0/1700000000"
    );
    assert_eq!(
        v["metadata"]["additionalContext"]["phase"],
        "not-in-inventory"
    );
    let steps: Vec<&str> = v["content"]["nextSteps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // The phase's own steps come first (not in inventory: the registration code), then SSH.
    assert!(
        steps[0].starts_with("Check the registration code"),
        "{steps:?}"
    );
    assert!(
        steps
            .iter()
            .any(|s| s.starts_with("SSH into the router: `ssh -i ops.pem")),
        "{steps:?}"
    );
    assert!(steps.iter().any(|s| s.contains("show mist")));
    assert!(steps
        .iter()
        .any(|s| s.contains("`ssr-onboard ack i-0123456789abcdef0 --region us-east-1")));
    let d = v["content"]["description"].as_str().unwrap();
    assert!(
        d.starts_with("The Session Smart Router SSR_1_Router"),
        "{d}"
    );
    assert!(
        d.contains("\n\n```\nPhase reached: not-in-inventory"),
        "{d}"
    );
    assert!(d.ends_with("\n```"), "{d}");
}

#[test]
fn when_an_episode_recovers_then_its_notice_lands_in_the_overdue_thread() {
    let ifs = [eni("eni-wan", 0, Some("WAN"))];
    let e = view(&ifs, None);
    let now = e.started_at + Duration::minutes(23);
    let overdue = overdue_alert(
        &ctx(),
        &e,
        &Phase::NotInInventory,
        now,
        Duration::minutes(15),
    );
    let recovered = recovered_alert(
        &ctx(),
        &e,
        &Phase::Onboarded {
            by: OnboardedBy::Tag,
        },
        now,
    );
    let (o, r) = (parsed(&overdue), parsed(&recovered));
    assert_schema(&r);
    assert_eq!(o["metadata"]["threadId"], r["metadata"]["threadId"]);
    assert_eq!(r["metadata"]["eventType"], "onboarding-recovered");
    assert_eq!(r["content"]["nextSteps"], json!(["No action needed."]));
}

#[test]
fn when_guard_findings_remain_then_each_is_a_next_step_in_the_instance_thread() {
    let mut s = good_router();
    s.interfaces[1].tags.clear();
    let f = evaluate(&s, &Policy::for_state("running", false, 128));
    let c = EventContext {
        trigger: "EC2 state change: running".into(),
        region: Some("us-east-1".into()),
        ..Default::default()
    };
    let v = parsed(&guard_alert(
        &c,
        &s,
        &f,
        &[],
        false,
        chrono::Duration::hours(24),
    ));
    assert_schema(&v);
    assert_eq!(v["metadata"]["eventType"], "guard-findings");
    assert_eq!(
        v["metadata"]["threadId"],
        "ssr-onboard/instance/i-0123456789abcdef0"
    );
    let steps = v["content"]["nextSteps"].as_array().unwrap();
    assert!(
        steps[0]
            .as_str()
            .is_some_and(|s| s.starts_with("ENI_ROLE_TAG_MISSING on eni-lan: ")),
        "{steps:?}"
    );
    assert!(steps
        .last()
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("Console: https://us-east-1.console.aws.amazon.com")));
    assert_eq!(v["metadata"]["additionalContext"]["severity"], "error");
}

#[test]
fn when_the_body_is_long_then_the_description_is_cut_at_a_line_with_the_fence_closed() {
    let body = format!(
        "Headline.\n\n{}",
        (0..400)
            .map(|i| format!("line {i} ```x```\n"))
            .collect::<String>()
    );
    let a = Alert {
        subject: "s".into(),
        body,
        attributes: Default::default(),
        thread_id: "t".into(),
        related_resources: vec!["i-1".into()],
        next_steps: (0..20).map(|i| i.to_string()).collect(),
    };
    let v = parsed(&a);
    let d = v["content"]["description"].as_str().unwrap();
    assert!(d.len() <= MAX_DESCRIPTION, "{}", d.len());
    assert!(d.starts_with("Headline.\n\n```\nline 0 '''x'''\n"), "{d}");
    assert!(
        d.ends_with("(cut: the e-mail alert has the full text)\n```"),
        "{d}"
    );
    assert_eq!(d.matches("```").count(), 2, "only the block's own fences");
    assert_eq!(
        v["content"]["nextSteps"].as_array().unwrap().len(),
        MAX_NEXT_STEPS
    );
    assert_eq!(v["metadata"]["eventType"], "ssr-onboard");
}

#[test]
fn when_the_onboarding_config_was_read_then_no_registration_code_reaches_chat() {
    use crate::onboarding_config::inspect_bytes;
    const REG: &str = "REG-CODE-chat-do-not-leak-1b2c";
    let user_data = format!(
        "#cloud-config\nwrite_files:\n  - path: /etc/128T-hardware-bootstrapper/onboarding-config.json\n    content: |\n      {{ \"name\": \"r1\", \"ssr-version\": \"6.3.0\", \"registration-code\": \"{REG}\", \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\"}}\n"
    );
    let status = inspect_bytes(Some(user_data.as_bytes()));
    let mut s = good_router();
    s.onboarding = status;
    s.interfaces[1].tags.clear();
    let f = evaluate(&s, &Policy::for_state("running", false, 128));
    let guard = chat_message(&guard_alert(
        &ctx(),
        &s,
        &f,
        &[],
        false,
        chrono::Duration::hours(24),
    ));
    let ifs = [eni("eni-wan", 0, Some("WAN"))];
    let note = format!("{:?}", s.onboarding);
    let e = view(&ifs, Some(&note));
    let overdue = chat_message(&overdue_alert(
        &ctx(),
        &e,
        &Phase::NotInInventory,
        e.started_at + Duration::minutes(20),
        Duration::minutes(15),
    ));
    for m in [guard, overdue] {
        assert!(!m.contains(REG), "{m}");
    }
}
