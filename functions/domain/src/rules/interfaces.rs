use crate::config::ROLE_TAG_KEY;
use crate::findings::{Finding, FindingCode};
use crate::snapshot::{Role, RouterSnapshot};

/// Interface roles (guide: "Network Interfaces Layout" and "Interface Tagging"): every ENI tagged
/// `SSR-ROLE` = `WAN`/`LAN`; exactly one WAN, on device index 0 (ge-0-0, Public); at least one LAN.
pub(super) fn check(s: &RouterSnapshot) -> Vec<Finding> {
    let mut out = Vec::new();
    for i in &s.interfaces {
        let suggested = if i.device_index == Some(0) {
            "WAN"
        } else {
            "LAN"
        };
        let tag_cmd = format!(
            "aws ec2 create-tags --resources {} --tags Key={ROLE_TAG_KEY},Value={suggested}",
            i.eni_id
        );
        match (i.role_tag(), i.role()) {
            (None, _) => out.push(Finding::new(
                FindingCode::EniRoleTagMissing,
                &i.eni_id,
                format!(
                    "Interface {} (device {}) has no {ROLE_TAG_KEY} tag; the router cannot tell whether it is WAN or LAN.",
                    i.eni_id,
                    i.device_index.map_or("?".into(), |d| d.to_string())
                ),
                format!("Tag it (device 0 is the guide's Public/WAN, device 1 Private/LAN): {tag_cmd}"),
            )),
            (Some(v), None) => out.push(Finding::new(
                FindingCode::EniRoleTagInvalid,
                &i.eni_id,
                format!("Interface {} has {ROLE_TAG_KEY}=\"{v}\"; only WAN or LAN (upper case) are valid.", i.eni_id),
                format!("Fix the tag: {tag_cmd}"),
            )),
            _ => {}
        }
    }
    let wans: Vec<_> = s
        .interfaces
        .iter()
        .filter(|i| i.role() == Some(Role::Wan))
        .collect();
    let has_lan = s.interfaces.iter().any(|i| i.role() == Some(Role::Lan));
    let id = &s.instance_id;
    match wans.as_slice() {
        [] => out.push(Finding::new(
            FindingCode::NoWanInterface,
            id,
            "No interface is tagged SSR-ROLE=WAN; the router needs a WAN interface with a path to the Mist cloud to onboard.",
            "Tag the public-subnet interface (device index 0) with SSR-ROLE=WAN.",
        )),
        [wan] if wan.device_index != Some(0) => out.push(Finding::new(
            FindingCode::WanNotDevice0,
            &wan.eni_id,
            format!(
                "The WAN interface {} is on device index {}, not 0; the guide attaches Public (ge-0-0) first.",
                wan.eni_id,
                wan.device_index.map_or("?".into(), |d| d.to_string())
            ),
            "Attach the public-subnet interface as device index 0 and the private one as 1, or check the Mist interface mapping (ge-0/0/0 = device 0).",
        )),
        [_] => {}
        many => out.push(Finding::new(
            FindingCode::MultipleWanInterfaces,
            id,
            format!(
                "{} interfaces are tagged SSR-ROLE=WAN ({}); the guide's layout has exactly one.",
                many.len(),
                many.iter().map(|i| i.eni_id.as_str()).collect::<Vec<_>>().join(", ")
            ),
            "Keep SSR-ROLE=WAN on the public-subnet interface only and tag the others LAN.",
        )),
    }
    if !has_lan {
        out.push(Finding::new(
            FindingCode::NoLanInterface,
            id,
            "No interface is tagged SSR-ROLE=LAN; the guide's router has a private-subnet interface (ge-0-1) for internal workloads.",
            "Attach an interface in the private subnet as device index 1 and tag it SSR-ROLE=LAN.",
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::codes;
    use crate::snapshot::fixture::{eni, good_router};

    /// (name, ENIs as (id, device index, SSR-ROLE), expected codes)
    type Case<'a> = (&'a str, Vec<(&'a str, i32, Option<&'a str>)>, Vec<&'a str>);

    #[test]
    fn interface_table() {
        let cases: Vec<Case> = vec![
            (
                "guide layout",
                vec![("a", 0, Some("WAN")), ("b", 1, Some("LAN"))],
                vec![],
            ),
            (
                "lan tag missing",
                vec![("a", 0, Some("WAN")), ("b", 1, None)],
                vec!["ENI_ROLE_TAG_MISSING", "NO_LAN_INTERFACE"],
            ),
            (
                "lower case",
                vec![("a", 0, Some("wan")), ("b", 1, Some("LAN"))],
                vec!["ENI_ROLE_TAG_INVALID", "NO_WAN_INTERFACE"],
            ),
            (
                "swapped",
                vec![("a", 0, Some("LAN")), ("b", 1, Some("WAN"))],
                vec!["WAN_NOT_DEVICE_0"],
            ),
            (
                "two wans",
                vec![("a", 0, Some("WAN")), ("b", 1, Some("WAN"))],
                vec!["MULTIPLE_WAN_INTERFACES", "NO_LAN_INTERFACE"],
            ),
            (
                "untagged",
                vec![("a", 0, None), ("b", 1, None)],
                vec![
                    "ENI_ROLE_TAG_MISSING",
                    "ENI_ROLE_TAG_MISSING",
                    "NO_WAN_INTERFACE",
                    "NO_LAN_INTERFACE",
                ],
            ),
        ];
        for (name, enis, want) in cases {
            let mut s = good_router();
            s.interfaces = enis.into_iter().map(|(id, ix, r)| eni(id, ix, r)).collect();
            assert_eq!(codes(&check(&s)), want, "{name}");
        }
    }

    #[test]
    fn when_lan_tag_missing_then_remediation_is_the_exact_create_tags_command() {
        let mut s = good_router();
        s.interfaces[1] = eni("eni-lan", 1, None);
        let f = check(&s);
        assert_eq!(
            f[0].remediation,
            "Tag it (device 0 is the guide's Public/WAN, device 1 Private/LAN): aws ec2 create-tags --resources eni-lan --tags Key=SSR-ROLE,Value=LAN"
        );
    }
}
