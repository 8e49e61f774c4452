//! The state table's one global secondary index, [`LISTS_INDEX`]: the short lists a function
//! reads without a scan. An item is in the list named by its `list` attribute, ordered by
//! `list_at` (a number), for as long as it carries both; removing them takes it out. DynamoDB
//! adds one index per table update, so every list shares this index: a new list needs no
//! template change. Lists: [`OUTBOX_LIST`] (alerts not yet confirmed sent, by lease end),
//! [`FINDINGS_OPEN_LIST`] (open guard-findings incidents, by opening time) and
//! [`timeline_list`] (one router's timeline, by time).

use aws_sdk_dynamodb::types::AttributeValue;

use super::{AwsError, Item, StateStore};

/// The index (partition `list` S, sort `list_at` N, all attributes projected).
pub const LISTS_INDEX: &str = "lists";
/// The partition attribute: the list's name.
pub const LIST_ATTR: &str = "list";
/// The sort attribute: the item's place in its list (epoch seconds or milliseconds).
pub const LIST_AT_ATTR: &str = "list_at";

/// Alerts not yet confirmed sent, by the end of their lease.
pub const OUTBOX_LIST: &str = "outbox";
/// Guard-findings incidents still open, by opening time (the sweep re-checks their routers).
pub const FINDINGS_OPEN_LIST: &str = "findings-open";

/// One router's timeline, by time.
pub fn timeline_list(instance_id: &str) -> String {
    format!("timeline#{instance_id}")
}

/// The bounds of a list Query on `list_at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListRange {
    /// Every item.
    All,
    /// Items whose `list_at` is below this.
    Below(i64),
}

impl StateStore {
    /// The items of `list` in `list_at` order, at most `limit` (`None`: every page). No table:
    /// nothing.
    pub async fn list_items(
        &self,
        list: &str,
        range: ListRange,
        limit: Option<i32>,
    ) -> Result<Vec<Item>, AwsError> {
        let Some(table) = self.table.as_deref() else {
            return Ok(Vec::new());
        };
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(table)
                .index_name(LISTS_INDEX)
                .expression_attribute_names("#l", LIST_ATTR)
                .expression_attribute_values(":l", AttributeValue::S(list.to_string()))
                .set_exclusive_start_key(start.take());
            q = match range {
                ListRange::All => q.key_condition_expression("#l = :l"),
                ListRange::Below(at) => q
                    .key_condition_expression("#l = :l AND #at < :at")
                    .expression_attribute_names("#at", LIST_AT_ATTR)
                    .expression_attribute_values(":at", AttributeValue::N(at.to_string())),
            };
            if let Some(limit) = limit {
                q = q.limit(limit);
            }
            let out = q.send().await.map_err(|e| AwsError::from_sdk("Query", e))?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) if limit.is_none() && !key.is_empty() => start = Some(key),
                _ => return Ok(items),
            }
        }
    }
}
