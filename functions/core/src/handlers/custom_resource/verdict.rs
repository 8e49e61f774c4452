//! What CloudFormation is told: SUCCESS or FAILED, the reason and the data, from how the router
//! check ended (the rules are in the module docs of [`super`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::properties::GuardProperties;
use crate::handlers::guard::GuardOutcome;
use crate::instance_state::is_guarded;

/// The fields of a response, before serialisation.
pub(super) struct Answer {
    pub(super) success: bool,
    pub(super) reason: String,
    pub(super) physical_resource_id: String,
    pub(super) data: BTreeMap<String, String>,
}

pub(super) fn failed_answer(reason: impl Into<String>, physical_resource_id: String) -> Answer {
    Answer {
        success: false,
        reason: reason.into(),
        physical_resource_id,
        data: BTreeMap::new(),
    }
}

/// How the guard run ended.
pub(super) enum Check {
    Done {
        outcome: Box<GuardOutcome>,
        failed_fixes: usize,
    },
    Error(String),
    Panicked,
    TimedOut(Duration),
}

/// Turns a finished check into the answer (see the module docs for the rules).
pub(super) fn judge(
    props: &GuardProperties,
    outcome: &GuardOutcome,
    failed_fixes: usize,
    physical_on_success: String,
    physical_on_failure: String,
) -> Answer {
    let id = &props.instance_id;
    if outcome.ignored {
        return Answer {
            success: true,
            reason: format!(
                "ignored: {id} is tagged SSR-ONBOARD=ignore; ssr-onboard does not check it"
            ),
            physical_resource_id: physical_on_success,
            data: BTreeMap::from([("InstanceId".to_string(), id.clone())]),
        };
    }
    let checked = outcome.selected && outcome.state.as_deref().is_some_and(is_guarded);
    if !checked {
        return failed_answer(
            format!("ssr-onboard could not check {id}: {}", outcome.reason),
            physical_on_failure,
        );
    }
    let fixed = outcome.findings.iter().filter(|f| f.fixed).count();
    let remaining: Vec<&str> = outcome
        .findings
        .iter()
        .filter(|f| f.is_open())
        .map(|f| f.code.as_str())
        .collect();
    let mut reason = format!(
        "ssr-onboard checked router {id}: {} finding(s), {fixed} fixed, {} remaining",
        outcome.findings.len(),
        remaining.len()
    );
    if !remaining.is_empty() {
        reason.push_str(": ");
        reason.push_str(&remaining.join(", "));
    }
    if failed_fixes > 0 {
        reason.push_str(&format!("; {failed_fixes} automatic fix(es) failed"));
    }
    if outcome.alert.sent {
        reason.push_str("; on-call alerted");
    }
    let data = BTreeMap::from([
        ("InstanceId".to_string(), id.clone()),
        ("Findings".to_string(), outcome.findings.len().to_string()),
        ("Fixed".to_string(), fixed.to_string()),
        ("Remaining".to_string(), remaining.len().to_string()),
        ("RemainingCodes".to_string(), remaining.join(",")),
    ]);
    let problems = !remaining.is_empty() || failed_fixes > 0;
    if props.fail_on_findings && problems {
        reason.push_str(" (FailOnFindings is true)");
        Answer {
            success: false,
            reason,
            physical_resource_id: physical_on_failure,
            data,
        }
    } else {
        Answer {
            success: true,
            reason,
            physical_resource_id: physical_on_success,
            data,
        }
    }
}

/// The answer to a finished (or failed) check of the router `props` names.
pub(super) fn answer_for(
    check: Check,
    props: &GuardProperties,
    physical_on_success: String,
    physical_on_failure: String,
) -> (Answer, Option<GuardOutcome>) {
    let id = &props.instance_id;
    match check {
        Check::Done {
            outcome,
            failed_fixes,
        } => {
            let answer = judge(
                props,
                &outcome,
                failed_fixes,
                physical_on_success,
                physical_on_failure,
            );
            (answer, Some(*outcome))
        }
        Check::Error(e) => (
            failed_answer(
                format!("ssr-onboard could not check {id}: {e}"),
                physical_on_failure,
            ),
            None,
        ),
        Check::Panicked => (
            failed_answer(
                format!(
                    "ssr-onboard could not check {id}: internal error (see the stack-watch logs)"
                ),
                physical_on_failure,
            ),
            None,
        ),
        Check::TimedOut(budget) => (
            failed_answer(
                format!(
                    "ssr-onboard could not check {id}: timed out after {} s (the instance guard \
                     will check it on its next state change)",
                    budget.as_secs()
                ),
                physical_on_failure,
            ),
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::AlertOutcome;

    #[test]
    fn when_the_router_is_tagged_ignore_then_success_says_ignored() {
        let props = GuardProperties {
            instance_id: "i-0123456789abcdef0".into(),
            fail_on_findings: true,
        };
        let outcome = GuardOutcome {
            instance_id: props.instance_id.clone(),
            trigger: "t".into(),
            state: Some("running".into()),
            selected: false,
            ignored: true,
            reason: "ignored: tagged SSR-ONBOARD=ignore".into(),
            dry_run: false,
            findings: vec![],
            actions: vec![],
            alert: AlertOutcome::nothing(""),
        };
        let a = judge(&props, &outcome, 0, "ok".into(), "bad".into());
        assert!(a.success);
        assert!(a.reason.starts_with("ignored:"), "{}", a.reason);
        assert_eq!(a.physical_resource_id, "ok");
    }
}
