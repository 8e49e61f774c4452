//! Builders for the AWS shapes the SSR AWS guide describes, inside an [`Emulator`]: the guide's
//! VPC (public subnet routed to an internet gateway, private subnet), routers with a WAN and a
//! LAN interface, an alert topic whose messages land in an SQS queue, the state table.
//!
//! Shared by the CLI's `demo` command and the integration-test harness (which wraps these in
//! panicking helpers), so both build the same world. Fallible: every error names the step.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, BlockDeviceMapping, DomainType, EbsBlockDevice,
    IamInstanceProfileSpecification, InstanceNetworkInterfaceSpecification, InstanceType,
    ResourceType, Tag, TagSpecification, VolumeType,
};
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine as _;
use tokio::sync::OnceCell;

use ssr_core::aws::AwsError;
use ssr_core::config::{DEFAULT_ROUTER_TAG_KEY, ROLE_TAG_KEY};

use crate::moto::Emulator;

/// A recognisable fake Mist registration code. It is a secret in production: the tests and the
/// demo check that it never shows up in alerts, logs or outcomes.
pub const FAKE_REG_CODE: &str = "SSRTEST-REGCODE-7f3c9e2a4b1d-DO-NOT-LEAK";

/// SSR version used in the guide-shaped user data.
pub const GUIDE_SSR_VERSION: &str = "6.3.0";

/// A Linux AMI from moto's built-in list (RHEL 7.4, the SSR BYOL image is RHEL-family), root
/// device `/dev/sda1`. Stands in for the SSR AMI.
pub const ROUTER_AMI: &str = "ami-bb9a6bc2";

/// Root device name of [`ROUTER_AMI`].
pub const ROUTER_ROOT_DEVICE: &str = "/dev/sda1";

/// Name of the IAM instance profile created for routers.
pub const ROUTER_INSTANCE_PROFILE: &str = "ssr-router-profile";

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
    /// Plain-text user data (base64-encoded at launch); `None` = no user data.
    pub user_data: Option<String>,
    pub instance_tags: Vec<(String, String)>,
    /// Attach the [`ROUTER_INSTANCE_PROFILE`] instance profile.
    pub iam_instance_profile: bool,
    /// Allocate an Elastic IP and associate it with the WAN interface.
    pub public_ip: bool,
}

impl RouterSpec {
    /// A router launched as the guide describes, named `name`, onboarding with [`FAKE_REG_CODE`].
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
                FAKE_REG_CODE,
            )),
            instance_tags: vec![
                ("Name".to_string(), name.to_string()),
                (DEFAULT_ROUTER_TAG_KEY.to_string(), "true".to_string()),
            ],
            iam_instance_profile: true,
            public_ip: true,
        }
    }

    /// The guide's "Cloud-init Onboarding" user data.
    pub fn guide_user_data(name: &str, ssr_version: &str, registration_code: &str) -> String {
        ssr_core::onboarding_config::guide_user_data(name, ssr_version, registration_code)
    }
}

impl Default for RouterSpec {
    fn default() -> Self {
        RouterSpec::guide("ssr-router-1")
    }
}

/// What [`Sandbox::launch_router`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaunchedRouter {
    pub instance_id: String,
    pub wan_eni_id: String,
    pub lan_eni_id: String,
    pub public_ip: Option<String>,
}

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

    /// Creates the DynamoDB state table: partition key `pk` (String), on-demand billing.
    pub async fn create_state_table(&self, name: &str) -> Result<(), SandboxError> {
        let step = format!("creating state table {name}");
        let attr = AttributeDefinition::builder()
            .attribute_name("pk")
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(|_| missing(&step, "a valid attribute definition"))?;
        let key = KeySchemaElement::builder()
            .attribute_name("pk")
            .key_type(KeyType::Hash)
            .build()
            .map_err(|_| missing(&step, "a valid key schema"))?;
        self.dynamodb
            .create_table()
            .table_name(name)
            .attribute_definitions(attr)
            .key_schema(key)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await
            .map_err(aws(step, "CreateTable"))?;
        Ok(())
    }

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

    /// Builds the guide's network (see [`GuideVpc`]).
    pub async fn guide_vpc(&self) -> Result<GuideVpc, SandboxError> {
        let step = "building the guide's VPC";
        let vpc_id = self
            .ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .tag_specifications(name_tag(ResourceType::Vpc, "ssr-vpc"))
            .send()
            .await
            .map_err(aws(step, "CreateVpc"))?
            .vpc
            .and_then(|v| v.vpc_id)
            .ok_or_else(|| missing(step, "VpcId"))?;
        let az = format!("{}a", self.region);
        let public_subnet_id = self
            .create_subnet(&vpc_id, "10.0.1.0/24", &az, "ssr-public")
            .await?;
        let private_subnet_id = self
            .create_subnet(&vpc_id, "10.0.2.0/24", &az, "ssr-private")
            .await?;
        let igw_id = self
            .ec2
            .create_internet_gateway()
            .tag_specifications(name_tag(ResourceType::InternetGateway, "ssr-igw"))
            .send()
            .await
            .map_err(aws(step, "CreateInternetGateway"))?
            .internet_gateway
            .and_then(|g| g.internet_gateway_id)
            .ok_or_else(|| missing(step, "InternetGatewayId"))?;
        self.ec2
            .attach_internet_gateway()
            .internet_gateway_id(&igw_id)
            .vpc_id(&vpc_id)
            .send()
            .await
            .map_err(aws(step, "AttachInternetGateway"))?;
        let public_route_table_id = self
            .ec2
            .create_route_table()
            .vpc_id(&vpc_id)
            .tag_specifications(name_tag(ResourceType::RouteTable, "ssr-public"))
            .send()
            .await
            .map_err(aws(step, "CreateRouteTable"))?
            .route_table
            .and_then(|t| t.route_table_id)
            .ok_or_else(|| missing(step, "RouteTableId"))?;
        self.ec2
            .create_route()
            .route_table_id(&public_route_table_id)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw_id)
            .send()
            .await
            .map_err(aws(step, "CreateRoute"))?;
        self.ec2
            .associate_route_table()
            .route_table_id(&public_route_table_id)
            .subnet_id(&public_subnet_id)
            .send()
            .await
            .map_err(aws(step, "AssociateRouteTable"))?;
        let security_group_id = self
            .ec2
            .create_security_group()
            .group_name(format!("ssr-router-{}", next_id()))
            .description("SSR router interfaces")
            .vpc_id(&vpc_id)
            .send()
            .await
            .map_err(aws(step, "CreateSecurityGroup"))?
            .group_id
            .ok_or_else(|| missing(step, "GroupId"))?;
        Ok(GuideVpc {
            vpc_id,
            public_subnet_id,
            private_subnet_id,
            igw_id,
            public_route_table_id,
            security_group_id,
        })
    }

    async fn create_subnet(
        &self,
        vpc_id: &str,
        cidr: &str,
        az: &str,
        name: &str,
    ) -> Result<String, SandboxError> {
        let step = format!("creating subnet {cidr}");
        self.ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(cidr)
            .availability_zone(az)
            .tag_specifications(name_tag(ResourceType::Subnet, name))
            .send()
            .await
            .map_err(aws(step.clone(), "CreateSubnet"))?
            .subnet
            .and_then(|s| s.subnet_id)
            .ok_or_else(|| missing(step, "SubnetId"))
    }

    /// Launches a router as the guide describes: one instance with two interfaces created at
    /// launch (device 0 in the public subnet = WAN, device 1 in the private subnet = LAN), the
    /// instance tags, the user data and the root volume size from `spec`; then tags the
    /// interfaces `SSR-ROLE` with CreateTags (moto drops network-interface TagSpecifications of
    /// RunInstances), sets each interface's SourceDestCheck with ModifyNetworkInterfaceAttribute,
    /// and associates an Elastic IP with the WAN interface when `spec.public_ip`.
    pub async fn launch_router(
        &self,
        vpc: &GuideVpc,
        spec: &RouterSpec,
    ) -> Result<LaunchedRouter, SandboxError> {
        let step = format!("launching router {}", spec.name);
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
            let profile = self.router_instance_profile().await?;
            run = run.iam_instance_profile(
                IamInstanceProfileSpecification::builder()
                    .name(profile)
                    .build(),
            );
        }
        let instance = run
            .send()
            .await
            .map_err(aws(step.clone(), "RunInstances"))?
            .instances
            .and_then(|mut i| i.pop())
            .ok_or_else(|| missing(&step, "the instance"))?;
        let instance_id = instance
            .instance_id()
            .ok_or_else(|| missing(&step, "InstanceId"))?
            .to_string();
        let eni_at = |index: i32| -> Result<String, SandboxError> {
            instance
                .network_interfaces()
                .iter()
                .find(|eni| {
                    eni.attachment()
                        .and_then(|a| a.device_index())
                        .is_some_and(|d| d == index)
                })
                .and_then(|eni| eni.network_interface_id())
                .map(str::to_string)
                .ok_or_else(|| missing(&step, "an interface per device index"))
        };
        let wan_eni_id = eni_at(0)?;
        let lan_eni_id = eni_at(1)?;

        for (eni, role) in [(&wan_eni_id, &spec.wan_tag), (&lan_eni_id, &spec.lan_tag)] {
            if let Some(role) = role {
                self.tag(eni, ROLE_TAG_KEY, role).await?;
            }
        }
        for eni in [&wan_eni_id, &lan_eni_id] {
            self.set_source_dest_check(eni, spec.source_dest_check)
                .await?;
        }

        let public_ip = if spec.public_ip {
            let allocation = self
                .ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .send()
                .await
                .map_err(aws(step.clone(), "AllocateAddress"))?;
            let allocation_id = allocation
                .allocation_id()
                .ok_or_else(|| missing(&step, "AllocationId"))?;
            self.ec2
                .associate_address()
                .allocation_id(allocation_id)
                .network_interface_id(&wan_eni_id)
                .send()
                .await
                .map_err(aws(step.clone(), "AssociateAddress"))?;
            allocation.public_ip().map(str::to_string)
        } else {
            None
        };

        Ok(LaunchedRouter {
            instance_id,
            wan_eni_id,
            lan_eni_id,
            public_ip,
        })
    }

    /// Tags one resource (CreateTags).
    pub async fn tag(&self, resource: &str, key: &str, value: &str) -> Result<(), SandboxError> {
        self.ec2
            .create_tags()
            .resources(resource)
            .tags(Tag::builder().key(key).value(value).build())
            .send()
            .await
            .map_err(aws(
                format!("tagging {resource} {key}={value}"),
                "CreateTags",
            ))?;
        Ok(())
    }

    /// Sets SourceDestCheck on one interface (ModifyNetworkInterfaceAttribute).
    pub async fn set_source_dest_check(
        &self,
        eni_id: &str,
        value: bool,
    ) -> Result<(), SandboxError> {
        self.ec2
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .source_dest_check(AttributeBooleanValue::builder().value(value).build())
            .send()
            .await
            .map_err(aws(
                format!("setting SourceDestCheck={value} on {eni_id}"),
                "ModifyNetworkInterfaceAttribute",
            ))?;
        Ok(())
    }

    /// The IAM instance profile for routers (role + profile created in moto once per sandbox;
    /// RunInstances refuses a profile moto does not know).
    async fn router_instance_profile(&self) -> Result<&str, SandboxError> {
        self.instance_profile
            .get_or_try_init(|| async {
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
                .await?;
                self.iam_call(&[
                    ("Action", "CreateInstanceProfile"),
                    ("InstanceProfileName", ROUTER_INSTANCE_PROFILE),
                ])
                .await?;
                self.iam_call(&[
                    ("Action", "AddRoleToInstanceProfile"),
                    ("InstanceProfileName", ROUTER_INSTANCE_PROFILE),
                    ("RoleName", role),
                ])
                .await?;
                Ok(ROUTER_INSTANCE_PROFILE.to_string())
            })
            .await
            .map(String::as_str)
    }

    /// One IAM Query call to moto. The workspace has no IAM SDK (the product never calls IAM);
    /// moto routes by the credential scope of the Authorization header and checks no signature.
    async fn iam_call(&self, params: &[(&str, &str)]) -> Result<String, SandboxError> {
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let response = self
            .http
            .post(format!("{}/", self.endpoint))
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
            .map_err(|e| SandboxError::Iam {
                action: action.clone(),
                detail: e.to_string(),
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(text)
        } else {
            Err(SandboxError::Iam {
                action,
                detail: format!("HTTP {status}: {text}"),
            })
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

/// `application/x-www-form-urlencoded` value encoding (RFC 3986 unreserved kept).
pub fn form_encode(s: &str) -> String {
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

/// The EC2 user guide's state-change sample, as committed in tests/fixtures.
const EC2_STATE_CHANGE_FIXTURE: &str =
    include_str!("../../../tests/fixtures/ec2-state-change-running.json");

/// An EventBridge "EC2 Instance State-change Notification" shaped like
/// `tests/fixtures/ec2-state-change-running.json` (the EC2 user guide's sample), for
/// `instance_id` entering `state` (`pending`, `running`, `stopping`, `stopped`,
/// `shutting-down`, `terminated`), with a fresh event id and the current time.
pub fn ec2_state_change_event(instance_id: &str, state: &str) -> serde_json::Value {
    // The fixture is a compile-time constant checked by a test; a broken one yields an event
    // the handler rejects as malformed rather than a panic here.
    let mut event: serde_json::Value =
        serde_json::from_str(EC2_STATE_CHANGE_FIXTURE).unwrap_or_default();
    let account = event["account"].as_str().unwrap_or(ACCOUNT_ID).to_string();
    let region = event["region"].as_str().unwrap_or("us-east-1").to_string();
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

/// EventBridge's "Scheduled Event" sample, as committed in tests/fixtures.
const SCHEDULED_FIXTURE: &str = include_str!("../../../tests/fixtures/scheduled-event.json");

/// The scheduled-event fixture (`tests/fixtures/scheduled-event.json`) firing at `at`, with a
/// fresh id: what EventBridge sends the onboarding-watchdog every minute.
pub fn scheduled_event(at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(SCHEDULED_FIXTURE).unwrap_or_default();
    event["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    event["id"] = format!("53dc4d37-cffa-4f76-80c9-{:012x}", next_id()).into();
    event
}

/// A process-unique number for resource names.
pub fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
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
