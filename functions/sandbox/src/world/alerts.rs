//! Alert capture: an SNS topic with an SQS queue subscribed to it ([`AlertCapture`]), and the
//! published messages read back from the queue ([`CapturedAlert`]).

use std::collections::BTreeMap;

use aws_sdk_sqs::types::QueueAttributeName;

use super::{aws, missing, next_id, Sandbox, SandboxError};

/// An SNS topic with an SQS queue subscribed to it (raw message delivery off), so that what was
/// published can be read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCapture {
    pub topic_arn: String,
    pub queue_url: String,
}

/// One message published to the captured topic, as an email subscriber would get it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CapturedAlert {
    pub subject: Option<String>,
    pub message: String,
    /// SNS message attributes, name → value.
    pub attributes: BTreeMap<String, String>,
}

impl Sandbox {
    /// Creates an SNS topic and an SQS queue subscribed to it (raw message delivery off).
    pub async fn alert_capture(&self) -> Result<AlertCapture, SandboxError> {
        let n = next_id();
        let step = "creating the alert topic and its capture queue";
        let topic_arn = self
            .sns
            .create_topic()
            .name(format!("ssr-onboard-alerts-{n}"))
            .send()
            .await
            .map_err(aws(step, "CreateTopic"))?
            .topic_arn
            .ok_or_else(|| missing(step, "TopicArn"))?;
        let queue_url = self
            .sqs
            .create_queue()
            .queue_name(format!("ssr-onboard-alert-capture-{n}"))
            .send()
            .await
            .map_err(aws(step, "CreateQueue"))?
            .queue_url
            .ok_or_else(|| missing(step, "QueueUrl"))?;
        let queue_arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(aws(step, "GetQueueAttributes"))?
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .ok_or_else(|| missing(step, "QueueArn"))?;
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "false")
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(aws(step, "Subscribe"))?;
        Ok(AlertCapture {
            topic_arn,
            queue_url,
        })
    }

    /// Receives and deletes every message waiting in the capture queue (short long-poll, returns
    /// once the queue is empty), oldest first as far as SQS tells.
    pub async fn drain_alerts(
        &self,
        capture: &AlertCapture,
    ) -> Result<Vec<CapturedAlert>, SandboxError> {
        let step = "reading the alert capture queue";
        let mut alerts = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&capture.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .map_err(aws(step, "ReceiveMessage"))?;
            let messages = received.messages();
            if messages.is_empty() {
                return Ok(alerts);
            }
            for message in messages {
                alerts.push(parse_sns_envelope(message.body().unwrap_or_default())?);
                if let Some(handle) = message.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&capture.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .map_err(aws(step, "DeleteMessage"))?;
                }
            }
        }
    }
}

/// SNS → SQS (raw delivery off): the body is the SNS envelope
/// `{"Type":"Notification","Subject":...,"Message":...,"MessageAttributes":{"k":{"Type","Value"}}}`.
pub fn parse_sns_envelope(body: &str) -> Result<CapturedAlert, SandboxError> {
    let envelope: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| SandboxError::Envelope(format!("not JSON ({e})")))?;
    let subject = envelope
        .get("Subject")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    let message = envelope
        .get("Message")
        .and_then(|m| m.as_str())
        .ok_or_else(|| SandboxError::Envelope("no Message".into()))?
        .to_string();
    let attributes = envelope
        .get("MessageAttributes")
        .and_then(|a| a.as_object())
        .map(|attrs| {
            attrs
                .iter()
                .map(|(name, attr)| {
                    let value = attr
                        .get("Value")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string();
                    (name.clone(), value)
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CapturedAlert {
        subject,
        message,
        attributes,
    })
}
