//! The instances an EC2 API call touched (drift events): ENI and volume ids resolved to the
//! instances they are attached to, one batched describe each, concurrently. A resource attached
//! to nothing (or gone) resolves to nothing.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;

use super::{attachment_of, Ec2};
use crate::aws::AwsError;
use crate::drift::{Resources, MAX_RESOLVED_IDS};

impl Ec2 {
    /// The instances of `resources`: its instance ids as they are, its ENIs' attachments
    /// (DescribeNetworkInterfaces, filter `network-interface-id`) and its volumes' attachments
    /// (DescribeVolumes, filter `volume-id`). Filters, not id lists, so an id that no longer
    /// exists is simply not listed (an id list would fail the whole call). At most
    /// [`MAX_RESOLVED_IDS`] ids of each kind.
    pub async fn instances_of(&self, resources: &Resources) -> Result<BTreeSet<String>, AwsError> {
        let enis: Vec<String> = resources
            .enis
            .iter()
            .take(MAX_RESOLVED_IDS)
            .cloned()
            .collect();
        let volumes: Vec<String> = resources
            .volumes
            .iter()
            .take(MAX_RESOLVED_IDS)
            .cloned()
            .collect();
        let (by_eni, by_volume) = tokio::join!(
            self.instances_of_enis(enis),
            self.instances_of_volumes(volumes)
        );
        let mut out = resources.instances.clone();
        out.extend(by_eni?);
        out.extend(by_volume?);
        Ok(out)
    }

    async fn instances_of_enis(&self, ids: Vec<String>) -> Result<Vec<String>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::builder()
            .name("network-interface-id")
            .set_values(Some(ids))
            .build();
        Ok(self
            .describe_enis(&[], vec![filter])
            .await?
            .iter()
            .filter_map(|n| attachment_of(n).instance_id)
            .collect())
    }

    async fn instances_of_volumes(&self, ids: Vec<String>) -> Result<Vec<String>, AwsError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::builder()
            .name("volume-id")
            .set_values(Some(ids))
            .build();
        let mut out = Vec::new();
        let mut pages = self
            .client
            .describe_volumes()
            .filters(filter)
            .max_results(500)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("DescribeVolumes", e))?;
            for v in page.volumes() {
                out.extend(
                    v.attachments()
                        .iter()
                        .filter_map(|a| a.instance_id().map(String::from)),
                );
            }
        }
        Ok(out)
    }
}
