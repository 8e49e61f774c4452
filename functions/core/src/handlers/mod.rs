//! Handlers: event in, outcome out. Shared by the Lambda binaries and the CLI.

pub mod custom_resource;
pub mod drift;
pub mod guard;
pub mod mist_webhook;
pub mod preflight;
pub mod stack_watch;
#[cfg(test)]
pub(crate) mod test_support;
pub mod watchdog;

use crate::aws::AwsError;
use crate::config::is_account_id;
use crate::deadline::Deadline;
use crate::metrics::{Measured, Metrics};

/// What the Lambda runtime says about one invocation besides its payload: when it must be done,
/// and which function was invoked (`lambda::invocation` builds it from the `LambdaEvent`;
/// [`Invocation::local`] for the CLI and tests).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub deadline: Deadline,
    /// The invoked function's ARN, `arn:aws:lambda:REGION:ACCOUNT:function:NAME[:ALIAS]`
    /// (`None` outside Lambda).
    pub function_arn: Option<String>,
}

impl Invocation {
    /// No deadline, no function ARN: an invocation from the CLI.
    pub fn local() -> Self {
        Invocation::default()
    }

    /// These facts with another deadline.
    pub fn with_deadline(mut self, deadline: impl Into<Deadline>) -> Self {
        self.deadline = deadline.into();
        self
    }

    /// The account the invoked function belongs to: the fifth field of its ARN, when that is
    /// a 12-digit account id. (A Function URL with `AuthType: NONE` delivers
    /// `requestContext.accountId` = `"anonymous"`; this is where the owner's account is.)
    pub fn account(&self) -> Option<&str> {
        let mut fields = self.function_arn.as_deref()?.split(':');
        let (arn, _partition, service, _region, account) = (
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
            fields.next()?,
        );
        (arn == "arn" && service == "lambda" && is_account_id(account)).then_some(account)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_function_arn_is_a_lambda_arn_then_its_account_is_the_invocations() {
        let inv = |arn: &str| Invocation {
            function_arn: Some(arn.into()),
            ..Invocation::local()
        };
        for arn in [
            "arn:aws:lambda:us-east-1:123456789012:function:ssr-onboard-mist-webhook",
            "arn:aws:lambda:us-east-1:123456789012:function:ssr-onboard-mist-webhook:live",
            "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:f",
        ] {
            assert_eq!(inv(arn).account(), Some("123456789012"), "{arn}");
        }
        for arn in [
            "anonymous",
            "arn:aws:lambda:us-east-1:anonymous:function:f",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:lambda:us-east-1",
        ] {
            assert_eq!(inv(arn).account(), None, "{arn}");
        }
        assert_eq!(Invocation::local().account(), None);
        assert_eq!(Invocation::local().deadline, Deadline::NONE);
    }
}
