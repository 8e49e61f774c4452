//! Is this instance a managed router? Pure: instance tags and ENI tags in, a reasoned verdict out.
//! Nothing is ever written to an instance this says no to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, ROLE_TAG_KEY};

pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub selected: bool,
    pub reason: String,
}

/// `eni_tags`: `(eni_id, tags)` for every attached interface.
pub fn select<'a>(
    config: &Config,
    instance_tags: &BTreeMap<String, String>,
    eni_tags: impl IntoIterator<Item = (&'a str, &'a BTreeMap<String, String>)>,
) -> Selection {
    if instance_tags.contains_key(&config.router_tag_key) {
        return Selection {
            selected: true,
            reason: format!("instance has the {} tag", config.router_tag_key),
        };
    }
    if let Some((eni, _)) = eni_tags
        .into_iter()
        .find(|(_, t)| t.contains_key(ROLE_TAG_KEY))
    {
        return Selection {
            selected: true,
            reason: format!("interface {eni} has the {ROLE_TAG_KEY} tag"),
        };
    }
    if let Some(stack) = instance_tags.get(STACK_NAME_TAG) {
        if let Some(p) = config.stack_matches(stack) {
            return Selection {
                selected: true,
                reason: format!(
                    "stack {stack} matches ROUTER_STACKS pattern `{}`",
                    p.as_str()
                ),
            };
        }
    }
    Selection {
        selected: false,
        reason: format!(
            "not a managed router: no {} tag, no {ROLE_TAG_KEY} tag on any interface{}",
            config.router_tag_key,
            if config.router_stacks.is_empty() {
                ", ROUTER_STACKS is empty".to_string()
            } else {
                match instance_tags.get(STACK_NAME_TAG) {
                    Some(s) => format!(", stack {s} matches no ROUTER_STACKS pattern"),
                    None => ", not created by a CloudFormation stack".to_string(),
                }
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cfg(stacks: &str) -> Config {
        Config::from_vars(|k| (k == "ROUTER_STACKS").then(|| stacks.to_string())).unwrap()
    }

    /// (name, instance tags, ENI tags, ROUTER_STACKS, selected?)
    type Case<'a> = (
        &'a str,
        BTreeMap<String, String>,
        Vec<(&'a str, &'a BTreeMap<String, String>)>,
        &'a str,
        bool,
    );

    #[test]
    fn selection_table() {
        let none = tags(&[]);
        let role = tags(&[("SSR-ROLE", "LAN")]);
        let cases: Vec<Case> = vec![
            ("router tag", tags(&[("SSR-ROUTER", "")]), vec![], "", true),
            (
                "eni role tag",
                tags(&[("Name", "x")]),
                vec![("eni-1", &none), ("eni-2", &role)],
                "",
                true,
            ),
            (
                "stack glob",
                tags(&[(STACK_NAME_TAG, "SSR_1_Router")]),
                vec![],
                "SSR_*",
                true,
            ),
            (
                "stack no match",
                tags(&[(STACK_NAME_TAG, "webapp")]),
                vec![],
                "SSR_*",
                false,
            ),
            (
                "plain instance",
                tags(&[("Name", "web")]),
                vec![("eni-1", &none)],
                "",
                false,
            ),
            (
                "stack without globs",
                tags(&[(STACK_NAME_TAG, "SSR_1")]),
                vec![],
                "",
                false,
            ),
        ];
        for (name, inst, enis, stacks, want) in cases {
            let s = select(&cfg(stacks), &inst, enis);
            assert_eq!(s.selected, want, "{name}: {s:?}");
            assert!(!s.reason.is_empty());
        }
    }

    #[test]
    fn when_router_tag_key_configured_then_that_key_selects() {
        let c = Config::from_vars(|k| (k == "ROUTER_TAG_KEY").then(|| "Role".to_string())).unwrap();
        assert!(select(&c, &tags(&[("Role", "ssr")]), []).selected);
        assert!(!select(&c, &tags(&[("SSR-ROUTER", "true")]), []).selected);
    }
}
