//! `instance-guard` Lambda: EC2 instance state-change events → ssr_core's guard handler.

use ssr_core::handlers::guard;
use ssr_core::lambda;

/// The `Function` dimension of this function's metrics.
const FUNCTION: lambda::Function = lambda::Function::InstanceGuard;

#[tokio::main]
async fn main() -> Result<(), lambda::Error> {
    let deps = lambda::init().await;
    lambda::serve(FUNCTION, &deps, |deps, event| {
        let deadline = event.context.deadline();
        guard::handle_event_until(deps, event.payload, Some(deadline))
    })
    .await
}
