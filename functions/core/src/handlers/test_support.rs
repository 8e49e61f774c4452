//! Test support: `aws-smithy-mocks` rules that replay what real EC2 answers for a router launched
//! like the guide, and a `Deps` built from mock clients.

use std::collections::HashMap;

use aws_sdk_ec2::error::ErrorMetadata;
use aws_sdk_ec2::operation::describe_instance_attribute::DescribeInstanceAttributeOutput;
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::operation::describe_route_tables::DescribeRouteTablesOutput;
use aws_sdk_ec2::operation::describe_volumes::{DescribeVolumesError, DescribeVolumesOutput};
use aws_sdk_ec2::operation::modify_network_interface_attribute::ModifyNetworkInterfaceAttributeOutput;
use aws_sdk_ec2::types::{
    AttributeValue, EbsInstanceBlockDevice, IamInstanceProfile, Instance,
    InstanceBlockDeviceMapping, InstanceState, InstanceStateName, InstanceType, NetworkInterface,
    NetworkInterfaceAssociation, NetworkInterfaceAttachment, Reservation, Route, RouteState,
    RouteTable, RouteTableAssociation, Tag, Volume,
};
use aws_smithy_mocks::{mock, Rule};
use base64::Engine;

use crate::config::Config;
use crate::deps::{Clients, Deps};

/// A fake Mist registration code: it must never appear in any output.
pub const REG_CODE: &str = "REG-7f3a9c1e5b2d-DO-NOT-LEAK";
pub const INSTANCE_ID: &str = "i-abcd1111";

/// What the mocked router looks like.
#[derive(Clone, Debug)]
pub struct Router {
    pub instance_id: String,
    /// Source/destination check on the LAN interface (true = the guard must fix it).
    pub lan_source_dest_check: bool,
    /// The LAN interface carries `SSR-ROLE=LAN` (false = findings the guard cannot fix).
    pub lan_role_tag: bool,
    /// DescribeVolumes answers AuthFailure (an AWS error mid-way that is not an IAM denial,
    /// which would only degrade to a NOT_CHECKED finding).
    pub volumes_denied: bool,
    /// No rule for DescribeRouteTables: the mock client panics when it is called.
    pub no_route_rule: bool,
}

impl Default for Router {
    fn default() -> Self {
        Router {
            instance_id: INSTANCE_ID.into(),
            lan_source_dest_check: false,
            lan_role_tag: true,
            volumes_denied: false,
            no_route_rule: false,
        }
    }
}

pub fn user_data(name: &str) -> String {
    let text = format!(
        "#cloud-config\nwrite_files:\n  - path: /etc/128T-hardware-bootstrapper/onboarding-config.json\n    content: |\n      {{ \"name\": \"{name}\", \"ssr-version\": \"6.3.0-107.r1\", \"registration-code\": \"{REG_CODE}\", \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\"}}\n"
    );
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn eni(r: &Router, id: &str, index: i32, role: Option<&str>, sdc: bool) -> NetworkInterface {
    let mut b = NetworkInterface::builder()
        .network_interface_id(id)
        .attachment(
            NetworkInterfaceAttachment::builder()
                .device_index(index)
                .instance_id(&r.instance_id)
                .attachment_id(format!("eni-attach-{index}"))
                .build(),
        )
        .subnet_id(format!("subnet-{index}"))
        .private_ip_address(format!("10.0.{}.10", index + 1))
        .mac_address(format!("0a:00:00:00:00:0{index}"))
        .source_dest_check(sdc);
    if index == 0 {
        b = b.association(
            NetworkInterfaceAssociation::builder()
                .public_ip("203.0.113.10")
                .build(),
        );
    }
    if let Some(role) = role {
        b = b.tag_set(Tag::builder().key("SSR-ROLE").value(role).build());
    }
    b.build()
}

/// The EC2 rules of one guard run, kept by name so tests can count calls.
pub struct Ec2Rules {
    pub describe_instances: Rule,
    pub interfaces: Rule,
    pub user_data: Rule,
    pub volumes: Rule,
    pub routes: Rule,
    pub modify_eni: Rule,
    routes_omitted: bool,
}

impl Ec2Rules {
    pub fn all(&self) -> Vec<&Rule> {
        let mut v = vec![
            &self.describe_instances,
            &self.interfaces,
            &self.user_data,
            &self.volumes,
            &self.modify_eni,
        ];
        if !self.routes_omitted {
            v.push(&self.routes);
        }
        v
    }

    pub fn new(r: &Router) -> Self {
        let router = r.clone();
        let describe_instances = mock!(aws_sdk_ec2::Client::describe_instances)
            .then_compute_output(move |req| {
                let id = req
                    .instance_ids()
                    .first()
                    .cloned()
                    .unwrap_or_else(|| router.instance_id.clone());
                DescribeInstancesOutput::builder()
                    .reservations(
                        Reservation::builder()
                            .instances(
                                Instance::builder()
                                    .instance_id(id)
                                    .state(
                                        InstanceState::builder()
                                            .name(InstanceStateName::Running)
                                            .build(),
                                    )
                                    .instance_type(InstanceType::C5Xlarge)
                                    .tags(Tag::builder().key("Name").value("ssr-router-1").build())
                                    .tags(Tag::builder().key("SSR-ROUTER").value("true").build())
                                    .iam_instance_profile(
                                        IamInstanceProfile::builder()
                                            .arn("arn:aws:iam::123456789012:instance-profile/ssr")
                                            .build(),
                                    )
                                    .ena_support(true)
                                    .vpc_id("vpc-1")
                                    .root_device_name("/dev/sda1")
                                    .block_device_mappings(
                                        InstanceBlockDeviceMapping::builder()
                                            .device_name("/dev/sda1")
                                            .ebs(
                                                EbsInstanceBlockDevice::builder()
                                                    .volume_id("vol-1")
                                                    .build(),
                                            )
                                            .build(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let router = r.clone();
        let interfaces = mock!(aws_sdk_ec2::Client::describe_network_interfaces)
            .then_compute_output(move |req| {
                let wan = eni(&router, "eni-wan", 0, Some("WAN"), false);
                let lan_role = router.lan_role_tag.then_some("LAN");
                if !req.network_interface_ids().is_empty() {
                    // Read-back after a fix: the write took.
                    return DescribeNetworkInterfacesOutput::builder()
                        .network_interfaces(eni(&router, "eni-lan", 1, lan_role, false))
                        .build();
                }
                DescribeNetworkInterfacesOutput::builder()
                    .network_interfaces(wan)
                    .network_interfaces(eni(
                        &router,
                        "eni-lan",
                        1,
                        lan_role,
                        router.lan_source_dest_check,
                    ))
                    .build()
            });
        let user_data = mock!(aws_sdk_ec2::Client::describe_instance_attribute).then_output(|| {
            DescribeInstanceAttributeOutput::builder()
                .user_data(
                    AttributeValue::builder()
                        .value(user_data("ssr-router-1"))
                        .build(),
                )
                .build()
        });
        let volumes = if r.volumes_denied {
            mock!(aws_sdk_ec2::Client::describe_volumes).then_error(|| {
                DescribeVolumesError::generic(
                    ErrorMetadata::builder()
                        .code("AuthFailure")
                        .message("AWS was not able to validate the provided access credentials")
                        .build(),
                )
            })
        } else {
            mock!(aws_sdk_ec2::Client::describe_volumes).then_output(|| {
                DescribeVolumesOutput::builder()
                    .volumes(Volume::builder().volume_id("vol-1").size(128).build())
                    .build()
            })
        };
        let routes = mock!(aws_sdk_ec2::Client::describe_route_tables).then_output(|| {
            DescribeRouteTablesOutput::builder()
                .route_tables(
                    RouteTable::builder()
                        .route_table_id("rtb-1")
                        // The VPC's main table, as DescribeRouteTables describes it.
                        .associations(RouteTableAssociation::builder().main(true).build())
                        .routes(
                            Route::builder()
                                .destination_cidr_block("0.0.0.0/0")
                                .gateway_id("igw-1")
                                .state(RouteState::Active)
                                .build(),
                        )
                        .build(),
                )
                .build()
        });
        let modify_eni = mock!(aws_sdk_ec2::Client::modify_network_interface_attribute)
            .then_output(|| ModifyNetworkInterfaceAttributeOutput::builder().build());
        Ec2Rules {
            describe_instances,
            interfaces,
            user_data,
            volumes,
            routes,
            modify_eni,
            routes_omitted: r.no_route_rule,
        }
    }
}

/// A `Deps` over the given clients, configured by `vars`. Its callers are stack-watch's tests
/// (stack events and the custom resource): every client is checked against stack-watch's row of
/// [`crate::aws::permissions`] (`ssr_testkit::CallCheck`).
pub fn deps(
    vars: &[(&str, &str)],
    ec2: aws_sdk_ec2::Client,
    sns: aws_sdk_sns::Client,
    dynamodb: aws_sdk_dynamodb::Client,
    cloudformation: aws_sdk_cloudformation::Client,
) -> Deps {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::from_vars(|k| map.get(k).cloned()).expect("test config");
    let secrets = aws_smithy_mocks::mock_client!(aws_sdk_secretsmanager, []);
    let function = crate::metrics::Function::StackWatch;
    let check = ssr_testkit::CallCheck::new(
        function.name(),
        crate::aws::permissions::called_actions(function),
    );
    Deps::new(
        config,
        Clients {
            ec2: check.ec2(ec2),
            sns: check.sns(sns),
            dynamodb: check.dynamodb(dynamodb),
            cloudformation: check.cloudformation(cloudformation),
            secrets: check.secrets(secrets),
        },
        Some("us-east-1".into()),
    )
}
