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
//!
//! Which build runs: the cold start logs one `cold start` line with `version`
//! ([`crate::build_info::describe`], e.g. `0.1.0 (0123456789ab)`), and every JSON object a
//! function returns carries the same `version` ([`result_json`]).

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
    log_cold_start();
    let config = Config::from_env().map_err(|e| {
        tracing::error!(error = %e, "invalid configuration");
        FunctionError::from(e)
    })?;
    Ok(Deps::from_env(config).await)
}

/// The cold start's line: which build this execution environment runs (`version`).
pub fn log_cold_start() {
    tracing::info!(version = crate::build_info::describe_static(), "cold start");
}

/// The key every JSON result carries: [`crate::build_info::describe`].
pub const VERSION_KEY: &str = "version";

/// What Lambda returns for `out`: its JSON, and when that is an object, with
/// [`VERSION_KEY`] = the build (one place for every function). A result that has its own
/// `version` keeps it (the preflight report's, which is the same build). A Function URL response
/// (an object with `statusCode`: mist-webhook's answer to Mist) is returned as it is: its fields
/// are the HTTP response, and a URL any caller can reach does not announce its build.
pub fn result_json<O: Serialize>(out: &O) -> Result<Value, FunctionError> {
    let mut value = serde_json::to_value(out)
        .map_err(|e| FunctionError::new("Serialization", e.to_string()))?;
    if let Value::Object(fields) = &mut value {
        if !fields.contains_key("statusCode") {
            fields
                .entry(VERSION_KEY)
                .or_insert_with(|| Value::String(crate::build_info::describe_static().into()));
        }
    }
    Ok(value)
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
            result_json(&out).map_err(Diagnostic::from)
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
    fn when_a_function_returns_an_object_then_the_result_carries_the_build_version() {
        let out = serde_json::json!({"instance_id": "i-0123456789abcdef0", "findings": []});
        let v = result_json(&out).expect("serialises");
        assert_eq!(v["version"], crate::build_info::describe());
        assert_eq!(v["instance_id"], "i-0123456789abcdef0");
        assert!(v["version"]
            .as_str()
            .is_some_and(|s| s.starts_with(crate::build_info::VERSION)));
    }

    #[test]
    fn when_a_function_returns_a_function_url_response_then_it_goes_out_unchanged() {
        let out = crate::handlers::mist_webhook::HttpResponse {
            status_code: 401,
            headers: [("content-type".to_string(), "application/json".to_string())].into(),
            body: r#"{"error":"bad signature"}"#.into(),
        };
        let v = result_json(&out).expect("serialises");
        assert_eq!(v, serde_json::to_value(&out).expect("serialises"));
        assert!(v.get(VERSION_KEY).is_none(), "{v}");
    }

    #[test]
    fn when_a_function_returns_a_non_object_then_it_goes_out_unchanged() {
        assert_eq!(result_json(&"done").expect("serialises"), "done");
        assert_eq!(result_json(&()).expect("serialises"), Value::Null);
    }

    #[test]
    fn when_a_function_starts_cold_then_one_line_names_its_version() {
        use std::sync::{Arc, Mutex};
        #[derive(Clone, Default)]
        struct Buf(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buf {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut v) = self.0.lock() {
                    v.extend_from_slice(b);
                }
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buf = Buf::default();
        let writer = buf.clone();
        // The Lambdas' JSON format (telemetry::init_lambda), into a buffer.
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            log_cold_start();
        });
        let text =
            String::from_utf8(buf.0.lock().map(|b| b.clone()).unwrap_or_default()).expect("utf-8");
        let lines: Vec<Value> = text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        assert_eq!(lines[0]["message"], "cold start");
        assert_eq!(lines[0]["level"], "INFO");
        assert_eq!(lines[0]["version"], crate::build_info::describe());
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
