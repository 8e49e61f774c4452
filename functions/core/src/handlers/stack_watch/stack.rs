//! "CloudFormation Stack Status Change" of a router stack: on completion every instance of the
//! stack is guarded and the watchdog's onboarding clock starts; on failure one page with the
//! root cause.

use crate::deadline::Deadline;
use crate::select::{Control, CONTROL_TAG_KEY};

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::events::{
    failure_claim_key, is_complete, is_failure, StackStatusChange, WatchedResource,
};
use super::recognise::{recognise_by_name, recognise_described, Recognition};
use super::{context, EventKind, InstanceResult, StackWatchOutcome};
use crate::alerting::{resolve_once, trigger_once, AlertClaim, AlertOutcome};
use crate::aws::cloudformation::{failed_resource_events, stack_name_from_id, StackInfo};
use crate::aws::ec2::InstanceQuery;
use crate::aws::state::items::ClaimItem;
use crate::deps::Deps;
use crate::handlers::guard::guard_instance;
use crate::handlers::{EventError, HandlerError};
use crate::render::resolved::stack_recovered_alert;
use crate::render::stack::stack_alert;
use crate::render::{Action, IncidentKey};
use crate::snapshot::is_instance_id;

/// `source` of the onboarding-start records this function writes.
pub const ONBOARDING_SOURCE: &str = "stack-watch";

pub(super) async fn handle_stack_event(
    deps: &Deps,
    ev: EventBridgeEvent<StackStatusChange>,
    deadline: Deadline,
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
    stack_inner(deps, &ev, o, name, deadline)
        .instrument(span)
        .await
}

async fn stack_inner(
    deps: &Deps,
    ev: &EventBridgeEvent<StackStatusChange>,
    mut o: StackWatchOutcome,
    name: String,
    deadline: Deadline,
) -> Result<StackWatchOutcome, HandlerError> {
    let stack_id = ev.detail.stack_id.trim();
    let status = ev.detail.status_details.status.as_str();
    let complete = is_complete(status);
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
        None => match deps.cloudformation().describe_stack(stack_id).await? {
            // DescribeStacks by ARN still answers for a deleted stack, with DELETE_COMPLETE.
            Some(s) if s.status == "DELETE_COMPLETE" => {
                o.decision = "the stack was deleted (DELETE_COMPLETE): nothing to do".into();
                tracing::info!(decision = "no-op", "stack deleted");
                return Ok(o);
            }
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
        guard_stack(deps, ev, stack_id, &name, event_time, &mut o, deadline).await?;
        resolve_stack(deps, ev, stack_id, &name, status, &mut o).await?;
    } else if let Some(stack) = described {
        if Control::of(&stack.tags) == Control::Ignore {
            // The operator silenced this router stack's failure pages.
            o.decision = format!("stack is tagged {CONTROL_TAG_KEY}=ignore: no page");
            tracing::info!(decision = "ignore", status, "router stack tagged ignore");
            return Ok(o);
        }
        alert_failure(deps, ev, &stack, status, &mut o).await?;
    }
    Ok(o)
}

/// A router stack whose failure was paged completed a later operation: its incident is resolved
/// once (`CREATE_COMPLETE`/`UPDATE_COMPLETE` only: a `*ROLLBACK_COMPLETE` is itself a failure).
async fn resolve_stack(
    deps: &Deps,
    ev: &EventBridgeEvent<StackStatusChange>,
    stack_id: &str,
    name: &str,
    status: &str,
    o: &mut StackWatchOutcome,
) -> Result<(), HandlerError> {
    let ctx = context(
        ev.region.clone(),
        ev.account.clone(),
        ev.id.clone(),
        deps,
        format!("CloudFormation stack {name} {status}"),
    );
    let key = IncidentKey::stack(stack_id);
    if let Some(out) = resolve_once(&deps.alerts, &deps.state, &key, Utc::now(), |opened| {
        stack_recovered_alert(&ctx, name, stack_id, status, &opened.to_rfc3339())
    })
    .await?
    {
        tracing::info!(
            decision = "resolved",
            sent = out.sent,
            "router stack failure resolved"
        );
        o.alert = Some(out);
    }
    Ok(())
}

/// The instances of a stack: by the `aws:cloudformation:stack-id` tag CloudFormation puts on
/// them, else (no tagged instance found) the stack's `AWS::EC2::Instance` resources.
async fn stack_instances(
    deps: &Deps,
    stack_id: &str,
) -> Result<(Vec<String>, &'static str), HandlerError> {
    let tagged = deps
        .ec2
        .instances(InstanceQuery::OfStack(stack_id.to_string()))
        .await?;
    let mut ids: Vec<String> = tagged.into_iter().map(|i| i.instance_id).collect();
    if !ids.is_empty() {
        ids.sort();
        ids.dedup();
        return Ok((ids, "aws:cloudformation:stack-id tag"));
    }
    let resources = deps.cloudformation().stack_resources(stack_id).await?;
    let mut ids: Vec<String> = resources
        .into_iter()
        .filter(|r| r.resource_type == WatchedResource::Instance.resource_type())
        .filter_map(|r| r.physical_resource_id)
        .filter(|p| is_instance_id(p))
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
    deadline: Deadline,
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
        let (guard, error) = match guard_instance(deps, id, None, &ctx, deadline).await {
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
        .cloudformation()
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
    // A member account's alert names the account (looked up only now, when one is sent).
    let ctx = deps.named(&ctx).await;
    let alert = stack_alert(&ctx, stack, status, reason.as_deref(), &failed);
    let root_cause = failed
        .first()
        .map(|e| format!("{} ({})", e.logical_resource_id, e.resource_type));
    tracing::info!(
        root_cause = root_cause.as_deref().unwrap_or(""),
        failed_resources = failed.len(),
        "stack failure"
    );
    let now = Utc::now();
    let once = AlertClaim {
        pk: failure_claim_key(&stack.stack_id, stack.operation_started, status),
        expires_at: now + deps.config.alert_dedup,
        item: ClaimItem {
            kind: "stack-alert".into(),
            stack_name: Some(stack.stack_name.clone()),
            status: Some(status.to_string()),
            ..Default::default()
        },
        held_reason: format!(
            "this stack operation's failure was already alerted ({status} pages again only if the rollback or delete itself fails; state table claim held)"
        ),
        sent_reason: match &root_cause {
            Some(r) => format!("stack {status}; first failed resource {r}"),
            None => format!("stack {status}; no failed resource event found"),
        },
    };
    let alert = alert.for_incident(&IncidentKey::stack(&stack.stack_id), Action::Trigger);
    let outcome: AlertOutcome = trigger_once(&deps.alerts, &deps.state, &alert, once, now).await?;
    o.decision = if outcome.sent {
        "router stack failed: alert sent"
    } else if outcome.already_sent {
        "router stack failed: already alerted"
    } else if outcome.in_flight {
        "router stack failed: another invocation is delivering the alert"
    } else {
        "router stack failed: alert rendered, not sent"
    }
    .into();
    o.alert = Some(outcome);
    Ok(())
}
