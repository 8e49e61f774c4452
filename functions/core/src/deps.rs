//! Everything a handler needs, built once per cold start (or CLI run) and passed by reference,
//! so tests swap in `aws-smithy-mocks` clients or an emulator without global state.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::aws::cloudformation::CloudFormation;
use crate::aws::ec2::Ec2;
use crate::aws::sns::Alerts;
use crate::aws::state::StateStore;
use crate::config::Config;

/// The SDK clients, one per service.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Clients {
            ec2: aws_sdk_ec2::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            cloudformation: aws_sdk_cloudformation::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Config,
    pub clients: Clients,
    pub ec2: Ec2,
    pub alerts: Alerts,
    pub state: StateStore,
    pub cloudformation: CloudFormation,
    /// The region the clients talk to (alert context, console links).
    pub region: Option<String>,
}

impl Deps {
    pub fn new(config: Config, clients: Clients, region: Option<String>) -> Self {
        Deps {
            ec2: Ec2::new(clients.ec2.clone()),
            alerts: Alerts::new(clients.sns.clone(), config.alert_topic_arn.clone()),
            state: StateStore::new(clients.dynamodb.clone(), config.state_table.clone()),
            cloudformation: CloudFormation::new(clients.cloudformation.clone()),
            config,
            clients,
            region,
        }
    }

    pub fn from_sdk_config(config: Config, sdk: &SdkConfig) -> Self {
        Self::new(
            config,
            Clients::from_sdk_config(sdk),
            sdk.region().map(|r| r.to_string()),
        )
    }

    /// The standard AWS chain: `AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, role credentials.
    pub async fn from_env(config: Config) -> Self {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::from_sdk_config(config, &sdk)
    }
}
