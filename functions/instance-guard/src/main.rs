//! `instance-guard` Lambda: EC2 instance state-change events → ssr_core's guard handler.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use ssr_core::handlers::guard;
use ssr_core::{telemetry, Config, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let deps = Deps::from_env(config).await;
    run(service_fn(|event: LambdaEvent<Value>| {
        let deps = &deps;
        async move {
            let outcome = guard::handle_event(deps, event.payload).await?;
            Ok::<Value, Error>(serde_json::to_value(outcome)?)
        }
    }))
    .await
}
