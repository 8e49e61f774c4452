//! CloudFormation adapter: the reads the stack watcher needs (DescribeStacks, DescribeStackEvents,
//! ListStackResources). Stack parameters are redacted here, before they leave the adapter, so a
//! registration code can never reach a log line, an alert or a result.
//!
//! NoEcho: real CloudFormation returns NoEcho parameter values as `****` in DescribeStacks; some
//! emulators (moto) return them in clear. Neither tells which parameters are NoEcho, so a value is
//! hidden when it is `****` **or** its key looks secret ([`is_secret_key`]).

use aws_sdk_cloudformation::types::{Stack, StackEvent};
use chrono::{DateTime, Utc};
pub use ssr_domain::stack::{StackEventInfo, StackInfo, StackParameter, StackResource};

use super::AwsError;

/// What DescribeStacks shows for a NoEcho parameter.
pub const MASKED_VALUE: &str = "****";

/// Pages of DescribeStackEvents read at most (100 events a page) when looking for the current
/// operation's start; older events are not needed to find a root cause.
const MAX_EVENT_PAGES: usize = 10;

#[derive(Clone, Debug)]
pub struct CloudFormation {
    client: aws_sdk_cloudformation::Client,
}

/// Does a parameter key look like it holds a secret? `/regist|code|token|secret|password|key/i`,
/// except the EC2 key pair name parameter `KeyName`.
pub fn is_secret_key(key: &str) -> bool {
    if key == "KeyName" {
        return false;
    }
    let k = key.to_ascii_lowercase();
    ["regist", "code", "token", "secret", "password", "key"]
        .iter()
        .any(|w| k.contains(w))
}

/// The stack name inside a stack id (`arn:aws:cloudformation:region:acct:stack/<name>/<uuid>`);
/// a value that is not an ARN is taken to be the name itself.
pub fn stack_name_from_id(stack_id: &str) -> Option<&str> {
    if !stack_id.starts_with("arn:") {
        return Some(stack_id).filter(|s| !s.is_empty());
    }
    stack_id
        .splitn(6, ':')
        .nth(5)
        .and_then(|res| res.strip_prefix("stack/"))
        .and_then(|rest| rest.split('/').next())
        .filter(|s| !s.is_empty())
}

/// The account and region of a stack ARN (`arn:aws:cloudformation:REGION:ACCOUNT:stack/…`).
pub fn stack_account_region(stack_id: &str) -> Option<(&str, &str)> {
    let mut parts = stack_id.splitn(6, ':');
    let (arn, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
    let (region, account) = (parts.next()?, parts.next()?);
    (arn == "arn" && service == "cloudformation" && !region.is_empty() && !account.is_empty())
        .then_some((account, region))
}

fn parameters_of(stack: &Stack) -> Vec<StackParameter> {
    stack
        .parameters()
        .iter()
        .filter_map(|p| {
            let key = p.parameter_key()?.to_string();
            let value = p
                .parameter_value()
                .filter(|v| *v != MASKED_VALUE && !is_secret_key(&key))
                .map(String::from);
            Some(StackParameter { key, value })
        })
        .collect()
}

fn time_of(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn event_info(e: &StackEvent) -> StackEventInfo {
    StackEventInfo {
        timestamp: time_of(e.timestamp()),
        logical_resource_id: e.logical_resource_id().unwrap_or_default().to_string(),
        physical_resource_id: e
            .physical_resource_id()
            .filter(|p| !p.is_empty())
            .map(String::from),
        resource_type: e.resource_type().unwrap_or_default().to_string(),
        status: e
            .resource_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        reason: e
            .resource_status_reason()
            .filter(|r| !r.is_empty())
            .map(String::from),
    }
}

/// Stack-level statuses that begin an operation: the events of the current operation are the
/// ones from the newest of these on.
fn starts_operation(status: &str) -> bool {
    matches!(
        status,
        "CREATE_IN_PROGRESS" | "UPDATE_IN_PROGRESS" | "DELETE_IN_PROGRESS" | "IMPORT_IN_PROGRESS"
    )
}

impl CloudFormation {
    pub fn new(client: aws_sdk_cloudformation::Client) -> Self {
        CloudFormation { client }
    }

    /// DescribeStacks for one stack (name or id); `None` when it does not exist (CloudFormation
    /// answers `ValidationError: Stack with id X does not exist`).
    pub async fn describe_stack(&self, name_or_id: &str) -> Result<Option<StackInfo>, AwsError> {
        let res = self
            .client
            .describe_stacks()
            .stack_name(name_or_id)
            .send()
            .await;
        let out = match res {
            Ok(out) => out,
            Err(e) => {
                let err = AwsError::from_sdk("DescribeStacks", e);
                if err.is("ValidationError") && err.message.contains("does not exist") {
                    return Ok(None);
                }
                return Err(err);
            }
        };
        Ok(out.stacks().first().map(|s| StackInfo {
            stack_id: s.stack_id().unwrap_or(name_or_id).to_string(),
            stack_name: s
                .stack_name()
                .map(String::from)
                .or_else(|| stack_name_from_id(name_or_id).map(String::from))
                .unwrap_or_default(),
            status: s
                .stack_status()
                .map(|v| v.as_str().to_string())
                .unwrap_or_default(),
            status_reason: s
                .stack_status_reason()
                .filter(|r| !r.is_empty())
                .map(String::from),
            operation_started: s
                .last_updated_time()
                .or(s.creation_time())
                .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos())),
            parameters: parameters_of(s),
            tags: s
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        }))
    }

    /// The events of the stack's current operation, newest first: DescribeStackEvents pages are
    /// read until one reaches the stack-level event that started the operation
    /// (`CREATE_IN_PROGRESS`, `UPDATE_IN_PROGRESS`…), at most [`MAX_EVENT_PAGES`] pages.
    pub async fn current_operation_events(
        &self,
        stack_id: &str,
        stack_name: &str,
    ) -> Result<Vec<StackEventInfo>, AwsError> {
        let mut out = Vec::new();
        let mut next: Option<String> = None;
        for _ in 0..MAX_EVENT_PAGES {
            let page = self
                .client
                .describe_stack_events()
                .stack_name(stack_id)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("DescribeStackEvents", e))?;
            for e in page.stack_events() {
                let info = event_info(e);
                let start =
                    info.is_stack_level(stack_id, stack_name) && starts_operation(&info.status);
                out.push(info);
                if start {
                    return Ok(out);
                }
            }
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// ListStackResources, all pages.
    pub async fn stack_resources(&self, stack_id: &str) -> Result<Vec<StackResource>, AwsError> {
        let mut out = Vec::new();
        let mut pages = self
            .client
            .list_stack_resources()
            .stack_name(stack_id)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("ListStackResources", e))?;
            out.extend(page.stack_resource_summaries().iter().map(|r| {
                StackResource {
                    logical_resource_id: r.logical_resource_id().unwrap_or_default().to_string(),
                    physical_resource_id: r
                        .physical_resource_id()
                        .filter(|p| !p.is_empty())
                        .map(String::from),
                    resource_type: r.resource_type().unwrap_or_default().to_string(),
                    status: r
                        .resource_status()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default(),
                }
            }));
        }
        Ok(out)
    }
}

/// The root cause of a failed operation: its resource events in a `*_FAILED` status, oldest first
/// (`events` as returned by [`CloudFormation::current_operation_events`], newest first).
pub fn failed_resource_events<'a>(
    events: &'a [StackEventInfo],
    stack_id: &str,
    stack_name: &str,
) -> Vec<&'a StackEventInfo> {
    let mut failed: Vec<&StackEventInfo> = events
        .iter()
        .filter(|e| e.status.ends_with("_FAILED") && !e.is_stack_level(stack_id, stack_name))
        .collect();
    failed.reverse();
    // "Resource creation cancelled" follows the real failure; keep it, but after the others.
    failed.sort_by_key(|e| e.reason.as_deref().is_some_and(|r| r.contains("cancelled")));
    failed
}

#[cfg(test)]
mod tests;
