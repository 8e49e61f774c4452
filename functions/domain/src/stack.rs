//! A CloudFormation stack as the stack watcher sees it: plain data, secret parameter values
//! already hidden by the adapter (the core's `aws::cloudformation`) that reads it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// A stack parameter as it may be shown: the value only when it is not secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackParameter {
    pub key: String,
    /// `None` when hidden (NoEcho or a secret-looking key).
    pub value: Option<String>,
}

/// The facts about one stack that the watcher uses. Holds no secret parameter value.
#[derive(Clone, Debug, Serialize)]
pub struct StackInfo {
    pub stack_id: String,
    pub stack_name: String,
    pub status: String,
    pub status_reason: Option<String>,
    /// The identity of the stack's current (or last) operation: DescribeStacks' LastUpdatedTime,
    /// else its CreationTime. Every status of one operation shares it.
    pub operation_started: Option<DateTime<Utc>>,
    pub parameters: Vec<StackParameter>,
    pub tags: BTreeMap<String, String>,
}

/// One stack event, reduced to what a person needs to see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackEventInfo {
    pub timestamp: Option<DateTime<Utc>>,
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    pub status: String,
    pub reason: Option<String>,
}

impl StackEventInfo {
    /// Is this the stack's own event (rather than one of its resources')?
    pub fn is_stack_level(&self, stack_id: &str, stack_name: &str) -> bool {
        self.resource_type == "AWS::CloudFormation::Stack"
            && (self.physical_resource_id.as_deref() == Some(stack_id)
                || self.logical_resource_id == stack_name)
    }
}

/// One resource of a stack (ListStackResources).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackResource {
    pub logical_resource_id: String,
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    pub status: String,
}
