//! `stack-watch`: CloudFormation events about router stacks, and the `Custom::SsrRouterGuard`
//! custom resource, in one function.
//!
//! **Dispatch.** One Lambda takes three payload shapes, told apart by their top-level keys: a
//! custom resource request has `RequestType` (CloudFormation invokes the function directly); an
//! EventBridge event has `source` and `detail-type` ("CloudFormation Resource Status Change" or
//! "CloudFormation Stack Status Change"). One function keeps one IAM role and one log group for
//! everything CloudFormation-related; the shapes cannot be confused (EventBridge events never
//! carry `RequestType`, custom resource requests never carry `detail-type`).
//!
//! **Router stacks.** A stack is a router stack when (checked in this order, cheapest first):
//! 1. its name (taken from the stack ARN, no AWS call) matches a `ROUTER_STACKS` glob;
//! 2. otherwise one DescribeStacks call shows the router tag key (`SSR-ROUTER` by default) on the
//!    stack, or the vendor template's parameters: a registration-code parameter and an
//!    SSR-version parameter (see [`vendor_parameters`]).
//!
//! An unrelated stack costs at most that one DescribeStacks call. Recognising a stack only decides
//! whether stack-level work happens; each instance of the stack is still selected by the guard's
//! own rule (router tag, `SSR-ROLE` on an interface, or `ROUTER_STACKS`) before anything is
//! written to it.
//!
//! **At least once, out of order.** A replayed `CREATE_COMPLETE` re-runs the guard, which plans
//! nothing on a router it already fixed, and the onboarding-start record keeps the latest start
//! (same time: no write). A failure alert is claimed in the state table
//! (`stack-alert#<stack-id>#<status>`) before it is sent, so a redelivery never pages twice. An
//! event about a stack or instance that no longer exists is a no-op.

pub mod events;
pub mod recognise;
mod resource;
mod stack;

use crate::deadline::Deadline;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use serde::Serialize;

pub use events::{
    ResourceStatusChange, StackStatusChange, StatusDetails, CFN_SOURCE,
    RESOURCE_STATUS_DETAIL_TYPE, STACK_STATUS_DETAIL_TYPE,
};
pub use recognise::{recognise_by_name, recognise_described, vendor_parameters, Recognition};
pub use stack::ONBOARDING_SOURCE;

use super::custom_resource::{self, CustomResourceOutcome, ResponseSender};
use super::guard::GuardOutcome;
use super::{parse_event, EventError, HandlerError};
use crate::alerting::AlertOutcome;
use crate::aws::cloudformation::stack_name_from_id;
pub use crate::aws::ec2::STACK_ID_TAG;
use crate::deps::Deps;
use crate::metrics::{Measured, Metrics, ALERTS_SENT, FINDINGS_OPEN, FIXES_APPLIED, FIXES_FAILED};
use crate::render::EventContext;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    StackStatusChange,
    ResourceStatusChange,
    CustomResource,
}

#[derive(Clone, Debug, Serialize)]
pub struct ResourceRef {
    pub logical_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_resource_id: Option<String>,
    pub resource_type: String,
}

/// The guard's work on one instance of the stack.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceResult {
    pub instance_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether an onboarding start was written for the watchdog (`false`: a later or equal start
    /// was already recorded, or no state table).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub onboarding_start_recorded: Option<bool>,
}

/// The JSON summary of one stack-watch invocation.
#[derive(Clone, Debug, Serialize)]
pub struct StackWatchOutcome {
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recognition: Option<Recognition>,
    /// What was done, or why nothing was.
    pub decision: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub instances: Vec<InstanceResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert: Option<AlertOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_resource: Option<CustomResourceOutcome>,
}

impl StackWatchOutcome {
    pub(crate) fn new(kind: EventKind, event_id: Option<String>) -> Self {
        StackWatchOutcome {
            kind,
            event_id,
            stack_id: None,
            stack_name: None,
            status: None,
            resource: None,
            recognition: None,
            decision: String::new(),
            instances: Vec::new(),
            alert: None,
            custom_resource: None,
        }
    }
}

/// Which of the three shapes `event` is.
pub fn classify(event: &serde_json::Value) -> Result<EventKind, EventError> {
    let Some(obj) = event.as_object() else {
        return Err(EventError::malformed(
            "expected a JSON object: a CloudFormation EventBridge event or a custom resource request",
        ));
    };
    if obj.contains_key("RequestType") {
        return Ok(EventKind::CustomResource);
    }
    let detail_type = obj.get("detail-type").and_then(|v| v.as_str());
    let source = obj.get("source").and_then(|v| v.as_str());
    match (source, detail_type) {
        (Some(CFN_SOURCE), Some(RESOURCE_STATUS_DETAIL_TYPE)) => {
            Ok(EventKind::ResourceStatusChange)
        }
        (Some(CFN_SOURCE), Some(STACK_STATUS_DETAIL_TYPE)) => Ok(EventKind::StackStatusChange),
        (None, None) => Err(EventError::malformed(
            "expected a CloudFormation EventBridge event (`source`, `detail-type`) or a custom \
             resource request (`RequestType`)",
        )),
        (s, d) => Err(EventError::malformed(format!(
            "expected source {CFN_SOURCE} and detail-type \"{RESOURCE_STATUS_DETAIL_TYPE}\" or \
             \"{STACK_STATUS_DETAIL_TYPE}\", got {} / \"{}\"",
            s.unwrap_or("(none)"),
            d.unwrap_or("(none)")
        ))),
    }
}

/// Lambda entry. `deadline` is the invocation's deadline (`LambdaEvent.context.deadline()`); the
/// custom resource answers CloudFormation before it.
pub async fn handle_event(
    deps: &Deps,
    sender: &ResponseSender,
    event: serde_json::Value,
    deadline: impl Into<Deadline>,
) -> Result<StackWatchOutcome, HandlerError> {
    let deadline: Deadline = deadline.into();
    match classify(&event)? {
        EventKind::CustomResource => {
            // A router stack in a member account: its StackId names the account and region.
            let scope = event
                .get("StackId")
                .and_then(|v| v.as_str())
                .and_then(crate::aws::cloudformation::stack_account_region)
                .map(|(a, r)| (a.to_string(), r.to_string()));
            let deps = &match &scope {
                Some((a, r)) => deps.scoped(Some(a), Some(r)).await?,
                None => deps.clone(),
            };
            let cr = custom_resource::handle_request(deps, sender, event, deadline).await?;
            let mut o = StackWatchOutcome::new(EventKind::CustomResource, None);
            o.stack_id = Some(cr.stack_id.clone()).filter(|s| !s.is_empty());
            o.stack_name = o
                .stack_id
                .as_deref()
                .and_then(stack_name_from_id)
                .map(String::from);
            o.decision = format!(
                "custom resource {} answered {}",
                cr.request_type,
                cr.status.as_str()
            );
            o.custom_resource = Some(cr);
            Ok(o)
        }
        EventKind::ResourceStatusChange => {
            let ev: EventBridgeEvent<ResourceStatusChange> = parse_event(
                "an EventBridge \"CloudFormation Resource Status Change\"",
                event,
            )?;
            let deps = &deps
                .scoped(ev.account.as_deref(), ev.region.as_deref())
                .await?;
            resource::handle_resource_event(deps, ev, deadline).await
        }
        EventKind::StackStatusChange => {
            let ev: EventBridgeEvent<StackStatusChange> = parse_event(
                "an EventBridge \"CloudFormation Stack Status Change\"",
                event,
            )?;
            let deps = &deps
                .scoped(ev.account.as_deref(), ev.region.as_deref())
                .await?;
            stack::handle_stack_event(deps, ev, deadline).await
        }
    }
}

pub(crate) fn context(
    ev_region: Option<String>,
    account: Option<String>,
    id: Option<String>,
    deps: &Deps,
    trigger: String,
) -> EventContext {
    EventContext {
        trigger,
        region: ev_region.or_else(|| deps.region.clone()),
        account: account.or_else(|| deps.account.clone()),
        event_id: id,
        account_name: None,
        member: deps.is_member(),
    }
}

// ------------------------------------------------------------------ stack status changes

/// One stack-watch invocation: the guard metrics of every instance it checked, summed, plus the
/// stack alert.
impl Measured for StackWatchOutcome {
    fn metrics(&self) -> Metrics {
        let o = self;
        let mut m = Metrics::default();
        for name in [FINDINGS_OPEN, FIXES_APPLIED, FIXES_FAILED, ALERTS_SENT] {
            m.count(name, 0);
        }
        let guards = o
            .instances
            .iter()
            .filter_map(|i| i.guard.as_ref())
            .chain(o.custom_resource.as_ref().and_then(|c| c.guard.as_ref()));
        for g in guards {
            m.merge(g.metrics());
        }
        m.count(
            ALERTS_SENT,
            usize::from(o.alert.as_ref().is_some_and(|a| a.sent)),
        );
        m
    }
}

#[cfg(test)]
mod tests;
