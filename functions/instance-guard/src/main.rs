//! `instance-guard` Lambda: EC2 instance state-change events → ssr_core's guard handler.

use ssr_core::handlers::guard;
use ssr_core::lambda;

/// The `Function` dimension of this function's metrics.
const FUNCTION: lambda::Function = lambda::Function::InstanceGuard;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let deps = lambda::init().await;
    lambda::serve(FUNCTION, &deps, |deps, event| {
        // The read-back's waits stop WAIT_DEADLINE_MARGIN before the invocation's deadline,
        // leaving time for the alert and the answer.
        let deadline = lambda::deadline(&event).less(lambda::WAIT_DEADLINE_MARGIN);
        guard::handle_event(deps, event.payload, deadline)
    })
    .await
}
