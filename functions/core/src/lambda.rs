//! The Lambda boundary, shared by every function's `main`: JSON logs, configuration read once,
//! the result serialised, and every error reported to Lambda with a plain, named `errorType`
//! (`MalformedEvent`, `AwsError`, `MemberScopeError`, `FixesFailed`, `SweepIncomplete`, `Config`,
//! `Serialization`).
//!
//! A configuration error does not crash the runtime at start (Lambda would only say
//! `Runtime.ExitError`): every invocation answers it as `errorType: "Config"` with the message.
//!
//! Every invocation, errors included, prints its metrics as EMF lines on stdout
//! ([`crate::metrics`]): the outcome's (or the failure's) and `DurationMs`.

use std::future::Future;
use std::time::Instant;

use lambda_runtime::{run, service_fn};
pub use lambda_runtime::{Diagnostic, Error, LambdaEvent};
use serde::Serialize;
use serde_json::Value;

use crate::config::ConfigError;
use crate::handlers::watchdog::SweepError;
use crate::handlers::{HandlerError, Invocation};
pub use crate::metrics::Function;
use crate::metrics::{self, Measured, Metrics};
use crate::{telemetry, Config, Deps};

/// An error as Lambda reports it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct FunctionError {
    pub error_type: &'static str,
    pub message: String,
}

impl FunctionError {
    pub fn new(error_type: &'static str, message: impl Into<String>) -> Self {
        FunctionError {
            error_type,
            message: message.into(),
        }
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(e: FunctionError) -> Self {
        Diagnostic {
            error_type: e.error_type.to_string(),
            error_message: e.message,
        }
    }
}

impl From<HandlerError> for FunctionError {
    fn from(e: HandlerError) -> Self {
        FunctionError::new(e.error_type(), e.to_string())
    }
}

impl From<SweepError> for FunctionError {
    fn from(e: SweepError) -> Self {
        FunctionError::new(e.error_type(), e.to_string())
    }
}

impl From<ConfigError> for FunctionError {
    fn from(e: ConfigError) -> Self {
        FunctionError::new("Config", e.to_string())
    }
}

/// Logging, configuration and the dependencies every function uses (clients from the standard
/// AWS chain).
pub async fn init() -> Result<Deps, FunctionError> {
    telemetry::init_lambda();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        FunctionError::from(e)
    })?;
    Ok(Deps::from_env(config).await)
}

/// The invocation's deadline (the Lambda context's `deadline`, epoch milliseconds).
pub fn deadline(event: &LambdaEvent<Value>) -> crate::Deadline {
    crate::Deadline::from_epoch_millis(event.context.deadline)
}

/// The invocation's deadline and the invoked function's ARN (the context's
/// `invoked_function_arn`, whose account is the function's own).
pub fn invocation(event: &LambdaEvent<Value>) -> Invocation {
    Invocation {
        deadline: deadline(event),
        function_arn: Some(event.context.invoked_function_arn.clone())
            .filter(|arn| !arn.is_empty()),
    }
}

/// Time kept before the Lambda deadline by a handler's waits (the guard's read-back polling),
/// so the alert and the answer to Lambda still fit in the invocation (the custom resource keeps
/// its own, larger margin: `custom_resource::DEADLINE_MARGIN`).
pub const WAIT_DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(2);

/// Serves invocations of `function` with `handler` over `state` (built once per cold start).
pub async fn serve<'a, D, F, Fut, O, E>(
    function: Function,
    state: &'a Result<D, FunctionError>,
    handler: F,
) -> Result<(), Error>
where
    F: Fn(&'a D, LambdaEvent<Value>) -> Fut,
    Fut: Future<Output = Result<O, E>> + 'a,
    O: Serialize + Measured,
    E: Measured,
    FunctionError: From<E>,
{
    run(service_fn(move |event: LambdaEvent<Value>| {
        let started = Instant::now();
        // Boxed: the handler futures are deep, and the runtime nests them further.
        let call = state.as_ref().map(|d| Box::pin(handler(d, event)));
        async move {
            let result = match call {
                Ok(fut) => {
                    let result = fut.await;
                    emit_metrics(function, Some(&result), started);
                    result.map_err(FunctionError::from)
                }
                Err(e) => {
                    emit_metrics::<O, E>(function, None, started);
                    Err(e.clone())
                }
            };
            let out = result.map_err(|e| {
                tracing::error!(error_type = e.error_type, error = %e.message, "invocation failed");
                Diagnostic::from(e)
            })?;
            serde_json::to_value(out)
                .map_err(|e| Diagnostic::from(FunctionError::new("Serialization", e.to_string())))
        }
    }))
    .await
}

/// Prints the invocation's EMF lines (`None`: the function could not start, e.g. `Config`).
fn emit_metrics<O: Measured, E: Measured>(
    function: Function,
    result: Option<&Result<O, E>>,
    started: Instant,
) {
    let m = metrics::invocation(result, started.elapsed());
    metrics::emit(function, &m, chrono::Utc::now());
}

/// An error at the boundary (bad configuration) has no outcome to report.
impl Measured for FunctionError {
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::EventError;

    #[test]
    fn when_an_event_is_malformed_then_the_error_type_is_a_plain_name() {
        let d = Diagnostic::from(FunctionError::from(HandlerError::from(
            EventError::malformed("expected an EC2 event"),
        )));
        assert_eq!(d.error_type, "MalformedEvent");
        assert!(d.error_message.contains("expected an EC2 event"));
    }

    #[test]
    fn when_lambda_invokes_then_the_invocation_carries_the_function_arn_and_its_account() {
        let mut context = lambda_runtime::Context::default();
        context.invoked_function_arn =
            "arn:aws:lambda:us-east-1:123456789012:function:ssr-onboard-mist-webhook".into();
        context.deadline = 4_102_444_800_000;
        let inv = invocation(&LambdaEvent::new(Value::Null, context));
        assert_eq!(inv.account(), Some("123456789012"));
        assert!(
            inv.deadline.instant().is_some(),
            "the context's deadline: {:?}",
            inv.deadline
        );
    }

    #[test]
    fn when_the_deadline_is_far_then_waits_stop_the_margin_before_it() {
        let secs = std::time::Duration::from_secs;
        let waits = crate::Deadline::after(secs(30)).less(WAIT_DEADLINE_MARGIN);
        let left = waits.remaining().unwrap_or_default();
        assert!(left <= secs(28) && left > secs(27), "{left:?}");
    }

    #[test]
    fn when_the_deadline_is_inside_the_margin_or_past_then_waits_stop_now() {
        let ms = std::time::Duration::from_millis;
        for deadline in [
            crate::Deadline::after(ms(1_500)),
            crate::Deadline::after(ms(0)),
            crate::Deadline::PAST,
        ] {
            assert!(!deadline.less(WAIT_DEADLINE_MARGIN).allows(ms(1)));
        }
    }
}
