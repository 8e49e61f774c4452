//! `onboarding-watchdog` Lambda: an EventBridge schedule (every minute) → one sweep over the
//! running routers. The Mist client and the token cache live as long as the execution
//! environment.

use ssr_core::handlers::preflight::{self, Answer, Preflight};
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::lambda;

/// The `Function` dimension of this function's metrics.
const FUNCTION: lambda::Function = lambda::Function::OnboardingWatchdog;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let state = lambda::init().await.and_then(|deps| {
        Watchdog::check_config(&deps.config)?;
        let watchdog = Watchdog::new(&deps.config, deps.secrets_client());
        Ok((deps, watchdog))
    });
    lambda::serve(FUNCTION, &state, |(deps, watchdog), event| async move {
        // The context's deadline (epoch ms) bounds the Mist read.
        let deadline = lambda::deadline(&event);
        // `{"ssr-onboard": "preflight"}`: the function checks its own permissions (no sweep).
        if let Some(request) = preflight::request_of(&event.payload) {
            let pf = Preflight::new(FUNCTION, event.context.request_id.as_str(), deadline);
            return Ok(Answer::Preflight(preflight::run(deps, &pf, &request).await));
        }
        watchdog
            .handle_event(deps, event.payload, deadline)
            .await
            .map(Answer::Outcome)
    })
    .await
}
