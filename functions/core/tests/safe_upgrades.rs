//! Safe upgrades in infra/template.yaml (docs/deploy.md "Safe upgrades"): every function is
//! deployed through its alias `live` by CodeDeploy, rolled back by its own errors alarm, and
//! gated by the PreTraffic hook that runs its preflight; every event source reaches the alias;
//! the exported custom-resource ServiceToken stays what router stacks already use.

use ssr_core::metrics::Function;
use yaml_rust2::Yaml;

use crate::template;

/// The logical id of the function whose binary is `binary`.
fn function_id(doc: &Yaml, binary: &str) -> String {
    doc["Resources"]
        .as_hash()
        .expect("Resources")
        .iter()
        .find(|(_, r)| {
            r["Type"].as_str() == Some("AWS::Serverless::Function")
                && r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(binary)
        })
        .and_then(|(k, _)| k.as_str().map(String::from))
        .unwrap_or_else(|| panic!("no function with binary {binary}"))
}

const HOOK_BINARY: &str = "preflight-hook";

#[test]
fn when_each_function_is_read_then_it_has_an_alias_a_deployment_with_its_errors_alarm_and_the_preflight_hook(
) {
    let doc = template::load();
    let hook = function_id(&doc, HOOK_BINARY);
    for f in Function::ALL {
        let id = function_id(&doc, f.name());
        let props = &doc["Resources"][id.as_str()]["Properties"];
        assert_eq!(props["AutoPublishAlias"].as_str(), Some("live"), "{id}");
        let pref = &props["DeploymentPreference"];
        assert!(
            pref["Type"].as_str().is_some(),
            "{id}: DeploymentPreference.Type"
        );
        assert_eq!(
            pref["Hooks"]["PreTraffic"].as_str(),
            Some(hook.as_str()),
            "{id}"
        );
        // The rollback alarm is this function's AWS/Lambda Errors alarm.
        let alarms = template::strings(&pref["Alarms"]);
        assert!(!alarms.is_empty(), "{id}: no rollback alarm");
        let errors_alarm = alarms.iter().any(|a| {
            let alarm = &doc["Resources"][a.as_str()]["Properties"];
            alarm["Namespace"].as_str() == Some("AWS/Lambda")
                && alarm["MetricName"].as_str() == Some("Errors")
                && alarm["Dimensions"][0]["Value"].as_str() == Some(id.as_str())
        });
        assert!(
            errors_alarm,
            "{id}: alarms {alarms:?} include none on its Errors"
        );
    }
    // The hook is not deployed through itself.
    let hook_props = &doc["Resources"][hook.as_str()]["Properties"];
    assert!(hook_props["AutoPublishAlias"].is_badvalue());
    assert!(hook_props["DeploymentPreference"].is_badvalue());
}

#[test]
fn when_the_hook_is_read_then_it_knows_every_function_and_may_invoke_only_their_versions() {
    let doc = template::load();
    let hook = function_id(&doc, HOOK_BINARY);
    let props = &doc["Resources"][hook.as_str()]["Properties"];
    // !If [HasMistWebhook, !Join [",", [all four]], !Join [",", [the other three]]]
    let branches = props["Environment"]["Variables"]["PREFLIGHT_FUNCTIONS"]
        .as_vec()
        .expect("PREFLIGHT_FUNCTIONS: !If");
    let with_webhook = template::strings(&branches[1].as_vec().expect("!Join")[1]);
    let without = template::strings(&branches[2].as_vec().expect("!Join")[1]);
    for f in Function::ALL {
        let id = function_id(&doc, f.name());
        assert!(with_webhook.contains(&id), "{id} in {with_webhook:?}");
        assert_eq!(
            without.contains(&id),
            f != Function::MistWebhook,
            "{id} in {without:?}"
        );
    }
    let role = props["Role"]
        .as_str()
        .expect("Role")
        .trim_end_matches(".Arn");
    let statements = doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_vec()
        .expect("statements");
    let invoke = statements
        .iter()
        .find(|s| s["Sid"].as_str() == Some("NewVersions"))
        .expect("the NewVersions statement");
    let text = format!("{:?}", invoke["Resource"]);
    for f in Function::ALL {
        let id = function_id(&doc, f.name());
        assert!(text.contains(&format!("{id}.Arn}}:*")), "{id}: {text}");
    }
    assert!(!text.contains("\"*\""), "no wildcard function: {text}");
}

#[test]
fn when_a_rule_or_its_permission_names_a_function_then_it_is_the_functions_alias() {
    let doc = template::load();
    let functions: Vec<String> = Function::ALL
        .iter()
        .map(|f| function_id(&doc, f.name()))
        .collect();
    let mut seen = 0;
    for (name, r) in doc["Resources"].as_hash().expect("Resources") {
        let name = name.as_str().unwrap_or("?");
        match r["Type"].as_str() {
            Some("AWS::Events::Rule") => {
                for t in r["Properties"]["Targets"].as_vec().into_iter().flatten() {
                    let arn = format!("{:?}", t["Arn"]);
                    if functions.iter().any(|f| arn.contains(f.as_str())) {
                        seen += 1;
                        assert!(arn.contains(".Alias"), "{name} targets {arn}");
                    }
                }
            }
            Some("AWS::Lambda::Permission")
                if r["Properties"]["Principal"].as_str() == Some("events.amazonaws.com") =>
            {
                seen += 1;
                let f = r["Properties"]["FunctionName"].as_str().unwrap_or_default();
                assert!(f.ends_with(".Alias"), "{name}: FunctionName {f}");
            }
            _ => {}
        }
    }
    assert_eq!(seen, 8, "the hub bus's four rules and their permissions");
}

#[test]
fn when_the_outputs_are_read_then_the_exported_service_token_is_still_the_unqualified_function() {
    // An export another stack imports cannot change (the update would fail): router stacks keep
    // the token they have, which invokes the function's $LATEST (docs/deploy.md "Safe upgrades").
    let doc = template::load();
    let token = &doc["Outputs"]["GuardServiceToken"];
    assert_eq!(
        token["Value"].as_str(),
        Some(format!("{}.Arn", function_id(&doc, "stack-watch")).as_str())
    );
}
