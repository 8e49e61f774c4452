//! A static evaluator of CloudFormation's intrinsic functions: what a property will be, as far as
//! the template and the parameters say, and "unknown, because …" for the rest (a `Ref` to a
//! parameter without a value, `Fn::GetAtt`, `Fn::ImportValue`, a dynamic reference). It never
//! guesses: an unknown part stays a [`Hole`] with the reason.
//!
//! Evaluation is shallow: [`Ctx::eval`] resolves the intrinsic at the top of a value; the elements
//! of a list or mapping it returns are evaluated when a check reads them.

use std::cell::RefCell;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::source::{ParameterValue, ParameterValues};

/// Evaluation steps nested deeper than this (intrinsics in intrinsics, conditions naming
/// conditions) are reported as unknown: real templates nest a few.
const MAX_DEPTH: usize = 64;

/// Why a value is not known before deployment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hole {
    /// For a person: "parameter SSRVersion has no value (no Default, not in --parameters)".
    pub why: String,
    /// CloudFormation guarantees a non-empty value (a pseudo parameter, a resource id, a
    /// parameter whose MinLength, AllowedValues or AllowedPattern rule out "").
    pub non_empty: bool,
}

/// One piece of a string under construction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seg {
    Lit(String),
    Hole(Hole),
}

/// What an expression evaluates to.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// Known now (its nested elements may still hold intrinsics: evaluate them when read).
    Known(Value),
    /// A string with unknown parts (`Fn::Sub`, `Fn::Join`).
    Text(Vec<Seg>),
    /// A resource of this template (`Ref` or `Fn::GetAtt`): its id is known only at deployment.
    Resource {
        id: String,
        attr: Option<String>,
    },
    /// `Ref: AWS::NoValue`: the property is removed.
    NoValue,
    Unknown(Hole),
}

impl Val {
    /// The known string (numbers and booleans as written).
    pub fn as_text(&self) -> Option<String> {
        match self {
            Val::Known(Value::String(s)) => Some(s.clone()),
            Val::Known(Value::Number(n)) => Some(n.to_string()),
            Val::Known(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        }
    }

    /// For a person: the known text, with `${…}` where a part is known only at deployment.
    pub fn display(&self) -> String {
        match self {
            Val::Text(segs) => segs
                .iter()
                .map(|s| match s {
                    Seg::Lit(t) => t.as_str(),
                    Seg::Hole(_) => "${…}",
                })
                .collect(),
            other => other.as_text().unwrap_or_else(|| "${…}".to_string()),
        }
    }

    /// Why it is not a known value, for a person.
    pub fn why_unknown(&self) -> String {
        match self {
            Val::Unknown(h) => h.why.clone(),
            Val::Text(segs) => segs
                .iter()
                .filter_map(|s| match s {
                    Seg::Hole(h) => Some(h.why.clone()),
                    Seg::Lit(_) => None,
                })
                .collect::<Vec<_>>()
                .join("; "),
            Val::Resource { id, attr: None } => {
                format!("the id of resource {id}, known at deployment")
            }
            Val::Resource { id, attr: Some(a) } => {
                format!("Fn::GetAtt {id}.{a}, known at deployment")
            }
            Val::NoValue => "AWS::NoValue (the property is removed)".to_string(),
            Val::Known(_) => "not a string".to_string(),
        }
    }
}

/// A template and its parameter values, ready to evaluate expressions.
pub struct Ctx<'a> {
    pub template: &'a Value,
    params: BTreeMap<String, Val>,
    /// Which parameters each evaluation read (for the registration-code flow check).
    read: RefCell<Vec<String>>,
    /// Named conditions evaluated so far (`None` while one is being evaluated: a cycle).
    conditions: RefCell<BTreeMap<String, Option<Result<bool, String>>>>,
    stack_name: Option<String>,
}

impl<'a> Ctx<'a> {
    pub fn new(template: &'a Value, given: &ParameterValues) -> Ctx<'a> {
        let mut params = BTreeMap::new();
        if let Some(decls) = template.get("Parameters").and_then(Value::as_object) {
            for (name, decl) in decls {
                params.insert(
                    name.clone(),
                    parameter_value(name, decl, given.values.get(name)),
                );
            }
        }
        Ctx {
            template,
            params,
            read: RefCell::new(Vec::new()),
            conditions: RefCell::new(BTreeMap::new()),
            stack_name: given.stack_name.clone(),
        }
    }

    /// A copy whose parameter `name` is replaced by `value` (the flow checks).
    pub fn with_parameter(&self, name: &str, value: Val) -> Ctx<'a> {
        let mut params = self.params.clone();
        params.insert(name.to_string(), value);
        Ctx {
            template: self.template,
            params,
            read: RefCell::new(Vec::new()),
            conditions: RefCell::new(BTreeMap::new()),
            stack_name: self.stack_name.clone(),
        }
    }

    /// The parameters read since the last call (deduplicated, in order).
    pub fn take_read(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in self.read.borrow_mut().drain(..) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
        out
    }

    pub fn resources(&self) -> Option<&'a Map<String, Value>> {
        self.template.get("Resources").and_then(Value::as_object)
    }

    pub fn resource_type(&self, id: &str) -> Option<&'a str> {
        self.resources()?.get(id)?.get("Type")?.as_str()
    }

    /// The declaration of a template parameter.
    pub fn parameter_decl(&self, name: &str) -> Option<&'a Value> {
        self.template.get("Parameters")?.get(name)
    }

    /// The known values of the `NoEcho` parameters and of `also` (those that carry the
    /// registration code), longest first, for masking; values shorter than 4 characters are left
    /// alone (masking "aws" would hide more than it protects).
    pub fn secret_values(&self, also: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .params
            .iter()
            .filter(|(name, _)| {
                also.contains(name)
                    || self
                        .parameter_decl(name)
                        .is_some_and(super::onboarding::is_no_echo)
            })
            .filter_map(|(_, v)| v.as_text())
            .filter(|v| v.chars().count() >= 4)
            .collect();
        out.sort_by_key(|v| std::cmp::Reverse(v.len()));
        out.dedup();
        out
    }

    /// Evaluates the intrinsic at the top of `v`.
    pub fn eval(&self, v: &Value) -> Val {
        self.eval_at(v, 0)
    }

    /// Evaluates `v` as a string: known text, text with holes, or one hole.
    pub fn text(&self, v: &Value) -> Val {
        collapse(self.segments(v, 0))
    }

    fn text_at(&self, v: &Value, depth: usize) -> Val {
        collapse(self.segments(v, depth))
    }

    /// `v` as a known list of raw elements, or why not.
    pub fn list(&self, v: &Value) -> Result<Vec<Value>, Val> {
        match self.eval(v) {
            Val::Known(Value::Array(items)) => Ok(items),
            other => Err(other),
        }
    }

    fn eval_at(&self, v: &Value, depth: usize) -> Val {
        if depth > MAX_DEPTH {
            return unknown(
                format!("intrinsic functions nested deeper than {MAX_DEPTH}"),
                false,
            );
        }
        let Some((name, arg)) = intrinsic(v) else {
            return match v {
                Value::String(s) if s.contains("{{resolve:") => unknown(
                    "a dynamic reference ({{resolve:…}}), resolved at deployment".to_string(),
                    false,
                ),
                _ => Val::Known(v.clone()),
            };
        };
        let d = depth + 1;
        match name {
            "Ref" => match arg.as_str() {
                Some(target) => self.reference(target),
                None => unknown("a Ref whose target is not a string".to_string(), false),
            },
            "Fn::GetAtt" => match get_att(arg) {
                Some((id, attr)) => Val::Resource {
                    id,
                    attr: Some(attr),
                },
                None => unknown("a malformed Fn::GetAtt".to_string(), false),
            },
            "Fn::Sub" | "Fn::Join" | "Fn::Base64" => collapse(self.segments(v, d)),
            "Fn::If" => {
                let Some([cond, yes, no]) = arg.as_array().map(Vec::as_slice) else {
                    return unknown("a malformed Fn::If".to_string(), false);
                };
                match cond.as_str().map(|c| self.condition(c, d)) {
                    Some(Ok(true)) => self.eval_at(yes, d),
                    Some(Ok(false)) => self.eval_at(no, d),
                    Some(Err(why)) => unknown(why, false),
                    None => unknown("a malformed Fn::If".to_string(), false),
                }
            }
            "Fn::Select" => {
                let Some([index, list]) = arg.as_array().map(Vec::as_slice) else {
                    return unknown("a malformed Fn::Select".to_string(), false);
                };
                let index = self
                    .text_at(index, d)
                    .as_text()
                    .and_then(|t| t.parse::<usize>().ok());
                match (index, self.eval_at(list, d)) {
                    (Some(i), Val::Known(Value::Array(items))) => match items.get(i) {
                        Some(item) => self.eval_at(item, d),
                        None => unknown(format!("Fn::Select index {i} is past the list"), false),
                    },
                    (_, other @ (Val::Unknown(_) | Val::Text(_) | Val::Resource { .. })) => {
                        unknown(format!("Fn::Select over {}", other.why_unknown()), false)
                    }
                    _ => unknown("an Fn::Select that cannot be resolved".to_string(), false),
                }
            }
            "Fn::FindInMap" => {
                let Some(keys) = arg.as_array().filter(|a| a.len() >= 3) else {
                    return unknown("a malformed Fn::FindInMap".to_string(), false);
                };
                let mut names = Vec::new();
                for k in &keys[..3] {
                    let t = self.text_at(k, d);
                    match t.as_text() {
                        Some(name) => names.push(name),
                        None => {
                            return unknown(
                                format!("Fn::FindInMap key: {}", t.why_unknown()),
                                false,
                            )
                        }
                    }
                }
                let [map, top, second] = names.as_slice() else {
                    return unknown("a malformed Fn::FindInMap".to_string(), false);
                };
                match self
                    .template
                    .get("Mappings")
                    .and_then(|m| m.get(map))
                    .and_then(|m| m.get(top))
                    .and_then(|m| m.get(second))
                {
                    Some(found) => self.eval_at(found, d),
                    None => unknown(
                        format!("Fn::FindInMap {map}/{top}/{second} is not in Mappings"),
                        false,
                    ),
                }
            }
            "Fn::Split" => {
                let Some([sep, source]) = arg.as_array().map(Vec::as_slice) else {
                    return unknown("a malformed Fn::Split".to_string(), false);
                };
                match (self.text_at(sep, d).as_text(), self.text_at(source, d)) {
                    (Some(sep), t @ Val::Known(_)) if !sep.is_empty() => {
                        let s = t.as_text().unwrap_or_default();
                        Val::Known(Value::Array(
                            s.split(sep.as_str())
                                .map(|p| Value::String(p.to_string()))
                                .collect(),
                        ))
                    }
                    (_, other) => unknown(format!("Fn::Split over {}", other.why_unknown()), false),
                }
            }
            other => unknown(format!("{other}, resolved at deployment"), false),
        }
    }

    fn reference(&self, target: &str) -> Val {
        if let Some(v) = self.params.get(target) {
            self.read.borrow_mut().push(target.to_string());
            return v.clone();
        }
        match target {
            "AWS::NoValue" => Val::NoValue,
            "AWS::StackName" => match &self.stack_name {
                Some(name) => Val::Known(Value::String(name.clone())),
                None => unknown("AWS::StackName, known at deployment".to_string(), true),
            },
            pseudo if pseudo.starts_with("AWS::") => {
                unknown(format!("{pseudo}, known at deployment"), true)
            }
            id if self.resources().is_some_and(|r| r.contains_key(id)) => Val::Resource {
                id: id.to_string(),
                attr: None,
            },
            other => unknown(
                format!("Ref {other}, which the template does not declare"),
                false,
            ),
        }
    }

    /// A named condition's value, or why it cannot be known.
    pub fn condition(&self, name: &str, depth: usize) -> Result<bool, String> {
        if depth > MAX_DEPTH {
            return Err(format!("conditions nested deeper than {MAX_DEPTH}"));
        }
        let Some(expr) = self.template.get("Conditions").and_then(|c| c.get(name)) else {
            return Err(format!("condition {name} is not declared"));
        };
        match self.conditions.borrow().get(name) {
            Some(Some(known)) => return known.clone(),
            Some(None) => return Err(format!("condition {name}, which refers to itself")),
            None => {}
        }
        self.conditions.borrow_mut().insert(name.to_string(), None);
        let result = self
            .condition_expr(expr, depth + 1)
            .map_err(|why| format!("condition {name} depends on {why}"));
        self.conditions
            .borrow_mut()
            .insert(name.to_string(), Some(result.clone()));
        result
    }

    fn condition_expr(&self, expr: &Value, depth: usize) -> Result<bool, String> {
        if depth > MAX_DEPTH {
            return Err(format!("conditions nested deeper than {MAX_DEPTH}"));
        }
        let Some((name, arg)) = intrinsic(expr) else {
            return match expr.as_bool() {
                Some(b) => Ok(b),
                None => Err("a malformed condition".to_string()),
            };
        };
        let args = || arg.as_array().cloned().unwrap_or_default();
        match name {
            "Condition" => match arg.as_str() {
                Some(n) => self.condition(n, depth + 1),
                None => Err("a malformed Condition".to_string()),
            },
            "Fn::Not" => match args().as_slice() {
                [inner] => self.condition_expr(inner, depth + 1).map(|b| !b),
                _ => Err("a malformed Fn::Not".to_string()),
            },
            "Fn::And" | "Fn::Or" => {
                let mut results = Vec::new();
                for inner in args() {
                    results.push(self.condition_expr(&inner, depth + 1));
                }
                let and = name == "Fn::And";
                // A decisive known operand wins over unknown ones (false for And, true for Or).
                if results.iter().any(|r| r == &Ok(!and)) {
                    return Ok(!and);
                }
                match results.into_iter().find_map(Result::err) {
                    Some(why) => Err(why),
                    None => Ok(and),
                }
            }
            "Fn::Equals" => match args().as_slice() {
                [a, b] => match (self.text_at(a, depth), self.text_at(b, depth)) {
                    (x @ Val::Known(_), y @ Val::Known(_)) => Ok(x.as_text() == y.as_text()),
                    (x, y) => Err([x, y]
                        .iter()
                        .filter(|v| !matches!(v, Val::Known(_)))
                        .map(Val::why_unknown)
                        .collect::<Vec<_>>()
                        .join("; ")),
                },
                _ => Err("a malformed Fn::Equals".to_string()),
            },
            other => Err(format!("{other} in a condition")),
        }
    }

    fn segments(&self, v: &Value, depth: usize) -> Vec<Seg> {
        if depth > MAX_DEPTH {
            return vec![hole(
                format!("intrinsic functions nested deeper than {MAX_DEPTH}"),
                false,
            )];
        }
        let d = depth + 1;
        match intrinsic(v) {
            Some(("Fn::Base64", arg)) => self.segments(arg, d),
            Some(("Fn::Join", arg)) => {
                let Some([sep, list]) = arg.as_array().map(Vec::as_slice) else {
                    return vec![hole("a malformed Fn::Join".to_string(), false)];
                };
                let Some(sep) = self.text_at(sep, d).as_text() else {
                    return vec![hole(
                        "an Fn::Join separator that is not known".to_string(),
                        false,
                    )];
                };
                let items = match self.eval_at(list, d) {
                    Val::Known(Value::Array(items)) => items,
                    other => {
                        return vec![hole(
                            format!("Fn::Join over {}", other.why_unknown()),
                            false,
                        )]
                    }
                };
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if i > 0 && !sep.is_empty() {
                        out.push(Seg::Lit(sep.clone()));
                    }
                    out.extend(self.segments(item, d));
                }
                out
            }
            Some(("Fn::Sub", arg)) => {
                let (body, vars) = match arg {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) => match a.as_slice() {
                        [Value::String(s), Value::Object(m)] => (s.as_str(), Some(m)),
                        [Value::String(s)] => (s.as_str(), None),
                        _ => return vec![hole("a malformed Fn::Sub".to_string(), false)],
                    },
                    _ => return vec![hole("a malformed Fn::Sub".to_string(), false)],
                };
                self.substitute(body, vars, d)
            }
            _ => match self.eval_at(v, d) {
                Val::Known(Value::String(s)) => vec![Seg::Lit(s)],
                Val::Known(Value::Number(n)) => vec![Seg::Lit(n.to_string())],
                Val::Known(Value::Bool(b)) => vec![Seg::Lit(b.to_string())],
                Val::Text(segs) => segs,
                Val::Unknown(h) => vec![Seg::Hole(h)],
                r @ Val::Resource { .. } => vec![hole(r.why_unknown(), true)],
                other => vec![hole(
                    format!("{} where text is expected", other.why_unknown()),
                    false,
                )],
            },
        }
    }

    /// `Fn::Sub`: `${Name}`, `${Resource.Attr}`, `${!Literal}`.
    fn substitute(&self, body: &str, vars: Option<&Map<String, Value>>, depth: usize) -> Vec<Seg> {
        let mut out = Vec::new();
        let mut lit = String::new();
        let mut rest = body;
        while let Some(start) = rest.find("${") {
            lit.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                lit.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                lit.push_str("${");
                lit.push_str(literal);
                lit.push('}');
                continue;
            }
            let segs = match vars.and_then(|m| m.get(name.trim())) {
                Some(v) => self.segments(v, depth),
                None => {
                    let name = name.trim();
                    match name.split_once('.') {
                        Some((id, attr)) if !name.starts_with("AWS::") => {
                            let r = Val::Resource {
                                id: id.to_string(),
                                attr: Some(attr.to_string()),
                            };
                            vec![hole(r.why_unknown(), true)]
                        }
                        _ => self.segments(&ref_value(name), depth),
                    }
                }
            };
            for s in segs {
                match s {
                    Seg::Lit(t) => lit.push_str(&t),
                    h @ Seg::Hole(_) => {
                        if !lit.is_empty() {
                            out.push(Seg::Lit(std::mem::take(&mut lit)));
                        }
                        out.push(h);
                    }
                }
            }
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            out.push(Seg::Lit(lit));
        }
        out
    }
}

fn ref_value(name: &str) -> Value {
    let mut m = Map::new();
    m.insert("Ref".to_string(), Value::String(name.to_string()));
    Value::Object(m)
}

/// `{"Ref": x}` / `{"Fn::…": x}` / `{"Condition": x}`: the function's name and argument.
pub fn intrinsic(v: &Value) -> Option<(&str, &Value)> {
    let obj = v.as_object()?;
    if obj.len() != 1 {
        return None;
    }
    let (k, arg) = obj.iter().next()?;
    (k == "Ref" || k == "Condition" || k.starts_with("Fn::")).then_some((k.as_str(), arg))
}

fn get_att(arg: &Value) -> Option<(String, String)> {
    match arg {
        Value::String(s) => s
            .split_once('.')
            .map(|(a, b)| (a.to_string(), b.to_string())),
        Value::Array(a) => match a.as_slice() {
            [Value::String(id), Value::String(attr)] => Some((id.clone(), attr.clone())),
            _ => None,
        },
        _ => None,
    }
}

fn unknown(why: String, non_empty: bool) -> Val {
    Val::Unknown(Hole { why, non_empty })
}

fn hole(why: String, non_empty: bool) -> Seg {
    Seg::Hole(Hole { why, non_empty })
}

/// Segments as a value: one known string when there is no hole, the hole alone when it is the
/// whole string.
fn collapse(segs: Vec<Seg>) -> Val {
    if segs.iter().all(|s| matches!(s, Seg::Lit(_))) {
        let text: String = segs
            .into_iter()
            .map(|s| match s {
                Seg::Lit(t) => t,
                Seg::Hole(_) => String::new(),
            })
            .collect();
        return Val::Known(Value::String(text));
    }
    match <[Seg; 1]>::try_from(segs) {
        Ok([Seg::Hole(h)]) => Val::Unknown(h),
        Ok(one) => Val::Text(one.to_vec()),
        Err(segs) => Val::Text(segs),
    }
}

/// A parameter's value: from the parameters file, else its Default, else unknown (with whether
/// CloudFormation's constraints rule out an empty value).
fn parameter_value(name: &str, decl: &Value, given: Option<&ParameterValue>) -> Val {
    let ty = decl.get("Type").and_then(Value::as_str).unwrap_or("String");
    let text = match given {
        Some(ParameterValue::Value(v)) => Some(v.clone()),
        Some(ParameterValue::Previous) => {
            return unknown(
                format!("parameter {name} uses the stack's previous value"),
                non_empty(decl),
            )
        }
        None => match decl.get("Default") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            Some(Value::Array(items)) => Some(
                items
                    .iter()
                    .filter_map(|i| Val::Known(i.clone()).as_text())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        },
    };
    let Some(text) = text else {
        return unknown(
            format!("parameter {name} has no value (no Default, not in --parameters)"),
            non_empty(decl),
        );
    };
    if ty.starts_with("AWS::SSM::Parameter::Value") {
        return unknown(
            format!("parameter {name} is read from SSM at deployment"),
            false,
        );
    }
    if ty == "CommaDelimitedList" || ty.starts_with("List<") {
        return Val::Known(Value::Array(
            text.split(',')
                .map(|p| Value::String(p.trim().to_string()))
                .collect(),
        ));
    }
    Val::Known(Value::String(text))
}

/// Does the parameter's declaration rule out an empty value?
fn non_empty(decl: &Value) -> bool {
    let num = |k: &str| {
        decl.get(k).and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        })
    };
    if num("MinLength").is_some_and(|n| n >= 1) {
        return true;
    }
    if let Some(allowed) = decl.get("AllowedValues").and_then(Value::as_array) {
        if !allowed.is_empty()
            && allowed.iter().all(|v| {
                Val::Known(v.clone())
                    .as_text()
                    .is_some_and(|t| !t.is_empty())
            })
        {
            return true;
        }
    }
    if let Some(pattern) = decl.get("AllowedPattern").and_then(Value::as_str) {
        // CloudFormation matches the whole value; a pattern Rust's regex cannot compile
        // (Java-only syntax) proves nothing.
        if let Ok(re) = regex::Regex::new(&format!("^(?:{pattern})$")) {
            return !re.is_match("");
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx_of(t: &Value, given: ParameterValues) -> Ctx<'_> {
        Ctx::new(t, &given)
    }

    fn template() -> Value {
        json!({
            "Parameters": {
                "Size": {"Type": "String", "Default": "c5.xlarge"},
                "Code": {"Type": "String", "NoEcho": true, "MinLength": 1},
                "Free": {"Type": "String"},
                "Version": {"Type": "String", "AllowedPattern": "^[0-9]+\\.[0-9]+.*$"},
                "Env": {"Type": "String", "Default": "prod"}
            },
            "Mappings": {"M": {"prod": {"Size": "c5.2xlarge"}}},
            "Conditions": {
                "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "HasFree": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Free"}, ""]}]}
            },
            "Resources": {"Eni": {"Type": "AWS::EC2::NetworkInterface"}}
        })
    }

    #[test]
    fn when_a_parameter_has_a_value_or_default_then_ref_resolves_in_that_order() {
        let t = template();
        let c = ctx_of(&t, ParameterValues::default());
        assert_eq!(
            c.eval(&json!({"Ref": "Size"})).as_text().as_deref(),
            Some("c5.xlarge")
        );
        let mut given = ParameterValues::default();
        given
            .values
            .insert("Size".into(), ParameterValue::Value("c5.4xlarge".into()));
        let c = ctx_of(&t, given);
        assert_eq!(
            c.eval(&json!({"Ref": "Size"})).as_text().as_deref(),
            Some("c5.4xlarge")
        );
    }

    #[test]
    fn when_a_parameter_has_no_value_then_it_is_a_hole_that_knows_whether_it_can_be_empty() {
        let t = template();
        let c = ctx_of(&t, ParameterValues::default());
        let hole = |p: &str| match c.eval(&json!({ "Ref": p })) {
            Val::Unknown(h) => h,
            other => panic!("{other:?}"),
        };
        assert!(hole("Code").non_empty, "MinLength 1");
        assert!(hole("Version").non_empty, "AllowedPattern needs digits");
        assert!(!hole("Free").non_empty);
        assert!(hole("Free").why.contains("no value"));
    }

    #[test]
    fn when_sub_join_if_and_find_in_map_are_known_then_they_resolve() {
        let t = template();
        let given = ParameterValues {
            stack_name: Some("ssr-1".into()),
            ..ParameterValues::default()
        };
        let c = ctx_of(&t, given);
        assert_eq!(
            c.text(&json!({"Fn::Sub": "${AWS::StackName}-${Size}-${!Lit}"}))
                .as_text()
                .as_deref(),
            Some("ssr-1-c5.xlarge-${Lit}")
        );
        assert_eq!(
            c.text(&json!({"Fn::Sub": ["${A}/${Size}", {"A": {"Fn::Join": [":", ["x", {"Ref": "Env"}]]}}]}))
                .as_text()
                .as_deref(),
            Some("x:prod/c5.xlarge")
        );
        assert_eq!(
            c.eval(&json!({"Fn::If": ["IsProd", {"Fn::FindInMap": ["M", {"Ref": "Env"}, "Size"]}, "t3.micro"]}))
                .as_text()
                .as_deref(),
            Some("c5.2xlarge")
        );
        assert_eq!(
            c.eval(&json!({"Ref": "Eni"})),
            Val::Resource {
                id: "Eni".into(),
                attr: None
            }
        );
    }

    #[test]
    fn when_a_value_depends_on_deployment_then_it_is_unknown_never_guessed() {
        let t = template();
        let c = ctx_of(&t, ParameterValues::default());
        for v in [
            json!({"Fn::ImportValue": "x"}),
            json!({"Fn::If": ["HasFree", "a", "b"]}),
            json!("{{resolve:ssm:/x}}"),
        ] {
            assert!(matches!(c.eval(&v), Val::Unknown(_)), "{v}");
        }
        match c.text(&json!({"Fn::Sub": "a-${Free}-${Eni.Arn}"})) {
            Val::Text(segs) => {
                assert_eq!(segs.len(), 4, "{segs:?}");
                assert!(matches!(&segs[3], Seg::Hole(h) if h.non_empty));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.take_read(), ["Free"]);
    }

    #[test]
    fn when_a_condition_refers_to_itself_then_evaluation_stops_with_a_reason() {
        let t = json!({
            "Conditions": {
                "Loop": {"Fn::Equals": [{"Fn::If": ["Loop", "a", "b"]}, "a"]},
                "A": {"Condition": "B"},
                "B": {"Fn::Not": [{"Condition": "A"}]}
            },
            "Resources": {"R": {"Type": "X"}}
        });
        let c = ctx_of(&t, ParameterValues::default());
        for cond in ["Loop", "A"] {
            let v = c.eval(&json!({"Fn::If": [cond, "x", "y"]}));
            assert!(matches!(v, Val::Unknown(_)), "{cond}: {v:?}");
        }
    }

    #[test]
    fn when_conditions_branch_deeply_then_each_is_evaluated_once() {
        // Ten levels, each naming the next eight times: 8^10 evaluations without memoisation.
        let mut conditions = serde_json::Map::new();
        for i in 0..10 {
            let next = json!({"Condition": format!("C{}", i + 1)});
            conditions.insert(format!("C{i}"), json!({"Fn::And": vec![next; 8]}));
        }
        conditions.insert("C10".into(), json!({"Fn::Equals": ["a", "a"]}));
        let t = json!({"Conditions": conditions, "Resources": {"R": {"Type": "X"}}});
        let c = ctx_of(&t, ParameterValues::default());
        let v = c.eval(&json!({"Fn::If": ["C0", "x", "y"]}));
        assert_eq!(v.as_text().as_deref(), Some("x"), "{v:?}");
    }

    #[test]
    fn when_intrinsics_nest_without_end_then_evaluation_stops_with_a_reason() {
        let mut v = json!("x");
        for _ in 0..100 {
            v = json!({"Fn::Base64": v});
        }
        let t = template();
        let c = ctx_of(&t, ParameterValues::default());
        assert!(matches!(c.text(&v), Val::Unknown(h) if h.why.contains("nested")));
    }
}
