//! The mocked router ([`MockRouter`], its interfaces [`MockEni`], its user data
//! [`MockUserData`]) and the EC2 shapes it describes itself as.

use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::types::{
    EbsInstanceBlockDevice, IamInstanceProfile, Instance, InstanceBlockDeviceMapping,
    InstanceNetworkInterface, InstanceNetworkInterfaceAttachment, InstanceState, InstanceStateName,
    InstanceType, NetworkInterface, NetworkInterfaceAssociation, NetworkInterfaceAttachment,
    Reservation, Tag,
};
use aws_smithy_types::DateTime;
use base64::Engine as _;

use super::{ROLE_TAG_KEY, ROUTER_TAG_KEY};

/// One network interface of the mocked router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockEni {
    pub id: String,
    pub device_index: i32,
    /// `SSR-ROLE` tag value; `None` = untagged.
    pub role: Option<String>,
    /// `SourceDestCheck` as DescribeNetworkInterfaces reports it (`None` = omitted).
    pub source_dest_check: Option<bool>,
    pub subnet_id: Option<String>,
    pub private_ip: String,
    pub mac: String,
    /// Public IP of the association (`None` = no public IP).
    pub public_ip: Option<String>,
    pub attachment_id: Option<String>,
}

impl MockEni {
    /// Interface `index` of a guide router: subnet `subnet-<index>`, IP `10.0.<index+1>.10`,
    /// MAC `0a:00:00:00:00:0<index>`, the public IP `203.0.113.10` on device 0, source/dest
    /// check off.
    pub fn guide(id: &str, index: i32, role: Option<&str>) -> MockEni {
        MockEni {
            id: id.to_string(),
            device_index: index,
            role: role.map(str::to_string),
            source_dest_check: Some(false),
            subnet_id: Some(format!("subnet-{index}")),
            private_ip: format!("10.0.{}.10", index + 1),
            mac: format!("0a:00:00:00:00:0{index}"),
            public_ip: (index == 0).then(|| "203.0.113.10".to_string()),
            attachment_id: None,
        }
    }

    pub(super) fn describe(
        &self,
        instance_id: &str,
        source_dest_check: Option<bool>,
    ) -> NetworkInterface {
        let mut attachment = NetworkInterfaceAttachment::builder()
            .instance_id(instance_id)
            .device_index(self.device_index);
        if let Some(id) = &self.attachment_id {
            attachment = attachment.attachment_id(id);
        }
        let mut b = NetworkInterface::builder()
            .network_interface_id(&self.id)
            .set_subnet_id(self.subnet_id.clone())
            .private_ip_address(&self.private_ip)
            .mac_address(&self.mac)
            .set_source_dest_check(source_dest_check)
            .attachment(attachment.build());
        if let Some(ip) = &self.public_ip {
            b = b.association(NetworkInterfaceAssociation::builder().public_ip(ip).build());
        }
        if let Some(role) = &self.role {
            b = b.tag_set(Tag::builder().key(ROLE_TAG_KEY).value(role).build());
        }
        b.build()
    }
}

/// What DescribeInstanceAttribute `userData` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockUserData {
    /// This plain text (EC2 returns it base64-encoded; the rule encodes it).
    Text(String),
    /// The instance has no user data (the attribute has no value).
    Absent,
    /// IAM denies the read: `403 UnauthorizedOperation`.
    Denied,
}

/// A router as real EC2 describes it. Fields set to `None` are left out of the answers.
#[derive(Debug, Clone, PartialEq)]
pub struct MockRouter {
    pub instance_id: String,
    /// The `Name` tag.
    pub name: String,
    pub state: InstanceStateName,
    pub instance_type: Option<InstanceType>,
    /// `EnaSupport` in DescribeInstances and the `enaSupport` attribute (`None`: omitted from
    /// DescribeInstances, `false` from the attribute, as for an old AMI).
    pub ena_support: Option<bool>,
    pub vpc_id: Option<String>,
    /// Root device name, with volume `vol-1` mapped to it; `None` = no root device.
    pub root_device: Option<String>,
    /// DescribeVolumes size of `vol-1`.
    pub root_volume_gb: i32,
    /// DescribeVolumes answers `403 UnauthorizedOperation`.
    pub volumes_denied: bool,
    pub iam_instance_profile_arn: Option<String>,
    /// Launch time, epoch seconds.
    pub launch_time: Option<i64>,
    pub key_name: Option<String>,
    /// Instance tags besides `Name` (the guide's router tag by default).
    pub tags: Vec<(String, String)>,
    pub interfaces: Vec<MockEni>,
    pub user_data: MockUserData,
    /// ModifyNetworkInterfaceAttribute on this interface answers `403 UnauthorizedOperation`.
    pub modify_denied_eni: Option<String>,
}

impl MockRouter {
    /// A router set up as the guide says (see the module documentation), with no user data.
    pub fn guide(instance_id: &str, name: &str) -> MockRouter {
        MockRouter {
            instance_id: instance_id.to_string(),
            name: name.to_string(),
            state: InstanceStateName::Running,
            instance_type: Some(InstanceType::C5Xlarge),
            ena_support: Some(true),
            vpc_id: Some("vpc-1".to_string()),
            root_device: Some("/dev/sda1".to_string()),
            root_volume_gb: 128,
            volumes_denied: false,
            iam_instance_profile_arn: Some(
                "arn:aws:iam::123456789012:instance-profile/ssr".to_string(),
            ),
            launch_time: None,
            key_name: None,
            tags: vec![(ROUTER_TAG_KEY.to_string(), "true".to_string())],
            interfaces: vec![
                MockEni::guide("eni-wan", 0, Some("WAN")),
                MockEni::guide("eni-lan", 1, Some("LAN")),
            ],
            user_data: MockUserData::Absent,
            modify_denied_eni: None,
        }
    }

    /// The instance as DescribeInstances returns it (interfaces without tags, as EC2 does).
    pub fn instance(&self) -> Instance {
        self.instance_as(&self.instance_id)
    }

    pub(super) fn instance_as(&self, instance_id: &str) -> Instance {
        let mut b = Instance::builder()
            .instance_id(instance_id)
            .state(InstanceState::builder().name(self.state.clone()).build())
            .set_instance_type(self.instance_type.clone())
            .set_ena_support(self.ena_support)
            .set_vpc_id(self.vpc_id.clone())
            .set_key_name(self.key_name.clone())
            .set_launch_time(self.launch_time.map(DateTime::from_secs))
            .tags(Tag::builder().key("Name").value(&self.name).build());
        for (k, v) in &self.tags {
            b = b.tags(Tag::builder().key(k).value(v).build());
        }
        if let Some(arn) = &self.iam_instance_profile_arn {
            b = b.iam_instance_profile(IamInstanceProfile::builder().arn(arn).build());
        }
        if let Some(root) = &self.root_device {
            b = b.root_device_name(root).block_device_mappings(
                InstanceBlockDeviceMapping::builder()
                    .device_name(root)
                    .ebs(EbsInstanceBlockDevice::builder().volume_id("vol-1").build())
                    .build(),
            );
        }
        for eni in &self.interfaces {
            b = b.network_interfaces(
                InstanceNetworkInterface::builder()
                    .network_interface_id(&eni.id)
                    .attachment(
                        InstanceNetworkInterfaceAttachment::builder()
                            .device_index(eni.device_index)
                            .build(),
                    )
                    .build(),
            );
        }
        b.build()
    }

    /// DescribeInstances' answer: one reservation with [`MockRouter::instance`].
    pub fn describe_instances_output(&self) -> DescribeInstancesOutput {
        DescribeInstancesOutput::builder()
            .reservations(Reservation::builder().instances(self.instance()).build())
            .build()
    }

    /// The interfaces as DescribeNetworkInterfaces returns them now.
    pub fn describe_interfaces(&self) -> Vec<NetworkInterface> {
        self.interfaces
            .iter()
            .map(|eni| eni.describe(&self.instance_id, eni.source_dest_check))
            .collect()
    }

    /// The user data as DescribeInstanceAttribute returns it (base64), if any.
    pub fn user_data_base64(&self) -> Option<String> {
        match &self.user_data {
            MockUserData::Text(text) => {
                Some(base64::engine::general_purpose::STANDARD.encode(text))
            }
            MockUserData::Absent | MockUserData::Denied => None,
        }
    }
}
