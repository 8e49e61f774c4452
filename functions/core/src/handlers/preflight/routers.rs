//! Which routers the preflight checks: one per selection path it finds (the router tag, an
//! interface's `SSR-ROLE` tag, a `ROUTER_STACKS` stack name), since each path has its own write
//! grant (RouterInstanceWriteByTagPolicy, RouterEniWritePolicy, RouterInstanceWriteByStackPolicy).
//! Pure: instances and their interfaces in, picks out.

use std::collections::{BTreeMap, HashMap};

use crate::config::{Config, ROLE_TAG_KEY};
use crate::select::{Control, STACK_NAME_TAG};
use crate::snapshot::{InstanceFacts, Interface};

/// How an instance comes to be a router (`select::select`'s three reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    /// The instance has the router tag (`ROUTER_TAG_KEY`).
    RouterTag,
    /// One of its interfaces has the `SSR-ROLE` tag.
    EniTag,
    /// Its CloudFormation stack name matches `ROUTER_STACKS`.
    StackName,
}

impl Path {
    pub const ALL: [Path; 3] = [Path::RouterTag, Path::EniTag, Path::StackName];

    /// The check-name suffix.
    pub fn slug(self) -> &'static str {
        match self {
            Path::RouterTag => "router-tag",
            Path::EniTag => "eni-tag",
            Path::StackName => "stack-name",
        }
    }

    /// For a person: which routers this path selects.
    pub fn describe(self, config: &Config) -> String {
        match self {
            Path::RouterTag => format!("instances tagged {}", config.router_tag_key),
            Path::EniTag => format!("instances with an interface tagged {ROLE_TAG_KEY}"),
            Path::StackName => {
                if config.router_stacks.is_empty() {
                    "stacks matching ROUTER_STACKS (empty)".to_string()
                } else {
                    let patterns: Vec<&str> =
                        config.router_stacks.iter().map(|p| p.as_str()).collect();
                    format!("instances of stacks matching {}", patterns.join(","))
                }
            }
        }
    }

    /// Does this path select `facts` (with `interfaces`)?
    pub fn selects(
        self,
        config: &Config,
        tags: &BTreeMap<String, String>,
        interfaces: &[Interface],
    ) -> bool {
        match self {
            Path::RouterTag => tags.contains_key(&config.router_tag_key),
            Path::EniTag => interfaces.iter().any(|i| i.tags.contains_key(ROLE_TAG_KEY)),
            Path::StackName => tags
                .get(STACK_NAME_TAG)
                .is_some_and(|s| config.stack_matches(s).is_some()),
        }
    }
}

/// The router chosen for one path, or none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    pub path: Path,
    /// The lowest instance id the path selects (never one tagged `SSR-ONBOARD=ignore`, which
    /// is never written to).
    pub instance_id: Option<String>,
}

/// One pick per path, in [`Path::ALL`] order.
pub fn pick(
    config: &Config,
    instances: &[InstanceFacts],
    interfaces: &HashMap<String, Vec<Interface>>,
) -> Vec<Pick> {
    let mut sorted: Vec<&InstanceFacts> = instances
        .iter()
        .filter(|i| Control::of(&i.tags) != Control::Ignore)
        .collect();
    sorted.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    let none = Vec::new();
    Path::ALL
        .iter()
        .map(|&path| Pick {
            path,
            instance_id: sorted
                .iter()
                .find(|i| {
                    let enis = interfaces.get(&i.instance_id).unwrap_or(&none);
                    path.selects(config, &i.tags, enis)
                })
                .map(|i| i.instance_id.clone()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        Config::from_vars(|k| (k == "ROUTER_STACKS").then(|| "ssr-*".to_string()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn instance(id: &str, tags: &[(&str, &str)]) -> InstanceFacts {
        InstanceFacts {
            instance_id: id.into(),
            state: "running".into(),
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            instance_type: None,
            launch_time: None,
            iam_instance_profile_arn: None,
            ena_support: None,
            vpc_id: None,
            key_name: None,
            root_device_name: None,
            root_volume_id: None,
        }
    }

    fn eni(id: &str, role: Option<&str>) -> Interface {
        Interface {
            eni_id: id.into(),
            device_index: Some(0),
            subnet_id: None,
            private_ip: None,
            public_ip: None,
            mac_address: None,
            source_dest_check: Some(true),
            tags: role
                .map(|r| BTreeMap::from([(ROLE_TAG_KEY.to_string(), r.to_string())]))
                .unwrap_or_default(),
        }
    }

    #[test]
    fn when_each_path_has_routers_then_the_lowest_id_of_each_is_picked() {
        let config = cfg();
        let instances = vec![
            instance("i-0000000000000000c", &[("SSR-ROUTER", "")]),
            instance("i-0000000000000000b", &[("SSR-ROUTER", "")]),
            instance("i-0000000000000000d", &[(STACK_NAME_TAG, "ssr-branch")]),
            instance("i-0000000000000000e", &[]),
            instance("i-0000000000000000f", &[(STACK_NAME_TAG, "web-app")]),
        ];
        let enis = HashMap::from([
            (
                "i-0000000000000000e".to_string(),
                vec![eni("eni-e", Some("WAN"))],
            ),
            ("i-0000000000000000f".to_string(), vec![eni("eni-f", None)]),
        ]);
        let picks = pick(&config, &instances, &enis);
        let ids: Vec<(Path, Option<&str>)> = picks
            .iter()
            .map(|p| (p.path, p.instance_id.as_deref()))
            .collect();
        assert_eq!(
            ids,
            vec![
                (Path::RouterTag, Some("i-0000000000000000b")),
                (Path::EniTag, Some("i-0000000000000000e")),
                (Path::StackName, Some("i-0000000000000000d")),
            ]
        );
    }

    #[test]
    fn when_a_path_selects_nothing_or_only_ignored_routers_then_its_pick_is_none() {
        let config = cfg();
        let instances = vec![instance(
            "i-0000000000000000a",
            &[("SSR-ROUTER", ""), ("SSR-ONBOARD", "ignore")],
        )];
        let picks = pick(&config, &instances, &HashMap::new());
        assert!(picks.iter().all(|p| p.instance_id.is_none()), "{picks:?}");
        assert_eq!(picks.len(), 3);
    }
}
