//! `instance-guard`: EC2 instance state-change events → check, fix what is safe, report the rest.
//! The stack watcher and the CLI call [`guard_instance`] for the same work from other triggers.

use std::collections::HashMap;

use aws_lambda_events::event::cloudwatch_events::ec2::InstanceStateChange;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{parse_event, EventError, HandlerError};
use crate::aws::ec2::Observed;
use crate::aws::state::Claim;
use crate::deps::Deps;
use crate::findings::{Action, Finding, Severity};
use crate::plan::{mark_fixed, plan, ActionResult, ActionStatus};
use crate::render::{guard_alert, EventContext};
use crate::rules::{evaluate, Policy};
use crate::snapshot::RouterSnapshot;

pub const EC2_SOURCE: &str = "aws.ec2";
pub const EC2_DETAIL_TYPE: &str = "EC2 Instance State-change Notification";

/// The JSON summary every guard run returns (and the CLI prints).
#[derive(Clone, Debug, Serialize)]
pub struct GuardOutcome {
    pub instance_id: String,
    pub trigger: String,
    /// The state EC2 described (or the event's, when nothing was described).
    pub state: Option<String>,
    pub selected: bool,
    /// Why the instance was selected, skipped, or left alone.
    pub reason: String,
    pub dry_run: bool,
    pub findings: Vec<Finding>,
    pub actions: Vec<ActionResult>,
    pub alert: AlertOutcome,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct AlertOutcome {
    pub sent: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub reason: String,
}

impl GuardOutcome {
    fn skipped(
        instance_id: &str,
        ctx: &EventContext,
        state: Option<String>,
        reason: String,
        dry_run: bool,
    ) -> Self {
        GuardOutcome {
            instance_id: instance_id.to_string(),
            trigger: ctx.trigger.clone(),
            state,
            selected: false,
            reason,
            dry_run,
            findings: vec![],
            actions: vec![],
            alert: AlertOutcome {
                reason: "nothing to report".into(),
                ..Default::default()
            },
        }
    }
}

/// Lambda entry: an EventBridge "EC2 Instance State-change Notification".
pub async fn handle_event(
    deps: &Deps,
    event: serde_json::Value,
) -> Result<GuardOutcome, HandlerError> {
    let ev: EventBridgeEvent<InstanceStateChange> = parse_event(
        "an EventBridge \"EC2 Instance State-change Notification\"",
        event,
    )?;
    if ev.source != EC2_SOURCE || ev.detail_type != EC2_DETAIL_TYPE {
        return Err(EventError::malformed(format!(
            "expected source {EC2_SOURCE} and detail-type \"{EC2_DETAIL_TYPE}\", got {} / \"{}\"",
            ev.source, ev.detail_type
        ))
        .into());
    }
    let id = ev.detail.instance_id.trim();
    if !id.starts_with("i-") {
        return Err(EventError::malformed(format!(
            "detail.instance-id `{id}` is not an instance id"
        ))
        .into());
    }
    let ctx = EventContext {
        trigger: format!("EC2 state change: {}", ev.detail.state),
        region: ev.region.clone().or_else(|| deps.region.clone()),
        account: ev.account.clone(),
        event_id: ev.id.clone(),
    };
    guard_instance(deps, id, Some(&ev.detail.state), &ctx).await
}

/// Checks and fixes one instance. `event_state` is what the triggering event said (if any):
/// terminal states short-circuit without a describe call; `pending`/`running` retry describe
/// while EC2 catches up with a new instance.
pub async fn guard_instance(
    deps: &Deps,
    instance_id: &str,
    event_state: Option<&str>,
    ctx: &EventContext,
) -> Result<GuardOutcome, HandlerError> {
    let span = tracing::info_span!(
        "guard",
        instance_id,
        event_id = ctx.event_id.as_deref().unwrap_or("")
    );
    let _enter = span.enter();
    let dry_run = deps.config.dry_run;
    if let Some(s @ ("shutting-down" | "terminated" | "stopping")) = event_state {
        let o = GuardOutcome::skipped(
            instance_id,
            ctx,
            Some(s.into()),
            format!("instance is {s}: nothing to do"),
            dry_run,
        );
        tracing::info!(
            instance_id,
            state = s,
            decision = "no-op",
            "instance leaving service"
        );
        return Ok(o);
    }
    let retry =
        matches!(event_state, Some("pending" | "running")).then_some(deps.config.describe_retry);
    let (snapshot, selection) = match deps.ec2.observe(&deps.config, instance_id, retry).await? {
        Observed::NotFound => {
            tracing::info!(instance_id, decision = "no-op", "instance not found");
            return Ok(GuardOutcome::skipped(
                instance_id,
                ctx,
                event_state.map(String::from),
                "instance does not exist (InvalidInstanceID.NotFound): nothing to do".into(),
                dry_run,
            ));
        }
        Observed::Unselected { state, selection } => {
            tracing::info!(instance_id, state, decision = "skip", reason = %selection.reason, "not a managed router");
            return Ok(GuardOutcome::skipped(
                instance_id,
                ctx,
                Some(state),
                selection.reason,
                dry_run,
            ));
        }
        Observed::Router {
            snapshot,
            selection,
        } => (snapshot, selection),
    };
    let state = snapshot.state.clone();
    if !matches!(state.as_str(), "pending" | "running" | "stopped") {
        let mut o = GuardOutcome::skipped(
            instance_id,
            ctx,
            Some(state.clone()),
            format!("instance is {state}: nothing to do"),
            dry_run,
        );
        o.selected = true;
        tracing::info!(
            instance_id,
            state,
            decision = "no-op",
            "router in a transitional state"
        );
        return Ok(o);
    }

    let (findings, actions) = check_and_fix(deps, &snapshot, dry_run).await;

    let mut outcome = GuardOutcome {
        instance_id: instance_id.to_string(),
        trigger: ctx.trigger.clone(),
        state: Some(state),
        selected: true,
        reason: selection.reason,
        dry_run,
        findings,
        actions,
        alert: AlertOutcome::default(),
    };
    outcome.alert = alert(deps, ctx, &snapshot, &outcome).await?;

    let codes: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| !f.fixed)
        .map(|f| f.code.as_str())
        .collect();
    let fixed: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| f.fixed)
        .map(|f| f.code.as_str())
        .collect();
    tracing::info!(
        instance_id,
        state = outcome.state.as_deref().unwrap_or(""),
        decision = "checked",
        finding_codes = ?codes,
        fixed_codes = ?fixed,
        actions = outcome.actions.len(),
        alert_sent = outcome.alert.sent,
        dry_run,
        "router checked"
    );
    let failed = outcome.actions.iter().filter(|a| !a.succeeded()).count();
    if failed > 0 {
        return Err(HandlerError::FixesFailed {
            instance_id: instance_id.to_string(),
            failed,
            total: outcome.actions.len(),
            outcome: Box::new(outcome),
        });
    }
    Ok(outcome)
}

/// Rules, plan and (unless `dry_run`) the verified fixes for one router snapshot: the part of the
/// guard the audit command shares.
pub async fn check_and_fix(
    deps: &Deps,
    snapshot: &RouterSnapshot,
    dry_run: bool,
) -> (Vec<Finding>, Vec<ActionResult>) {
    let policy = Policy::for_state(
        &snapshot.state,
        deps.config.ena_fix_when_stopped,
        deps.config.min_root_volume_gb,
    );
    let mut findings = evaluate(snapshot, &policy);
    let actions = apply(deps, &plan(&findings), dry_run).await;
    mark_fixed(&mut findings, &actions);
    (findings, actions)
}

/// Applies the plan (or, in DRY_RUN, only reports it), then verifies every write by reading it
/// back. A replayed event plans nothing, so it writes nothing.
async fn apply(deps: &Deps, actions: &[Action], dry_run: bool) -> Vec<ActionResult> {
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
                deps.ec2.disable_source_dest_check(eni_id).await
            }
            Action::EnableEna { instance_id } => deps.ec2.enable_ena(instance_id).await,
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
    verify(deps, &mut results).await;
    results
}

/// Read-back: one DescribeNetworkInterfaces for all ENIs written, one attribute read for ENA.
async fn verify(deps: &Deps, results: &mut [ActionResult]) {
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
        deps.ec2.source_dest_checks(&enis).await
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
            Action::EnableEna { instance_id } => match deps.ec2.ena_attribute(instance_id).await {
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

/// Sends one alert for the findings that remain, unless the same set was sent for this instance
/// within the de-duplication window (a conditional write in the state table decides).
async fn alert(
    deps: &Deps,
    ctx: &EventContext,
    s: &RouterSnapshot,
    o: &GuardOutcome,
) -> Result<AlertOutcome, HandlerError> {
    let remaining: Vec<&Finding> = o
        .findings
        .iter()
        .filter(|f| !f.fixed && f.severity > Severity::Info)
        .collect();
    let failed_fixes = o.actions.iter().any(|a| !a.succeeded());
    if remaining.is_empty() {
        return Ok(AlertOutcome {
            reason: "no findings remain".into(),
            ..Default::default()
        });
    }
    let alert = guard_alert(ctx, s, &o.findings, &o.actions, o.dry_run);
    if deps.alerts.topic_arn().is_none() {
        return Ok(AlertOutcome {
            subject: Some(alert.subject),
            reason: "ALERT_TOPIC_ARN is not set: alert rendered, not sent".into(),
            ..Default::default()
        });
    }
    let mut keys: Vec<String> = remaining
        .iter()
        .map(|f| format!("{}|{}", f.code, f.resource))
        .collect();
    keys.sort();
    if failed_fixes {
        keys.push("fix-failed".into());
    }
    let fingerprint = hex(&Sha256::digest(keys.join("\n").as_bytes())[..8]);
    let pk = format!("alert#{}#{fingerprint}", s.instance_id);
    let now = Utc::now();
    let attrs = HashMap::from([
        ("kind".to_string(), AttributeValue::S("guard-alert".into())),
        (
            "instance_id".to_string(),
            AttributeValue::S(s.instance_id.clone()),
        ),
    ]);
    match deps
        .state
        .claim(&pk, now, now + deps.config.alert_dedup, attrs)
        .await?
    {
        Claim::Held => {
            return Ok(AlertOutcome {
                subject: Some(alert.subject),
                reason: "identical findings already alerted within the de-duplication window"
                    .into(),
                ..Default::default()
            })
        }
        Claim::NoTable => tracing::warn!("STATE_TABLE is not set: alerts are not de-duplicated"),
        Claim::Won => {}
    }
    match deps.alerts.publish(&alert).await {
        Ok(message_id) => Ok(AlertOutcome {
            sent: true,
            message_id,
            subject: Some(alert.subject),
            reason: format!("{} finding(s) remain", remaining.len()),
        }),
        Err(e) => {
            // Give the claim back so the retried event can alert.
            if let Err(release) = deps.state.release(&pk).await {
                tracing::warn!(error = %release, "could not release the alert claim");
            }
            Err(e.into())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
