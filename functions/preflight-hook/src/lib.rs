//! The CodeDeploy `PreTraffic` (BeforeAllowTraffic) hook of the ssr-onboard functions: before
//! an alias shifts to a new version, the new version proves itself. CodeDeploy invokes the hook
//! with `{"DeploymentId": …, "LifecycleEventHookExecutionId": …}`; the hook
//!
//! 1. reads the deployment (GetDeployment): its AppSpec names the function (`Name`) and the
//!    version about to get traffic (`TargetVersion`). Only a function of `PREFLIGHT_FUNCTIONS`
//!    (this stack's functions) is checked. When the AppSpec cannot be read, every function of
//!    `PREFLIGHT_FUNCTIONS` is checked at its newest published version (ListVersionsByFunction);
//! 2. invokes that version with the preflight event `{"ssr-onboard": "preflight"}` (Invoke,
//!    RequestResponse);
//! 3. reads the answer as a [`PreflightReport`]: a function error, an answer that is not a
//!    report, or a report with a problem fails the hook;
//! 4. reports `Succeeded` or `Failed` with PutLifecycleEventHookExecutionStatus. `Failed` makes
//!    CodeDeploy stop the deployment: the alias stays on the old version and CloudFormation
//!    rolls the stack update back.

use std::time::Duration;

use aws_sdk_codedeploy::types::LifecycleEventStatus;
use aws_sdk_lambda::primitives::Blob;
use serde::{Deserialize, Serialize};
use ssr_domain::check::{CheckStatus, PreflightReport, PREFLIGHT_SCHEMA};

/// The variable naming the functions to check (comma-separated names or ARNs, unqualified).
pub const FUNCTIONS_VAR: &str = "PREFLIGHT_FUNCTIONS";

/// The event CodeDeploy invokes a lifecycle hook with.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookEvent {
    pub deployment_id: String,
    pub lifecycle_event_hook_execution_id: String,
}

/// Why the hook could not run at all (it still tries to report `Failed`).
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("malformed event: expected CodeDeploy's {{\"DeploymentId\", \"LifecycleEventHookExecutionId\"}}: {0}")]
    Malformed(String),
    #[error("PutLifecycleEventHookExecutionStatus failed: {0}")]
    Report(String),
}

impl HookError {
    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            HookError::Malformed(_) => "MalformedEvent",
            HookError::Report(_) => "AwsError",
        }
    }
}

/// One function's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The function's name as given.
    pub function: String,
    /// The version invoked (`None`: none found).
    pub version: Option<String>,
    pub passed: bool,
    /// Why it did not pass, or the report's problem checks (names and details, no secrets:
    /// the preflight never reports one).
    pub reasons: Vec<String>,
}

/// What the hook did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HookOutcome {
    pub deployment_id: String,
    /// `Succeeded` or `Failed`, as reported to CodeDeploy.
    pub status: String,
    pub verdicts: Vec<Verdict>,
}

/// The function names or ARNs in `PREFLIGHT_FUNCTIONS`.
pub fn functions_from(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// The hook: parse, check every function, report to CodeDeploy.
pub async fn handle(
    lambda: &aws_sdk_lambda::Client,
    codedeploy: &aws_sdk_codedeploy::Client,
    functions: &[String],
    payload: serde_json::Value,
    budget: Duration,
) -> Result<HookOutcome, HookError> {
    let event: HookEvent =
        serde_json::from_value(payload).map_err(|e| HookError::Malformed(e.to_string()))?;
    let targets: Vec<(String, Option<String>)> = match deployment_target(
        codedeploy,
        &event.deployment_id,
    )
    .await
    {
        Ok((name, version)) => vec![(name, Some(version))],
        Err(why) => {
            tracing::warn!(reason = %why, "the deployment's AppSpec was not read: every function's newest version is checked");
            functions.iter().map(|f| (f.clone(), None)).collect()
        }
    };
    let verdicts = if functions.is_empty() {
        vec![Verdict {
            function: FUNCTIONS_VAR.to_string(),
            version: None,
            passed: false,
            reasons: vec![format!("{FUNCTIONS_VAR} names no function")],
        }]
    } else {
        let checks = futures_util::future::join_all(targets.iter().map(|(f, v)| async move {
            if !is_ours(functions, f) {
                return Verdict {
                    function: f.clone(),
                    version: v.clone(),
                    passed: false,
                    reasons: vec![format!("{f} is not one of {FUNCTIONS_VAR}")],
                };
            }
            check_function(lambda, f, v.clone()).await
        }));
        match tokio::time::timeout(budget, checks).await {
            Ok(v) => v,
            Err(_) => vec![Verdict {
                function: functions.join(","),
                version: None,
                passed: false,
                reasons: vec![format!(
                    "the preflights did not answer within {} s",
                    budget.as_secs()
                )],
            }],
        }
    };
    let passed = verdicts.iter().all(|v| v.passed);
    let status = if passed {
        LifecycleEventStatus::Succeeded
    } else {
        LifecycleEventStatus::Failed
    };
    for v in &verdicts {
        if v.passed {
            tracing::info!(function = %v.function, version = ?v.version, "preflight passed");
        } else {
            tracing::warn!(function = %v.function, version = ?v.version, reasons = ?v.reasons, "preflight failed");
        }
    }
    codedeploy
        .put_lifecycle_event_hook_execution_status()
        .deployment_id(&event.deployment_id)
        .lifecycle_event_hook_execution_id(&event.lifecycle_event_hook_execution_id)
        .status(status.clone())
        .send()
        .await
        .map_err(|e| {
            HookError::Report(aws_sdk_codedeploy::error::DisplayErrorContext(e).to_string())
        })?;
    Ok(HookOutcome {
        deployment_id: event.deployment_id,
        status: status.as_str().to_string(),
        verdicts,
    })
}

/// Is `name` (the AppSpec's function name) one of `functions` (names or ARNs)?
fn is_ours(functions: &[String], name: &str) -> bool {
    functions
        .iter()
        .any(|f| f == name || f.rsplit(':').next() == Some(name))
}

/// The function and version a deployment shifts traffic to: GetDeployment's AppSpec (YAML or
/// JSON), `Resources[0].<name>.Properties.Name` and `TargetVersion`.
async fn deployment_target(
    codedeploy: &aws_sdk_codedeploy::Client,
    deployment_id: &str,
) -> Result<(String, String), String> {
    let out = codedeploy
        .get_deployment()
        .deployment_id(deployment_id)
        .send()
        .await
        .map_err(|e| {
            format!(
                "GetDeployment: {}",
                aws_sdk_codedeploy::error::DisplayErrorContext(e)
            )
        })?;
    let revision = out
        .deployment_info()
        .and_then(|d| d.revision())
        .ok_or("the deployment has no revision")?;
    let content = revision
        .app_spec_content()
        .and_then(|a| a.content())
        .or_else(|| revision.string().and_then(|s| s.content()))
        .ok_or("the deployment's revision has no AppSpec content")?;
    appspec_target(content)
}

/// The Lambda AppSpec's first resource: (`Name`, `TargetVersion`).
pub fn appspec_target(content: &str) -> Result<(String, String), String> {
    let docs = yaml_rust2::YamlLoader::load_from_str(content)
        .map_err(|e| format!("the AppSpec is not YAML or JSON: {e}"))?;
    let doc = docs.first().ok_or("the AppSpec is empty")?;
    let resources = doc["Resources"]
        .as_vec()
        .ok_or("the AppSpec has no Resources list")?;
    let properties = resources
        .iter()
        .filter_map(|r| r.as_hash())
        .flat_map(|h| h.values())
        .map(|v| &v["Properties"])
        .find(|p| p.as_hash().is_some())
        .ok_or("the AppSpec's Resources has no Properties")?;
    let text = |y: &yaml_rust2::Yaml| {
        y.as_str()
            .map(String::from)
            .or_else(|| y.as_i64().map(|n| n.to_string()))
    };
    let name = text(&properties["Name"]).ok_or("the AppSpec resource has no Name")?;
    let version =
        text(&properties["TargetVersion"]).ok_or("the AppSpec resource has no TargetVersion")?;
    Ok((name, version))
}

/// The newest published version of `function` (numeric versions; `$LATEST` is not one).
async fn newest_version(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
) -> Result<Option<String>, String> {
    let mut newest: Option<u64> = None;
    let mut pages = lambda
        .list_versions_by_function()
        .function_name(function)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            format!(
                "ListVersionsByFunction: {}",
                aws_sdk_lambda::error::DisplayErrorContext(e)
            )
        })?;
        for v in page.versions() {
            if let Some(n) = v.version().and_then(|s| s.parse::<u64>().ok()) {
                newest = Some(newest.map_or(n, |m| m.max(n)));
            }
        }
    }
    Ok(newest.map(|n| n.to_string()))
}

/// Invokes `version` of `function` (else its newest) with the preflight event and judges its
/// answer.
async fn check_function(
    lambda: &aws_sdk_lambda::Client,
    function: &str,
    version: Option<String>,
) -> Verdict {
    let mut verdict = Verdict {
        function: function.to_string(),
        version: None,
        passed: false,
        reasons: Vec::new(),
    };
    let found = match version {
        Some(v) => Ok(Some(v)),
        None => newest_version(lambda, function).await,
    };
    let version = match found {
        Ok(Some(v)) => v,
        Ok(None) => {
            verdict
                .reasons
                .push("no published version (AutoPublishAlias publishes one)".into());
            return verdict;
        }
        Err(e) => {
            verdict.reasons.push(e);
            return verdict;
        }
    };
    verdict.version = Some(version.clone());
    let event = serde_json::json!({"ssr-onboard": "preflight"}).to_string();
    let answer = lambda
        .invoke()
        .function_name(function)
        .qualifier(&version)
        .payload(Blob::new(event.into_bytes()))
        .send()
        .await;
    let out = match answer {
        Ok(out) => out,
        Err(e) => {
            verdict.reasons.push(format!(
                "Invoke: {}",
                aws_sdk_lambda::error::DisplayErrorContext(e)
            ));
            return verdict;
        }
    };
    let body = out.payload().map(|b| b.as_ref()).unwrap_or_default();
    if let Some(kind) = out.function_error() {
        // The payload is Lambda's {"errorType", "errorMessage"}: keep its type and message.
        let error: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
        verdict.reasons.push(format!(
            "the function failed ({kind}): {}: {}",
            error["errorType"].as_str().unwrap_or("?"),
            error["errorMessage"]
                .as_str()
                .unwrap_or("?")
                .chars()
                .take(300)
                .collect::<String>()
        ));
        return verdict;
    }
    let report: PreflightReport = match serde_json::from_slice(body) {
        Ok(r) => r,
        Err(e) => {
            verdict.reasons.push(format!(
                "the answer is not a preflight report ({e}): is this version older than the preflight?"
            ));
            return verdict;
        }
    };
    if report.schema != PREFLIGHT_SCHEMA {
        verdict.reasons.push(format!(
            "the report's schema is {}, not {PREFLIGHT_SCHEMA}",
            report.schema
        ));
        return verdict;
    }
    verdict.reasons = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Problem)
        .map(|c| format!("{}: {}", c.name, c.detail))
        .collect();
    verdict.passed = report.passed();
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_the_appspec_is_yaml_or_json_then_the_function_and_target_version_are_read() {
        let yaml = "version: 0.0\nResources:\n  - myLambdaFunction:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: \"ssr-onboard-InstanceGuardFunction-AbC\"\n        Alias: \"live\"\n        CurrentVersion: \"1\"\n        TargetVersion: \"2\"\nHooks:\n  - BeforeAllowTraffic: \"hook\"\n";
        assert_eq!(
            appspec_target(yaml),
            Ok(("ssr-onboard-InstanceGuardFunction-AbC".into(), "2".into()))
        );
        let json = r#"{"version":0.0,"Resources":[{"f":{"Type":"AWS::Lambda::Function","Properties":{"Name":"fn","Alias":"live","CurrentVersion":3,"TargetVersion":4}}}]}"#;
        assert_eq!(appspec_target(json), Ok(("fn".into(), "4".into())));
        assert!(appspec_target("Resources: []").is_err());
    }

    #[test]
    fn when_a_name_or_arn_is_listed_then_the_function_is_ours() {
        let ours = vec![
            "ssr-InstanceGuard-1".to_string(),
            "arn:aws:lambda:us-east-1:123456789012:function:ssr-StackWatch-2".to_string(),
        ];
        assert!(is_ours(&ours, "ssr-InstanceGuard-1"));
        assert!(is_ours(&ours, "ssr-StackWatch-2"));
        assert!(!is_ours(&ours, "someone-else"));
    }

    #[test]
    fn when_the_variable_lists_functions_then_each_is_read_and_blanks_dropped() {
        assert_eq!(
            functions_from(Some(" a-fn , b-fn,, ")),
            vec!["a-fn".to_string(), "b-fn".to_string()]
        );
        assert!(functions_from(None).is_empty());
    }
}
