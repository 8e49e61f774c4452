//! Everything a handler needs, passed by reference, so tests swap in `aws-smithy-mocks` clients
//! or the emulated AWS without global state.
//!
//! Each function builds only the clients it calls: EC2, SNS and DynamoDB (every function's
//! path) are built with the dependencies; CloudFormation (stack-watch) and Secrets Manager (the
//! watchdog's Mist token) on first use.

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, SdkConfig};

use crate::aws::cloudformation::CloudFormation;
use crate::aws::ec2::Ec2;
use crate::aws::sns::Alerts;
use crate::aws::state::StateStore;
use crate::config::Config;

/// SDK clients given explicitly (tests, the sandbox); `None` ones are built on first use from the
/// SDK configuration, if there is one.
#[derive(Clone, Debug)]
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
}

/// A client built from `sdk` the first time it is asked for.
#[derive(Clone, Debug)]
struct Lazy<T> {
    sdk: Option<SdkConfig>,
    cell: OnceLock<T>,
}

impl<T> Lazy<T> {
    fn ready(v: T) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(v);
        Lazy { sdk: None, cell }
    }

    fn from_sdk(sdk: &SdkConfig) -> Self {
        Lazy {
            sdk: Some(sdk.clone()),
            cell: OnceLock::new(),
        }
    }

    fn get(&self, build: impl FnOnce(&SdkConfig) -> T) -> &T {
        self.cell.get_or_init(|| match &self.sdk {
            Some(sdk) => build(sdk),
            // `ready` always sets the cell; this arm is never taken.
            None => build(&SdkConfig::builder().build()),
        })
    }
}

#[derive(Clone, Debug)]
pub struct Deps {
    pub config: Config,
    pub ec2: Ec2,
    pub alerts: Alerts,
    pub state: StateStore,
    /// The region the clients talk to (alert context, console links).
    pub region: Option<String>,
    cloudformation: Lazy<CloudFormation>,
    secrets: Lazy<aws_sdk_secretsmanager::Client>,
}

impl Deps {
    /// Dependencies over the given clients.
    pub fn new(config: Config, clients: Clients, region: Option<String>) -> Self {
        Deps {
            ec2: Ec2::new(clients.ec2),
            alerts: Alerts::new(clients.sns, config.alert_topic_arn.clone())
                .with_chat(config.chat_topic_arn.clone()),
            state: StateStore::new(clients.dynamodb, config.state_table.clone()),
            cloudformation: Lazy::ready(CloudFormation::new(clients.cloudformation)),
            secrets: Lazy::ready(clients.secrets),
            config,
            region,
        }
    }

    /// Dependencies over `sdk`: the clients every function calls now, the others on first use.
    pub fn from_sdk_config(config: Config, sdk: &SdkConfig) -> Self {
        Deps {
            ec2: Ec2::new(aws_sdk_ec2::Client::new(sdk)),
            alerts: Alerts::new(
                aws_sdk_sns::Client::new(sdk),
                config.alert_topic_arn.clone(),
            )
            .with_chat(config.chat_topic_arn.clone()),
            state: StateStore::new(
                aws_sdk_dynamodb::Client::new(sdk),
                config.state_table.clone(),
            ),
            cloudformation: Lazy::from_sdk(sdk),
            secrets: Lazy::from_sdk(sdk),
            region: sdk.region().map(|r| r.to_string()),
            config,
        }
    }

    /// The standard AWS chain: `AWS_REGION`, `AWS_PROFILE`, `AWS_ENDPOINT_URL`, role credentials.
    pub async fn from_env(config: Config) -> Self {
        let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
        Self::from_sdk_config(config, &sdk)
    }

    /// The CloudFormation adapter (built on first use).
    pub fn cloudformation(&self) -> &CloudFormation {
        self.cloudformation
            .get(|sdk| CloudFormation::new(aws_sdk_cloudformation::Client::new(sdk)))
    }

    /// The Secrets Manager client (built on first use).
    pub fn secrets_client(&self) -> aws_sdk_secretsmanager::Client {
        self.secrets
            .get(aws_sdk_secretsmanager::Client::new)
            .clone()
    }
}
