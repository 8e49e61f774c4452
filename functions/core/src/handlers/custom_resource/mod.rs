//! `Custom::SsrRouterGuard`: CloudFormation asks ssr-onboard to check (and fix) a router before the
//! stack completes. Properties: `InstanceId` (required), `FailOnFindings` (optional, default
//! false; `"true"`/`"false"` strings as CloudFormation sends them, or booleans).
//!
//! **CloudFormation never waits in vain.** Every request that carries a `ResponseURL` gets a
//! response PUT to it before the Lambda deadline: the guard runs in its own task
//! (`tokio::spawn`, so a panic becomes a `JoinError` → FAILED) under a timeout of the deadline
//! minus [`DEADLINE_MARGIN`]; malformed properties, AWS errors, a timeout and a panic all answer
//! FAILED with a reason. Only a request with no `ResponseURL` at all cannot be answered; it is
//! logged and returned as [`EventError::Malformed`]. (The Lambda release builds use
//! `panic = "abort"`, as cargo-lambda does: there a panic ends the process and CloudFormation
//! waits for the resource's `ServiceTimeout`; the `JoinError` answer holds where panics unwind,
//! in the CLI and the tests.)
//!
//! **Status.** SUCCESS when the router was checked and either `FailOnFindings` is false or no
//! finding above info remains (fixes that failed count as remaining). FAILED when the check could
//! not be completed — instance missing, not a managed router, AWS error, timeout, panic — whatever
//! `FailOnFindings` says: SUCCESS would certify a router nobody checked, and a failed stack is
//! visible and can be retried. Delete always answers SUCCESS at once, without AWS calls.
//!
//! **PhysicalResourceId.** `ssr-guard-<instance-id>` on Create. On Update the request's id is kept
//! unless `InstanceId` changed (a new router: the new id makes CloudFormation treat it as a
//! replacement and send a Delete for the old id, which is a no-op), and always kept when the
//! Update fails. A Create without a usable InstanceId answers with `ssr-guard-<LogicalResourceId>`.
//!
//! Rooms: [`properties`] (what is asked), [`verdict`] (what is answered), [`response`] (the PUT
//! to CloudFormation); this module runs the request through them.
//!
//! **HTTP.** One `reqwest::Client` per cold start lives in [`ResponseSender`] (kept out of `Deps`
//! because only this function talks HTTP to CloudFormation). The PUT has an empty `Content-Type`
//! (the URL is presigned without one), a body of at most 4096 bytes (the Reason is cut to fit),
//! and is retried on network errors and 5xx. The presigned URL is never logged (it is a
//! credential until it expires).

mod properties;
mod response;
mod verdict;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;

use properties::is_absolute_http_url;
pub use properties::{parse_properties, GuardProperties};
use response::{respond, Echo};
pub use response::{
    response_body, CustomResourceOutcome, CustomResourceStatus, PutError, ResponseSender,
    MAX_RESPONSE_BYTES,
};
use verdict::{answer_for, failed_answer, Answer, Check};

use super::guard::{guard_instance, GuardOutcome};
use super::{EventError, HandlerError};
use crate::aws::cloudformation::stack_name_from_id;
use crate::aws::AwsError;
use crate::deadline::Deadline;
use crate::deps::Deps;
use crate::render::EventContext;
use crate::retry::{retry, Waits};

/// First wait before re-running a check that hit a transient AWS error (doubling after).
const TRANSIENT_RETRY_BASE: Duration = Duration::from_millis(200);

/// The stack statuses in which an Update request is CloudFormation rolling back: it answers
/// SUCCESS without re-checking (FAILED here would leave the stack UPDATE_ROLLBACK_FAILED).
const ROLLBACK_STATUSES: &[&str] = &["UPDATE_ROLLBACK_IN_PROGRESS"];

/// Time kept before the Lambda deadline for answering CloudFormation.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// Time kept before the Lambda deadline when the answer's PUT gives up.
const PUT_MARGIN: Duration = Duration::from_millis(500);
/// Prefix of the physical ids this provider hands out.
pub const PHYSICAL_ID_PREFIX: &str = "ssr-guard-";

/// A request as this provider reads it: the fields every answer echoes, and what is asked.
enum Request {
    Create {
        echo: Echo,
        properties: Value,
    },
    Update {
        echo: Echo,
        /// The request's PhysicalResourceId (kept unless the router changed).
        kept: String,
        properties: Value,
        old_properties: Value,
    },
    Delete {
        echo: Echo,
        physical: String,
    },
    /// Answerable (it has a ResponseURL), but not a request this provider can carry out.
    Unreadable {
        echo: Echo,
        physical: String,
        reason: String,
    },
}

/// Handles one custom resource request; always answers CloudFormation when it can.
pub async fn handle_request(
    deps: &Deps,
    sender: &ResponseSender,
    event: Value,
    deadline: impl Into<Deadline>,
) -> Result<CustomResourceOutcome, HandlerError> {
    let deadline = deadline.into();
    let put_deadline = deadline.less(PUT_MARGIN);
    let check_deadline = deadline.less(DEADLINE_MARGIN);
    let request = read_request(event)?;
    if !deps.config.enabled {
        return answer_disabled(sender, request, put_deadline).await;
    }
    let (echo, answer, guard) = match request {
        Request::Delete { echo, physical } => {
            tracing::info!(
                request_type = "Delete",
                logical_resource_id = %echo.logical_resource_id,
                physical_resource_id = %physical,
                decision = "success",
                "delete: nothing to undo"
            );
            let answer = succeeded("ssr-onboard changes nothing on delete", physical);
            (echo, answer, None)
        }
        Request::Create { echo, properties } => {
            let (answer, guard) = answer_create(deps, &echo, &properties, check_deadline).await;
            (echo, answer, guard)
        }
        Request::Update {
            echo,
            kept,
            properties,
            old_properties,
        } => {
            let (answer, guard) = answer_update(
                deps,
                &echo,
                kept,
                &properties,
                &old_properties,
                check_deadline,
            )
            .await;
            (echo, answer, guard)
        }
        Request::Unreadable {
            echo,
            physical,
            reason,
        } => (echo, failed_answer(reason, physical), None),
    };
    respond(sender, echo, answer, guard, put_deadline).await
}

/// The kill switch is on (`ENABLED=false`): every request succeeds at once, nothing checked, so
/// router stacks deploy and delete while ssr-onboard is turned off.
async fn answer_disabled(
    sender: &ResponseSender,
    request: Request,
    put_deadline: Deadline,
) -> Result<CustomResourceOutcome, HandlerError> {
    let (echo, physical) = match request {
        Request::Delete { echo, physical } => (echo, physical),
        Request::Create { echo, properties } => {
            let physical = parse_properties(&properties).map_or_else(
                |_| format!("{PHYSICAL_ID_PREFIX}{}", echo.logical_resource_id),
                |p| format!("{PHYSICAL_ID_PREFIX}{}", p.instance_id),
            );
            (echo, physical)
        }
        Request::Update { echo, kept, .. } => (echo, kept),
        Request::Unreadable { echo, physical, .. } => (echo, physical),
    };
    tracing::info!(
        decision = "disabled",
        "ssr-onboard is disabled: not checked"
    );
    let answer = succeeded(
        "disabled: ssr-onboard is turned off (Enabled=false); the router is not checked",
        physical,
    );
    respond(sender, echo, answer, None, put_deadline).await
}

/// Reads the request. A ResponseURL that is not an absolute http(s) URL, or none at all, can
/// never be answered: a typed malformed request at once, not PUT retries until the deadline.
/// (The URL is pre-signed: never logged.)
fn read_request(event: Value) -> Result<Request, EventError> {
    if let Some(url) = event.get("ResponseURL").and_then(Value::as_str) {
        if !is_absolute_http_url(url) {
            return Err(EventError::malformed(
                "custom resource ResponseURL is not an absolute http(s) URL: CloudFormation cannot be answered",
            ));
        }
    }
    let request: CloudFormationCustomResourceRequest = match serde_json::from_value(event.clone()) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("malformed custom resource request: {e}");
            if str_field(&event, "ResponseURL").is_empty() {
                tracing::error!(error = %msg, "custom resource request without ResponseURL: cannot answer");
                return Err(EventError::malformed(format!(
                    "{msg} (no ResponseURL: CloudFormation cannot be answered)"
                )));
            }
            return Ok(unreadable(&event, msg));
        }
    };
    Ok(match request {
        CloudFormationCustomResourceRequest::Delete(d) => Request::Delete {
            echo: Echo {
                request_type: "Delete".into(),
                response_url: d.response_url,
                stack_id: d.stack_id,
                request_id: d.request_id,
                logical_resource_id: d.logical_resource_id,
            },
            physical: d.physical_resource_id,
        },
        CloudFormationCustomResourceRequest::Create(c) => Request::Create {
            echo: Echo {
                request_type: "Create".into(),
                response_url: c.response_url,
                stack_id: c.stack_id,
                request_id: c.request_id,
                logical_resource_id: c.logical_resource_id,
            },
            properties: c.resource_properties,
        },
        CloudFormationCustomResourceRequest::Update(u) => Request::Update {
            echo: Echo {
                request_type: "Update".into(),
                response_url: u.response_url,
                stack_id: u.stack_id,
                request_id: u.request_id,
                logical_resource_id: u.logical_resource_id,
            },
            kept: u.physical_resource_id,
            properties: u.resource_properties,
            old_properties: u.old_resource_properties,
        },
        // `CloudFormationCustomResourceRequest` is non-exhaustive: a request type added later.
        other => {
            let v = serde_json::to_value(&other).unwrap_or_default();
            let reason = format!("unsupported RequestType {}", str_field(&v, "RequestType"));
            unreadable(&v, reason)
        }
    })
}

/// A request answered FAILED with `reason`, echoing what fields it has.
fn unreadable(v: &Value, reason: String) -> Request {
    let echo = Echo {
        request_type: str_field(v, "RequestType"),
        response_url: str_field(v, "ResponseURL"),
        stack_id: str_field(v, "StackId"),
        request_id: str_field(v, "RequestId"),
        logical_resource_id: str_field(v, "LogicalResourceId"),
    };
    let physical = Some(str_field(v, "PhysicalResourceId"))
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| format!("{PHYSICAL_ID_PREFIX}{}", echo.logical_resource_id));
    Request::Unreadable {
        echo,
        physical,
        reason,
    }
}

fn succeeded(reason: impl Into<String>, physical_resource_id: String) -> Answer {
    Answer {
        success: true,
        reason: reason.into(),
        physical_resource_id,
        data: BTreeMap::new(),
    }
}

async fn answer_create(
    deps: &Deps,
    echo: &Echo,
    properties: &Value,
    deadline: Deadline,
) -> (Answer, Option<GuardOutcome>) {
    let fallback = format!("{PHYSICAL_ID_PREFIX}{}", echo.logical_resource_id);
    match parse_properties(properties) {
        Err(msg) => (failed_answer(msg, fallback), None),
        Ok(props) => {
            let physical = format!("{PHYSICAL_ID_PREFIX}{}", props.instance_id);
            check(deps, echo, &props, physical.clone(), physical, deadline).await
        }
    }
}

async fn answer_update(
    deps: &Deps,
    echo: &Echo,
    kept: String,
    properties: &Value,
    old_properties: &Value,
    deadline: Deadline,
) -> (Answer, Option<GuardOutcome>) {
    match stack_status(deps, &echo.stack_id, deadline).await {
        Ok(Some(status)) if ROLLBACK_STATUSES.contains(&status.as_str()) => {
            tracing::info!(
                request_type = "Update",
                stack_status = %status,
                decision = "success",
                "stack is rolling back: not re-checked"
            );
            let reason =
                format!("stack is {status}: the router is not re-checked during a rollback");
            return (succeeded(reason, kept), None);
        }
        Ok(_) => {}
        Err(e) if e.is_transient() => {
            let msg = format!("could not read the stack's status before the deadline: {e}");
            return (failed_answer(msg, kept), None);
        }
        // Not allowed or not answerable: the Update is checked as if not rolling back.
        Err(e) => {
            tracing::warn!(error = %e, "stack status unknown; checking the router");
        }
    }
    match parse_properties(properties) {
        Err(msg) => (failed_answer(msg, kept), None),
        Ok(props) => {
            let old_id = old_properties
                .get("InstanceId")
                .and_then(Value::as_str)
                .map(str::trim);
            let on_success = if old_id == Some(props.instance_id.as_str()) {
                kept.clone()
            } else {
                format!("{PHYSICAL_ID_PREFIX}{}", props.instance_id)
            };
            check(deps, echo, &props, on_success, kept, deadline).await
        }
    }
}

/// The stack's status (one DescribeStacks for the request's StackId), transient errors retried
/// while `deadline` allows. `None` when the stack is not found.
async fn stack_status(
    deps: &Deps,
    stack_id: &str,
    deadline: Deadline,
) -> Result<Option<String>, AwsError> {
    let waits = Waits::until_deadline(TRANSIENT_RETRY_BASE, deadline);
    retry(waits, "DescribeStacks", AwsError::is_transient, |_| {
        deps.cloudformation().describe_stack(stack_id)
    })
    .await
    .map(|s| s.map(|s| s.status))
}

/// Checks (and fixes) the router, and turns how that ended into the answer.
async fn check(
    deps: &Deps,
    echo: &Echo,
    props: &GuardProperties,
    physical_on_success: String,
    physical_on_failure: String,
    deadline: Deadline,
) -> (Answer, Option<GuardOutcome>) {
    let stack = stack_name_from_id(&echo.stack_id).unwrap_or("?");
    let ctx = EventContext {
        trigger: format!(
            "CloudFormation custom resource {} {} in stack {stack}",
            echo.logical_resource_id, echo.request_type
        ),
        region: deps.region.clone(),
        account: echo.stack_id.split(':').nth(4).map(String::from),
        event_id: Some(echo.request_id.clone()),
        account_name: None,
        member: deps.is_member(),
    };
    let check = run_guard(deps, &props.instance_id, ctx, deadline).await;
    answer_for(check, props, physical_on_success, physical_on_failure)
}

/// Runs the guard in its own task (a panic becomes a `JoinError`, answered FAILED) until the
/// deadline; throttling and AWS-side (5xx) failures are retried while it allows.
async fn run_guard(deps: &Deps, instance_id: &str, ctx: EventContext, deadline: Deadline) -> Check {
    let budget = deadline.remaining_or(Duration::MAX);
    if budget.is_zero() {
        return Check::TimedOut(budget);
    }
    let deps = deps.clone();
    let id = instance_id.to_string();
    let task = tokio::spawn(async move {
        let transient = |e: &HandlerError| matches!(e, HandlerError::Aws(e) if e.is_transient());
        let waits = Waits::until_deadline(TRANSIENT_RETRY_BASE, deadline);
        retry(waits, "router check", transient, |_| {
            guard_instance(&deps, &id, None, &ctx, deadline)
        })
        .await
    });
    let abort = task.abort_handle();
    match tokio::time::timeout(budget, task).await {
        Err(_) => {
            abort.abort();
            Check::TimedOut(budget)
        }
        Ok(Err(join)) if join.is_panic() => {
            tracing::error!(instance_id, "the router check panicked");
            Check::Panicked
        }
        Ok(Err(join)) => Check::Error(format!("the router check was cancelled: {join}")),
        Ok(Ok(Ok(outcome))) => Check::Done {
            outcome: Box::new(outcome),
            failed_fixes: 0,
        },
        Ok(Ok(Err(HandlerError::FixesFailed {
            failed, outcome, ..
        }))) => Check::Done {
            outcome,
            failed_fixes: failed,
        },
        Ok(Ok(Err(e))) => Check::Error(e.to_string()),
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests;
