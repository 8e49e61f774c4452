//! `mist-webhook` Lambda behind a Function URL: Mist's org webhook (topic `device-events`)
//! ends onboarding episodes as soon as Mist reports progress and pages ZTP failures at once.
//! The webhook secret cache and the Mist client live as long as the execution environment.

use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::lambda;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let state = lambda::init().await.and_then(|deps| {
        MistWebhook::check_config(&deps.config)?;
        let hook = MistWebhook::new(&deps.config, deps.secrets_client());
        Ok((deps, hook))
    });
    lambda::serve(&state, |(deps, hook), event| async move {
        Ok::<_, lambda::FunctionError>(hook.handle_request(deps, event.payload).await)
    })
    .await
}
