//! The kill switch (`Enabled`) as CloudFormation evaluates the template: false disables every
//! EventBridge rule (the functions' own and the hub bus's) and the watchdog's schedule, and
//! tells the functions (`ENABLED`), whose custom resource and webhook then answer without acting
//! (their tests are with the handlers). Nothing is deleted: the stack and its state stay.

use cfn::Stack;
use yaml_rust2::Yaml;

use crate::cfn;

/// The hub with a hub bus and the webhook, so every rule the template can create exists.
fn hub(enabled: &str) -> Stack {
    Stack::new(
        cfn::TEMPLATE,
        "ssr-onboard",
        "111122223333",
        "eu-west-1",
        &[
            ("Enabled", enabled),
            ("HubEventBusName", "ssr-onboard-hub"),
            ("HubOrganizationId", "o-abcdefghij"),
            (
                "MistWebhookSecretArn",
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ssr/mist-webhook-AbC123",
            ),
        ],
    )
}

/// Every rule the stack creates, with its `State`: the `AWS::Events::Rule` resources and the
/// functions' `EventBridgeRule` and `Schedule` event sources (SAM turns each into a rule).
fn rule_states(stack: &Stack) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for (name, r) in stack.resources() {
        match r["Type"].as_str() {
            Some("AWS::Events::Rule") => {
                out.push((
                    name.clone(),
                    r["Properties"]["State"].as_str().map(String::from),
                ));
            }
            Some("AWS::Serverless::Function") => {
                for (event, e) in r["Properties"]["Events"].as_hash().into_iter().flatten() {
                    if matches!(e["Type"].as_str(), Some("EventBridgeRule" | "Schedule")) {
                        out.push((
                            format!("{name}.{}", event.as_str().unwrap_or("?")),
                            e["Properties"]["State"].as_str().map(String::from),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn when_enabled_is_false_then_every_rule_and_the_schedule_are_disabled_and_the_functions_know() {
    let off = hub("false");
    let states = rule_states(&off);
    assert!(
        states.len() >= 9,
        "the guard's (2), stack-watch's (2), the schedule and the hub bus's 4 rules: {states:?}"
    );
    for (rule, state) in &states {
        assert_eq!(state.as_deref(), Some("DISABLED"), "{rule}");
    }
    let globals = &off.resolve(&off_doc_globals()).unwrap_or(Yaml::Null);
    assert_eq!(globals["ENABLED"].as_str(), Some("false"), "{globals:?}");
}

#[test]
fn when_enabled_is_left_at_its_default_then_every_rule_is_enabled() {
    let on = Stack::new(
        cfn::TEMPLATE,
        "ssr-onboard",
        "111122223333",
        "eu-west-1",
        &[],
    );
    let states = rule_states(&on);
    assert!(!states.is_empty());
    for (rule, state) in &states {
        assert_eq!(state.as_deref(), Some("ENABLED"), "{rule}");
    }
    let hub_on = rule_states(&hub("true"));
    assert!(
        hub_on.iter().all(|(_, s)| s.as_deref() == Some("ENABLED")),
        "{hub_on:?}"
    );
}

/// The template's global function environment, unresolved.
fn off_doc_globals() -> Yaml {
    cfn::parse(cfn::TEMPLATE)["Globals"]["Function"]["Environment"]["Variables"].clone()
}
