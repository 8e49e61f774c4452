//! The one rule that names a router, in every alert, log line and report.

use std::collections::BTreeMap;

use crate::select::STACK_NAME_TAG;

/// The name a person (and Mist) knows the router by: the `name` of its onboarding config, else its
/// `Name` tag, else its CloudFormation stack name, else its instance id. Blank values are skipped.
pub fn router_label<'a>(
    onboarding_name: Option<&'a str>,
    tags: &'a BTreeMap<String, String>,
    instance_id: &'a str,
) -> &'a str {
    mist_name(onboarding_name, tags).unwrap_or(instance_id)
}

/// [`router_label`] without the instance-id fallback: the name to look the router up by in Mist.
pub fn mist_name<'a>(
    onboarding_name: Option<&'a str>,
    tags: &'a BTreeMap<String, String>,
) -> Option<&'a str> {
    let non_blank = |s: &&str| !s.trim().is_empty();
    onboarding_name
        .filter(non_blank)
        .or_else(|| tags.get("Name").map(String::as_str).filter(non_blank))
        .or_else(|| {
            tags.get(STACK_NAME_TAG)
                .map(String::as_str)
                .filter(non_blank)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_names_are_missing_then_label_falls_back_in_order() {
        let mut tags = BTreeMap::new();
        assert_eq!(router_label(None, &tags, "i-1"), "i-1");
        tags.insert(STACK_NAME_TAG.to_string(), "SSR-1-Router".to_string());
        assert_eq!(router_label(None, &tags, "i-1"), "SSR-1-Router");
        tags.insert("Name".to_string(), "  ".to_string());
        assert_eq!(router_label(None, &tags, "i-1"), "SSR-1-Router");
        tags.insert("Name".to_string(), "branch".to_string());
        assert_eq!(router_label(None, &tags, "i-1"), "branch");
        assert_eq!(router_label(Some("ssr-a"), &tags, "i-1"), "ssr-a");
        assert_eq!(router_label(Some(""), &tags, "i-1"), "branch");
    }
}
