//! What the watchdog reads from Mist, as plain data: an inventory item, a gateway's stats, and
//! Mist's form of a MAC address. The HTTP client that fetches them is the core's `mist::client`.

use serde::{Deserialize, Serialize};

/// One inventory item. Mist sends more fields (some, like `magic`, the claim code, are secret):
/// only these are kept.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct InventoryDevice {
    #[serde(default)]
    pub name: Option<String>,
    /// 12 lower-case hex characters, no separators (as Mist writes it).
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, rename = "type")]
    pub device_type: Option<String>,
    #[serde(default)]
    pub connected: Option<bool>,
    /// Absent while the device is unassigned (the API omits the key).
    #[serde(default)]
    pub site_id: Option<String>,
}

/// One gateway's device stats (`stats_gateway`): only what the watchdog reads. The SSR version
/// is here, not in the inventory.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct GatewayStats {
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The running SSR version (nullable in the spec; absent until reported).
    #[serde(default)]
    pub version: Option<String>,
    /// `connected` / `disconnected` (free text in the spec).
    #[serde(default)]
    pub status: Option<String>,
}

/// A MAC address as Mist writes it: 12 lower-case hex characters, no separators. Accepts EC2's
/// `0a:1b:2c:3d:4e:5f`, `0A-1B-…`, `0a1b.2c3d.4e5f` and Mist's own form; anything else is `None`.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let hex: String = mac
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_mac_has_separators_or_case_then_normalized_to_mist_form() {
        assert_eq!(
            normalize_mac("0A:1b:2C:3d:4e:5F").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            normalize_mac("0a-1b-2c-3d-4e-5f").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            normalize_mac("0a1b.2c3d.4e5f").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            normalize_mac("0a1b2c3d4e5f").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(normalize_mac("0a:1b:2c:3d:4e"), None);
        assert_eq!(normalize_mac("zz:1b:2c:3d:4e:5f"), None);
        assert_eq!(normalize_mac(""), None);
    }
}
