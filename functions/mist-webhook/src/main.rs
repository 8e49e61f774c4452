//! `mist-webhook` Lambda behind a Function URL: Mist's org webhook (topic `device-events`)
//! ends onboarding episodes as soon as Mist reports progress and pages ZTP failures at once.
//! The webhook secret cache and the Mist client live as long as the execution environment.

use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::handlers::preflight::{self, Answer, Preflight};
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
            // `{"ssr-onboard": "preflight"}` through lambda:InvokeFunction (a Function URL
            // request wraps its body, so it never reaches here from the URL).
            if let Some(request) = preflight::request_of(&event.payload) {
                let pf = Preflight::new(
                    FUNCTION,
                    event.context.request_id.as_str(),
                    invocation.deadline,
                );
                return Ok(Answer::Preflight(preflight::run(deps, &pf, &request).await));
            }
            Ok::<_, lambda::FunctionError>(Answer::Outcome(
                hook.handle_request(deps, event.payload, invocation).await,
            ))
        },
    )
    .await
}
