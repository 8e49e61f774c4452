//! Delivering alerts: to the SNS topic, to the alert event bus (EventBridge, optional), and their
//! chat notifications to the chat topic.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sns::types::MessageAttributeValue;

use super::AwsError;
use crate::outbox::Target;
use crate::render::chat::chat_message;
use crate::render::event::EVENT_SOURCE;
use crate::render::Alert;

#[derive(Clone, Debug)]
pub struct Alerts {
    client: aws_sdk_sns::Client,
    topic_arn: Option<String>,
    chat_topic_arn: Option<String>,
    bus: Option<EventBus>,
}

/// The alert event bus (`ALERT_EVENT_BUS`: a bus name or ARN).
#[derive(Clone, Debug)]
struct EventBus {
    client: aws_sdk_eventbridge::Client,
    name: String,
}

impl Alerts {
    pub fn new(client: aws_sdk_sns::Client, topic_arn: Option<String>) -> Self {
        Alerts {
            client,
            topic_arn,
            chat_topic_arn: None,
            bus: None,
        }
    }

    /// Also put each alert on the event bus `bus` (a name or ARN), if set: part of the
    /// delivery (an alert is sent only when the topic and the bus both accepted it).
    pub fn with_bus(mut self, client: aws_sdk_eventbridge::Client, bus: Option<String>) -> Self {
        self.bus = bus.map(|name| EventBus { client, name });
        self
    }

    /// The targets every alert is delivered to, in order.
    pub fn targets(&self) -> Vec<Target> {
        let mut t = vec![Target::Sns];
        if self.bus.is_some() {
            t.push(Target::EventBus);
        }
        t
    }

    /// Puts `alert` on the event bus (`Ok(())` when no bus is configured). PutEvents reports a
    /// refused entry in its answer, not as an error: that is an error here.
    pub async fn put_event(&self, alert: &Alert) -> Result<(), AwsError> {
        let Some(bus) = &self.bus else {
            return Ok(());
        };
        let detail = serde_json::to_string(&alert.event_detail())
            .map_err(|e| AwsError::new("PutEvents", "Serialization", e.to_string()))?;
        let entry = PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(alert.detail_type())
            .detail(detail)
            .event_bus_name(&bus.name)
            .set_resources(None)
            .build();
        let out = bus
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutEvents", e))?;
        if out.failed_entry_count() > 0 {
            let failed = out.entries().iter().find(|e| e.error_code().is_some());
            return Err(AwsError::new(
                "PutEvents",
                failed.and_then(|e| e.error_code()).unwrap_or("FailedEntry"),
                failed
                    .and_then(|e| e.error_message())
                    .unwrap_or("the event bus refused the alert event"),
            ));
        }
        Ok(())
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
