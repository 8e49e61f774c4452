//! The publisher against `aws-smithy-mocks` SNS and DynamoDB: the alert, then its chat copy.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
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
    delete: Rule,
}

fn table() -> Table {
    Table {
        get: mock!(aws_sdk_dynamodb::Client::get_item)
            .then_output(|| GetItemOutput::builder().build()),
        put: mock!(aws_sdk_dynamodb::Client::put_item)
            .then_output(|| PutItemOutput::builder().build()),
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
        [&t.get, &t.put, &t.delete]
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
async fn when_the_alert_publish_fails_then_no_chat_notification_and_the_claim_is_given_back() {
    let (out, calls, t) = run(false, true, Some(CHAT)).await;
    assert!(out.is_err());
    assert!(calls.iter().all(|c| c.0 == MAIN), "{calls:?}");
    assert_eq!(t.delete.num_calls(), 1);
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
