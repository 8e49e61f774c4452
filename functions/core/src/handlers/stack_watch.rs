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

use std::collections::HashMap;
use std::fmt::Write;
use std::time::SystemTime;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ec2::types::Filter;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::custom_resource::{self, CustomResourceOutcome, ResponseSender};
use super::guard::{guard_instance, AlertOutcome, GuardOutcome};
use super::{parse_event, EventError, HandlerError};
use crate::aws::cloudformation::{
    failed_resource_events, stack_name_from_id, StackEventInfo, StackInfo,
};
use crate::aws::state::Claim;
use crate::config::Config;
use crate::deps::Deps;
use crate::render::{self, Alert, EventContext};

pub const CFN_SOURCE: &str = "aws.cloudformation";
pub const RESOURCE_STATUS_DETAIL_TYPE: &str = "CloudFormation Resource Status Change";
pub const STACK_STATUS_DETAIL_TYPE: &str = "CloudFormation Stack Status Change";
/// `source` of the onboarding-start records this function writes.
pub const ONBOARDING_SOURCE: &str = "stack-watch";
/// The tag CloudFormation puts on every instance it creates.
pub const STACK_ID_TAG: &str = "aws:cloudformation:stack-id";
/// Failed resources listed in a stack alert.
const MAX_ROOT_CAUSES: usize = 3;

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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    StackStatusChange,
    ResourceStatusChange,
    CustomResource,
}

/// Is this a router stack, and why (or why not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recognition {
    pub router: bool,
    pub reason: String,
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
    fn new(kind: EventKind, event_id: Option<String>) -> Self {
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
    deadline: SystemTime,
) -> Result<StackWatchOutcome, HandlerError> {
    match classify(&event)? {
        EventKind::CustomResource => {
            let cr = custom_resource::handle_request(deps, sender, event, deadline).await?;
            let mut o = StackWatchOutcome::new(EventKind::CustomResource, None);
            o.stack_id = Some(cr.stack_id.clone()).filter(|s| !s.is_empty());
            o.stack_name = o
                .stack_id
                .as_deref()
                .and_then(stack_name_from_id)
                .map(String::from);
            o.decision = format!("custom resource {} answered {}", cr.request_type, cr.status);
            o.custom_resource = Some(cr);
            Ok(o)
        }
        EventKind::ResourceStatusChange => {
            let ev: EventBridgeEvent<ResourceStatusChange> = parse_event(
                "an EventBridge \"CloudFormation Resource Status Change\"",
                event,
            )?;
            handle_resource_event(deps, ev).await
        }
        EventKind::StackStatusChange => {
            let ev: EventBridgeEvent<StackStatusChange> = parse_event(
                "an EventBridge \"CloudFormation Stack Status Change\"",
                event,
            )?;
            handle_stack_event(deps, ev).await
        }
    }
}

fn context(
    ev_region: Option<String>,
    account: Option<String>,
    id: Option<String>,
    deps: &Deps,
    trigger: String,
) -> EventContext {
    EventContext {
        trigger,
        region: ev_region.or_else(|| deps.region.clone()),
        account,
        event_id: id,
    }
}

// ------------------------------------------------------------------ resource status changes

async fn handle_resource_event(
    deps: &Deps,
    ev: EventBridgeEvent<ResourceStatusChange>,
) -> Result<StackWatchOutcome, HandlerError> {
    let d = &ev.detail;
    let status = d.status_details.status.as_str();
    let stack_name = stack_name_from_id(&d.stack_id).map(String::from);
    let mut o = StackWatchOutcome::new(EventKind::ResourceStatusChange, ev.id.clone());
    o.stack_id = Some(d.stack_id.clone());
    o.stack_name = stack_name.clone();
    o.status = Some(status.to_string());
    o.resource = Some(ResourceRef {
        logical_resource_id: d.logical_resource_id.clone(),
        physical_resource_id: d.physical_resource_id.clone(),
        resource_type: d.resource_type.clone(),
    });
    let span = tracing::info_span!(
        "stack_watch",
        event_id = ev.id.as_deref().unwrap_or(""),
        stack = stack_name.as_deref().unwrap_or(""),
        resource = %d.logical_resource_id
    );
    let _enter = span.enter();

    if !matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE") {
        o.decision = format!(
            "resource status {status} is not acted on (only CREATE_COMPLETE, UPDATE_COMPLETE)"
        );
        tracing::info!(status, decision = "ignore", "resource status not acted on");
        return Ok(o);
    }
    let physical = d
        .physical_resource_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    let instance_id = match d.resource_type.as_str() {
        "AWS::EC2::Instance" => match physical {
            Some(id) if id.starts_with("i-") => Some(id.to_string()),
            other => {
                return Err(EventError::malformed(format!(
                "detail.physical-resource-id `{}` of an AWS::EC2::Instance is not an instance id",
                other.unwrap_or("")
            ))
                .into())
            }
        },
        "AWS::EC2::NetworkInterface" => {
            let Some(eni) = physical.filter(|p| p.starts_with("eni-")) else {
                return Err(EventError::malformed(format!(
                    "detail.physical-resource-id `{}` of an AWS::EC2::NetworkInterface is not an interface id",
                    physical.unwrap_or("")
                ))
                .into());
            };
            match deps.ec2.describe_interface(eni).await? {
                None => {
                    o.decision = format!("interface {eni} no longer exists: nothing to do");
                    tracing::info!(eni_id = eni, decision = "no-op", "interface not found");
                    return Ok(o);
                }
                Some(n) => n
                    .attachment()
                    .and_then(|a| a.instance_id())
                    .map(String::from),
            }
        }
        "AWS::EC2::NetworkInterfaceAttachment" => {
            let Some(attachment) = physical else {
                return Err(EventError::malformed(
                    "detail.physical-resource-id of an AWS::EC2::NetworkInterfaceAttachment is empty",
                )
                .into());
            };
            match deps.ec2.interface_by_attachment(attachment).await? {
                None => {
                    o.decision = format!(
                        "no interface has attachment {attachment} (any more): nothing to do"
                    );
                    tracing::info!(
                        attachment_id = attachment,
                        decision = "no-op",
                        "attachment not found"
                    );
                    return Ok(o);
                }
                Some(n) => n
                    .attachment()
                    .and_then(|a| a.instance_id())
                    .map(String::from),
            }
        }
        other => {
            o.decision = format!("resource type {other} is not watched");
            tracing::info!(
                resource_type = other,
                decision = "ignore",
                "resource type not watched"
            );
            return Ok(o);
        }
    };
    let Some(instance_id) = instance_id else {
        o.decision = "the interface is not attached to an instance (yet): the instance's own event will be checked".into();
        tracing::info!(decision = "no-op", "interface not attached");
        return Ok(o);
    };
    let ctx = context(
        ev.region.clone(),
        ev.account.clone(),
        ev.id.clone(),
        deps,
        format!(
            "CloudFormation {} {} {status} in stack {}",
            d.resource_type,
            d.logical_resource_id,
            stack_name.as_deref().unwrap_or("?")
        ),
    );
    let guard = guard_instance(deps, &instance_id, None, &ctx).await?;
    o.decision = format!("guarded instance {instance_id}");
    o.instances.push(InstanceResult {
        instance_id,
        guard: Some(guard),
        error: None,
        onboarding_start_recorded: None,
    });
    Ok(o)
}

// ------------------------------------------------------------------ stack status changes

fn is_failure(status: &str) -> bool {
    matches!(
        status,
        "CREATE_FAILED"
            | "ROLLBACK_IN_PROGRESS"
            | "ROLLBACK_COMPLETE"
            | "ROLLBACK_FAILED"
            | "UPDATE_FAILED"
            | "UPDATE_ROLLBACK_IN_PROGRESS"
            | "UPDATE_ROLLBACK_COMPLETE"
            | "UPDATE_ROLLBACK_FAILED"
            | "DELETE_FAILED"
    )
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The vendor template's parameters, matched case-insensitively and ignoring `_`/`-`: a
/// registration-code parameter (key containing `registration` or `regcode`: `RegistrationCode`,
/// `Registration_Code`, `MistRegCode`) and an SSR-version parameter (key containing `ssrversion`,
/// or exactly `Version`: `SSRVersion`, `SsrVersion`, `ssr-version`). Returns the two keys.
pub fn vendor_parameters<'a>(keys: &[&'a str]) -> Option<(&'a str, &'a str)> {
    let reg = keys.iter().copied().find(|k| {
        let n = normalise(k);
        n.contains("registration") || n.contains("regcode")
    })?;
    let ver = keys.iter().copied().find(|k| {
        let n = normalise(k);
        n.contains("ssrversion") || n == "version"
    })?;
    Some((reg, ver))
}

/// Recognition by name alone (no AWS call): the `ROUTER_STACKS` globs.
pub fn recognise_by_name(config: &Config, stack_name: &str) -> Option<Recognition> {
    config.stack_matches(stack_name).map(|p| Recognition {
        router: true,
        reason: format!(
            "stack name {stack_name} matches ROUTER_STACKS pattern `{}`",
            p.as_str()
        ),
    })
}

/// Recognition from DescribeStacks: name, router tag, or the vendor template's parameters.
pub fn recognise_described(config: &Config, stack: &StackInfo) -> Recognition {
    if let Some(r) = recognise_by_name(config, &stack.stack_name) {
        return r;
    }
    if stack.tags.contains_key(&config.router_tag_key) {
        return Recognition {
            router: true,
            reason: format!("stack has the {} tag", config.router_tag_key),
        };
    }
    let keys: Vec<&str> = stack.parameters.iter().map(|p| p.key.as_str()).collect();
    if let Some((reg, ver)) = vendor_parameters(&keys) {
        return Recognition {
            router: true,
            reason: format!("stack has the vendor template's parameters {reg} and {ver}"),
        };
    }
    Recognition {
        router: false,
        reason: format!(
            "not a router stack: name matches no ROUTER_STACKS pattern, no {} tag on the stack, \
             no registration-code and SSR-version parameters",
            config.router_tag_key
        ),
    }
}

async fn handle_stack_event(
    deps: &Deps,
    ev: EventBridgeEvent<StackStatusChange>,
) -> Result<StackWatchOutcome, HandlerError> {
    let d = &ev.detail;
    let stack_id = d.stack_id.trim();
    let status = d.status_details.status.as_str();
    let Some(name) = stack_name_from_id(stack_id).map(String::from) else {
        return Err(EventError::malformed(format!(
            "detail.stack-id `{stack_id}` is not a stack ARN"
        ))
        .into());
    };
    let mut o = StackWatchOutcome::new(EventKind::StackStatusChange, ev.id.clone());
    o.stack_id = Some(stack_id.to_string());
    o.stack_name = Some(name.clone());
    o.status = Some(status.to_string());
    let span = tracing::info_span!(
        "stack_watch",
        event_id = ev.id.as_deref().unwrap_or(""),
        stack = %name,
        status
    );
    let _enter = span.enter();

    let complete = matches!(status, "CREATE_COMPLETE" | "UPDATE_COMPLETE");
    if !complete && !is_failure(status) {
        o.decision = format!("stack status {status} is not acted on");
        tracing::info!(decision = "ignore", "stack status not acted on");
        return Ok(o);
    }
    // The failure alert needs DescribeStacks anyway (parameters); a completed stack matched by
    // name needs no call at all.
    let by_name = if complete {
        recognise_by_name(&deps.config, &name)
    } else {
        None
    };
    let described = match by_name {
        Some(_) => None,
        None => match deps.cloudformation.describe_stack(stack_id).await? {
            Some(s) => Some(s),
            None => {
                o.decision = "the stack no longer exists: nothing to do".into();
                tracing::info!(decision = "no-op", "stack does not exist");
                return Ok(o);
            }
        },
    };
    let recognition = match (&by_name, &described) {
        (Some(r), _) => r.clone(),
        (None, Some(s)) => recognise_described(&deps.config, s),
        (None, None) => Recognition {
            router: false,
            reason: "stack not described".into(),
        },
    };
    tracing::info!(router = recognition.router, reason = %recognition.reason, "stack recognition");
    o.recognition = Some(recognition.clone());
    if !recognition.router {
        o.decision = "not a router stack: ignored".into();
        tracing::info!(decision = "ignore", "not a router stack");
        return Ok(o);
    }
    let event_time = ev.time.unwrap_or_else(Utc::now);
    if complete {
        guard_stack(deps, &ev, stack_id, &name, event_time, &mut o).await?;
    } else if let Some(stack) = described {
        alert_failure(deps, &ev, &stack, status, &mut o).await?;
    }
    Ok(o)
}

/// The instances of a stack: by the `aws:cloudformation:stack-id` tag CloudFormation puts on
/// them, else (no tagged instance found) the stack's `AWS::EC2::Instance` resources.
async fn stack_instances(
    deps: &Deps,
    stack_id: &str,
) -> Result<(Vec<String>, &'static str), HandlerError> {
    let tagged = deps
        .ec2
        .describe_instances(vec![
            Filter::builder()
                .name(format!("tag:{STACK_ID_TAG}"))
                .values(stack_id)
                .build(),
            Filter::builder()
                .name("instance-state-name")
                .values("pending")
                .values("running")
                .values("stopping")
                .values("stopped")
                .build(),
        ])
        .await?;
    let mut ids: Vec<String> = tagged
        .iter()
        .filter_map(|i| i.instance_id().map(String::from))
        .collect();
    if !ids.is_empty() {
        ids.sort();
        ids.dedup();
        return Ok((ids, "aws:cloudformation:stack-id tag"));
    }
    let resources = deps.cloudformation.stack_resources(stack_id).await?;
    let mut ids: Vec<String> = resources
        .into_iter()
        .filter(|r| r.resource_type == "AWS::EC2::Instance")
        .filter_map(|r| r.physical_resource_id)
        .filter(|p| p.starts_with("i-"))
        .collect();
    ids.sort();
    ids.dedup();
    Ok((ids, "stack resources (ListStackResources)"))
}

async fn guard_stack(
    deps: &Deps,
    ev: &EventBridgeEvent<StackStatusChange>,
    stack_id: &str,
    name: &str,
    event_time: DateTime<Utc>,
    o: &mut StackWatchOutcome,
) -> Result<(), HandlerError> {
    let status = ev.detail.status_details.status.as_str();
    let (ids, found_by) = stack_instances(deps, stack_id).await?;
    if ids.is_empty() {
        o.decision = "router stack has no instance: nothing to guard".into();
        tracing::info!(decision = "no-op", "no instance in stack");
        return Ok(());
    }
    let ctx = context(
        ev.region.clone(),
        ev.account.clone(),
        ev.id.clone(),
        deps,
        format!("CloudFormation stack {name} {status}"),
    );
    let mut first_error: Option<HandlerError> = None;
    for id in &ids {
        let (guard, error) = match guard_instance(deps, id, None, &ctx).await {
            Ok(g) => (Some(g), None),
            Err(HandlerError::FixesFailed {
                instance_id,
                failed,
                total,
                outcome,
            }) => {
                let g = (*outcome).clone();
                let e = HandlerError::FixesFailed {
                    instance_id,
                    failed,
                    total,
                    outcome,
                };
                let msg = e.to_string();
                first_error.get_or_insert(e);
                (Some(g), Some(msg))
            }
            Err(e) => {
                let msg = e.to_string();
                tracing::warn!(instance_id = %id, error = %msg, "guard failed");
                first_error.get_or_insert(e);
                (None, Some(msg))
            }
        };
        let recorded = match &guard {
            Some(g) if g.selected => {
                match deps
                    .state
                    .record_onboarding_start(id, event_time, ONBOARDING_SOURCE)
                    .await
                {
                    Ok(written) => Some(written),
                    Err(e) => {
                        tracing::warn!(instance_id = %id, error = %e, "could not record the onboarding start");
                        first_error.get_or_insert(e.into());
                        None
                    }
                }
            }
            _ => None,
        };
        o.instances.push(InstanceResult {
            instance_id: id.clone(),
            guard,
            error,
            onboarding_start_recorded: recorded,
        });
    }
    o.decision = format!(
        "guarded {} instance(s) of the router stack (found by {found_by})",
        ids.len()
    );
    tracing::info!(
        decision = "guarded",
        instances = ?ids,
        errors = o.instances.iter().filter(|i| i.error.is_some()).count(),
        "router stack guarded"
    );
    match first_error {
        Some(e) => {
            // The event is retried; the replay re-guards (fixed routers plan nothing).
            tracing::warn!(outcome = %serde_json::to_string(o).unwrap_or_default(), "stack guard incomplete");
            Err(e)
        }
        None => Ok(()),
    }
}

async fn alert_failure(
    deps: &Deps,
    ev: &EventBridgeEvent<StackStatusChange>,
    stack: &StackInfo,
    status: &str,
    o: &mut StackWatchOutcome,
) -> Result<(), HandlerError> {
    let events = deps
        .cloudformation
        .current_operation_events(&stack.stack_id, &stack.stack_name)
        .await?;
    let failed = failed_resource_events(&events, &stack.stack_id, &stack.stack_name);
    let ctx = context(
        ev.region.clone(),
        ev.account.clone(),
        ev.id.clone(),
        deps,
        format!("CloudFormation stack {} {status}", stack.stack_name),
    );
    let reason = ev
        .detail
        .status_details
        .status_reason
        .clone()
        .filter(|r| !r.is_empty())
        .or_else(|| stack.status_reason.clone());
    let alert = stack_alert(&ctx, stack, status, reason.as_deref(), &failed);
    let root_cause = failed
        .first()
        .map(|e| format!("{} ({})", e.logical_resource_id, e.resource_type));
    tracing::info!(
        root_cause = root_cause.as_deref().unwrap_or(""),
        failed_resources = failed.len(),
        "stack failure"
    );
    if deps.alerts.topic_arn().is_none() {
        o.decision = "router stack failed: alert rendered, not sent".into();
        o.alert = Some(AlertOutcome {
            subject: Some(alert.subject),
            reason: "ALERT_TOPIC_ARN is not set: alert rendered, not sent".into(),
            ..Default::default()
        });
        return Ok(());
    }
    let pk = format!("stack-alert#{}#{status}", stack.stack_id);
    let now = Utc::now();
    let attrs = HashMap::from([
        ("kind".to_string(), AttributeValue::S("stack-alert".into())),
        (
            "stack_name".to_string(),
            AttributeValue::S(stack.stack_name.clone()),
        ),
        ("status".to_string(), AttributeValue::S(status.to_string())),
    ]);
    match deps
        .state
        .claim(&pk, now, now + deps.config.alert_dedup, attrs)
        .await?
    {
        Claim::Held => {
            o.decision = "router stack failed: already alerted".into();
            o.alert = Some(AlertOutcome {
                subject: Some(alert.subject),
                reason: format!(
                    "{status} of this stack was already alerted (state table claim held)"
                ),
                ..Default::default()
            });
            tracing::info!(decision = "dedup", "stack failure already alerted");
            return Ok(());
        }
        Claim::NoTable => {
            tracing::warn!("STATE_TABLE is not set: stack alerts are not de-duplicated")
        }
        Claim::Won => {}
    }
    match deps.alerts.publish(&alert).await {
        Ok(message_id) => {
            tracing::info!(decision = "alerted", subject = %alert.subject, "stack failure alerted");
            o.decision = "router stack failed: alert sent".into();
            o.alert = Some(AlertOutcome {
                sent: true,
                message_id,
                subject: Some(alert.subject),
                reason: match root_cause {
                    Some(r) => format!("stack {status}; first failed resource {r}"),
                    None => format!("stack {status}; no failed resource event found"),
                },
            });
            Ok(())
        }
        Err(e) => {
            if let Err(release) = deps.state.release(&pk).await {
                tracing::warn!(error = %release, "could not release the stack alert claim");
            }
            Err(e.into())
        }
    }
}

/// `%XX` for the characters of a stack ARN that are not URL-safe in a console fragment.
fn url_encode(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ':' => "%3A".to_string(),
            '/' => "%2F".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn fmt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "?".into())
}

/// The alert for a failed router stack: subject `SSR stack <name> <STATUS>: <first failed
/// resource>`, the root cause (first failed resources, oldest first), the parameters with secret
/// values hidden. `stack` holds no secret value (the adapter redacts them).
pub fn stack_alert(
    ctx: &EventContext,
    stack: &StackInfo,
    status: &str,
    status_reason: Option<&str>,
    failed: &[&StackEventInfo],
) -> Alert {
    let first = failed.first();
    let subject = render::subject(&format!(
        "SSR stack {} {status}: {}",
        render::short(&stack.stack_name, 40),
        match first {
            Some(e) => format!("{} ({})", e.logical_resource_id, e.resource_type),
            None => "see stack events".to_string(),
        }
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The CloudFormation stack {} of a Session Smart Router is {status}.",
        stack.stack_name
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "Stack");
    let _ = writeln!(b, "  Name:      {}", stack.stack_name);
    let _ = writeln!(b, "  Id:        {}", stack.stack_id);
    let _ = writeln!(b, "  Status:    {status}");
    if let Some(r) = status_reason {
        let _ = writeln!(b, "  Reason:    {r}");
    }
    let _ = writeln!(
        b,
        "  Account:   {}   Region: {}",
        ctx.account.as_deref().unwrap_or("?"),
        ctx.region.as_deref().unwrap_or("?")
    );
    let _ = writeln!(b);
    if failed.is_empty() {
        let _ = writeln!(
            b,
            "No failed resource event was found in the stack's events for this operation; the \
             status reason above is all CloudFormation reported."
        );
    } else {
        let _ = writeln!(b, "Root cause (failed resources, oldest first):");
        for (k, e) in failed.iter().take(MAX_ROOT_CAUSES).enumerate() {
            let _ = writeln!(
                b,
                "  {}. {} ({}) {} at {}",
                k + 1,
                e.logical_resource_id,
                e.resource_type,
                e.status,
                fmt_time(e.timestamp)
            );
            let _ = writeln!(
                b,
                "     {}",
                e.reason.as_deref().unwrap_or("(no reason given)")
            );
        }
        if failed.len() > MAX_ROOT_CAUSES {
            let _ = writeln!(
                b,
                "  ... and {} more failed resource(s)",
                failed.len() - MAX_ROOT_CAUSES
            );
        }
    }
    if !stack.parameters.is_empty() {
        let _ = writeln!(b);
        let _ = writeln!(b, "Parameters (NoEcho and secret-looking values hidden):");
        for p in &stack.parameters {
            let _ = writeln!(
                b,
                "  {} = {}",
                p.key,
                p.value.as_deref().unwrap_or("(hidden)")
            );
        }
    }
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "What to do: read the failed resource's reason above, fix the template or the \
         parameters (instance type available in the zone, AMI subscription, subnet and \
         security group limits), then delete the stack if it rolled back and create it again."
    );
    if let Some(region) = &ctx.region {
        let _ = writeln!(b);
        let _ = writeln!(
            b,
            "Console: https://{region}.console.aws.amazon.com/cloudformation/home?region={region}#/stacks/events?stackId={}",
            url_encode(&stack.stack_id)
        );
    }
    let attributes = std::collections::BTreeMap::from([
        ("kind".to_string(), render::string_attr("stack-failed")),
        ("severity".to_string(), render::string_attr("error")),
        (
            "stack_name".to_string(),
            render::string_attr(&stack.stack_name),
        ),
        ("status".to_string(), render::string_attr(status)),
    ]);
    Alert {
        subject,
        body: b,
        attributes,
    }
}

#[cfg(test)]
mod tests;
