//! One router's timeline in the state table ([`crate::timeline`] has the entries): the items in
//! the list [`timeline_list`] of the table's index (`list_at` = the entry's epoch milliseconds).
//!
//! - Items the functions write anyway join the list in the same call, at no extra cost: an
//!   episode's `watch#<key>` (its `episode-started` entry), its record `episode#<key>`
//!   (`episode-finished`; acknowledged: `acknowledged` and `episode-finished`). They keep their
//!   own expiry (the episodes' 90 days).
//! - Everything else is one item per entry, `timeline#<instance-id>#<millis>#<kind>#…`, expiring
//!   [`RETENTION_DAYS`] after it was written: fixes, findings and alerts, Mist phase changes,
//!   webhook events. The key is the entry's identity, so writing an entry twice rewrites the
//!   same item; the callers record only what they have just won or changed, so a replayed
//!   event records nothing at all.
//!
//! A timeline write is never on an alert's or a fix's way: callers run it beside the write they
//! already make, and a failed timeline write is logged (warn) and never fails the caller.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{
    epoch, from_epoch, StoredAcknowledgement, StoredEpisode, StoredWatch, EPISODE_PREFIX,
    KIND_EPISODE, KIND_EPISODE_ACKNOWLEDGED, KIND_EPISODE_UNMEASURED, WATCH_PREFIX,
};
use super::lists::{timeline_list, ListRange};
use super::{from_item, to_item, AwsError, Item, StateStore};
use crate::timeline::{Entry, EntryKind, RETENTION_DAYS};

/// The `kind` of a timeline item (beside the entry's own kind, `entry`).
pub const KIND_TIMELINE: &str = "timeline";

#[derive(Serialize, Deserialize)]
struct StoredEntry {
    pk: String,
    kind: String,
    instance_id: String,
    /// The entry's kind (`fix`, `alert`, …).
    entry: EntryKind,
    /// Epoch milliseconds.
    at: i64,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    list: String,
    list_at: i64,
    expires_at: i64,
}

/// The key of `entry` in `instance_id`'s timeline.
pub fn entry_pk(instance_id: &str, entry: &Entry) -> String {
    format!("{}#{}", timeline_list(instance_id), entry.discriminator())
}

impl StateStore {
    /// Writes `entries` to `instance_id`'s timeline (one PutItem each, all at once). Never
    /// fails: a failed write is logged and dropped (the timeline is a record, not a decision).
    /// No table or no entries: nothing.
    pub async fn record_timeline(&self, instance_id: &str, entries: &[Entry], now: DateTime<Utc>) {
        if let Err(e) = self.try_record_timeline(instance_id, entries, now).await {
            tracing::warn!(instance_id, error = %e, "timeline entry not recorded");
        }
    }

    /// [`StateStore::record_timeline`], with the first error.
    pub async fn try_record_timeline(
        &self,
        instance_id: &str,
        entries: &[Entry],
        now: DateTime<Utc>,
    ) -> Result<(), AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(());
        };
        if entries.is_empty() {
            return Ok(());
        }
        let expires_at = epoch(now + Duration::days(RETENTION_DAYS));
        let mut puts = Vec::with_capacity(entries.len());
        for e in entries {
            let item = to_item(
                "PutItem",
                StoredEntry {
                    pk: entry_pk(instance_id, e),
                    kind: KIND_TIMELINE.into(),
                    instance_id: instance_id.to_string(),
                    entry: e.kind,
                    at: e.at.timestamp_millis(),
                    fields: e.fields.clone(),
                    list: timeline_list(instance_id),
                    list_at: e.at.timestamp_millis(),
                    expires_at,
                },
            )?;
            puts.push(self.put_request(table, item).send());
        }
        for r in futures_util::future::join_all(puts).await {
            r.map_err(|e| AwsError::from_sdk("PutItem", e))?;
        }
        Ok(())
    }

    /// Remembers `phase` as episode `key`'s Mist phase on its `watch#<key>` item, only if it
    /// differs from the one there (a conditional UpdateItem), and on that change records a
    /// `mist-phase` entry on `instance_id`'s timeline. `Ok(false)`: no change (a replayed or
    /// overlapping sweep), no watch item, or no table; nothing recorded.
    pub async fn mist_phase_seen(
        &self,
        instance_id: &str,
        key: &str,
        phase: &str,
        previous: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(false);
        };
        let res = self
            .client
            .update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(format!("{WATCH_PREFIX}{key}")))
            .update_expression("SET mist_phase = :p")
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(mist_phase) OR mist_phase <> :p)",
            )
            .expression_attribute_values(":p", AttributeValue::S(phase.to_string()))
            .send()
            .await;
        if let Err(e) = res {
            let err = AwsError::from_sdk("UpdateItem", e);
            if err.is("ConditionalCheckFailedException") {
                return Ok(false);
            }
            return Err(err);
        }
        let entry = [Entry::mist_phase(now, key, phase, previous)];
        self.record_timeline(instance_id, &entry, now).await;
        Ok(true)
    }

    /// `instance_id`'s timeline entries, oldest first (a Query of its list, every page).
    /// Entries past their expiry that DynamoDB has not deleted yet are left out.
    pub async fn timeline(
        &self,
        instance_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Entry>, AwsError> {
        let items = self
            .list_items(&timeline_list(instance_id), ListRange::All, None)
            .await?;
        let mut entries: Vec<Entry> = items
            .into_iter()
            .filter(|i| {
                i.get("expires_at")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_none_or(|e| e >= now.timestamp())
            })
            .flat_map(entries_of)
            .collect();
        crate::timeline::sort(&mut entries);
        Ok(entries)
    }
}

/// The entries one item of a timeline list stands for: a timeline entry, or an item the
/// functions write anyway that is also on the list (the episode's watch item: started; its
/// record: finished; an acknowledgement: acknowledged and finished).
fn entries_of(item: Item) -> Vec<Entry> {
    let kind = item.get("kind").and_then(|v| v.as_s().ok()).cloned();
    let key = |pk: &str, prefix: &str| pk.strip_prefix(prefix).unwrap_or(pk).to_string();
    match kind.as_deref() {
        Some(KIND_TIMELINE) => from_item::<StoredEntry>(item)
            .and_then(|s| {
                Some(Entry {
                    at: DateTime::from_timestamp_millis(s.at)?,
                    kind: s.entry,
                    fields: s.fields,
                })
            })
            .into_iter()
            .collect(),
        Some("watch") => from_item::<StoredWatch>(item)
            .and_then(|w| {
                Some(Entry::episode_started(
                    from_epoch(w.started_at)?,
                    &key(&w.pk, WATCH_PREFIX),
                    w.start_source.as_deref().unwrap_or("launch"),
                ))
            })
            .into_iter()
            .collect(),
        Some(k @ (KIND_EPISODE | KIND_EPISODE_UNMEASURED)) => {
            let measured = k == KIND_EPISODE;
            from_item::<StoredEpisode>(item)
                .and_then(|r| {
                    Some(Entry::episode_finished(
                        from_epoch(r.onboarded_at)?,
                        &key(&r.pk, EPISODE_PREFIX),
                        from_epoch(r.started_at)?,
                        r.onboarded_by.as_deref(),
                        measured,
                    ))
                })
                .into_iter()
                .collect()
        }
        Some(KIND_EPISODE_ACKNOWLEDGED) => from_item::<StoredAcknowledgement>(item)
            .and_then(|a| {
                let at = from_epoch(a.onboarded_at)?;
                let episode = key(&a.pk, EPISODE_PREFIX);
                Some(vec![
                    Entry::acknowledged(at, &episode, &a.acknowledged_by, a.reason.as_deref()),
                    Entry::episode_finished(
                        at,
                        &episode,
                        from_epoch(a.started_at)?,
                        Some(&a.onboarded_by),
                        false,
                    ),
                ])
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}
