//! Actions → writes, each verified by reading it back. A replayed event plans nothing for a fixed
//! router, so it writes nothing.

use std::collections::HashMap;

use crate::aws::ec2::Ec2;
use crate::findings::Action;
use crate::plan::{ActionResult, ActionStatus};

/// Applies `actions` (or, in `dry_run`, only reports them as planned), then verifies every write.
pub async fn apply(ec2: &Ec2, actions: &[Action], dry_run: bool) -> Vec<ActionResult> {
    if dry_run {
        return actions
            .iter()
            .map(|a| ActionResult {
                action: a.clone(),
                status: ActionStatus::Planned,
                error: None,
            })
            .collect();
    }
    let mut results = Vec::with_capacity(actions.len());
    for a in actions {
        let res = match a {
            Action::DisableSourceDestCheck { eni_id } => {
                ec2.disable_source_dest_check(eni_id).await
            }
            Action::EnableEna { instance_id } => ec2.enable_ena(instance_id).await,
        };
        let (status, error) = match res {
            Ok(()) => (ActionStatus::Applied, None),
            Err(e) => {
                tracing::warn!(resource = a.resource(), error = %e, "fix failed");
                (ActionStatus::Failed, Some(e.to_string()))
            }
        };
        results.push(ActionResult {
            action: a.clone(),
            status,
            error,
        });
    }
    verify(ec2, &mut results).await;
    results
}

/// Read-back: one DescribeNetworkInterfaces for all ENIs written, one attribute read for ENA.
async fn verify(ec2: &Ec2, results: &mut [ActionResult]) {
    let enis: Vec<String> = results
        .iter()
        .filter(|r| r.status == ActionStatus::Applied)
        .filter_map(|r| match &r.action {
            Action::DisableSourceDestCheck { eni_id } => Some(eni_id.clone()),
            _ => None,
        })
        .collect();
    let checks = if enis.is_empty() {
        Ok(HashMap::new())
    } else {
        ec2.source_dest_checks(&enis).await
    };
    for r in results
        .iter_mut()
        .filter(|r| r.status == ActionStatus::Applied)
    {
        let verdict: Result<(), String> = match &r.action {
            Action::DisableSourceDestCheck { eni_id } => match &checks {
                Ok(m) if m.get(eni_id) == Some(&Some(false)) => Ok(()),
                Ok(m) => Err(format!(
                    "read-back shows SourceDestCheck={:?}",
                    m.get(eni_id).copied().flatten()
                )),
                Err(e) => Err(format!("read-back failed: {e}")),
            },
            Action::EnableEna { instance_id } => match ec2.ena_attribute(instance_id).await {
                Ok(Some(true)) => Ok(()),
                Ok(v) => Err(format!("read-back shows EnaSupport={v:?}")),
                Err(e) => Err(format!("read-back failed: {e}")),
            },
        };
        if let Err(e) = verdict {
            tracing::warn!(resource = r.action.resource(), error = %e, "fix not verified");
            r.status = ActionStatus::Unverified;
            r.error = Some(e);
        }
    }
}
