//! `instance-guard` Lambda: EC2 instance state-change events and CloudTrail-recorded EC2 calls
//! (drift) → ssr_core's guard handlers.

use ssr_core::handlers::drift;
use ssr_core::handlers::preflight::{self, Answer, Preflight};
use ssr_core::lambda;

/// The `Function` dimension of this function's metrics.
const FUNCTION: lambda::Function = lambda::Function::InstanceGuard;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let deps = lambda::init().await;
    lambda::serve(FUNCTION, &deps, |deps, event| async move {
        // `{"ssr-onboard": "preflight"}`: the function checks its own permissions.
        if let Some(request) = preflight::request_of(&event.payload) {
            let pf = Preflight::new(
                FUNCTION,
                event.context.request_id.as_str(),
                lambda::deadline(&event),
            );
            return Ok(Answer::Preflight(preflight::run(deps, &pf, &request).await));
        }
        // The read-back's waits stop WAIT_DEADLINE_MARGIN before the invocation's deadline,
        // leaving time for the alert and the answer.
        let deadline = lambda::deadline(&event).less(lambda::WAIT_DEADLINE_MARGIN);
        drift::handle_any(deps, event.payload, deadline)
            .await
            .map(Answer::Outcome)
    })
    .await
}
