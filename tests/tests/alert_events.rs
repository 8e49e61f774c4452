//! Alerts as EventBridge events and SNS subscription filters, against the emulator:
//! - an alert delivered with `ALERT_EVENT_BUS` reaches a rule on that bus (delivering to SQS)
//!   with the documented `source`, `detail-type` and `detail`;
//! - docs/alerts.md's PagerDuty input transformer, applied to that event with EventBridge's
//!   documented transformer rules (no emulator runs transformers: a small evaluator here), gives
//!   an Events API v2 body whose `dedup_key` is the incident key and `event_action` the action;
//! - docs/alerts.md's subscription filter policy keeps CloudWatch alarm notifications (no message
//!   attributes) and pages only the kinds it names.

use std::collections::HashMap;

use aws_sdk_sqs::types::QueueAttributeName;
use chrono::Utc;
use serde_json::Value;
use ssr_core::alerting::{publish_once, AlertClaim};
use ssr_core::aws::state::items::ClaimItem;
use ssr_core::metrics::Function;
use ssr_core::render::{string_attr, Action, Alert, IncidentKey};
use ssr_core::Config;
use ssr_onboard_tests::TestAws;

const TABLE: &str = "ssr-onboard-state";

fn alerts_md() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/alerts.md"))
        .expect("docs/alerts.md")
}

/// The first ```json block of docs/alerts.md that contains `needle`.
fn doc_json(needle: &str) -> Value {
    let md = alerts_md();
    let block = md
        .split("```json")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains(needle))
        .unwrap_or_else(|| panic!("docs/alerts.md has no json block with {needle}"));
    serde_json::from_str(block.trim()).unwrap_or_else(|e| panic!("{e}: {block}"))
}

fn overdue_alert() -> Alert {
    Alert {
        subject: "SSR onboarding overdue: branch-12 (i-0abc) 16 min".into(),
        body: "The router \"branch-12\" has not onboarded.\nOpen https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1\n".into(),
        attributes: [
            ("kind".to_string(), string_attr("onboarding-overdue")),
            ("severity".to_string(), string_attr("error")),
            ("instance_id".to_string(), string_attr("i-0abc")),
            ("region".to_string(), string_attr("us-east-1")),
        ]
        .into(),
        thread_id: "t".into(),
        related_resources: vec!["i-0abc".into()],
        next_steps: vec!["Check Mist first".into()],
    }
    .for_incident(&IncidentKey::episode("i-0abc", 1_764_950_400), Action::Trigger)
}

async fn queue(aws: &TestAws, name: &str) -> (String, String) {
    let url = aws
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .expect("CreateQueue")
        .queue_url
        .expect("QueueUrl");
    let arn = aws
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .expect("QueueArn");
    (url, arn)
}

async fn drain(aws: &TestAws, url: &str) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let got = aws
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        let msgs = got.messages.unwrap_or_default();
        if msgs.is_empty() {
            return out;
        }
        for m in msgs {
            out.push(m.body.unwrap_or_default());
            if let Some(h) = m.receipt_handle {
                let _ = aws
                    .sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(h)
                    .send()
                    .await;
            }
        }
    }
}

/// The `<var>` placeholders of `template` replaced as EventBridge's input transformer does for
/// a JSON template: a string value goes in JSON-escaped, without its quotes (the template has
/// them); any other value as its JSON text. A path that matches nothing gives an empty value.
fn transform(transformer: &Value, event: &Value) -> String {
    let paths = transformer["InputPathsMap"]
        .as_object()
        .expect("InputPathsMap");
    let mut out = transformer["InputTemplate"]
        .as_str()
        .expect("InputTemplate")
        .to_string();
    for (var, path) in paths {
        let path = path.as_str().expect("a JSONPath");
        let value = path
            .strip_prefix("$.")
            .expect("paths start at $.")
            .split('.')
            .fold(event, |v, k| &v[k]);
        let text = match value {
            Value::String(s) => {
                let quoted = serde_json::to_string(s).unwrap_or_default();
                quoted[1..quoted.len() - 1].to_string()
            }
            Value::Null => String::new(),
            other => other.to_string(),
        };
        out = out.replace(&format!("<{var}>"), &text);
    }
    out
}

#[tokio::test]
async fn when_an_alert_is_delivered_with_an_event_bus_then_a_rule_on_it_gets_the_documented_event()
{
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let events = aws_sdk_eventbridge::Client::new(&aws.sdk);
    events
        .create_event_bus()
        .name("ssr-alerts")
        .send()
        .await
        .expect("CreateEventBus");
    let (url, arn) = queue(&aws, "pager").await;
    events
        .put_rule()
        .name("to-pager")
        .event_bus_name("ssr-alerts")
        .event_pattern(r#"{"source": ["ssr-onboard"]}"#)
        .send()
        .await
        .expect("PutRule");
    events
        .put_targets()
        .rule("to-pager")
        .event_bus_name("ssr-alerts")
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("q")
                .arn(&arn)
                .build()
                .expect("target"),
        )
        .send()
        .await
        .expect("PutTargets");
    let vars = HashMap::from([
        ("STATE_TABLE".to_string(), TABLE.to_string()),
        ("ALERT_TOPIC_ARN".to_string(), capture.topic_arn.clone()),
        ("ALERT_EVENT_BUS".to_string(), "ssr-alerts".to_string()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    let bus = config.alert_event_bus.clone();
    let mut deps = aws.deps(Function::OnboardingWatchdog, config);
    deps.alerts = deps.alerts.with_bus(events.clone(), bus);
    let now = Utc::now();
    let out = publish_once(
        &deps.alerts,
        &deps.state,
        &overdue_alert(),
        AlertClaim {
            pk: "overdue#i-0abc#1764950400".into(),
            expires_at: now + chrono::Duration::days(1),
            item: ClaimItem::default(),
            held_reason: "held".into(),
            sent_reason: "sent".into(),
        },
        now,
    )
    .await
    .expect("delivered");
    assert!(out.sent, "{out:?}");
    assert_eq!(capture.drain(&aws).await.len(), 1, "the topic got it");
    let got = drain(&aws, &url).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let event: Value = serde_json::from_str(&got[0]).expect("event JSON");
    assert_eq!(event["source"], "ssr-onboard");
    assert_eq!(event["detail-type"], "onboarding-overdue");
    let d = &event["detail"];
    assert_eq!(d["schema"], "ssr-onboard/alert/v1");
    assert_eq!(
        d["incident_key"],
        "ssr-onboard/onboarding/i-0abc/1764950400"
    );
    assert_eq!(d["action"], "trigger");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["instance"], "i-0abc");
    assert_eq!(d["region"], "us-east-1");

    // The documented PagerDuty transformer on the event as delivered.
    let body = transform(&doc_json("InputPathsMap"), &event);
    let pd: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["dedup_key"], "ssr-onboard/onboarding/i-0abc/1764950400");
    assert_eq!(pd["payload"]["severity"], "error");
    assert_eq!(pd["payload"]["source"], "ssr-onboard");
    assert_eq!(pd["payload"]["summary"], d["subject"]);
    assert_eq!(
        pd["payload"]["custom_details"]["text"], d["text"],
        "newlines and quotes survive"
    );
}

#[tokio::test]
async fn when_the_documented_filter_policy_is_used_then_alarms_and_the_named_kinds_arrive_and_others_do_not(
) {
    let aws = TestAws::start().await;
    let topic = aws
        .sns
        .create_topic()
        .name("alerts")
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .expect("TopicArn");
    let (url, arn) = queue(&aws, "oncall").await;
    let policy = doc_json("exists").to_string();
    aws.sns
        .subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(&arn)
        .attributes("FilterPolicy", &policy)
        .send()
        .await
        .expect("Subscribe");
    let attr = |v: &str| {
        aws_sdk_sns::types::MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .expect("attribute")
    };
    for (subject, kind) in [
        ("paged", Some("onboarding-overdue")),
        ("not paged", Some("routers-adopted")),
        ("ALARM: dead letters", None),
    ] {
        let mut req = aws
            .sns
            .publish()
            .topic_arn(&topic)
            .subject(subject)
            .message("m");
        if let Some(k) = kind {
            req = req.message_attributes("kind", attr(k));
        }
        req.send().await.expect("Publish");
    }
    let mut subjects: Vec<String> = drain(&aws, &url)
        .await
        .iter()
        .map(|b| {
            serde_json::from_str::<Value>(b).expect("SNS envelope")["Subject"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    subjects.sort();
    assert_eq!(subjects, vec!["ALARM: dead letters", "paged"]);
}
