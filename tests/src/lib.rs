//! Integration-test harness: one moto server per test, SDK clients pointed at it, and builders
//! for the AWS shapes the SSR AWS guide describes (VPC with public/private subnets, a router
//! instance with a WAN and a LAN interface, an alert topic whose messages land in a queue).
//!
//! Helpers panic with a descriptive message on failure: this is test code and a failing setup
//! step should fail the test where it happened.
//!
//! ```no_run
//! # async fn example() {
//! use ssr_onboard_tests::{RouterSpec, TestAws};
//! let aws = TestAws::start().await;
//! let vpc = aws.guide_vpc().await;
//! let router = aws.launch_router(&vpc, &RouterSpec::guide("branch-1")).await;
//! aws.start_recording().await;
//! // ... run a handler against aws.sdk ...
//! let writes = aws.ec2_write_calls().await;
//! # }
//! ```

pub mod mist_world;

pub use mist_world::MistWorld;
pub use ssr_sandbox::moto::{Emulator, RecordedRequest};
pub use ssr_sandbox::world::{
    ec2_state_change_event, CapturedAlert, GuideVpc, LaunchedRouter, RouterSpec, Sandbox,
    ACCOUNT_ID, FAKE_REG_CODE as REG_CODE, GUIDE_SSR_VERSION, ROUTER_AMI, ROUTER_INSTANCE_PROFILE,
    ROUTER_ROOT_DEVICE,
};

use aws_config::SdkConfig;
use aws_sdk_ec2::types::{Filter, InstanceType, ResourceType};
use ssr_core::aws::permissions::called_actions;
use ssr_core::deps::{Clients, Deps};
use ssr_core::metrics::Function;
use ssr_core::Config;
use ssr_sandbox::world::{self, name_tag};
use ssr_testkit::CallCheck;

/// Region every test runs in.
pub const REGION: &str = "us-east-1";

/// Tag key that marks an interface WAN or LAN (SSR AWS guide, "Interface Tagging").
pub const SSR_ROLE_TAG: &str = ssr_core::config::ROLE_TAG_KEY;

/// A moto server and SDK clients for it. Dropping it stops the server.
///
/// The builders ([`TestAws::guide_vpc`], [`TestAws::launch_router`], ...) are
/// `ssr_sandbox::world` (shared with the CLI demo), made to panic on failure here.
pub struct TestAws {
    pub emulator: Emulator,
    pub sdk: SdkConfig,
    pub ec2: aws_sdk_ec2::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub cloudformation: aws_sdk_cloudformation::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub region: String,
    pub sandbox: Sandbox,
}

/// An SNS topic with an SQS queue subscribed to it (raw message delivery off), so that tests
/// can read what was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCapture {
    pub topic_arn: String,
    pub queue_url: String,
}

impl AlertCapture {
    /// Receives and deletes every message waiting in the queue (short long-poll, returns once the
    /// queue is empty), oldest first as far as SQS tells.
    pub async fn drain(&self, aws: &TestAws) -> Vec<CapturedAlert> {
        let capture = world::AlertCapture {
            topic_arn: self.topic_arn.clone(),
            queue_url: self.queue_url.clone(),
        };
        aws.sandbox
            .drain_alerts(&capture)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl TestAws {
    /// Starts a fresh moto server (installing moto on first use) and builds clients for it.
    pub async fn start() -> TestAws {
        let emulator = Emulator::start(&|msg| eprintln!("[emulator] {msg}"))
            .await
            .unwrap_or_else(|e| panic!("could not start the AWS emulator: {e}"));
        let sdk = emulator.sdk_config(REGION);
        let sandbox =
            Sandbox::from_sdk(&sdk, emulator.endpoint(), REGION).unwrap_or_else(|e| panic!("{e}"));
        TestAws {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            cloudformation: aws_sdk_cloudformation::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
            region: REGION.to_string(),
            sdk,
            emulator,
            sandbox,
        }
    }

    /// Handler dependencies over this emulator, as `Deps::from_sdk_config` builds them, with
    /// every client checked against `function`'s row of `ssr_core::aws::permissions`
    /// (`ssr_testkit::CallCheck`): an operation missing from it fails the test.
    pub fn deps(&self, function: Function, config: Config) -> Deps {
        let check = CallCheck::new(function.name(), called_actions(function));
        let sdk = &self.sdk;
        let clients = Clients {
            ec2: check.ec2(aws_sdk_ec2::Client::new(sdk)),
            sns: check.sns(aws_sdk_sns::Client::new(sdk)),
            dynamodb: check.dynamodb(aws_sdk_dynamodb::Client::new(sdk)),
            cloudformation: check.cloudformation(aws_sdk_cloudformation::Client::new(sdk)),
            secrets: check.secrets(aws_sdk_secretsmanager::Client::new(sdk)),
        };
        Deps::new(config, clients, sdk.region().map(|r| r.to_string()))
    }

    /// Handler dependencies over this emulator whose every request passes `rules` first
    /// (`ssr_testkit::faults`: a request that hangs, before or after reaching the emulator, or
    /// whose connection drops), retried as the functions' clients are, with each attempt cut
    /// after `attempt_timeout` when given (the functions' own is 10 s:
    /// `ssr_core::deps::sdk_timeout_config`).
    pub fn faulty_deps(
        &self,
        config: Config,
        rules: &ssr_testkit::faults::FaultRules,
        attempt_timeout: Option<std::time::Duration>,
    ) -> Deps {
        let inner = self
            .sdk
            .http_client()
            .unwrap_or_else(|| aws_smithy_http_client::Builder::new().build_http());
        // Retried as the functions' own clients are (ssr_core::deps::sdk_loader).
        let mut sdk = self
            .sdk
            .to_builder()
            .retry_config(ssr_core::deps::sdk_retry_config(None))
            .http_client(ssr_testkit::faults::faulty(inner, rules.clone()));
        if let Some(t) = attempt_timeout {
            sdk = sdk.timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(t)
                    .build(),
            );
        }
        let sdk = sdk.build();
        let clients = Clients {
            ec2: aws_sdk_ec2::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            cloudformation: aws_sdk_cloudformation::Client::new(&sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&sdk),
        };
        Deps::new(config, clients, Some(self.region.clone()))
    }

    /// The emulated world of another account: SDK configuration with the credentials of
    /// `role_name` assumed there from this emulator's (moto makes what they create belong to
    /// `account`; it does not check the role exists), and a sandbox building with them. The
    /// sandbox's IAM calls keep the default account's key, so launch member routers with
    /// `iam_instance_profile: false`.
    pub async fn member_world(&self, account: &str, role_name: &str) -> (SdkConfig, Sandbox) {
        let provider = aws_config::sts::AssumeRoleProvider::builder(format!(
            "arn:aws:iam::{account}:role/{role_name}"
        ))
        .session_name("test-setup")
        .configure(&self.sdk)
        .build()
        .await;
        let sdk = self
            .sdk
            .to_builder()
            .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
                provider,
            ))
            .build();
        let sandbox = Sandbox::from_sdk(&sdk, self.emulator.endpoint(), REGION)
            .unwrap_or_else(|e| panic!("member sandbox: {e}"));
        (sdk, sandbox)
    }

    /// Creates the DynamoDB state table: partition key `pk` (String), on-demand billing.
    pub async fn create_state_table(&self, name: &str) {
        self.sandbox
            .create_state_table(name)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Creates an SNS topic and an SQS queue subscribed to it (raw message delivery off).
    pub async fn alert_capture(&self) -> AlertCapture {
        let c = self
            .sandbox
            .alert_capture()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        AlertCapture {
            topic_arn: c.topic_arn,
            queue_url: c.queue_url,
        }
    }

    /// Builds the guide's network (see [`GuideVpc`]).
    pub async fn guide_vpc(&self) -> GuideVpc {
        self.sandbox
            .guide_vpc()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Launches a router as the guide describes (see [`Sandbox::launch_router`]).
    pub async fn launch_router(&self, vpc: &GuideVpc, spec: &RouterSpec) -> LaunchedRouter {
        self.sandbox
            .launch_router(vpc, spec)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Launches an ordinary instance that is not a router: one interface in the private subnet,
    /// only a `Name` tag.
    pub async fn launch_plain_instance(&self, vpc: &GuideVpc) -> String {
        self.ec2
            .run_instances()
            .image_id(ROUTER_AMI)
            .instance_type(InstanceType::T3Micro)
            .min_count(1)
            .max_count(1)
            .subnet_id(&vpc.private_subnet_id)
            .security_group_ids(&vpc.security_group_id)
            .tag_specifications(name_tag(ResourceType::Instance, "plain-instance"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("RunInstances plain instance: {e:?}"))
            .instances
            .and_then(|mut i| i.pop())
            .and_then(|i| i.instance_id)
            .expect("RunInstances returns an instance id")
    }
    /// Sets SourceDestCheck on one interface (ModifyNetworkInterfaceAttribute).
    pub async fn set_source_dest_check(&self, eni_id: &str, value: bool) {
        self.sandbox
            .set_source_dest_check(eni_id, value)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// The interface's SourceDestCheck as DescribeNetworkInterfaces reports it.
    pub async fn eni_source_dest_check(&self, eni_id: &str) -> Option<bool> {
        self.ec2
            .describe_network_interfaces()
            .network_interface_ids(eni_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeNetworkInterfaces {eni_id}: {e:?}"))
            .network_interfaces()
            .first()
            .and_then(|eni| eni.source_dest_check())
    }

    /// The interfaces attached to an instance (DescribeNetworkInterfaces with filter
    /// `attachment.instance-id`), ordered by device index.
    pub async fn instance_enis(
        &self,
        instance_id: &str,
    ) -> Vec<aws_sdk_ec2::types::NetworkInterface> {
        let mut enis = self
            .ec2
            .describe_network_interfaces()
            .filters(
                Filter::builder()
                    .name("attachment.instance-id")
                    .values(instance_id)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("DescribeNetworkInterfaces of {instance_id}: {e:?}"))
            .network_interfaces
            .unwrap_or_default();
        enis.sort_by_key(|eni| eni.attachment().and_then(|a| a.device_index()));
        enis
    }

    /// Terminates an instance.
    pub async fn terminate(&self, instance_id: &str) {
        self.ec2
            .terminate_instances()
            .instance_ids(instance_id)
            .send()
            .await
            .unwrap_or_else(|e| panic!("TerminateInstances {instance_id}: {e:?}"));
    }

    /// Empties the emulator's request log and starts recording (see [`TestAws::ec2_write_calls`]).
    pub async fn start_recording(&self) {
        self.emulator
            .start_recording()
            .await
            .unwrap_or_else(|e| panic!("start recording: {e}"));
    }

    /// Every request recorded since the last [`TestAws::start_recording`].
    pub async fn recorded_requests(&self) -> Vec<RecordedRequest> {
        self.emulator
            .recorded_requests()
            .await
            .unwrap_or_else(|e| panic!("download recording: {e}"))
    }

    /// The EC2 operations recorded since the last [`TestAws::start_recording`] that write
    /// (everything but `Describe*`, `Get*`, `List*`), in order.
    pub async fn ec2_write_calls(&self) -> Vec<String> {
        self.recorded_requests()
            .await
            .into_iter()
            .filter(|r| r.service.as_deref() == Some("ec2"))
            .filter_map(|r| r.action)
            .filter(|action| !is_read_action(action))
            .collect()
    }
}

fn is_read_action(action: &str) -> bool {
    ["Describe", "Get", "List"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_action_is_describe_get_or_list_then_read() {
        assert!(is_read_action("DescribeInstances"));
        assert!(is_read_action("GetConsoleOutput"));
        assert!(!is_read_action("ModifyNetworkInterfaceAttribute"));
        assert!(!is_read_action("CreateTags"));
    }
}
