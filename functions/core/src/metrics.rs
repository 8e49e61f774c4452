//! CloudWatch metrics as Embedded Metric Format (EMF) lines: one JSON document per dimension
//! set, printed on stdout, where Lambda ships them to CloudWatch Logs and CloudWatch extracts the
//! metrics. No API call, no extra permission, no latency.
//!
//! The contract (the template's alarms and dashboard use exactly this): namespace
//! [`NAMESPACE`], dimension `Function` ([`Function`]); `Findings` also has `Code`.
//!
//! | metric             | unit         | when                                                     |
//! |--------------------|--------------|----------------------------------------------------------|
//! | `FindingsOpen`     | Count        | guard, stack-watch: findings not fixed, above info        |
//! | `Findings`         | Count        | the same findings by `Code`, one document per code       |
//! | `FixesApplied`     | Count        | guard, stack-watch: fixes written and verified           |
//! | `FixesFailed`      | Count        | guard, stack-watch: fixes refused or not verified        |
//! | `AlertsSent`       | Count        | every function: alerts published this invocation         |
//! | `RoutersOverdue`   | Count        | every watchdog sweep: routers overdue now                 |
//! | `OnboardingSeconds`| Seconds      | one value per episode finished with a measured duration  |
//! | `MistReadFailures` | Count        | every sweep that needed Mist: 1 failed, 0 read           |
//! | `DurationMs`       | Milliseconds | every invocation, errors included                        |
//!
//! The metrics of an invocation derive from its outcome: each outcome type implements
//! [`Measured`] beside its definition (the handlers' modules); the Lambda boundary adds
//! `DurationMs` and prints them. This module knows EMF, not the handlers.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

pub const NAMESPACE: &str = "SsrOnboard";
/// EMF takes at most 100 values per metric in one document.
const MAX_VALUES: usize = 100;

pub const FINDINGS_OPEN: &str = "FindingsOpen";
pub const FINDINGS: &str = "Findings";
pub const FIXES_APPLIED: &str = "FixesApplied";
pub const FIXES_FAILED: &str = "FixesFailed";
pub const ALERTS_SENT: &str = "AlertsSent";
pub const ROUTERS_OVERDUE: &str = "RoutersOverdue";
pub const ONBOARDING_SECONDS: &str = "OnboardingSeconds";
pub const MIST_READ_FAILURES: &str = "MistReadFailures";
/// Member accounts (× regions) an organization sweep could not read.
pub const MEMBERS_UNREACHABLE: &str = "MembersUnreachable";
/// Member accounts (× regions) an organization sweep has never been able to read (no member
/// role there yet: `not-enrolled`).
pub const MEMBERS_NOT_ENROLLED: &str = "MembersNotEnrolled";
pub const DURATION_MS: &str = "DurationMs";

pub use ssr_domain::function::Function;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Seconds,
    Milliseconds,
}

impl Unit {
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Seconds => "Seconds",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Datum {
    name: &'static str,
    unit: Unit,
    /// Dimensions besides `Function` (e.g. `Code`).
    dimensions: Vec<(&'static str, String)>,
    values: Vec<f64>,
}

/// The metrics of one invocation. Counts with the same name and dimensions add up; other units
/// keep every value.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    data: Vec<Datum>,
}

impl Metrics {
    /// Adds `n` to the count `name` (created at `n`, so a 0 is reported too).
    pub fn count(&mut self, name: &'static str, n: usize) -> &mut Self {
        self.count_by(name, &[], n)
    }

    /// Adds `n` to the count `name` with the extra dimensions `dims`.
    pub fn count_by(
        &mut self,
        name: &'static str,
        dims: &[(&'static str, &str)],
        n: usize,
    ) -> &mut Self {
        let dims: Vec<(&'static str, String)> =
            dims.iter().map(|(k, v)| (*k, v.to_string())).collect();
        let n = n as f64;
        match self
            .data
            .iter_mut()
            .find(|d| d.name == name && d.unit == Unit::Count && d.dimensions == dims)
        {
            Some(d) => d.values[0] += n,
            None => self.data.push(Datum {
                name,
                unit: Unit::Count,
                dimensions: dims,
                values: vec![n],
            }),
        }
        self
    }

    /// Records the values of `name` (seconds, milliseconds: one data point each).
    pub fn values(&mut self, name: &'static str, unit: Unit, values: &[f64]) -> &mut Self {
        if values.is_empty() {
            return self;
        }
        match self
            .data
            .iter_mut()
            .find(|d| d.name == name && d.unit == unit && d.dimensions.is_empty())
        {
            Some(d) => d.values.extend_from_slice(values),
            None => self.data.push(Datum {
                name,
                unit,
                dimensions: Vec::new(),
                values: values.to_vec(),
            }),
        }
        self
    }

    /// Everything in `other` added to this.
    pub fn merge(&mut self, other: Metrics) -> &mut Self {
        for d in other.data {
            if d.unit == Unit::Count {
                let dims: Vec<(&'static str, &str)> =
                    d.dimensions.iter().map(|(k, v)| (*k, v.as_str())).collect();
                self.count_by(d.name, &dims, d.values.iter().sum::<f64>() as usize);
            } else {
                self.values(d.name, d.unit, &d.values);
            }
        }
        self
    }

    /// The values recorded for `name` with the extra dimensions `dims` (tests, the CLI).
    pub fn get(&self, name: &str, dims: &[(&str, &str)]) -> Option<&[f64]> {
        self.data
            .iter()
            .find(|d| {
                d.name == name
                    && d.dimensions.len() == dims.len()
                    && d.dimensions
                        .iter()
                        .zip(dims)
                        .all(|((k, v), (k2, v2))| k == k2 && v == v2)
            })
            .map(|d| d.values.as_slice())
    }

    /// The EMF documents: one per dimension set (more when a metric has over 100 values).
    pub fn documents(&self, function: Function, at: DateTime<Utc>) -> Vec<Value> {
        let mut groups: BTreeMap<Vec<(&'static str, String)>, Vec<&Datum>> = BTreeMap::new();
        for d in &self.data {
            groups.entry(d.dimensions.clone()).or_default().push(d);
        }
        let mut docs = Vec::new();
        for (dims, data) in groups {
            let mut chunk = 0;
            loop {
                let part: Vec<(&Datum, &[f64])> = data
                    .iter()
                    .filter_map(|d| {
                        let start = chunk * MAX_VALUES;
                        (start < d.values.len()).then(|| {
                            let end = (start + MAX_VALUES).min(d.values.len());
                            (*d, &d.values[start..end])
                        })
                    })
                    .collect();
                if part.is_empty() {
                    break;
                }
                docs.push(document(function, &dims, &part, at));
                chunk += 1;
            }
        }
        docs
    }

    /// The documents as lines, ready to print.
    pub fn lines(&self, function: Function, at: DateTime<Utc>) -> Vec<String> {
        self.documents(function, at)
            .iter()
            .map(Value::to_string)
            .collect()
    }
}

fn document(
    function: Function,
    dims: &[(&'static str, String)],
    data: &[(&Datum, &[f64])],
    at: DateTime<Utc>,
) -> Value {
    let mut names = vec!["Function"];
    names.extend(dims.iter().map(|(k, _)| *k));
    let definitions: Vec<Value> = data
        .iter()
        .map(|(d, _)| json!({"Name": d.name, "Unit": d.unit.as_str()}))
        .collect();
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": definitions,
            }],
        }),
    );
    doc.insert("Function".into(), Value::from(function.name()));
    for (k, v) in dims {
        doc.insert((*k).into(), Value::from(v.as_str()));
    }
    for (d, values) in data {
        let value = match values {
            [one] => number(*one),
            many => Value::from(many.iter().map(|v| number(*v)).collect::<Vec<_>>()),
        };
        doc.insert(d.name.into(), value);
    }
    Value::Object(doc)
}

/// Whole numbers as JSON integers (`2`, not `2.0`).
fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        Value::from(v as i64)
    } else {
        Value::from(v)
    }
}

/// What an outcome (or a failure that carries one) reports as metrics.
pub trait Measured {
    fn metrics(&self) -> Metrics;
}

/// The metrics of one invocation: its outcome's (or its error's) and how long it took.
pub fn invocation<O: Measured, E: Measured>(
    result: Option<&Result<O, E>>,
    duration: std::time::Duration,
) -> Metrics {
    let mut m = match result {
        Some(Ok(o)) => o.metrics(),
        Some(Err(e)) => e.metrics(),
        None => Metrics::default(),
    };
    m.values(
        DURATION_MS,
        Unit::Milliseconds,
        &[duration.as_millis() as f64],
    );
    m
}

/// Prints the invocation's EMF lines on stdout (not through tracing: its JSON is another format).
pub fn emit(function: Function, metrics: &Metrics, at: DateTime<Utc>) {
    for line in metrics.lines(function, at) {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests;
