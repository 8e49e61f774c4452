//! What the webhook reads of a Function URL request, and what it answers: the HTTP response,
//! the delivery's summary and each event's outcome.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::alerting::AlertOutcome;
use crate::metrics::{Measured, Metrics};

/// The part of a Function URL request (payload format 2.0) the handler reads. Not
/// `requestContext.accountId`: with `AuthType: NONE` it is `"anonymous"` (with `AWS_IAM`, the
/// caller's account); the function's own account comes from the invocation's function ARN.
#[derive(Debug, Default, Deserialize)]
pub(super) struct FunctionUrlRequest {
    #[serde(default)]
    pub(super) headers: HashMap<String, String>,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default, rename = "isBase64Encoded")]
    pub(super) is_base64_encoded: bool,
}

/// What the Function URL answers (the Lambda result, payload format 2.0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HttpResponse {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl HttpResponse {
    pub(super) fn json(status_code: u16, body: &impl Serialize) -> Self {
        HttpResponse {
            status_code,
            headers: BTreeMap::from([("content-type".into(), "application/json".into())]),
            body: serde_json::to_string(body).unwrap_or_else(|_| "{}".into()),
        }
    }

    pub(super) fn error(status_code: u16, message: &str) -> Self {
        Self::json(status_code, &serde_json::json!({ "error": message }))
    }
}

/// The 200 answer: what became of each event.
#[derive(Clone, Debug, Default, Serialize)]
pub struct WebhookSummary {
    pub topic: String,
    pub events: usize,
    pub results: Vec<EventResult>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What one Mist event led to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventOutcome {
    /// Not a gateway event this function acts on, or no router of ours.
    #[default]
    Ignored,
    /// The router's episode finished (onboarded).
    Finished,
    /// The episode had finished already.
    AlreadyFinished,
    /// Mist reported a ZTP failure: paged.
    Paged,
    /// A ZTP failure already paged for this episode.
    AlreadyPaged,
    /// The event arrived, but the router is not onboarded yet.
    NotOnboarded,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct EventResult {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    pub outcome: EventOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AlertOutcome>,
}

/// A webhook delivery reports its duration only (its alerts are counted by the sweep's
/// `RoutersOverdue` and `OnboardingSeconds`).
impl Measured for HttpResponse {
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}
