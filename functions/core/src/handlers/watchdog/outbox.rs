//! Step 0 of every sweep: deliver the alerts whose lease ran out without being confirmed (a
//! function died mid-delivery and no retry came, or every retry failed). Any function's alert
//! is delivered here: the outbox is the state table's, and the sweep publishes to the same
//! topic and bus. One Query of the sparse outbox index when nothing is pending.

use chrono::{DateTime, Utc};

use super::SweepOutcome;
use crate::alerting::deliver_due;
use crate::deps::Deps;

pub(super) async fn pending_alerts(deps: &Deps, now: DateTime<Utc>, outcome: &mut SweepOutcome) {
    match deliver_due(&deps.alerts, &deps.state, now).await {
        Ok(d) => {
            if !d.delivered.is_empty() || !d.failed.is_empty() {
                tracing::info!(
                    delivered = d.delivered.len(),
                    failed = d.failed.len(),
                    decision = "outbox",
                    "pending alerts delivered from the outbox"
                );
            }
            for claim in &d.failed {
                outcome
                    .errors
                    .push(format!("pending alert {claim} still not delivered"));
            }
            outcome.outbox = d;
        }
        Err(e) => {
            tracing::error!(error = %e, "could not read the alert outbox");
            outcome.errors.push(e.to_string());
        }
    }
}
