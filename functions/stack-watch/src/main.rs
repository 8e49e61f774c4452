//! `stack-watch` Lambda: CloudFormation stack/resource status events (EventBridge) and the
//! `Custom::SsrRouterGuard` custom resource → ssr_core's stack-watch handler. Each invocation's
//! deadline is passed on, so a custom resource always answers CloudFormation before the function
//! times out; the HTTP client for those answers is built once per cold start.

use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::preflight::{self, Answer, Preflight};
use ssr_core::handlers::stack_watch;
use ssr_core::lambda::{self, FunctionError};

/// The `Function` dimension of this function's metrics.
const FUNCTION: lambda::Function = lambda::Function::StackWatch;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let state = lambda::init().await.and_then(|deps| {
        let sender =
            ResponseSender::new().map_err(|e| FunctionError::new("Config", e.to_string()))?;
        Ok((deps, sender))
    });
    lambda::serve(FUNCTION, &state, |(deps, sender), event| async move {
        let deadline = lambda::deadline(&event);
        // `{"ssr-onboard": "preflight"}`: the function checks its own permissions.
        if let Some(request) = preflight::request_of(&event.payload) {
            let pf = Preflight::new(FUNCTION, event.context.request_id.as_str(), deadline);
            return Ok(Answer::Preflight(preflight::run(deps, &pf, &request).await));
        }
        stack_watch::handle_event(deps, sender, event.payload, deadline)
            .await
            .map(Answer::Outcome)
    })
    .await
}
