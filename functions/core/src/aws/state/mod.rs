//! The DynamoDB state table (`STATE_TABLE`: partition key `pk` String, TTL attribute
//! `expires_at`). Claims are conditional writes, so "exactly once" holds across duplicate
//! events and concurrent invocations. The function never creates the table.

pub mod incidents;
pub mod items;
pub mod lists;
pub mod outbox;
pub mod timeline;

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use chrono::{DateTime, Duration, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::AwsError;
use items::*;

type Item = HashMap<String, AttributeValue>;

fn to_item<T: Serialize>(operation: &'static str, v: T) -> Result<Item, AwsError> {
    serde_dynamo::to_item(v).map_err(|e| AwsError::new(operation, "Serialization", e.to_string()))
}

fn from_item<T: DeserializeOwned>(item: Item) -> Option<T> {
    match serde_dynamo::from_item(item) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(error = %e, "state item not in the expected shape; ignored");
            None
        }
    }
}

fn pk_of(item: &Item) -> Option<String> {
    item.get("pk").and_then(|v| v.as_s().ok()).cloned()
}

/// BatchGetItem batches in flight at once (a table in on-demand mode takes them easily; the
/// bound keeps a large sweep from bursting past a provisioned table's read capacity).
pub const BATCH_GET_CONCURRENCY: usize = 8;

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

    pub fn from_sdk_config(sdk: &aws_config::SdkConfig, table: Option<String>) -> Self {
        StateStore::new(aws_sdk_dynamodb::Client::new(sdk), table)
    }

    pub fn table(&self) -> Option<&str> {
        self.table.as_deref()
    }

    /// Writes the claim `pk` unless an unexpired item with that key exists (TTL deletion is
    /// lazy, so the condition checks `expires_at` itself).
    pub async fn claim(
        &self,
        pk: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        item: ClaimItem,
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
                    .item
                    .and_then(from_item::<ClaimExpiry>)
                    .and_then(|c| c.expires_at);
                if held_until.is_some_and(|t| t >= now.timestamp()) {
                    return Ok(Claim::Held);
                }
            }
            Err(e) => tracing::debug!(
                error = %AwsError::from_sdk("GetItem", e),
                "claim pre-read failed; the conditional write decides"
            ),
        }
        let stored = to_item(
            "PutItem",
            StoredClaim {
                pk: pk.to_string(),
                item,
                expires_at: epoch(expires_at),
                created_at: now.to_rfc3339(),
            },
        )?;
        let res = self
            .put_request(table, stored)
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
        let item = to_item(
            "PutItem",
            StoredOnboardingStart {
                pk: format!("{ONBOARDING_START_PREFIX}{instance_id}"),
                kind: "onboarding-start".into(),
                instance_id: instance_id.to_string(),
                started_at: epoch(started_at),
                source: source.to_string(),
                expires_at: epoch(started_at + Duration::days(30)),
            },
        )?;
        let res = self
            .put_request(table, item)
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
        let keys = instance_ids
            .iter()
            .map(|id| format!("{ONBOARDING_START_PREFIX}{id}"))
            .collect();
        Ok(self
            .batch_get(keys)
            .await?
            .into_iter()
            .filter_map(from_item::<StoredOnboardingStart>)
            .filter_map(|s| Some((s.instance_id, from_epoch(s.started_at)?)))
            .collect())
    }

    /// The state of many episodes (keys `<instance-id>#<start-epoch>`) and the overdue list, in
    /// batches of 100 keys. `with_notices`: also whether each episode's unverified notice was
    /// sent (read only when notices can be sent: no Mist settings).
    pub async fn episode_states(
        &self,
        episode_keys: &[String],
        now: DateTime<Utc>,
        with_notices: bool,
    ) -> Result<(HashMap<String, EpisodeState>, Option<OverdueNow>), AwsError> {
        let mut pks = vec![OVERDUE_NOW_PK.to_string()];
        for k in episode_keys {
            pks.push(format!("{WATCH_PREFIX}{k}"));
            pks.push(format!("{OVERDUE_PREFIX}{k}"));
            pks.push(format!("{EPISODE_PREFIX}{k}"));
            if with_notices {
                pks.push(format!("{UNVERIFIED_PREFIX}{k}"));
            }
        }
        // Each instance's `onboarded#<instance-id>`, in the same batches.
        let instances: std::collections::BTreeSet<&str> = episode_keys
            .iter()
            .filter_map(|k| instance_of_key(k))
            .collect();
        pks.extend(instances.iter().map(|i| format!("{ONBOARDED_PREFIX}{i}")));
        let mut onboarded: HashMap<String, OnboardedBefore> = HashMap::new();
        let mut states: HashMap<String, EpisodeState> = HashMap::new();
        let mut overdue_now = None;
        for item in self.batch_get(pks).await? {
            let Some(pk) = pk_of(&item) else { continue };
            if let Some(id) = pk.strip_prefix(ONBOARDED_PREFIX) {
                if let Some(o) = from_item::<StoredOnboarded>(item).and_then(|o| o.into_domain()) {
                    onboarded.insert(id.to_string(), o);
                }
            } else if pk == OVERDUE_NOW_PK {
                overdue_now = from_item::<StoredOverdueNow>(item).and_then(|o| o.into_domain());
            } else if let Some(k) = pk.strip_prefix(WATCH_PREFIX) {
                let w = from_item::<StoredWatch>(item).map(|w| w.into_domain(now));
                states.entry(k.to_string()).or_default().watch = w;
            } else if let Some(k) = pk.strip_prefix(OVERDUE_PREFIX) {
                let live = from_item::<ClaimExpiry>(item)
                    .is_some_and(|c| c.expires_at.is_none_or(|e| e >= now.timestamp()));
                states.entry(k.to_string()).or_default().alerted = live;
            } else if let Some(k) = pk.strip_prefix(EPISODE_PREFIX) {
                states.entry(k.to_string()).or_default().done = true;
            } else if let Some(k) = pk.strip_prefix(UNVERIFIED_PREFIX) {
                let live = from_item::<ClaimExpiry>(item)
                    .is_some_and(|c| c.expires_at.is_none_or(|e| e >= now.timestamp()));
                states.entry(k.to_string()).or_default().notified = live;
            }
        }
        for k in episode_keys {
            if let Some(o) = instance_of_key(k).and_then(|i| onboarded.get(i)) {
                states.entry(k.clone()).or_default().onboarded_before = Some(*o);
            }
        }
        Ok((states, overdue_now))
    }

    /// Writes `watch#<key>` once, which is also the episode's `episode-started` entry on the
    /// router's timeline (`source`: `launch` or `stack`). `Ok(false)`: already there, or no
    /// table.
    pub async fn put_watch(
        &self,
        key: &str,
        instance_id: &str,
        started_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        w: &WatchItem,
        source: &str,
    ) -> Result<bool, AwsError> {
        self.put_if_absent(StoredWatch {
            pk: format!("{WATCH_PREFIX}{key}"),
            kind: "watch".into(),
            instance_id: instance_id.to_string(),
            started_at: epoch(started_at),
            first_seen_at: epoch(w.first_seen_at),
            expires_at: epoch(expires_at),
            router_name: w.router_name.clone(),
            ssr_version: w.ssr_version.clone(),
            onboarding_note: w.onboarding_note.clone(),
            onboarded_tag_at_start: w.onboarded_tag_at_start,
            mist_phase: w.mist_phase.clone(),
            start_source: Some(source.to_string()),
            list: Some(lists::timeline_list(instance_id)),
            list_at: Some(started_at.timestamp_millis()),
        })
        .await
    }

    /// Writes `episode#<key>` once (`measured`: with its duration). `Ok(false)`: already there.
    pub async fn put_episode(
        &self,
        key: &str,
        record: &EpisodeRecord,
        measured: bool,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, AwsError> {
        // Remembered first: should the record's write fail, the episode stays open and the
        // next sweep writes both.
        if record.proves_onboarded() {
            self.put_onboarded(record).await?;
        }
        self.put_if_absent(StoredEpisode {
            pk: format!("{EPISODE_PREFIX}{key}"),
            kind: if measured {
                KIND_EPISODE
            } else {
                KIND_EPISODE_UNMEASURED
            }
            .into(),
            instance_id: record.instance_id.clone(),
            router_name: record.router_name.clone(),
            started_at: epoch(record.started_at),
            onboarded_at: epoch(record.onboarded_at),
            alerted: record.alerted,
            onboarded_by: record.onboarded_by.clone(),
            duration_seconds: measured.then_some(record.duration_seconds),
            expires_at: epoch(expires_at),
            account: record.account.clone(),
            region: record.region.clone(),
            // The record is also the episode's `episode-finished` timeline entry.
            list: Some(lists::timeline_list(&record.instance_id)),
            list_at: Some(record.onboarded_at.timestamp_millis()),
        })
        .await
    }

    /// Which of `accounts` have been read at least once (`member-enrolled#<account>`, in
    /// batches of 100 keys). Without a table there is no history: every account counts as
    /// enrolled.
    pub async fn enrolled_accounts(
        &self,
        accounts: &[String],
    ) -> Result<std::collections::HashSet<String>, AwsError> {
        if self.table.is_none() {
            return Ok(accounts.iter().cloned().collect());
        }
        let keys = accounts
            .iter()
            .map(|a| format!("{MEMBER_ENROLLED_PREFIX}{a}"))
            .collect();
        Ok(self
            .batch_get(keys)
            .await?
            .into_iter()
            .filter_map(from_item::<StoredMemberEnrolled>)
            .map(|e| e.account)
            .collect())
    }

    /// Writes `member-enrolled#<account>` once (a conditional write). `Ok(false)`: already
    /// there, or no table.
    pub async fn put_member_enrolled(
        &self,
        account: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, AwsError> {
        self.put_if_absent(StoredMemberEnrolled {
            pk: format!("{MEMBER_ENROLLED_PREFIX}{account}"),
            kind: "member-enrolled".into(),
            account: account.to_string(),
            enrolled_at: epoch(now),
        })
        .await
    }

    /// Replaces the overdue list. `Ok(false)`: no table.
    pub async fn put_overdue_now(&self, overdue: &OverdueNow) -> Result<bool, AwsError> {
        let Some(table) = &self.table else {
            return Ok(false);
        };
        let routers = serde_json::to_string(&overdue.routers)
            .map_err(|e| AwsError::new("PutItem", "Serialization", e.to_string()))?;
        let item = to_item(
            "PutItem",
            StoredOverdueNow {
                pk: OVERDUE_NOW_PK.into(),
                kind: "overdue-now".into(),
                as_of: epoch(overdue.as_of),
                count: overdue.routers.len() as i64,
                routers,
            },
        )?;
        self.put_request(table, item)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("PutItem", e))?;
        Ok(true)
    }

    /// Every finished, measured onboarding episode, oldest first (Scan with a filter, all
    /// pages: for operator reports, not for per-event paths).
    pub async fn list_episodes(&self) -> Result<Vec<EpisodeRecord>, AwsError> {
        let mut out: Vec<EpisodeRecord> = self
            .scan_kind(KIND_EPISODE)
            .await?
            .into_iter()
            .filter_map(from_item::<StoredEpisode>)
            .filter_map(StoredEpisode::into_domain)
            .collect();
        out.sort_by_key(|e| (e.started_at, e.instance_id.clone()));
        Ok(out)
    }

    /// The routers overdue as of the latest sweep (`None`: no sweep has written the list yet).
    pub async fn overdue_now(&self) -> Result<Option<OverdueNow>, AwsError> {
        if self.table.is_none() {
            return Ok(None);
        }
        Ok(self
            .batch_get(vec![OVERDUE_NOW_PK.to_string()])
            .await?
            .into_iter()
            .next()
            .and_then(from_item::<StoredOverdueNow>)
            .and_then(StoredOverdueNow::into_domain))
    }

    /// A PutItem of `item` (which carries its `pk`).
    fn put_request(
        &self,
        table: &str,
        item: Item,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
    }

    /// Writes `item` only if no item with its key exists (records written once).
    /// `Ok(false)`: the item was already there (or no table is configured), nothing written.
    async fn put_if_absent<T: Serialize>(&self, item: T) -> Result<bool, AwsError> {
        let Some(table) = &self.table else {
            return Ok(false);
        };
        let res = self
            .put_request(table, to_item("PutItem", item)?)
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        conditional_put_result(res)
    }

    /// Every item whose `kind` is `kind` (Scan with a filter, all pages).
    async fn scan_kind(&self, kind: &str) -> Result<Vec<Item>, AwsError> {
        let mut out = Vec::new();
        let Some(table) = &self.table else {
            return Ok(out);
        };
        let mut pages = self
            .client
            .scan()
            .table_name(table)
            .filter_expression("#kind = :k")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_values(":k", AttributeValue::S(kind.to_string()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("Scan", e))?;
            out.extend(page.items().iter().cloned());
        }
        Ok(out)
    }

    /// BatchGetItem over any number of keys, retrying unprocessed keys. The batches are
    /// independent: up to [`BATCH_GET_CONCURRENCY`] run at once, so a sweep over 1,000 routers
    /// (about 40 batches) takes a few round trips, not 40.
    async fn batch_get(&self, pks: Vec<String>) -> Result<Vec<Item>, AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(Vec::new());
        };
        let batches: Vec<&[String]> = pks.chunks(BATCH_GET_MAX).collect();
        let mut out = Vec::new();
        for group in batches.chunks(BATCH_GET_CONCURRENCY) {
            let results =
                futures_util::future::join_all(group.iter().map(|b| self.batch_get_one(table, b)))
                    .await;
            for r in results {
                out.extend(r?);
            }
        }
        Ok(out)
    }

    /// One BatchGetItem of at most 100 keys, retrying its unprocessed keys.
    async fn batch_get_one(&self, table: &str, chunk: &[String]) -> Result<Vec<Item>, AwsError> {
        let mut out = Vec::new();
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
                tokio::time::sleep(std::time::Duration::from_millis(50 * 2u64.pow(attempt))).await;
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

/// The instance id of an episode key `<instance-id>#<start-epoch>`.
fn instance_of_key(key: &str) -> Option<&str> {
    key.rsplit_once('#')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty())
}

/// The per-instance onboarding memory and the acknowledgements (`ssr-onboard ack`).
impl StateStore {
    /// Writes `onboarded#<instance-id>` for an episode that ended onboarded through Mist,
    /// keeping the latest episode's (a replay or an older episode is held back by the
    /// condition). `Ok(false)`: nothing written.
    pub async fn put_onboarded(&self, record: &EpisodeRecord) -> Result<bool, AwsError> {
        let Some(table) = &self.table else {
            return Ok(false);
        };
        let item = to_item(
            "PutItem",
            StoredOnboarded {
                pk: format!("{ONBOARDED_PREFIX}{}", record.instance_id),
                kind: "onboarded".into(),
                instance_id: record.instance_id.clone(),
                onboarded_at: epoch(record.onboarded_at),
                episode_started_at: epoch(record.started_at),
                expires_at: epoch(record.onboarded_at + Duration::days(ONBOARDED_RETENTION_DAYS)),
            },
        )?;
        let res = self
            .put_request(table, item)
            .condition_expression("attribute_not_exists(pk) OR episode_started_at <= :s")
            .expression_attribute_values(
                ":s",
                AttributeValue::N(record.started_at.timestamp().to_string()),
            )
            .send()
            .await;
        conditional_put_result(res)
    }

    /// Closes the episode `key` as acknowledged: writes its record `episode#<key>` (kind
    /// `episode-acknowledged`) unless the episode already has one. `Ok(false)`: it had one
    /// (finished, or acknowledged before), or no table.
    pub async fn put_acknowledgement(
        &self,
        key: &str,
        ack: &Acknowledgement,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, AwsError> {
        self.put_if_absent(StoredAcknowledgement {
            pk: format!("{EPISODE_PREFIX}{key}"),
            kind: KIND_EPISODE_ACKNOWLEDGED.into(),
            instance_id: ack.instance_id.clone(),
            router_name: ack.router_name.clone(),
            started_at: epoch(ack.started_at),
            onboarded_at: epoch(ack.acknowledged_at),
            onboarded_by: ssr_domain::episode::records::ONBOARDED_BY_ACK.into(),
            alerted: ack.alerted,
            reason: ack.reason.clone(),
            acknowledged_by: ack.acknowledged_by.clone(),
            expires_at: epoch(expires_at),
            account: ack.account.clone(),
            region: ack.region.clone(),
            // Also the episode's `acknowledged` and `episode-finished` timeline entries.
            list: Some(lists::timeline_list(&ack.instance_id)),
            list_at: Some(ack.acknowledged_at.timestamp_millis()),
        })
        .await
    }

    /// The record of episode `key`, if it is closed: `Ok(Some(Ok(ack)))` acknowledged,
    /// `Ok(Some(Err(by)))` finished otherwise (`by`: its `onboarded_by`), `Ok(None)` open.
    pub async fn closed_episode(
        &self,
        key: &str,
    ) -> Result<Option<Result<Acknowledgement, Option<String>>>, AwsError> {
        let Some(item) = self
            .batch_get(vec![format!("{EPISODE_PREFIX}{key}")])
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let kind = item.get("kind").and_then(|v| v.as_s().ok()).cloned();
        if kind.as_deref() == Some(KIND_EPISODE_ACKNOWLEDGED) {
            if let Some(a) =
                from_item::<StoredAcknowledgement>(item.clone()).and_then(|a| a.into_domain())
            {
                return Ok(Some(Ok(a)));
            }
        }
        let by = item
            .get("onboarded_by")
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok(Some(Err(by)))
    }

    /// Every acknowledged episode, oldest first (Scan: for `report`).
    pub async fn list_acknowledgements(&self) -> Result<Vec<Acknowledgement>, AwsError> {
        let mut out: Vec<Acknowledgement> = self
            .scan_kind(KIND_EPISODE_ACKNOWLEDGED)
            .await?
            .into_iter()
            .filter_map(from_item::<StoredAcknowledgement>)
            .filter_map(StoredAcknowledgement::into_domain)
            .collect();
        out.sort_by_key(|a| (a.started_at, a.instance_id.clone()));
        Ok(out)
    }

    /// Every adopted episode that closed (kind `episode-unmeasured`: first seen past its
    /// deadline, closed when Mist showed it onboarded), oldest first (Scan: for `report`).
    pub async fn list_adopted_closed(&self) -> Result<Vec<ClosedEpisode>, AwsError> {
        let mut out: Vec<ClosedEpisode> = self
            .scan_kind(KIND_EPISODE_UNMEASURED)
            .await?
            .into_iter()
            .filter_map(from_item::<StoredEpisode>)
            .filter_map(StoredEpisode::into_closed)
            .collect();
        out.sort_by_key(|e| (e.started_at, e.instance_id.clone()));
        Ok(out)
    }
}
