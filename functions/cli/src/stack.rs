//! `--stack NAME`: the deployed ssr-onboard stack as the commands need it — its status, outputs
//! and parameters (DescribeStacks), its resources (ListStackResources: the functions, the
//! EventBridge rules), and each function's environment (lambda:GetFunctionConfiguration), which
//! is the configuration the functions really run with. The commands take the table, the topics
//! and every setting from here instead of from the local environment.
//!
//! Reused by every command that accepts `--stack` (`report`, `audit`, `invoke`, `doctor`, and
//! `ack`/`timeline`): [`StackArg`] is the flag, [`resolve`] the read, [`DeployedStack::config`]
//! the [`Config`] the functions validate at cold start.

use std::collections::BTreeMap;

use aws_config::SdkConfig;
use clap::Args;
use serde::Serialize;
use ssr_core::aws::AwsError;
use ssr_core::config::ConfigError;
use ssr_core::metrics::Function;
use ssr_core::Config;

/// The `--stack` flag, flattened into each command's arguments.
#[derive(Args, Debug, Clone, Default)]
pub struct StackArg {
    /// The deployed ssr-onboard stack (its name or id): the state table, the topics and every
    /// setting are read from it (outputs, parameters, the functions' environment) instead of
    /// from the environment.
    #[arg(long, value_name = "NAME")]
    pub stack: Option<String>,
}

/// The template's output naming the state table.
pub const STATE_TABLE_OUTPUT: &str = "StateTableName";
/// The template's output naming the alert topic.
pub const ALERT_TOPIC_OUTPUT: &str = "AlertTopicArn";
/// The template's output naming the alert topic's KMS key.
pub const ALERT_KEY_OUTPUT: &str = "AlertTopicKeyArn";
/// The template's output naming the dead-letter queue.
pub const DLQ_OUTPUT: &str = "FailedEventsQueueUrl";
/// The template's output with the webhook's Function URL (when deployed).
pub const WEBHOOK_URL_OUTPUT: &str = "MistWebhookUrl";

/// A function's logical id in infra/template.yaml.
pub fn logical_id(function: Function) -> &'static str {
    match function {
        Function::InstanceGuard => "InstanceGuardFunction",
        Function::StackWatch => "StackWatchFunction",
        Function::OnboardingWatchdog => "OnboardingWatchdogFunction",
        Function::MistWebhook => "MistWebhookFunction",
    }
}

/// One resource of the stack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StackResource {
    pub logical_id: String,
    pub resource_type: String,
    pub physical_id: Option<String>,
    pub status: Option<String>,
}

/// One deployed function: its name and environment (or why it could not be read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedFunction {
    pub function: Function,
    /// The Lambda function's name (the resource's physical id).
    pub name: String,
    /// The function's environment variables; `Err` when GetFunctionConfiguration failed.
    pub environment: Result<BTreeMap<String, String>, String>,
}

/// The deployed stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedStack {
    pub name: String,
    pub stack_id: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
    pub resources: Vec<StackResource>,
    pub functions: Vec<DeployedFunction>,
}

/// Why a stack could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error("stack {0} does not exist in this account and region")]
    NotFound(String),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl DeployedStack {
    pub fn output(&self, key: &str) -> Option<&str> {
        self.outputs
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The environment variable `name` as the deployed functions have it: the first function
    /// (in the template's order) whose environment holds it. The template gives every function
    /// the same settings; `MIST_WEBHOOK_SECRET_ARN` only the webhook.
    pub fn env(&self, name: &str) -> Option<String> {
        self.functions
            .iter()
            .filter_map(|f| f.environment.as_ref().ok())
            .find_map(|env| env.get(name).cloned())
    }

    /// The resources of `resource_type` (e.g. `AWS::Events::Rule`).
    pub fn resources_of<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = &'a StackResource> + 'a {
        self.resources
            .iter()
            .filter(move |r| r.resource_type == resource_type)
    }

    pub fn function(&self, function: Function) -> Option<&DeployedFunction> {
        self.functions.iter().find(|f| f.function == function)
    }

    /// The settings the functions run with, validated as their cold start validates them. The
    /// outputs fill in the table and topic when no function's environment could be read.
    pub fn config(&self) -> Result<Config, ConfigError> {
        Config::from_vars(|k| self.var(k))
    }

    /// One variable: the functions' environment, else the matching output. Never a local
    /// secret: `MIST_API_TOKEN` / `MIST_WEBHOOK_SECRET` are not deployed settings.
    pub fn var(&self, name: &str) -> Option<String> {
        self.env(name).or_else(|| {
            let output = match name {
                "STATE_TABLE" => STATE_TABLE_OUTPUT,
                "ALERT_TOPIC_ARN" => ALERT_TOPIC_OUTPUT,
                _ => return None,
            };
            self.output(output).map(String::from)
        })
    }

    /// The state table's name: the StateTableName output, else the functions' STATE_TABLE.
    pub fn state_table(&self) -> Option<String> {
        self.output(STATE_TABLE_OUTPUT)
            .map(String::from)
            .or_else(|| self.env("STATE_TABLE"))
    }
}

/// Reads the stack `name`: DescribeStacks, ListStackResources (every page), and
/// GetFunctionConfiguration of each ssr-onboard function in it.
pub async fn resolve(sdk: &SdkConfig, name: &str) -> Result<DeployedStack, StackError> {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let out = match cfn.describe_stacks().stack_name(name).send().await {
        Ok(out) => out,
        Err(e) => {
            let e = AwsError::from_sdk("DescribeStacks", e);
            // CloudFormation answers a missing stack with ValidationError "Stack with id X
            // does not exist".
            if e.code == "ValidationError" && e.message.contains("does not exist") {
                return Err(StackError::NotFound(name.to_string()));
            }
            return Err(e.into());
        }
    };
    let Some(stack) = out.stacks().first() else {
        return Err(StackError::NotFound(name.to_string()));
    };
    let outputs = stack
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect();
    let parameters = stack
        .parameters()
        .iter()
        .filter_map(|p| {
            Some((
                p.parameter_key()?.to_string(),
                p.resolved_value()
                    .or(p.parameter_value())
                    .unwrap_or_default()
                    .to_string(),
            ))
        })
        .collect();
    let stack_name = stack.stack_name().unwrap_or(name).to_string();
    let mut resources = Vec::new();
    let mut pages = cfn
        .list_stack_resources()
        .stack_name(&stack_name)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::from_sdk("ListStackResources", e))?;
        resources.extend(
            page.stack_resource_summaries()
                .iter()
                .map(|r| StackResource {
                    logical_id: r.logical_resource_id().unwrap_or_default().to_string(),
                    resource_type: r.resource_type().unwrap_or_default().to_string(),
                    physical_id: r.physical_resource_id().map(String::from),
                    status: r.resource_status().map(|s| s.as_str().to_string()),
                }),
        );
    }
    let lambda = aws_sdk_lambda::Client::new(sdk);
    let mut functions = Vec::new();
    for function in Function::ALL {
        let Some(name) = resources
            .iter()
            .find(|r| r.logical_id == logical_id(function))
            .and_then(|r| r.physical_id.clone())
        else {
            continue;
        };
        let environment = lambda
            .get_function_configuration()
            .function_name(&name)
            .send()
            .await
            .map(|c| {
                c.environment()
                    .and_then(|e| e.variables())
                    .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default()
            })
            .map_err(|e| AwsError::from_sdk("GetFunctionConfiguration", e).to_string());
        functions.push(DeployedFunction {
            function,
            name,
            environment,
        });
    }
    Ok(DeployedStack {
        name: stack_name,
        stack_id: stack.stack_id().map(String::from),
        status: stack
            .stack_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        status_reason: stack.stack_status_reason().map(String::from),
        outputs,
        parameters,
        resources,
        functions,
    })
}

/// [`resolve`] for a command: prints what went wrong and returns the exit code to use.
pub async fn resolve_for_command(sdk: &SdkConfig, name: &str) -> Result<DeployedStack, u8> {
    match resolve(sdk, name).await {
        Ok(s) => Ok(s),
        Err(StackError::NotFound(n)) => {
            eprintln!("error: stack {n} does not exist in this account and region (check --region / --profile)");
            Err(crate::exit::USAGE)
        }
        Err(StackError::Aws(e)) => {
            crate::aws_errors::print_with_hint(&e);
            Err(crate::exit::AWS)
        }
    }
}

/// Before any AWS call: a command that reads the state table was given where it is (`--stack`,
/// or a non-empty `--table` / `STATE_TABLE`); prints why not and returns the exit code.
pub fn require_table_source(stack: Option<&str>, table: Option<&str>) -> Result<(), u8> {
    if stack.is_none() && table.is_none_or(|t| t.trim().is_empty()) {
        eprintln!("error: no state table: pass --stack NAME, --table NAME or set STATE_TABLE (the SAM stack's StateTableName output)");
        return Err(crate::exit::USAGE);
    }
    Ok(())
}

/// The state table a command reads: the deployed stack's (`--stack`), else `table`. Prints what
/// went wrong and returns the exit code to use.
pub async fn state_table_for_command(
    sdk: &SdkConfig,
    stack: Option<&str>,
    table: Option<&str>,
) -> Result<String, u8> {
    let Some(name) = stack else {
        return Ok(table.unwrap_or_default().to_string());
    };
    match resolve_for_command(sdk, name).await?.state_table() {
        Some(t) => Ok(t),
        None => {
            eprintln!(
                "error: stack {name} has no StateTableName output and no function with STATE_TABLE"
            );
            Err(crate::exit::USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(functions: Vec<DeployedFunction>) -> DeployedStack {
        DeployedStack {
            name: "ssr-onboard".into(),
            stack_id: None,
            status: "CREATE_COMPLETE".into(),
            status_reason: None,
            outputs: BTreeMap::from([
                (
                    STATE_TABLE_OUTPUT.to_string(),
                    "ssr-onboard-StateTable-1A".to_string(),
                ),
                (
                    ALERT_TOPIC_OUTPUT.to_string(),
                    "arn:aws:sns:us-east-1:123456789012:t".to_string(),
                ),
            ]),
            parameters: BTreeMap::new(),
            resources: vec![],
            functions,
        }
    }

    #[test]
    fn when_the_functions_environment_is_readable_then_it_wins_over_the_outputs() {
        let s = stack(vec![
            DeployedFunction {
                function: Function::InstanceGuard,
                name: "g".into(),
                environment: Err("AccessDenied".into()),
            },
            DeployedFunction {
                function: Function::OnboardingWatchdog,
                name: "w".into(),
                environment: Ok(BTreeMap::from([
                    ("STATE_TABLE".to_string(), "from-env".to_string()),
                    ("DRY_RUN".to_string(), "true".to_string()),
                ])),
            },
        ]);
        let c = s.config().expect("valid");
        assert_eq!(c.state_table.as_deref(), Some("from-env"));
        assert!(c.dry_run);
        assert_eq!(
            c.alert_topic_arn.as_deref(),
            Some("arn:aws:sns:us-east-1:123456789012:t")
        );
        assert_eq!(
            s.state_table().as_deref(),
            Some("ssr-onboard-StateTable-1A")
        );
    }

    #[test]
    fn when_a_deployed_setting_is_invalid_then_config_names_the_variable() {
        let s = stack(vec![DeployedFunction {
            function: Function::InstanceGuard,
            name: "g".into(),
            environment: Ok(BTreeMap::from([(
                "DRY_RUN".to_string(),
                "maybe".to_string(),
            )])),
        }]);
        let e = s.config().unwrap_err().to_string();
        assert!(e.starts_with("DRY_RUN"), "{e}");
    }
}
