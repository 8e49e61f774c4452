//! Reading a CloudFormation template (JSON, or YAML with the short tags `!Ref`, `!Sub`, `!GetAtt`,
//! `!If`, …) and a parameters file into plain JSON values. Short tags become their long form
//! (`!Ref X` → `{"Ref": "X"}`, `!Sub s` → `{"Fn::Sub": s}`), so the evaluator sees one shape.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

/// CloudFormation's limit for a template body read from S3 (`TemplateURL`): larger files are
/// refused without parsing.
pub const MAX_TEMPLATE_BYTES: usize = 1_000_000;
/// Nesting depth of YAML sequences and mappings (real templates nest a dozen levels).
const MAX_DEPTH: usize = 128;

/// Why a template or parameters file could not be read. Messages carry positions, never the
/// file's content (a parameters file holds the registration code).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SourceError {
    #[error("cannot read {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("{path} is {size} bytes, over CloudFormation's template limit of {MAX_TEMPLATE_BYTES} bytes")]
    TooLarge { path: String, size: usize },
    #[error("{path} is not UTF-8 text")]
    NotText { path: String },
    #[error("{path} is not valid JSON (line {line}, column {column})")]
    Json {
        path: String,
        line: usize,
        column: usize,
    },
    #[error("{path} is not valid YAML (line {line}, column {column}): {what}")]
    Yaml {
        path: String,
        line: usize,
        column: usize,
        what: String,
    },
    #[error("{path}: {what}")]
    Shape { path: String, what: String },
}

/// Reads a file as text, refusing what is too large or not UTF-8.
pub fn read_text(path: &str) -> Result<String, SourceError> {
    let bytes = std::fs::read(path).map_err(|e| SourceError::Io {
        path: path.to_string(),
        reason: e.kind().to_string(),
    })?;
    if bytes.len() > MAX_TEMPLATE_BYTES {
        return Err(SourceError::TooLarge {
            path: path.to_string(),
            size: bytes.len(),
        });
    }
    String::from_utf8(bytes).map_err(|_| SourceError::NotText {
        path: path.to_string(),
    })
}

/// A template's text (JSON when it starts with `{`, YAML otherwise) as one JSON object with a
/// `Resources` mapping.
pub fn parse_template(path: &str, text: &str) -> Result<Value, SourceError> {
    let value = parse_document(path, text)?;
    let shape = |what: &str| SourceError::Shape {
        path: path.to_string(),
        what: what.to_string(),
    };
    let Some(obj) = value.as_object() else {
        return Err(shape(
            "not a CloudFormation template (the document is not a mapping)",
        ));
    };
    match obj.get("Resources") {
        Some(Value::Object(r)) if !r.is_empty() => Ok(value),
        _ => Err(shape(
            "not a CloudFormation template (no Resources mapping)",
        )),
    }
}

/// JSON or YAML text as a JSON value.
pub fn parse_document(path: &str, text: &str) -> Result<Value, SourceError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with(['{', '[']) {
        return serde_json::from_str(text).map_err(|e| SourceError::Json {
            path: path.to_string(),
            line: e.line(),
            column: e.column(),
        });
    }
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        return Err(SourceError::Yaml {
            path: path.to_string(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
            what: e.info().to_string(),
        });
    }
    if let Some((what, mark)) = builder.error {
        return Err(SourceError::Yaml {
            path: path.to_string(),
            line: mark.line(),
            column: mark.col() + 1,
            what,
        });
    }
    builder.root.ok_or_else(|| SourceError::Shape {
        path: path.to_string(),
        what: "the file is empty".to_string(),
    })
}

/// Builds JSON values from the YAML parser's events, keeping CloudFormation's local tags.
#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    error: Option<(String, Marker)>,
}

enum Frame {
    Seq(Vec<Value>, Option<Tag>),
    Map(Map<String, Value>, Option<String>, Option<Tag>),
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let result = match ev {
            Event::Scalar(text, style, _, tag) => scalar(text, style, tag).map(Some),
            Event::SequenceStart(_, tag) => self.open(Frame::Seq(Vec::new(), tag)),
            Event::MappingStart(_, tag) => self.open(Frame::Map(Map::new(), None, tag)),
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Seq(items, tag)) => Ok(Some(tagged(Value::Array(items), tag))),
                Some(Frame::Map(map, _, tag)) => Ok(Some(tagged(Value::Object(map), tag))),
                None => Ok(None),
            },
            Event::Alias(_) => Err("YAML aliases are not supported by CloudFormation".to_string()),
            _ => Ok(None),
        };
        match result.and_then(|v| match v {
            Some(v) => self.push(v),
            None => Ok(()),
        }) {
            Ok(()) => {}
            Err(what) => self.error = Some((what, mark)),
        }
    }
}

impl Builder {
    fn open(&mut self, frame: Frame) -> Result<Option<Value>, String> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(format!("nests deeper than {MAX_DEPTH} levels"));
        }
        self.stack.push(frame);
        Ok(None)
    }

    fn push(&mut self, value: Value) -> Result<(), String> {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(value);
                }
                Ok(())
            }
            Some(Frame::Seq(items, _)) => {
                items.push(value);
                Ok(())
            }
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None => {
                    let key = match value {
                        Value::String(s) => s,
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Null => String::new(),
                        _ => return Err("a mapping key is not a scalar".to_string()),
                    };
                    if map.contains_key(&key) {
                        return Err(format!("duplicate mapping key `{key}`"));
                    }
                    *pending = Some(key);
                    Ok(())
                }
                Some(key) => {
                    map.insert(key, value);
                    Ok(())
                }
            },
        }
    }
}

/// A CloudFormation short tag's long name: `!Ref` → `Ref`, `!Condition` → `Condition`, `!Sub` →
/// `Fn::Sub`. `None` for YAML's own tags (`!!str`, …).
fn function_name(tag: &Tag) -> Option<String> {
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" | "Condition" => tag.suffix.clone(),
        other => format!("Fn::{other}"),
    })
}

fn tagged(value: Value, tag: Option<Tag>) -> Value {
    match tag.as_ref().and_then(function_name) {
        Some(name) => {
            let mut m = Map::new();
            m.insert(name, value);
            Value::Object(m)
        }
        None => value,
    }
}

fn scalar(text: String, style: TScalarStyle, tag: Option<Tag>) -> Result<Value, String> {
    if let Some(tag) = &tag {
        if function_name(tag).is_some() {
            return Ok(tagged(Value::String(text), Some(tag.clone())));
        }
        // YAML's own tags: `!!str` keeps the text; others resolve as plain scalars.
        if tag.suffix == "str" {
            return Ok(Value::String(text));
        }
    }
    if style != TScalarStyle::Plain {
        return Ok(Value::String(text));
    }
    Ok(match Yaml::from_str(&text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::Number(Number::from(i)),
        // Reals keep their text (`6.10` is a version more often than a number).
        _ => Value::String(text),
    })
}

/// A parameters file: parameter values by key, and the stack name when the file gives one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ParameterValues {
    pub values: BTreeMap<String, ParameterValue>,
    /// `StackName` of the guide's flat file (`router.parameters.json`): `AWS::StackName`.
    pub stack_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParameterValue {
    Value(String),
    /// `UsePreviousValue: true`: the deployed stack's value, unknown here.
    Previous,
}

/// Reads the three parameter file shapes in use:
/// - `[{"ParameterKey": k, "ParameterValue": v}, …]` (`aws cloudformation create-stack
///   --parameters file://…`; `UsePreviousValue` is honoured as "unknown");
/// - `{"Parameters": {k: v, …}}` (CodePipeline's template configuration file);
/// - `{k: v, …}` (the guide's `router.parameters.json`, whose `StackName` names the stack).
pub fn parse_parameters(path: &str, text: &str) -> Result<ParameterValues, SourceError> {
    let shape = |what: String| SourceError::Shape {
        path: path.to_string(),
        what,
    };
    let doc = parse_document(path, text)?;
    let mut out = ParameterValues::default();
    match &doc {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let key = item
                    .get("ParameterKey")
                    .and_then(Value::as_str)
                    .ok_or_else(|| shape(format!("entry {i} has no ParameterKey string")))?;
                let previous = item.get("UsePreviousValue").and_then(Value::as_bool) == Some(true);
                let value = match item.get("ParameterValue") {
                    _ if previous => ParameterValue::Previous,
                    Some(v) => ParameterValue::Value(scalar_text(v).ok_or_else(|| {
                        shape(format!("the ParameterValue of {key} is not a string"))
                    })?),
                    None => {
                        return Err(shape(format!(
                            "{key} has neither ParameterValue nor UsePreviousValue"
                        )))
                    }
                };
                out.values.insert(key.to_string(), value);
            }
        }
        Value::Object(obj) => {
            let (map, flat) = match obj.get("Parameters") {
                Some(Value::Object(p)) => (p, false),
                Some(_) => return Err(shape("Parameters is not a mapping".to_string())),
                None => (obj, true),
            };
            for (key, v) in map {
                let text = scalar_text(v)
                    .ok_or_else(|| shape(format!("the value of {key} is not a string")))?;
                if flat && key == "StackName" {
                    out.stack_name = Some(text);
                } else {
                    out.values.insert(key.clone(), ParameterValue::Value(text));
                }
            }
        }
        _ => return Err(shape(
            "not a parameters file (expected a list of ParameterKey/ParameterValue or a mapping)"
                .to_string(),
        )),
    }
    Ok(out)
}

/// A parameter value as CloudFormation takes it: a string (numbers and booleans as written; a
/// list joined with commas, as for `CommaDelimitedList`).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::Array(_) | Value::Object(_) => None,
                other => scalar_text(other),
            })
            .collect::<Option<Vec<_>>>()
            .map(|parts| parts.join(",")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_yaml_has_short_tags_then_they_become_long_form() {
        let text = "Resources:\n  A:\n    Type: X\n    Properties:\n      R: !Ref P\n      S: !Sub '${AWS::StackName}-x'\n      G: !GetAtt B.Arn\n      I: !If [C, 1, \"2\"]\n      N: !Not [!Equals [!Ref P, '']]\n      B: !Base64\n        Fn::Sub: |\n          text\n";
        let v = parse_template("t.yaml", text).unwrap();
        let p = &v["Resources"]["A"]["Properties"];
        assert_eq!(p["R"], json!({"Ref": "P"}));
        assert_eq!(p["S"], json!({"Fn::Sub": "${AWS::StackName}-x"}));
        assert_eq!(p["G"], json!({"Fn::GetAtt": "B.Arn"}));
        assert_eq!(p["I"], json!({"Fn::If": ["C", 1, "2"]}));
        assert_eq!(
            p["N"],
            json!({"Fn::Not": [{"Fn::Equals": [{"Ref": "P"}, ""]}]})
        );
        assert_eq!(p["B"], json!({"Fn::Base64": {"Fn::Sub": "text\n"}}));
    }

    #[test]
    fn when_yaml_uses_an_alias_then_it_is_refused_with_its_position() {
        let text = "Resources:\n  A: &a\n    Type: X\n  B: *a\n";
        let err = parse_template("t.yaml", text).unwrap_err();
        assert!(
            matches!(&err, SourceError::Yaml { line: 4, what, .. } if what.contains("aliases")),
            "{err}"
        );
    }

    #[test]
    fn when_a_key_repeats_then_it_is_refused() {
        let err =
            parse_template("t.yaml", "Resources:\n  A: {Type: X}\n  A: {Type: Y}\n").unwrap_err();
        assert!(err.to_string().contains("duplicate"), "{err}");
    }

    #[test]
    fn when_not_a_template_then_shape_error() {
        assert!(matches!(
            parse_template("t.yaml", "- a\n- b\n"),
            Err(SourceError::Shape { .. })
        ));
        assert!(matches!(
            parse_template("t.json", "{\"Resources\": {}}"),
            Err(SourceError::Shape { .. })
        ));
        assert!(matches!(
            parse_template("t.json", "{\"Resources\": "),
            Err(SourceError::Json { line: 1, .. })
        ));
    }

    #[test]
    fn when_parameters_come_in_each_shape_then_values_are_read() {
        let cli = r#"[{"ParameterKey": "A", "ParameterValue": "1"},
                      {"ParameterKey": "B", "UsePreviousValue": true}]"#;
        let p = parse_parameters("p.json", cli).unwrap();
        assert_eq!(p.values["A"], ParameterValue::Value("1".into()));
        assert_eq!(p.values["B"], ParameterValue::Previous);
        let pipeline = r#"{"Parameters": {"A": "x", "N": 5}, "Tags": {"t": "v"}}"#;
        let p = parse_parameters("p.json", pipeline).unwrap();
        assert_eq!(p.values["N"], ParameterValue::Value("5".into()));
        assert!(!p.values.contains_key("Tags"));
        let flat = r#"{"StackName": "ssr-1", "InstanceType": "c5.xlarge", "L": ["a", "b"]}"#;
        let p = parse_parameters("p.json", flat).unwrap();
        assert_eq!(p.stack_name.as_deref(), Some("ssr-1"));
        assert_eq!(p.values["L"], ParameterValue::Value("a,b".into()));
        assert!(!p.values.contains_key("StackName"));
    }

    #[test]
    fn when_a_parameters_file_is_malformed_then_the_error_has_no_content() {
        let err = parse_parameters(
            "p.json",
            r#"[{"ParameterKey": "RegistrationCode", "ParameterValue": "SECRET-1"#,
        )
        .unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
        let err = parse_parameters("p.json", r#"[{"ParameterValue": "SECRET-1"}]"#).unwrap_err();
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}
