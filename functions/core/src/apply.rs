//! Actions → writes, each verified by reading it back. A replayed event plans nothing for a fixed
//! router, so it writes nothing.
//!
//! EC2 is eventually consistent: right after a write, a describe call may still show the old
//! value. The read-back is therefore polled with bounded backoff ([`Readback`]) before a fix is
//! called unverified, and never past the invocation's deadline.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::future::join_all;

use crate::aws::ec2::Ec2;
use crate::deadline::Deadline;
use crate::findings::Action;
use crate::plan::{ActionResult, ActionStatus};
use crate::retry::Waits;

/// At most this many writes in flight for one router (a router has a handful of interfaces;
/// the bound keeps a misconfigured instance with many ENIs from bursting EC2's request rate).
pub const MAX_CONCURRENT_WRITES: usize = 8;

/// How long the read-back may keep looking: the waits between read-backs
/// (`READBACK_BACKOFF_MS`) and the deadline no wait may pass.
#[derive(Clone, Copy, Debug)]
pub struct Readback<'a> {
    pub backoff: &'a [Duration],
    pub deadline: Deadline,
}

/// Applies `actions` (or, in `dry_run`, only reports them as planned), then verifies every write.
pub async fn apply(
    ec2: &Ec2,
    actions: &[Action],
    dry_run: bool,
    readback: &Readback<'_>,
) -> Vec<ActionResult> {
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
    // The writes are independent (one per ENI, one per instance): sent concurrently, at most
    // MAX_CONCURRENT_WRITES at a time, results kept in the actions' order.
    let mut results = Vec::with_capacity(actions.len());
    for chunk in actions.chunks(MAX_CONCURRENT_WRITES) {
        results.extend(join_all(chunk.iter().map(|a| write(ec2, a))).await);
    }
    verify(ec2, &mut results, readback).await;
    results
}

/// One write, its outcome as a result.
async fn write(ec2: &Ec2, a: &Action) -> ActionResult {
    let res = match a {
        Action::DisableSourceDestCheck { eni_id } => ec2.disable_source_dest_check(eni_id).await,
        Action::EnableEna { instance_id } => ec2.enable_ena(instance_id).await,
    };
    let (status, error) = match res {
        Ok(()) => (ActionStatus::Applied, None),
        Err(e) => {
            tracing::warn!(resource = a.resource(), error = %e, "fix failed");
            (ActionStatus::Failed, Some(e.to_string()))
        }
    };
    ActionResult {
        action: a.clone(),
        status,
        error,
    }
}

/// Read-back until every applied write shows, or the backoff (or the deadline) is used up; the
/// writes still not shown are `Unverified` with the last read's verdict.
async fn verify(ec2: &Ec2, results: &mut [ActionResult], readback: &Readback<'_>) {
    let mut pending: Vec<usize> = (0..results.len())
        .filter(|&i| results[i].status == ActionStatus::Applied)
        .collect();
    let mut last: HashMap<usize, String> = HashMap::new();
    let mut waits = Waits::listed(readback.backoff, readback.deadline);
    while !pending.is_empty() {
        let verdicts = read_back(ec2, results, &pending).await;
        last.clear();
        for (i, v) in pending.iter().zip(verdicts) {
            if let Err(e) = v {
                last.insert(*i, e);
            }
        }
        pending.retain(|i| last.contains_key(i));
        if pending.is_empty() {
            break;
        }
        match waits.next_wait() {
            Some(delay) => {
                tracing::info!(
                    not_yet = pending.len(),
                    wait_ms = delay.as_millis() as u64,
                    "read-back does not show the fix yet; reading again"
                );
                tokio::time::sleep(delay).await;
            }
            None => break,
        }
    }
    for (i, e) in last {
        let r = &mut results[i];
        tracing::warn!(resource = r.action.resource(), error = %e, "fix not verified");
        r.status = ActionStatus::Unverified;
        r.error = Some(e);
    }
}

/// One read-back of the given results: one DescribeNetworkInterfaces for all ENIs and, beside
/// it, one attribute read per ENA fix. A verdict per index, in order.
async fn read_back(
    ec2: &Ec2,
    results: &[ActionResult],
    pending: &[usize],
) -> Vec<Result<(), String>> {
    let enis: Vec<String> = pending
        .iter()
        .filter_map(|&i| match &results[i].action {
            Action::DisableSourceDestCheck { eni_id } => Some(eni_id.clone()),
            _ => None,
        })
        .collect();
    let enis_read = async {
        if enis.is_empty() {
            Ok(HashMap::new())
        } else {
            ec2.source_dest_checks(&enis).await
        }
    };
    // The ENA read-backs (one per instance fixed; at most one in practice) run beside the
    // ENI batch: one round trip for the whole read-back.
    let ena_reads = join_all(pending.iter().filter_map(|&i| match &results[i].action {
        Action::EnableEna { instance_id } => {
            Some(async move { (i, ec2.ena_attribute(instance_id).await) })
        }
        _ => None,
    }));
    let (checks, ena) = tokio::join!(enis_read, ena_reads);
    let mut ena: HashMap<usize, _> = ena.into_iter().collect();
    let mut out = Vec::with_capacity(pending.len());
    for &i in pending {
        out.push(match &results[i].action {
            Action::DisableSourceDestCheck { eni_id } => match &checks {
                Ok(m) if m.get(eni_id) == Some(&Some(false)) => Ok(()),
                Ok(m) => Err(format!(
                    "read-back shows SourceDestCheck={:?}",
                    m.get(eni_id).copied().flatten()
                )),
                Err(e) => Err(format!("read-back failed: {e}")),
            },
            Action::EnableEna { .. } => match ena.remove(&i) {
                Some(Ok(Some(true))) => Ok(()),
                Some(Ok(v)) => Err(format!("read-back shows EnaSupport={v:?}")),
                Some(Err(e)) => Err(format!("read-back failed: {e}")),
                None => Err("read-back not made".to_string()),
            },
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_deadline_is_nearer_than_the_wait_then_no_wait() {
        let soon = Deadline::after(Duration::from_millis(100));
        assert_eq!(
            Waits::listed(&[Duration::from_secs(1)], soon).next_wait(),
            None
        );
        assert_eq!(
            Waits::listed(&[Duration::from_millis(1)], soon).next_wait(),
            Some(Duration::from_millis(1))
        );
        assert_eq!(
            Waits::listed(&[Duration::from_secs(4)], Deadline::NONE).next_wait(),
            Some(Duration::from_secs(4))
        );
    }
}
