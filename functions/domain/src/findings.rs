//! Findings (what is wrong), their stable codes, and the automatic fixes (actions) that exist.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// Stable finding codes. The README's table lists each with its remediation; keep them in sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FindingCode {
    SrcDstCheckEnabled,
    EnaDisabled,
    EnaUnknown,
    EniRoleTagMissing,
    EniRoleTagInvalid,
    NoWanInterface,
    NoLanInterface,
    #[serde(rename = "WAN_NOT_DEVICE_0")]
    WanNotDevice0,
    MultipleWanInterfaces,
    NoInstanceProfile,
    InstanceTypeTooSmall,
    RootVolumeTooSmall,
    OnboardingConfigMissing,
    OnboardingConfigInvalid,
    OnboardingConfigUnchecked,
    WanNoInternetRoute,
    WanNoPublicIp,
    NotChecked,
    SnoozeUntilInvalid,
}

impl FindingCode {
    pub const ALL: [FindingCode; 19] = [
        FindingCode::SrcDstCheckEnabled,
        FindingCode::EnaDisabled,
        FindingCode::EnaUnknown,
        FindingCode::EniRoleTagMissing,
        FindingCode::EniRoleTagInvalid,
        FindingCode::NoWanInterface,
        FindingCode::NoLanInterface,
        FindingCode::WanNotDevice0,
        FindingCode::MultipleWanInterfaces,
        FindingCode::NoInstanceProfile,
        FindingCode::InstanceTypeTooSmall,
        FindingCode::RootVolumeTooSmall,
        FindingCode::OnboardingConfigMissing,
        FindingCode::OnboardingConfigInvalid,
        FindingCode::OnboardingConfigUnchecked,
        FindingCode::WanNoInternetRoute,
        FindingCode::WanNoPublicIp,
        FindingCode::NotChecked,
        FindingCode::SnoozeUntilInvalid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::SrcDstCheckEnabled => "SRC_DST_CHECK_ENABLED",
            FindingCode::EnaDisabled => "ENA_DISABLED",
            FindingCode::EnaUnknown => "ENA_UNKNOWN",
            FindingCode::EniRoleTagMissing => "ENI_ROLE_TAG_MISSING",
            FindingCode::EniRoleTagInvalid => "ENI_ROLE_TAG_INVALID",
            FindingCode::NoWanInterface => "NO_WAN_INTERFACE",
            FindingCode::NoLanInterface => "NO_LAN_INTERFACE",
            FindingCode::WanNotDevice0 => "WAN_NOT_DEVICE_0",
            FindingCode::MultipleWanInterfaces => "MULTIPLE_WAN_INTERFACES",
            FindingCode::NoInstanceProfile => "NO_INSTANCE_PROFILE",
            FindingCode::InstanceTypeTooSmall => "INSTANCE_TYPE_TOO_SMALL",
            FindingCode::RootVolumeTooSmall => "ROOT_VOLUME_TOO_SMALL",
            FindingCode::OnboardingConfigMissing => "ONBOARDING_CONFIG_MISSING",
            FindingCode::OnboardingConfigInvalid => "ONBOARDING_CONFIG_INVALID",
            FindingCode::OnboardingConfigUnchecked => "ONBOARDING_CONFIG_UNCHECKED",
            FindingCode::WanNoInternetRoute => "WAN_NO_INTERNET_ROUTE",
            FindingCode::WanNoPublicIp => "WAN_NO_PUBLIC_IP",
            FindingCode::NotChecked => "NOT_CHECKED",
            FindingCode::SnoozeUntilInvalid => "SNOOZE_UNTIL_INVALID",
        }
    }

    pub fn severity(self) -> Severity {
        use FindingCode::*;
        match self {
            EnaUnknown => Severity::Info,
            EnaDisabled
            | WanNotDevice0
            | InstanceTypeTooSmall
            | RootVolumeTooSmall
            | OnboardingConfigUnchecked
            | NotChecked
            | SnoozeUntilInvalid => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

impl std::fmt::Display for FindingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An automatic fix. Only these two are ever written to EC2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// ModifyNetworkInterfaceAttribute SourceDestCheck=false on one ENI.
    DisableSourceDestCheck { eni_id: String },
    /// ModifyInstanceAttribute EnaSupport=true on a stopped instance.
    EnableEna { instance_id: String },
}

impl Action {
    pub fn resource(&self) -> &str {
        match self {
            Action::DisableSourceDestCheck { eni_id } => eni_id,
            Action::EnableEna { instance_id } => instance_id,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Action::DisableSourceDestCheck { eni_id } => {
                format!("disable source/destination check on {eni_id}")
            }
            Action::EnableEna { instance_id } => format!("enable ENA on {instance_id}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub code: FindingCode,
    pub severity: Severity,
    /// The instance, ENI, volume or subnet the finding is about.
    pub resource: String,
    pub message: String,
    pub remediation: String,
    /// The automatic fix for this finding, when policy allows one now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Action>,
    /// True once the fix was applied and verified by read-back.
    pub fixed: bool,
}

impl Finding {
    /// Still open: not fixed, and above info (what counts against a router, what alerts and
    /// the `FindingsOpen` metric count).
    pub fn is_open(&self) -> bool {
        !self.fixed && self.severity > Severity::Info
    }

    pub fn new(
        code: FindingCode,
        resource: impl Into<String>,
        message: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity: code.severity(),
            resource: resource.into(),
            message: message.into(),
            remediation: remediation.into(),
            fix: None,
            fixed: false,
        }
    }

    pub fn with_fix(mut self, action: Action) -> Self {
        self.fix = Some(action);
        self
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn when_an_action_is_described_then_it_names_the_change_and_the_resource() {
        let sdc = super::Action::DisableSourceDestCheck {
            eni_id: "eni-0a1".into(),
        };
        let ena = super::Action::EnableEna {
            instance_id: "i-0b2".into(),
        };
        assert_eq!(
            sdc.describe(),
            "disable source/destination check on eni-0a1"
        );
        assert_eq!(ena.describe(), "enable ENA on i-0b2");
        assert_eq!((sdc.resource(), ena.resource()), ("eni-0a1", "i-0b2"));
    }

    #[test]
    fn when_a_finding_is_fixed_or_info_then_it_is_not_open() {
        let f = |code: FindingCode, fixed: bool| {
            let mut f = Finding::new(code, "eni-1", "m", "r");
            f.fixed = fixed;
            f
        };
        assert!(f(FindingCode::SrcDstCheckEnabled, false).is_open());
        assert!(!f(FindingCode::SrcDstCheckEnabled, true).is_open());
        assert_eq!(FindingCode::EnaUnknown.severity(), Severity::Info);
        assert!(!f(FindingCode::EnaUnknown, false).is_open());
    }

    use super::*;

    #[test]
    fn when_a_finding_code_exists_then_the_readme_table_documents_it() {
        let readme = include_str!("../../../docs/findings.md");
        for code in FindingCode::ALL {
            let row = format!("| `{}` |", code.as_str());
            assert!(
                readme.contains(&row),
                "docs/findings.md finding-code table lacks {code}"
            );
            assert!(
                readme.contains(&format!("{row} {} |", code.severity().as_str())),
                "docs/findings.md gives {code} another severity than the code does"
            );
        }
    }

    #[test]
    fn when_codes_serialise_then_they_match_as_str() {
        for code in FindingCode::ALL {
            assert_eq!(
                serde_json::to_value(code).ok(),
                Some(serde_json::Value::from(code.as_str()))
            );
        }
    }
}
