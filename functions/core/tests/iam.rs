//! Each function's role in infra/template.yaml grants exactly the actions of its row of
//! `ssr_core::aws::permissions`, both ways: nothing the table lists is missing from the role, and
//! nothing the role is granted is missing from the table.
//!
//! A role's grants are gathered from everywhere the template gives them: its inline `Policies`,
//! the template's managed policies it lists in `ManagedPolicyArns` or that list it in `Roles`, and
//! the KMS key policies naming the role as a principal. `!If` branches all count (the union: a
//! conditional grant exists in some deployment). Only `Allow` statements grant; the trust policy
//! (`sts:AssumeRole` for Lambda) is not a grant to the role and is not read.
//!
//! In an organization deployment the functions act on a member account's routers through
//! infra/member.yaml's `MemberRole`: it must grant every EC2 and CloudFormation action the
//! functions that act there call (the state table, topics, keys and logs stay in the hub).

use std::collections::BTreeSet;

use serde_json::Value;
use ssr_core::aws::permissions::{called_actions, permissions};
use ssr_core::metrics::Function;
use yaml_rust2::Yaml;

use crate::cfn;
use crate::template;

/// The role of the function whose binary is `function`'s name (`Role: !GetAtt X.Arn`).
fn role_of(doc: &Yaml, function: Function) -> String {
    let resources = doc["Resources"].as_hash().expect("Resources");
    let mut roles = resources.values().filter_map(|r| {
        (r["Type"].as_str() == Some("AWS::Serverless::Function")
            && r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some(function.name()))
        .then(|| r["Properties"]["Role"].as_str())
        .flatten()
    });
    let role = roles
        .next()
        .unwrap_or_else(|| panic!("no function with binary {} and a Role", function.name()));
    role.strip_suffix(".Arn")
        .unwrap_or_else(|| panic!("Role of {} is not !GetAtt X.Arn: {role}", function.name()))
        .to_string()
}

/// Every value of `y`, with `!If [cond, a, b]` (a list after loading) opened into `a` and `b`;
/// none for a key the document does not have.
fn flatten(y: &Yaml, out: &mut Vec<Yaml>) {
    match y {
        Yaml::Array(items) => items.iter().for_each(|i| flatten(i, out)),
        Yaml::BadValue => {}
        other => out.push(other.clone()),
    }
}

fn flat(y: &Yaml) -> Vec<Yaml> {
    let mut out = Vec::new();
    flatten(y, &mut out);
    out
}

/// The JSON text of a two-argument `!Sub [text, variables]` (loaded as that list), each
/// `${Name}` of its variables replaced by the variable's value, or by the first string branch of
/// its `!If`: the template's variables choose conditions and regions, never actions.
fn substituted(sub: &[Yaml]) -> String {
    let mut text = sub[0].as_str().expect("!Sub's text").to_string();
    for (name, value) in sub[1].as_hash().expect("!Sub's variables") {
        let value = value
            .as_str()
            .or_else(|| value.as_vec()?.iter().skip(1).find_map(Yaml::as_str))
            .unwrap_or_else(|| panic!("!Sub variable {name:?} is not a string or an !If"));
        let name = name.as_str().expect("a variable name");
        text = text.replace(&format!("${{{name}}}"), value);
    }
    text
}

/// The allowed actions of a policy document (YAML, or a JSON string from `!Sub |` or
/// `!Sub [text, variables]`).
fn document_actions(document: &Yaml) -> BTreeSet<String> {
    let document = match (document.as_str(), document.as_vec()) {
        (Some(json), _) => template::load_str(json),
        (None, Some(sub)) => template::load_str(&substituted(sub)),
        (None, None) => document.clone(),
    };
    let mut out = BTreeSet::new();
    for statement in flat(&document["Statement"]) {
        if statement.as_hash().is_none() || statement["Effect"].as_str() != Some("Allow") {
            continue;
        }
        for action in flat(&statement["Action"]) {
            out.insert(action.as_str().expect("an action is a string").to_string());
        }
    }
    out
}

/// Every action `role` is granted anywhere in the template.
fn granted(doc: &Yaml, role: &str) -> BTreeSet<String> {
    let resources = doc["Resources"].as_hash().expect("Resources");
    let conditions = doc["Conditions"].as_hash().expect("Conditions");
    let res = &doc["Resources"][role];
    assert_eq!(res["Type"].as_str(), Some("AWS::IAM::Role"), "{role}");
    let mut out = BTreeSet::new();
    for policy in flat(&res["Properties"]["Policies"]) {
        if policy.as_hash().is_some() {
            out.extend(document_actions(&policy["PolicyDocument"]));
        }
    }
    for arn in flat(&res["Properties"]["ManagedPolicyArns"]) {
        let name = arn.as_str().expect("a managed policy reference");
        if name == "AWS::NoValue" || conditions.contains_key(&Yaml::String(name.into())) {
            continue;
        }
        let policy = &doc["Resources"][name];
        assert_eq!(
            policy["Type"].as_str(),
            Some("AWS::IAM::ManagedPolicy"),
            "{role} lists {name}, not a managed policy of this template: list its actions \
             in the table or define it here"
        );
        out.extend(document_actions(&policy["Properties"]["PolicyDocument"]));
    }
    for (_, r) in resources {
        let names_role = |y: &Yaml| flat(y).iter().any(|v| v.as_str() == Some(role));
        if r["Type"].as_str() == Some("AWS::IAM::ManagedPolicy")
            && names_role(&r["Properties"]["Roles"])
        {
            out.extend(document_actions(&r["Properties"]["PolicyDocument"]));
        }
        if r["Type"].as_str() == Some("AWS::KMS::Key") {
            let arn = format!("{role}.Arn");
            for statement in flat(&r["Properties"]["KeyPolicy"]["Statement"]) {
                let principal = flat(&statement["Principal"]["AWS"]);
                if statement["Effect"].as_str() == Some("Allow")
                    && principal.iter().any(|p| p.as_str() == Some(arn.as_str()))
                {
                    out.extend(
                        flat(&statement["Action"])
                            .iter()
                            .map(|a| a.as_str().expect("an action is a string").to_string()),
                    );
                }
            }
        }
    }
    out
}

/// What differs between `function`'s table row and its role: (in the table, not granted),
/// (granted, not in the table).
fn differences(doc: &Yaml, function: Function) -> (Vec<String>, Vec<String>) {
    let table: BTreeSet<String> = permissions(function)
        .iter()
        .map(|p| p.action.to_string())
        .collect();
    let granted = granted(doc, &role_of(doc, function));
    (
        table.difference(&granted).cloned().collect(),
        granted.difference(&table).cloned().collect(),
    )
}

/// The preflight hook's role (the CodeDeploy PreTraffic hook, not one of the four functions):
/// exactly what `functions/preflight-hook` calls (GetDeployment, ListVersionsByFunction, Invoke,
/// PutLifecycleEventHookExecutionStatus) and what Lambda does with its role (logs, DLQ).
#[test]
fn when_the_preflight_hooks_role_is_read_then_it_grants_exactly_what_the_hook_calls() {
    let doc = template::load();
    let resources = doc["Resources"].as_hash().expect("Resources");
    let role = resources
        .values()
        .find(|r| r["Metadata"]["BuildProperties"]["Binary"].as_str() == Some("preflight-hook"))
        .and_then(|r| r["Properties"]["Role"].as_str())
        .and_then(|r| r.strip_suffix(".Arn"))
        .expect("the preflight-hook function's Role: !GetAtt X.Arn");
    let expected: BTreeSet<String> = [
        "codedeploy:GetDeployment",
        "codedeploy:PutLifecycleEventHookExecutionStatus",
        "lambda:InvokeFunction",
        "lambda:ListVersionsByFunction",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(granted(&doc, role), expected);
}

#[test]
fn when_each_role_is_read_then_it_grants_exactly_its_functions_table_row() {
    let doc = template::load();
    for function in Function::ALL {
        let (missing, unused) = differences(&doc, function);
        assert!(
            missing.is_empty() && unused.is_empty(),
            "{} (role {}): in ssr_core::aws::permissions but not granted: {missing:?}; \
             granted but not in the table: {unused:?}",
            function.name(),
            role_of(&doc, function)
        );
    }
}

#[test]
fn when_a_grant_is_removed_from_a_role_then_the_comparison_reports_it_missing() {
    let text = template::TEMPLATE.replace(
        "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem, dynamodb:BatchGetItem]",
        "Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:DeleteItem]",
    );
    assert_ne!(
        text,
        template::TEMPLATE,
        "the watchdog's State statement was found"
    );
    let (missing, _) = differences(&template::load_str(&text), Function::OnboardingWatchdog);
    assert_eq!(missing, ["dynamodb:BatchGetItem"]);
}

#[test]
fn when_an_unused_grant_is_added_to_a_managed_policy_then_the_comparison_reports_it() {
    let text = template::TEMPLATE.replace(
        "\"Action\": \"ec2:DescribeInstanceAttribute\",",
        "\"Action\": [\"ec2:DescribeInstanceAttribute\", \"ec2:DescribeSubnets\"],",
    );
    assert_ne!(text, template::TEMPLATE, "the read-by-tag policy was found");
    let doc = template::load_str(&text);
    for function in Function::ALL {
        let (_, unused) = differences(&doc, function);
        assert_eq!(unused, ["ec2:DescribeSubnets"], "{}", function.name());
    }
}

#[test]
fn when_the_role_list_is_read_then_every_function_has_its_own_role() {
    let doc = template::load();
    let roles: BTreeSet<String> = Function::ALL.iter().map(|f| role_of(&doc, *f)).collect();
    assert_eq!(roles.len(), Function::ALL.len(), "{roles:?}");
}

/// The functions whose EC2 and CloudFormation calls go through the member role.
const ACTING_IN_MEMBER_ACCOUNTS: [Function; 2] = [Function::InstanceGuard, Function::StackWatch];

/// The services a function reaches in the member account (everything else stays in the hub).
fn called_in_member_account(function: Function) -> Vec<&'static str> {
    called_actions(function)
        .into_iter()
        .filter(|a| a.starts_with("ec2:") || a.starts_with("cloudformation:"))
        .collect()
}

/// The actions of `function` called in a member account that `member`'s `MemberRole` lacks.
fn missing_from_member_role(member: &Yaml, function: Function) -> Vec<&'static str> {
    let granted = granted(member, "MemberRole");
    called_in_member_account(function)
        .into_iter()
        .filter(|a| !granted.contains(*a))
        .collect()
}

#[test]
fn when_the_member_role_is_read_then_it_grants_every_ec2_and_cloudformation_call_of_the_guard_and_stack_watch(
) {
    let member = template::load_str(template::MEMBER);
    for function in ACTING_IN_MEMBER_ACCOUNTS {
        assert!(
            !called_in_member_account(function).is_empty(),
            "{} calls EC2 in member accounts",
            function.name()
        );
        let missing = missing_from_member_role(&member, function);
        assert!(
            missing.is_empty(),
            "{}: called in a member account (ssr_core::aws::permissions) but not granted by \
             infra/member.yaml's MemberRole: {missing:?}",
            function.name()
        );
    }
}

#[test]
fn when_a_grant_is_removed_from_the_member_role_then_the_comparison_reports_it_missing() {
    let text = template::MEMBER.replace(
        "\n                  - cloudformation:ListStackResources",
        "",
    );
    assert_ne!(
        text,
        template::MEMBER,
        "the member role's stack statement was found"
    );
    let member = template::load_str(&text);
    assert_eq!(
        missing_from_member_role(&member, Function::StackWatch),
        ["cloudformation:ListStackResources"]
    );
    assert!(missing_from_member_role(&member, Function::InstanceGuard).is_empty());
}

// ------------------------------------------------------------------ regions

const HUB_ACCOUNT: &str = "111122223333";
const HUB_REGION: &str = "eu-west-1";
const WEBHOOK_SECRET: &str =
    "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ssr/mist-webhook-AbC123";

/// The services `Deps::scoped` (functions/core/src/deps) builds clients for when an event or a
/// sweep names the hub's own account in another region: EC2 and CloudFormation, with the
/// function's own credentials (no member role in its own account). Alerts, the state table and
/// the secrets stay the hub's, in the hub's region.
fn called_in_every_region(function: Function) -> Vec<&'static str> {
    called_actions(function)
        .into_iter()
        .filter(|a| a.starts_with("ec2:") || a.starts_with("cloudformation:"))
        .collect()
}

/// The region part of every resource a statement names (`*` for the resource `*`).
fn resource_regions(statement: &Value) -> Vec<String> {
    cfn::strings(&statement["Resource"])
        .iter()
        .map(|r| match r.as_str() {
            "*" => "*".to_string(),
            arn => arn.split(':').nth(3).expect("an ARN's region").to_string(),
        })
        .collect()
}

/// The template deployed as `ssr-onboard` in the hub's account and region, with the webhook (all
/// four roles), with and without a hub bus, RouterStacks and RouterVpcIds.
fn deployments(hub: bool) -> Vec<cfn::Stack> {
    let bus = if hub { "ssr-onboard-hub" } else { "" };
    let mut out = Vec::new();
    for (stacks, vpcs) in [("", ""), ("ssr-*", "vpc-0123456789abcdef0")] {
        out.push(cfn::Stack::new(
            cfn::TEMPLATE,
            "ssr-onboard",
            HUB_ACCOUNT,
            HUB_REGION,
            &[
                ("HubEventBusName", bus),
                (
                    "MemberRegions",
                    if hub { "eu-west-1,us-east-1" } else { "" },
                ),
                ("MistWebhookSecretArn", WEBHOOK_SECRET),
                ("RouterStacks", stacks),
                ("RouterVpcIds", vpcs),
            ],
        ));
    }
    out
}

/// For each function, each EC2 and CloudFormation action it calls, the regions its role's
/// grants of that action name.
fn granted_regions(stack: &cfn::Stack) -> Vec<(Function, &'static str, Vec<String>)> {
    let doc = template::load();
    let mut out = Vec::new();
    for function in Function::ALL {
        let statements = stack.role_statements(&role_of(&doc, function));
        for action in called_in_every_region(function) {
            let regions: Vec<String> = statements
                .iter()
                .filter(|s| cfn::strings(&s["Action"]).iter().any(|a| a == action))
                .flat_map(resource_regions)
                .collect();
            assert!(
                !regions.is_empty(),
                "{}: {action} is not granted at all",
                function.name()
            );
            out.push((function, action, regions));
        }
    }
    out
}

#[test]
fn when_the_stack_is_a_hub_then_every_ec2_and_cloudformation_grant_the_code_uses_names_every_region(
) {
    for stack in deployments(true) {
        for (function, action, regions) in granted_regions(&stack) {
            assert!(
                regions.iter().all(|r| r == "*"),
                "{}: {action} is pinned to {regions:?}, but a hub acts in its own account's \
                 other regions (MemberRegions, forwarded events) with the function's own role",
                function.name()
            );
        }
    }
}

#[test]
fn when_the_stack_is_not_a_hub_then_its_ec2_and_cloudformation_grants_stay_in_its_region() {
    for stack in deployments(false) {
        for (function, action, regions) in granted_regions(&stack) {
            assert!(
                regions.iter().all(|r| r == HUB_REGION || r == "*"),
                "{}: {action} names {regions:?}",
                function.name()
            );
            // Resource "*" is kept only where the action has no resource-level permissions.
            if !action.starts_with("ec2:Describe") || action == "ec2:DescribeInstanceAttribute" {
                assert!(
                    regions.iter().all(|r| r == HUB_REGION),
                    "{}: {action} names {regions:?}",
                    function.name()
                );
            }
        }
    }
}

// ------------------------------------------------------------------ the webhook secret's key

const KEY: &str = "arn:aws:kms:eu-west-1:111122223333:key/0123abcd-0123-4567-89ab-0123456789ab";

fn decrypt_grants(stack: &cfn::Stack, role: &str) -> Vec<Value> {
    stack
        .role_statements(role)
        .into_iter()
        .filter(|s| {
            cfn::strings(&s["Action"])
                .iter()
                .any(|a| a == "kms:Decrypt")
        })
        .collect()
}

#[test]
fn when_the_webhook_secret_has_a_customer_managed_key_then_only_the_webhook_may_decrypt_with_it_through_secrets_manager(
) {
    let stack = cfn::Stack::new(
        cfn::TEMPLATE,
        "ssr-onboard",
        HUB_ACCOUNT,
        HUB_REGION,
        &[
            ("MistWebhookSecretArn", WEBHOOK_SECRET),
            ("MistWebhookSecretKmsKeyArn", KEY),
        ],
    );
    let grants = decrypt_grants(&stack, "MistWebhookRole");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(cfn::strings(&grants[0]["Resource"]), [KEY]);
    assert_eq!(
        grants[0]["Condition"]["StringEquals"]["kms:ViaService"],
        "secretsmanager.eu-west-1.amazonaws.com"
    );
    assert!(decrypt_grants(&stack, "OnboardingWatchdogRole").is_empty());
}

#[test]
fn when_no_webhook_secret_key_is_given_then_the_webhook_role_has_no_decrypt_grant() {
    let stack = cfn::Stack::new(
        cfn::TEMPLATE,
        "ssr-onboard",
        HUB_ACCOUNT,
        HUB_REGION,
        &[("MistWebhookSecretArn", WEBHOOK_SECRET)],
    );
    assert_eq!(
        decrypt_grants(&stack, "MistWebhookRole"),
        Vec::<Value>::new()
    );
}
