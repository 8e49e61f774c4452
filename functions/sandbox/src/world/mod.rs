//! Builders for the AWS shapes the SSR AWS guide describes, inside an [`Emulator`]: the guide's
//! VPC (public subnet routed to an internet gateway, private subnet), routers with a WAN and a
//! LAN interface, an alert topic whose messages land in an SQS queue, the state table.
//!
//! Shared by the CLI's `demo` command and the integration-test harness (which wraps these in
//! panicking helpers), so both build the same world. Fallible: every error names the step.
//!
//! Here: the [`Sandbox`] clients, errors, the state table and shared helpers. Submodules: `vpc`
//! (the guide's network), `routers` (launching routers), `iam` (the router instance profile),
//! `alerts` (the alert topic and its capture queue), `events` (EventBridge events).

use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use tokio::sync::OnceCell;

use ssr_core::aws::AwsError;

use crate::moto::Emulator;

mod alerts;
mod events;
mod iam;
mod routers;
mod vpc;

pub use alerts::{parse_sns_envelope, AlertCapture, CapturedAlert};
pub use events::{ec2_state_change_event, scheduled_event};
pub use iam::form_encode;
pub use routers::{
    LaunchedRouter, RouterSpec, FAKE_REG_CODE, GUIDE_SSR_VERSION, ROUTER_AMI,
    ROUTER_INSTANCE_PROFILE, ROUTER_ROOT_DEVICE,
};
pub use vpc::GuideVpc;

/// Account id moto uses for everything.
pub const ACCOUNT_ID: &str = "123456789012";

/// A provisioning step that failed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("{step}: {source}")]
    Aws {
        step: String,
        #[source]
        source: AwsError,
    },
    #[error("{step}: the emulator's answer lacks {what}")]
    Missing { step: String, what: &'static str },
    #[error("IAM {action}: {detail}")]
    Iam { action: String, detail: String },
    #[error("alert queue message is not an SNS envelope: {0}")]
    Envelope(String),
}

fn aws<E, R>(
    step: impl Into<String>,
    op: &'static str,
) -> impl FnOnce(aws_sdk_ec2::error::SdkError<E, R>) -> SandboxError
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let step = step.into();
    move |e| SandboxError::Aws {
        step,
        source: AwsError::from_sdk(op, e),
    }
}

fn missing(step: impl Into<String>, what: &'static str) -> SandboxError {
    SandboxError::Missing {
        step: step.into(),
        what,
    }
}

/// SDK clients for an emulator plus the builders.
#[derive(Debug)]
pub struct Sandbox {
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub region: String,
    endpoint: String,
    http: reqwest::Client,
    instance_profile: OnceCell<String>,
}

impl Sandbox {
    /// Clients for `emulator` in `region`.
    pub fn new(emulator: &Emulator, region: &str) -> Result<Sandbox, SandboxError> {
        let sdk = emulator.sdk_config(region);
        Self::from_sdk(&sdk, emulator.endpoint(), region)
    }

    /// Clients from an SDK configuration already pointing at the emulator at `endpoint`.
    pub fn from_sdk(
        sdk: &SdkConfig,
        endpoint: &str,
        region: &str,
    ) -> Result<Sandbox, SandboxError> {
        let http =
            reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|e| SandboxError::Iam {
                    action: "HTTP client".into(),
                    detail: e.to_string(),
                })?;
        Ok(Sandbox {
            ec2: aws_sdk_ec2::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            region: region.to_string(),
            endpoint: endpoint.trim_end_matches('/').to_string(),
            http,
            instance_profile: OnceCell::new(),
        })
    }

    /// Creates the DynamoDB state table as infra/template.yaml does: partition key `pk` (String),
    /// on-demand billing, and the global secondary index `lists` (partition `list` S, sort
    /// `list_at` N, all attributes) the alert outbox, the open findings and the timelines are
    /// read through.
    pub async fn create_state_table(&self, name: &str) -> Result<(), SandboxError> {
        let step = format!("creating state table {name}");
        let attr = |n: &str, t: ScalarAttributeType| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(t)
                .build()
                .map_err(|_| missing(&step, "a valid attribute definition"))
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(|_| missing(&step, "a valid key schema"))
        };
        let lists = GlobalSecondaryIndex::builder()
            .index_name("lists")
            .key_schema(key("list", KeyType::Hash)?)
            .key_schema(key("list_at", KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(|_| missing(&step, "a valid index"))?;
        self.dynamodb
            .create_table()
            .table_name(name)
            .attribute_definitions(attr("pk", ScalarAttributeType::S)?)
            .attribute_definitions(attr("list", ScalarAttributeType::S)?)
            .attribute_definitions(attr("list_at", ScalarAttributeType::N)?)
            .key_schema(key("pk", KeyType::Hash)?)
            .global_secondary_indexes(lists)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(aws(step.clone(), "CreateTable"))?;
        Ok(())
    }
}

/// A tag specification with the given tags.
pub fn tags(resource: ResourceType, pairs: &[(String, String)]) -> TagSpecification {
    pairs
        .iter()
        .fold(
            TagSpecification::builder().resource_type(resource),
            |spec, (k, v)| spec.tags(Tag::builder().key(k).value(v).build()),
        )
        .build()
}

/// A tag specification with only a `Name` tag.
pub fn name_tag(resource: ResourceType, name: &str) -> TagSpecification {
    tags(resource, &[("Name".to_string(), name.to_string())])
}

/// A process-unique number for resource names.
pub fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::events::EC2_STATE_CHANGE_FIXTURE;
    use super::*;

    #[test]
    fn when_sns_envelope_parsed_then_subject_message_and_attributes() {
        let body = r#"{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Subject":"SSR router i-1: fixed","Message":"text body","Timestamp":"2026-01-01T00:00:00.000Z","MessageAttributes":{"severity":{"Type":"String","Value":"warning"}}}"#;
        let alert = parse_sns_envelope(body).expect("parses");
        assert_eq!(alert.subject.as_deref(), Some("SSR router i-1: fixed"));
        assert_eq!(alert.message, "text body");
        assert_eq!(
            alert.attributes.get("severity").map(String::as_str),
            Some("warning")
        );
    }

    #[test]
    fn when_sqs_body_is_not_an_envelope_then_error_not_panic() {
        assert!(parse_sns_envelope("plain text").is_err());
        assert!(parse_sns_envelope(r#"{"Subject":"x"}"#).is_err());
    }

    #[test]
    fn when_guide_user_data_built_then_it_carries_the_onboarding_json() {
        let user_data = RouterSpec::guide_user_data("branch-1", "6.3.0", FAKE_REG_CODE);
        assert!(user_data.starts_with("#cloud-config\n"));
        let json_line = user_data
            .lines()
            .find(|l| l.trim_start().starts_with('{'))
            .expect("onboarding JSON line");
        let onboarding: serde_json::Value =
            serde_json::from_str(json_line.trim()).expect("onboarding JSON parses");
        assert_eq!(onboarding["name"], "branch-1");
        assert_eq!(onboarding["registration-code"], FAKE_REG_CODE);
        assert_eq!(onboarding["ssr-version"], "6.3.0");
    }

    #[test]
    fn when_state_change_event_built_then_id_and_state_substituted_in_the_fixture_shape() {
        let event = ec2_state_change_event("i-0123456789abcdef0", "running");
        assert_eq!(event["detail"]["instance-id"], "i-0123456789abcdef0");
        assert_eq!(event["detail"]["state"], "running");
        assert_eq!(
            event["detail-type"],
            "EC2 Instance State-change Notification"
        );
        assert_eq!(
            event["resources"][0],
            "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"
        );
        assert_ne!(
            event["id"],
            ec2_state_change_event("i-0123456789abcdef0", "running")["id"]
        );
        let fixture: serde_json::Value =
            serde_json::from_str(EC2_STATE_CHANGE_FIXTURE).expect("fixture parses");
        let keys = |v: &serde_json::Value| {
            v.as_object()
                .map(|o| o.keys().cloned().collect::<Vec<_>>())
                .unwrap_or_default()
        };
        assert_eq!(
            keys(&event),
            keys(&fixture),
            "same top-level fields as the fixture"
        );
        assert_eq!(keys(&event["detail"]), keys(&fixture["detail"]));
        let typed: aws_lambda_events::event::eventbridge::EventBridgeEvent<
            aws_lambda_events::event::cloudwatch_events::ec2::InstanceStateChange,
        > = serde_json::from_value(event).expect("parses as the Lambda event type");
        assert_eq!(typed.detail.instance_id, "i-0123456789abcdef0");
        assert_eq!(typed.detail.state, "running");
        assert!(typed.time.is_some());
    }

    #[test]
    fn when_scheduled_event_built_then_time_set_and_it_parses_as_an_eventbridge_event() {
        let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("time");
        let event = scheduled_event(at);
        assert_eq!(event["time"], "2027-01-15T08:00:00Z");
        assert_eq!(event["detail-type"], "Scheduled Event");
        let typed: aws_lambda_events::event::eventbridge::EventBridgeEvent<serde_json::Value> =
            serde_json::from_value(event).expect("parses");
        assert_eq!(typed.time, Some(at));
    }

    #[test]
    fn when_form_encoding_then_reserved_characters_escaped() {
        assert_eq!(form_encode("a b/{\"x\"}"), "a%20b%2F%7B%22x%22%7D");
    }
}
