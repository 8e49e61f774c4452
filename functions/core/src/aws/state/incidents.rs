//! Open incidents that a later run resolves: `incident#<incident-key>` is written when a guard
//! or stack trigger was delivered, read when a run finds the problem gone, and deleted once the
//! resolve is delivered. (An onboarding episode's incident lives in its own episode items.)

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use super::items::epoch;
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

fn pk(key: &IncidentKey) -> AttributeValue {
    AttributeValue::S(format!("{INCIDENT_PREFIX}{key}"))
}

impl StateStore {
    /// Records `key` open (keeping the first opening time when it already is).
    pub async fn open_incident(
        &self,
        key: &IncidentKey,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(());
        };
        self.client
            .update_item()
            .table_name(table)
            .key("pk", pk(key))
            .update_expression(
                "SET opened_at = if_not_exists(opened_at, :now), kind = :kind, expires_at = :exp",
            )
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
