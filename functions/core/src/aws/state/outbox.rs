//! The alert outbox in the state table: a claim is a lease that carries the rendered alert
//! ([`crate::outbox`] has the rules). While `pending`, the item is in the list
//! [`OUTBOX_LIST`] of the state table's index (`list` = `outbox`, `list_at` = the lease's end:
//! [`super::lists`]), which lists exactly the alerts not yet confirmed, without a scan;
//! confirming removes both attributes and the item leaves the index.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::items::{epoch, ClaimItem};
use super::lists::{ListRange, OUTBOX_LIST};
use super::{conditional_put_result, from_item, to_item, AwsError, StateStore};
use crate::outbox::{found, ClaimSeen, Found, Target, LEASE_SECONDS, STATUS_PENDING, STATUS_SENT};
use crate::render::Alert;

/// At most this many overdue outbox entries are taken over per sweep (the rest next minute).
pub const OUTBOX_BATCH: i32 = 20;

/// What claiming an alert found.
#[derive(Debug)]
pub enum AlertClaimed {
    /// No state table: nothing can be de-duplicated.
    NoTable,
    /// Already sent.
    Sent,
    /// Another invocation holds the lease until then.
    Leased { until: DateTime<Utc> },
    /// This invocation holds the lease: deliver `held.alert` to the missing targets.
    Won(Held),
}

/// A lease held on a pending alert.
#[derive(Debug)]
pub struct Held {
    pub pk: String,
    /// The alert to deliver: the stored one when a lease was taken over.
    pub alert: Alert,
    /// Targets that already accepted it (a partial delivery before a failure).
    pub delivered: Vec<String>,
    /// The lease was taken over from an invocation that did not finish.
    pub taken_over: bool,
}

#[derive(Serialize)]
struct StoredPending<'a> {
    pk: &'a str,
    #[serde(flatten)]
    item: ClaimItem,
    expires_at: i64,
    created_at: String,
    status: &'static str,
    lease_until: i64,
    /// In the outbox list until confirmed (`list_at` = `lease_until`).
    list: &'static str,
    list_at: i64,
    /// The rendered alert (JSON).
    alert: String,
}

#[derive(Deserialize)]
struct SeenItem {
    #[serde(default)]
    expires_at: Option<i64>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    lease_until: Option<i64>,
    #[serde(default)]
    alert: Option<String>,
    #[serde(default)]
    delivered: Vec<String>,
}

impl SeenItem {
    fn seen(&self) -> ClaimSeen {
        ClaimSeen {
            expires_at: self.expires_at,
            status: self.status.clone(),
            lease_until: self.lease_until,
        }
    }
}

fn lease_end(now: DateTime<Utc>) -> DateTime<Utc> {
    now + Duration::seconds(LEASE_SECONDS)
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

impl StateStore {
    /// Claims the alert `pk` as a lease carrying `alert`: a consistent read first (a replay
    /// finds its claim and writes nothing), then a conditional write, or the take-over of a
    /// lease that ran out.
    pub async fn claim_alert(
        &self,
        pk: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        item: ClaimItem,
        alert: &Alert,
    ) -> Result<AlertClaimed, AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(AlertClaimed::NoTable);
        };
        let existing = self.claim_seen(table, pk).await;
        match found(now.timestamp(), existing.as_ref()) {
            Found::Sent => return Ok(AlertClaimed::Sent),
            Found::Leased { until } => {
                return Ok(AlertClaimed::Leased {
                    until: DateTime::from_timestamp(until, 0).unwrap_or(now),
                })
            }
            Found::LeaseOver => {
                return Ok(match self.take_over(table, pk, now, Some(alert)).await? {
                    Some(held) => AlertClaimed::Won(held),
                    None => AlertClaimed::Leased {
                        until: lease_end(now),
                    },
                })
            }
            Found::Free => {}
        }
        let alert_json = serde_json::to_string(alert)
            .map_err(|e| AwsError::new("PutItem", "Serialization", e.to_string()))?;
        let stored = to_item(
            "PutItem",
            StoredPending {
                pk,
                item,
                expires_at: epoch(expires_at),
                created_at: now.to_rfc3339(),
                status: STATUS_PENDING,
                lease_until: epoch(lease_end(now)),
                list: OUTBOX_LIST,
                list_at: epoch(lease_end(now)),
                alert: alert_json,
            },
        )?;
        let res = self
            .put_request(table, stored)
            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        Ok(if conditional_put_result(res)? {
            AlertClaimed::Won(Held {
                pk: pk.to_string(),
                alert: alert.clone(),
                delivered: Vec::new(),
                taken_over: false,
            })
        } else {
            // Claimed by a concurrent invocation between the read and the write (or the
            // pre-read failed): read what it is now, sent or still leased.
            match self.claim_seen(table, pk).await {
                Some(seen) if found(now.timestamp(), Some(&seen)) == Found::Sent => {
                    AlertClaimed::Sent
                }
                _ => AlertClaimed::Leased {
                    until: lease_end(now),
                },
            }
        })
    }

    /// What the claim `pk` says now (a consistent read); `None` when absent or unreadable (the
    /// conditional write decides then).
    async fn claim_seen(&self, table: &str, pk: &str) -> Option<ClaimSeen> {
        match self
            .client
            .get_item()
            .table_name(table)
            .key("pk", s(pk))
            .consistent_read(true)
            .projection_expression("expires_at, #s, lease_until")
            .expression_attribute_names("#s", "status")
            .send()
            .await
        {
            Ok(out) => out.item.and_then(from_item::<SeenItem>).map(|i| i.seen()),
            Err(e) => {
                tracing::debug!(
                    error = %AwsError::from_sdk("GetItem", e),
                    "claim read failed; the conditional write decides"
                );
                None
            }
        }
    }

    /// Takes over the pending alert `pk` whose lease ran out (a conditional update, so two
    /// takers cannot both win). `Ok(None)`: someone else holds it now, or it is no longer
    /// pending. `fallback`: the alert to deliver if the stored one cannot be read.
    async fn take_over(
        &self,
        table: &str,
        pk: &str,
        now: DateTime<Utc>,
        fallback: Option<&Alert>,
    ) -> Result<Option<Held>, AwsError> {
        let res = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", s(pk))
            .update_expression("SET lease_until = :lease, list_at = :lease")
            .condition_expression(
                "#s = :pending AND expires_at >= :now AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(STATUS_PENDING))
            .expression_attribute_values(":now", n(now.timestamp()))
            .expression_attribute_values(":lease", n(epoch(lease_end(now))))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        let attrs = match res {
            Ok(out) => out.attributes.unwrap_or_default(),
            Err(e) => {
                let err = AwsError::from_sdk("UpdateItem", e);
                if err.is("ConditionalCheckFailedException") {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        let Some(seen) = from_item::<SeenItem>(attrs) else {
            return Ok(None);
        };
        let stored = seen
            .alert
            .as_deref()
            .and_then(|a| match serde_json::from_str::<Alert>(a) {
                Ok(alert) => Some(alert),
                Err(e) => {
                    tracing::warn!(claim = pk, error = %e, "stored alert unreadable");
                    None
                }
            });
        let Some(alert) = stored.or_else(|| fallback.cloned()) else {
            // Nothing to deliver: take it out of the outbox so the sweep stops finding it.
            tracing::error!(
                claim = pk,
                "pending alert without a readable copy: dropped from the outbox"
            );
            self.alert_sent(pk).await?;
            return Ok(None);
        };
        tracing::info!(
            decision = "lease-taken-over",
            claim = pk,
            "delivering a pending alert whose lease ran out"
        );
        Ok(Some(Held {
            pk: pk.to_string(),
            alert,
            delivered: seen.delivered,
            taken_over: true,
        }))
    }

    /// Confirms the alert `pk` delivered to every target: `sent`, out of the outbox.
    pub async fn alert_sent(&self, pk: &str) -> Result<(), AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(());
        };
        self.client
            .update_item()
            .table_name(table)
            .key("pk", s(pk))
            .update_expression("SET #s = :sent REMOVE #l, list_at, lease_until, alert")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#s", "status")
            .expression_attribute_names("#l", super::lists::LIST_ATTR)
            .expression_attribute_values(":sent", s(STATUS_SENT))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("UpdateItem", e))?;
        Ok(())
    }

    /// A delivery failed after `delivered` accepted the alert: record them and give the lease
    /// back at once, so the retry (or the sweep) resumes only the missing targets.
    pub async fn alert_lease_released(
        &self,
        pk: &str,
        delivered: &[Target],
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(());
        };
        let list = AttributeValue::L(delivered.iter().map(|t| s(t.as_str())).collect());
        self.client
            .update_item()
            .table_name(table)
            .key("pk", s(pk))
            .update_expression("SET delivered = :d, lease_until = :gone, list_at = :gone")
            .condition_expression("#s = :pending")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":pending", s(STATUS_PENDING))
            .expression_attribute_values(":d", list)
            .expression_attribute_values(":gone", n(now.timestamp() - 1))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("UpdateItem", e))?;
        Ok(())
    }

    /// The pending alerts whose lease ran out (a Query of the [`OUTBOX_LIST`], at most
    /// [`OUTBOX_BATCH`]), each taken over: the sweep delivers them.
    pub async fn due_alerts(&self, now: DateTime<Utc>) -> Result<Vec<Held>, AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(Vec::new());
        };
        let items = self
            .list_items(
                OUTBOX_LIST,
                ListRange::Below(now.timestamp()),
                Some(OUTBOX_BATCH),
            )
            .await?;
        let pks: Vec<String> = items.iter().filter_map(super::pk_of).collect();
        let mut held = Vec::new();
        for pk in pks {
            if let Some(h) = self.take_over(table, &pk, now, None).await? {
                held.push(h);
            }
        }
        Ok(held)
    }
}
