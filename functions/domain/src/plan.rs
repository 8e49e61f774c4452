//! Findings → the actions to take. Nothing here calls AWS.

use serde::Serialize;

use crate::findings::{Action, Finding};

/// The fixes the findings allow, each once, in finding order.
pub fn plan(findings: &[Finding]) -> Vec<Action> {
    let mut actions: Vec<Action> = Vec::new();
    for a in findings.iter().filter_map(|f| f.fix.as_ref()) {
        if !actions.contains(a) {
            actions.push(a.clone());
        }
    }
    actions
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// DRY_RUN: would be applied.
    Planned,
    /// Written and verified by read-back.
    Applied,
    /// EC2 accepted the write but the read-back does not show it.
    Unverified,
    /// EC2 refused the write.
    Failed,
}

#[derive(Clone, Debug, Serialize)]
pub struct ActionResult {
    #[serde(flatten)]
    pub action: Action,
    pub status: ActionStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ActionResult {
    pub fn succeeded(&self) -> bool {
        matches!(self.status, ActionStatus::Applied | ActionStatus::Planned)
    }
}

/// Marks findings whose fix was applied and verified.
pub fn mark_fixed(findings: &mut [Finding], results: &[ActionResult]) {
    for f in findings.iter_mut() {
        if let Some(fix) = &f.fix {
            f.fixed = results
                .iter()
                .any(|r| &r.action == fix && r.status == ActionStatus::Applied);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::FindingCode;

    fn srcdst(eni: &str) -> Finding {
        Finding::new(FindingCode::SrcDstCheckEnabled, eni, "m", "r")
            .with_fix(Action::DisableSourceDestCheck { eni_id: eni.into() })
    }

    #[test]
    fn when_findings_have_fixes_then_plan_lists_each_once() {
        let f = vec![
            srcdst("eni-1"),
            srcdst("eni-2"),
            srcdst("eni-1"),
            Finding::new(FindingCode::NoLanInterface, "i-1", "m", "r"),
        ];
        assert_eq!(plan(&f).len(), 2);
    }

    #[test]
    fn when_fix_applied_then_only_that_finding_is_fixed() {
        let mut f = vec![srcdst("eni-1"), srcdst("eni-2")];
        let results = vec![
            ActionResult {
                action: Action::DisableSourceDestCheck {
                    eni_id: "eni-1".into(),
                },
                status: ActionStatus::Applied,
                error: None,
            },
            ActionResult {
                action: Action::DisableSourceDestCheck {
                    eni_id: "eni-2".into(),
                },
                status: ActionStatus::Failed,
                error: Some("x".into()),
            },
        ];
        mark_fixed(&mut f, &results);
        assert!(f[0].fixed && !f[1].fixed);
    }
}
