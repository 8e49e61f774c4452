//! Publishing alerts to the SNS topic, and their chat notifications to the chat topic.

use aws_sdk_sns::types::MessageAttributeValue;

use super::AwsError;
use crate::render::chat::chat_message;
use crate::render::Alert;

#[derive(Clone, Debug)]
pub struct Alerts {
    client: aws_sdk_sns::Client,
    topic_arn: Option<String>,
    chat_topic_arn: Option<String>,
}

impl Alerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: Option<String>) -> Self {
        Alerts {
            client,
            topic_arn,
            chat_topic_arn: None,
        }
    }

    /// Also publish each alert sent to `chat_topic_arn` (an AWS Chatbot topic), if set.
    pub fn with_chat(mut self, chat_topic_arn: Option<String>) -> Self {
        self.chat_topic_arn = chat_topic_arn;
        self
    }

    pub fn topic_arn(&self) -> Option<&str> {
        self.topic_arn.as_deref()
    }

    pub fn chat_topic_arn(&self) -> Option<&str> {
        self.chat_topic_arn.as_deref()
    }

    /// Publishes `alert` as an AWS Chatbot custom notification; `Ok(None)` when no chat topic is
    /// configured. The same message attributes go along, so subscription filters work alike.
    pub async fn publish_chat(&self, alert: &Alert) -> Result<Option<String>, AwsError> {
        let Some(topic) = &self.chat_topic_arn else {
            return Ok(None);
        };
        let req = self
            .client
            .publish()
            .topic_arn(topic)
            .message(chat_message(alert));
        let out = with_attributes(req, alert)?
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("Publish", e))?;
        Ok(out.message_id().map(String::from))
    }

    /// Publishes `alert`; `Ok(None)` when no topic is configured.
    pub async fn publish(&self, alert: &Alert) -> Result<Option<String>, AwsError> {
        let Some(topic) = &self.topic_arn else {
            return Ok(None);
        };
        let req = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(&alert.subject)
            .message(&alert.body);
        let out = with_attributes(req, alert)?
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("Publish", e))?;
        Ok(out.message_id().map(String::from))
    }
}

/// `req` with the alert's message attributes.
fn with_attributes(
    mut req: aws_sdk_sns::operation::publish::builders::PublishFluentBuilder,
    alert: &Alert,
) -> Result<aws_sdk_sns::operation::publish::builders::PublishFluentBuilder, AwsError> {
    for (name, (data_type, value)) in &alert.attributes {
        let attr = MessageAttributeValue::builder()
            .data_type(data_type)
            .string_value(value)
            .build()
            .map_err(|e| AwsError::new("Publish", "InvalidMessageAttribute", e.to_string()))?;
        req = req.message_attributes(name, attr);
    }
    Ok(req)
}
