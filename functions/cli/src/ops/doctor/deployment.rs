//! The deployed stack: its status, every EventBridge rule (enabled, with a target; the
//! watchdog's schedule among them), the dead-letter queue; the webhook's Function URL and
//! secret; each function's preflight, invoked under the function's own role; CloudTrail.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use aws_sdk_sqs::types::QueueAttributeName;
use ssr_core::aws::secrets::{Secrets, WEBHOOK_SECRET};
use ssr_core::aws::AwsError;
use ssr_core::check::{Check, PreflightReport, PREFLIGHT_SCHEMA};
use ssr_core::metrics::Function;
use ssr_core::Config;

use super::{Checks, DoctorClients};
use crate::stack::{DeployedStack, DLQ_OUTPUT, WEBHOOK_URL_OUTPUT};

/// The event a function answers with its preflight report.
pub const PREFLIGHT_EVENT: &str = r#"{"ssr-onboard": "preflight"}"#;

pub(super) async fn stack_checks(
    clients: &DoctorClients,
    stack: &DeployedStack,
    checks: &mut Checks,
) {
    checks.push(stack_status_check(stack));
    let enabled = stack.parameters.get("Enabled").is_none_or(|v| v != "false");
    let rules: Vec<_> = stack.resources_of("AWS::Events::Rule").collect();
    if rules.is_empty() {
        checks.push(Check::problem(
            "events.rules",
            format!(
                "stack {} has no EventBridge rule: no event reaches the functions",
                stack.name
            ),
            "deploy infra/template.yaml (sam deploy); its functions' Events create the rules",
        ));
    }
    for rule in rules {
        let name = format!("events.rule.{}", rule.logical_id);
        let Some(physical) = rule.physical_id.as_deref() else {
            checks.push(Check::problem(
                &name,
                "the rule has no physical id: it was never created",
                "deploy the stack again (sam deploy)",
            ));
            continue;
        };
        // A rule on a custom bus is `<bus>|<rule>`.
        let (bus, rule_name) = match physical.split_once('|') {
            Some((bus, r)) => (Some(bus), r),
            None => (None, physical),
        };
        let described = match clients
            .events
            .describe_rule()
            .name(rule_name)
            .set_event_bus_name(bus.map(String::from))
            .send()
            .await
        {
            Ok(d) => d,
            Err(e) => {
                let e = AwsError::from_sdk("DescribeRule", e);
                if e.code == "ResourceNotFoundException" {
                    checks.push(Check::problem(
                        &name,
                        format!(
                            "rule {rule_name} does not exist: its events never reach the function"
                        ),
                        "deploy the stack again (sam deploy)",
                    ));
                } else {
                    checks.not_checked(&name, &e);
                }
                continue;
            }
        };
        let schedule = described.schedule_expression().map(String::from);
        let check_name = if schedule.is_some() {
            "events.schedule".to_string()
        } else {
            name.clone()
        };
        let what = match &schedule {
            Some(s) => format!("schedule {rule_name} ({s})"),
            None => format!("rule {rule_name}"),
        };
        let state = described
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "unknown".into());
        if state != "ENABLED" {
            let bus_flag = bus
                .map(|b| format!(" --event-bus-name {b}"))
                .unwrap_or_default();
            if enabled {
                checks.push(Check::problem(
                    &check_name,
                    format!("{what} is {state}: its events never reach the function"),
                    format!("aws events enable-rule --name {rule_name}{bus_flag}"),
                ));
            } else {
                checks.push(Check::warning(
                    &check_name,
                    format!("{what} is {state} (the stack's Enabled=false)"),
                    "sam deploy ... --parameter-overrides Enabled=true when ssr-onboard should act",
                ));
            }
            continue;
        }
        match clients
            .events
            .list_targets_by_rule()
            .rule(rule_name)
            .set_event_bus_name(bus.map(String::from))
            .send()
            .await
        {
            Ok(t) if !t.targets().is_empty() => checks.push(Check::ok(
                &check_name,
                format!("{what} is ENABLED with {} target(s)", t.targets().len()),
            )),
            Ok(_) => checks.push(Check::problem(
                &check_name,
                format!("{what} is ENABLED but has no target: its events go nowhere"),
                "deploy the stack again (sam deploy)",
            )),
            Err(e) => checks.not_checked(&check_name, &AwsError::from_sdk("ListTargetsByRule", e)),
        }
    }
    dlq_check(clients, stack, checks).await;
}

/// The stack's status as a person should act on it.
fn stack_status_check(stack: &DeployedStack) -> Check {
    let name = "stack.status";
    let s = stack.status.as_str();
    let n = &stack.name;
    let reason = stack
        .status_reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    match s {
        "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE" => {
            Check::ok(name, format!("{n} is {s}"))
        }
        "UPDATE_ROLLBACK_COMPLETE" => Check::warning(
            name,
            format!("{n} is {s}: the last update failed and the stack runs its previous template{reason}"),
            "fix what made the update fail (aws cloudformation describe-stack-events) and update again; never delete it",
        ),
        "ROLLBACK_COMPLETE" => Check::problem(
            name,
            format!("{n} is {s}: its creation failed and was rolled back; nothing runs{reason}"),
            format!("aws cloudformation delete-stack --stack-name {n}, then deploy again"),
        ),
        "UPDATE_ROLLBACK_FAILED" => Check::problem(
            name,
            format!("{n} is {s}{reason}"),
            format!("aws cloudformation continue-update-rollback --stack-name {n} [--resources-to-skip ...]"),
        ),
        "ROLLBACK_FAILED" | "DELETE_FAILED" => Check::problem(
            name,
            format!("{n} is {s}{reason}"),
            format!("aws cloudformation delete-stack --stack-name {n} --retain-resources <the resources that failed>"),
        ),
        s if s.ends_with("_IN_PROGRESS") => Check::warning(
            name,
            format!("{n} is {s}: an operation is under way"),
            "run doctor again when it has finished",
        ),
        other => Check::problem(
            name,
            format!("{n} is {other}{reason}"),
            "aws cloudformation describe-stack-events --stack-name <stack> shows why",
        ),
    }
}

/// The dead-letter queue holds events the functions or EventBridge could not process.
async fn dlq_check(clients: &DoctorClients, stack: &DeployedStack, checks: &mut Checks) {
    let name = "dlq.empty";
    let Some(url) = stack.output(DLQ_OUTPUT) else {
        checks.push(Check::skipped(
            name,
            format!("the stack has no {DLQ_OUTPUT} output"),
        ));
        return;
    };
    let out = match clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            checks.not_checked(name, &AwsError::from_sdk("GetQueueAttributes", e));
            return;
        }
    };
    let count = |a: QueueAttributeName| -> u64 {
        out.attributes()
            .and_then(|m| m.get(&a))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let n = count(QueueAttributeName::ApproximateNumberOfMessages)
        + count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
    if n == 0 {
        checks.push(Check::ok(name, "the dead-letter queue is empty"));
    } else {
        checks.push(Check::problem(
            name,
            format!("{n} failed event(s) in the dead-letter queue: events a function or EventBridge could not process (each keeps the original event; the message attributes say which function and why)"),
            format!("aws sqs receive-message --queue-url {url} --max-number-of-messages 10 --attribute-names All --message-attribute-names All --visibility-timeout 0; replay each with ssr-onboard invoke <function> --event FILE, then aws sqs purge-queue --queue-url {url} (docs/alerts.md, the DeadLetterQueueAlarm runbook)"),
        ));
    }
}

/// The webhook (when deployed): its Function URL answers 401 to an unsigned request, and its
/// secret is readable.
pub(super) async fn webhook_checks(
    clients: &DoctorClients,
    config: &Config,
    stack: Option<&DeployedStack>,
    checks: &mut Checks,
) {
    let url = stack.and_then(|s| s.output(WEBHOOK_URL_OUTPUT));
    let secret_arn = config.mist.webhook_secret_arn.as_deref();
    if url.is_none() && secret_arn.is_none() {
        checks.push(Check::skipped(
            "webhook",
            "the Mist webhook is not deployed (MistWebhookSecretArn unset)",
        ));
        return;
    }
    if let Some(url) = url {
        checks.push(unsigned_request_check(url).await);
    }
    match secret_arn {
        Some(arn) => match Secrets::new(clients.secrets.clone()).secret_string(arn).await {
            Ok(raw) => match (WEBHOOK_SECRET.extract)(&raw) {
                Some(_) => checks.push(Check::ok("webhook.secret", format!("{arn} is readable"))),
                None => checks.push(Check::problem(
                    "webhook.secret",
                    format!("{arn} holds neither {}", WEBHOOK_SECRET.expected),
                    format!("aws secretsmanager put-secret-value --secret-id {arn} --secret-string '{{\"secret\": \"<the webhook's secret>\"}}'"),
                )),
            },
            Err(e) if e.code == "ResourceNotFoundException" => checks.push(Check::problem(
                "webhook.secret",
                format!("{arn} does not exist: every delivery is refused"),
                "create the secret and set MistWebhookSecretArn to its ARN (docs/webhook.md)",
            )),
            Err(e) => checks.not_checked("webhook.secret", &e),
        },
        None => checks.push(Check::skipped("webhook.secret", "no MIST_WEBHOOK_SECRET_ARN in the webhook's environment")),
    }
}

/// An unsigned POST must be refused with 401: the URL is live and checks signatures.
async fn unsigned_request_check(url: &str) -> Check {
    let name = "webhook.url";
    let client = match reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
    {
        Ok(c) => c,
        Err(e) => return Check::skipped(name, format!("not checked: no HTTP client ({e})")),
    };
    match client
        .post(url)
        .header("content-type", "application/json")
        .body(r#"{"topic":"device-events","events":[]}"#)
        .send()
        .await
    {
        Ok(r) if r.status().as_u16() == 401 => {
            Check::ok(name, format!("{url} refuses an unsigned delivery with 401"))
        }
        Ok(r) => Check::problem(
            name,
            format!("{url} answered {} to an unsigned delivery (expected 401)", r.status()),
            "deploy the stack again; the webhook must refuse deliveries without X-Mist-Signature-v2 (docs/webhook.md)",
        ),
        Err(e) => Check::problem(
            name,
            format!("{url} did not answer: {}", e.without_url()),
            "check the stack's MistWebhookUrl output and that the Function URL exists (aws lambda get-function-url-config)",
        ),
    }
}

/// Every deployed function's preflight.
pub(super) async fn preflight_all(
    clients: &DoctorClients,
    stack: &DeployedStack,
    checks: &mut Checks,
) {
    for f in &stack.functions {
        for c in check_preflight(&clients.lambda, f.function, &f.name).await {
            checks.push(c);
        }
    }
    if stack.functions.is_empty() {
        checks.push(Check::problem(
            "preflight",
            format!("stack {} has no ssr-onboard function", stack.name),
            "deploy infra/template.yaml (sam deploy)",
        ));
    }
}

/// Invokes `name`'s preflight (RequestResponse) and turns its report into checks named
/// `preflight.<function>` (the summary) and `preflight.<function>.<check>`.
pub async fn check_preflight(
    lambda: &aws_sdk_lambda::Client,
    function: Function,
    name: &str,
) -> Vec<Check> {
    let summary = format!("preflight.{}", function.name());
    let out = match lambda
        .invoke()
        .function_name(name)
        .invocation_type(InvocationType::RequestResponse)
        .payload(Blob::new(PREFLIGHT_EVENT.as_bytes()))
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) => {
            let e = AwsError::from_sdk("Invoke", e);
            return vec![Check::skipped(
                summary,
                format!(
                    "not invoked: {} ({})",
                    crate::aws_errors::concise(&e),
                    if e.code.contains("AccessDenied") {
                        "the credentials need lambda:InvokeFunction on the stack's functions"
                    } else {
                        crate::aws_errors::hint(&e)
                    }
                ),
            )];
        }
    };
    let payload = out
        .payload()
        .map(|b| b.as_ref().to_vec())
        .unwrap_or_default();
    preflight_checks(function, out.function_error(), &payload)
}

/// A preflight answer (the function's error, if any, and the response payload) as checks.
pub fn preflight_checks(
    function: Function,
    function_error: Option<&str>,
    payload: &[u8],
) -> Vec<Check> {
    let summary = format!("preflight.{}", function.name());
    if function_error.is_some() {
        let v: serde_json::Value = serde_json::from_slice(payload).unwrap_or_default();
        let error_type = v["errorType"].as_str().unwrap_or("Unhandled");
        let message = v["errorMessage"].as_str().unwrap_or("");
        let fix = if error_type == "MalformedEvent" {
            "the deployed function predates the preflight: build and deploy this version (sam build && sam deploy)".to_string()
        } else {
            format!(
                "see the function's log: aws logs tail /aws/lambda/{} --since 10m",
                function.name()
            )
        };
        return vec![Check::problem(
            summary,
            format!("the function failed: {error_type}: {message}"),
            fix,
        )];
    }
    let report: PreflightReport = match serde_json::from_slice(payload) {
        Ok(r) => r,
        Err(e) => {
            return vec![Check::problem(
                summary,
                format!("the function's answer is not a preflight report ({e})"),
                "build and deploy this version (sam build && sam deploy)",
            )]
        }
    };
    if report.schema != PREFLIGHT_SCHEMA {
        return vec![Check::warning(
            summary,
            format!(
                "the function answered schema {} (this doctor reads {PREFLIGHT_SCHEMA})",
                report.schema
            ),
            "use the ssr-onboard CLI of the deployed version",
        )];
    }
    let problems = report
        .checks
        .iter()
        .filter(|c| c.status == ssr_core::check::CheckStatus::Problem)
        .count();
    let mut checks = vec![if problems == 0 {
        Check::ok(
            &summary,
            format!(
                "version {}: {} check(s) under the function's own role, no problem",
                report.version,
                report.checks.len()
            ),
        )
    } else {
        Check::problem(
            &summary,
            format!(
                "version {}: {problems} of {} check(s) failed under the function's own role",
                report.version,
                report.checks.len()
            ),
            "see the checks below; docs/iam.md lists every permission",
        )
    }];
    checks.extend(report.checks.into_iter().map(|c| Check {
        name: format!("{summary}.{}", c.name),
        ..c
    }));
    checks
}

/// A trail delivering management events in this region (the drift rule needs one).
pub(super) async fn cloudtrail_check(
    clients: &DoctorClients,
    region: Option<&str>,
    checks: &mut Checks,
) {
    let name = "cloudtrail.management-events";
    let trails = match clients
        .cloudtrail
        .describe_trails()
        .include_shadow_trails(true)
        .send()
        .await
    {
        Ok(t) => t.trail_list.unwrap_or_default(),
        Err(e) => {
            checks.not_checked(name, &AwsError::from_sdk("DescribeTrails", e));
            return;
        }
    };
    let mut seen = Vec::new();
    for trail in &trails {
        let Some(arn) = trail.trail_arn().or(trail.name()) else {
            continue;
        };
        let applies = trail.is_multi_region_trail().unwrap_or(false)
            || region.is_none()
            || trail.home_region() == region;
        if !applies {
            continue;
        }
        let logging = match clients.cloudtrail.get_trail_status().name(arn).send().await {
            Ok(s) => s.is_logging().unwrap_or(false),
            Err(e) => {
                checks.not_checked(name, &AwsError::from_sdk("GetTrailStatus", e));
                return;
            }
        };
        let management = match clients
            .cloudtrail
            .get_event_selectors()
            .trail_name(arn)
            .send()
            .await
        {
            Ok(s) => {
                s.event_selectors().iter().any(|sel| {
                    sel.include_management_events().unwrap_or(true)
                        && sel
                            .read_write_type()
                            .is_none_or(|t| t.as_str() != "ReadOnly")
                }) || s.advanced_event_selectors().iter().any(|a| {
                    a.field_selectors().iter().any(|f| {
                        f.field() == "eventCategory" && f.equals().iter().any(|v| v == "Management")
                    })
                }) || (s.event_selectors().is_empty() && s.advanced_event_selectors().is_empty())
            }
            Err(e) => {
                checks.not_checked(name, &AwsError::from_sdk("GetEventSelectors", e));
                return;
            }
        };
        let trail_name = trail.name().unwrap_or(arn).to_string();
        if logging && management {
            checks.push(Check::ok(
                name,
                format!(
                    "trail {trail_name} delivers management events{}",
                    region.map(|r| format!(" in {r}")).unwrap_or_default()
                ),
            ));
            return;
        }
        seen.push(format!(
            "{trail_name} ({})",
            if !logging {
                "not logging"
            } else {
                "no write management events"
            }
        ));
    }
    checks.push(Check::warning(
        name,
        format!(
            "no trail delivers management events{} ({}): the alerts' drift rule sees no API calls",
            region.map(|r| format!(" in {r}")).unwrap_or_default(),
            if seen.is_empty() { "no trail".to_string() } else { seen.join(", ") }
        ),
        "aws cloudtrail create-trail --name ssr-onboard --s3-bucket-name <bucket> --is-multi-region-trail && aws cloudtrail start-logging --name ssr-onboard",
    ));
}

#[cfg(test)]
mod tests {
    use super::*;
    use ssr_core::check::CheckStatus;

    #[test]
    fn when_a_function_predates_the_preflight_then_the_fix_says_deploy_this_version() {
        let checks = preflight_checks(
            Function::InstanceGuard,
            Some("Unhandled"),
            br#"{"errorType":"MalformedEvent","errorMessage":"expected an EC2 event"}"#,
        );
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].status, CheckStatus::Problem);
        assert!(checks[0]
            .fix
            .as_deref()
            .unwrap_or("")
            .contains("sam deploy"));
    }

    #[test]
    fn when_the_stack_rolled_back_its_update_then_it_is_a_warning_and_a_failed_create_a_problem() {
        let mut s = DeployedStack {
            name: "ssr-onboard".into(),
            stack_id: None,
            status: "UPDATE_ROLLBACK_COMPLETE".into(),
            status_reason: None,
            outputs: Default::default(),
            parameters: Default::default(),
            resources: vec![],
            functions: vec![],
        };
        assert_eq!(stack_status_check(&s).status, CheckStatus::Warning);
        s.status = "ROLLBACK_COMPLETE".into();
        let c = stack_status_check(&s);
        assert_eq!(c.status, CheckStatus::Problem);
        assert!(c.fix.as_deref().unwrap_or("").contains("delete-stack"));
        s.status = "UPDATE_COMPLETE".into();
        assert_eq!(stack_status_check(&s).status, CheckStatus::Ok);
    }
}
