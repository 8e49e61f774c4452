//! The organization deployment as CloudFormation and IAM would evaluate it: the hub
//! (infra/template.yaml) and the member stacks (infra/member.yaml) under the parameters, account
//! and region of each stack, and docs/organization.md's commands against both templates.
//!
//! - The member role trusts the hub's function roles whatever the hub stack's name: the roles
//!   have the path `/ssr-onboard/<stack>/`, and CloudFormation's generated role names (which
//!   shorten a long stack name) are not relied on.
//! - A member stack in the hub's own account and region forwards nothing (the hub's default-bus
//!   rules already deliver those events); everywhere else it forwards.
//! - `WriteGrantConditions` keeps or drops the `ec2:Attribute` condition keys of every EC2 write
//!   grant in both templates, never the router condition.
//! - Every parameter docs/organization.md passes to a template exists in that template.

use std::collections::BTreeSet;

use cfn::{arn_like, glob, Stack};
use regex::Regex;
use serde_json::Value;
use yaml_rust2::Yaml;

use crate::cfn;

const ORGANIZATION_DOC: &str = include_str!("../../../docs/organization.md");

const HUB_ACCOUNT: &str = "111122223333";
const MEMBER_ACCOUNT: &str = "444455556666";
const HUB_REGION: &str = "eu-west-1";
const OTHER_REGION: &str = "us-east-1";
/// 60 characters: CloudFormation must shorten it in every generated role name.
const LONG_HUB_STACK: &str = "ssr-onboard-hub-production-eu-west-1-network-operations-team";
const WEBHOOK_SECRET: &str =
    "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ssr/mist-webhook-AbC123";

/// The hub deployed as `stack` with a hub bus and the webhook (so all four roles exist).
fn hub(stack: &str, extra: &[(&str, &str)]) -> Stack {
    let mut parameters = vec![
        ("HubEventBusName", "ssr-onboard-hub"),
        ("HubOrganizationId", "o-abcdefghij"),
        ("MistWebhookSecretArn", WEBHOOK_SECRET),
    ];
    parameters.extend_from_slice(extra);
    Stack::new(cfn::TEMPLATE, stack, HUB_ACCOUNT, HUB_REGION, &parameters)
}

/// A member stack of the hub `hub_stack`, in `account` and `region`.
fn member(hub_stack: &str, account: &str, region: &str, extra: &[(&str, &str)]) -> Stack {
    let mut parameters = vec![
        ("HubAccountId", HUB_ACCOUNT),
        ("HubRegion", HUB_REGION),
        ("HubStackName", hub_stack),
    ];
    parameters.extend_from_slice(extra);
    Stack::new(
        cfn::MEMBER,
        "StackSet-ssr-onboard-member-0123",
        account,
        region,
        &parameters,
    )
}

// ------------------------------------------------------------------ 1. trust vs role names

/// The `aws:PrincipalArn` patterns the member role's trust policy accepts (ArnLike, any of them).
fn trusted_principal_patterns(member: &Stack) -> Vec<String> {
    let role = member
        .resource("MemberRole")
        .expect("the member role exists in the hub's region");
    let trust = cfn::json(&role["Properties"]["AssumeRolePolicyDocument"]);
    let statements = trust["Statement"].as_array().expect("trust statements");
    assert_eq!(statements.len(), 1, "one trust statement: {trust}");
    assert_eq!(
        statements[0]["Principal"]["AWS"],
        format!("arn:aws:iam::{HUB_ACCOUNT}:root"),
        "the hub account, narrowed by the condition"
    );
    cfn::strings(&statements[0]["Condition"]["ArnLike"]["aws:PrincipalArn"])
}

fn trusts(patterns: &[String], principal: &str) -> bool {
    patterns.iter().any(|p| arn_like(p, principal))
}

/// The role names CloudFormation may generate for `logical_id` in stack `stack`:
/// `<stack part>-<logical id part>-<12 random>`, at most 64 characters, the parts shortened to
/// fit. How CloudFormation splits the 50 characters between the two parts is not documented, so
/// every split that keeps both parts non-empty is tried.
fn generated_role_names(stack: &str, logical_id: &str) -> Vec<String> {
    const RANDOM: &str = "1A2B3C4D5E6F";
    let full = format!("{stack}-{logical_id}-{RANDOM}");
    if full.len() <= 64 {
        return vec![full];
    }
    let room = 64 - 2 - RANDOM.len();
    (1..room)
        .filter(|n| *n <= stack.len() && room - n <= logical_id.len())
        .map(|n| format!("{}-{}-{RANDOM}", &stack[..n], &logical_id[..room - n]))
        .collect()
}

/// The hub's IAM roles with the ARNs CloudFormation may give them (path included).
fn hub_role_arns(hub: &Stack, stack: &str) -> Vec<(String, Vec<String>)> {
    let roles: Vec<(String, Yaml)> = hub
        .resources()
        .into_iter()
        // The roles with the /ssr-onboard/<stack>/ path: the four functions' (the preflight
        // hook's and CodeDeploy's roles never act in a member account).
        .filter(|(_, r)| {
            r["Type"].as_str() == Some("AWS::IAM::Role") && !r["Properties"]["Path"].is_badvalue()
        })
        .collect();
    assert_eq!(
        roles.len(),
        4,
        "the four function roles: {:?}",
        roles.iter().map(|r| &r.0).collect::<Vec<_>>()
    );
    roles
        .into_iter()
        .map(|(id, r)| {
            let path = r["Properties"]["Path"].as_str().unwrap_or("/").to_string();
            let arns = generated_role_names(stack, &id)
                .into_iter()
                .map(|name| format!("arn:aws:iam::{HUB_ACCOUNT}:role{path}{name}"))
                .collect();
            (id, arns)
        })
        .collect()
}

#[test]
fn when_the_hub_stack_name_has_60_characters_then_the_member_role_trusts_every_generated_hub_role()
{
    let hub = hub(LONG_HUB_STACK, &[]);
    let patterns =
        trusted_principal_patterns(&member(LONG_HUB_STACK, MEMBER_ACCOUNT, HUB_REGION, &[]));
    for (role, arns) in hub_role_arns(&hub, LONG_HUB_STACK) {
        assert!(arns.len() > 1, "{role}: the 60-character name is shortened");
        for arn in arns {
            assert!(
                trusts(&patterns, &arn),
                "the member role refuses the hub's {role} as {arn} (trusted: {patterns:?})"
            );
        }
    }
}

#[test]
fn when_a_hub_role_has_no_path_then_the_stack_name_prefix_alone_refuses_its_shortened_name() {
    // The trust before roles had a path: role/<stack>-*, and role ARNs without a path.
    let old_pattern = vec![format!(
        "arn:aws:iam::{HUB_ACCOUNT}:role/{LONG_HUB_STACK}-*"
    )];
    for logical_id in ["InstanceGuardRole", "OnboardingWatchdogRole"] {
        for name in generated_role_names(LONG_HUB_STACK, logical_id) {
            let arn = format!("arn:aws:iam::{HUB_ACCOUNT}:role/{name}");
            assert!(!trusts(&old_pattern, &arn), "{arn} would have been trusted");
        }
    }
}

#[test]
fn when_the_hub_is_not_yet_updated_then_the_member_role_still_trusts_its_roles_without_a_path() {
    let patterns =
        trusted_principal_patterns(&member("ssr-onboard", MEMBER_ACCOUNT, HUB_REGION, &[]));
    let before =
        format!("arn:aws:iam::{HUB_ACCOUNT}:role/ssr-onboard-InstanceGuardRole-1A2B3C4D5E6F");
    assert!(
        trusts(&patterns, &before),
        "{before} (trusted: {patterns:?})"
    );
}

#[test]
fn when_a_role_belongs_to_another_account_or_another_stacks_path_then_the_member_role_refuses_it() {
    let patterns =
        trusted_principal_patterns(&member("ssr-onboard", MEMBER_ACCOUNT, HUB_REGION, &[]));
    for arn in [
        format!("arn:aws:iam::{MEMBER_ACCOUNT}:role/ssr-onboard/ssr-onboard/ssr-onboard-X-1"),
        format!("arn:aws:iam::{HUB_ACCOUNT}:role/ssr-onboard/other-stack/other-stack-X-1"),
        format!("arn:aws:iam::{HUB_ACCOUNT}:role/ssr-onboard/ssr-onboard-test/x-X-1"),
        format!("arn:aws:iam::{HUB_ACCOUNT}:role/admin"),
    ] {
        assert!(!trusts(&patterns, &arn), "{arn} is trusted");
    }
}

#[test]
fn when_iam_wildcards_are_matched_then_star_spans_any_run_and_question_mark_one_character() {
    assert!(glob("role/ssr-*", "role/ssr-onboard-X"));
    assert!(glob("role/a/*", "role/a/b/c"));
    assert!(!glob("role/a/*", "role/ab"));
    assert!(glob("a?c", "abc"));
    assert!(!glob("a?c", "ac"));
    assert!(arn_like(
        "arn:aws:iam::1:role/p/*",
        "arn:aws:iam::1:role/p/x-y"
    ));
    assert!(!arn_like(
        "arn:aws:iam::1:role/p/*",
        "arn:aws:iam::2:role/p/x-y"
    ));
}

// ------------------------------------------------------------------ 9. events delivered once

fn forwarding_rules(stack: &Stack) -> Vec<String> {
    stack
        .resources()
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::Events::Rule"))
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn when_the_member_stack_runs_in_the_hubs_own_account_and_region_then_it_forwards_nothing() {
    let hub_itself = member("ssr-onboard", HUB_ACCOUNT, HUB_REGION, &[]);
    assert_eq!(forwarding_rules(&hub_itself), Vec::<String>::new());
    assert!(hub_itself.resource("ForwardRole").is_none());
    // The role is still the account's one member role (a hub in a targeted OU keeps its stack).
    assert!(hub_itself.resource("MemberRole").is_some());
}

#[test]
fn when_the_member_stack_runs_anywhere_else_then_it_forwards_the_four_event_kinds() {
    for (account, region) in [
        (HUB_ACCOUNT, OTHER_REGION),
        (MEMBER_ACCOUNT, HUB_REGION),
        (MEMBER_ACCOUNT, OTHER_REGION),
    ] {
        let stack = member("ssr-onboard", account, region, &[]);
        assert_eq!(forwarding_rules(&stack).len(), 4, "{account} {region}");
        assert!(
            stack.resource("ForwardRole").is_some(),
            "{account} {region}"
        );
    }
}

// ------------------------------------------------------------------ 10. write conditions

const WRITES: [&str; 2] = [
    "ec2:ModifyInstanceAttribute",
    "ec2:ModifyNetworkInterfaceAttribute",
];

/// Every condition key of a statement (`{operator: {key: value}}`).
fn condition_keys(statement: &Value) -> BTreeSet<String> {
    statement["Condition"]
        .as_object()
        .into_iter()
        .flat_map(|ops| ops.values())
        .filter_map(|keys| keys.as_object())
        .flat_map(|keys| keys.keys().cloned())
        .collect()
}

/// The statements granting an EC2 write to `role`.
fn write_statements(stack: &Stack, role: &str) -> Vec<Value> {
    stack
        .role_statements(role)
        .into_iter()
        .filter(|s| {
            cfn::strings(&s["Action"])
                .iter()
                .any(|a| WRITES.contains(&a.as_str()))
        })
        .collect()
}

/// Both templates' write grants under `WriteGrantConditions = value` (with RouterStacks set,
/// RouterVpcIds set or not in the hub): (where, statement).
fn write_grants(value: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for vpcs in ["", "vpc-0123456789abcdef0"] {
        let hub = hub(
            "ssr-onboard",
            &[
                ("WriteGrantConditions", value),
                ("RouterStacks", "ssr-*"),
                ("RouterVpcIds", vpcs),
            ],
        );
        for role in ["InstanceGuardRole", "StackWatchRole"] {
            for s in write_statements(&hub, role) {
                out.push((format!("hub {role} (RouterVpcIds={vpcs:?})"), s));
            }
        }
    }
    let member = member(
        "ssr-onboard",
        MEMBER_ACCOUNT,
        HUB_REGION,
        &[("WriteGrantConditions", value), ("RouterStacks", "ssr-*")],
    );
    for s in write_statements(&member, "MemberRole") {
        out.push(("member MemberRole".into(), s));
    }
    assert!(out.len() >= 10, "the write grants were found: {out:?}");
    out
}

fn on_instances(statement: &Value) -> bool {
    cfn::strings(&statement["Resource"])
        .iter()
        .all(|r| r.ends_with(":instance/*"))
}

fn router_condition(keys: &BTreeSet<String>) -> bool {
    keys.contains("aws:ResourceTag/SSR-ROUTER")
        || keys.contains("aws:ResourceTag/aws:cloudformation:stack-name")
}

#[test]
fn when_write_grants_are_attribute_and_tag_then_each_write_is_held_to_its_one_attribute_and_routers(
) {
    for (at, s) in write_grants("attribute-and-tag") {
        let keys = condition_keys(&s);
        let action = cfn::strings(&s["Action"]).join(",");
        let attribute = if action == "ec2:ModifyInstanceAttribute" {
            "ec2:Attribute/EnaSupport"
        } else {
            "ec2:Attribute/SourceDestCheck"
        };
        assert!(
            keys.contains(attribute) && keys.contains("ec2:Attribute"),
            "{at}: {action} without {attribute}: {s}"
        );
        if on_instances(&s) {
            assert!(
                router_condition(&keys),
                "{at}: {action} on any instance: {s}"
            );
        }
    }
}

#[test]
fn when_write_grants_are_tag_only_then_no_attribute_key_remains_and_routers_still_are_required() {
    for (at, s) in write_grants("tag-only") {
        let keys = condition_keys(&s);
        assert!(
            keys.iter().all(|k| !k.starts_with("ec2:Attribute")),
            "{at}: an ec2:Attribute key remains: {s}"
        );
        if on_instances(&s) {
            assert!(router_condition(&keys), "{at}: on any instance: {s}");
        } else if at.contains("vpc-") {
            assert!(
                keys.contains("ec2:Vpc"),
                "{at}: the ENI grant keeps RouterVpcIds: {s}"
            );
        }
    }
}

#[test]
fn when_write_grant_conditions_is_read_then_both_templates_offer_the_same_values_and_default() {
    let values = |text: &str| {
        let doc = cfn::parse(text);
        let p = &doc["Parameters"]["WriteGrantConditions"];
        (
            p["Default"].as_str().map(String::from),
            cfn::strings(&cfn::json(&p["AllowedValues"])),
        )
    };
    let hub = values(cfn::TEMPLATE);
    assert_eq!(hub.0.as_deref(), Some("attribute-and-tag"));
    assert_eq!(hub.1, ["attribute-and-tag", "tag-only"]);
    assert_eq!(values(cfn::MEMBER), hub);
}

// ------------------------------------------------------------------ docs/organization.md

/// Which template a command deploys.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Hub,
    Member,
}

/// The fenced code blocks of `doc` written in `language`.
fn code_blocks<'a>(doc: &'a str, language: &str) -> Vec<&'a str> {
    let fence = format!("```{language}\n");
    doc.match_indices(&fence)
        .map(|(at, _)| {
            let body = &doc[at + fence.len()..];
            &body[..body.find("```").expect("a closed code block")]
        })
        .collect()
}

/// The commands of every `sh` block: lines joined over a trailing `\` and over a single-quoted
/// (jq) program spanning lines; comment lines dropped.
fn commands(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in code_blocks(doc, "sh") {
        let mut current = String::new();
        for line in block.lines() {
            if current.is_empty() && line.trim_start().starts_with('#') {
                continue;
            }
            let continued = line.trim_end().ends_with('\\');
            current.push_str(line.trim_end().trim_end_matches('\\'));
            current.push(' ');
            if continued || current.matches('\'').count() % 2 == 1 {
                continue;
            }
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

fn target(command: &str) -> Option<Target> {
    if command.contains("sam deploy") || command.contains("HUB_PARAMS <") {
        Some(Target::Hub)
    } else if command.contains("member.yaml")
        || command.contains("--stack-set-name")
        || command.contains("MEMBER_PARAMS=")
        || command.contains("MEMBER_OVERRIDES <")
    {
        Some(Target::Member)
    } else {
        None
    }
}

fn template_parameters(text: &str) -> BTreeSet<String> {
    cfn::parse(text)["Parameters"]
        .as_hash()
        .expect("Parameters")
        .keys()
        .filter_map(|k| k.as_str().map(String::from))
        .collect()
}

/// What is wrong with `doc`'s organization commands: a parameter passed to a template that does
/// not have it, a key read from the parameter file that it does not have, `Regions` without
/// `HubRegion`. Also how many parameters reach each template, so a check that found nothing
/// cannot pass.
fn organization_doc_problems(doc: &str) -> (Vec<String>, usize, usize) {
    let files: Vec<&str> = code_blocks(doc, "json");
    assert_eq!(files.len(), 1, "one parameter file in the page");
    let file: Value = serde_json::from_str(files[0]).expect("the parameter file is JSON");
    let hub = template_parameters(cfn::TEMPLATE);
    let member = template_parameters(cfn::MEMBER);
    let mut problems = Vec::new();
    let (mut to_hub, mut to_member) = (BTreeSet::new(), BTreeSet::new());

    let regions = cfn::strings(&file["Regions"]);
    if !regions.contains(&file["HubRegion"].as_str().unwrap_or_default().to_string()) {
        problems.push(format!("Regions {regions:?} lacks HubRegion"));
    }
    let jq_program = Regex::new(r"\bjq(?:\s+-\w+)*\s+'([^']*)'").expect("regex");
    let field = Regex::new(r"\.([A-Z][A-Za-z0-9]*)").expect("regex");
    // A key of a jq object literal: `{Key: …}` or the shorthand `{A, B}` (the delimiter after it
    // is checked by hand, so that it can start the next match).
    let object_key = Regex::new(r"[{,]\s*([A-Z][A-Za-z0-9]*)").expect("regex");
    let conf = Regex::new(r"\bconf ([A-Za-z0-9]+)").expect("regex");
    let parameter_key = Regex::new(r"ParameterKey=([A-Za-z0-9]+)").expect("regex");
    let overrides = Regex::new(r"(?:^|\s)([A-Z][A-Za-z0-9]*)=").expect("regex");
    for command in commands(doc) {
        let target = target(&command);
        let mut passed: Vec<String> = Vec::new();
        for c in conf.captures_iter(&command) {
            if file[&c[1]].is_null() {
                problems.push(format!("`conf {}` reads a key the file lacks", &c[1]));
            }
        }
        for program in jq_program.captures_iter(&command) {
            let program = &program[1];
            for f in field.captures_iter(program) {
                match &file[&f[1]] {
                    Value::Null => problems.push(format!("jq reads .{}, not in the file", &f[1])),
                    Value::Object(section) => passed.extend(section.keys().cloned()),
                    _ => {}
                }
            }
            for k in object_key.captures_iter(program) {
                let after = program[k.get(0).expect("a match").end()..].trim_start();
                if after.starts_with([':', ',', '}'])
                    && !["ParameterKey", "ParameterValue"].contains(&&k[1])
                {
                    passed.push(k[1].to_string());
                }
            }
        }
        passed.extend(
            parameter_key
                .captures_iter(&command)
                .map(|c| c[1].to_string()),
        );
        if let Some((_, rest)) = command.split_once("--parameter-overrides") {
            passed.extend(overrides.captures_iter(rest).map(|c| c[1].to_string()));
        }
        for name in passed {
            let (declared, into, template) = match target {
                Some(Target::Hub) => (&hub, &mut to_hub, "infra/template.yaml"),
                Some(Target::Member) => (&member, &mut to_member, "infra/member.yaml"),
                None => {
                    problems.push(format!(
                        "{name} is passed by a command of no template: {command}"
                    ));
                    continue;
                }
            };
            if !declared.contains(&name) {
                problems.push(format!(
                    "{name} is passed to {template}, which has no such parameter"
                ));
            }
            into.insert(name);
        }
    }
    (problems, to_hub.len(), to_member.len())
}

#[test]
fn when_docs_organization_is_read_then_every_parameter_its_commands_pass_exists_in_that_template() {
    let (problems, to_hub, to_member) = organization_doc_problems(ORGANIZATION_DOC);
    assert_eq!(problems, Vec::<String>::new());
    // Shared (5) + Hub (4) + MemberRegions; Shared + HubAccountId, HubRegion, HubStackName.
    assert!(to_hub >= 10, "{to_hub} parameters reach the hub");
    assert!(
        to_member >= 8,
        "{to_member} parameters reach the member stacks"
    );
}

#[test]
fn when_the_parameter_file_names_a_parameter_a_template_lacks_then_the_check_reports_it() {
    let doc = ORGANIZATION_DOC.replace("\"RouterTagKey\":", "\"RouterTag\":");
    assert_ne!(doc, ORGANIZATION_DOC, "the file's RouterTagKey was found");
    let (problems, _, _) = organization_doc_problems(&doc);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("RouterTag is passed to infra/template.yaml"))
            && problems
                .iter()
                .any(|p| p.starts_with("RouterTag is passed to infra/member.yaml")),
        "{problems:?}"
    );
    let doc = ORGANIZATION_DOC.replace("HubRegion, HubStackName}", "HubRegion, HubStack}");
    assert_ne!(doc, ORGANIZATION_DOC, "the member parameters' jq was found");
    let (problems, _, _) = organization_doc_problems(&doc);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("HubStack is passed to infra/member.yaml")),
        "{problems:?}"
    );
}
