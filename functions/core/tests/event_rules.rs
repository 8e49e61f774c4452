//! The EventBridge rules in infra/template.yaml (the default bus's and the hub bus's) and in
//! infra/member.yaml (forwarding to the hub) deliver exactly the events the code acts on: the
//! lists live once in the code (`InstanceState::GUARDED`, `WATCHED_RESOURCE_TYPES`,
//! `WATCHED_RESOURCE_STATUSES`, `STACK_COMPLETE_STATUSES`, `STACK_FAILURE_STATUSES`,
//! `DRIFT_EVENT_NAMES`).

use std::collections::BTreeSet;

use ssr_core::drift::{CLOUDTRAIL_DETAIL_TYPE, DRIFT_EVENT_NAMES, EC2_EVENT_SOURCE};
use ssr_core::handlers::guard::{EC2_DETAIL_TYPE, EC2_SOURCE};
use ssr_core::handlers::stack_watch::events::{
    STACK_COMPLETE_STATUSES, STACK_FAILURE_STATUSES, WATCHED_RESOURCE_STATUSES,
    WATCHED_RESOURCE_TYPES,
};
use ssr_core::instance_state::InstanceState;
use template::strings;
use yaml_rust2::Yaml;

use crate::template;

const MEMBER: &str = include_str!("../../../infra/member.yaml");

fn resources(text: &str) -> yaml_rust2::yaml::Hash {
    template::load_str(text)["Resources"]
        .as_hash()
        .expect("Resources")
        .clone()
}

/// Every EventBridge rule pattern in both templates (SAM `EventBridgeRule` events and plain
/// `AWS::Events::Rule` resources), by detail-type.
fn patterns() -> Vec<(String, Yaml)> {
    [template::TEMPLATE, MEMBER]
        .into_iter()
        .flat_map(patterns_of)
        .collect()
}

fn patterns_of(text: &str) -> Vec<(String, Yaml)> {
    let resources = resources(text);
    let mut out = Vec::new();
    for (_, res) in &resources {
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

/// The one pattern every rule for `detail_type` uses: the default bus's rule, the hub bus's and
/// the member template's forwarding rule must be the same pattern.
fn pattern(detail_type: &str) -> Yaml {
    let all = patterns();
    let matching: Vec<&Yaml> = all
        .iter()
        .filter(|(dt, _)| dt == detail_type)
        .map(|(_, p)| p)
        .collect();
    let first = matching
        .first()
        .unwrap_or_else(|| panic!("no EventBridge rule for {detail_type}"));
    assert_eq!(
        matching.len(),
        3,
        "{detail_type}: a default-bus rule, a hub-bus rule and a member forwarding rule"
    );
    for p in &matching {
        assert_eq!(p, first, "every {detail_type} rule has the same pattern");
    }
    (*first).clone()
}

#[test]
fn when_the_hub_bus_exists_then_only_the_organization_or_the_listed_accounts_may_put_events() {
    let hub = resources(template::TEMPLATE);
    let res = |name: &str| hub[&Yaml::String(name.into())].clone();
    let org = res("HubEventBusOrganizationPolicy");
    assert_eq!(org["Condition"].as_str(), Some("HasHubOrganization"));
    assert_eq!(
        org["Properties"]["Statement"]["Action"].as_str(),
        Some("events:PutEvents")
    );
    assert!(
        !org["Properties"]["Statement"]["Condition"]["StringEquals"]["aws:PrincipalOrgID"]
            .is_badvalue(),
        "the organization policy is held to aws:PrincipalOrgID"
    );
    let accounts = res("HubEventBusAccountsPolicy");
    assert_eq!(accounts["Condition"].as_str(), Some("HasHubMemberAccounts"));
    assert!(!accounts["Properties"]["Statement"]["Principal"]["AWS"].is_badvalue());
    for name in [
        "HubEventBus",
        "HubEc2StateChangeRule",
        "HubEc2ApiCallRule",
        "HubEc2ApiCallPermission",
        "HubResourceStatusChangeRule",
        "HubStackStatusChangeRule",
        "MemberAssumePolicy",
    ] {
        assert_eq!(res(name)["Condition"].as_str(), Some("IsHub"), "{name}");
    }
}

#[test]
fn when_a_member_rule_forwards_then_it_targets_the_hub_bus_through_the_forward_role() {
    let member = resources(MEMBER);
    let mut rules = 0;
    for (_, res) in &member {
        if res["Type"].as_str() != Some("AWS::Events::Rule") {
            continue;
        }
        rules += 1;
        let targets = res["Properties"]["Targets"].as_vec().expect("Targets");
        assert_eq!(targets.len(), 1);
        // !Sub arn:…:events:${HubRegion}:${HubAccountId}:event-bus/${HubEventBusName}
        let arn = format!("{:?}", targets[0]["Arn"]);
        assert!(arn.contains(":event-bus/${HubEventBusName}"), "{arn}");
        assert!(
            !targets[0]["RoleArn"].is_badvalue(),
            "cross-account needs a role"
        );
    }
    assert_eq!(rules, 4);
}

#[test]
fn when_the_template_has_short_tags_then_it_still_parses_and_has_the_three_rules() {
    let dts: BTreeSet<String> = patterns().into_iter().map(|(dt, _)| dt).collect();
    for dt in [
        EC2_DETAIL_TYPE,
        CLOUDTRAIL_DETAIL_TYPE,
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
        set(&InstanceState::names(&InstanceState::GUARDED))
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

#[test]
fn when_drift_rule_is_read_then_it_delivers_exactly_the_drift_calls_that_succeeded() {
    let p = pattern(CLOUDTRAIL_DETAIL_TYPE);
    assert_eq!(strings(&p["source"]), [EC2_SOURCE]);
    assert_eq!(strings(&p["detail"]["eventSource"]), [EC2_EVENT_SOURCE]);
    assert_eq!(
        strings(&p["detail"]["eventName"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&DRIFT_EVENT_NAMES)
    );
    let error_code = p["detail"]["errorCode"].as_vec().expect("errorCode");
    assert_eq!(error_code.len(), 1);
    assert_eq!(error_code[0]["exists"].as_bool(), Some(false));
}

/// EventBridge's matching, for the pattern features the templates use: a list of strings
/// (one must equal the event's value), `{exists: bool}`, and nested objects.
fn matches(pattern: &Yaml, event: &serde_json::Value) -> bool {
    let Some(fields) = pattern.as_hash() else {
        return false;
    };
    fields.iter().all(|(k, want)| {
        let key = k.as_str().expect("pattern keys are strings");
        let got = event.get(key);
        match want {
            Yaml::Array(options) => options.iter().any(|o| match o {
                Yaml::Hash(_) => match o["exists"].as_bool() {
                    Some(true) => got.is_some(),
                    Some(false) => got.is_none(),
                    None => panic!("unsupported pattern element {o:?}"),
                },
                other => got.and_then(|g| g.as_str()) == other.as_str(),
            }),
            Yaml::Hash(_) => got.is_some_and(|g| matches(want, g)),
            other => panic!("unsupported pattern value {other:?}"),
        }
    })
}

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/../../tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn when_a_drift_call_failed_then_no_rule_delivers_it() {
    let ok = fixture("cloudtrail-modify-network-interface-attribute.json");
    let failed = fixture("cloudtrail-modify-network-interface-attribute-failed.json");
    assert!(failed["detail"]["errorCode"].is_string());
    for (dt, p) in patterns() {
        if dt != CLOUDTRAIL_DETAIL_TYPE {
            assert!(
                !matches(&p, &ok),
                "{dt} rule must not take CloudTrail events"
            );
            continue;
        }
        assert!(matches(&p, &ok), "the successful call is delivered");
        assert!(!matches(&p, &failed), "a failed call is never delivered");
        let mut other = ok.clone();
        other["detail"]["eventName"] = "DescribeInstances".into();
        assert!(
            !matches(&p, &other),
            "calls outside the list are not delivered"
        );
    }
}

#[test]
fn when_every_drift_fixture_is_read_then_the_rule_delivers_it() {
    let p = pattern(CLOUDTRAIL_DETAIL_TYPE);
    for name in [
        "cloudtrail-modify-network-interface-attribute.json",
        "cloudtrail-create-tags.json",
        "cloudtrail-modify-instance-attribute.json",
        "cloudtrail-modify-volume.json",
        "cloudtrail-associate-address.json",
    ] {
        let ev = fixture(name);
        assert!(matches(&p, &ev), "{name}");
        let call =
            ssr_core::drift::parse_call(&ev["detail"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!call.resources.is_empty(), "{name}");
        assert_eq!(call.error_code, None, "{name}");
    }
}
