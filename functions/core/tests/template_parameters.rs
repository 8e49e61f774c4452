//! The templates' parameters and rules say what their descriptions promise: the secret ARNs must
//! be complete (the IAM grants name them exactly), the `RouterStacks` example passes its own
//! pattern, the watchdog's and the webhook's reserved concurrency are off by default (a new
//! account's limit of 10 would make the stack fail), and the example router stack refuses
//! subnets from two VPCs or two Availability Zones before it creates anything.

use regex::Regex;
use yaml_rust2::Yaml;

use crate::cfn;
use crate::template;

const FULL_ARN: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ssr/mist-token-AbC123";
const PARTIAL_ARN: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ssr/mist-token";

fn parameter<'a>(doc: &'a Yaml, name: &str) -> &'a Yaml {
    let p = &doc["Parameters"][name];
    assert!(p.as_hash().is_some(), "parameter {name} exists");
    p
}

/// The parameter's `AllowedPattern`, compiled (CloudFormation matches the whole value; these
/// patterns are anchored).
fn allowed_pattern(doc: &Yaml, name: &str) -> Regex {
    let pattern = parameter(doc, name)["AllowedPattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has an AllowedPattern"));
    Regex::new(pattern).unwrap_or_else(|e| panic!("{name}'s AllowedPattern compiles: {e}"))
}

#[test]
fn when_a_secret_arn_parameter_is_given_then_only_the_complete_arn_with_its_suffix_is_allowed() {
    let doc = template::load();
    for name in ["MistTokenSecretArn", "MistWebhookSecretArn"] {
        let pattern = allowed_pattern(&doc, name);
        assert!(pattern.is_match(FULL_ARN), "{name} accepts {FULL_ARN}");
        assert!(pattern.is_match(""), "{name} may be left empty");
        assert!(
            !pattern.is_match(PARTIAL_ARN),
            "{name} rejects the partial ARN {PARTIAL_ARN}: the IAM grant would match no secret"
        );
    }
}

/// The example a description gives in double quotes after "e.g.".
fn quoted_example(description: &str) -> Option<&str> {
    let after = description.split_once("e.g.")?.1;
    let start = after.find('"')? + 1;
    let len = after[start..].find('"')?;
    Some(&after[start..start + len])
}

#[test]
fn when_the_router_stacks_description_gives_an_example_then_its_own_pattern_accepts_it() {
    let doc = template::load();
    let description = parameter(&doc, "RouterStacks")["Description"]
        .as_str()
        .expect("RouterStacks has a Description");
    let example = quoted_example(description)
        .unwrap_or_else(|| panic!("an e.g. \"...\" example in: {description}"));
    assert!(!example.is_empty());
    assert!(
        allowed_pattern(&doc, "RouterStacks").is_match(example),
        "RouterStacks' AllowedPattern rejects its own example `{example}`"
    );
}

#[test]
fn when_the_stack_is_deployed_with_defaults_then_the_watchdog_reserves_no_concurrency() {
    let doc = template::load();
    let p = parameter(&doc, "ReserveWatchdogConcurrency");
    assert_eq!(p["Default"].as_str(), Some("false"));
}

/// mist-webhook's `ReservedConcurrentExecutions` when deployed with `concurrency` (`None`: the
/// default); `None` when the property is absent.
fn webhook_reservation(concurrency: Option<&str>) -> Option<String> {
    let mut parameters = vec![("MistWebhookSecretArn", FULL_ARN)];
    if let Some(n) = concurrency {
        parameters.push(("MistWebhookConcurrency", n));
    }
    let stack = cfn::Stack::new(
        cfn::TEMPLATE,
        "ssr-onboard",
        "111122223333",
        "eu-west-1",
        &parameters,
    );
    let function = stack
        .resource("MistWebhookFunction")
        .expect("the webhook exists with its secret");
    let reserved = &function["Properties"]["ReservedConcurrentExecutions"];
    (!reserved.is_badvalue()).then(|| cfn::json(reserved).as_str().expect("a value").to_string())
}

#[test]
fn when_the_webhook_is_deployed_with_defaults_then_it_reserves_no_concurrency() {
    assert_eq!(webhook_reservation(None), None);
    assert_eq!(webhook_reservation(Some("0")), None);
}

#[test]
fn when_a_webhook_concurrency_of_1_to_20_is_chosen_then_exactly_that_is_reserved() {
    let doc = template::load();
    let allowed = template::strings(&parameter(&doc, "MistWebhookConcurrency")["AllowedValues"]);
    let expected: Vec<String> = (0..=20).map(|n| n.to_string()).collect();
    assert_eq!(allowed, expected);
    for n in 1..=20 {
        let n = n.to_string();
        assert_eq!(webhook_reservation(Some(&n)), Some(n));
    }
}

/// The `Fn::EachMemberEquals` assertions of the template's `Rules`, as (attribute read of every
/// `AWS::EC2::Subnet::Id` parameter, what it must equal).
fn each_member_equals(doc: &Yaml) -> Vec<(String, Yaml)> {
    let rules = doc["Rules"].as_hash().expect("a Rules section");
    let mut out = Vec::new();
    for (_, rule) in rules {
        for assertion in rule["Assertions"].as_vec().into_iter().flatten() {
            let Some(args) = assertion["Assert"]["Fn::EachMemberEquals"].as_vec() else {
                continue;
            };
            let Some([of, attribute]) = args
                .first()
                .and_then(|a| a["Fn::ValueOfAll"].as_vec())
                .map(Vec::as_slice)
            else {
                continue;
            };
            if of.as_str() == Some("AWS::EC2::Subnet::Id") {
                if let (Some(attribute), Some(expected)) = (attribute.as_str(), args.get(1)) {
                    out.push((attribute.to_string(), expected.clone()));
                }
            }
        }
    }
    out
}

#[test]
fn when_the_router_stack_is_created_then_its_rules_require_both_subnets_in_one_vpc_and_zone() {
    let doc = template::load_str(template::ROUTER_STACK);
    // Fn::ValueOfAll reads every parameter of the type: both subnets must be of it.
    for subnet in ["PublicSubnet", "PrivateSubnet"] {
        assert_eq!(
            parameter(&doc, subnet)["Type"].as_str(),
            Some("AWS::EC2::Subnet::Id"),
            "{subnet}"
        );
    }
    let asserted = each_member_equals(&doc);
    let vpc = asserted
        .iter()
        .find(|(attribute, _)| attribute == "VpcId")
        .unwrap_or_else(|| panic!("no rule on the subnets' VpcId: {asserted:?}"));
    // `!Ref VpcId` loads as "VpcId": the subnets' VPC is the VpcId parameter.
    assert_eq!(vpc.1.as_str(), Some("VpcId"));
    let zone = asserted
        .iter()
        .find(|(attribute, _)| attribute == "AvailabilityZone")
        .unwrap_or_else(|| panic!("no rule on the subnets' AvailabilityZone: {asserted:?}"));
    // One of the subnets' own zone: every subnet is in that one zone.
    let expected = zone.1["Fn::ValueOf"].as_vec().map(Vec::as_slice);
    assert!(
        matches!(expected, Some([subnet, attribute])
            if ["PublicSubnet", "PrivateSubnet"].contains(&subnet.as_str().unwrap_or_default())
                && attribute.as_str() == Some("AvailabilityZone")),
        "the zone rule compares with a subnet's own AvailabilityZone: {:?}",
        zone.1
    );
}
