//! The templates as CloudFormation evaluates them, for tests that need what a template becomes
//! under given parameter values, account and region: which resources exist, and what their
//! properties and policies say.
//!
//! The `template` loader drops the short-form tags (`!Not [!Equals …]` and `!Equals …` then look
//! alike); this one keeps each as its long form (`!Ref X` → `{Ref: X}`, `!Sub s` →
//! `{Fn::Sub: s}`, `!GetAtt A.B` → `{Fn::GetAtt: [A, B]}`, `!Condition C` → `{Condition: C}`),
//! and [`Stack`] evaluates `Conditions`, `Ref` (parameters, pseudo parameters, `AWS::NoValue`),
//! `Fn::If`, `Fn::Sub` (both forms), `Fn::Join`, `Fn::Split`, `Fn::Select` and `Fn::GetAtt`
//! (to `"A.B"`, a resource's reference to itself being all a test needs).
#![allow(dead_code)]

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::yaml::Hash;
use yaml_rust2::Yaml;

pub const TEMPLATE: &str = include_str!("../../../../infra/template.yaml");
pub const MEMBER: &str = include_str!("../../../../infra/member.yaml");

// ------------------------------------------------------------------ loading, tags kept

#[derive(Default)]
struct Builder {
    /// Open sequences and mappings, each with the long-form name of its tag.
    stack: Vec<(Yaml, Option<String>)>,
    /// For each open mapping: the key read, waiting for its value.
    keys: Vec<Option<Yaml>>,
    doc: Option<Yaml>,
}

/// `!Ref` → `Ref`, `!Condition` → `Condition`, `!Sub` → `Fn::Sub`; `None` for YAML's own tags.
fn long_form(tag: &Option<Tag>) -> Option<String> {
    let tag = tag.as_ref()?;
    if tag.handle.starts_with("tag:yaml.org") {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" | "Condition" => tag.suffix.clone(),
        other => format!("Fn::{other}"),
    })
}

fn wrap(name: Option<String>, node: Yaml) -> Yaml {
    let Some(name) = name else { return node };
    let node = match (name.as_str(), node) {
        ("Fn::GetAtt", Yaml::String(s)) => {
            let (resource, attribute) = s.split_once('.').expect("!GetAtt A.B");
            Yaml::Array(vec![
                Yaml::String(resource.into()),
                Yaml::String(attribute.into()),
            ])
        }
        (_, node) => node,
    };
    let mut h = Hash::new();
    h.insert(Yaml::String(name), node);
    Yaml::Hash(h)
}

impl Builder {
    fn insert(&mut self, node: Yaml) {
        match self.stack.last_mut() {
            None => self.doc = Some(node),
            Some((Yaml::Array(items), _)) => items.push(node),
            Some((Yaml::Hash(h), _)) => {
                let key = self.keys.last_mut().expect("a key slot per mapping");
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => {
                        h.insert(k, node);
                    }
                }
            }
            Some(_) => unreachable!("only sequences and mappings are open"),
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        match ev {
            Event::Scalar(v, style, _, tag) => {
                let name = long_form(&tag);
                let node = if style == TScalarStyle::Plain && name.is_none() && tag.is_none() {
                    Yaml::from_str(&v)
                } else {
                    Yaml::String(v)
                };
                self.insert(wrap(name, node));
            }
            Event::SequenceStart(_, tag) => self.stack.push((Yaml::Array(vec![]), long_form(&tag))),
            Event::MappingStart(_, tag) => {
                self.stack.push((Yaml::Hash(Hash::new()), long_form(&tag)));
                self.keys.push(None);
            }
            Event::SequenceEnd => {
                let (node, name) = self.stack.pop().expect("an open sequence");
                self.insert(wrap(name, node));
            }
            Event::MappingEnd => {
                self.keys.pop();
                let (node, name) = self.stack.pop().expect("an open mapping");
                self.insert(wrap(name, node));
            }
            Event::Alias(_) => panic!("the templates use no YAML aliases"),
            _ => {}
        }
    }
}

/// A template's text, tags kept as their long forms.
pub fn parse(text: &str) -> Yaml {
    let mut builder = Builder::default();
    Parser::new_from_str(text)
        .load(&mut builder, false)
        .expect("the template parses as YAML");
    builder.doc.expect("one document")
}

// ------------------------------------------------------------------ evaluating

/// A template deployed with some parameter values, in an account and region.
pub struct Stack {
    doc: Yaml,
    values: BTreeMap<String, Yaml>,
    conditions: BTreeMap<String, bool>,
}

/// One pseudo parameter or template parameter value.
pub type Given<'a> = (&'a str, &'a str);

fn text_of(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn single_key(y: &Yaml) -> Option<(&str, &Yaml)> {
    let h = y.as_hash()?;
    if h.len() != 1 {
        return None;
    }
    let (k, v) = h.iter().next()?;
    Some((k.as_str()?, v))
}

impl Stack {
    /// `text` deployed as stack `stack_name` in `account`/`region` (partition `aws`), with
    /// `parameters` (the others take their `Default`; a parameter without one must be given).
    pub fn new(
        text: &str,
        stack_name: &str,
        account: &str,
        region: &str,
        parameters: &[Given],
    ) -> Self {
        let doc = parse(text);
        let given: BTreeMap<&str, &str> = parameters.iter().copied().collect();
        let declared = doc["Parameters"].as_hash().expect("Parameters");
        for name in given.keys() {
            assert!(
                declared.contains_key(&Yaml::String((*name).into())),
                "{name} is not a parameter of this template"
            );
        }
        let mut values = BTreeMap::new();
        for (name, p) in declared {
            let name = name.as_str().expect("a parameter name");
            let value = match given.get(name) {
                Some(v) => v.to_string(),
                None => text_of(&p["Default"])
                    .unwrap_or_else(|| panic!("parameter {name} has no Default: give it")),
            };
            let value = if p["Type"].as_str() == Some("CommaDelimitedList") {
                Yaml::Array(value.split(',').map(|s| Yaml::String(s.into())).collect())
            } else {
                Yaml::String(value)
            };
            values.insert(name.to_string(), value);
        }
        for (k, v) in [
            ("AWS::AccountId", account),
            ("AWS::Region", region),
            ("AWS::Partition", "aws"),
            ("AWS::StackName", stack_name),
            ("AWS::URLSuffix", "amazonaws.com"),
        ] {
            values.insert(k.into(), Yaml::String(v.into()));
        }
        let mut stack = Stack {
            doc,
            values,
            conditions: BTreeMap::new(),
        };
        let names: Vec<String> = stack.doc["Conditions"]
            .as_hash()
            .map(|h| {
                h.keys()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for name in names {
            let v = stack.condition(&name);
            stack.conditions.insert(name, v);
        }
        stack
    }

    /// The value of the template condition `name`.
    pub fn condition(&self, name: &str) -> bool {
        if let Some(v) = self.conditions.get(name) {
            return *v;
        }
        let expr = &self.doc["Conditions"][name];
        assert!(!expr.is_badvalue(), "no condition {name}");
        self.truth(expr)
    }

    fn truth(&self, expr: &Yaml) -> bool {
        let (f, args) =
            single_key(expr).unwrap_or_else(|| panic!("a condition function: {expr:?}"));
        let list = || args.as_vec().expect("a list of arguments");
        match f {
            "Fn::Equals" => {
                let [a, b] = list().as_slice() else {
                    panic!("Fn::Equals takes two values")
                };
                let a = self.resolve(a).as_ref().and_then(text_of);
                let b = self.resolve(b).as_ref().and_then(text_of);
                a == b
            }
            "Fn::Not" => !self.truth(&list()[0]),
            "Fn::And" => list().iter().all(|c| self.truth(c)),
            "Fn::Or" => list().iter().any(|c| self.truth(c)),
            "Condition" => self.condition(args.as_str().expect("a condition name")),
            other => panic!("not a condition function: {other}"),
        }
    }

    /// `y` with every intrinsic function resolved; `None` for `AWS::NoValue`.
    pub fn resolve(&self, y: &Yaml) -> Option<Yaml> {
        if let Some((f, args)) = single_key(y) {
            if let Some(v) = self.function(f, args) {
                return v;
            }
        }
        Some(match y {
            Yaml::Array(items) => {
                Yaml::Array(items.iter().filter_map(|i| self.resolve(i)).collect())
            }
            Yaml::Hash(h) => {
                let mut out = Hash::new();
                for (k, v) in h {
                    if let Some(v) = self.resolve(v) {
                        out.insert(k.clone(), v);
                    }
                }
                Yaml::Hash(out)
            }
            other => other.clone(),
        })
    }

    /// `Some(value)` when `f` is an intrinsic function (its value may be "no value").
    fn function(&self, f: &str, args: &Yaml) -> Option<Option<Yaml>> {
        let list = || args.as_vec().unwrap_or_else(|| panic!("{f} takes a list"));
        let text = |y: &Yaml| {
            self.resolve(y)
                .as_ref()
                .and_then(text_of)
                .unwrap_or_else(|| panic!("{f}: a string argument, not {y:?}"))
        };
        Some(match f {
            "Ref" => {
                let name = args.as_str().expect("Ref names something");
                if name == "AWS::NoValue" {
                    None
                } else {
                    Some(
                        self.values
                            .get(name)
                            .cloned()
                            // A resource: its logical id stands for its physical id.
                            .unwrap_or_else(|| Yaml::String(name.into())),
                    )
                }
            }
            "Fn::GetAtt" => Some(Yaml::String(
                list()
                    .iter()
                    .filter_map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            )),
            "Fn::If" => {
                let [c, then, otherwise] = list().as_slice() else {
                    panic!("Fn::If takes three values")
                };
                let c = c.as_str().expect("Fn::If names a condition");
                self.resolve(if self.condition(c) { then } else { otherwise })
            }
            "Fn::Sub" => Some(Yaml::String(match args {
                Yaml::String(s) => self.substitute(s, &Hash::new()),
                Yaml::Array(a) => {
                    let s = a[0].as_str().expect("Fn::Sub's text");
                    let vars = a[1].as_hash().expect("Fn::Sub's variables");
                    self.substitute(s, vars)
                }
                other => panic!("Fn::Sub of {other:?}"),
            })),
            "Fn::Join" => {
                let [sep, items] = list().as_slice() else {
                    panic!("Fn::Join takes two values")
                };
                let items = self.resolve(items).expect("Fn::Join's list");
                let items: Vec<String> = items
                    .as_vec()
                    .expect("Fn::Join's list")
                    .iter()
                    .filter_map(text_of)
                    .collect();
                Some(Yaml::String(items.join(sep.as_str().expect("separator"))))
            }
            "Fn::Split" => {
                let [sep, s] = list().as_slice() else {
                    panic!("Fn::Split takes two values")
                };
                let sep = sep.as_str().expect("separator");
                Some(Yaml::Array(
                    text(s).split(sep).map(|p| Yaml::String(p.into())).collect(),
                ))
            }
            "Fn::Select" => {
                let [i, items] = list().as_slice() else {
                    panic!("Fn::Select takes two values")
                };
                let i: usize = text(i).parse().expect("an index");
                let items = self.resolve(items).expect("Fn::Select's list");
                Some(items.as_vec().expect("a list")[i].clone())
            }
            _ => return None,
        })
    }

    fn substitute(&self, text: &str, vars: &Hash) -> String {
        let var = Regex::new(r"\$\{(!?)([^}]*)\}").expect("regex");
        var.replace_all(text, |c: &regex::Captures| {
            let name = &c[2];
            if !c[1].is_empty() {
                return format!("${{{name}}}");
            }
            if let Some(v) = vars.get(&Yaml::String(name.into())) {
                return self
                    .resolve(v)
                    .as_ref()
                    .and_then(text_of)
                    .unwrap_or_else(|| panic!("Fn::Sub variable {name} is not a string"));
            }
            match self.values.get(name) {
                Some(v) => text_of(v).unwrap_or_else(|| panic!("${{{name}}} is a list")),
                // A resource (or A.Attribute): its name stands for it.
                None => name.to_string(),
            }
        })
        .into_owned()
    }

    /// The resources that exist (their `Condition` holds), resolved.
    pub fn resources(&self) -> BTreeMap<String, Yaml> {
        let mut out = BTreeMap::new();
        for (name, r) in self.doc["Resources"].as_hash().expect("Resources") {
            let name = name.as_str().expect("a logical id").to_string();
            if let Some(c) = r["Condition"].as_str() {
                if !self.condition(c) {
                    continue;
                }
            }
            out.insert(name, self.resolve(r).expect("a resource"));
        }
        out
    }

    /// One resource, if it exists.
    pub fn resource(&self, name: &str) -> Option<Yaml> {
        self.resources().remove(name)
    }

    /// The `Allow` statements granted to the IAM role `role`: its inline policies, the managed
    /// policies of this template it lists or that list it.
    pub fn role_statements(&self, role: &str) -> Vec<Value> {
        let resources = self.resources();
        let r = resources
            .get(role)
            .unwrap_or_else(|| panic!("no role {role} in this deployment"));
        let mut documents: Vec<Value> = Vec::new();
        for p in r["Properties"]["Policies"].as_vec().into_iter().flatten() {
            documents.push(document(&p["PolicyDocument"]));
        }
        for arn in r["Properties"]["ManagedPolicyArns"]
            .as_vec()
            .into_iter()
            .flatten()
        {
            let name = arn.as_str().expect("a managed policy reference");
            let policy = resources
                .get(name)
                .unwrap_or_else(|| panic!("{role} lists {name}, not a policy of this template"));
            documents.push(document(&policy["Properties"]["PolicyDocument"]));
        }
        for r in resources.values() {
            if r["Type"].as_str() == Some("AWS::IAM::ManagedPolicy")
                && r["Properties"]["Roles"]
                    .as_vec()
                    .is_some_and(|roles| roles.iter().any(|x| x.as_str() == Some(role)))
            {
                documents.push(document(&r["Properties"]["PolicyDocument"]));
            }
        }
        documents
            .into_iter()
            .flat_map(|d| match d["Statement"].clone() {
                Value::Array(s) => s,
                one => vec![one],
            })
            .filter(|s| s["Effect"] == "Allow")
            .collect()
    }
}

/// A resolved policy document (YAML, or a JSON string from `!Sub`) as JSON.
pub fn document(y: &Yaml) -> Value {
    match y.as_str() {
        Some(text) => serde_json::from_str(text)
            .unwrap_or_else(|e| panic!("a policy document is not JSON ({e}):\n{text}")),
        None => json(y),
    }
}

/// A resolved YAML value as JSON.
pub fn json(y: &Yaml) -> Value {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Value::String(s.clone()),
        Yaml::Integer(i) => Value::from(*i),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Array(items) => Value::Array(items.iter().map(json).collect()),
        Yaml::Hash(h) => Value::Object(
            h.iter()
                .map(|(k, v)| (text_of(k).expect("a string key"), json(v)))
                .collect(),
        ),
        _ => Value::Null,
    }
}

/// A statement's actions or resources (a string or a list of strings).
pub fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect(),
        _ => vec![],
    }
}

// ------------------------------------------------------------------ IAM matching

/// IAM's wildcard match: `*` any run of characters, `?` exactly one.
pub fn glob(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    // matched[j]: pattern[..i] matches value[..j].
    let mut matched = vec![false; v.len() + 1];
    matched[0] = true;
    for pc in p {
        let mut next = vec![false; v.len() + 1];
        for j in 0..=v.len() {
            next[j] = match pc {
                '*' => matched[j] || (j > 0 && next[j - 1]),
                '?' => j > 0 && matched[j - 1],
                c => j > 0 && matched[j - 1] && v[j - 1] == c,
            };
        }
        matched = next;
    }
    matched[v.len()]
}

/// IAM's `ArnLike`: the six colon-separated parts of the ARN are matched one by one, each with
/// [`glob`] (so a `*` never spans a colon of the first five separators).
pub fn arn_like(pattern: &str, arn: &str) -> bool {
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let a: Vec<&str> = arn.splitn(6, ':').collect();
    p.len() == 6 && a.len() == 6 && p.iter().zip(&a).all(|(p, a)| glob(p, a))
}
