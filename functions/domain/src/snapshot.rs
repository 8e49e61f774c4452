//! [`RouterSnapshot`]: every fact the rules need about one instance, gathered with few describe
//! calls by the EC2 adapter ([`crate::aws::ec2`]). Plain data: the rules never call AWS.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::config::ROLE_TAG_KEY;
use crate::label::router_label;
use crate::onboarding_config::OnboardingStatus;

/// What DescribeInstances says about one instance: enough to select it, and the start of its
/// snapshot.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceFacts {
    pub instance_id: String,
    pub state: String,
    pub instance_type: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    pub iam_instance_profile_arn: Option<String>,
    /// DescribeInstances' `EnaSupport` (absent when off, on real EC2).
    pub ena_support: Option<bool>,
    pub vpc_id: Option<String>,
    pub key_name: Option<String>,
    pub root_device_name: Option<String>,
    pub root_volume_id: Option<String>,
}

/// Is `id` an EC2 instance id as AWS issues them: `i-` and 8 (older) or 17 lower-case hex digits?
pub fn is_instance_id(id: &str) -> bool {
    id.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The WAN interface of a router: the tagged WAN with the lowest device index (then ENI id),
/// else device index 0 (the guide's ge-0-0 Public). The same whatever order the interfaces are
/// listed in (with several tagged WANs, the first in the adapter's device-index order).
pub fn wan_interface_of(interfaces: &[Interface]) -> Option<&Interface> {
    interfaces
        .iter()
        .filter(|i| i.role() == Some(Role::Wan))
        .min_by_key(|i| (i.device_index.unwrap_or(i32::MAX), i.eni_id.as_str()))
        .or_else(|| interfaces.iter().find(|i| i.device_index == Some(0)))
}

#[derive(Clone, Debug, Serialize)]
pub struct RouterSnapshot {
    pub instance_id: String,
    /// EC2 state name as described (authoritative over the event's state).
    pub state: String,
    pub instance_type: Option<String>,
    pub launch_time: Option<DateTime<Utc>>,
    pub tags: BTreeMap<String, String>,
    pub iam_instance_profile_arn: Option<String>,
    pub ena: EnaStatus,
    pub vpc_id: Option<String>,
    pub key_name: Option<String>,
    pub root_volume: Option<RootVolume>,
    /// Network interfaces sorted by device index.
    pub interfaces: Vec<Interface>,
    /// Route facts for the WAN subnet (or the device-0 subnet when no WAN is tagged).
    pub wan_route: Option<RouteFacts>,
    /// The cloud-init onboarding configuration found in the user data (secret fields removed).
    pub onboarding: OnboardingStatus,
    /// Reads IAM denied: each is a fact the rules could not check (a `NOT_CHECKED` finding).
    pub not_checked: Vec<NotChecked>,
}

/// One read the caller's IAM policy denied (`UnauthorizedOperation`): the EC2 action, the
/// resource it was about, and what therefore was not checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotChecked {
    /// The EC2 API action without the `ec2:` prefix, e.g. `DescribeVolumes`.
    pub action: String,
    pub resource: String,
    /// What was not checked, e.g. "the root volume size".
    pub what: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EnaStatus {
    Enabled,
    Disabled,
    /// Neither DescribeInstances nor DescribeInstanceAttribute said (some emulators).
    Unknown,
    /// IAM denied DescribeInstanceAttribute enaSupport (reported in `not_checked`).
    NotChecked,
}

#[derive(Clone, Debug, Serialize)]
pub struct RootVolume {
    pub device_name: String,
    pub volume_id: Option<String>,
    pub size_gb: Option<i32>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Interface {
    pub eni_id: String,
    pub device_index: Option<i32>,
    pub subnet_id: Option<String>,
    pub private_ip: Option<String>,
    pub public_ip: Option<String>,
    pub mac_address: Option<String>,
    /// `None` when EC2 did not report it.
    pub source_dest_check: Option<bool>,
    pub tags: BTreeMap<String, String>,
}

impl Interface {
    /// The `SSR-ROLE` tag value as written (not normalised).
    pub fn role_tag(&self) -> Option<&str> {
        self.tags.get(ROLE_TAG_KEY).map(String::as_str)
    }

    /// The role the SSR will read from this interface, when the tag is valid.
    pub fn role(&self) -> Option<Role> {
        match self.role_tag()?.trim() {
            "WAN" => Some(Role::Wan),
            "LAN" => Some(Role::Lan),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Role {
    #[serde(rename = "WAN")]
    Wan,
    #[serde(rename = "LAN")]
    Lan,
}

#[derive(Clone, Debug, Serialize)]
pub struct RouteFacts {
    pub subnet_id: String,
    /// The route table that applies (explicit association, else the VPC's main table).
    pub route_table_id: Option<String>,
    /// Target of an active 0.0.0.0/0 route (`igw-…`, `nat-…`, `eni-…`), if any.
    pub default_route_target: Option<String>,
}

impl RouterSnapshot {
    pub fn name(&self) -> Option<&str> {
        self.tags.get("Name").map(String::as_str)
    }

    pub fn stack_name(&self) -> Option<&str> {
        self.tags
            .get("aws:cloudformation:stack-name")
            .map(String::as_str)
    }

    /// A human label ([`router_label`]: onboarding name, Name tag, stack name, instance id).
    pub fn label(&self) -> &str {
        router_label(
            self.onboarding.config().and_then(|c| c.name.as_deref()),
            &self.tags,
            &self.instance_id,
        )
    }

    /// The WAN interface: the first tagged WAN, else device index 0 (the guide's ge-0-0 Public).
    pub fn wan_interface(&self) -> Option<&Interface> {
        wan_interface_of(&self.interfaces)
    }
}

#[cfg(test)]
mod tests {
    use super::is_instance_id;

    #[test]
    fn when_an_id_is_not_i_and_8_or_17_lower_case_hex_then_it_is_not_an_instance_id() {
        for ok in ["i-abcd1111", "i-0123456789abcdef0"] {
            assert!(is_instance_id(ok), "{ok}");
        }
        for bad in [
            "",
            "i-",
            "i-abc",
            "i-ABCD1111",
            "i-0123456789ABCDEF0",
            "i-abcd11112",
            "i-0123456789abcdef",
            "i-0123456789abcdefg",
            "i-abcd1111 ",
            "vol-abcd1111",
            "i-abcd111\u{663}",
        ] {
            assert!(!is_instance_id(bad), "{bad:?}");
        }
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A snapshot of a router launched exactly like the guide; tests mutate one fact at a time.
    use super::*;
    use crate::onboarding_config::{OnboardingConfig, OnboardingStatus};

    pub fn eni(id: &str, index: i32, role: Option<&str>) -> Interface {
        let mut tags = BTreeMap::new();
        if let Some(r) = role {
            tags.insert(ROLE_TAG_KEY.to_string(), r.to_string());
        }
        Interface {
            eni_id: id.to_string(),
            device_index: Some(index),
            subnet_id: Some(format!("subnet-{index}")),
            private_ip: Some(format!("10.0.{}.10", index + 1)),
            public_ip: (index == 0).then(|| "203.0.113.10".to_string()),
            mac_address: Some(format!("0a:00:00:00:00:0{index}")),
            source_dest_check: Some(false),
            tags,
        }
    }

    pub fn good_router() -> RouterSnapshot {
        RouterSnapshot {
            instance_id: "i-0123456789abcdef0".into(),
            state: "running".into(),
            instance_type: Some("c5.xlarge".into()),
            launch_time: None,
            tags: BTreeMap::from([
                ("Name".to_string(), "SSR_1_Router".to_string()),
                ("SSR-ROUTER".to_string(), "true".to_string()),
            ]),
            iam_instance_profile_arn: Some(
                "arn:aws:iam::123456789012:instance-profile/ssr-router".into(),
            ),
            ena: EnaStatus::Enabled,
            vpc_id: Some("vpc-1".into()),
            key_name: Some("ops".into()),
            root_volume: Some(RootVolume {
                device_name: "/dev/xvda".into(),
                volume_id: Some("vol-1".into()),
                size_gb: Some(128),
            }),
            interfaces: vec![
                eni("eni-wan", 0, Some("WAN")),
                eni("eni-lan", 1, Some("LAN")),
            ],
            wan_route: Some(RouteFacts {
                subnet_id: "subnet-0".into(),
                route_table_id: Some("rtb-1".into()),
                default_route_target: Some("igw-1".into()),
            }),
            onboarding: OnboardingStatus::Parsed {
                config: OnboardingConfig {
                    name: Some("SSR_1_Router".into()),
                    ssr_version: Some("6.3.0".into()),
                    mode: Some("mist-managed".into()),
                    cloud_provider: Some("aws".into()),
                    registration_code_present: true,
                },
                problems: vec![],
            },
            not_checked: vec![],
        }
    }
}
