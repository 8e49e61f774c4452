//! `onboarding-watchdog` Lambda: an EventBridge schedule (every minute) → one sweep over the
//! running routers (ssr_core's watchdog handler). The Mist client and the token cache live as
//! long as the execution environment.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::{telemetry, Config, Deps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let config = Config::from_env()?;
    let deps = Deps::from_env(config).await;
    let watchdog = Watchdog::new(&deps.config, deps.clients.secrets.clone());
    run(service_fn(|event: LambdaEvent<Value>| {
        let (deps, watchdog) = (&deps, &watchdog);
        async move {
            let outcome = watchdog.handle_event(deps, event.payload).await?;
            Ok::<Value, Error>(serde_json::to_value(outcome)?)
        }
    }))
    .await
}
