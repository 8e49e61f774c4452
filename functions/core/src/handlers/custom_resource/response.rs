//! Answering CloudFormation: the response body (at most [`MAX_RESPONSE_BYTES`]), the PUT to the
//! pre-signed `ResponseURL` (never logged: it is a credential until it expires), and the
//! outcome the handler returns. [`ResponseSender`] is built once per cold start (stack-watch's
//! `main`, the CLI).

use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse, CloudFormationCustomResourceResponseStatus,
};
use serde::Serialize;

use super::verdict::Answer;
use crate::aws::AwsError;
use crate::config::RetryPolicy;
use crate::deadline::Deadline;
use crate::handlers::guard::GuardOutcome;
use crate::handlers::HandlerError;
use crate::retry::{retry, Waits};

/// CloudFormation rejects response bodies larger than this.
pub const MAX_RESPONSE_BYTES: usize = 4096;
/// One PUT waits at most this long for CloudFormation's answer.
const PUT_TIMEOUT: Duration = Duration::from_secs(10);
/// No attempt starts with less time than this before the deadline.
const MIN_ATTEMPT_TIME: Duration = Duration::from_millis(100);

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

    /// PUTs `body` to the presigned `url`, retrying network errors and 5xx while `deadline`
    /// allows. Returns the number of attempts made.
    pub async fn put(&self, url: &str, body: String, deadline: Deadline) -> Result<u32, PutError> {
        if !deadline.allows(MIN_ATTEMPT_TIME) {
            return Err(PutError {
                attempts: 0,
                reason: "no attempt made before the deadline".into(),
            });
        }
        let waits = Waits::policy(
            RetryPolicy {
                attempts: self.attempts,
                base_delay: self.base_delay,
            },
            deadline,
        );
        let attempts = Cell::new(0);
        retry(
            waits,
            "custom resource response PUT",
            |e: &Failed| e.retry,
            |n| {
                attempts.set(n);
                let left = deadline.remaining_or(PUT_TIMEOUT).min(PUT_TIMEOUT);
                let req = self
                    .http
                    .put(url)
                    .header(reqwest::header::CONTENT_TYPE, "")
                    .timeout(left)
                    .body(body.clone());
                async move {
                    let failed = match req.send().await {
                        Ok(r) if r.status().is_success() => return Ok(n),
                        Ok(r) => Failed {
                            reason: format!("HTTP {}", r.status()),
                            retry: r.status().is_server_error(),
                        },
                        // Never the error's URL: it is the presigned one.
                        Err(e) => Failed {
                            reason: e.without_url().to_string(),
                            retry: true,
                        },
                    };
                    tracing::warn!(
                        attempt = n,
                        error = %failed.reason,
                        retry = failed.retry,
                        "custom resource response PUT failed"
                    );
                    Err(failed)
                }
            },
        )
        .await
        .map_err(|f| PutError {
            attempts: attempts.get(),
            reason: f.reason,
        })
    }
}

/// One failed PUT: why, and whether another attempt may succeed (network errors, 5xx).
struct Failed {
    reason: String,
    retry: bool,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The answer's `Status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CustomResourceStatus {
    Success,
    Failed,
}

impl CustomResourceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CustomResourceStatus::Success => "SUCCESS",
            CustomResourceStatus::Failed => "FAILED",
        }
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
    pub status: CustomResourceStatus,
    pub reason: String,
    pub data: BTreeMap<String, String>,
    pub response_sent: bool,
    pub put_attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guard: Option<GuardOutcome>,
}

/// The request fields every response echoes.
pub(super) struct Echo {
    pub(super) request_type: String,
    pub(super) response_url: String,
    pub(super) stack_id: String,
    pub(super) request_id: String,
    pub(super) logical_resource_id: String,
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

pub(super) async fn respond(
    sender: &ResponseSender,
    echo: Echo,
    answer: Answer,
    guard: Option<GuardOutcome>,
    put_deadline: Deadline,
) -> Result<CustomResourceOutcome, HandlerError> {
    let status = if answer.success {
        CustomResourceStatus::Success
    } else {
        CustomResourceStatus::Failed
    };
    let body = response_body(
        answer.success,
        &answer.reason,
        &answer.physical_resource_id,
        &echo.stack_id,
        &echo.request_id,
        &echo.logical_resource_id,
        &answer.data,
    );
    let put = sender.put(&echo.response_url, body, put_deadline).await;
    let (sent, attempts) = match &put {
        Ok(n) => (true, *n),
        Err(e) => (false, e.attempts),
    };
    tracing::info!(
        request_type = %echo.request_type,
        request_id = %echo.request_id,
        logical_resource_id = %echo.logical_resource_id,
        physical_resource_id = %answer.physical_resource_id,
        status = status.as_str(),
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
        status,
        reason: answer.reason,
        data: answer.data,
        response_sent: sent,
        put_attempts: attempts,
        guard,
    })
}
