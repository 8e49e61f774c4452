//! The version rule: the onboarding config's `ssr-version` is a floor that Mist's reported
//! version must reach (docs/watchdog.md, "the version check").

/// Does Mist's `have` version reach the configured `want`? The configured version is a floor,
/// not an exact match (Mist upgrades routers past it in their normal life):
/// - `major.minor.patch` compare numerically, missing parts are 0 (`6.3` = `6.3.0`); further
///   numeric parts count too (`6.3.0.12` > `6.3.0`); a leading `v` is dropped;
/// - then the build number after `-`, when both sides have one (`6.3.0-99.r1` < `6.3.0-107.r1`);
///   a side without a build matches any build of its release (`6.3.0-107.r1` and `6.3.0` reach
///   each other); the `.rN` suffix is ignored. This is not semver's pre-release order.
/// - A version that does not read as numbers on either side falls back to the old prefix rule
///   (`have` starts with `want`, the next character not a digit), so an odd configured value
///   still works as it did.
pub fn version_reaches(want: &str, have: Option<&str>) -> bool {
    let Some(have) = have else { return false };
    let norm = |v: &str| {
        let v = v.trim().to_lowercase();
        v.strip_prefix('v').map(String::from).unwrap_or(v)
    };
    let (want, have) = (norm(want), norm(have));
    if want.is_empty() {
        return true;
    }
    match (SsrVersion::parse(&want), SsrVersion::parse(&have)) {
        (Some(w), Some(h)) => h.reaches(&w),
        _ => match have.strip_prefix(&want) {
            Some(rest) => !rest.starts_with(|c: char| c.is_ascii_digit()),
            None => false,
        },
    }
}

/// An SSR version as numbers: the release (`6.3.0`) and, when given, the build (`107` of
/// `6.3.0-107.r1`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct SsrVersion {
    release: Vec<u64>,
    build: Option<u64>,
}

impl SsrVersion {
    fn parse(v: &str) -> Option<SsrVersion> {
        let (release, build) = match v.split_once('-') {
            Some((r, b)) => (r, Some(b)),
            None => (v, None),
        };
        let release = release
            .split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<u64>>>()?;
        let build = match build {
            None => None,
            Some(b) => {
                let digits: String = b.chars().take_while(char::is_ascii_digit).collect();
                Some(digits.parse::<u64>().ok()?)
            }
        };
        Some(SsrVersion { release, build })
    }

    fn reaches(&self, floor: &SsrVersion) -> bool {
        let len = self.release.len().max(floor.release.len()).max(3);
        let part = |v: &SsrVersion, i: usize| v.release.get(i).copied().unwrap_or(0);
        for i in 0..len {
            match part(self, i).cmp(&part(floor, i)) {
                std::cmp::Ordering::Greater => return true,
                std::cmp::Ordering::Less => return false,
                std::cmp::Ordering::Equal => {}
            }
        }
        match (self.build, floor.build) {
            (Some(have), Some(want)) => have >= want,
            _ => true,
        }
    }
}

/// Which rule an onboarding episode is judged by; the overdue page says which applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "rule", rename_all = "kebab-case")]
pub enum OnboardingRule<'a> {
    /// The instance never onboarded (as far as the state table remembers): connected to Mist
    /// with the onboarding config's `ssr-version` or later (`floor`; `None`: no version
    /// configured, connected is enough).
    FirstInstall { floor: Option<&'a str> },
    /// The instance onboarded through Mist in an earlier episode (item
    /// `onboarded#<instance-id>`): this episode (after a stop/start) waits only for it to
    /// reconnect to Mist, with no version check.
    ReconnectOnly {
        onboarded_at: chrono::DateTime<chrono::Utc>,
    },
}

impl std::fmt::Display for OnboardingRule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OnboardingRule::FirstInstall { floor: Some(v) } => {
                write!(f, "first install — connected to Mist with SSR {v} or later")
            }
            OnboardingRule::FirstInstall { floor: None } => write!(
                f,
                "first install — connected to Mist (no ssr-version in the onboarding config)"
            ),
            OnboardingRule::ReconnectOnly { onboarded_at } => write!(
                f,
                "reconnect only, no version check (onboarded before on {})",
                onboarded_at.format("%Y-%m-%d")
            ),
        }
    }
}
