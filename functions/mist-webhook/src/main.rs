//! `mist-webhook` Lambda behind a Function URL: Mist's org webhook (topic `device-events`)
//! ends onboarding episodes as soon as Mist reports progress and pages ZTP failures at once.
//! The webhook secret cache and the Mist client live as long as the execution environment.

use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::lambda;

/// The `Function` dimension of this function's metrics.
const FUNCTION: lambda::Function = lambda::Function::MistWebhook;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let state = lambda::init().await.and_then(|deps| {
        MistWebhook::check_config(&deps.config)?;
        let hook = MistWebhook::new(&deps.config, deps.secrets_client());
        Ok((deps, hook))
    });
    lambda::serve(
        FUNCTION,
        &state,
        |(deps, hook): &(_, MistWebhook), event| async move {
            // The context's deadline (epoch ms) bounds the delivery's Mist reads; its function
            // ARN names the account the alerts carry.
            let invocation = lambda::invocation(&event);
            Ok::<_, lambda::FunctionError>(
                hook.handle_request(deps, event.payload, invocation).await,
            )
        },
    )
    .await
}
