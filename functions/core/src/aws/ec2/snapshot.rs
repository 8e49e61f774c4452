//! The reads that complete a router's snapshot once it is known to be a router: the root
//! volume, the user data (the onboarding config), ENA, the WAN route; and
//! [`Ec2::snapshot`], which makes them concurrently.

use aws_sdk_ec2::types::{Filter, InstanceAttributeName};
use base64::Engine;

use super::{not_checked, Ec2};
use crate::aws::AwsError;
use crate::onboarding_config::{self, OnboardingStatus};
use crate::snapshot::{
    EnaStatus, InstanceFacts, Interface, NotChecked, RootVolume, RouteFacts, RouterSnapshot,
};

impl Ec2 {
    pub async fn volume_size_gb(&self, volume_id: &str) -> Result<Option<i32>, AwsError> {
        let out = self
            .client
            .describe_volumes()
            .volume_ids(volume_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeVolumes", e))?;
        Ok(out.volumes().first().and_then(|v| v.size()))
    }

    /// The instance's user data, base64-decoded; `None` when it has none.
    pub async fn user_data(&self, instance_id: &str) -> Result<Option<Vec<u8>>, AwsError> {
        let out = self
            .client
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::UserData)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DescribeInstanceAttribute", e))?;
        let Some(b64) = out
            .user_data()
            .and_then(|u| u.value())
            .filter(|v| !v.is_empty())
        else {
            return Ok(None);
        };
        base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map(Some)
            .map_err(|_| {
                AwsError::new(
                    "DescribeInstanceAttribute",
                    "InvalidUserData",
                    "user data is not valid base64",
                )
            })
    }

    /// DescribeInstanceAttribute enaSupport: `None` when EC2 cannot say (some emulators).
    pub async fn ena_attribute(&self, instance_id: &str) -> Result<Option<bool>, AwsError> {
        let res = self
            .client
            .describe_instance_attribute()
            .instance_id(instance_id)
            .attribute(InstanceAttributeName::EnaSupport)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out.ena_support().and_then(|v| v.value())),
            Err(e) => {
                let err = AwsError::from_sdk("DescribeInstanceAttribute", e);
                if err.is("InvalidParameterValue")
                    || err.is("InvalidParameterCombination")
                    || err.code == "Unknown"
                {
                    tracing::debug!(instance_id, error = %err, "enaSupport attribute not available");
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// The route table that applies to `subnet_id` (its explicit association, else the VPC's
    /// main table) and the target of its active 0.0.0.0/0 route. One DescribeRouteTables: the
    /// VPC's tables carry their associations, so the explicit one and the main one come back
    /// together (without a VPC id, the subnet's explicit association only).
    pub async fn route_facts(
        &self,
        vpc_id: Option<&str>,
        subnet_id: &str,
    ) -> Result<RouteFacts, AwsError> {
        let filter = match vpc_id {
            Some(vpc) => Filter::builder().name("vpc-id").values(vpc).build(),
            None => Filter::builder()
                .name("association.subnet-id")
                .values(subnet_id)
                .build(),
        };
        let tables = self.route_tables(vec![filter]).await?;
        let table = applicable_route_table(tables, subnet_id);
        let default_route_target = table.as_ref().and_then(|t| {
            t.routes()
                .iter()
                .filter(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .filter(|r| r.state().map(|s| s.as_str() != "blackhole").unwrap_or(true))
                .find_map(|r| {
                    r.gateway_id()
                        .or(r.nat_gateway_id())
                        .or(r.network_interface_id())
                        .or(r.transit_gateway_id())
                        .or(r.instance_id())
                        .map(String::from)
                })
        });
        Ok(RouteFacts {
            subnet_id: subnet_id.to_string(),
            route_table_id: table.and_then(|t| t.route_table_id().map(String::from)),
            default_route_target,
        })
    }

    async fn route_tables(
        &self,
        filters: Vec<Filter>,
    ) -> Result<Vec<aws_sdk_ec2::types::RouteTable>, AwsError> {
        let mut pages = self
            .client
            .describe_route_tables()
            .set_filters(Some(filters))
            .into_paginator()
            .send();
        let mut tables = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeRouteTables", e))?;
            tables.extend(page.route_tables().iter().cloned());
        }
        Ok(tables)
    }

    /// The rest of a router's snapshot, once the instance and its interfaces are known and it
    /// was selected: ENA (only when DescribeInstances did not say true), the root volume, the
    /// user data and the WAN route. The four reads are independent, so they run concurrently:
    /// one round trip (two for the route when the subnet has no explicit route table).
    pub async fn snapshot(
        &self,
        facts: InstanceFacts,
        interfaces: Vec<Interface>,
    ) -> Result<RouterSnapshot, AwsError> {
        let id = facts.instance_id.as_str();
        let wan_subnet =
            crate::snapshot::wan_interface_of(&interfaces).and_then(|w| w.subnet_id.clone());
        let denied = |e: &AwsError| e.is("UnauthorizedOperation");
        let ena = async {
            Ok::<_, AwsError>(match facts.ena_support {
                Some(true) => (EnaStatus::Enabled, None),
                // Absent in DescribeInstances: ask the attribute, which is authoritative.
                _ => match self.ena_attribute(id).await {
                    Ok(Some(true)) => (EnaStatus::Enabled, None),
                    Ok(Some(false)) => (EnaStatus::Disabled, None),
                    Ok(None) if facts.ena_support == Some(false) => (EnaStatus::Disabled, None),
                    Ok(None) => (EnaStatus::Unknown, None),
                    Err(e) if denied(&e) => (
                        EnaStatus::NotChecked,
                        Some(not_checked(
                            "DescribeInstanceAttribute",
                            id,
                            "ENA (enhanced networking, attribute enaSupport)",
                        )),
                    ),
                    Err(e) => return Err(e),
                },
            })
        };
        let volume = async {
            match &facts.root_volume_id {
                Some(v) => match self.volume_size_gb(v).await {
                    Ok(size) => Ok((size, None)),
                    Err(e) if denied(&e) => Ok((
                        None,
                        Some(not_checked("DescribeVolumes", v, "the root volume size")),
                    )),
                    Err(e) => Err(e),
                },
                None => Ok((None, None)),
            }
        };
        let onboarding = async {
            match self.user_data(id).await {
                Ok(user_data) => Ok(onboarding_config::inspect_bytes(user_data.as_deref())),
                Err(e) if denied(&e) => Ok(OnboardingStatus::NotChecked {
                    reason: "IAM denied ec2:DescribeInstanceAttribute (the deployed policy allows it only on instances with the router tag or a ROUTER_STACKS stack name)".into(),
                }),
                Err(e) => Err(e),
            }
        };
        let route = async {
            match &wan_subnet {
                Some(subnet) => match self.route_facts(facts.vpc_id.as_deref(), subnet).await {
                    Ok(r) => Ok((Some(r), None)),
                    Err(e) if denied(&e) => Ok((
                        None,
                        Some(not_checked(
                            "DescribeRouteTables",
                            subnet,
                            "the WAN subnet's default route to an internet gateway",
                        )),
                    )),
                    Err(e) => Err(e),
                },
                None => Ok((None, None)),
            }
        };
        let ((ena, ena_nc), (size_gb, volume_nc), onboarding, (wan_route, route_nc)) =
            tokio::try_join!(ena, volume, onboarding, route)?;
        let not_checked: Vec<NotChecked> = [ena_nc, volume_nc, route_nc]
            .into_iter()
            .flatten()
            .collect();
        for n in &not_checked {
            tracing::warn!(instance_id = id, action = %n.action, resource = %n.resource, "IAM denied a read; reported as NOT_CHECKED");
        }
        let root_volume = facts
            .root_device_name
            .clone()
            .map(|device_name| RootVolume {
                device_name,
                volume_id: facts.root_volume_id.clone(),
                size_gb,
            });
        Ok(RouterSnapshot {
            instance_id: facts.instance_id,
            state: facts.state,
            instance_type: facts.instance_type,
            launch_time: facts.launch_time,
            tags: facts.tags,
            iam_instance_profile_arn: facts.iam_instance_profile_arn,
            ena,
            vpc_id: facts.vpc_id,
            key_name: facts.key_name,
            root_volume,
            interfaces,
            wan_route,
            onboarding,
            not_checked,
        })
    }
}

/// Of a VPC's route tables, the one that applies to `subnet_id`: the table explicitly associated
/// with the subnet, else the VPC's main table (EC2's own rule).
fn applicable_route_table(
    tables: Vec<aws_sdk_ec2::types::RouteTable>,
    subnet_id: &str,
) -> Option<aws_sdk_ec2::types::RouteTable> {
    let associated =
        |t: &aws_sdk_ec2::types::RouteTable,
         f: &dyn Fn(&aws_sdk_ec2::types::RouteTableAssociation) -> bool| {
            t.associations().iter().any(f)
        };
    let mut main = None;
    for t in tables {
        if associated(&t, &|a| a.subnet_id() == Some(subnet_id)) {
            return Some(t);
        }
        if main.is_none() && associated(&t, &|a| a.main() == Some(true)) {
            main = Some(t);
        }
    }
    main
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{RouteTable, RouteTableAssociation};

    use super::applicable_route_table;

    fn table(id: &str, subnet: Option<&str>, main: bool) -> RouteTable {
        RouteTable::builder()
            .route_table_id(id)
            .associations(
                RouteTableAssociation::builder()
                    .set_subnet_id(subnet.map(String::from))
                    .main(main)
                    .build(),
            )
            .build()
    }

    fn id(t: Option<RouteTable>) -> Option<String> {
        t.and_then(|t| t.route_table_id().map(String::from))
    }

    #[test]
    fn when_the_subnet_has_an_explicit_table_then_it_wins_over_the_main_one() {
        let tables = vec![
            table("rtb-main", None, true),
            table("rtb-other", Some("subnet-2"), false),
            table("rtb-wan", Some("subnet-1"), false),
        ];
        assert_eq!(
            id(applicable_route_table(tables, "subnet-1")).as_deref(),
            Some("rtb-wan")
        );
    }

    #[test]
    fn when_the_subnet_has_no_explicit_table_then_the_main_table_applies() {
        let tables = vec![
            table("rtb-other", Some("subnet-2"), false),
            table("rtb-main", None, true),
        ];
        assert_eq!(
            id(applicable_route_table(tables, "subnet-1")).as_deref(),
            Some("rtb-main")
        );
    }

    #[test]
    fn when_no_table_is_explicit_or_main_then_none() {
        let tables = vec![table("rtb-other", Some("subnet-2"), false)];
        assert_eq!(id(applicable_route_table(tables, "subnet-1")), None);
    }
}
