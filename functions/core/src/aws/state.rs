//! The DynamoDB state table (`STATE_TABLE`: partition key `pk` String, TTL attribute
//! `expires_at`). Claims are conditional writes, so "exactly once" holds across duplicate
//! events and concurrent invocations. The function never creates the table.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::AwsError;

#[derive(Clone, Debug)]
pub struct StateStore {
    client: aws_sdk_dynamodb::Client,
    table: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This caller wrote the item: it owns the side effect.
    Won,
    /// An unexpired item exists: someone already did it.
    Held,
    /// No table configured: no de-duplication possible.
    NoTable,
}

impl StateStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: Option<String>) -> Self {
        StateStore { client, table }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// Writes `pk` unless an unexpired item with that key exists (TTL deletion is lazy, so the
    /// condition checks `expires_at` itself).
    pub async fn claim(
        &self,
        pk: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        mut attrs: HashMap<String, AttributeValue>,
    ) -> Result<Claim, AwsError> {
        let Some(table) = &self.table else { return Ok(Claim::NoTable) };
        attrs.insert("pk".into(), AttributeValue::S(pk.to_string()));
        attrs.insert("expires_at".into(), AttributeValue::N(expires_at.timestamp().to_string()));
        attrs.insert("created_at".into(), AttributeValue::S(now.to_rfc3339()));
        let res = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(attrs))
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Claim::Won),
            Err(e) => {
                let err = AwsError::from_sdk("PutItem", e);
                if err.is("ConditionalCheckFailedException") {
                    Ok(Claim::Held)
                } else {
                    Err(err)
                }
            }
        }
    }

    /// Gives a claim back (its side effect failed, so a retry may try again).
    pub async fn release(&self, pk: &str) -> Result<(), AwsError> {
        let Some(table) = &self.table else { return Ok(()) };
        self.client
            .delete_item()
            .table_name(table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteItem", e))?;
        Ok(())
    }
}
