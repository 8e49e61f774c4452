//! Every kind of alert ssr-onboard sends: the `kind` message attribute (SNS subscription filter
//! policies route on it), the chat `eventType`, and the sweep's JSON. One definition; the
//! strings are the kebab-case names below.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertKind {
    /// instance-guard / stack-watch: a router's findings (and the fixes written).
    GuardFindings,
    /// instance-guard: a setting the guard keeps was changed back (a CloudTrail-recorded call)
    /// and the guard fixed it again (drift; once per router per debounce window).
    GuardDrift,
    /// stack-watch: a router stack's operation failed.
    StackFailed,
    /// watchdog: a router is not onboarded to Mist by its deadline (the page).
    OnboardingOverdue,
    /// watchdog: a router that was paged onboarded after all.
    OnboardingRecovered,
    /// mist-webhook: Mist reported the router's zero-touch provisioning failed.
    OnboardingFailed,
    /// `ssr-onboard ack`: a person closed a paged onboarding episode; the page's resolve (info).
    OnboardingAcknowledged,
    /// watchdog: Mist refused the API token (once a UTC day).
    MistTokenRejected,
    /// watchdog: the daily Mist probe (no episode open) could not read Mist for another reason
    /// than a refused token (once a UTC day).
    MistUnreachable,
    /// watchdog: an organization member account could not be swept (once a UTC day).
    MemberUnreachable,
    /// watchdog: an organization member account was never read: no member role there yet (info,
    /// once a UTC day).
    MemberNotEnrolled,
    /// watchdog: no Mist settings, so a router past its deadline cannot be verified (info, once
    /// per episode; `UNVERIFIED_ONBOARDING=notice`).
    OnboardingUnverified,
    /// watchdog: routers found already running past their deadline were adopted, not paged
    /// (info, at most one per sweep; `ADOPT_EXISTING=summary`).
    RoutersAdopted,
    /// `ssr-onboard doctor --send-test-alert`: a test (info), followed at once by its resolve.
    Test,
}

impl AlertKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: &'static [AlertKind] = &[
        AlertKind::GuardFindings,
        AlertKind::GuardDrift,
        AlertKind::StackFailed,
        AlertKind::OnboardingOverdue,
        AlertKind::OnboardingRecovered,
        AlertKind::OnboardingFailed,
        AlertKind::OnboardingAcknowledged,
        AlertKind::MistTokenRejected,
        AlertKind::MistUnreachable,
        AlertKind::MemberUnreachable,
        AlertKind::MemberNotEnrolled,
        AlertKind::OnboardingUnverified,
        AlertKind::RoutersAdopted,
        AlertKind::Test,
    ];

    /// The `kind` attribute's value.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::GuardFindings => "guard-findings",
            AlertKind::GuardDrift => "guard-drift",
            AlertKind::StackFailed => "stack-failed",
            AlertKind::OnboardingOverdue => "onboarding-overdue",
            AlertKind::OnboardingRecovered => "onboarding-recovered",
            AlertKind::OnboardingFailed => "onboarding-failed",
            AlertKind::OnboardingAcknowledged => "onboarding-acknowledged",
            AlertKind::MistTokenRejected => "mist-token-rejected",
            AlertKind::MistUnreachable => "mist-unreachable",
            AlertKind::MemberUnreachable => "member-unreachable",
            AlertKind::MemberNotEnrolled => "member-not-enrolled",
            AlertKind::OnboardingUnverified => "onboarding-unverified",
            AlertKind::RoutersAdopted => "routers-adopted",
            AlertKind::Test => "test",
        }
    }

    /// The kind named `s` (the attribute's value), if it is one.
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for AlertKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_kind_is_serialised_then_it_is_its_attribute_value() {
        for &k in AlertKind::ALL {
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::from(k.as_str()))
            );
            assert_eq!(AlertKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(AlertKind::parse("guard"), None);
    }
}
