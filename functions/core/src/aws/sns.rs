//! Publishing alerts to the SNS topic.

use aws_sdk_sns::types::MessageAttributeValue;

use super::AwsError;
use crate::render::Alert;

#[derive(Clone, Debug)]
pub struct Alerts {
    client: aws_sdk_sns::Client,
    topic_arn: Option<String>,
}

impl Alerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: Option<String>) -> Self {
        Alerts { client, topic_arn }
    }

    pub fn topic_arn(&self) -> Option<&str> {
        self.topic_arn.as_deref()
    }

    /// Publishes `alert`; `Ok(None)` when no topic is configured.
    pub async fn publish(&self, alert: &Alert) -> Result<Option<String>, AwsError> {
        let Some(topic) = &self.topic_arn else {
            return Ok(None);
        };
        let mut req = self
            .client
            .publish()
            .topic_arn(topic)
            .subject(&alert.subject)
            .message(&alert.body);
        for (name, (data_type, value)) in &alert.attributes {
            let attr = MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .map_err(|e| AwsError::new("Publish", "InvalidMessageAttribute", e.to_string()))?;
            req = req.message_attributes(name, attr);
        }
        let out = req
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("Publish", e))?;
        Ok(out.message_id().map(String::from))
    }
}
