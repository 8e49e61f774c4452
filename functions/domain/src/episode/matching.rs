//! The one rule that says which Mist device is which router: the MAC address first (one of the
//! router's interfaces), else the name (the onboarding config's `name`, compared without case
//! or surrounding blanks). A MAC match is the router itself; a name match is trusted only when
//! it is the one candidate. The sweep applies it through [`super::InventoryIndex::find`] and
//! [`super::InventoryIndex::names_trusted`], the webhook through [`router_of_device`].

use serde::Serialize;

use crate::mist_model::normalize_mac;

/// How a Mist device was matched to a router.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "by", content = "value", rename_all = "snake_case")]
pub enum MatchedBy {
    Mac(String),
    Name(String),
}

/// A name as names are compared: trimmed, lower case.
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// Is the device (`device_name`, `device_mac`) the router (`router_name`, `router_macs`)?
pub fn device_matches(
    router_name: Option<&str>,
    router_macs: &[String],
    device_name: Option<&str>,
    device_mac: Option<&str>,
) -> Option<MatchedBy> {
    if let Some(mac) = device_mac.and_then(normalize_mac) {
        if router_macs
            .iter()
            .any(|m| normalize_mac(m).as_deref() == Some(mac.as_str()))
        {
            return Some(MatchedBy::Mac(mac));
        }
    }
    let device = name_key(device_name?);
    let router = name_key(router_name?);
    (!device.is_empty() && device == router).then_some(MatchedBy::Name(router))
}

/// Which of the routers a device is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouterMatch {
    /// The router at this index (its MAC, or the only one with its name).
    One(usize, MatchedBy),
    NoMatch,
    /// No MAC matched, and several routers carry the device's name.
    SeveralByName,
}

/// The router (of `routers`: each its name and interface MACs) that the device is.
pub fn router_of_device<'a>(
    device_name: Option<&str>,
    device_mac: Option<&str>,
    routers: impl IntoIterator<Item = (Option<&'a str>, Vec<String>)>,
) -> RouterMatch {
    let matches: Vec<(usize, MatchedBy)> = routers
        .into_iter()
        .enumerate()
        .filter_map(|(i, (name, macs))| {
            device_matches(name, &macs, device_name, device_mac).map(|by| (i, by))
        })
        .collect();
    if let Some((i, by)) = matches
        .iter()
        .find(|(_, by)| matches!(by, MatchedBy::Mac(_)))
    {
        return RouterMatch::One(*i, by.clone());
    }
    match matches.as_slice() {
        [] => RouterMatch::NoMatch,
        [(i, by)] => RouterMatch::One(*i, by.clone()),
        _ => RouterMatch::SeveralByName,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn macs(m: &[&str]) -> Vec<String> {
        m.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn when_a_mac_is_shared_in_any_notation_then_it_matches_by_mac() {
        assert_eq!(
            device_matches(
                Some("r1"),
                &macs(&["0A:1B:2C:3D:4E:5F"]),
                Some("other"),
                Some("0a1b2c3d4e5f")
            ),
            Some(MatchedBy::Mac("0a1b2c3d4e5f".into()))
        );
    }

    #[test]
    fn when_no_mac_matches_then_the_name_decides_without_case_or_blanks() {
        assert_eq!(
            device_matches(
                Some(" Branch-1 "),
                &macs(&["0a0000000001"]),
                Some("branch-1"),
                Some("0a0000000002")
            ),
            Some(MatchedBy::Name("branch-1".into()))
        );
        assert_eq!(device_matches(Some("a"), &[], Some("b"), None), None);
        assert_eq!(device_matches(None, &[], Some("b"), None), None);
        assert_eq!(device_matches(Some(""), &[], Some("  "), None), None);
    }

    #[test]
    fn when_one_router_matches_by_mac_then_it_wins_over_name_matches() {
        let routers = vec![
            (Some("edge"), macs(&["0a0000000001"])),
            (Some("other"), macs(&["0a0000000002"])),
        ];
        assert_eq!(
            router_of_device(Some("edge"), Some("0a:00:00:00:00:02"), routers),
            RouterMatch::One(1, MatchedBy::Mac("0a0000000002".into()))
        );
    }

    #[test]
    fn when_only_names_match_then_a_single_candidate_is_taken_and_several_are_not() {
        let one = vec![(Some("edge"), macs(&[])), (Some("core"), macs(&[]))];
        assert_eq!(
            router_of_device(Some("EDGE"), None, one),
            RouterMatch::One(0, MatchedBy::Name("edge".into()))
        );
        let two = vec![(Some("edge"), macs(&[])), (Some("Edge"), macs(&[]))];
        assert_eq!(
            router_of_device(Some("edge"), None, two),
            RouterMatch::SeveralByName
        );
        assert_eq!(
            router_of_device(
                Some("x"),
                Some("0a0000000009"),
                vec![(Some("edge"), macs(&[]))]
            ),
            RouterMatch::NoMatch
        );
    }
}
