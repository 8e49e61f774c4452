//! `stack-watch` Lambda: CloudFormation stack/resource status events (EventBridge) and the
//! `Custom::SsrRouterGuard` custom resource → ssr_core's stack-watch handler.
//!
//! The deadline of each invocation (`LambdaEvent.context.deadline`) is passed on, so a custom
//! resource always answers CloudFormation before the function times out. The HTTP client for
//! those answers is built once per cold start.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use ssr_core::handlers::custom_resource::ResponseSender;
use ssr_core::handlers::stack_watch;
use ssr_core::{telemetry, Config, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let deps = Deps::from_env(config).await;
    let sender = ResponseSender::new()?;
    run(service_fn(|event: LambdaEvent<Value>| {
        let deps = &deps;
        let sender = &sender;
        async move {
            let deadline = event.context.deadline();
            let outcome = stack_watch::handle_event(deps, sender, event.payload, deadline).await?;
            Ok::<Value, Error>(serde_json::to_value(outcome)?)
        }
    }))
    .await
}
