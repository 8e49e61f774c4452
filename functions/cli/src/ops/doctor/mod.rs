//! `ssr-onboard doctor`: the deployment checked in the operator's own account — configuration,
//! alert topic and subscriptions, state table, the stack's rules and dead-letter queue, Mist,
//! the webhook, each function's preflight (under its own role), CloudTrail — each check with a
//! name, a status and, for a problem, the fix ([`ssr_core::check::Check`]).
//!
//! Options in, a [`DoctorReport`] out; the command ([`crate::commands::doctor`]) turns it into
//! an exit code. A check that doctor could not make because its own AWS call failed is
//! `skipped` with the error and counted in [`DoctorReport::not_checked`].

mod alerts;
mod deployment;
mod mist;
mod organization;
mod table;

use std::fmt::Write;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use ssr_core::aws::AwsError;
use ssr_core::check::{Check, CheckStatus, DOCTOR_SCHEMA};
use ssr_core::Config;

pub use alerts::{check_subscriptions, send_test_alert};
pub use deployment::{check_preflight, preflight_checks};
pub use mist::MistProbe;

use crate::aws_errors;
use crate::output::{Color, Style};
use crate::stack::DeployedStack;

/// The clients doctor calls (tests replace some with aws-smithy-mocks clients).
#[derive(Clone, Debug)]
pub struct DoctorClients {
    pub sns: aws_sdk_sns::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub kms: aws_sdk_kms::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    /// For the core's own adapters (the organization's scopes).
    pub sdk: SdkConfig,
}

impl DoctorClients {
    pub fn new(sdk: &SdkConfig) -> Self {
        DoctorClients {
            sns: aws_sdk_sns::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            kms: aws_sdk_kms::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            sqs: aws_sdk_sqs::Client::new(sdk),
            cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
            sdk: sdk.clone(),
        }
    }
}

/// What doctor checks.
#[derive(Debug)]
pub struct DoctorOptions {
    /// The deployed stack (`--stack`); `None`: the configuration comes from the environment.
    pub stack: Option<DeployedStack>,
    /// The configuration, validated as at the functions' cold start (or why it is invalid).
    pub config: Result<Config, String>,
    /// Send one `test` alert and its resolve through the real topic(s).
    pub send_test_alert: bool,
    /// Where doctor looks for the right Mist cloud when the configured one refuses the token.
    pub mist_clouds: Vec<String>,
    pub region: Option<String>,
    pub now: DateTime<Utc>,
}

/// Counts per status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub problems: usize,
    pub warnings: usize,
    pub skipped: usize,
}

/// Doctor's answer (`--output json`: schema [`DOCTOR_SCHEMA`]).
#[derive(Clone, Debug, Serialize)]
pub struct DoctorReport {
    pub schema: String,
    /// ssr-onboard's version (the CLI's).
    pub version: String,
    pub stack: Option<String>,
    pub region: Option<String>,
    pub checks: Vec<Check>,
    /// Checks doctor could not make because its own AWS call failed (the error each time).
    pub not_checked: Vec<String>,
    pub summary: Summary,
}

impl DoctorReport {
    pub fn has_problems(&self) -> bool {
        self.summary.problems > 0
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// The checks made so far, and the AWS errors that stopped some.
#[derive(Debug, Default)]
pub(crate) struct Checks {
    checks: Vec<Check>,
    not_checked: Vec<String>,
}

impl Checks {
    pub(crate) fn push(&mut self, check: Check) {
        self.checks.push(check);
    }

    /// Doctor's own AWS call failed: the check is skipped and the run counts as incomplete.
    pub(crate) fn not_checked(&mut self, name: &str, e: &AwsError) {
        let text = aws_errors::concise(e);
        self.checks.push(Check::skipped(
            name,
            format!("not checked: {text} ({})", aws_errors::hint(e)),
        ));
        self.not_checked.push(format!("{name}: {text}"));
    }
}

/// Runs every check the options call for.
pub async fn run(clients: &DoctorClients, options: DoctorOptions) -> DoctorReport {
    let mut checks = Checks::default();
    let config = match &options.config {
        Ok(c) => {
            checks.push(config_check(c, options.stack.as_ref()));
            Some(c)
        }
        Err(e) => {
            checks.push(Check::problem(
                "config.valid",
                format!("the functions would refuse to start: {e}"),
                config_fix(options.stack.as_ref()),
            ));
            None
        }
    };
    if let Some(stack) = &options.stack {
        deployment::stack_checks(clients, stack, &mut checks).await;
    }
    match config {
        None => checks.push(Check::skipped(
            "alerts.topic",
            "the configuration is invalid; fix config.valid first",
        )),
        Some(config) => {
            alerts::topic_checks(clients, config, options.stack.as_ref(), &mut checks).await;
            table::table_checks(clients, config, &mut checks).await;
            organization::organization_checks(&clients.sdk, &clients.dynamodb, config, &mut checks)
                .await;
            let probe = MistProbe::new(config, clients.secrets.clone(), &options.mist_clouds);
            probe.run(&mut checks).await;
            deployment::webhook_checks(clients, config, options.stack.as_ref(), &mut checks).await;
            if options.send_test_alert {
                alerts::test_alert_check(
                    clients,
                    config,
                    options.region.as_deref(),
                    options.now,
                    &mut checks,
                )
                .await;
            }
        }
    }
    match &options.stack {
        Some(stack) => deployment::preflight_all(clients, stack, &mut checks).await,
        None => checks.push(Check::skipped(
            "preflight",
            "the functions' preflight needs the deployed stack: run doctor with --stack NAME",
        )),
    }
    deployment::cloudtrail_check(clients, options.region.as_deref(), &mut checks).await;
    report(options.stack.as_ref(), options.region, checks)
}

fn report(stack: Option<&DeployedStack>, region: Option<String>, checks: Checks) -> DoctorReport {
    let mut summary = Summary::default();
    for c in &checks.checks {
        match c.status {
            CheckStatus::Ok => summary.ok += 1,
            CheckStatus::Problem => summary.problems += 1,
            CheckStatus::Warning => summary.warnings += 1,
            CheckStatus::Skipped => summary.skipped += 1,
        }
    }
    DoctorReport {
        schema: DOCTOR_SCHEMA.to_string(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        stack: stack.map(|s| s.name.clone()),
        region,
        checks: checks.checks,
        not_checked: checks.not_checked,
        summary,
    }
}

fn config_fix(stack: Option<&DeployedStack>) -> String {
    match stack {
        Some(s) => format!(
            "correct the named parameter and update the stack: sam deploy --stack-name {} --parameter-overrides <Parameter>=<value> (docs/configuration.md)",
            s.name
        ),
        None => "correct the named environment variable (docs/configuration.md)".to_string(),
    }
}

/// The configuration as the functions' cold start judges it: valid, and with a state table
/// wherever an alert topic needs one (the watchdog's and the webhook's `check_config`).
fn config_check(config: &Config, stack: Option<&DeployedStack>) -> Check {
    if let Err(e) = config.require_state_table("the onboarding watchdog") {
        return Check::problem(
            "config.valid",
            format!("the onboarding watchdog would refuse to start: {e}"),
            config_fix(stack),
        );
    }
    let from = match stack {
        Some(s) => format!("stack {}", s.name),
        None => "the environment".to_string(),
    };
    let mut detail = format!("valid (read from {from})");
    if !config.enabled {
        let _ = write!(detail, "; ENABLED=false: the functions do nothing");
    }
    if config.dry_run {
        let _ = write!(detail, "; DRY_RUN=true: no fix is written");
    }
    if !config.enabled {
        return Check::warning(
            "config.valid",
            detail,
            "set Enabled=true (the stack parameter) when ssr-onboard should act",
        );
    }
    Check::ok("config.valid", detail)
}

/// The report as text: one line per check, the fix under each problem, a summary.
pub fn render_text(report: &DoctorReport, style: &Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        style.paint(
            Color::Bold,
            &format!(
                "ssr-onboard doctor{}{}",
                report
                    .stack
                    .as_deref()
                    .map(|s| format!(" --stack {s}"))
                    .unwrap_or_default(),
                report
                    .region
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            )
        )
    );
    let width = report
        .checks
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for c in &report.checks {
        let (label, color) = match c.status {
            CheckStatus::Ok => ("ok     ", Color::Green),
            CheckStatus::Problem => ("PROBLEM", Color::Red),
            CheckStatus::Warning => ("warning", Color::Yellow),
            CheckStatus::Skipped => ("skipped", Color::Dim),
        };
        let _ = writeln!(
            out,
            "{}  {:<width$}  {}",
            style.paint(color, label),
            c.name,
            c.detail
        );
        if let Some(fix) = &c.fix {
            let _ = writeln!(out, "         {:<width$}  fix: {fix}", "");
        }
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "\n{} ok, {} problem(s), {} warning(s), {} skipped{}",
        s.ok,
        s.problems,
        s.warnings,
        s.skipped,
        if report.not_checked.is_empty() {
            String::new()
        } else {
            format!(
                "; {} check(s) could not be made (AWS errors above)",
                report.not_checked.len()
            )
        }
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_enabled_is_false_then_config_is_a_warning_not_a_problem() {
        let c =
            Config::from_vars(|k| (k == "ENABLED").then(|| "false".to_string())).expect("valid");
        let check = config_check(&c, None);
        assert_eq!(check.status, CheckStatus::Warning);
        let ok = config_check(&Config::from_vars(|_| None).expect("valid"), None);
        assert_eq!(ok.status, CheckStatus::Ok);
    }

    #[test]
    fn when_an_alert_topic_has_no_state_table_then_config_is_a_problem() {
        let c = Config::from_vars(|k| {
            (k == "ALERT_TOPIC_ARN").then(|| "arn:aws:sns:us-east-1:123456789012:t".to_string())
        })
        .expect("valid");
        let check = config_check(&c, None);
        assert_eq!(check.status, CheckStatus::Problem);
        assert!(check.detail.contains("STATE_TABLE"), "{}", check.detail);
    }

    #[test]
    fn when_rendered_then_each_problem_shows_its_fix_and_the_summary_counts() {
        let mut checks = Checks::default();
        checks.push(Check::ok("a.one", "fine"));
        checks.push(Check::problem("b.two", "broken", "run this"));
        checks.not_checked(
            "c.three",
            &AwsError::new("DescribeTable", "AccessDeniedException", "denied"),
        );
        let r = report(None, Some("us-east-1".into()), checks);
        assert_eq!(
            r.summary,
            Summary {
                ok: 1,
                problems: 1,
                warnings: 0,
                skipped: 1
            }
        );
        let text = render_text(&r, &Style::plain());
        assert!(text.contains("PROBLEM  b.two    broken"), "{text}");
        assert!(text.contains("fix: run this"), "{text}");
        assert!(text.contains("1 check(s) could not be made"), "{text}");
    }
}
