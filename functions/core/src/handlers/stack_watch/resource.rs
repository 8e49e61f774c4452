//! "CloudFormation Resource Status Change": an instance, interface or attachment of a stack
//! completed → the guard runs on the instance.

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use tracing::Instrument;

use super::events::{ResourceStatusChange, WatchedResource, WATCHED_RESOURCE_STATUSES};
use super::{context, EventKind, InstanceResult, ResourceRef, StackWatchOutcome};
use crate::aws::cloudformation::stack_name_from_id;
use crate::deadline::Deadline;
use crate::deps::Deps;
use crate::handlers::guard::guard_instance;
use crate::handlers::{EventError, HandlerError};
use crate::snapshot::is_instance_id;

pub(super) async fn handle_resource_event(
    deps: &Deps,
    ev: EventBridgeEvent<ResourceStatusChange>,
    deadline: Deadline,
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
    resource_inner(deps, &ev, o, stack_name, deadline)
        .instrument(span)
        .await
}

async fn resource_inner(
    deps: &Deps,
    ev: &EventBridgeEvent<ResourceStatusChange>,
    mut o: StackWatchOutcome,
    stack_name: Option<String>,
    deadline: Deadline,
) -> Result<StackWatchOutcome, HandlerError> {
    let d = &ev.detail;
    let status = d.status_details.status.as_str();

    if !WATCHED_RESOURCE_STATUSES.contains(&status) {
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
    let Some(watched) = WatchedResource::from_resource_type(&d.resource_type) else {
        let other = d.resource_type.as_str();
        o.decision = format!("resource type {other} is not watched");
        tracing::info!(
            resource_type = other,
            decision = "ignore",
            "resource type not watched"
        );
        return Ok(o);
    };
    let instance_id = match watched {
        WatchedResource::Instance => match physical {
            Some(id) if is_instance_id(id) => Some(id.to_string()),
            other => {
                return Err(EventError::malformed(format!(
                    "detail.physical-resource-id `{}` of an {} is not an instance id",
                    other.unwrap_or(""),
                    watched.resource_type()
                ))
                .into())
            }
        },
        WatchedResource::NetworkInterface => {
            let Some(eni) = physical.filter(|p| p.starts_with("eni-")) else {
                return Err(EventError::malformed(format!(
                    "detail.physical-resource-id `{}` of an {} is not an interface id",
                    physical.unwrap_or(""),
                    watched.resource_type()
                ))
                .into());
            };
            match deps.ec2.describe_interface(eni).await? {
                None => {
                    o.decision = format!("interface {eni} no longer exists: nothing to do");
                    tracing::info!(eni_id = eni, decision = "no-op", "interface not found");
                    return Ok(o);
                }
                Some(n) => n.instance_id,
            }
        }
        WatchedResource::NetworkInterfaceAttachment => {
            let Some(attachment) = physical else {
                return Err(EventError::malformed(format!(
                    "detail.physical-resource-id of an {} is empty",
                    watched.resource_type()
                ))
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
                Some(n) => n.instance_id,
            }
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
    let guard = guard_instance(deps, &instance_id, None, &ctx, deadline).await?;
    o.decision = format!("guarded instance {instance_id}");
    o.instances.push(InstanceResult {
        instance_id,
        guard: Some(guard),
        error: None,
        onboarding_start_recorded: None,
    });
    Ok(o)
}
