//! Handlers: event in, outcome out. Shared by the Lambda binaries and the CLI.

pub mod custom_resource;
pub mod guard;
pub mod mist_webhook;
pub mod stack_watch;
#[cfg(test)]
pub(crate) mod test_support;
pub mod watchdog;

use crate::aws::AwsError;
use crate::metrics::{Measured, Metrics};

/// Why an event could not be handled.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    /// The payload is not the event this handler takes (the message says what was expected).
    #[error("malformed event: {0}")]
    Malformed(String),
}

impl EventError {
    pub fn malformed(what: impl Into<String>) -> Self {
        EventError::Malformed(what.into())
    }
}

/// Handler failures: a bad event (do not retry), or AWS trouble (retry).
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(transparent)]
    Event(#[from] EventError),
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The event is for an account or region the function cannot act in.
    #[error(transparent)]
    Scope(#[from] crate::deps::ScopeError),
    /// Some automatic fixes failed: the event fails so EventBridge/Lambda retries it. The
    /// outcome (with the failures) was logged and alerted before this was returned.
    #[error(
        "{failed} of {total} automatic fixes failed on {instance_id}; the event will be retried"
    )]
    FixesFailed {
        instance_id: String,
        failed: usize,
        total: usize,
        outcome: Box<guard::GuardOutcome>,
    },
}

impl HandlerError {
    /// The Lambda `errorType`: a plain name an alarm or a person can match on.
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Event(_) => "MalformedEvent",
            HandlerError::Aws(_) => "AwsError",
            HandlerError::Scope(_) => "MemberScopeError",
            HandlerError::FixesFailed { .. } => "FixesFailed",
        }
    }
}

/// Parses `value` as `T`, with an error that says which event was expected and what is wrong.
pub fn parse_event<T: serde::de::DeserializeOwned>(
    expected: &str,
    value: serde_json::Value,
) -> Result<T, EventError> {
    serde_json::from_value(value)
        .map_err(|e| EventError::malformed(format!("expected {expected}: {e}")))
}

/// A failed guard run still reports what it found and fixed.
impl Measured for HandlerError {
    fn metrics(&self) -> Metrics {
        match self {
            HandlerError::FixesFailed { outcome, .. } => outcome.metrics(),
            _ => Metrics::default(),
        }
    }
}
