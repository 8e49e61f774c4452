//! The guide's network ([`GuideVpc`]): a VPC with a public subnet routed to an internet gateway
//! and a private subnet.

use aws_sdk_ec2::types::ResourceType;

use super::{aws, missing, name_tag, next_id, Sandbox, SandboxError};

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

impl Sandbox {
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
}
