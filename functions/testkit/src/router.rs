//! One guide-shaped router as real EC2 describes it, as `aws-smithy-mocks` rules.
//!
//! [`MockRouter::guide`] is a router launched as the SSR AWS guide says (c5.xlarge, 128 GB root
//! volume, a WAN interface at device index 0 with a public IP and a LAN interface at index 1, both
//! tagged `SSR-ROLE`, source/destination check off, ENA on, the router tag). Change fields for
//! broken variants, then [`MockRouter::rules`] gives one rule per EC2 operation, kept by name so
//! tests count calls. The rules share state: ModifyNetworkInterfaceAttribute changes what
//! DescribeNetworkInterfaces answers and ModifyInstanceAttribute what DescribeInstanceAttribute
//! `enaSupport` answers, so read-backs see the write (as on real EC2).
//!
//! ```
//! use aws_sdk_ec2::types::InstanceStateName;
//! use ssr_testkit::{MockRouter, MockUserData};
//!
//! let mut router = MockRouter::guide("i-0abc1234567890def", "SSR_1_Router");
//! router.state = InstanceStateName::Stopped;
//! router.ena_support = None;
//! router.interfaces[1].source_dest_check = Some(true);
//! router.user_data = MockUserData::Denied;
//! let rules = router.rules();
//! assert_eq!(rules.all().len(), 8);
//! // let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_volumes::DescribeVolumesOutput;
use aws_sdk_ec2::operation::modify_instance_attribute::ModifyInstanceAttributeOutput;
use aws_sdk_ec2::operation::modify_network_interface_attribute::ModifyNetworkInterfaceAttributeOutput;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, AttributeValue, EbsInstanceBlockDevice, IamInstanceProfile, Instance,
    InstanceAttributeName, InstanceBlockDeviceMapping, InstanceNetworkInterface,
    InstanceNetworkInterfaceAttachment, InstanceState, InstanceStateName, InstanceType,
    NetworkInterface, NetworkInterfaceAssociation, NetworkInterfaceAttachment, Reservation, Route,
    RouteState, RouteTable, RouteTableAssociation, Tag, Volume,
};
use aws_smithy_mocks::{mock, MockResponse, Rule};
use aws_smithy_types::DateTime;
use base64::Engine as _;

use crate::errors;

/// Tag key of an interface's role (`WAN` / `LAN`), as the SSR AWS guide names it.
pub const ROLE_TAG_KEY: &str = "SSR-ROLE";
/// Tag key marking an instance as a router (the product's default).
pub const ROUTER_TAG_KEY: &str = "SSR-ROUTER";

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

    fn describe(&self, instance_id: &str, source_dest_check: Option<bool>) -> NetworkInterface {
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

    fn instance_as(&self, instance_id: &str) -> Instance {
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

    /// One rule per EC2 operation (see [`RouterRules`]).
    pub fn rules(&self) -> RouterRules {
        let state = Arc::new(Mutex::new(Writable {
            source_dest_check: self
                .interfaces
                .iter()
                .map(|e| (e.id.clone(), e.source_dest_check))
                .collect(),
            ena_support: self.ena_support,
        }));

        let router = self.clone();
        let describe_instances = mock!(aws_sdk_ec2::Client::describe_instances)
            .then_compute_output(move |req| {
                // The router stands in for whichever instance is asked about.
                let id = req
                    .instance_ids()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| router.instance_id.clone());
                DescribeInstancesOutput::builder()
                    .reservations(
                        Reservation::builder()
                            .instances(router.instance_as(&id))
                            .build(),
                    )
                    .build()
            });

        let router = self.clone();
        let s = state.clone();
        let describe_interfaces = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
            .then_compute_output(move |req| {
                let now = lock(&s).source_dest_check.clone();
                let asked = req.network_interface_ids();
                let enis = router
                    .interfaces
                    .iter()
                    .filter(|eni| asked.is_empty() || asked.contains(&eni.id))
                    .map(|eni| {
                        eni.describe(&router.instance_id, now.get(&eni.id).copied().flatten())
                    })
                    .collect::<Vec<_>>();
                DescribeNetworkInterfacesOutput::builder()
                    .set_network_interfaces(Some(enis))
                    .build()
            });

        let instance_id = self.instance_id.clone();
        let s = state.clone();
        let ena_attribute = mock!(aws_sdk_ec2::Client::describe_instance_attribute)
            .match_requests(|r| r.attribute() == Some(&InstanceAttributeName::EnaSupport))
            .then_compute_output(move |_| {
                let on = lock(&s).ena_support.unwrap_or(false);
                DescribeInstanceAttributeOutput::builder()
                    .instance_id(&instance_id)
                    .ena_support(AttributeBooleanValue::builder().value(on).build())
                    .build()
            });

        let user_data_rule = mock!(aws_sdk_ec2::Client::describe_instance_attribute)
            .match_requests(|r| r.attribute() == Some(&InstanceAttributeName::UserData));
        let user_data = match &self.user_data {
            MockUserData::Denied => user_data_rule
                .then_http_response(|| errors::unauthorized_operation().ec2_response()),
            MockUserData::Text(_) | MockUserData::Absent => {
                let instance_id = self.instance_id.clone();
                let value = self.user_data_base64();
                user_data_rule.then_output(move || {
                    let mut b =
                        DescribeInstanceAttributeOutput::builder().instance_id(&instance_id);
                    if let Some(v) = &value {
                        b = b.user_data(AttributeValue::builder().value(v).build());
                    }
                    b.build()
                })
            }
        };

        let volumes = if self.volumes_denied {
            mock!(aws_sdk_ec2::Client::describe_volumes)
                .then_http_response(|| errors::unauthorized_operation().ec2_response())
        } else {
            let size = self.root_volume_gb;
            mock!(aws_sdk_ec2::Client::describe_volumes).then_output(move || {
                DescribeVolumesOutput::builder()
                    .volumes(Volume::builder().volume_id("vol-1").size(size).build())
                    .build()
            })
        };

        let wan_subnet = self
            .interfaces
            .iter()
            .find(|e| e.device_index == 0)
            .and_then(|e| e.subnet_id.clone());
        let route_tables =
            mock!(aws_sdk_ec2::Client::describe_route_tables).then_output(move || {
                let mut table = RouteTable::builder().route_table_id("rtb-1").routes(
                    Route::builder()
                        .destination_cidr_block("0.0.0.0/0")
                        .gateway_id("igw-1")
                        .state(RouteState::Active)
                        .build(),
                );
                if let Some(subnet) = &wan_subnet {
                    table = table
                        .associations(RouteTableAssociation::builder().subnet_id(subnet).build());
                }
                DescribeRouteTablesOutput::builder()
                    .route_tables(table.build())
                    .build()
            });

        let denied = self.modify_denied_eni.clone();
        let s = state.clone();
        let modify_interface = mock!(aws_sdk_ec2::Client::modify_network_interface_attribute)
            .then_compute_response(move |req| {
                let id = req.network_interface_id().unwrap_or_default().to_string();
                if denied.as_deref() == Some(id.as_str()) {
                    return MockResponse::Http(errors::unauthorized_operation().ec2_response());
                }
                if let Some(v) = req.source_dest_check().and_then(|v| v.value()) {
                    lock(&s).source_dest_check.insert(id, Some(v));
                }
                MockResponse::Output(ModifyNetworkInterfaceAttributeOutput::builder().build())
            });

        let s = state;
        let modify_instance = mock!(aws_sdk_ec2::Client::modify_instance_attribute)
            .then_compute_output(move |req| {
                if let Some(v) = req.ena_support().and_then(|v| v.value()) {
                    lock(&s).ena_support = Some(v);
                }
                ModifyInstanceAttributeOutput::builder().build()
            });

        RouterRules {
            describe_instances,
            describe_interfaces,
            ena_attribute,
            user_data,
            volumes,
            route_tables,
            modify_interface,
            modify_instance,
        }
    }
}

/// What the mocked writes change.
#[derive(Debug)]
struct Writable {
    source_dest_check: BTreeMap<String, Option<bool>>,
    ena_support: Option<bool>,
}

fn lock(state: &Mutex<Writable>) -> std::sync::MutexGuard<'_, Writable> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The EC2 rules of one [`MockRouter`], by operation, for call counting.
///
/// DescribeInstances answers for whichever instance id is asked (the router stands in for it);
/// DescribeNetworkInterfaces honours `NetworkInterfaceIds` (the read-back) and ignores filters;
/// DescribeInstanceAttribute has one rule per attribute (`userData`, `enaSupport`); the route
/// table `rtb-1` is associated with the WAN subnet and routes `0.0.0.0/0` to `igw-1`.
#[derive(Clone)]
pub struct RouterRules {
    pub describe_instances: Rule,
    pub describe_interfaces: Rule,
    pub ena_attribute: Rule,
    pub user_data: Rule,
    pub volumes: Rule,
    pub route_tables: Rule,
    pub modify_interface: Rule,
    pub modify_instance: Rule,
}

impl RouterRules {
    /// Every rule, for `mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all())`.
    pub fn all(&self) -> Vec<&Rule> {
        vec![
            &self.describe_instances,
            &self.describe_interfaces,
            &self.ena_attribute,
            &self.user_data,
            &self.volumes,
            &self.route_tables,
            &self.modify_instance,
            &self.modify_interface,
        ]
    }

    /// `first` ahead of every rule: with `RuleMode::MatchAny` the first matching rule that is not
    /// exhausted answers, so `first` overrides the router until it runs out.
    pub fn after<'a>(&'a self, first: &[&'a Rule]) -> Vec<&'a Rule> {
        let mut rules = first.to_vec();
        rules.extend(self.all());
        rules
    }

    /// Every rule but `left_out` (compared by identity): a call to a left-out operation makes the
    /// mock client panic, which shows the handler did not make it.
    pub fn without(&self, left_out: &[&Rule]) -> Vec<&Rule> {
        self.all()
            .into_iter()
            .filter(|r| !left_out.iter().any(|l| std::ptr::eq(*l, *r)))
            .collect()
    }
}

/// The guide's "Cloud-init Onboarding" user data (plain text): the onboarding JSON written to
/// `/etc/128T-hardware-bootstrapper/onboarding-config.json`. Written out here independently of
/// the product's parser so the tests check it against the guide, not against itself.
pub fn guide_user_data(name: &str, ssr_version: &str, registration_code: &str) -> String {
    format!(
        "#cloud-config\nwrite_files:\n  - path: /etc/128T-hardware-bootstrapper/onboarding-config.json\n    content: |\n      {{ \"name\": \"{name}\", \"ssr-version\": \"{ssr_version}\", \"registration-code\": \"{registration_code}\", \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\"}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::error::ProvideErrorMetadata as _;
    use aws_smithy_mocks::{mock_client, RuleMode};

    const ID: &str = "i-0abc1234567890def";

    #[tokio::test]
    async fn when_interface_modified_then_read_back_sees_the_write_and_only_asked_ids() {
        let mut router = MockRouter::guide(ID, "r");
        router.interfaces[1].source_dest_check = Some(true);
        let rules = router.rules();
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
        ec2.modify_network_interface_attribute()
            .network_interface_id("eni-lan")
            .source_dest_check(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await
            .expect("modify");
        let back = ec2
            .describe_network_interfaces()
            .network_interface_ids("eni-lan")
            .send()
            .await
            .expect("describe");
        assert_eq!(back.network_interfaces().len(), 1);
        assert_eq!(
            back.network_interfaces()[0].source_dest_check(),
            Some(false)
        );
        let all = ec2
            .describe_network_interfaces()
            .send()
            .await
            .expect("describe");
        assert_eq!(all.network_interfaces().len(), 2);
        assert_eq!(
            all.network_interfaces()[0].tag_set()[0].value(),
            Some("WAN")
        );
        assert_eq!(rules.modify_interface.num_calls(), 1);
        assert_eq!(rules.describe_interfaces.num_calls(), 2);
    }

    #[tokio::test]
    async fn when_ena_enabled_then_attribute_reads_true() {
        let mut router = MockRouter::guide(ID, "r");
        router.ena_support = None;
        let rules = router.rules();
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
        let read = || async {
            ec2.describe_instance_attribute()
                .instance_id(ID)
                .attribute(InstanceAttributeName::EnaSupport)
                .send()
                .await
                .expect("read")
                .ena_support()
                .and_then(|v| v.value())
        };
        assert_eq!(read().await, Some(false));
        ec2.modify_instance_attribute()
            .instance_id(ID)
            .ena_support(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .expect("modify");
        assert_eq!(read().await, Some(true));
    }

    #[tokio::test]
    async fn when_user_data_set_or_denied_then_base64_or_unauthorized() {
        let mut router = MockRouter::guide(ID, "r");
        router.user_data = MockUserData::Text(guide_user_data("r", "6.3.0", "CODE"));
        let rules = router.rules();
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
        let out = ec2
            .describe_instance_attribute()
            .instance_id(ID)
            .attribute(InstanceAttributeName::UserData)
            .send()
            .await
            .expect("read");
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(out.user_data().and_then(|v| v.value()).expect("value"))
            .expect("base64");
        assert!(String::from_utf8_lossy(&decoded).contains("\"registration-code\": \"CODE\""));

        router.user_data = MockUserData::Denied;
        let rules = router.rules();
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
        let err = ec2
            .describe_instance_attribute()
            .instance_id(ID)
            .attribute(InstanceAttributeName::UserData)
            .send()
            .await
            .expect_err("denied");
        assert_eq!(err.code(), Some("UnauthorizedOperation"));
    }

    #[tokio::test]
    async fn when_eni_modify_denied_then_that_eni_fails_and_keeps_its_value() {
        let mut router = MockRouter::guide(ID, "r");
        router.interfaces[0].source_dest_check = Some(true);
        router.modify_denied_eni = Some("eni-wan".into());
        let rules = router.rules();
        let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
        let err = ec2
            .modify_network_interface_attribute()
            .network_interface_id("eni-wan")
            .source_dest_check(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await
            .expect_err("denied");
        assert_eq!(err.code(), Some("UnauthorizedOperation"));
        let back = ec2
            .describe_network_interfaces()
            .network_interface_ids("eni-wan")
            .send()
            .await
            .expect("describe");
        assert_eq!(back.network_interfaces()[0].source_dest_check(), Some(true));
    }

    #[test]
    fn when_rules_left_out_then_only_those_are_missing() {
        let rules = MockRouter::guide(ID, "r").rules();
        let without = rules.without(&[&rules.route_tables]);
        assert_eq!(without.len(), rules.all().len() - 1);
        assert!(!without
            .iter()
            .any(|r| std::ptr::eq(*r, &rules.route_tables)));
        let extra = rules.volumes.clone();
        assert_eq!(rules.after(&[&extra]).len(), rules.all().len() + 1);
    }

    #[test]
    fn when_instance_described_then_guide_shape() {
        let i = MockRouter::guide(ID, "SSR_1_Router").instance();
        assert_eq!(i.instance_id(), Some(ID));
        assert_eq!(i.instance_type(), Some(&InstanceType::C5Xlarge));
        assert_eq!(i.ena_support(), Some(true));
        assert_eq!(i.root_device_name(), Some("/dev/sda1"));
        assert_eq!(i.network_interfaces().len(), 2);
        let tags: Vec<_> = i.tags().iter().filter_map(|t| t.key()).collect();
        assert_eq!(tags, vec!["Name", ROUTER_TAG_KEY]);
    }
}
