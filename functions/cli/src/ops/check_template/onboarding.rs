//! The router's user data: the guide's `#cloud-config` onboarding JSON, read by the guard's own
//! parser ([`ssr_core::onboarding_config`]), which keeps only whether the registration code is
//! present. Parts known only at deployment are rendered as placeholder tokens, and a second
//! rendering with the possibly-empty ones left empty tells "missing" from "unchecked".
//!
//! Also: which parameters carry the registration code (found by rendering again with each one
//! empty), that each is `NoEcho: true`, and that the code is not written in the template.

use base64::Engine;
use serde_json::Value;
use ssr_core::findings::FindingCode;
use ssr_core::onboarding_config::{self, OnboardingStatus};

use super::eval::{intrinsic, Ctx, Hole, Seg, Val};
use super::{Row, TemplateCode};

const CHECK: &str = "onboarding-config";
const CODE_CHECK: &str = "registration-code";
/// Placeholder tokens: letters and digits only, so they survive YAML and JSON unchanged.
const TOKEN: &str = "SSRONBOARDHOLE";

/// What the template gives as user data.
enum UserData {
    /// `Fn::Base64` of a text (possibly with unknown parts).
    Text(Vec<Seg>),
    /// A literal (already base64-encoded) string, decoded.
    Bytes(Vec<u8>),
}

fn user_data(ctx: &Ctx, p: Option<&Value>) -> Option<Result<UserData, String>> {
    let raw = p?.get("UserData")?;
    user_data_of(ctx, raw, 0)
}

fn user_data_of(ctx: &Ctx, raw: &Value, depth: usize) -> Option<Result<UserData, String>> {
    if depth > 8 {
        return Some(Err("UserData nests Fn::If too deep".to_string()));
    }
    match intrinsic(raw) {
        Some(("Fn::Base64", arg)) => Some(Ok(UserData::Text(segments(ctx.text(arg))))),
        Some(("Fn::If", arg)) => {
            let Some([cond, yes, no]) = arg.as_array().map(Vec::as_slice) else {
                return Some(Err("UserData is a malformed Fn::If".to_string()));
            };
            match cond.as_str().map(|c| ctx.condition(c, 0)) {
                Some(Ok(true)) => user_data_of(ctx, yes, depth + 1),
                Some(Ok(false)) => user_data_of(ctx, no, depth + 1),
                Some(Err(why)) => Some(Err(format!("UserData depends on {why}"))),
                None => Some(Err("UserData is a malformed Fn::If".to_string())),
            }
        }
        Some(_) => match ctx.eval(raw) {
            Val::NoValue => None,
            Val::Known(Value::String(s)) => Some(decode(&s)),
            other => Some(Err(format!("UserData is {}", other.why_unknown()))),
        },
        None => match raw {
            Value::String(s) => Some(decode(s)),
            Value::Null => None,
            _ => Some(Err("UserData is not a string".to_string())),
        },
    }
}

fn decode(s: &str) -> Result<UserData, String> {
    let compact: String = s.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map(UserData::Bytes)
        .map_err(|_| {
            "UserData is not base64 (EC2 takes it encoded: wrap the text in Fn::Base64)".to_string()
        })
}

fn segments(v: Val) -> Vec<Seg> {
    match v {
        Val::Text(segs) => segs,
        Val::Unknown(h) => vec![Seg::Hole(h)],
        other => match other.as_text() {
            Some(t) => vec![Seg::Lit(t)],
            None => vec![Seg::Hole(Hole {
                why: other.why_unknown(),
                non_empty: false,
            })],
        },
    }
}

/// The text with every hole a token (`blank`: the holes that may be empty left empty; `all`:
/// every hole empty).
fn render(segs: &[Seg], blank: Blank) -> String {
    let mut out = String::new();
    for (i, s) in segs.iter().enumerate() {
        match s {
            Seg::Lit(t) => out.push_str(t),
            Seg::Hole(h) => match blank {
                Blank::All => {}
                Blank::MayBeEmpty if !h.non_empty => {}
                _ => out.push_str(&format!("{TOKEN}{i}X")),
            },
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Blank {
    None,
    MayBeEmpty,
    All,
}

/// The holes a parsed value contains (by its tokens).
fn holes_in<'s>(value: &str, segs: &'s [Seg]) -> Vec<&'s Hole> {
    segs.iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Seg::Hole(h) if value.contains(&format!("{TOKEN}{i}X")) => Some(h),
            _ => None,
        })
        .collect()
}

/// A value for a person: tokens shown as `${…}`.
fn shown(value: &str, segs: &[Seg]) -> String {
    let mut out = value.to_string();
    for i in 0..segs.len() {
        out = out.replace(&format!("{TOKEN}{i}X"), "${…}");
    }
    out
}

fn whys(holes: &[&Hole]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for h in holes {
        if !out.contains(&h.why.as_str()) {
            out.push(&h.why);
        }
    }
    out.join("; ")
}

/// The onboarding user data of one router.
pub fn check(ctx: &Ctx, id: &str, p: Option<&Value>) -> Vec<Row> {
    let fix = "Set UserData to Fn::Base64 of the guide's #cloud-config: write_files with path /etc/128T-hardware-bootstrapper/onboarding-config.json and content {\"name\", \"ssr-version\", \"registration-code\", \"mode\": \"mist-managed\", \"cloud-provider\": \"aws\"} (registration code from a NoEcho parameter).";
    let segs = match user_data(ctx, p) {
        None => {
            return vec![Row::finding(
                CHECK,
                id,
                FindingCode::OnboardingConfigMissing,
                format!("{id} has no UserData: the router will not onboard to Mist by itself."),
                fix,
            )]
        }
        Some(Err(why)) if why.contains("not base64") => {
            return vec![Row::finding(
                CHECK,
                id,
                FindingCode::OnboardingConfigInvalid,
                why,
                fix,
            )]
        }
        Some(Err(why)) => return vec![Row::unchecked(CHECK, id, why)],
        Some(Ok(UserData::Bytes(bytes))) => {
            return judge(
                id,
                onboarding_config::inspect_bytes(Some(&bytes)),
                None,
                &[],
                Vec::new(),
                fix,
            )
        }
        Some(Ok(UserData::Text(segs))) => segs,
    };
    let text = render(&segs, Blank::None);
    let a = onboarding_config::inspect(Some(&text));
    let has_holes = segs.iter().any(|s| matches!(s, Seg::Hole(_)));
    let b = has_holes.then(|| onboarding_config::inspect(Some(&render(&segs, Blank::MayBeEmpty))));
    judge(id, a, b, &segs, structural(&text, &segs), fix)
}

/// The holes that may shape the document: those that start a line (a whole line or block, the
/// `#cloud-config` header, a `write_files` entry could come from them). A hole within a line
/// (a value inside the onboarding JSON) cannot make unreadable user data readable, so a
/// failure with only those is the template's.
fn structural<'s>(text: &str, segs: &'s [Seg]) -> Vec<&'s Hole> {
    segs.iter()
        .enumerate()
        .filter_map(|(i, s)| match s {
            Seg::Hole(h) => {
                let token = format!("{TOKEN}{i}X");
                let starts_line = text.lines().any(|l| l.trim_start().starts_with(&token));
                starts_line.then_some(h)
            }
            Seg::Lit(_) => None,
        })
        .collect()
}

/// `a`: every unknown part a token; `b`: those that may be empty left empty.
fn judge(
    id: &str,
    a: OnboardingStatus,
    b: Option<OnboardingStatus>,
    segs: &[Seg],
    structural: Vec<&Hole>,
    fix: &str,
) -> Vec<Row> {
    let all_holes: Vec<&Hole> = segs
        .iter()
        .filter_map(|s| match s {
            Seg::Hole(h) => Some(h),
            Seg::Lit(_) => None,
        })
        .collect();
    let config = match a {
        OnboardingStatus::Parsed { config, .. } => config,
        OnboardingStatus::NotChecked { reason } => return vec![Row::unchecked(CHECK, id, reason)],
        OnboardingStatus::Missing { reason } | OnboardingStatus::Unreadable { reason }
            if !structural.is_empty() =>
        {
            return vec![Row::unchecked(
                CHECK,
                id,
                format!(
                    "{reason}, with parts known only at deployment: {}",
                    whys(&structural)
                ),
            )]
        }
        OnboardingStatus::Missing { reason } => {
            return vec![Row::finding(
                CHECK,
                id,
                FindingCode::OnboardingConfigMissing,
                format!("{id}: {reason}."),
                fix,
            )]
        }
        OnboardingStatus::Unreadable { reason } => {
            return vec![Row::finding(
                CHECK,
                id,
                FindingCode::OnboardingConfigInvalid,
                format!("{id}: {reason}."),
                fix,
            )]
        }
    };
    let blanked = b.as_ref().and_then(OnboardingStatus::config);
    let mut problems = Vec::new();
    let mut unchecked = Vec::new();
    let mut presence =
        |key: &str, value_a: Option<&str>, present_a: bool, present_b: Option<bool>| {
            if !present_a {
                problems.push(format!("\"{key}\" is missing or empty"));
                return;
            }
            if b.is_some() && present_b != Some(true) {
                let holes = match value_a {
                    Some(v) => holes_in(v, segs),
                    None => all_holes.iter().copied().filter(|h| !h.non_empty).collect(),
                };
                unchecked.push(format!("\"{key}\" may be empty: {}", whys(&holes)));
            }
        };
    presence(
        "name",
        config.name.as_deref(),
        config.name.is_some(),
        blanked.map(|c| c.name.is_some()),
    );
    presence(
        "ssr-version",
        config.ssr_version.as_deref(),
        config.ssr_version.is_some(),
        blanked.map(|c| c.ssr_version.is_some()),
    );
    presence(
        "registration-code",
        None,
        config.registration_code_present,
        blanked.map(|c| c.registration_code_present),
    );
    for (key, value, expected) in [
        ("mode", config.mode.as_deref(), "mist-managed"),
        ("cloud-provider", config.cloud_provider.as_deref(), "aws"),
    ] {
        match value {
            None => problems.push(format!("\"{key}\" is missing; expected \"{expected}\"")),
            Some(v) if !holes_in(v, segs).is_empty() => {
                unchecked.push(format!("\"{key}\" is {}", whys(&holes_in(v, segs))))
            }
            Some(v) if v != expected => {
                problems.push(format!("\"{key}\" is \"{v}\"; expected \"{expected}\""))
            }
            Some(_) => {}
        }
    }
    let mut rows = Vec::new();
    if !problems.is_empty() {
        rows.push(Row::finding(
            CHECK,
            id,
            FindingCode::OnboardingConfigInvalid,
            format!("{id}'s onboarding config: {}.", problems.join("; ")),
            fix,
        ));
    }
    if !unchecked.is_empty() {
        rows.push(Row::unchecked(CHECK, id, unchecked.join("; ")));
    }
    if rows.is_empty() {
        rows.push(Row::ok(
            CHECK,
            id,
            format!(
                "name \"{}\", ssr-version \"{}\", mode mist-managed, cloud-provider aws, registration code present (not shown)",
                shown(config.name.as_deref().unwrap_or_default(), segs),
                shown(config.ssr_version.as_deref().unwrap_or_default(), segs),
            ),
        ));
    }
    rows
}

fn code_present(ctx: &Ctx, p: Option<&Value>, blank: Blank) -> bool {
    match user_data(ctx, p) {
        Some(Ok(UserData::Text(segs))) => onboarding_config::inspect(Some(&render(&segs, blank)))
            .config()
            .is_some_and(|c| c.registration_code_present),
        Some(Ok(UserData::Bytes(bytes))) => onboarding_config::inspect_bytes(Some(&bytes))
            .config()
            .is_some_and(|c| c.registration_code_present),
        _ => false,
    }
}

pub fn is_no_echo(decl: &Value) -> bool {
    match decl.get("NoEcho") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// A parameter named for the registration code (`RegistrationCode`, `reg_code`, …).
fn named_like_the_code(name: &str) -> bool {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    n.contains("registrationcode") || n.contains("regcode")
}

/// The parameters that carry the registration code (into any router's user data, or by name)
/// are `NoEcho: true`, and no router has the code written in the template. Also returns those
/// parameters' names, so their values can be kept out of every output.
pub fn registration_code_parameters(ctx: &Ctx, routers: &[String]) -> (Vec<Row>, Vec<String>) {
    let mut carriers: Vec<String> = Vec::new();
    let mut rows = Vec::new();
    for id in routers {
        let p = ctx
            .resources()
            .and_then(|r| r.get(id))
            .and_then(|r| r.get("Properties"));
        ctx.take_read();
        if !code_present(ctx, p, Blank::None) {
            continue;
        }
        let read = ctx.take_read();
        let mut emptied: Option<Ctx> = None;
        for name in &read {
            let c = ctx.with_parameter(name, Val::Known(Value::String(String::new())));
            if !code_present(&c, p, Blank::None) && !carriers.contains(name) {
                carriers.push(name.clone());
            }
            emptied = Some(match emptied {
                None => c,
                Some(prev) => prev.with_parameter(name, Val::Known(Value::String(String::new()))),
            });
        }
        let all_empty = emptied.as_ref().unwrap_or(ctx);
        if code_present(all_empty, p, Blank::All) {
            rows.push(Row::finding(
                CODE_CHECK,
                id,
                TemplateCode::RegistrationCodeInTemplate,
                format!("{id}'s user data has the registration code written in the template (value not shown): anyone who can read the template can adopt routers into the Mist organization."),
                "Take the code from a parameter with NoEcho: true (\"registration-code\": \"${RegistrationCode}\" in the !Sub) and pass it at deployment.",
            ));
        }
    }
    if let Some(decls) = ctx.template.get("Parameters").and_then(Value::as_object) {
        for name in decls.keys() {
            if named_like_the_code(name) && !carriers.contains(name) {
                carriers.push(name.clone());
            }
        }
    }
    for name in &carriers {
        let Some(decl) = ctx.parameter_decl(name) else {
            continue;
        };
        if is_no_echo(decl) {
            rows.push(Row::ok(
                CODE_CHECK,
                name,
                "NoEcho: true (masked in the console, DescribeStacks and events)",
            ));
        } else {
            rows.push(Row::finding(
                CODE_CHECK,
                name,
                TemplateCode::RegistrationCodeNotNoEcho,
                format!("Parameter {name} carries the Mist registration code and is not NoEcho: CloudFormation shows its value in the console, in DescribeStacks and in the stack's events."),
                format!("Add NoEcho: true to parameter {name}."),
            ));
        }
    }
    (rows, carriers)
}
