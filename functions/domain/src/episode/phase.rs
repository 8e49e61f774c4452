//! Where a router is in the guide's onboarding sequence (Mist inventory → connected → SSR
//! version installed), and what a sweep does about one onboarding episode. Pure: the handler
//! ([`crate::handlers::watchdog`]) gathers the facts.
//!
//! Mist's facts come from two reads joined by MAC: the inventory (claimed? connected?) and the
//! gateways' device stats (the running `version`; the inventory has none).
//!
//! Matching rules (documented in docs/watchdog.md):
//! - A router matches an inventory device by the MAC address of any of its interfaces (EC2's
//!   `0a:1b:…` normalised to Mist's `0a1b…`), else by name: the `name` of its onboarding config,
//!   else its `Name` tag, else its stack name — compared trimmed and case-insensitively.
//! - When several devices carry the name (a re-deployed router leaves its old entry behind), the
//!   most advanced one counts.
//! - A device's stats are the stats entry with the same MAC.
//! - `MIST_VERSION_CHECK` ([`VersionCheck`]) says how a connected device's version is judged:
//!   `when-reported` (a reported version must match; none reported, or no stats entry at all,
//!   counts as onboarded with "version not reported"), `required` (must be reported and match;
//!   no stats entry waits as `connected-no-stats`), `off` (connected is onboarded).
//! - Version: Mist's version must start with the configured `ssr-version` (both trimmed, lower
//!   case, a leading `v` dropped), and the next character must not be a digit: `6.3.0` matches
//!   `6.3.0`, `6.3.0-107.r1` and `6.3.0.12`, not `6.3.01` or `6.3.1`; `6.3` matches any `6.3.x`.
//!   Without a configured version, connected is onboarded.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::VersionCheck;
use crate::mist::client::{normalize_mac, GatewayStats, InventoryDevice};

/// What the sweep knows about Mist this time.
#[derive(Clone, Debug)]
pub enum MistView<'a> {
    /// No Mist organization or token configured: only the `SSR-ONBOARDED` tag can close episodes.
    NotConfigured(String),
    /// Mist could not be read (in time); the reason goes into the alert.
    Unavailable(String),
    Inventory(&'a InventoryIndex),
}

/// The inventory indexed by MAC and by lower-case name, joined with the gateways' stats by MAC.
#[derive(Clone, Debug, Default)]
pub struct InventoryIndex {
    devices: Vec<InventoryDevice>,
    by_mac: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
    stats: HashMap<String, GatewayStats>,
}

impl InventoryIndex {
    /// `stats`: the gateways' device stats (empty when not read, `MIST_VERSION_CHECK=off`).
    pub fn new(devices: Vec<InventoryDevice>, stats: Vec<GatewayStats>) -> Self {
        let stats = stats
            .into_iter()
            .filter_map(|s| Some((s.mac.as_deref().and_then(normalize_mac)?, s)))
            .collect();
        let mut by_mac = HashMap::new();
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, d) in devices.iter().enumerate() {
            if let Some(mac) = d.mac.as_deref().and_then(normalize_mac) {
                by_mac.entry(mac).or_insert(i);
            }
            if let Some(name) = d.name.as_deref().map(name_key).filter(|n| !n.is_empty()) {
                by_name.entry(name).or_default().push(i);
            }
        }
        InventoryIndex {
            devices,
            by_mac,
            by_name,
            stats,
        }
    }

    /// The stats entry of a device (same MAC).
    pub fn stats_of(&self, d: &InventoryDevice) -> Option<&GatewayStats> {
        self.stats.get(&d.mac.as_deref().and_then(normalize_mac)?)
    }

    pub fn stats_len(&self) -> usize {
        self.stats.len()
    }

    pub fn len(&self) -> usize {
        self.devices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
    }

    /// The device for a router: MAC first, then name (the most advanced of several).
    pub fn find(
        &self,
        name: Option<&str>,
        macs: &[String],
        want_version: Option<&str>,
    ) -> Option<(&InventoryDevice, MatchedBy)> {
        for mac in macs.iter().filter_map(|m| normalize_mac(m)) {
            if let Some(d) = self.by_mac.get(&mac).and_then(|&i| self.devices.get(i)) {
                return Some((d, MatchedBy::Mac(mac)));
            }
        }
        let key = name_key(name?);
        self.by_name
            .get(&key)?
            .iter()
            .filter_map(|&i| self.devices.get(i))
            .max_by_key(|d| progress(d, self.stats_of(d), want_version))
            .map(|d| (d, MatchedBy::Name(key.clone())))
    }
}

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn progress(d: &InventoryDevice, stats: Option<&GatewayStats>, want: Option<&str>) -> u8 {
    let version = stats.and_then(|s| s.version.as_deref());
    match (d.connected, want) {
        (Some(true), Some(w)) if version_matches(w, version) => 4,
        (Some(true), None) => 4,
        (Some(true), _) if stats.is_some() => 3,
        (Some(true), _) => 2,
        _ => 1,
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum MatchedBy {
    Mac(String),
    Name(String),
}

/// Does Mist's `have` version satisfy the configured `want`? See the module docs for the rule.
pub fn version_matches(want: &str, have: Option<&str>) -> bool {
    let Some(have) = have else { return false };
    let norm = |v: &str| {
        let v = v.trim().to_lowercase();
        v.strip_prefix('v').map(String::from).unwrap_or(v)
    };
    let (want, have) = (norm(want), norm(have));
    if want.is_empty() {
        return true;
    }
    match have.strip_prefix(&want) {
        Some(rest) => !rest.starts_with(|c: char| c.is_ascii_digit()),
        None => false,
    }
}

/// Where a router is in the guide's onboarding sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum Phase {
    /// Not (yet) in the Mist organization's inventory.
    NotInInventory,
    /// In the inventory (claimed) but not connected to Mist.
    NotConnected { device: DeviceSummary },
    /// Connected, but Mist has no device stats for it (so no version). Counts as onboarded under
    /// `MIST_VERSION_CHECK=when-reported` ("version not reported"), waits under `required`.
    ConnectedNoStats {
        device: DeviceSummary,
        counts_as_onboarded: bool,
    },
    /// Connected, but the configured SSR version is not (yet) installed.
    VersionMismatch {
        device: DeviceSummary,
        want: String,
        have: Option<String>,
    },
    /// Onboarded: connected with the right version, or marked by hand.
    Onboarded { by: OnboardedBy },
    /// Mist could not say (not configured, or unreachable / refused).
    Unknown { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum OnboardedBy {
    Mist {
        device: DeviceSummary,
        version: VersionStatus,
    },
    /// The instance tag `SSR-ONBOARDED=true`.
    Tag,
}

/// How the onboarded router's SSR version was judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionStatus {
    /// Mist reports the configured version.
    Matched,
    /// Mist reports no version (`MIST_VERSION_CHECK=when-reported` lets it pass).
    NotReported,
    /// Not checked: `MIST_VERSION_CHECK=off`, or the onboarding config names no `ssr-version`.
    NotChecked,
}

/// Secret-free facts about the matched inventory device (the version from its stats entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeviceSummary {
    pub name: Option<String>,
    pub mac: Option<String>,
    pub serial: Option<String>,
    pub version: Option<String>,
    pub site_id: Option<String>,
    pub matched_by: MatchedBy,
}

impl DeviceSummary {
    fn from(d: &InventoryDevice, stats: Option<&GatewayStats>, matched_by: MatchedBy) -> Self {
        DeviceSummary {
            name: d.name.clone(),
            mac: d.mac.clone(),
            serial: d.serial.clone(),
            version: stats.and_then(|s| s.version.clone()),
            site_id: d.site_id.clone(),
            matched_by,
        }
    }
}

impl Phase {
    pub fn code(&self) -> &'static str {
        match self {
            Phase::NotInInventory => "not-in-inventory",
            Phase::NotConnected { .. } => "not-connected",
            Phase::ConnectedNoStats { .. } => "connected-no-stats",
            Phase::VersionMismatch { .. } => "version-mismatch",
            Phase::Onboarded { .. } => "onboarded",
            Phase::Unknown { .. } => "unknown",
        }
    }

    pub fn is_onboarded(&self) -> bool {
        matches!(
            self,
            Phase::Onboarded { .. }
                | Phase::ConnectedNoStats {
                    counts_as_onboarded: true,
                    ..
                }
        )
    }

    /// Onboarded by what Mist says (not by the tag).
    fn onboarded_by_mist(&self) -> bool {
        self.is_onboarded()
            && !matches!(
                self,
                Phase::Onboarded {
                    by: OnboardedBy::Tag
                }
            )
    }

    /// "version not reported" when the router counts as onboarded without Mist reporting its
    /// SSR version.
    pub fn note(&self) -> Option<&'static str> {
        match self {
            Phase::ConnectedNoStats {
                counts_as_onboarded: true,
                ..
            }
            | Phase::Onboarded {
                by:
                    OnboardedBy::Mist {
                        version: VersionStatus::NotReported,
                        ..
                    },
            } => Some("version not reported"),
            _ => None,
        }
    }

    /// One line for a person: the phase reached and what it means.
    pub fn describe(&self) -> String {
        match self {
            Phase::NotInInventory => "Not in the Mist organization's inventory. ZTP starts 2-3 minutes after launch and the router should then appear as Unassigned; it has not, so it never reached Mist: check the registration code in the onboarding config, and that the WAN interface reaches the internet (public IP, route to an internet gateway, security group).".into(),
            Phase::NotConnected { device } => format!(
                "In the Mist inventory{} but not connected to Mist: it was claimed, then lost (or never completed) its connection to the Mist cloud.",
                device_label(device)
            ),
            Phase::ConnectedNoStats { device, counts_as_onboarded } => format!(
                "Connected to Mist{}, but Mist has no device stats for it (is it assigned to a site?), so its SSR version is not reported{}.",
                device_label(device),
                if *counts_as_onboarded {
                    "; counted as onboarded (MIST_VERSION_CHECK=when-reported)"
                } else {
                    "; MIST_VERSION_CHECK=required waits for a reported version"
                }
            ),
            Phase::VersionMismatch { device, want, have } => format!(
                "Connected to Mist{}, but running SSR {} instead of {want}: the SSR install (5-10 minutes after onboarding) has not finished or failed.",
                device_label(device),
                have.as_deref().unwrap_or("(no version reported yet)")
            ),
            Phase::Onboarded { by: OnboardedBy::Mist { device, version } } => match version {
                VersionStatus::Matched => format!(
                    "Onboarded: connected to Mist{} with the configured SSR version{}.",
                    device_label(device),
                    device.version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
                ),
                VersionStatus::NotReported => format!(
                    "Onboarded: connected to Mist{}; version not reported (counted as onboarded, MIST_VERSION_CHECK=when-reported).",
                    device_label(device)
                ),
                VersionStatus::NotChecked => format!(
                    "Onboarded: connected to Mist{}{} (version not checked).",
                    device_label(device),
                    device.version.as_deref().map(|v| format!(", SSR {v}")).unwrap_or_default()
                ),
            },
            Phase::Onboarded { by: OnboardedBy::Tag } => {
                "Onboarded: marked by hand with the instance tag SSR-ONBOARDED=true.".into()
            }
            Phase::Unknown { reason } => format!(
                "Mist status unknown: {reason}. Check the Mist portal (Organization > Inventory > Gateways) by hand."
            ),
        }
    }
}

fn device_label(d: &DeviceSummary) -> String {
    let mut parts = Vec::new();
    if let Some(n) = &d.name {
        parts.push(format!("as \"{n}\""));
    }
    if let Some(m) = &d.mac {
        parts.push(format!("MAC {m}"));
    }
    if let Some(s) = &d.serial {
        parts.push(format!("serial {s}"));
    }
    match &d.matched_by {
        MatchedBy::Mac(_) => parts.push("matched by MAC".into()),
        MatchedBy::Name(_) => parts.push("matched by name".into()),
    }
    format!(" ({})", parts.join(", "))
}

/// The phase of one router. `onboarded_tag`: the instance carries `SSR-ONBOARDED=true`.
pub fn phase_of(
    mist: &MistView<'_>,
    onboarded_tag: bool,
    name: Option<&str>,
    macs: &[String],
    want_version: Option<&str>,
    check: VersionCheck,
) -> Phase {
    if onboarded_tag {
        return Phase::Onboarded {
            by: OnboardedBy::Tag,
        };
    }
    let inv = match mist {
        MistView::NotConfigured(why) => {
            return Phase::Unknown {
                reason: format!("Mist not configured ({why})"),
            }
        }
        MistView::Unavailable(why) => {
            return Phase::Unknown {
                reason: why.clone(),
            }
        }
        MistView::Inventory(inv) => inv,
    };
    let Some((d, by)) = inv.find(name, macs, want_version) else {
        return Phase::NotInInventory;
    };
    let stats = inv.stats_of(d);
    let device = DeviceSummary::from(d, stats, by);
    if d.connected != Some(true) {
        return Phase::NotConnected { device };
    }
    connected_phase(device, stats, want_version, check)
}

/// The phase of a device Mist says is connected, from its stats entry (if any).
pub fn connected_phase(
    device: DeviceSummary,
    stats: Option<&GatewayStats>,
    want_version: Option<&str>,
    check: VersionCheck,
) -> Phase {
    let mist = |version| Phase::Onboarded {
        by: OnboardedBy::Mist {
            device: device.clone(),
            version,
        },
    };
    let want = match (check, want_version) {
        (VersionCheck::Off, _) | (_, None) => return mist(VersionStatus::NotChecked),
        (_, Some(w)) => w,
    };
    let required = check == VersionCheck::Required;
    let Some(stats) = stats else {
        return Phase::ConnectedNoStats {
            device,
            counts_as_onboarded: !required,
        };
    };
    match stats.version.as_deref() {
        None if !required => mist(VersionStatus::NotReported),
        have if version_matches(want, have) => mist(VersionStatus::Matched),
        have => Phase::VersionMismatch {
            want: want.to_string(),
            have: have.map(String::from),
            device,
        },
    }
}

/// What a sweep does about one open episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    /// Not onboarded, deadline not reached: nothing yet.
    Wait,
    /// Not onboarded past the deadline: alert (once).
    Overdue,
    /// Overdue and already alerted: nothing more.
    StillOverdue,
    /// Onboarded: record the episode, and send a recovery notice if it was alerted.
    Finish,
    /// Connected with a version not yet known (the onboarding config was not read yet): decide
    /// on a later sweep.
    Defer,
}

/// `version_known`: the episode's onboarding config was read (so a Mist-connected router's
/// version can be judged).
pub fn decide(
    now: DateTime<Utc>,
    started_at: DateTime<Utc>,
    deadline: Duration,
    phase: &Phase,
    version_known: bool,
    alerted: bool,
) -> Decision {
    match phase {
        p if p.onboarded_by_mist() && !version_known => Decision::Defer,
        p if p.is_onboarded() => Decision::Finish,
        _ if alerted => Decision::StillOverdue,
        _ if now - started_at >= deadline => Decision::Overdue,
        _ => Decision::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str, mac: &str, connected: bool) -> InventoryDevice {
        InventoryDevice {
            name: Some(name.into()),
            mac: Some(mac.into()),
            serial: Some("SN1".into()),
            model: Some("SSR".into()),
            device_type: Some("gateway".into()),
            connected: Some(connected),
            site_id: None,
        }
    }

    fn st(mac: &str, version: Option<&str>) -> GatewayStats {
        GatewayStats {
            mac: Some(mac.into()),
            name: None,
            version: version.map(String::from),
            status: Some("connected".into()),
        }
    }

    /// Four connected gateways and one offline; stats for three of them.
    fn index() -> InventoryIndex {
        InventoryIndex::new(
            vec![
                dev("r-connected", "0a0000000001", true),
                dev("r-old", "0a0000000002", true),
                dev("r-offline", "0a0000000003", false),
                dev("r-noversion", "0a0000000004", true),
                dev("r-nostats", "0a0000000005", true),
            ],
            vec![
                st("0A:00:00:00:00:01", Some("6.3.0-107.r1")),
                st("0a0000000002", Some("6.2.5-1.r2")),
                st("0a0000000004", None),
            ],
        )
    }

    #[test]
    fn version_rule_table() {
        let cases = [
            ("6.3.0", Some("6.3.0-107.r1"), true),
            ("6.3.0", Some("6.3.0"), true),
            ("6.3.0", Some("6.3.0.12"), true),
            ("v6.3.0", Some("6.3.0-107.r1"), true),
            ("6.3.0-107.r1", Some("6.3.0-107.r1"), true),
            ("6.3", Some("6.3.4-2.r2"), true),
            ("6.3.0", Some("6.3.01"), false),
            ("6.3.0", Some("6.3.1-5.r1"), false),
            ("6.3.0", Some("6.2.5-1.r2"), false),
            ("6.3.0", None, false),
            ("6.3.0-107.r1", Some("6.3.0"), false),
        ];
        for (want, have, ok) in cases {
            assert_eq!(version_matches(want, have), ok, "{want} vs {have:?}");
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn phase_table() {
        let inv = index();
        let view = MistView::Inventory(&inv);
        let p = |name: &str, macs: &[&str], want: Option<&str>, check: VersionCheck| {
            let macs: Vec<String> = macs.iter().map(|m| m.to_string()).collect();
            phase_of(&view, false, Some(name), &macs, want, check)
        };
        use VersionCheck::*;
        let cases: [(&str, &[&str], Option<&str>, VersionCheck, &str, bool); 16] = [
            (
                "R-Connected",
                &[],
                Some("6.3.0"),
                WhenReported,
                "onboarded",
                true,
            ),
            (
                "nobody",
                &["0a:00:00:00:00:01"],
                Some("6.3.0"),
                Required,
                "onboarded",
                true,
            ),
            (
                "r-old",
                &[],
                Some("6.3.0"),
                WhenReported,
                "version-mismatch",
                false,
            ),
            (
                "r-old",
                &[],
                Some("6.3.0"),
                Required,
                "version-mismatch",
                false,
            ),
            ("r-old", &[], Some("6.3.0"), Off, "onboarded", true),
            ("r-offline", &[], Some("6.3.0"), Off, "not-connected", false),
            // Stats entry without a version.
            (
                "r-noversion",
                &[],
                Some("6.3.0"),
                WhenReported,
                "onboarded",
                true,
            ),
            (
                "r-noversion",
                &[],
                Some("6.3.0"),
                Required,
                "version-mismatch",
                false,
            ),
            ("r-noversion", &[], None, Required, "onboarded", true),
            // Connected, no stats entry at all.
            (
                "r-nostats",
                &[],
                Some("6.3.0"),
                WhenReported,
                "connected-no-stats",
                true,
            ),
            (
                "r-nostats",
                &[],
                Some("6.3.0"),
                Required,
                "connected-no-stats",
                false,
            ),
            ("r-nostats", &[], Some("6.3.0"), Off, "onboarded", true),
            ("r-nostats", &[], None, Required, "onboarded", true),
            (
                "absent",
                &["0a:ff:00:00:00:01"],
                Some("6.3.0"),
                WhenReported,
                "not-in-inventory",
                false,
            ),
            // MAC wins over a name that points elsewhere.
            (
                "r-connected",
                &["0a:00:00:00:00:03"],
                Some("6.3.0"),
                WhenReported,
                "not-connected",
                false,
            ),
            (
                "r-connected",
                &[],
                Some("6.4"),
                WhenReported,
                "version-mismatch",
                false,
            ),
        ];
        for (name, macs, want, check, code, onboarded) in cases {
            let ph = p(name, macs, want, check);
            assert_eq!(
                (ph.code(), ph.is_onboarded()),
                (code, onboarded),
                "{name} {macs:?} {want:?} {check:?}: {ph:?}"
            );
        }
        let nr = p("r-noversion", &[], Some("6.3.0"), WhenReported);
        assert_eq!(nr.note(), Some("version not reported"));
        assert!(
            nr.describe().contains("version not reported"),
            "{}",
            nr.describe()
        );
        let ns = p("r-nostats", &[], Some("6.3.0"), WhenReported);
        assert_eq!(ns.note(), Some("version not reported"));
        assert!(
            ns.describe().contains("no device stats"),
            "{}",
            ns.describe()
        );
        let ok = p("r-connected", &[], Some("6.3.0"), WhenReported);
        assert_eq!(ok.note(), None);
        assert!(ok.describe().contains("6.3.0-107.r1"), "{}", ok.describe());
        match p("r-old", &[], Some("6.3.0"), WhenReported) {
            Phase::VersionMismatch { have, .. } => assert_eq!(have.as_deref(), Some("6.2.5-1.r2")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn when_name_is_duplicated_then_most_advanced_device_counts() {
        let inv = InventoryIndex::new(
            vec![
                dev("edge", "0a0000000010", false),
                dev("edge", "0a0000000011", true),
            ],
            vec![st("0a0000000011", Some("6.3.0-1.r1"))],
        );
        let ph = phase_of(
            &MistView::Inventory(&inv),
            false,
            Some("edge"),
            &[],
            Some("6.3.0"),
            VersionCheck::WhenReported,
        );
        assert!(ph.is_onboarded(), "{ph:?}");
    }

    #[test]
    fn when_tag_or_mist_missing_then_phase_says_so() {
        let nc = MistView::NotConfigured("MIST_ORG_ID is not set".into());
        let wr = VersionCheck::WhenReported;
        assert!(phase_of(&nc, true, None, &[], None, wr).is_onboarded());
        let ph = phase_of(&nc, false, Some("r"), &[], None, wr);
        assert_eq!(ph.code(), "unknown");
        assert!(
            ph.describe().contains("Mist not configured"),
            "{}",
            ph.describe()
        );
        let un = MistView::Unavailable("Mist API answered 401 Unauthorized".into());
        assert!(phase_of(&un, false, None, &[], None, wr)
            .describe()
            .contains("401 Unauthorized"));
    }

    #[test]
    fn decision_table() {
        let t0 = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let dl = Duration::minutes(15);
        let nii = Phase::NotInInventory;
        let mist_ok = Phase::Onboarded {
            by: OnboardedBy::Mist {
                version: VersionStatus::Matched,
                device: DeviceSummary {
                    name: None,
                    mac: None,
                    serial: None,
                    version: None,
                    site_id: None,
                    matched_by: MatchedBy::Name("r".into()),
                },
            },
        };
        let at = |m: i64| t0 + Duration::minutes(m);
        assert_eq!(decide(at(14), t0, dl, &nii, true, false), Decision::Wait);
        assert_eq!(decide(at(15), t0, dl, &nii, true, false), Decision::Overdue);
        assert_eq!(
            decide(at(16), t0, dl, &nii, true, true),
            Decision::StillOverdue
        );
        assert_eq!(
            decide(at(16), t0, dl, &mist_ok, true, true),
            Decision::Finish
        );
        assert_eq!(
            decide(at(3), t0, dl, &mist_ok, false, false),
            Decision::Defer
        );
        let tag = Phase::Onboarded {
            by: OnboardedBy::Tag,
        };
        assert_eq!(decide(at(3), t0, dl, &tag, false, false), Decision::Finish);
        let device = match &mist_ok {
            Phase::Onboarded {
                by: OnboardedBy::Mist { device, .. },
            } => device.clone(),
            _ => unreachable!(),
        };
        let no_stats = |counts_as_onboarded| Phase::ConnectedNoStats {
            device: device.clone(),
            counts_as_onboarded,
        };
        assert_eq!(
            decide(at(16), t0, dl, &no_stats(true), true, true),
            Decision::Finish
        );
        assert_eq!(
            decide(at(3), t0, dl, &no_stats(true), false, false),
            Decision::Defer
        );
        assert_eq!(
            decide(at(16), t0, dl, &no_stats(false), true, false),
            Decision::Overdue
        );
    }
}
