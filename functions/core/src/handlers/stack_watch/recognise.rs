//! Is a stack a router stack? Pure rules, cheapest first: the `ROUTER_STACKS` globs on its name
//! (no AWS call), else what one DescribeStacks shows: the router tag on the stack, or the vendor
//! template's parameters.

use serde::Serialize;

use crate::aws::cloudformation::StackInfo;
use crate::config::Config;

/// Is this a router stack, and why (or why not).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recognition {
    pub router: bool,
    pub reason: String,
}

fn normalise(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The vendor template's parameters, matched case-insensitively and ignoring `_`/`-`: a
/// registration-code parameter (key containing `registration` or `regcode`: `RegistrationCode`,
/// `Registration_Code`, `MistRegCode`) and an SSR-version parameter (key containing `ssrversion`,
/// or exactly `Version`: `SSRVersion`, `SsrVersion`, `ssr-version`). Returns the two keys.
pub fn vendor_parameters<'a>(keys: &[&'a str]) -> Option<(&'a str, &'a str)> {
    let reg = keys.iter().copied().find(|k| {
        let n = normalise(k);
        n.contains("registration") || n.contains("regcode")
    })?;
    let ver = keys.iter().copied().find(|k| {
        let n = normalise(k);
        n.contains("ssrversion") || n == "version"
    })?;
    Some((reg, ver))
}

/// Recognition by name alone (no AWS call): the `ROUTER_STACKS` globs.
pub fn recognise_by_name(config: &Config, stack_name: &str) -> Option<Recognition> {
    config.stack_matches(stack_name).map(|p| Recognition {
        router: true,
        reason: format!(
            "stack name {stack_name} matches ROUTER_STACKS pattern `{}`",
            p.as_str()
        ),
    })
}

/// Recognition from DescribeStacks: name, router tag, or the vendor template's parameters.
pub fn recognise_described(config: &Config, stack: &StackInfo) -> Recognition {
    if let Some(r) = recognise_by_name(config, &stack.stack_name) {
        return r;
    }
    if stack.tags.contains_key(&config.router_tag_key) {
        return Recognition {
            router: true,
            reason: format!("stack has the {} tag", config.router_tag_key),
        };
    }
    let keys: Vec<&str> = stack.parameters.iter().map(|p| p.key.as_str()).collect();
    if let Some((reg, ver)) = vendor_parameters(&keys) {
        return Recognition {
            router: true,
            reason: format!("stack has the vendor template's parameters {reg} and {ver}"),
        };
    }
    Recognition {
        router: false,
        reason: format!(
            "not a router stack: name matches no ROUTER_STACKS pattern, no {} tag on the stack, \
             no registration-code and SSR-version parameters",
            config.router_tag_key
        ),
    }
}
