//! Shared fakes for the watchdog contract tests: one router as real EC2 describes it, DynamoDB
//! and SNS mocks recording what is published, a Secrets Manager secret holding the Mist token.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::operation::batch_get_item::BatchGetItemOutput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::put_item::PutItemOutput;
use aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::types::{
    AttributeValue as Ec2AttributeValue, Instance, InstanceState, InstanceStateName,
    NetworkInterface, NetworkInterfaceAssociation, NetworkInterfaceAttachment, Reservation, Tag,
};
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_sdk_sns::operation::publish::PublishOutput;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_types::DateTime as SmithyDateTime;
use base64::Engine;
use ssr_core::deps::{Clients, Deps};
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::onboarding_config::guide_user_data;
use ssr_core::Config;

pub const ID: &str = "i-0abc1234567890def";
pub const REG_CODE: &str = "REG-CODE-do-not-leak-7f3a9c";
pub const TOKEN: &str = "mist-token-do-not-leak-91b2";
pub const SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-token-AbCdEf";
pub const EVENT: &str = include_str!("../../../../tests/fixtures/scheduled-event.json");
/// The fixture's `time` (2021-11-11T21:45:00Z) minus 16 minutes.
pub const LAUNCH_EPOCH: i64 = 1_636_667_100 - 16 * 60;

pub fn ec2_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>11111111-2222-3333-4444-555555555555</RequestID></Response>"
    )
}

pub fn event() -> serde_json::Value {
    serde_json::from_str(EVENT).expect("fixture is JSON")
}

pub fn config(pairs: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_vars(|k| map.get(k).cloned()).expect("valid config")
}

pub fn ec2_rules(user_data_denied: bool) -> Vec<Rule> {
    let describe = mock!(aws_sdk_ec2::Client::describe_instances).then_output(|| {
        DescribeInstancesOutput::builder()
            .reservations(
                Reservation::builder()
                    .instances(
                        Instance::builder()
                            .instance_id(ID)
                            .state(
                                InstanceState::builder()
                                    .name(InstanceStateName::Running)
                                    .build(),
                            )
                            .launch_time(SmithyDateTime::from_secs(LAUNCH_EPOCH))
                            .key_name("ops")
                            .tags(Tag::builder().key("Name").value("SSR_1_Router").build())
                            .tags(Tag::builder().key("SSR-ROUTER").value("true").build())
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let enis = mock!(aws_sdk_ec2::Client::describe_network_interfaces).then_output(|| {
        DescribeNetworkInterfacesOutput::builder()
            .network_interfaces(
                NetworkInterface::builder()
                    .network_interface_id("eni-wan")
                    .private_ip_address("10.0.1.10")
                    .mac_address("0a:00:00:00:00:01")
                    .association(
                        NetworkInterfaceAssociation::builder()
                            .public_ip("203.0.113.10")
                            .build(),
                    )
                    .attachment(
                        NetworkInterfaceAttachment::builder()
                            .instance_id(ID)
                            .device_index(0)
                            .build(),
                    )
                    .tag_set(Tag::builder().key("SSR-ROLE").value("WAN").build())
                    .build(),
            )
            .build()
    });
    let user_data = if user_data_denied {
        mock!(aws_sdk_ec2::Client::describe_instance_attribute).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).expect("status"),
                aws_smithy_types::body::SdkBody::from(ec2_error(
                    "UnauthorizedOperation",
                    "You are not authorized to perform this operation.",
                )),
            )
        })
    } else {
        mock!(aws_sdk_ec2::Client::describe_instance_attribute).then_output(|| {
            DescribeInstanceAttributeOutput::builder()
                .user_data(
                    Ec2AttributeValue::builder()
                        .value(
                            base64::engine::general_purpose::STANDARD.encode(guide_user_data(
                                "SSR_1_Router",
                                "6.3.0",
                                REG_CODE,
                            )),
                        )
                        .build(),
                )
                .build()
        })
    };
    vec![describe, enis, user_data]
}

/// Publishes are recorded (subject, message) and answered by `publish_rule`.
pub struct Fakes {
    pub published: Arc<Mutex<Vec<(String, String)>>>,
    pub deletes: Rule,
    pub secret_reads: Rule,
}

pub fn deps(cfg: Config, user_data_denied: bool, publish_fails: bool) -> (Deps, Watchdog, Fakes) {
    let ec2_rules = ec2_rules(user_data_denied);
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, ec2_rules.iter());
    let published = Arc::new(Mutex::new(Vec::new()));
    let rec = published.clone();
    let publish = if publish_fails {
        mock!(aws_sdk_sns::Client::publish)
            .match_requests(move |r| {
                if let Ok(mut p) = rec.lock() {
                    p.push((
                        r.subject().unwrap_or_default().to_string(),
                        r.message().unwrap_or_default().to_string(),
                    ));
                }
                true
            })
            .then_http_response(|| {
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(400).expect("status"),
                    aws_smithy_types::body::SdkBody::from(
                        "<ErrorResponse><Error><Type>Sender</Type><Code>AuthorizationError</Code><Message>not authorized</Message></Error></ErrorResponse>",
                    ),
                )
            })
    } else {
        mock!(aws_sdk_sns::Client::publish)
            .match_requests(move |r| {
                if let Ok(mut p) = rec.lock() {
                    p.push((
                        r.subject().unwrap_or_default().to_string(),
                        r.message().unwrap_or_default().to_string(),
                    ));
                }
                true
            })
            .then_output(|| PublishOutput::builder().message_id("m-1").build())
    };
    let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&publish]);
    let batch_get = mock!(aws_sdk_dynamodb::Client::batch_get_item)
        .then_output(|| BatchGetItemOutput::builder().build());
    let put =
        mock!(aws_sdk_dynamodb::Client::put_item).then_output(|| PutItemOutput::builder().build());
    let deletes = mock!(aws_sdk_dynamodb::Client::delete_item)
        .then_output(|| DeleteItemOutput::builder().build());
    // The claim's pre-read: nothing claimed yet.
    let reads = mock!(aws_sdk_dynamodb::Client::get_item)
        .then_output(|| aws_sdk_dynamodb::operation::get_item::GetItemOutput::builder().build());
    let dynamodb = mock_client!(
        aws_sdk_dynamodb,
        RuleMode::MatchAny,
        [&batch_get, &put, &deletes, &reads]
    );
    let secret_reads = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
        GetSecretValueOutput::builder()
            .secret_string(format!("{{\"token\": \"{TOKEN}\"}}"))
            .build()
    });
    let secrets = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [&secret_reads]);
    let clients = Clients {
        ec2,
        sns,
        dynamodb,
        cloudformation: mock_client!(
            aws_sdk_cloudformation,
            RuleMode::MatchAny,
            Vec::<&Rule>::new()
        ),
        secrets: secrets.clone(),
    };
    let d = Deps::new(cfg, clients, Some("us-east-1".into()));
    let w = Watchdog::new(&d.config, secrets);
    (
        d,
        w,
        Fakes {
            published,
            deletes,
            secret_reads,
        },
    )
}

pub const ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";

pub fn base_config(mist_url: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "ALERT_TOPIC_ARN",
            "arn:aws:sns:us-east-1:123456789012:alerts".into(),
        ),
        ("STATE_TABLE", "ssr-state".into()),
        ("MIST_API_URL", mist_url.to_string()),
        ("MIST_ORG_ID", ORG.into()),
        ("MIST_TOKEN_SECRET_ARN", SECRET_ARN.into()),
    ]
}

pub fn cfg(pairs: &[(&'static str, String)]) -> Config {
    let v: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    config(&v)
}
