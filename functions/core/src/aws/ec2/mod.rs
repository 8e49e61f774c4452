//! EC2 adapter: describe calls that build a [`crate::snapshot::RouterSnapshot`], the two fixes, and their
//! read-backs. Real AWS semantics: source/dest check is changed per ENI
//! (ModifyNetworkInterfaceAttribute), never on the instance, which AWS rejects when an instance
//! has several interfaces.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ec2::types::{AttributeBooleanValue, Filter, Instance, NetworkInterface, Tag};

mod drift;
mod dry_run;
mod snapshot;

pub use dry_run::{DryRun, DRY_RUN_OPERATION, UNAUTHORIZED_OPERATION};

use super::AwsError;
use crate::instance_state::InstanceState;
use crate::snapshot::{InstanceFacts, Interface, NotChecked};

/// The tag CloudFormation puts on every instance it creates.
pub const STACK_ID_TAG: &str = "aws:cloudformation:stack-id";

/// Values per filter in one describe call (EC2 accepts up to 200).
const FILTER_CHUNK: usize = 200;
/// Independent describe calls (filter chunks) in flight at once.
const READ_CONCURRENCY: usize = 8;

#[derive(Clone, Debug)]
pub struct Ec2 {
    client: aws_sdk_ec2::Client,
}

/// Which instances to list.
#[derive(Clone, Debug)]
pub enum InstanceQuery {
    /// Every running instance (the watchdog's sweep).
    Running,
    /// Every instance not terminated (the audit).
    NotTerminated,
    /// The live instances CloudFormation created for one stack (`aws:cloudformation:stack-id`).
    OfStack(String),
}

/// Where an interface is attached.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterfaceAttachment {
    pub eni_id: String,
    pub instance_id: Option<String>,
}

fn tags_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn instance_state(i: &Instance) -> String {
    i.state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_string())
        .unwrap_or_else(|| "unknown".into())
}

fn facts_of(i: &Instance) -> Option<InstanceFacts> {
    let instance_id = i.instance_id()?.to_string();
    let root_device_name = i.root_device_name().map(String::from);
    let root_volume_id = root_device_name.as_deref().and_then(|root| {
        i.block_device_mappings()
            .iter()
            .find(|m| m.device_name() == Some(root))
            .and_then(|m| m.ebs())
            .and_then(|e| e.volume_id())
            .map(String::from)
    });
    Some(InstanceFacts {
        instance_id,
        state: instance_state(i),
        instance_type: i.instance_type().map(|t| t.as_str().to_string()),
        launch_time: i
            .launch_time()
            .and_then(|t| chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
        tags: tags_map(i.tags()),
        iam_instance_profile_arn: i
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .map(String::from),
        ena_support: i.ena_support(),
        vpc_id: i.vpc_id().map(String::from),
        key_name: i.key_name().map(String::from),
        root_device_name,
        root_volume_id,
    })
}

fn not_checked(action: &str, resource: &str, what: &str) -> NotChecked {
    NotChecked {
        action: action.to_string(),
        resource: resource.to_string(),
        what: what.to_string(),
    }
}

fn attachment_of(n: &NetworkInterface) -> InterfaceAttachment {
    InterfaceAttachment {
        eni_id: n.network_interface_id().unwrap_or_default().to_string(),
        instance_id: n
            .attachment()
            .and_then(|a| a.instance_id())
            .map(String::from),
    }
}

/// Interface facts from DescribeNetworkInterfaces (which, unlike DescribeInstances, carries ENI
/// tags), sorted by device index.
fn interfaces_from(enis: &[NetworkInterface]) -> Vec<Interface> {
    let mut out: Vec<Interface> = enis
        .iter()
        .map(|n| Interface {
            eni_id: n.network_interface_id().unwrap_or_default().to_string(),
            device_index: n.attachment().and_then(|a| a.device_index()),
            subnet_id: n.subnet_id().map(String::from),
            private_ip: n.private_ip_address().map(String::from),
            public_ip: n
                .association()
                .and_then(|a| a.public_ip())
                .map(String::from),
            mac_address: n.mac_address().map(String::from),
            source_dest_check: n.source_dest_check(),
            tags: tags_map(n.tag_set()),
        })
        .collect();
    out.sort_by_key(|i| (i.device_index.unwrap_or(i32::MAX), i.eni_id.clone()));
    out
}

impl Ec2 {
    pub fn new(client: aws_sdk_ec2::Client) -> Self {
        Ec2 { client }
    }

    /// DescribeInstances for one id; `None` when EC2 does not know it.
    pub async fn describe_instance(
        &self,
        instance_id: &str,
    ) -> Result<Option<InstanceFacts>, AwsError> {
        let res = self
            .client
            .describe_instances()
            .instance_ids(instance_id)
            .send()
            .await;
        match res {
            Ok(out) => Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find(|i| i.instance_id() == Some(instance_id))
                .and_then(facts_of)),
            Err(e) => {
                let err = AwsError::from_sdk("DescribeInstances", e);
                if err.is("InvalidInstanceID.NotFound") {
                    Ok(None)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// DescribeInstances for a query, all pages (1,000 per page), each instance once.
    pub async fn instances(&self, query: InstanceQuery) -> Result<Vec<InstanceFacts>, AwsError> {
        let states = |states: &[InstanceState]| {
            states
                .iter()
                .fold(Filter::builder().name("instance-state-name"), |f, s| {
                    f.values(s.as_str())
                })
                .build()
        };
        let filters = match query {
            InstanceQuery::Running => vec![states(&[InstanceState::Running])],
            InstanceQuery::NotTerminated => {
                vec![states(&InstanceState::NOT_TERMINATED)]
            }
            InstanceQuery::OfStack(stack_id) => vec![
                Filter::builder()
                    .name(format!("tag:{STACK_ID_TAG}"))
                    .values(stack_id)
                    .build(),
                states(&InstanceState::NOT_TERMINATED),
            ],
        };
        let mut out: Vec<InstanceFacts> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut pages = self
            .client
            .describe_instances()
            .set_filters(Some(filters))
            .max_results(1000)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeInstances", e))?;
            for i in page.reservations().iter().flat_map(|r| r.instances()) {
                if let Some(f) = facts_of(i).filter(|f| seen.insert(f.instance_id.clone())) {
                    out.push(f);
                }
            }
        }
        Ok(out)
    }

    /// DescribeNetworkInterfaces, all pages: the one place this call is made. EC2 refuses
    /// `MaxResults` together with `NetworkInterfaceIds`, so ids are sent without it.
    async fn describe_enis(
        &self,
        eni_ids: &[String],
        filters: Vec<Filter>,
    ) -> Result<Vec<NetworkInterface>, AwsError> {
        let mut req = self
            .client
            .describe_network_interfaces()
            .set_filters((!filters.is_empty()).then_some(filters));
        req = if eni_ids.is_empty() {
            req.max_results(1000)
        } else {
            req.set_network_interface_ids(Some(eni_ids.to_vec()))
        };
        let mut out = Vec::new();
        let mut pages = req.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeNetworkInterfaces", e))?;
            out.extend(page.network_interfaces().iter().cloned());
        }
        Ok(out)
    }

    /// The interfaces attached to `instance_ids` (filter `attachment.instance-id`, which carries
    /// ENI tags, SourceDestCheck and device index), 200 instances per call.
    /// Grouped by instance id, each instance's interfaces sorted by device index.
    pub async fn interfaces_of(
        &self,
        instance_ids: &[String],
    ) -> Result<HashMap<String, Vec<Interface>>, AwsError> {
        let mut by_instance: HashMap<String, Vec<NetworkInterface>> = HashMap::new();
        // The chunks are independent reads: up to READ_CONCURRENCY at once.
        let chunks: Vec<&[String]> = instance_ids.chunks(FILTER_CHUNK).collect();
        for group in chunks.chunks(READ_CONCURRENCY) {
            let pages = futures_util::future::join_all(group.iter().map(|chunk| {
                let filter = Filter::builder()
                    .name("attachment.instance-id")
                    .set_values(Some(chunk.to_vec()))
                    .build();
                self.describe_enis(&[], vec![filter])
            }))
            .await;
            for enis in pages {
                for eni in enis? {
                    if let Some(id) = eni.attachment().and_then(|a| a.instance_id()) {
                        by_instance.entry(id.to_string()).or_default().push(eni);
                    }
                }
            }
        }
        Ok(by_instance
            .into_iter()
            .map(|(id, enis)| (id, interfaces_from(&enis)))
            .collect())
    }

    /// One ENI, by id (for CloudFormation ENI events); `None` when it no longer exists.
    pub async fn describe_interface(
        &self,
        eni_id: &str,
    ) -> Result<Option<InterfaceAttachment>, AwsError> {
        match self.describe_enis(&[eni_id.to_string()], vec![]).await {
            Ok(enis) => Ok(enis.first().map(attachment_of)),
            Err(e) if e.is("InvalidNetworkInterfaceID.NotFound") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The ENI of one attachment (`eni-attach-…`, the physical id of a CloudFormation
    /// `AWS::EC2::NetworkInterfaceAttachment`): DescribeNetworkInterfaces filtered on
    /// `attachment.attachment-id`; `None` when no interface has that attachment (any more).
    pub async fn interface_by_attachment(
        &self,
        attachment_id: &str,
    ) -> Result<Option<InterfaceAttachment>, AwsError> {
        let filter = Filter::builder()
            .name("attachment.attachment-id")
            .values(attachment_id)
            .build();
        Ok(self
            .describe_enis(&[], vec![filter])
            .await?
            .first()
            .map(attachment_of))
    }

    /// SourceDestCheck of the given ENIs, for read-back after a fix.
    pub async fn source_dest_checks(
        &self,
        eni_ids: &[String],
    ) -> Result<HashMap<String, Option<bool>>, AwsError> {
        Ok(self
            .describe_enis(eni_ids, vec![])
            .await?
            .iter()
            .filter_map(|n| Some((n.network_interface_id()?.to_string(), n.source_dest_check())))
            .collect())
    }

    /// ModifyNetworkInterfaceAttribute SourceDestCheck=false on one ENI.
    pub async fn disable_source_dest_check(&self, eni_id: &str) -> Result<(), AwsError> {
        self.client
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .source_dest_check(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ModifyNetworkInterfaceAttribute", e))?;
        Ok(())
    }

    /// ModifyInstanceAttribute EnaSupport=true (the AWS CLI's `--ena-support`); the instance
    /// must be stopped.
    pub async fn enable_ena(&self, instance_id: &str) -> Result<(), AwsError> {
        self.client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .ena_support(AttributeBooleanValue::builder().value(true).build())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ModifyInstanceAttribute", e))?;
        Ok(())
    }
}
