//! Where a router is in the guide's onboarding sequence (Mist inventory → connected → SSR
//! version installed), and what a sweep does about one onboarding episode. Pure: the handler
//! ([`crate::handlers::watchdog`]) gathers the facts.
//!
//! Matching rules (documented in docs/watchdog.md):
//! - A router matches an inventory device by the MAC address of any of its interfaces (EC2's
//!   `0a:1b:…` normalised to Mist's `0a1b…`), else by name: the `name` of its onboarding config,
//!   else its `Name` tag, else its stack name — compared trimmed and case-insensitively.
//! - When several devices carry the name (a re-deployed router leaves its old entry behind), the
//!   most advanced one counts.
//! - Version: Mist's version must start with the configured `ssr-version` (both trimmed, lower
//!   case, a leading `v` dropped), and the next character must not be a digit: `6.3.0` matches
//!   `6.3.0`, `6.3.0-107.r1` and `6.3.0.12`, not `6.3.01` or `6.3.1`; `6.3` matches any `6.3.x`.
//!   Without a configured version, connected is onboarded.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::mist::client::{normalize_mac, InventoryDevice};

/// What the sweep knows about Mist this time.
#[derive(Clone, Debug)]
pub enum MistView<'a> {
    /// No Mist organization or token configured: only the `SSR-ONBOARDED` tag can close episodes.
    NotConfigured(String),
    /// The inventory could not be read (the reason goes into the alert).
    Unavailable(String),
    Inventory(&'a InventoryIndex),
}

/// The inventory indexed by MAC and by lower-case name.
#[derive(Clone, Debug, Default)]
pub struct InventoryIndex {
    devices: Vec<InventoryDevice>,
    by_mac: HashMap<String, usize>,
    by_name: HashMap<String, Vec<usize>>,
}

impl InventoryIndex {
    pub fn new(devices: Vec<InventoryDevice>) -> Self {
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
        }
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
            .max_by_key(|d| progress(d, want_version))
            .map(|d| (d, MatchedBy::Name(key.clone())))
    }
}

fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

fn progress(d: &InventoryDevice, want: Option<&str>) -> u8 {
    match (d.connected, want) {
        (Some(true), Some(w)) if version_matches(w, d.version.as_deref()) => 3,
        (Some(true), None) => 3,
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
    },
    /// The instance tag `SSR-ONBOARDED=true`.
    Tag,
}

/// Secret-free facts about the matched inventory device.
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
    fn from(d: &InventoryDevice, matched_by: MatchedBy) -> Self {
        DeviceSummary {
            name: d.name.clone(),
            mac: d.mac.clone(),
            serial: d.serial.clone(),
            version: d.version.clone(),
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
            Phase::VersionMismatch { .. } => "version-mismatch",
            Phase::Onboarded { .. } => "onboarded",
            Phase::Unknown { .. } => "unknown",
        }
    }

    pub fn is_onboarded(&self) -> bool {
        matches!(self, Phase::Onboarded { .. })
    }

    /// One line for a person: the phase reached and what it means.
    pub fn describe(&self) -> String {
        match self {
            Phase::NotInInventory => "Not in the Mist organization's inventory. ZTP starts 2-3 minutes after launch and the router should then appear as Unassigned; it has not, so it never reached Mist: check the registration code in the onboarding config, and that the WAN interface reaches the internet (public IP, route to an internet gateway, security group).".into(),
            Phase::NotConnected { device } => format!(
                "In the Mist inventory{} but not connected to Mist: it was claimed, then lost (or never completed) its connection to the Mist cloud.",
                device_label(device)
            ),
            Phase::VersionMismatch { device, want, have } => format!(
                "Connected to Mist{}, but running SSR {} instead of {want}: the SSR install (5-10 minutes after onboarding) has not finished or failed.",
                device_label(device),
                have.as_deref().unwrap_or("(no version reported yet)")
            ),
            Phase::Onboarded { by: OnboardedBy::Mist { device } } => format!(
                "Onboarded: connected to Mist{} with the configured SSR version{}.",
                device_label(device),
                device.version.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
            ),
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
    let device = DeviceSummary::from(d, by);
    if d.connected != Some(true) {
        return Phase::NotConnected { device };
    }
    match want_version {
        Some(want) if !version_matches(want, d.version.as_deref()) => Phase::VersionMismatch {
            want: want.to_string(),
            have: d.version.clone(),
            device,
        },
        _ => Phase::Onboarded {
            by: OnboardedBy::Mist { device },
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
        Phase::Onboarded {
            by: OnboardedBy::Mist { .. },
        } if !version_known => Decision::Defer,
        Phase::Onboarded { .. } => Decision::Finish,
        _ if alerted => Decision::StillOverdue,
        _ if now - started_at >= deadline => Decision::Overdue,
        _ => Decision::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(name: &str, mac: &str, connected: bool, version: Option<&str>) -> InventoryDevice {
        InventoryDevice {
            name: Some(name.into()),
            mac: Some(mac.into()),
            serial: Some("SN1".into()),
            model: Some("SSR".into()),
            device_type: Some("gateway".into()),
            connected: Some(connected),
            version: version.map(String::from),
            site_id: None,
        }
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
    fn phase_table() {
        let inv = InventoryIndex::new(vec![
            dev("r-connected", "0a0000000001", true, Some("6.3.0-107.r1")),
            dev("r-old", "0a0000000002", true, Some("6.2.5-1.r2")),
            dev("r-offline", "0a0000000003", false, None),
            dev("r-noversion", "0a0000000004", true, None),
        ]);
        let view = MistView::Inventory(&inv);
        let p = |name: &str, macs: &[&str], want: Option<&str>| {
            let macs: Vec<String> = macs.iter().map(|m| m.to_string()).collect();
            phase_of(&view, false, Some(name), &macs, want).code()
        };
        assert_eq!(p("R-Connected", &[], Some("6.3.0")), "onboarded");
        assert_eq!(
            p("nobody", &["0a:00:00:00:00:01"], Some("6.3.0")),
            "onboarded"
        );
        assert_eq!(p("r-old", &[], Some("6.3.0")), "version-mismatch");
        assert_eq!(p("r-offline", &[], Some("6.3.0")), "not-connected");
        assert_eq!(p("r-noversion", &[], Some("6.3.0")), "version-mismatch");
        assert_eq!(p("r-noversion", &[], None), "onboarded");
        assert_eq!(
            p("absent", &["0a:ff:00:00:00:01"], Some("6.3.0")),
            "not-in-inventory"
        );
        // MAC wins over a name that points elsewhere.
        assert_eq!(
            p("r-connected", &["0a:00:00:00:00:03"], Some("6.3.0")),
            "not-connected"
        );
    }

    #[test]
    fn when_name_is_duplicated_then_most_advanced_device_counts() {
        let inv = InventoryIndex::new(vec![
            dev("edge", "0a0000000010", false, None),
            dev("edge", "0a0000000011", true, Some("6.3.0-1.r1")),
        ]);
        let ph = phase_of(
            &MistView::Inventory(&inv),
            false,
            Some("edge"),
            &[],
            Some("6.3.0"),
        );
        assert!(ph.is_onboarded(), "{ph:?}");
    }

    #[test]
    fn when_tag_or_mist_missing_then_phase_says_so() {
        let nc = MistView::NotConfigured("MIST_ORG_ID is not set".into());
        assert!(phase_of(&nc, true, None, &[], None).is_onboarded());
        let ph = phase_of(&nc, false, Some("r"), &[], None);
        assert_eq!(ph.code(), "unknown");
        assert!(
            ph.describe().contains("Mist not configured"),
            "{}",
            ph.describe()
        );
        let un = MistView::Unavailable("Mist API answered 401 Unauthorized".into());
        assert!(phase_of(&un, false, None, &[], None)
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
    }
}
