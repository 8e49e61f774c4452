//! The publisher against `aws-smithy-mocks` SNS and DynamoDB: the alert, then its chat copy.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemOutput;
use aws_sdk_sns::error::ErrorMetadata;
use aws_sdk_sns::operation::publish::{PublishError, PublishOutput};
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use chrono::Duration;
use serde_json::Value;

use super::*;
use crate::render::string_attr;

const MAIN: &str = "arn:aws:sns:us-east-1:123456789012:ssr-alerts";
const CHAT: &str = "arn:aws:sns:us-east-1:123456789012:ssr-chat";

/// (topic, subject, message) of every Publish call.
type Sent = Arc<Mutex<Vec<(String, Option<String>, String)>>>;

fn alert() -> Alert {
    Alert {
        subject: "SSR onboarding overdue: r1 (i-1) 16 min".into(),
        body: "The router r1 (i-1) has not onboarded.\n\nPhase reached: not-in-inventory\n".into(),
        attributes: [
            ("kind".to_string(), string_attr("onboarding-overdue")),
            ("severity".to_string(), string_attr("error")),
        ]
        .into(),
        thread_id: "ssr-onboard/onboarding/i-1/1700000000".into(),
        related_resources: vec!["i-1".into()],
        next_steps: vec!["SSH into the router".into()],
    }
}

fn once(now: DateTime<Utc>) -> AlertClaim {
    AlertClaim {
        pk: "overdue#i-1#1700000000".into(),
        expires_at: now + Duration::days(1),
        item: ClaimItem::default(),
        held_reason: "held".into(),
        sent_reason: "sent".into(),
    }
}

/// Publish to `topic` succeeds (`ok`) or fails with Throttling, recording every call.
fn publish(topic: &'static str, ok: bool, sent: Sent) -> Rule {
    let rule = mock!(aws_sdk_sns::Client::publish).match_requests(move |r| {
        if r.topic_arn() != Some(topic) {
            return false;
        }
        sent.lock().unwrap().push((
            topic.to_string(),
            r.subject().map(String::from),
            r.message().unwrap_or_default().to_string(),
        ));
        true
    });
    if ok {
        rule.then_output(move || {
            PublishOutput::builder()
                .message_id(format!("m-{topic}"))
                .build()
        })
    } else {
        rule.then_error(|| {
            PublishError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        })
    }
}

struct Table {
    get: Rule,
    put: Rule,
    update: Rule,
    delete: Rule,
}

fn table() -> Table {
    Table {
        get: mock!(aws_sdk_dynamodb::Client::get_item)
            .then_output(|| GetItemOutput::builder().build()),
        put: mock!(aws_sdk_dynamodb::Client::put_item)
            .then_output(|| PutItemOutput::builder().build()),
        update: mock!(aws_sdk_dynamodb::Client::update_item)
            .then_output(|| UpdateItemOutput::builder().build()),
        delete: mock!(aws_sdk_dynamodb::Client::delete_item)
            .then_output(|| DeleteItemOutput::builder().build()),
    }
}

async fn run(
    main_ok: bool,
    chat_ok: bool,
    chat_topic: Option<&str>,
) -> (
    Result<AlertOutcome, AwsError>,
    Vec<(String, Option<String>, String)>,
    Table,
) {
    let sent: Sent = Arc::default();
    let main = publish(MAIN, main_ok, sent.clone());
    let chat = publish(CHAT, chat_ok, sent.clone());
    let t = table();
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&main, &chat]);
    let ddb = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&t.get, &t.put, &t.update, &t.delete]
    );
    let alerts = Alerts::new(sns, Some(MAIN.into())).with_chat(chat_topic.map(String::from));
    let state = StateStore::new(ddb, Some("ssr-state".into()));
    let now = Utc::now();
    let out = publish_once(&alerts, &state, &alert(), once(now), now).await;
    let calls = sent.lock().unwrap().clone();
    (out, calls, t)
}

#[tokio::test]
async fn when_a_chat_topic_is_set_then_the_alert_is_published_then_its_chat_notification() {
    let (out, calls, t) = run(true, true, Some(CHAT)).await;
    let out = out.unwrap();
    assert!(out.sent);
    assert_eq!(out.message_id.as_deref(), Some(&*format!("m-{MAIN}")));
    assert_eq!(
        out.chat,
        Some(ChatDelivery {
            sent: true,
            message_id: Some(format!("m-{CHAT}")),
            error: None,
        })
    );
    assert_eq!(calls.len(), 2, "{calls:?}");
    let (topic, subject, body) = &calls[0];
    assert_eq!(topic, MAIN);
    assert_eq!(subject.as_deref(), Some(alert().subject.as_str()));
    assert_eq!(body, &alert().body);
    let (topic, subject, message) = &calls[1];
    assert_eq!(topic, CHAT);
    assert_eq!(subject, &None, "Chatbot reads the message only");
    let v: Value = serde_json::from_str(message).unwrap();
    assert_eq!(v["version"], "1.0");
    assert_eq!(v["source"], "custom");
    assert_eq!(v["content"]["textType"], "client-markdown");
    assert_eq!(v["content"]["title"], alert().subject);
    assert_eq!(v["metadata"]["eventType"], "onboarding-overdue");
    assert_eq!(
        v["metadata"]["threadId"],
        "ssr-onboard/onboarding/i-1/1700000000"
    );
    assert_eq!(t.put.num_calls(), 1);
    assert_eq!(t.update.num_calls(), 1, "the claim is confirmed sent");
    assert_eq!(t.delete.num_calls(), 0);
}

#[tokio::test]
async fn when_the_chat_publish_fails_then_the_alert_stays_sent_once_and_the_failure_is_reported() {
    let (out, calls, t) = run(true, false, Some(CHAT)).await;
    let out = out.unwrap();
    assert!(out.sent);
    assert_eq!(out.reason, "sent");
    let chat = out.chat.unwrap();
    assert!(!chat.sent);
    assert!(
        chat.error
            .as_deref()
            .is_some_and(|e| e.contains("Throttling")),
        "{chat:?}"
    );
    let main_calls = calls.iter().filter(|c| c.0 == MAIN).count();
    assert_eq!(main_calls, 1, "the alert is not re-sent");
    assert_eq!(
        t.delete.num_calls(),
        0,
        "the claim is kept: no retry pages again"
    );
}

#[tokio::test]
async fn when_the_alert_publish_fails_then_no_chat_notification_and_the_lease_is_given_back() {
    let (out, calls, t) = run(false, true, Some(CHAT)).await;
    assert!(out.is_err());
    assert!(calls.iter().all(|c| c.0 == MAIN), "{calls:?}");
    assert_eq!(
        t.update.num_calls(),
        1,
        "the lease is given back (the outbox entry stays for the retry or the sweep)"
    );
    assert_eq!(t.delete.num_calls(), 0);
}

#[tokio::test]
async fn when_no_chat_topic_is_set_then_only_the_alert_is_published() {
    let (out, calls, _) = run(true, true, None).await;
    let out = out.unwrap();
    assert!(out.sent);
    assert_eq!(out.chat, None);
    assert_eq!(calls.len(), 1);
    let json = serde_json::to_value(&out).unwrap();
    assert!(json.get("chat").is_none(), "{json}");
}

// ------------------------------------------------------------------ the lease and the outbox

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
use aws_sdk_eventbridge::types::PutEventsResultEntry;

const BUS: &str = "ssr-alerts-bus";

/// The claim's pre-read answers `item` (attribute name → value).
fn pre_read(item: Vec<(&'static str, AttributeValue)>) -> Rule {
    mock!(aws_sdk_dynamodb::Client::get_item).then_output(move || {
        item.iter()
            .fold(GetItemOutput::builder(), |b, (k, v)| b.item(*k, v.clone()))
            .build()
    })
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// The stored alert a taken-over lease delivers (its subject differs from [`alert`]'s).
fn stored_alert() -> Alert {
    Alert {
        subject: "stored: SSR onboarding overdue".into(),
        ..alert()
    }
}

/// UpdateItem answers the item after the update (ALL_NEW) with `delivered`.
fn taken_over(delivered: &'static [&'static str]) -> Rule {
    mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(|r| {
            r.update_expression() == Some("SET lease_until = :lease, list_at = :lease")
        })
        .then_output(move || {
            let mut b = UpdateItemOutput::builder()
                .attributes("pk", s("overdue#i-1#1700000000"))
                .attributes("status", s("pending"))
                .attributes(
                    "alert",
                    s(&serde_json::to_string(&stored_alert()).unwrap_or_default()),
                );
            if !delivered.is_empty() {
                b = b.attributes(
                    "delivered",
                    AttributeValue::L(delivered.iter().map(|d| s(d)).collect()),
                );
            }
            b.build()
        })
}

/// Every other UpdateItem (confirm, lease given back), recording its expression.
fn other_updates(seen: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(aws_sdk_dynamodb::Client::update_item)
        .match_requests(move |r| {
            seen.lock().unwrap().push(format!(
                "{} {:?}",
                r.update_expression().unwrap_or_default(),
                r.expression_attribute_values()
                    .and_then(|v| v.get(":d"))
                    .cloned()
            ));
            true
        })
        .then_output(|| UpdateItemOutput::builder().build())
}

fn put_events(ok: bool, calls: Arc<Mutex<Vec<String>>>) -> Rule {
    mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(move |r| {
            for e in r.entries() {
                calls.lock().unwrap().push(format!(
                    "{}|{}|{}",
                    e.source().unwrap_or_default(),
                    e.detail_type().unwrap_or_default(),
                    e.detail().unwrap_or_default()
                ));
            }
            true
        })
        .then_output(move || {
            // PutEvents reports a refused entry in its answer, not as an error.
            let entry = if ok {
                PutEventsResultEntry::builder().event_id("e-1").build()
            } else {
                PutEventsResultEntry::builder()
                    .error_code("InternalFailure")
                    .error_message("try again")
                    .build()
            };
            PutEventsOutput::builder()
                .failed_entry_count(i32::from(!ok))
                .entries(entry)
                .build()
        })
}

struct Lease {
    out: Result<AlertOutcome, AwsError>,
    sns: Vec<(String, Option<String>, String)>,
    bus: Vec<String>,
    updates: Vec<String>,
}

async fn with_claim(
    existing: Vec<(&'static str, AttributeValue)>,
    take_over: Option<&'static [&'static str]>,
    bus_ok: Option<bool>,
) -> Lease {
    let sent: Sent = Arc::default();
    let main = publish(MAIN, true, sent.clone());
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&main]);
    let updates = Arc::new(Mutex::new(Vec::new()));
    let get = pre_read(existing);
    let put =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let over = taken_over(take_over.unwrap_or(&[]));
    let other = other_updates(updates.clone());
    let ddb = if take_over.is_some() {
        mock_client!(
            aws_sdk_dynamodb,
            RuleMode::MatchAny,
            [&get, &put, &over, &other]
        )
    } else {
        mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get, &put, &other])
    };
    let bus_calls = Arc::new(Mutex::new(Vec::new()));
    let mut alerts = Alerts::new(sns, Some(MAIN.into()));
    if let Some(ok) = bus_ok {
        let rule = put_events(ok, bus_calls.clone());
        let eb = mock_client!(aws_sdk_eventbridge, [&rule]);
        alerts = alerts.with_bus(eb, Some(BUS.into()));
    }
    let state = StateStore::new(ddb, Some("ssr-state".into()));
    let now = Utc::now();
    let alert = alert().for_incident(
        &crate::render::IncidentKey::episode("i-1", 1_700_000_000),
        crate::render::Action::Trigger,
    );
    let out = publish_once(&alerts, &state, &alert, once(now), now).await;
    let sns = sent.lock().unwrap().clone();
    let bus = bus_calls.lock().unwrap().clone();
    let updates = updates.lock().unwrap().clone();
    Lease {
        out,
        sns,
        bus,
        updates,
    }
}

fn far() -> i64 {
    Utc::now().timestamp() + 86_400
}

#[tokio::test]
async fn when_a_pending_claim_is_within_its_lease_then_it_is_left_to_its_holder_without_failing() {
    let l = with_claim(
        vec![
            ("expires_at", n(far())),
            ("status", s("pending")),
            ("lease_until", n(Utc::now().timestamp() + 40)),
        ],
        None,
        None,
    )
    .await;
    let out = l.out.unwrap();
    assert!(!out.sent && out.in_flight && !out.already_sent, "{out:?}");
    assert!(
        l.sns.is_empty(),
        "the holder delivers it, not this invocation"
    );
    assert!(l.updates.is_empty());
}

#[tokio::test]
async fn when_a_pending_claims_lease_ran_out_then_the_stored_alert_is_delivered_and_confirmed() {
    let l = with_claim(
        vec![
            ("expires_at", n(far())),
            ("status", s("pending")),
            ("lease_until", n(Utc::now().timestamp() - 5)),
        ],
        Some(&[]),
        None,
    )
    .await;
    let out = l.out.unwrap();
    assert!(out.sent && out.taken_over, "{out:?}");
    assert_eq!(l.sns.len(), 1);
    assert_eq!(
        l.sns[0].1.as_deref(),
        Some("stored: SSR onboarding overdue"),
        "the stored alert, not a re-render"
    );
    assert!(
        l.updates.iter().any(|u| u.starts_with("SET #s = :sent")),
        "{:?}",
        l.updates
    );
}

#[tokio::test]
async fn when_a_claim_has_no_status_then_it_was_sent_before_the_outbox_and_is_not_sent_again() {
    let l = with_claim(vec![("expires_at", n(far()))], None, None).await;
    let out = l.out.unwrap();
    assert!(out.already_sent && !out.sent, "{out:?}");
    assert!(l.sns.is_empty());
}

#[tokio::test]
async fn when_the_bus_refuses_then_the_lease_is_given_back_with_the_topic_recorded_delivered() {
    let l = with_claim(vec![], None, Some(false)).await;
    assert!(l.out.is_err(), "the invocation fails, so Lambda retries");
    assert_eq!(l.sns.len(), 1, "the topic accepted it");
    assert_eq!(l.bus.len(), 1);
    let release = l
        .updates
        .iter()
        .find(|u| u.starts_with("SET delivered = :d, lease_until = :gone"))
        .unwrap_or_else(|| panic!("no lease given back: {:?}", l.updates));
    assert!(release.contains("\"sns\""), "{release}");
    assert!(!l.updates.iter().any(|u| u.starts_with("SET #s = :sent")));
}

#[tokio::test]
async fn when_a_partial_delivery_is_taken_over_then_only_the_missing_bus_gets_it() {
    let l = with_claim(
        vec![
            ("expires_at", n(far())),
            ("status", s("pending")),
            ("lease_until", n(Utc::now().timestamp() - 1)),
        ],
        Some(&["sns"]),
        Some(true),
    )
    .await;
    let out = l.out.unwrap();
    assert!(out.sent && out.taken_over, "{out:?}");
    assert!(l.sns.is_empty(), "the topic had it already");
    assert_eq!(l.bus.len(), 1);
    let parts: Vec<&str> = l.bus[0].splitn(3, '|').collect();
    assert_eq!(parts[0], "ssr-onboard");
    assert_eq!(parts[1], "onboarding-overdue");
    let detail: Value = serde_json::from_str(parts[2]).unwrap();
    assert_eq!(detail["subject"], "stored: SSR onboarding overdue");
}

#[tokio::test]
async fn when_both_targets_accept_then_the_event_carries_the_incident_key_and_action() {
    let l = with_claim(vec![], None, Some(true)).await;
    let out = l.out.unwrap();
    assert!(out.sent, "{out:?}");
    assert_eq!(out.action, Some("trigger"));
    assert_eq!(l.sns.len(), 1);
    let parts: Vec<&str> = l.bus[0].splitn(3, '|').collect();
    let detail: Value = serde_json::from_str(parts[2]).unwrap();
    assert_eq!(
        detail["incident_key"],
        "ssr-onboard/onboarding/i-1/1700000000"
    );
    assert_eq!(detail["action"], "trigger");
    assert_eq!(detail["severity"], "error");
}
