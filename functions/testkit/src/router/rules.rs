//! The router's `aws-smithy-mocks` rules ([`MockRouter::rules`] → [`RouterRules`]), sharing the
//! state the mocked writes change so later reads see them.

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
    AttributeBooleanValue, AttributeValue, InstanceAttributeName, Reservation, Route, RouteState,
    RouteTable, RouteTableAssociation, Volume,
};
use aws_smithy_mocks::{mock, MockResponse, Rule};

use super::{MockRouter, MockUserData};
use crate::errors;

impl MockRouter {
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
