//! The alert path: the topic exists, its policy denies the functions nothing, at least one
//! subscription is confirmed and none is pending, the KMS key is enabled and names the
//! functions' roles; the chat topic exists; `--send-test-alert`.

use chrono::{DateTime, Utc};
use ssr_core::aws::sns::Alerts;
use ssr_core::aws::AwsError;
use ssr_core::check::Check;
use ssr_core::render::operational::test_alert;
use ssr_core::render::{Action, Alert, IncidentKey};
use ssr_core::Config;

use super::{Checks, DoctorClients};
use crate::stack::DeployedStack;

/// The functions' roles in infra/template.yaml (the key policy must name each).
const FUNCTION_ROLES: [&str; 4] = [
    "InstanceGuardRole",
    "StackWatchRole",
    "OnboardingWatchdogRole",
    "MistWebhookRole",
];

/// What `ListSubscriptionsByTopic` shows as the ARN of a subscription nobody confirmed.
const PENDING: &str = "PendingConfirmation";

pub(super) async fn topic_checks(
    clients: &DoctorClients,
    config: &Config,
    stack: Option<&DeployedStack>,
    checks: &mut Checks,
) {
    let Some(topic) = config.alert_topic_arn.as_deref() else {
        checks.push(Check::problem(
            "alerts.topic",
            "no alert topic (ALERT_TOPIC_ARN unset): alerts are rendered but sent nowhere",
            "run doctor with --stack NAME, or set ALERT_TOPIC_ARN to the stack's AlertTopicArn output",
        ));
        return;
    };
    let attrs = match clients
        .sns
        .get_topic_attributes()
        .topic_arn(topic)
        .send()
        .await
    {
        Ok(out) => out.attributes.unwrap_or_default(),
        Err(e) => {
            let e = AwsError::from_sdk("GetTopicAttributes", e);
            if e.code == "NotFound" || e.code == "NotFoundException" {
                checks.push(Check::problem(
                    "alerts.topic",
                    format!("topic {topic} does not exist"),
                    "deploy the stack again (sam deploy), or point ALERT_TOPIC_ARN at the stack's AlertTopicArn output",
                ));
            } else {
                checks.not_checked("alerts.topic", &e);
            }
            return;
        }
    };
    checks.push(Check::ok("alerts.topic", format!("{topic} exists")));
    checks.push(policy_check(attrs.get("Policy").map(String::as_str)));
    checks.push(
        check_subscriptions(&clients.sns, topic)
            .await
            .unwrap_or_else(|e| {
                Check::skipped(
                    "alerts.subscription-confirmed",
                    format!("not checked: {}", crate::aws_errors::concise(&e)),
                )
            }),
    );
    match attrs.get("KmsMasterKeyId").filter(|k| !k.is_empty()) {
        None => checks.push(Check::warning(
            "alerts.kms-key",
            "the topic is not encrypted (no KmsMasterKeyId)",
            "deploy infra/template.yaml, which encrypts the topic with its own key",
        )),
        Some(key) => kms_check(clients, key, stack, checks).await,
    }
    if let Some(chat) = config.chat_topic_arn.as_deref() {
        match clients
            .sns
            .get_topic_attributes()
            .topic_arn(chat)
            .send()
            .await
        {
            Ok(_) => checks.push(Check::ok("chat.topic", format!("{chat} exists"))),
            Err(e) => {
                let e = AwsError::from_sdk("GetTopicAttributes", e);
                if e.code == "NotFound" || e.code == "NotFoundException" {
                    checks.push(Check::problem(
                        "chat.topic",
                        format!("chat topic {chat} does not exist: chat notifications go nowhere"),
                        "create the AWS Chatbot topic, or clear the ChatTopicArn parameter (docs/chat.md)",
                    ));
                } else {
                    checks.not_checked("chat.topic", &e);
                }
            }
        }
    }
}

/// The topic policy must not deny the functions `sns:Publish` (the functions publish through
/// their roles' policy; the template's topic policy only adds CloudWatch alarms and denies
/// publishing without TLS).
fn policy_check(policy: Option<&str>) -> Check {
    let name = "alerts.topic-policy";
    let Some(policy) = policy else {
        return Check::ok(name, "no topic policy: the functions' role policy decides");
    };
    let doc: serde_json::Value = match serde_json::from_str(policy) {
        Ok(d) => d,
        Err(e) => {
            return Check::warning(
                name,
                format!("the topic policy is not JSON ({e})"),
                "deploy infra/template.yaml's AlertTopicPolicy again",
            )
        }
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(a) => a.clone(),
        serde_json::Value::Null => vec![],
        one => vec![one.clone()],
    };
    let denies_publish = statements.iter().find(|s| {
        s["Effect"] == "Deny"
            && actions(&s["Action"]).iter().any(|a| {
                let a = a.to_ascii_lowercase();
                a == "sns:publish" || a == "sns:*" || a == "*"
            })
            // The template's own deny: publishing without TLS (the SDK always uses TLS).
            && s["Condition"]["Bool"]["aws:SecureTransport"] != "false"
    });
    match denies_publish {
        Some(s) => Check::problem(
            name,
            format!(
                "statement {} denies sns:Publish: the functions' alerts may be refused",
                s["Sid"].as_str().unwrap_or("(no Sid)")
            ),
            "remove the statement from the topic policy (aws sns set-topic-attributes --attribute-name Policy), or deploy the template's AlertTopicPolicy again",
        ),
        None => Check::ok(
            name,
            "denies the functions nothing (they publish through their role's AlertPublishPolicy)",
        ),
    }
}

fn actions(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::String(s) => vec![s.clone()],
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

/// At least one confirmed subscription, and none pending: an alert to a subscription nobody
/// confirmed goes nowhere.
pub async fn check_subscriptions(
    sns: &aws_sdk_sns::Client,
    topic: &str,
) -> Result<Check, AwsError> {
    let name = "alerts.subscription-confirmed";
    let mut confirmed: Vec<String> = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut pages = sns
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("ListSubscriptionsByTopic", e))?;
        for s in page.subscriptions() {
            let protocol = s.protocol().unwrap_or("?").to_string();
            if s.subscription_arn().is_none_or(|a| a == PENDING) {
                pending.push(protocol);
            } else {
                confirmed.push(protocol);
            }
        }
    }
    let list = |v: &[String]| v.join(", ");
    Ok(if !pending.is_empty() {
        Check::problem(
            name,
            format!(
                "{} subscription(s) PendingConfirmation ({}), {} confirmed: alerts to an unconfirmed subscription go nowhere",
                pending.len(),
                list(&pending),
                confirmed.len()
            ),
            format!(
                "click the link in the \"AWS Notification - Subscription Confirmation\" e-mail, then check: aws sns list-subscriptions-by-topic --topic-arn {topic}"
            ),
        )
    } else if confirmed.is_empty() {
        Check::problem(
            name,
            "no subscription: alerts reach nobody",
            format!(
                "aws sns subscribe --topic-arn {topic} --protocol email --notification-endpoint you@example.com (then confirm the e-mail), or set the AlertEmail parameter"
            ),
        )
    } else {
        Check::ok(
            name,
            format!("{} confirmed ({})", confirmed.len(), list(&confirmed)),
        )
    })
}

/// The topic's key: enabled, and (with the stack) its policy names every function's role.
async fn kms_check(
    clients: &DoctorClients,
    key: &str,
    stack: Option<&DeployedStack>,
    checks: &mut Checks,
) {
    let name = "alerts.kms-key";
    let meta = match clients.kms.describe_key().key_id(key).send().await {
        Ok(out) => out.key_metadata,
        Err(e) => {
            let e = AwsError::from_sdk("DescribeKey", e);
            if e.code == "NotFoundException" {
                checks.push(Check::problem(
                    name,
                    format!("the topic's key {key} does not exist: every publish fails"),
                    "deploy the stack again (sam deploy) so the topic gets its key back",
                ));
            } else {
                checks.not_checked(name, &e);
            }
            return;
        }
    };
    let state = meta
        .as_ref()
        .and_then(|m| m.key_state())
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "unknown".into());
    if state != "Enabled" {
        checks.push(Check::problem(
            name,
            format!("the topic's key {key} is {state}: every publish fails"),
            format!("aws kms enable-key --key-id {key} (or cancel its deletion: aws kms cancel-key-deletion --key-id {key})"),
        ));
        return;
    }
    let roles: Vec<String> = stack
        .map(|s| {
            s.resources_of("AWS::IAM::Role")
                .filter(|r| FUNCTION_ROLES.contains(&r.logical_id.as_str()))
                .filter_map(|r| r.physical_id.clone())
                .collect()
        })
        .unwrap_or_default();
    if roles.is_empty() {
        checks.push(Check::ok(name, format!("{key} is enabled")));
        return;
    }
    let key_id = meta
        .as_ref()
        .map(|m| m.key_id())
        .filter(|id| !id.is_empty())
        .unwrap_or(key)
        .to_string();
    match clients
        .kms
        .get_key_policy()
        .key_id(&key_id)
        .policy_name("default")
        .send()
        .await
    {
        Ok(out) => {
            let policy = out.policy.unwrap_or_default();
            let missing: Vec<&String> = roles
                .iter()
                // A role's ARN ends with `/<name>` whatever its path.
                .filter(|role| !policy.contains(&format!("/{role}\"")))
                .collect();
            if missing.is_empty() {
                checks.push(Check::ok(
                    name,
                    format!(
                        "{key} is enabled; its policy names the functions' {} role(s)",
                        roles.len()
                    ),
                ));
            } else {
                checks.push(Check::problem(
                    name,
                    format!(
                        "{key}'s policy does not name role(s) {}: their alerts fail with KMS AccessDenied",
                        missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                    "deploy infra/template.yaml again (its key policy statement FunctionsPublishAlerts names every function's role)",
                ));
            }
        }
        Err(e) => checks.not_checked(name, &AwsError::from_sdk("GetKeyPolicy", e)),
    }
}

/// `--send-test-alert`: one `test` alert and its resolve through the alert topic (and the chat
/// topic and the alert bus, when configured). Returns the message ids of the trigger and of the
/// resolve.
pub async fn send_test_alert(
    alerts: &Alerts,
    alert: &Alert,
) -> Result<(Option<String>, Option<String>), AwsError> {
    let key = IncidentKey::deployment("test");
    let trigger = alert.clone().for_incident(&key, Action::Trigger);
    let resolve = alert.clone().for_incident(&key, Action::Resolve);
    let first = alerts.publish(&trigger).await?;
    alerts.publish_chat(&trigger).await?;
    alerts.put_event(&trigger).await?;
    let second = alerts.publish(&resolve).await?;
    alerts.publish_chat(&resolve).await?;
    alerts.put_event(&resolve).await?;
    Ok((first, second))
}

pub(super) async fn test_alert_check(
    clients: &DoctorClients,
    config: &Config,
    region: Option<&str>,
    now: DateTime<Utc>,
    checks: &mut Checks,
) {
    let name = "alerts.test-alert";
    if config.alert_topic_arn.is_none() {
        checks.push(Check::skipped(name, "no alert topic to send through"));
        return;
    }
    let alerts = Alerts::new(clients.sns.clone(), config.alert_topic_arn.clone())
        .with_chat(config.chat_topic_arn.clone())
        .with_bus(clients.events.clone(), config.alert_event_bus.clone());
    let alert = test_alert(None, region, now);
    match send_test_alert(&alerts, &alert).await {
        Ok((trigger, resolve)) => checks.push(Check::ok(
            name,
            format!(
                "sent a `test` alert and its resolve{}{} (message ids {} and {}): check it arrived",
                if config.chat_topic_arn.is_some() { ", also to the chat topic" } else { "" },
                if config.alert_event_bus.is_some() { ", also to the alert bus" } else { "" },
                trigger.as_deref().unwrap_or("?"),
                resolve.as_deref().unwrap_or("?")
            ),
        )),
        Err(e) => checks.push(Check::problem(
            name,
            format!("the test alert was not sent: {}", crate::aws_errors::concise(&e)),
            "the credentials need sns:Publish on the topic (and kms:GenerateDataKey* on its key); see docs/cli.md",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssr_core::check::CheckStatus;

    #[test]
    fn when_the_policy_denies_publish_without_a_tls_condition_then_it_is_a_problem() {
        let template_policy = r#"{"Version":"2012-10-17","Statement":[
            {"Sid":"CloudWatchAlarmsPublish","Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"sns:Publish","Resource":"t"},
            {"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"sns:Publish","Resource":"t","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        assert_eq!(policy_check(Some(template_policy)).status, CheckStatus::Ok);
        let deny = r#"{"Statement":{"Sid":"NoOne","Effect":"Deny","Principal":"*","Action":["sns:*"],"Resource":"t"}}"#;
        let c = policy_check(Some(deny));
        assert_eq!(c.status, CheckStatus::Problem);
        assert!(c.detail.contains("NoOne"), "{}", c.detail);
    }
}
