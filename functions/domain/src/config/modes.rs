//! The settings that choose a behaviour (each an enum read from one variable): how the version
//! Mist reports is judged, what the watchdog does with routers it did not see launch, and
//! without Mist.

use super::ConfigError;

/// `MIST_VERSION_CHECK`: what a connected router's reported SSR version must be to count as
/// onboarded (docs/watchdog.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionCheck {
    /// `when-reported` (default): a version Mist reports must match the onboarding config's
    /// `ssr-version`; a connected router without a reported version (or without a stats entry)
    /// counts as onboarded, and the outcome says "version not reported".
    #[default]
    WhenReported,
    /// `required`: the version must be reported and match; a connected router without stats
    /// waits in phase `connected-no-stats`.
    Required,
    /// `off`: connected is onboarded; the stats are not read.
    Off,
}

impl VersionCheck {
    pub fn as_str(&self) -> &'static str {
        match self {
            VersionCheck::WhenReported => "when-reported",
            VersionCheck::Required => "required",
            VersionCheck::Off => "off",
        }
    }

    pub(super) fn parse(value: Option<String>) -> Result<Self, ConfigError> {
        match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("when-reported") => Ok(VersionCheck::WhenReported),
            Some("required") => Ok(VersionCheck::Required),
            Some("off") => Ok(VersionCheck::Off),
            Some(other) => Err(ConfigError::Invalid {
                var: "MIST_VERSION_CHECK",
                reason: format!("`{other}` is not one of when-reported, required, off"),
            }),
        }
    }
}

/// The watchdog's rules for an estate it did not see launch, and for a deployment without Mist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WatchdogConfig {
    /// `ADOPT_EXISTING`.
    pub adopt_existing: AdoptExisting,
    /// `UNVERIFIED_ONBOARDING`.
    pub unverified_onboarding: UnverifiedOnboarding,
}

/// `ADOPT_EXISTING`: a router the watchdog first sees already past its deadline (it was running
/// before ssr-onboard was deployed, or while the watchdog was off) is adopted, not paged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AdoptExisting {
    /// `summary` (default): adopted; one info summary per sweep lists the routers adopted in
    /// that sweep that are not onboarded, with their Mist phase.
    #[default]
    Summary,
    /// `page`: no adoption; such a router pages like any other overdue router.
    Page,
    /// `silent`: adopted, no summary.
    Silent,
}

impl AdoptExisting {
    pub fn as_str(self) -> &'static str {
        match self {
            AdoptExisting::Summary => "summary",
            AdoptExisting::Page => "page",
            AdoptExisting::Silent => "silent",
        }
    }

    pub(super) fn parse(value: Option<String>) -> Result<Self, ConfigError> {
        match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("summary") => Ok(AdoptExisting::Summary),
            Some("page") => Ok(AdoptExisting::Page),
            Some("silent") => Ok(AdoptExisting::Silent),
            Some(other) => Err(ConfigError::Invalid {
                var: "ADOPT_EXISTING",
                reason: format!("`{other}` is not one of summary, page, silent"),
            }),
        }
    }
}

/// `UNVERIFIED_ONBOARDING`: without Mist settings the watchdog cannot tell onboarded from not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnverifiedOnboarding {
    /// `notice` (default): at the deadline, one info `onboarding-unverified` notice per episode.
    #[default]
    Notice,
    /// `page`: page at the deadline as if overdue (the behaviour before this setting existed).
    Page,
}

impl UnverifiedOnboarding {
    pub fn as_str(self) -> &'static str {
        match self {
            UnverifiedOnboarding::Notice => "notice",
            UnverifiedOnboarding::Page => "page",
        }
    }

    pub(super) fn parse(value: Option<String>) -> Result<Self, ConfigError> {
        match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("notice") => Ok(UnverifiedOnboarding::Notice),
            Some("page") => Ok(UnverifiedOnboarding::Page),
            Some(other) => Err(ConfigError::Invalid {
                var: "UNVERIFIED_ONBOARDING",
                reason: format!("`{other}` is not one of notice, page"),
            }),
        }
    }
}
