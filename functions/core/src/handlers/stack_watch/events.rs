//! The CloudFormation events stack-watch takes, and the one list of what it acts on (the
//! EventBridge rules in infra/template.yaml deliver exactly these).

use serde::{Deserialize, Serialize};

pub const CFN_SOURCE: &str = "aws.cloudformation";
pub const RESOURCE_STATUS_DETAIL_TYPE: &str = "CloudFormation Resource Status Change";
pub const STACK_STATUS_DETAIL_TYPE: &str = "CloudFormation Stack Status Change";

/// A resource type whose completion runs the guard on its instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchedResource {
    /// `AWS::EC2::Instance`: the physical id is the instance id.
    Instance,
    /// `AWS::EC2::NetworkInterface`: the instance the interface is attached to.
    NetworkInterface,
    /// `AWS::EC2::NetworkInterfaceAttachment`: the instance of the interface with that attachment.
    NetworkInterfaceAttachment,
}

impl WatchedResource {
    /// Every watched type: the one list ([`WATCHED_RESOURCE_TYPES`] is its names).
    pub const ALL: [WatchedResource; 3] = [
        WatchedResource::Instance,
        WatchedResource::NetworkInterface,
        WatchedResource::NetworkInterfaceAttachment,
    ];

    /// The CloudFormation resource type (`detail.resource-type`).
    pub const fn resource_type(self) -> &'static str {
        match self {
            WatchedResource::Instance => "AWS::EC2::Instance",
            WatchedResource::NetworkInterface => "AWS::EC2::NetworkInterface",
            WatchedResource::NetworkInterfaceAttachment => "AWS::EC2::NetworkInterfaceAttachment",
        }
    }

    /// The watched type named `resource_type`, if it is one.
    pub fn from_resource_type(resource_type: &str) -> Option<WatchedResource> {
        Self::ALL
            .into_iter()
            .find(|w| w.resource_type() == resource_type)
    }
}

/// Resource types whose completion runs the guard on their instance (the names of
/// [`WatchedResource::ALL`]).
pub const WATCHED_RESOURCE_TYPES: &[&str] = &{
    let mut names = [""; WatchedResource::ALL.len()];
    let mut i = 0;
    while i < names.len() {
        names[i] = WatchedResource::ALL[i].resource_type();
        i += 1;
    }
    names
};
/// Resource statuses acted on.
pub const WATCHED_RESOURCE_STATUSES: &[&str] = &["CREATE_COMPLETE", "UPDATE_COMPLETE"];
/// Stack statuses after which a router stack's instances are guarded.
pub const STACK_COMPLETE_STATUSES: &[&str] = &["CREATE_COMPLETE", "UPDATE_COMPLETE"];
/// Stack statuses that page on-call.
pub const STACK_FAILURE_STATUSES: &[&str] = &[
    "CREATE_FAILED",
    "ROLLBACK_IN_PROGRESS",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_FAILED",
    "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "DELETE_FAILED",
];

/// Failure statuses that end an operation worse than its first failure (the rollback or the
/// delete itself failed): they page again even when the operation already paged.
pub const STACK_WORSE_FAILURE_STATUSES: &[&str] =
    &["ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED", "DELETE_FAILED"];

/// The claim that makes one stack operation page once: the stack id and the operation's
/// identity (its start time); a worse ending gets a claim of its own.
pub fn failure_claim_key(
    stack_id: &str,
    operation_started: Option<chrono::DateTime<chrono::Utc>>,
    status: &str,
) -> String {
    let op = operation_started
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| "unknown-operation".into());
    if STACK_WORSE_FAILURE_STATUSES.contains(&status) {
        format!("stack-alert#{stack_id}#{op}#{status}")
    } else {
        format!("stack-alert#{stack_id}#{op}")
    }
}

pub fn is_failure(status: &str) -> bool {
    STACK_FAILURE_STATUSES.contains(&status)
}

pub fn is_complete(status: &str) -> bool {
    STACK_COMPLETE_STATUSES.contains(&status)
}

/// `detail.status-details` of both CloudFormation event types.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StatusDetails {
    pub status: String,
    #[serde(default)]
    pub status_reason: Option<String>,
}

/// `detail` of "CloudFormation Resource Status Change".
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ResourceStatusChange {
    pub stack_id: String,
    pub logical_resource_id: String,
    #[serde(default)]
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
    pub status_details: StatusDetails,
}

/// `detail` of "CloudFormation Stack Status Change".
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StackStatusChange {
    pub stack_id: String,
    pub status_details: StatusDetails,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_resource_type_is_read_then_only_the_watched_names_map_to_their_type() {
        assert_eq!(
            WATCHED_RESOURCE_TYPES,
            [
                "AWS::EC2::Instance",
                "AWS::EC2::NetworkInterface",
                "AWS::EC2::NetworkInterfaceAttachment"
            ]
        );
        for w in WatchedResource::ALL {
            assert_eq!(
                WatchedResource::from_resource_type(w.resource_type()),
                Some(w)
            );
        }
        for other in [
            "AWS::EC2::EIP",
            "AWS::EC2::Subnet",
            "aws::ec2::instance",
            "",
        ] {
            assert_eq!(WatchedResource::from_resource_type(other), None, "{other}");
        }
    }
}
