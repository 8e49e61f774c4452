//! The DynamoDB state table (`STATE_TABLE`: partition key `pk` String, TTL attribute
//! `expires_at`). Claims are conditional writes, so "exactly once" holds across duplicate
//! events and concurrent invocations. The function never creates the table.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::KeysAndAttributes;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};

use super::AwsError;

/// Items `onboarding-start#<instance-id>`: when onboarding (re)started for a router, if later than
/// its EC2 launch time (e.g. the stack that created it completed). Attributes: `started_at`
/// (epoch seconds, N), `source` (S), `expires_at` (TTL, 30 days).
pub const ONBOARDING_START_PREFIX: &str = "onboarding-start#";

/// BatchGetItem takes at most 100 keys.
const BATCH_GET_MAX: usize = 100;

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
        let Some(table) = &self.table else {
            return Ok(Claim::NoTable);
        };
        // Read first, so a replayed event finds its claim and makes no write call. The
        // conditional write below still decides races; a failed read only skips the shortcut.
        match self
            .client
            .get_item()
            .table_name(table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .consistent_read(true)
            .projection_expression("expires_at")
            .send()
            .await
        {
            Ok(out) => {
                let held_until = out
                    .item()
                    .and_then(|i| i.get("expires_at"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok());
                if held_until.is_some_and(|t| t >= now.timestamp()) {
                    return Ok(Claim::Held);
                }
            }
            Err(e) => tracing::debug!(
                error = %AwsError::from_sdk("GetItem", e),
                "claim pre-read failed; the conditional write decides"
            ),
        }
        attrs.insert(
            "expires_at".into(),
            AttributeValue::N(expires_at.timestamp().to_string()),
        );
        attrs.insert("created_at".into(), AttributeValue::S(now.to_rfc3339()));
        let res = self
            .put_request(table, pk, attrs)
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        Ok(if conditional_put_result(res)? {
            Claim::Won
        } else {
            Claim::Held
        })
    }

    /// Gives a claim back (its side effect failed, so a retry may try again).
    pub async fn release(&self, pk: &str) -> Result<(), AwsError> {
        let Some(table) = &self.table else {
            return Ok(());
        };
        self.client
            .delete_item()
            .table_name(table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("DeleteItem", e))?;
        Ok(())
    }

    /// Records that onboarding of `instance_id` (re)started at `started_at`, keeping the latest
    /// start when called more than once (replays are no-ops). `Ok(false)`: nothing written.
    pub async fn record_onboarding_start(
        &self,
        instance_id: &str,
        started_at: DateTime<Utc>,
        source: &str,
    ) -> Result<bool, AwsError> {
        let Some(table) = &self.table else {
            return Ok(false);
        };
        let res = self
            .client
            .put_item()
            .table_name(table)
            .item(
                "pk",
                AttributeValue::S(format!("{ONBOARDING_START_PREFIX}{instance_id}")),
            )
            .item("kind", AttributeValue::S("onboarding-start".into()))
            .item("instance_id", AttributeValue::S(instance_id.to_string()))
            .item(
                "started_at",
                AttributeValue::N(started_at.timestamp().to_string()),
            )
            .item("source", AttributeValue::S(source.to_string()))
            .item(
                "expires_at",
                AttributeValue::N(
                    (started_at + chrono::Duration::days(30))
                        .timestamp()
                        .to_string(),
                ),
            )
            .condition_expression("attribute_not_exists(pk) OR started_at < :s")
            .expression_attribute_values(
                ":s",
                AttributeValue::N(started_at.timestamp().to_string()),
            )
            .send()
            .await;
        conditional_put_result(res)
    }

    /// Recorded onboarding starts for many instances (BatchGetItem, 100 keys per call).
    pub async fn onboarding_starts(
        &self,
        instance_ids: &[String],
    ) -> Result<HashMap<String, DateTime<Utc>>, AwsError> {
        let mut out = HashMap::new();
        let Some(table) = &self.table else {
            return Ok(out);
        };
        let items = self
            .batch_get(
                table,
                instance_ids
                    .iter()
                    .map(|id| format!("{ONBOARDING_START_PREFIX}{id}"))
                    .collect(),
            )
            .await?;
        for item in items {
            let id = item.get("instance_id").and_then(|v| v.as_s().ok());
            let at = item
                .get("started_at")
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse::<i64>().ok())
                .and_then(|s| DateTime::from_timestamp(s, 0));
            if let (Some(id), Some(at)) = (id, at) {
                out.insert(id.clone(), at);
            }
        }
        Ok(out)
    }

    /// A PutItem of `attrs` under `pk` (the one place the item key is set).
    fn put_request(
        &self,
        table: &str,
        pk: &str,
        mut attrs: HashMap<String, AttributeValue>,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        attrs.insert("pk".into(), AttributeValue::S(pk.to_string()));
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(attrs))
    }

    /// Writes `pk` with `attrs` only if no item with that key exists (records written once).
    /// `Ok(false)`: the item was already there (or no table is configured), nothing written.
    pub async fn put_if_absent(
        &self,
        pk: &str,
        attrs: HashMap<String, AttributeValue>,
    ) -> Result<bool, AwsError> {
        let Some(table) = &self.table else {
            return Ok(false);
        };
        let res = self
            .put_request(table, pk, attrs)
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional_put_result(res)
    }

    /// Writes (replaces) `pk` with `attrs`; `Ok(false)` when no table is configured.
    pub async fn put(
        &self,
        pk: &str,
        attrs: HashMap<String, AttributeValue>,
    ) -> Result<bool, AwsError> {
        let Some(table) = &self.table else {
            return Ok(false);
        };
        self.put_request(table, pk, attrs)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutItem", e))?;
        Ok(true)
    }

    /// Every item whose `kind` is one of `kinds` (Scan with a filter, all pages). For operator
    /// reports, not for per-event paths: a Scan reads the whole table.
    pub async fn scan_kinds(
        &self,
        kinds: &[&str],
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        let mut out = Vec::new();
        let Some(table) = &self.table else {
            return Ok(out);
        };
        let placeholders: Vec<String> = (0..kinds.len()).map(|i| format!(":k{i}")).collect();
        let mut req = self
            .client
            .scan()
            .table_name(table)
            .filter_expression(format!("#kind IN ({})", placeholders.join(", ")))
            .expression_attribute_names("#kind", "kind");
        for (p, k) in placeholders.iter().zip(kinds) {
            req = req.expression_attribute_values(p, AttributeValue::S(k.to_string()));
        }
        let mut pages = req.into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("Scan", e))?;
            out.extend(page.items().iter().cloned());
        }
        Ok(out)
    }

    /// BatchGetItem over any number of keys, retrying unprocessed keys.
    pub async fn batch_get(
        &self,
        table: &str,
        pks: Vec<String>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        let mut out = Vec::new();
        for chunk in pks.chunks(BATCH_GET_MAX) {
            let keys: Vec<HashMap<String, AttributeValue>> = chunk
                .iter()
                .map(|pk| HashMap::from([("pk".to_string(), AttributeValue::S(pk.clone()))]))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| AwsError::new("BatchGetItem", "InvalidRequest", e.to_string()))?,
            );
            let mut attempt = 0u32;
            while let Some(req) = request.take() {
                let res = self
                    .client
                    .batch_get_item()
                    .request_items(table, req)
                    .send()
                    .await
                    .map_err(|e| AwsError::from_sdk("BatchGetItem", e))?;
                if let Some(items) = res.responses().and_then(|r| r.get(table)) {
                    out.extend(items.iter().cloned());
                }
                request = res
                    .unprocessed_keys()
                    .and_then(|u| u.get(table))
                    .filter(|k| !k.keys().is_empty())
                    .cloned();
                if request.is_some() {
                    attempt += 1;
                    if attempt > 5 {
                        return Err(AwsError::new(
                            "BatchGetItem",
                            "UnprocessedKeys",
                            "keys still unprocessed after 5 retries",
                        ));
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(50 * 2u64.pow(attempt)))
                        .await;
                }
            }
        }
        Ok(out)
    }
}

/// A conditional PutItem's result: `Ok(true)` written, `Ok(false)` held back by its condition
/// (`ConditionalCheckFailedException` is an expected answer, not a failure).
fn conditional_put_result<T, R>(
    res: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::put_item::PutItemError, R>,
    >,
) -> Result<bool, AwsError>
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match res {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = AwsError::from_sdk("PutItem", e);
            if err.is("ConditionalCheckFailedException") {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}
