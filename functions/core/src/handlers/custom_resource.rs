//! `Custom::SsrRouterGuard`: CloudFormation asks ssr-onboard to check (and fix) a router before the
//! stack completes. Properties: `InstanceId` (required), `FailOnFindings` (optional, default
//! false; `"true"`/`"false"` strings as CloudFormation sends them, or booleans).
//!
//! **CloudFormation never waits in vain.** Every request that carries a `ResponseURL` gets a
//! response PUT to it before the Lambda deadline: the guard runs in its own task
//! (`tokio::spawn`, so a panic becomes a `JoinError` → FAILED) under a timeout of the deadline
//! minus [`DEADLINE_MARGIN`]; malformed properties, AWS errors, a timeout and a panic all answer
//! FAILED with a reason. Only a request with no `ResponseURL` at all cannot be answered; it is
//! logged and returned as [`EventError::Malformed`].
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
//! **HTTP.** One `reqwest::Client` per cold start lives in [`ResponseSender`] (kept out of `Deps`
//! because only this function talks HTTP to CloudFormation). The PUT has an empty `Content-Type`
//! (the URL is presigned without one), a body of at most 4096 bytes (the Reason is cut to fit),
//! and is retried on network errors and 5xx. The presigned URL is never logged (it is a
//! credential until it expires).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CloudFormationCustomResourceResponse,
    CloudFormationCustomResourceResponseStatus,
};
use serde::Serialize;
use serde_json::Value;

use super::guard::{guard_instance, GuardOutcome};
use super::{EventError, HandlerError};
use crate::aws::cloudformation::stack_name_from_id;
use crate::aws::AwsError;
use crate::deps::Deps;
use crate::findings::Severity;
use crate::render::EventContext;

/// First wait before re-running a check that hit a transient AWS error (doubling after).
const TRANSIENT_RETRY_BASE: Duration = Duration::from_millis(200);

/// The stack statuses in which an Update request is CloudFormation rolling back: it answers
/// SUCCESS without re-checking (FAILED here would leave the stack UPDATE_ROLLBACK_FAILED).
const ROLLBACK_STATUSES: &[&str] = &["UPDATE_ROLLBACK_IN_PROGRESS"];

/// Time kept before the Lambda deadline for answering CloudFormation.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(5);
/// CloudFormation rejects response bodies larger than this.
pub const MAX_RESPONSE_BYTES: usize = 4096;
/// Prefix of the physical ids this provider hands out.
pub const PHYSICAL_ID_PREFIX: &str = "ssr-guard-";

/// The properties of `Custom::SsrRouterGuard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardProperties {
    pub instance_id: String,
    pub fail_on_findings: bool,
}

/// `https://host/…` or `http://host/…` (the pre-signed S3 URL CloudFormation sends; http for
/// local tests).
fn is_absolute_http_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "https" | "http") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Reads the resource properties; the error says which property is wrong and how.
pub fn parse_properties(props: &Value) -> Result<GuardProperties, String> {
    let instance_id = match props.get("InstanceId") {
        None | Some(Value::Null) => {
            return Err("property InstanceId is required (the router's instance id, e.g. !Ref Router)".into())
        }
        Some(Value::String(s)) if crate::snapshot::is_instance_id(s.trim()) => s.trim().to_string(),
        Some(Value::String(s)) => {
            return Err(format!(
                "property InstanceId `{}` is not an EC2 instance id (i- followed by 8 or 17 lower-case hex digits)",
                s.chars().take(40).collect::<String>()
            ))
        }
        Some(_) => return Err("property InstanceId must be a string".into()),
    };
    let fail_on_findings = match props.get("FailOnFindings") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => true,
            "false" | "" => false,
            _ => return Err("property FailOnFindings must be true or false".into()),
        },
        Some(_) => return Err("property FailOnFindings must be true or false".into()),
    };
    Ok(GuardProperties {
        instance_id,
        fail_on_findings,
    })
}

/// Sends custom resource responses: one HTTP client per cold start, a few retries.
#[derive(Clone, Debug)]
pub struct ResponseSender {
    http: reqwest::Client,
    attempts: u32,
    base_delay: Duration,
}

/// The response could not be delivered.
#[derive(Debug, thiserror::Error)]
#[error("custom resource response not delivered after {attempts} attempt(s): {reason}")]
pub struct PutError {
    pub attempts: u32,
    pub reason: String,
}

impl ResponseSender {
    /// A client with short connect timeouts, 4 attempts, 250 ms base backoff.
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .build()?;
        Ok(Self::with_client(http, 4, Duration::from_millis(250)))
    }

    pub fn with_client(http: reqwest::Client, attempts: u32, base_delay: Duration) -> Self {
        ResponseSender {
            http,
            attempts: attempts.max(1),
            base_delay,
        }
    }

    /// PUTs `body` to the presigned `url`, retrying network errors and 5xx until `until`.
    /// Returns the number of attempts made.
    pub async fn put(&self, url: &str, body: String, until: Instant) -> Result<u32, PutError> {
        let mut last = String::from("no attempt made before the deadline");
        let mut attempt = 0;
        while attempt < self.attempts {
            let left = until.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(100) {
                break;
            }
            attempt += 1;
            let res = self
                .http
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, "")
                .timeout(left.min(Duration::from_secs(10)))
                .body(body.clone())
                .send()
                .await;
            let retry = match res {
                Ok(r) if r.status().is_success() => return Ok(attempt),
                Ok(r) => {
                    last = format!("HTTP {}", r.status());
                    r.status().is_server_error()
                }
                // Never the error's URL: it is the presigned one.
                Err(e) => {
                    last = e.without_url().to_string();
                    true
                }
            };
            tracing::warn!(attempt, error = %last, retry, "custom resource response PUT failed");
            if !retry {
                break;
            }
            if attempt < self.attempts {
                tokio::time::sleep(
                    self.base_delay
                        .saturating_mul(2u32.saturating_pow(attempt - 1))
                        .min(until.saturating_duration_since(Instant::now())),
                )
                .await;
            }
        }
        Err(PutError {
            attempts: attempt,
            reason: last,
        })
    }
}

/// What the custom resource did and answered.
#[derive(Clone, Debug, Serialize)]
pub struct CustomResourceOutcome {
    pub request_type: String,
    pub request_id: String,
    pub stack_id: String,
    pub logical_resource_id: String,
    pub physical_resource_id: String,
    /// `SUCCESS` or `FAILED`.
    pub status: String,
    pub reason: String,
    pub data: BTreeMap<String, String>,
    pub response_sent: bool,
    pub put_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardOutcome>,
}

/// The fields of a response, before serialisation.
struct Answer {
    success: bool,
    reason: String,
    physical_resource_id: String,
    data: BTreeMap<String, String>,
}

/// The request fields every response echoes.
struct Echo {
    request_type: String,
    response_url: String,
    stack_id: String,
    request_id: String,
    logical_resource_id: String,
}

fn cut(s: &str, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s.to_string();
    }
    let mut end = max_bytes.saturating_sub(3);
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// The response body (AWS custom resource response fields), at most [`MAX_RESPONSE_BYTES`]: the
/// Reason is shortened until it fits, Data dropped as a last resort.
pub fn response_body(
    success: bool,
    reason: &str,
    physical_resource_id: &str,
    stack_id: &str,
    request_id: &str,
    logical_resource_id: &str,
    data: &BTreeMap<String, String>,
) -> String {
    let build = |reason: &str, data: &BTreeMap<String, String>| {
        let mut r = CloudFormationCustomResourceResponse::default();
        r.status = if success {
            CloudFormationCustomResourceResponseStatus::Success
        } else {
            CloudFormationCustomResourceResponseStatus::Failed
        };
        r.reason = Some(reason.to_string());
        r.physical_resource_id = physical_resource_id.to_string();
        r.stack_id = stack_id.to_string();
        r.request_id = request_id.to_string();
        r.logical_resource_id = logical_resource_id.to_string();
        r.data = data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>();
        serde_json::to_string(&r).unwrap_or_default()
    };
    let mut reason = reason.to_string();
    let mut body = build(&reason, data);
    while body.len() > MAX_RESPONSE_BYTES && reason.len() > 16 {
        let excess = body.len() - MAX_RESPONSE_BYTES;
        reason = cut(&reason, reason.len().saturating_sub(excess + 8).max(16));
        body = build(&reason, data);
    }
    if body.len() > MAX_RESPONSE_BYTES {
        body = build(&reason, &BTreeMap::new());
    }
    body
}

fn failed(reason: impl Into<String>, physical_resource_id: String) -> Answer {
    Answer {
        success: false,
        reason: reason.into(),
        physical_resource_id,
        data: BTreeMap::new(),
    }
}

/// How the guard run ended.
enum Check {
    Done {
        outcome: Box<GuardOutcome>,
        failed_fixes: usize,
    },
    Error(String),
    Panicked,
    TimedOut(Duration),
}

async fn run_guard(deps: &Deps, instance_id: &str, ctx: EventContext, budget: Duration) -> Check {
    if budget.is_zero() {
        return Check::TimedOut(budget);
    }
    let deps = deps.clone();
    let id = instance_id.to_string();
    let until = Instant::now() + budget;
    let task = tokio::spawn(async move {
        // Throttling and AWS-side (5xx) failures are retried while the budget lasts, before the
        // request answers FAILED.
        let mut attempt: u32 = 0;
        loop {
            match guard_instance(&deps, &id, None, &ctx).await {
                Err(HandlerError::Aws(e)) if e.is_transient() => {
                    let wait = TRANSIENT_RETRY_BASE.saturating_mul(2u32.saturating_pow(attempt));
                    if Instant::now() + wait >= until {
                        return Err(HandlerError::Aws(e));
                    }
                    tracing::warn!(attempt, error = %e, "transient AWS error; checking again");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
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

/// Turns a finished check into the answer (see the module docs for the rules).
fn judge(
    props: &GuardProperties,
    outcome: &GuardOutcome,
    failed_fixes: usize,
    physical_on_success: String,
    physical_on_failure: String,
) -> Answer {
    let id = &props.instance_id;
    let checked = outcome.selected
        && matches!(
            outcome.state.as_deref(),
            Some("pending" | "running" | "stopped")
        );
    if !checked {
        return failed(
            format!("ssr-onboard could not check {id}: {}", outcome.reason),
            physical_on_failure,
        );
    }
    let fixed = outcome.findings.iter().filter(|f| f.fixed).count();
    let remaining: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| !f.fixed && f.severity > Severity::Info)
        .map(|f| f.code.as_str())
        .collect();
    let mut reason = format!(
        "ssr-onboard checked router {id}: {} finding(s), {fixed} fixed, {} remaining",
        outcome.findings.len(),
        remaining.len()
    );
    if !remaining.is_empty() {
        reason.push_str(": ");
        reason.push_str(&remaining.join(", "));
    }
    if failed_fixes > 0 {
        reason.push_str(&format!("; {failed_fixes} automatic fix(es) failed"));
    }
    if outcome.alert.sent {
        reason.push_str("; on-call alerted");
    }
    let data = BTreeMap::from([
        ("InstanceId".to_string(), id.clone()),
        ("Findings".to_string(), outcome.findings.len().to_string()),
        ("Fixed".to_string(), fixed.to_string()),
        ("Remaining".to_string(), remaining.len().to_string()),
        ("RemainingCodes".to_string(), remaining.join(",")),
    ]);
    let problems = !remaining.is_empty() || failed_fixes > 0;
    if props.fail_on_findings && problems {
        reason.push_str(" (FailOnFindings is true)");
        Answer {
            success: false,
            reason,
            physical_resource_id: physical_on_failure,
            data,
        }
    } else {
        Answer {
            success: true,
            reason,
            physical_resource_id: physical_on_success,
            data,
        }
    }
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Handles one custom resource request; always answers CloudFormation when it can.
pub async fn handle_request(
    deps: &Deps,
    sender: &ResponseSender,
    event: Value,
    deadline: SystemTime,
) -> Result<CustomResourceOutcome, HandlerError> {
    let started = Instant::now();
    let remaining = deadline
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO);
    let put_until = started + remaining.saturating_sub(Duration::from_millis(500));
    let budget = remaining.saturating_sub(DEADLINE_MARGIN);

    // A ResponseURL that is not an absolute http(s) URL can never be answered: a typed malformed
    // request at once, not PUT retries until the deadline. (The URL is pre-signed: never logged.)
    if let Some(url) = event.get("ResponseURL").and_then(Value::as_str) {
        if !is_absolute_http_url(url) {
            return Err(EventError::malformed(
                "custom resource ResponseURL is not an absolute http(s) URL: CloudFormation cannot be answered",
            )
            .into());
        }
    }

    let request: CloudFormationCustomResourceRequest = match serde_json::from_value(event.clone()) {
        Ok(r) => r,
        Err(e) => {
            let url = str_field(&event, "ResponseURL");
            let msg = format!("malformed custom resource request: {e}");
            if url.is_empty() {
                tracing::error!(error = %msg, "custom resource request without ResponseURL: cannot answer");
                return Err(EventError::malformed(format!(
                    "{msg} (no ResponseURL: CloudFormation cannot be answered)"
                ))
                .into());
            }
            let echo = Echo {
                request_type: str_field(&event, "RequestType"),
                response_url: url,
                stack_id: str_field(&event, "StackId"),
                request_id: str_field(&event, "RequestId"),
                logical_resource_id: str_field(&event, "LogicalResourceId"),
            };
            let physical = Some(str_field(&event, "PhysicalResourceId"))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| format!("{PHYSICAL_ID_PREFIX}{}", echo.logical_resource_id));
            return respond(sender, echo, failed(msg, physical), None, put_until).await;
        }
    };

    let (echo, answer, guard) = match request {
        CloudFormationCustomResourceRequest::Delete(d) => {
            tracing::info!(
                request_type = "Delete",
                logical_resource_id = %d.logical_resource_id,
                physical_resource_id = %d.physical_resource_id,
                decision = "success",
                "delete: nothing to undo"
            );
            let echo = Echo {
                request_type: "Delete".into(),
                response_url: d.response_url,
                stack_id: d.stack_id,
                request_id: d.request_id,
                logical_resource_id: d.logical_resource_id,
            };
            let answer = Answer {
                success: true,
                reason: "ssr-onboard changes nothing on delete".into(),
                physical_resource_id: d.physical_resource_id,
                data: BTreeMap::new(),
            };
            (echo, answer, None)
        }
        CloudFormationCustomResourceRequest::Create(c) => {
            let echo = Echo {
                request_type: "Create".into(),
                response_url: c.response_url,
                stack_id: c.stack_id,
                request_id: c.request_id,
                logical_resource_id: c.logical_resource_id,
            };
            let fallback = format!("{PHYSICAL_ID_PREFIX}{}", echo.logical_resource_id);
            match parse_properties(&c.resource_properties) {
                Err(msg) => (echo, failed(msg, fallback), None),
                Ok(props) => {
                    let physical = format!("{PHYSICAL_ID_PREFIX}{}", props.instance_id);
                    let (answer, guard) =
                        check(deps, &echo, &props, physical.clone(), physical, budget).await;
                    (echo, answer, guard)
                }
            }
        }
        CloudFormationCustomResourceRequest::Update(u) => {
            let echo = Echo {
                request_type: "Update".into(),
                response_url: u.response_url,
                stack_id: u.stack_id,
                request_id: u.request_id,
                logical_resource_id: u.logical_resource_id,
            };
            let kept = u.physical_resource_id;
            match stack_status(deps, &echo.stack_id, budget).await {
                Ok(Some(status)) if ROLLBACK_STATUSES.contains(&status.as_str()) => {
                    tracing::info!(
                        request_type = "Update",
                        stack_status = %status,
                        decision = "success",
                        "stack is rolling back: not re-checked"
                    );
                    let answer = Answer {
                        success: true,
                        reason: format!(
                            "stack is {status}: the router is not re-checked during a rollback"
                        ),
                        physical_resource_id: kept,
                        data: BTreeMap::new(),
                    };
                    return respond(sender, echo, answer, None, put_until).await;
                }
                Ok(_) => {}
                Err(e) if e.is_transient() => {
                    let msg = format!("could not read the stack's status before the deadline: {e}");
                    return respond(sender, echo, failed(msg, kept), None, put_until).await;
                }
                // Not allowed or not answerable: the Update is checked as if not rolling back.
                Err(e) => {
                    tracing::warn!(error = %e, "stack status unknown; checking the router");
                }
            }
            match parse_properties(&u.resource_properties) {
                Err(msg) => (echo, failed(msg, kept), None),
                Ok(props) => {
                    let old_id = u
                        .old_resource_properties
                        .get("InstanceId")
                        .and_then(Value::as_str)
                        .map(str::trim);
                    let on_success = if old_id == Some(props.instance_id.as_str()) {
                        kept.clone()
                    } else {
                        format!("{PHYSICAL_ID_PREFIX}{}", props.instance_id)
                    };
                    let (answer, guard) =
                        check(deps, &echo, &props, on_success, kept, budget).await;
                    (echo, answer, guard)
                }
            }
        }
        // `CloudFormationCustomResourceRequest` is non-exhaustive: a request type added later.
        other => {
            let v = serde_json::to_value(&other).unwrap_or_default();
            let echo = Echo {
                request_type: str_field(&v, "RequestType"),
                response_url: str_field(&v, "ResponseURL"),
                stack_id: str_field(&v, "StackId"),
                request_id: str_field(&v, "RequestId"),
                logical_resource_id: str_field(&v, "LogicalResourceId"),
            };
            let physical = Some(str_field(&v, "PhysicalResourceId"))
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| format!("{PHYSICAL_ID_PREFIX}{}", echo.logical_resource_id));
            let msg = format!("unsupported RequestType {}", echo.request_type);
            (echo, failed(msg, physical), None)
        }
    };
    respond(sender, echo, answer, guard, put_until).await
}

/// The stack's status (one DescribeStacks for the request's StackId), transient errors retried
/// within `budget`. `None` when the stack is not found.
async fn stack_status(
    deps: &Deps,
    stack_id: &str,
    budget: Duration,
) -> Result<Option<String>, AwsError> {
    let until = Instant::now() + budget;
    let mut attempt: u32 = 0;
    loop {
        match deps.cloudformation().describe_stack(stack_id).await {
            Ok(s) => return Ok(s.map(|s| s.status)),
            Err(e) if e.is_transient() => {
                let wait = TRANSIENT_RETRY_BASE.saturating_mul(2u32.saturating_pow(attempt));
                if Instant::now() + wait >= until {
                    return Err(e);
                }
                tracing::warn!(attempt, error = %e, "DescribeStacks: transient error; retrying");
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn check(
    deps: &Deps,
    echo: &Echo,
    props: &GuardProperties,
    physical_on_success: String,
    physical_on_failure: String,
    budget: Duration,
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
        deadline: Some(std::time::SystemTime::now() + budget),
        member: deps.is_member(),
    };
    let id = &props.instance_id;
    match run_guard(deps, id, ctx, budget).await {
        Check::Done {
            outcome,
            failed_fixes,
        } => {
            let answer = judge(
                props,
                &outcome,
                failed_fixes,
                physical_on_success,
                physical_on_failure,
            );
            (answer, Some(*outcome))
        }
        Check::Error(e) => (
            failed(
                format!("ssr-onboard could not check {id}: {e}"),
                physical_on_failure,
            ),
            None,
        ),
        Check::Panicked => (
            failed(
                format!(
                    "ssr-onboard could not check {id}: internal error (see the stack-watch logs)"
                ),
                physical_on_failure,
            ),
            None,
        ),
        Check::TimedOut(budget) => (
            failed(
                format!(
                    "ssr-onboard could not check {id}: timed out after {} s (the instance guard \
                     will check it on its next state change)",
                    budget.as_secs()
                ),
                physical_on_failure,
            ),
            None,
        ),
    }
}

async fn respond(
    sender: &ResponseSender,
    echo: Echo,
    answer: Answer,
    guard: Option<GuardOutcome>,
    put_until: Instant,
) -> Result<CustomResourceOutcome, HandlerError> {
    let status = if answer.success { "SUCCESS" } else { "FAILED" };
    let body = response_body(
        answer.success,
        &answer.reason,
        &answer.physical_resource_id,
        &echo.stack_id,
        &echo.request_id,
        &echo.logical_resource_id,
        &answer.data,
    );
    let put = sender.put(&echo.response_url, body, put_until).await;
    let (sent, attempts) = match &put {
        Ok(n) => (true, *n),
        Err(e) => (false, e.attempts),
    };
    tracing::info!(
        request_type = %echo.request_type,
        request_id = %echo.request_id,
        logical_resource_id = %echo.logical_resource_id,
        physical_resource_id = %answer.physical_resource_id,
        status,
        reason = %answer.reason,
        response_sent = sent,
        put_attempts = attempts,
        "custom resource answered"
    );
    if let Err(e) = put {
        // The invocation fails so Lambda's asynchronous retry runs the request again.
        return Err(AwsError::new(
            "PutCustomResourceResponse",
            "ResponseNotDelivered",
            e.to_string(),
        )
        .into());
    }
    Ok(CustomResourceOutcome {
        request_type: echo.request_type,
        request_id: echo.request_id,
        stack_id: echo.stack_id,
        logical_resource_id: echo.logical_resource_id,
        physical_resource_id: answer.physical_resource_id,
        status: status.to_string(),
        reason: answer.reason,
        data: answer.data,
        response_sent: sent,
        put_attempts: attempts,
        guard,
    })
}

#[cfg(test)]
mod tests;
