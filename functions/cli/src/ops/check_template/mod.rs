//! `ssr-onboard check-template`: a router's CloudFormation template checked against the guide
//! before it is deployed, with the guard's finding codes where they overlap.
//!
//! - [`source`]: the template (JSON, or YAML with CloudFormation's short tags) and the
//!   parameters file as JSON values.
//! - [`eval`]: a static evaluator of the intrinsic functions; what it cannot know before
//!   deployment stays a hole with a reason, reported as `unchecked`, never guessed.
//! - [`checks`] and [`onboarding`]: the checks, per `AWS::EC2::Instance`.
//!
//! Why not cfn-guard (the `cfn-guard` crate, 3.2.1, AWS's policy-as-code engine), considered
//! first as the issue asked: its rules match the template as written (it turns short tags into
//! `{"Ref": …}` but resolves no `Ref`, `Fn::Sub` or parameter), while every check here needs the
//! resolved value (an `InstanceType: !Ref InstanceType` with a Default, the user data built by
//! `!Sub`), so an evaluator would be needed anyway and the guard rules would only restate a few
//! comparisons. Its library API takes rule and data text and returns report text; it would
//! bring about 30 dependencies (serde_yaml 0.9, deprecated and archived; unsafe-libyaml; rstest
//! and wasm-bindgen as normal dependencies; clap_complete, grep-*, quick-xml) and enable
//! serde_json's `preserve_order` for the whole workspace by feature unification, changing the
//! key order of every JSON document the functions write. The checks are plain Rust instead:
//! they reuse the guard's instance-type rule, its finding codes, `MIN_ROOT_VOLUME_GB` and the
//! onboarding parser, so one rule is never written twice.

pub mod checks;
pub mod eval;
pub mod onboarding;
pub mod source;

use serde::Serialize;
use ssr_core::findings::{FindingCode, Severity};

use crate::output::{Cell, Color, Style, Table};
use eval::Ctx;
pub use source::{ParameterValues, SourceError};

/// `ssr-onboard check-template --output json`'s schema name.
pub const CHECK_TEMPLATE_SCHEMA: &str = "ssr-onboard/check-template/v1";

/// Codes only a template check can report (the guard sees a running instance, not its
/// template). Documented in docs/findings.md beside the guard's codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TemplateCode {
    /// A parameter that carries the registration code is not `NoEcho: true`.
    RegistrationCodeNotNoEcho,
    /// The registration code is written in the template itself.
    RegistrationCodeInTemplate,
    /// The instance profile's role does not allow `ec2:DescribeNetworkInterfaces` on `*`.
    ProfileCannotDescribeEnis,
}

impl TemplateCode {
    pub const ALL: [TemplateCode; 3] = [
        TemplateCode::RegistrationCodeNotNoEcho,
        TemplateCode::RegistrationCodeInTemplate,
        TemplateCode::ProfileCannotDescribeEnis,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TemplateCode::RegistrationCodeNotNoEcho => "REGISTRATION_CODE_NOT_NO_ECHO",
            TemplateCode::RegistrationCodeInTemplate => "REGISTRATION_CODE_IN_TEMPLATE",
            TemplateCode::ProfileCannotDescribeEnis => "PROFILE_CANNOT_DESCRIBE_ENIS",
        }
    }

    pub fn severity(self) -> Severity {
        Severity::Error
    }
}

/// A finding's code: one of the guard's, or a template-only one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Code {
    Guard(FindingCode),
    Template(TemplateCode),
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Guard(c) => c.as_str(),
            Code::Template(c) => c.as_str(),
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Code::Guard(c) => c.severity(),
            Code::Template(c) => c.severity(),
        }
    }
}

impl From<FindingCode> for Code {
    fn from(c: FindingCode) -> Self {
        Code::Guard(c)
    }
}

impl From<TemplateCode> for Code {
    fn from(c: TemplateCode) -> Self {
        Code::Template(c)
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RowStatus {
    Ok,
    Finding,
    /// Depends on a value known only at deployment; `detail` says which.
    Unchecked,
    /// The template does not define what the check reads (e.g. no routes).
    Skipped,
}

impl RowStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RowStatus::Ok => "ok",
            RowStatus::Finding => "finding",
            RowStatus::Unchecked => "unchecked",
            RowStatus::Skipped => "skipped",
        }
    }
}

/// One check of one resource.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// `instance-type`, `root-volume`, `interfaces`, `source-dest-check`, `instance-profile`,
    /// `onboarding-config`, `registration-code`, `internet-route`.
    pub check: &'static str,
    /// The template's logical id (or parameter name) the row is about.
    pub resource: String,
    pub status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// What was seen (never a secret).
    pub detail: String,
    /// For a finding: what to change in the template.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
}

impl Row {
    pub fn ok(check: &'static str, resource: &str, detail: impl Into<String>) -> Row {
        Row::new(check, resource, RowStatus::Ok, detail)
    }

    pub fn unchecked(check: &'static str, resource: &str, detail: impl Into<String>) -> Row {
        Row::new(check, resource, RowStatus::Unchecked, detail)
    }

    pub fn skipped(check: &'static str, resource: &str, detail: impl Into<String>) -> Row {
        Row::new(check, resource, RowStatus::Skipped, detail)
    }

    pub fn finding(
        check: &'static str,
        resource: &str,
        code: impl Into<Code>,
        detail: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Row {
        let code = code.into();
        Row {
            code: Some(code),
            severity: Some(code.severity()),
            remediation: Some(remediation.into()),
            ..Row::new(check, resource, RowStatus::Finding, detail)
        }
    }

    fn new(
        check: &'static str,
        resource: &str,
        status: RowStatus,
        detail: impl Into<String>,
    ) -> Row {
        Row {
            check,
            resource: resource.to_string(),
            status,
            code: None,
            severity: None,
            detail: detail.into(),
            remediation: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub findings: usize,
    pub unchecked: usize,
    pub skipped: usize,
}

/// The result of checking one template.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TemplateReport {
    /// [`CHECK_TEMPLATE_SCHEMA`].
    pub schema: &'static str,
    pub template: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    /// The `AWS::EC2::Instance` resources checked as routers.
    pub routers: Vec<String>,
    pub checks: Vec<Row>,
    pub summary: Summary,
}

impl TemplateReport {
    /// Findings of severity warning or error (none counts as clean).
    pub fn has_findings(&self) -> bool {
        self.checks
            .iter()
            .any(|r| r.status == RowStatus::Finding && r.severity > Some(Severity::Info))
    }
}

/// What to check.
#[derive(Clone, Debug)]
pub struct CheckTemplateOptions {
    pub template: String,
    pub parameters: Option<String>,
    /// `MIN_ROOT_VOLUME_GB` (the guard's setting, default 128).
    pub min_root_volume_gb: i32,
}

/// Why a template could not be checked at all (exit 2).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CheckTemplateError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("{0}: no AWS::EC2::Instance resource, so no router to check (launch templates are not read)")]
    NoRouter(String),
}

/// Reads the files and checks the template.
pub fn run(opts: &CheckTemplateOptions) -> Result<TemplateReport, CheckTemplateError> {
    let text = source::read_text(&opts.template)?;
    let template = source::parse_template(&opts.template, &text)?;
    let given = match &opts.parameters {
        Some(path) => source::parse_parameters(path, &source::read_text(path)?)?,
        None => ParameterValues::default(),
    };
    check(
        &opts.template,
        opts.parameters.as_deref(),
        &template,
        &given,
        opts.min_root_volume_gb,
    )
}

/// Checks a parsed template.
pub fn check(
    template_name: &str,
    parameters_name: Option<&str>,
    template: &serde_json::Value,
    given: &ParameterValues,
    min_root_volume_gb: i32,
) -> Result<TemplateReport, CheckTemplateError> {
    let ctx = Ctx::new(template, given);
    let routers = checks::routers(&ctx);
    if routers.is_empty() {
        return Err(CheckTemplateError::NoRouter(template_name.to_string()));
    }
    let mut rows = Vec::new();
    for id in &routers {
        rows.extend(checks::check_router(&ctx, id, min_root_volume_gb));
    }
    let (code_rows, carriers) = onboarding::registration_code_parameters(&ctx, &routers);
    rows.extend(code_rows);
    // No value of a NoEcho parameter or of one that carries the registration code is printed,
    // wherever a template lets it flow (a tag, a name): it is masked as CloudFormation masks it.
    let secrets = ctx.secret_values(&carriers);
    for r in &mut rows {
        for s in &secrets {
            r.detail = r.detail.replace(s.as_str(), "****");
            if let Some(fix) = &mut r.remediation {
                *fix = fix.replace(s.as_str(), "****");
            }
        }
    }
    let mut summary = Summary::default();
    for r in &rows {
        match r.status {
            RowStatus::Ok => summary.ok += 1,
            RowStatus::Finding => summary.findings += 1,
            RowStatus::Unchecked => summary.unchecked += 1,
            RowStatus::Skipped => summary.skipped += 1,
        }
    }
    Ok(TemplateReport {
        schema: CHECK_TEMPLATE_SCHEMA,
        template: template_name.to_string(),
        parameters: parameters_name.map(String::from),
        routers,
        checks: rows,
        summary,
    })
}

/// The report for a person: one line per check, then each finding's remediation.
pub fn render_text(r: &TemplateReport, style: &Style) -> String {
    let mut t = Table::new(&["STATUS", "CHECK", "RESOURCE", "DETAIL"]);
    for row in &r.checks {
        let status = match (row.status, row.code) {
            (RowStatus::Finding, Some(code)) => Cell::colored(code.as_str(), Color::Red),
            (RowStatus::Ok, _) => Cell::colored("ok", Color::Green),
            (RowStatus::Unchecked, _) => Cell::colored("unchecked", Color::Yellow),
            (s, _) => Cell::colored(s.as_str(), Color::Dim),
        };
        t.row(vec![
            status,
            row.check.into(),
            row.resource.clone().into(),
            row.detail.clone().into(),
        ]);
    }
    let mut out = format!(
        "{}{}\n",
        match &r.parameters {
            Some(p) => format!("Template {} with parameters {}\n", r.template, p),
            None => format!("Template {} (parameters: Defaults only)\n", r.template),
        },
        t.render(style)
    );
    let findings: Vec<&Row> = r
        .checks
        .iter()
        .filter(|c| c.status == RowStatus::Finding)
        .collect();
    if !findings.is_empty() {
        out.push_str("To fix:\n");
        for f in findings {
            out.push_str(&format!(
                "  {} {}: {}\n",
                f.code.map(Code::as_str).unwrap_or_default(),
                f.resource,
                f.remediation.as_deref().unwrap_or_default()
            ));
        }
        out.push('\n');
    }
    let s = &r.summary;
    out.push_str(&format!(
        "{} ok, {} {}, {} unchecked (known only at deployment), {} skipped\n",
        s.ok,
        s.findings,
        if s.findings == 1 {
            "finding"
        } else {
            "findings"
        },
        s.unchecked,
        s.skipped
    ));
    out
}
