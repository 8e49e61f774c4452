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
//! The metrics of an invocation derive from its outcome through one pure function per outcome
//! ([`Measured`]); [`crate::lambda::serve`] adds `DurationMs` and prints them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use crate::episode::Decision;
use crate::findings::Severity;
use crate::handlers::guard::GuardOutcome;
use crate::handlers::stack_watch::StackWatchOutcome;
use crate::handlers::watchdog::{SweepError, SweepOutcome};
use crate::handlers::HandlerError;
use crate::plan::ActionStatus;

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
pub const DURATION_MS: &str = "DurationMs";

/// The value of the `Function` dimension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    InstanceGuard,
    StackWatch,
    OnboardingWatchdog,
    MistWebhook,
}

impl Function {
    /// Every function, in the template's order.
    pub const ALL: [Function; 4] = [
        Function::InstanceGuard,
        Function::StackWatch,
        Function::OnboardingWatchdog,
        Function::MistWebhook,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::InstanceGuard => "instance-guard",
            Function::StackWatch => "stack-watch",
            Function::OnboardingWatchdog => "onboarding-watchdog",
            Function::MistWebhook => "mist-webhook",
        }
    }
}

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

/// One guard run: open findings (total and by code), fixes applied and failed, the alert.
pub fn guard(o: &GuardOutcome) -> Metrics {
    let mut m = Metrics::default();
    let open: Vec<&str> = o
        .findings
        .iter()
        .filter(|f| !f.fixed && f.severity > Severity::Info)
        .map(|f| f.code.as_str())
        .collect();
    m.count(FINDINGS_OPEN, open.len());
    for code in &open {
        m.count_by(FINDINGS, &[("Code", code)], 1);
    }
    let status = |s: &[ActionStatus]| o.actions.iter().filter(|a| s.contains(&a.status)).count();
    m.count(FIXES_APPLIED, status(&[ActionStatus::Applied]));
    m.count(
        FIXES_FAILED,
        status(&[ActionStatus::Failed, ActionStatus::Unverified]),
    );
    m.count(ALERTS_SENT, usize::from(o.alert.sent));
    m
}

/// One stack-watch invocation: the guard metrics of every instance it checked, summed, plus the
/// stack alert.
pub fn stack_watch(o: &StackWatchOutcome) -> Metrics {
    let mut m = Metrics::default();
    for name in [FINDINGS_OPEN, FIXES_APPLIED, FIXES_FAILED, ALERTS_SENT] {
        m.count(name, 0);
    }
    let guards = o
        .instances
        .iter()
        .filter_map(|i| i.guard.as_ref())
        .chain(o.custom_resource.as_ref().and_then(|c| c.guard.as_ref()));
    for g in guards {
        m.merge(guard(g));
    }
    m.count(
        ALERTS_SENT,
        usize::from(o.alert.as_ref().is_some_and(|a| a.sent)),
    );
    m
}

/// One sweep: alerts sent, routers overdue now, the durations of the episodes it finished, and
/// whether the Mist read it needed failed.
pub fn sweep(o: &SweepOutcome) -> Metrics {
    let mut m = Metrics::default();
    m.count(
        ALERTS_SENT,
        o.alerts.iter().filter(|a| a.delivery.sent).count(),
    );
    m.count(ROUTERS_OVERDUE, o.overdue_now);
    if !o.members.is_empty() {
        // An organization sweep: how many scopes were unreachable, and the overdue routers per
        // account (dimension set [Function, Account]) so a dashboard can show where.
        m.count(
            MEMBERS_UNREACHABLE,
            o.members.iter().filter(|s| s.status != "ok").count(),
        );
        let mut accounts: Vec<&str> = o
            .members
            .iter()
            .filter_map(|s| s.account.as_deref())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        for a in accounts {
            let n = o
                .episodes
                .iter()
                .filter(|e| e.account.as_deref() == Some(a))
                .filter(|e| matches!(e.decision, Decision::Overdue | Decision::StillOverdue))
                .count();
            m.count_by(ROUTERS_OVERDUE, &[("Account", a)], n);
        }
    }
    let seconds: Vec<f64> = o.onboarding_seconds.iter().map(|s| *s as f64).collect();
    m.values(ONBOARDING_SECONDS, Unit::Seconds, &seconds);
    match o.mist.status.as_str() {
        "ok" => {
            m.count(MIST_READ_FAILURES, 0);
        }
        "unavailable" => {
            m.count(MIST_READ_FAILURES, 1);
        }
        _ => {}
    }
    m
}

impl Measured for GuardOutcome {
    fn metrics(&self) -> Metrics {
        guard(self)
    }
}

impl Measured for StackWatchOutcome {
    fn metrics(&self) -> Metrics {
        stack_watch(self)
    }
}

impl Measured for SweepOutcome {
    fn metrics(&self) -> Metrics {
        sweep(self)
    }
}

/// A webhook delivery reports its duration only (its alerts are counted by the sweep's
/// `RoutersOverdue` and `OnboardingSeconds`).
impl Measured for crate::handlers::mist_webhook::HttpResponse {
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}

/// An error at the boundary (bad configuration) has no outcome to report.
#[cfg(feature = "lambda")]
impl Measured for crate::lambda::FunctionError {
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}

/// A failed guard run still reports what it found and fixed.
impl Measured for HandlerError {
    fn metrics(&self) -> Metrics {
        match self {
            HandlerError::FixesFailed { outcome, .. } => guard(outcome),
            _ => Metrics::default(),
        }
    }
}

/// An incomplete sweep still reports what it saw.
impl Measured for SweepError {
    fn metrics(&self) -> Metrics {
        match self {
            SweepError::Incomplete { outcome, .. } => sweep(outcome),
            _ => Metrics::default(),
        }
    }
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
