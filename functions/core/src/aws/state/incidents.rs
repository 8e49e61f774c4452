//! Open incidents that a later run resolves: `incident#<incident-key>` is written when a guard
//! or stack trigger was delivered, read when a run finds the problem gone, and deleted once the
//! resolve is delivered. (An onboarding episode's incident lives in its own episode items.)
//!
//! A guard-findings incident is also in the list [`FINDINGS_OPEN_LIST`] (attributes `list` and
//! `list_at` = its opening time) with the router's instance id, account and region, so the
//! sweep re-checks its router ([`StateStore::open_findings`]); deleting the item on close takes
//! it out of the list.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::items::epoch;
use super::lists::{ListRange, FINDINGS_OPEN_LIST, LIST_ATTR, LIST_AT_ATTR};
use super::{from_item, AwsError, StateStore};
use crate::render::IncidentKey;

/// `incident#<incident-key>`: an incident a trigger opened and no resolve has closed yet.
pub const INCIDENT_PREFIX: &str = "incident#";
/// How long an unresolved incident is remembered (then the table's TTL drops it).
pub const INCIDENT_RETENTION_DAYS: i64 = 90;

/// An open incident, as read.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OpenIncident {
    /// When its first trigger was delivered (epoch seconds).
    pub opened_at: i64,
}

impl OpenIncident {
    pub fn opened(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.opened_at, 0).unwrap_or_default()
    }
}

/// Where a guard-findings incident's router runs: what the sweep re-check needs to look at it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct FindingsScope {
    pub instance_id: String,
    /// The router's account and region (a member account's, or the deployment's own).
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
}

/// An open guard-findings incident, as listed in [`FINDINGS_OPEN_LIST`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct OpenFindings {
    pub opened_at: i64,
    #[serde(flatten)]
    pub scope: FindingsScope,
}

fn pk(key: &IncidentKey) -> AttributeValue {
    AttributeValue::S(format!("{INCIDENT_PREFIX}{key}"))
}

impl StateStore {
    /// Records `key` open (keeping the first opening time when it already is). `listed`: a
    /// guard-findings incident, also put in [`FINDINGS_OPEN_LIST`] with its router's scope.
    pub async fn open_incident(
        &self,
        key: &IncidentKey,
        kind: &str,
        now: DateTime<Utc>,
        listed: Option<&FindingsScope>,
    ) -> Result<(), AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(());
        };
        let mut update = String::from(
            "SET opened_at = if_not_exists(opened_at, :now), kind = :kind, expires_at = :exp",
        );
        let mut req = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", pk(key));
        if let Some(scope) = listed {
            update.push_str(", #l = :list, #la = if_not_exists(opened_at, :now), #i = :instance");
            req = req
                .expression_attribute_names("#l", LIST_ATTR)
                .expression_attribute_names("#la", LIST_AT_ATTR)
                .expression_attribute_names("#i", "instance_id")
                .expression_attribute_values(":list", AttributeValue::S(FINDINGS_OPEN_LIST.into()))
                .expression_attribute_values(
                    ":instance",
                    AttributeValue::S(scope.instance_id.clone()),
                );
            for (name, attr, value) in [
                ("#a", "account", &scope.account),
                ("#r", "region", &scope.region),
            ] {
                if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                    let placeholder = format!(":{attr}");
                    update.push_str(&format!(", {name} = {placeholder}"));
                    req = req
                        .expression_attribute_names(name, attr)
                        .expression_attribute_values(placeholder, AttributeValue::S(v.to_string()));
                }
            }
        }
        req.update_expression(update)
            .expression_attribute_values(":now", AttributeValue::N(epoch(now).to_string()))
            .expression_attribute_values(":kind", AttributeValue::S(format!("incident:{kind}")))
            .expression_attribute_values(
                ":exp",
                AttributeValue::N(epoch(now + Duration::days(INCIDENT_RETENTION_DAYS)).to_string()),
            )
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("UpdateItem", e))?;
        Ok(())
    }

    /// The open guard-findings incidents, oldest first, at most `limit` (one Query of the
    /// `lists` index; items not in the expected shape are skipped).
    pub async fn open_findings(&self, limit: i32) -> Result<Vec<OpenFindings>, AwsError> {
        Ok(self
            .list_items(FINDINGS_OPEN_LIST, ListRange::All, Some(limit))
            .await?
            .into_iter()
            .filter_map(from_item::<OpenFindings>)
            .collect())
    }

    /// The open incident `key`, if any (a consistent read).
    pub async fn open_incident_of(
        &self,
        key: &IncidentKey,
    ) -> Result<Option<OpenIncident>, AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(None);
        };
        let out = self
            .client
            .get_item()
            .table_name(table)
            .key("pk", pk(key))
            .consistent_read(true)
            .projection_expression("opened_at")
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetItem", e))?;
        Ok(out.item.and_then(from_item::<OpenIncident>))
    }

    /// Forgets the incident `key` opened at `opened_at` (its resolve was delivered). A newer
    /// opening is kept (the condition).
    pub async fn close_incident(&self, key: &IncidentKey, opened_at: i64) -> Result<(), AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(());
        };
        let res = self
            .client
            .delete_item()
            .table_name(table)
            .key("pk", pk(key))
            .condition_expression("opened_at = :o")
            .expression_attribute_values(":o", AttributeValue::N(opened_at.to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => {
                let err = AwsError::from_sdk("DeleteItem", e);
                if err.is("ConditionalCheckFailedException") {
                    Ok(())
                } else {
                    Err(err)
                }
            }
        }
    }
}
