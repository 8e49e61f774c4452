//! How urgent an alert is: the `severity` message attribute (and field of the alert's JSON and
//! its EventBridge event). One definition for every kind, so a subscription filter policy such as
//! `{"severity": ["critical", "error"]}` means the same for all of them. The values are PagerDuty
//! Events API v2's (`critical`, `error`, `warning`, `info`).

use serde::{Deserialize, Serialize};

use super::string_attr;
use crate::findings::Severity;

/// The `severity` message attribute's name.
pub const SEVERITY_ATTR: &str = "severity";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertSeverity {
    /// Nothing to do now (a recovery, a notice).
    Info,
    /// A problem that does not stop traffic (e.g. a root volume below the guide's size).
    Warning,
    /// A person must act (a router not onboarded, a stack failed, a finding that breaks it).
    Error,
    /// Harm now: an automatic fix the guard wrote did not take (e.g. source/destination check
    /// still on, so the router drops the traffic it forwards).
    Critical,
}

impl AlertSeverity {
    /// The attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Info => "info",
            AlertSeverity::Warning => "warning",
            AlertSeverity::Error => "error",
            AlertSeverity::Critical => "critical",
        }
    }

    /// The `severity` attribute of an alert this urgent.
    pub fn attr(self) -> (String, (String, String)) {
        (SEVERITY_ATTR.to_string(), string_attr(self.as_str()))
    }
}

impl From<Severity> for AlertSeverity {
    fn from(s: Severity) -> Self {
        match s {
            Severity::Info => AlertSeverity::Info,
            Severity::Warning => AlertSeverity::Warning,
            Severity::Error => AlertSeverity::Error,
        }
    }
}

impl std::fmt::Display for AlertSeverity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_finding_severity_is_converted_then_the_attribute_keeps_its_name_and_critical_ranks_highest(
    ) {
        for s in [Severity::Info, Severity::Warning, Severity::Error] {
            assert_eq!(AlertSeverity::from(s).as_str(), s.as_str());
        }
        assert!(AlertSeverity::Critical > AlertSeverity::Error);
        assert_eq!(
            AlertSeverity::Critical.attr(),
            ("severity".to_string(), string_attr("critical"))
        );
        assert_eq!(
            serde_json::to_value(AlertSeverity::Critical).ok(),
            Some(serde_json::Value::from("critical"))
        );
    }
}
