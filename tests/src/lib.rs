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

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, BlockDeviceMapping, DomainType, EbsBlockDevice, Filter,
    IamInstanceProfileSpecification, InstanceNetworkInterfaceSpecification, InstanceType,
    ResourceType, Tag, TagSpecification, VolumeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine as _;
use tokio::sync::OnceCell;

pub use ssr_core::emulator::{Emulator, RecordedRequest};

/// Region every test runs in.
pub const REGION: &str = "us-east-1";

/// A recognisable fake Mist registration code. It is a secret in production: tests assert that
/// it never shows up in alerts, logs or outcomes.
pub const REG_CODE: &str = "SSRTEST-REGCODE-7f3c9e2a4b1d-DO-NOT-LEAK";

/// SSR version used in the guide-shaped user data.
pub const GUIDE_SSR_VERSION: &str = "6.3.0";

/// A Linux AMI from moto's built-in list (RHEL 7.4, the SSR BYOL image is RHEL-family), root
/// device `/dev/sda1`. Stands in for the SSR AMI.
pub const ROUTER_AMI: &str = "ami-bb9a6bc2";

/// Root device name of [`ROUTER_AMI`].
pub const ROUTER_ROOT_DEVICE: &str = "/dev/sda1";

/// Tag key that marks an interface WAN or LAN (SSR AWS guide, "Interface Tagging").
pub const SSR_ROLE_TAG: &str = "SSR-ROLE";

/// Name of the IAM instance profile the harness creates for routers.
pub const ROUTER_INSTANCE_PROFILE: &str = "ssr-router-profile";

/// Account id moto uses for everything.
pub const ACCOUNT_ID: &str = "123456789012";

/// A moto server and SDK clients for it. Dropping it stops the server.
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
    instance_profile: OnceCell<String>,
}

/// The guide's network: VPC 10.0.0.0/16, a public subnet routed to an internet gateway and a
/// private subnet on the main route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuideVpc {
    pub vpc_id: String,
    pub public_subnet_id: String,
    pub private_subnet_id: String,
    pub igw_id: String,
    pub public_route_table_id: String,
    pub security_group_id: String,
}

/// How to launch a router. [`RouterSpec::guide`] is a router set up exactly as the guide says,
/// except that source/destination checking is left at the AWS default (on), which is what the
/// product must fix. Change fields to build broken variants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterSpec {
    pub name: String,
    pub instance_type: String,
    pub root_volume_gb: i32,
    /// `SSR-ROLE` tag value of the device-index-0 interface (public subnet); `None` = untagged.
    pub wan_tag: Option<String>,
    /// `SSR-ROLE` tag value of the device-index-1 interface (private subnet); `None` = untagged.
    pub lan_tag: Option<String>,
    /// Value set on both interfaces after launch (AWS default: `true`).
    pub source_dest_check: bool,
    /// Plain-text user data (the harness base64-encodes it); `None` = no user data.
    pub user_data: Option<String>,
    pub instance_tags: Vec<(String, String)>,
    /// Attach the [`ROUTER_INSTANCE_PROFILE`] instance profile.
    pub iam_instance_profile: bool,
    /// Allocate an Elastic IP and associate it with the WAN interface.
    pub public_ip: bool,
}

impl RouterSpec {
    /// A router launched as the guide describes, named `name`.
    pub fn guide(name: &str) -> RouterSpec {
        RouterSpec {
            name: name.to_string(),
            instance_type: "c5.xlarge".to_string(),
            root_volume_gb: 128,
            wan_tag: Some("WAN".to_string()),
            lan_tag: Some("LAN".to_string()),
            source_dest_check: true,
            user_data: Some(RouterSpec::guide_user_data(
                name,
                GUIDE_SSR_VERSION,
                REG_CODE,
            )),
            instance_tags: vec![
                ("Name".to_string(), name.to_string()),
                ("SSR-ROUTER".to_string(), "true".to_string()),
            ],
            iam_instance_profile: true,
            public_ip: true,
        }
    }

    /// The guide's "Cloud-init Onboarding" user data.
    pub fn guide_user_data(name: &str, ssr_version: &str, registration_code: &str) -> String {
        let onboarding = serde_json::json!({
            "name": name,
            "ssr-version": ssr_version,
            "registration-code": registration_code,
            "mode": "mist-managed",
            "cloud-provider": "aws",
        });
        format!(
            "#cloud-config\n\
             write_files:\n  \
               - path: /etc/128T-hardware-bootstrapper/onboarding-config.json\n    \
                 content: |\n      \
                   {onboarding}\n"
        )
    }
}

impl Default for RouterSpec {
    fn default() -> Self {
        RouterSpec::guide("ssr-router-1")
    }
}

/// What [`TestAws::launch_router`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchedRouter {
    pub instance_id: String,
    pub wan_eni_id: String,
    pub lan_eni_id: String,
    pub public_ip: Option<String>,
}

/// An SNS topic with an SQS queue subscribed to it (raw message delivery off), so that tests
/// can read what was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertCapture {
    pub topic_arn: String,
    pub queue_url: String,
}

/// One message published to the captured topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapturedAlert {
    pub subject: Option<String>,
    pub message: String,
    /// SNS message attributes, name → value.
    pub attributes: BTreeMap<String, String>,
}

impl AlertCapture {
    /// Receives and deletes every message waiting in the queue (short long-poll, returns once the
    /// queue is empty), oldest first as far as SQS tells.
    pub async fn drain(&self, aws: &TestAws) -> Vec<CapturedAlert> {
        let mut alerts = Vec::new();
        loop {
            let received = aws
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .expect("ReceiveMessage on the alert capture queue");
            let messages = received.messages();
            if messages.is_empty() {
                return alerts;
            }
            for message in messages {
                let body = message.body().unwrap_or_default();
                alerts.push(parse_sns_envelope(body));
                if let Some(handle) = message.receipt_handle() {
                    aws.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("DeleteMessage on the alert capture queue");
                }
            }
        }
    }
}

/// SNS → SQS (raw delivery off): the body is the SNS envelope
/// `{"Type":"Notification","Subject":...,"Message":...,"MessageAttributes":{"k":{"Type","Value"}}}`.
fn parse_sns_envelope(body: &str) -> CapturedAlert {
    let envelope: serde_json::Value = serde_json::from_str(body)
        .unwrap_or_else(|e| panic!("SQS body is not an SNS envelope ({e}): {body}"));
    let subject = envelope
        .get("Subject")
        .and_then(|s| s.as_str())
        .map(str::to_string);
    let message = envelope
        .get("Message")
        .and_then(|m| m.as_str())
        .unwrap_or_else(|| panic!("SNS envelope without Message: {body}"))
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
    CapturedAlert {
        subject,
        message,
        attributes,
    }
}

impl TestAws {
    /// Starts a fresh moto server (installing moto on first use) and builds clients for it.
    pub async fn start() -> TestAws {
        let emulator = Emulator::start(&|msg| eprintln!("[emulator] {msg}"))
            .await
            .unwrap_or_else(|e| panic!("could not start the AWS emulator: {e}"));
        let sdk = emulator.sdk_config(REGION);
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
            instance_profile: OnceCell::new(),
        }
    }

    /// Creates the DynamoDB state table: partition key `pk` (String), on-demand billing.
    pub async fn create_state_table(&self, name: &str) {
        self.dynamodb
            .create_table()
            .table_name(name)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("pk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute definition"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("pk")
                    .key_type(KeyType::Hash)
                    .build()
                    .expect("key schema"),
            )
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateTable {name}: {e:?}"));
    }

    /// Creates an SNS topic and an SQS queue subscribed to it (raw message delivery off).
    pub async fn alert_capture(&self) -> AlertCapture {
        let n = next_id();
        let topic_arn = self
            .sns
            .create_topic()
            .name(format!("ssr-onboard-alerts-{n}"))
            .send()
            .await
            .expect("CreateTopic")
            .topic_arn
            .expect("CreateTopic returns a TopicArn");
        let queue_url = self
            .sqs
            .create_queue()
            .queue_name(format!("ssr-onboard-alert-capture-{n}"))
            .send()
            .await
            .expect("CreateQueue")
            .queue_url
            .expect("CreateQueue returns a QueueUrl");
        let queue_arn = self
            .sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes QueueArn")
            .attributes
            .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
            .expect("queue has a QueueArn");
        self.sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "false")
            .return_subscription_arn(true)
            .send()
            .await
            .expect("Subscribe the capture queue to the alert topic");
        AlertCapture {
            topic_arn,
            queue_url,
        }
    }

    /// Builds the guide's network (see [`GuideVpc`]).
    pub async fn guide_vpc(&self) -> GuideVpc {
        let vpc_id = self
            .ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .tag_specifications(name_tag(ResourceType::Vpc, "ssr-vpc"))
            .send()
            .await
            .expect("CreateVpc")
            .vpc
            .and_then(|v| v.vpc_id)
            .expect("CreateVpc returns a VpcId");
        let az = format!("{}a", self.region);
        let public_subnet_id = self
            .create_subnet(&vpc_id, "10.0.1.0/24", &az, "ssr-public")
            .await;
        let private_subnet_id = self
            .create_subnet(&vpc_id, "10.0.2.0/24", &az, "ssr-private")
            .await;
        let igw_id = self
            .ec2
            .create_internet_gateway()
            .tag_specifications(name_tag(ResourceType::InternetGateway, "ssr-igw"))
            .send()
            .await
            .expect("CreateInternetGateway")
            .internet_gateway
            .and_then(|g| g.internet_gateway_id)
            .expect("CreateInternetGateway returns an id");
        self.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&igw_id)
            .vpc_id(&vpc_id)
            .send()
            .await
            .expect("AttachInternetGateway");
        let public_route_table_id = self
            .ec2
            .create_route_table()
            .vpc_id(&vpc_id)
            .tag_specifications(name_tag(ResourceType::RouteTable, "ssr-public"))
            .send()
            .await
            .expect("CreateRouteTable")
            .route_table
            .and_then(|t| t.route_table_id)
            .expect("CreateRouteTable returns an id");
        self.ec2
            .create_route()
            .route_table_id(&public_route_table_id)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw_id)
            .send()
            .await
            .expect("CreateRoute 0.0.0.0/0 -> igw");
        self.ec2
            .associate_route_table()
            .route_table_id(&public_route_table_id)
            .subnet_id(&public_subnet_id)
            .send()
            .await
            .expect("AssociateRouteTable public subnet");
        let security_group_id = self
            .ec2
            .create_security_group()
            .group_name(format!("ssr-router-{}", next_id()))
            .description("SSR router interfaces")
            .vpc_id(&vpc_id)
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id
            .expect("CreateSecurityGroup returns a GroupId");
        GuideVpc {
            vpc_id,
            public_subnet_id,
            private_subnet_id,
            igw_id,
            public_route_table_id,
            security_group_id,
        }
    }

    async fn create_subnet(&self, vpc_id: &str, cidr: &str, az: &str, name: &str) -> String {
        self.ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(az)
            .tag_specifications(name_tag(ResourceType::Subnet, name))
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateSubnet {cidr}: {e:?}"))
            .subnet
            .and_then(|s| s.subnet_id)
            .expect("CreateSubnet returns a SubnetId")
    }

    /// Launches a router as the guide describes: one instance with two interfaces created at
    /// launch (device 0 in the public subnet = WAN, device 1 in the private subnet = LAN), the
    /// instance tags, the user data and the root volume size from `spec`; then tags the
    /// interfaces `SSR-ROLE` with CreateTags (moto drops network-interface TagSpecifications of
    /// RunInstances), sets each interface's SourceDestCheck with ModifyNetworkInterfaceAttribute,
    /// and associates an Elastic IP with the WAN interface when `spec.public_ip`.
    pub async fn launch_router(&self, vpc: &GuideVpc, spec: &RouterSpec) -> LaunchedRouter {
        let mut run = self
            .ec2
            .run_instances()
            .image_id(ROUTER_AMI)
            .instance_type(InstanceType::from(spec.instance_type.as_str()))
            .min_count(1)
            .max_count(1)
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(0)
                    .subnet_id(&vpc.public_subnet_id)
                    .groups(&vpc.security_group_id)
                    .delete_on_termination(true)
                    .description(format!("{} ge-0-0 (public)", spec.name))
                    .build(),
            )
            .network_interfaces(
                InstanceNetworkInterfaceSpecification::builder()
                    .device_index(1)
                    .subnet_id(&vpc.private_subnet_id)
                    .groups(&vpc.security_group_id)
                    .delete_on_termination(true)
                    .description(format!("{} ge-0-1 (private)", spec.name))
                    .build(),
            )
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name(ROUTER_ROOT_DEVICE)
                    .ebs(
                        EbsBlockDevice::builder()
                            .volume_size(spec.root_volume_gb)
                            .volume_type(VolumeType::Gp3)
                            .delete_on_termination(true)
                            .build(),
                    )
                    .build(),
            );
        if !spec.instance_tags.is_empty() {
            run = run.tag_specifications(tags(ResourceType::Instance, &spec.instance_tags));
        }
        if let Some(user_data) = &spec.user_data {
            run = run.user_data(base64::engine::general_purpose::STANDARD.encode(user_data));
        }
        if spec.iam_instance_profile {
            let profile = self.router_instance_profile().await;
            run = run.iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name(profile)
                    .build(),
            );
        }
        let instance = run
            .send()
            .await
            .unwrap_or_else(|e| panic!("RunInstances router {}: {e:?}", spec.name))
            .instances
            .and_then(|mut i| i.pop())
            .expect("RunInstances returns the instance");
        let instance_id = instance
            .instance_id()
            .expect("instance has an id")
            .to_string();
        let eni_at = |index: i32| -> String {
            instance
                .network_interfaces()
                .iter()
                .find(|eni| {
                    eni.attachment()
                        .and_then(|a| a.device_index())
                        .is_some_and(|d| d == index)
                })
                .and_then(|eni| eni.network_interface_id())
                .unwrap_or_else(|| panic!("no interface at device index {index} on {instance_id}"))
                .to_string()
        };
        let wan_eni_id = eni_at(0);
        let lan_eni_id = eni_at(1);

        for (eni, role) in [(&wan_eni_id, &spec.wan_tag), (&lan_eni_id, &spec.lan_tag)] {
            if let Some(role) = role {
                self.ec2
                    .create_tags()
                    .resources(eni)
                    .tags(Tag::builder().key(SSR_ROLE_TAG).value(role).build())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("CreateTags {SSR_ROLE_TAG}={role} on {eni}: {e:?}"));
            }
        }
        for eni in [&wan_eni_id, &lan_eni_id] {
            self.set_source_dest_check(eni, spec.source_dest_check)
                .await;
        }

        let public_ip = if spec.public_ip {
            let allocation = self
                .ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .send()
                .await
                .expect("AllocateAddress");
            let allocation_id = allocation
                .allocation_id()
                .expect("AllocateAddress returns an AllocationId");
            self.ec2
                .associate_address()
                .allocation_id(allocation_id)
                .network_interface_id(&wan_eni_id)
                .send()
                .await
                .unwrap_or_else(|e| panic!("AssociateAddress to {wan_eni_id}: {e:?}"));
            allocation.public_ip().map(str::to_string)
        } else {
            None
        };

        LaunchedRouter {
            instance_id,
            wan_eni_id,
            lan_eni_id,
            public_ip,
        }
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
        self.ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .source_dest_check(AttributeBooleanValue::builder().value(value).build())
            .send()
            .await
            .unwrap_or_else(|e| panic!("ModifyNetworkInterfaceAttribute {eni_id}: {e:?}"));
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

    /// The IAM instance profile for routers (role + profile created in moto once per server;
    /// RunInstances refuses a profile moto does not know).
    async fn router_instance_profile(&self) -> &str {
        self.instance_profile
            .get_or_init(|| async {
                let trust = serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole"
                    }]
                })
                .to_string();
                let role = "ssr-router-role";
                self.iam_call(&[
                    ("Action", "CreateRole"),
                    ("RoleName", role),
                    ("AssumeRolePolicyDocument", &trust),
                ])
                .await;
                self.iam_call(&[
                    ("Action", "CreateInstanceProfile"),
                    ("InstanceProfileName", ROUTER_INSTANCE_PROFILE),
                ])
                .await;
                self.iam_call(&[
                    ("Action", "AddRoleToInstanceProfile"),
                    ("InstanceProfileName", ROUTER_INSTANCE_PROFILE),
                    ("RoleName", role),
                ])
                .await;
                ROUTER_INSTANCE_PROFILE.to_string()
            })
            .await
    }

    /// One IAM Query call to moto. The workspace has no IAM SDK (the product never calls IAM);
    /// moto routes by the credential scope of the Authorization header and checks no signature.
    async fn iam_call(&self, params: &[(&str, &str)]) -> String {
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let response = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("HTTP client")
            .post(format!("{}/", self.emulator.endpoint()))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/iam/aws4_request, \
                     SignedHeaders=host, Signature=0",
                    self.region
                ),
            )
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("IAM call {params:?}: {e}"));
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        assert!(status.is_success(), "IAM call {params:?}: {status} {text}");
        text
    }
}

fn is_read_action(action: &str) -> bool {
    ["Describe", "Get", "List"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn tags(resource: ResourceType, pairs: &[(String, String)]) -> TagSpecification {
    pairs
        .iter()
        .fold(
            TagSpecification::builder().resource_type(resource),
            |spec, (k, v)| spec.tags(Tag::builder().key(k).value(v).build()),
        )
        .build()
}

fn name_tag(resource: ResourceType, name: &str) -> TagSpecification {
    tags(resource, &[("Name".to_string(), name.to_string())])
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An EventBridge "EC2 Instance State-change Notification" shaped like
/// `tests/fixtures/ec2-state-change-running.json` (the EC2 user guide's sample), for
/// `instance_id` entering `state` (`pending`, `running`, `stopping`, `stopped`,
/// `shutting-down`, `terminated`), with a fresh event id and the current time.
pub fn ec2_state_change_event(instance_id: &str, state: &str) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(EC2_STATE_CHANGE_FIXTURE)
        .unwrap_or_else(|e| panic!("ec2-state-change-running.json is not JSON: {e}"));
    let account = event["account"].as_str().unwrap_or(ACCOUNT_ID).to_string();
    let region = event["region"].as_str().unwrap_or(REGION).to_string();
    event["id"] = serde_json::Value::from(format!(
        "2f5c8a1e-4b3d-4c61-9e7a-{:012x}",
        (u64::from(std::process::id()) << 24) | next_id()
    ));
    event["time"] =
        serde_json::Value::from(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    event["resources"] = serde_json::json!([format!(
        "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    )]);
    event["detail"]["instance-id"] = serde_json::Value::from(instance_id);
    event["detail"]["state"] = serde_json::Value::from(state);
    event
}

const EC2_STATE_CHANGE_FIXTURE: &str = include_str!("../fixtures/ec2-state-change-running.json");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_sns_envelope_parsed_then_subject_message_and_attributes() {
        let body = r#"{"Type":"Notification","MessageId":"m","TopicArn":"arn:aws:sns:us-east-1:123456789012:t","Subject":"SSR router i-1: fixed","Message":"text body","Timestamp":"2026-01-01T00:00:00.000Z","MessageAttributes":{"severity":{"Type":"String","Value":"warning"}}}"#;
        let alert = parse_sns_envelope(body);
        assert_eq!(alert.subject.as_deref(), Some("SSR router i-1: fixed"));
        assert_eq!(alert.message, "text body");
        assert_eq!(
            alert.attributes.get("severity").map(String::as_str),
            Some("warning")
        );
    }

    #[test]
    fn when_state_change_event_built_then_id_and_state_substituted() {
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
    fn when_guide_user_data_built_then_it_carries_the_onboarding_json() {
        let user_data = RouterSpec::guide_user_data("branch-1", "6.3.0", REG_CODE);
        assert!(user_data.starts_with("#cloud-config\n"));
        let json_line = user_data
            .lines()
            .find(|l| l.trim_start().starts_with('{'))
            .expect("onboarding JSON line");
        let onboarding: serde_json::Value =
            serde_json::from_str(json_line.trim()).expect("onboarding JSON parses");
        assert_eq!(onboarding["name"], "branch-1");
        assert_eq!(onboarding["registration-code"], REG_CODE);
        assert_eq!(onboarding["ssr-version"], "6.3.0");
    }

    #[test]
    fn when_form_encoding_then_reserved_characters_escaped() {
        assert_eq!(form_encode("a b/{\"x\"}"), "a%20b%2F%7B%22x%22%7D");
    }

    #[test]
    fn when_action_is_describe_get_or_list_then_read() {
        assert!(is_read_action("DescribeInstances"));
        assert!(is_read_action("GetConsoleOutput"));
        assert!(!is_read_action("ModifyNetworkInterfaceAttribute"));
        assert!(!is_read_action("CreateTags"));
    }
}
