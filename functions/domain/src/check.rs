//! A check's result, the one shape shared by `ssr-onboard doctor` and each function's preflight
//! (`{"ssr-onboard": "preflight"}`): a name, a status, what was seen, and for a problem the one
//! command or setting that fixes it.

use serde::{Deserialize, Serialize};

/// The preflight report's JSON schema name.
pub const PREFLIGHT_SCHEMA: &str = "ssr-onboard/preflight/v1";
/// `ssr-onboard doctor --output json`'s schema name.
pub const DOCTOR_SCHEMA: &str = "ssr-onboard/doctor/v1";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckStatus {
    Ok,
    Problem,
    Warning,
    /// Not checked; `detail` says why.
    Skipped,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Ok => "ok",
            CheckStatus::Problem => "problem",
            CheckStatus::Warning => "warning",
            CheckStatus::Skipped => "skipped",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable, dotted name (e.g. `alerts.subscription-confirmed`, `ec2.modify-eni-dry-run`).
    pub name: String,
    pub status: CheckStatus,
    /// What was seen (never a secret).
    pub detail: String,
    /// For a problem or warning: the one command or setting that fixes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Ok, detail, None)
    }

    pub fn problem(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, CheckStatus::Problem, detail, Some(fix.into()))
    }

    pub fn warning(
        name: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check::new(name, CheckStatus::Warning, detail, Some(fix.into()))
    }

    pub fn skipped(name: impl Into<String>, why: impl Into<String>) -> Check {
        Check::new(name, CheckStatus::Skipped, why, None)
    }

    fn new(
        name: impl Into<String>,
        status: CheckStatus,
        detail: impl Into<String>,
        fix: Option<String>,
    ) -> Check {
        Check {
            name: name.into(),
            status,
            detail: detail.into(),
            fix,
        }
    }
}

/// True when no check is a problem.
pub fn all_clear(checks: &[Check]) -> bool {
    checks.iter().all(|c| c.status != CheckStatus::Problem)
}

/// What a function's preflight answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreflightReport {
    /// [`PREFLIGHT_SCHEMA`].
    pub schema: String,
    /// The function's name (`instance-guard`, `stack-watch`, `onboarding-watchdog`, `mist-webhook`).
    pub function: String,
    /// The function's version (Cargo's, with the git revision when built from a checkout).
    pub version: String,
    pub checks: Vec<Check>,
}

impl PreflightReport {
    pub fn new(
        function: impl Into<String>,
        version: impl Into<String>,
        checks: Vec<Check>,
    ) -> Self {
        PreflightReport {
            schema: PREFLIGHT_SCHEMA.to_string(),
            function: function.into(),
            version: version.into(),
            checks,
        }
    }

    pub fn passed(&self) -> bool {
        all_clear(&self.checks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_any_check_is_a_problem_then_the_report_does_not_pass() {
        let mut r = PreflightReport::new(
            "instance-guard",
            "0.1.0",
            vec![Check::ok("a", "fine"), Check::skipped("b", "no router")],
        );
        assert!(r.passed());
        r.checks.push(Check::problem(
            "c",
            "denied",
            "add ec2:ModifyNetworkInterfaceAttribute",
        ));
        assert!(!r.passed());
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["checks"][2]["status"], "problem");
        assert_eq!(json["schema"], PREFLIGHT_SCHEMA);
    }
}
