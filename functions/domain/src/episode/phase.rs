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
//! - Version: the configured `ssr-version` is a floor ([`version_reaches`]): Mist's version at
//!   or above it is onboarded (`6.3.0` is reached by `6.3.0`, `6.3.0-107.r1`, `6.3.1`, `7.0`;
//!   not by `6.2.5`). Without a configured version, connected is onboarded.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::matching::{name_key, MatchedBy};
pub use super::version::version_reaches;
use crate::config::VersionCheck;
use crate::mist_model::{normalize_mac, GatewayStats, InventoryDevice};

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

    /// The device for a router by the matching rule ([`super::matching`]): MAC first, then
    /// name (the most advanced of several devices of that name).
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

impl InventoryIndex {
    /// Per router of one sweep (each its name, interface MACs and wanted version, as given to
    /// [`InventoryIndex::find`]): may its name match be trusted? A device matches at most one
    /// router, so a name match does not count when the device is another of these routers' (one
    /// of its interfaces has the device's MAC), or another of them matches the same device too
    /// (two open episodes with one name: which one is in Mist cannot be told). MAC matches
    /// always count.
    pub fn names_trusted(
        &self,
        routers: &[(Option<&str>, Vec<String>, Option<&str>)],
    ) -> Vec<bool> {
        let found: Vec<Option<&InventoryDevice>> = routers
            .iter()
            .map(|(name, macs, want)| self.find(*name, macs, *want).map(|(d, _)| d))
            .collect();
        routers
            .iter()
            .enumerate()
            .map(|(i, (name, macs, want))| {
                let Some((device, MatchedBy::Name(_))) = self.find(*name, macs, *want) else {
                    return true;
                };
                let mac = device.mac.as_deref().and_then(normalize_mac);
                !routers.iter().enumerate().any(|(j, (_, other_macs, _))| {
                    j != i
                        && (found[j].is_some_and(|d| std::ptr::eq(d, device))
                            || mac.as_ref().is_some_and(|mac| {
                                other_macs
                                    .iter()
                                    .any(|m| normalize_mac(m).as_ref() == Some(mac))
                            }))
                })
            })
            .collect()
    }
}

fn progress(d: &InventoryDevice, stats: Option<&GatewayStats>, want: Option<&str>) -> u8 {
    let version = stats.and_then(|s| s.version.as_deref());
    match (d.connected, want) {
        (Some(true), Some(w)) if version_reaches(w, version) => 4,
        // With or without a wanted version, a device with stats says more than one without.
        (Some(true), _) if stats.is_some() => 3,
        (Some(true), _) => 2,
        _ => 1,
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
    /// Connected, but running an SSR version below the configured one (not yet installed).
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

/// A phase's name, as the sweep's JSON and the alerts' `phase` attribute write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PhaseCode {
    NotInInventory,
    NotConnected,
    ConnectedNoStats,
    VersionMismatch,
    Onboarded,
    Unknown,
}

impl PhaseCode {
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseCode::NotInInventory => "not-in-inventory",
            PhaseCode::NotConnected => "not-connected",
            PhaseCode::ConnectedNoStats => "connected-no-stats",
            PhaseCode::VersionMismatch => "version-mismatch",
            PhaseCode::Onboarded => "onboarded",
            PhaseCode::Unknown => "unknown",
        }
    }
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
    /// Mist reports the configured version or a later one.
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
    /// Which phase, without its details (the outcome's and the alert attribute's `phase`).
    pub fn kind(&self) -> PhaseCode {
        match self {
            Phase::NotInInventory => PhaseCode::NotInInventory,
            Phase::NotConnected { .. } => PhaseCode::NotConnected,
            Phase::ConnectedNoStats { .. } => PhaseCode::ConnectedNoStats,
            Phase::VersionMismatch { .. } => PhaseCode::VersionMismatch,
            Phase::Onboarded { .. } => PhaseCode::Onboarded,
            Phase::Unknown { .. } => PhaseCode::Unknown,
        }
    }

    pub fn code(&self) -> &'static str {
        self.kind().as_str()
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
                "Connected to Mist{}, but running SSR {}, below the configured {want}: the SSR install (5-10 minutes after onboarding) has not finished or failed.",
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
        have if version_reaches(want, have) => mist(VersionStatus::Matched),
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
    /// Connected with a version not yet known (the onboarding config was not read yet), or past
    /// its deadline before its config was read (it may be adopted): decide on a later sweep.
    Defer,
    /// Adopted (first seen already past its deadline) and not onboarded: never paged.
    Adopted,
    /// Past the deadline without Mist settings (`UNVERIFIED_ONBOARDING=notice`): one info
    /// notice that onboarding cannot be verified.
    Unverified,
    /// The unverified notice was sent: nothing more.
    StillUnverified,
    /// Past the deadline, but the router is snoozed (`SSR-ONBOARD-SNOOZE-UNTIL`): no page until
    /// the snooze ends.
    Snoozed,
}

/// What [`decide`] needs to know about an episode besides its phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct EpisodeFacts {
    pub started_at: DateTime<Utc>,
    /// The onboarding config was read (so a Mist-connected router's version can be judged).
    pub version_known: bool,
    /// The overdue page was sent.
    pub alerted: bool,
    /// The unverified notice was sent.
    pub notified: bool,
    /// Adopted (and adoption is on): never paged.
    pub adopted: bool,
    /// Past the deadline, its config not read yet, adoption on: wait for the read.
    pub awaiting_adoption: bool,
    /// Mist settings are present (a failing Mist still pages, saying Mist's status is unknown).
    pub mist_configured: bool,
    /// `SSR-ONBOARD-SNOOZE-UNTIL` holds alerts now.
    pub snoozed: bool,
}

/// One episode's decision (the rules are in docs/watchdog.md).
pub fn decide(
    now: DateTime<Utc>,
    rules: &super::SweepRules,
    phase: &Phase,
    facts: &EpisodeFacts,
) -> Decision {
    let overdue = now - facts.started_at >= rules.deadline;
    match phase {
        p if p.onboarded_by_mist() && !facts.version_known => Decision::Defer,
        p if p.is_onboarded() => Decision::Finish,
        _ if facts.alerted => Decision::StillOverdue,
        _ if facts.adopted => Decision::Adopted,
        _ if !overdue => Decision::Wait,
        _ if facts.awaiting_adoption => Decision::Defer,
        _ if facts.snoozed => Decision::Snoozed,
        _ if !facts.mist_configured
            && rules.unverified == crate::config::UnverifiedOnboarding::Notice =>
        {
            if facts.notified {
                Decision::StillUnverified
            } else {
                Decision::Unverified
            }
        }
        _ => Decision::Overdue,
    }
}

#[cfg(test)]
mod tests;
