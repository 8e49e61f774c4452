//! The EventBridge rules in infra/template.yaml deliver exactly the events the code acts on: the
//! lists live once in the code (`GUARDED_STATES`, `WATCHED_RESOURCE_TYPES`,
//! `WATCHED_RESOURCE_STATUSES`, `STACK_COMPLETE_STATUSES`, `STACK_FAILURE_STATUSES`).

use std::collections::BTreeSet;

use ssr_core::handlers::guard::{EC2_DETAIL_TYPE, EC2_SOURCE, GUARDED_STATES};
use ssr_core::handlers::stack_watch::events::{
    STACK_COMPLETE_STATUSES, STACK_FAILURE_STATUSES, WATCHED_RESOURCE_STATUSES,
    WATCHED_RESOURCE_TYPES,
};
use template::strings;
use yaml_rust2::Yaml;

mod template;

/// Every EventBridge rule pattern in the template (SAM `EventBridgeRule` events and plain
/// `AWS::Events::Rule` resources), by detail-type.
fn patterns() -> Vec<(String, Yaml)> {
    let doc = template::load();
    let resources = doc["Resources"].as_hash().expect("Resources");
    let mut out = Vec::new();
    for (_, res) in resources {
        let mut found = Vec::new();
        if let Some(events) = res["Properties"]["Events"].as_hash() {
            for (_, ev) in events {
                if ev["Type"].as_str() == Some("EventBridgeRule") {
                    found.push(ev["Properties"]["Pattern"].clone());
                }
            }
        }
        if res["Type"].as_str() == Some("AWS::Events::Rule") {
            found.push(res["Properties"]["EventPattern"].clone());
        }
        for p in found {
            let dt = strings(&p["detail-type"])
                .into_iter()
                .next()
                .unwrap_or_default();
            out.push((dt, p));
        }
    }
    out
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn pattern(detail_type: &str) -> Yaml {
    let all = patterns();
    let mut matching = all.iter().filter(|(dt, _)| dt == detail_type);
    let (_, p) = matching
        .next()
        .unwrap_or_else(|| panic!("no EventBridge rule for {detail_type}"));
    assert!(matching.next().is_none(), "one rule for {detail_type}");
    p.clone()
}

#[test]
fn when_the_template_has_short_tags_then_it_still_parses_and_has_the_three_rules() {
    let dts: BTreeSet<String> = patterns().into_iter().map(|(dt, _)| dt).collect();
    for dt in [
        EC2_DETAIL_TYPE,
        "CloudFormation Resource Status Change",
        "CloudFormation Stack Status Change",
    ] {
        assert!(dts.contains(dt), "{dt} in {dts:?}");
    }
}

#[test]
fn when_ec2_rule_is_read_then_it_delivers_exactly_the_guarded_states() {
    let p = pattern(EC2_DETAIL_TYPE);
    assert_eq!(strings(&p["source"]), [EC2_SOURCE]);
    assert_eq!(
        strings(&p["detail"]["state"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(GUARDED_STATES)
    );
}

#[test]
fn when_resource_rule_is_read_then_it_delivers_exactly_the_watched_types_and_statuses() {
    let p = pattern("CloudFormation Resource Status Change");
    assert_eq!(strings(&p["source"]), ["aws.cloudformation"]);
    assert_eq!(
        strings(&p["detail"]["resource-type"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(WATCHED_RESOURCE_TYPES)
    );
    assert_eq!(
        strings(&p["detail"]["status-details"]["status"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(WATCHED_RESOURCE_STATUSES)
    );
}

#[test]
fn when_stack_rule_is_read_then_it_delivers_exactly_the_complete_and_failure_statuses() {
    let p = pattern("CloudFormation Stack Status Change");
    assert_eq!(strings(&p["source"]), ["aws.cloudformation"]);
    let want: BTreeSet<String> = set(STACK_COMPLETE_STATUSES)
        .into_iter()
        .chain(set(STACK_FAILURE_STATUSES))
        .collect();
    let got: BTreeSet<String> = strings(&p["detail"]["status-details"]["status"])
        .into_iter()
        .collect();
    assert_eq!(
        got,
        want,
        "missing from the rule: {:?}; not acted on by the code: {:?}",
        want.difference(&got).collect::<Vec<_>>(),
        got.difference(&want).collect::<Vec<_>>()
    );
}
