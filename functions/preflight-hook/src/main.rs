//! `preflight-hook` Lambda: the CodeDeploy PreTraffic hook of the ssr-onboard functions (see
//! the library). Clients and the function list are built once per cold start.

use std::time::Duration;

use lambda_runtime::{run, service_fn, Diagnostic, Error, LambdaEvent};
use preflight_hook::{functions_from, handle, FUNCTIONS_VAR};
use serde_json::Value;

/// Kept before the invocation's deadline to report the verdict to CodeDeploy.
const REPORT_MARGIN: Duration = Duration::from_secs(5);

#[tokio::main]
async fn main() -> Result<(), Error> {
    ssr_core::telemetry::init_lambda();
    tracing::info!(version = %ssr_domain::build_info::describe(), "preflight-hook starting");
    let sdk = ssr_core::deps::sdk_loader().load().await;
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    let codedeploy = aws_sdk_codedeploy::Client::new(&sdk);
    let functions = functions_from(std::env::var("PREFLIGHT_FUNCTIONS").ok().as_deref());
    tracing::info!(variable = FUNCTIONS_VAR, functions = ?functions, "functions checked");
    let (lambda, codedeploy, functions) = (&lambda, &codedeploy, &functions);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let budget = ssr_core::Deadline::from_epoch_millis(event.context.deadline)
            .less(REPORT_MARGIN)
            .remaining_or(Duration::from_secs(60));
        handle(lambda, codedeploy, functions, event.payload, budget)
            .await
            .map_err(|e| {
                tracing::error!(error_type = e.error_type(), error = %e, "hook failed");
                Diagnostic {
                    error_type: e.error_type().to_string(),
                    error_message: e.to_string(),
                }
            })
    }))
    .await
}
