//! infra/template.yaml (and member.yaml, ssr-router.yaml) as YAML, for the tests that hold them
//! to the code (event rules, IAM, parameters).
//!
//! CloudFormation short tags (!Ref, !Sub, !GetAtt, !If…) are local tags: the loader drops the
//! tag and keeps the tagged value (`!Ref X` → `"X"`, `!If [c, a, b]` → `[c, a, b]`), and the rest
//! of the document parses.
#![allow(dead_code)]

use yaml_rust2::{Yaml, YamlLoader};

pub const TEMPLATE: &str = include_str!("../../../../infra/template.yaml");
/// infra/member.yaml: a member account's forwarding rules and the role the hub assumes.
pub const MEMBER: &str = include_str!("../../../../infra/member.yaml");
/// infra/ssr-router.yaml: the example router stack.
pub const ROUTER_STACK: &str = include_str!("../../../../infra/ssr-router.yaml");

/// The template's document.
pub fn load() -> Yaml {
    load_str(TEMPLATE)
}

/// A template given as text (tests that edit it).
pub fn load_str(text: &str) -> Yaml {
    let mut docs = YamlLoader::load_from_str(text).expect("template.yaml parses as YAML");
    docs.swap_remove(0)
}

/// The strings of a YAML list (others skipped).
pub fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
