//! Routers launched as the guide describes ([`RouterSpec`] → [`Sandbox::launch_router`]), and
//! the interface writes (tags, SourceDestCheck) a launch is made of.

use aws_sdk_ec2::types::{
    AttributeBooleanValue, BlockDeviceMapping, DomainType, EbsBlockDevice,
    IamInstanceProfileSpecification, InstanceNetworkInterfaceSpecification, InstanceType,
    ResourceType, Tag, VolumeType,
};
use base64::Engine as _;

use ssr_core::config::{DEFAULT_ROUTER_TAG_KEY, ROLE_TAG_KEY};

use super::{aws, missing, tags, GuideVpc, Sandbox, SandboxError};

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

impl Sandbox {
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
}
