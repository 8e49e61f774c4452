use crate::findings::{Finding, FindingCode};
use crate::onboarding_config::{OnboardingStatus, ONBOARDING_PATH};
use crate::snapshot::RouterSnapshot;

const HOW: &str = "Supply the guide's cloud-init user data (#cloud-config write_files to /etc/128T-hardware-bootstrapper/onboarding-config.json with name, ssr-version, registration-code, \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\") while the instance is stopped, or SSH in as ec2-user and run /usr/libexec/hardwareBootstrapper128t config-generator (guide: Manual Onboarding).";

/// Cloud-init onboarding (guide: "Cloud-init Onboarding"). Never quotes the registration code.
pub(super) fn check(s: &RouterSnapshot) -> Vec<Finding> {
    let id = &s.instance_id;
    match &s.onboarding {
        OnboardingStatus::Missing { reason } => vec![Finding::new(
            FindingCode::OnboardingConfigMissing,
            id,
            format!(
                "No onboarding configuration: {reason}. The router will not self-onboard to Mist."
            ),
            HOW,
        )],
        OnboardingStatus::Unreadable { reason } => vec![Finding::new(
            FindingCode::OnboardingConfigInvalid,
            id,
            format!("Onboarding user data is malformed: {reason}."),
            HOW,
        )],
        OnboardingStatus::NotChecked { reason } => vec![Finding::new(
            FindingCode::OnboardingConfigUnchecked,
            id,
            format!("The onboarding configuration was not checked: {reason}."),
            format!(
                "Tag the instance so ssr-onboard's IAM role may read it: aws ec2 create-tags --resources {id} --tags Key=SSR-ROUTER,Value=true"
            ),
        )],
        OnboardingStatus::Parsed { problems, .. } if !problems.is_empty() => vec![Finding::new(
            FindingCode::OnboardingConfigInvalid,
            id,
            format!(
                "{ONBOARDING_PATH} in the user data is incomplete: {}.",
                problems.join("; ")
            ),
            HOW,
        )],
        OnboardingStatus::Parsed { .. } => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onboarding_config::inspect;
    use crate::snapshot::fixture::good_router;

    #[test]
    fn onboarding_table() {
        // Parsed, but the onboarding JSON lacks every field it needs.
        let incomplete = format!(
            "#cloud-config\nwrite_files:\n  - path: {ONBOARDING_PATH}\n    content: '{{}}'\n"
        );
        let cases = [
            (None, Some("ONBOARDING_CONFIG_MISSING")),
            (Some("#!/bin/sh\n"), Some("ONBOARDING_CONFIG_INVALID")),
            (
                Some("#cloud-config\npackages: [git]\n"),
                Some("ONBOARDING_CONFIG_MISSING"),
            ),
            (Some(incomplete.as_str()), Some("ONBOARDING_CONFIG_INVALID")),
        ];
        for (ud, want) in cases {
            let mut s = good_router();
            s.onboarding = inspect(ud);
            assert_eq!(check(&s).first().map(|f| f.code.as_str()), want, "{ud:?}");
        }
    }
}
