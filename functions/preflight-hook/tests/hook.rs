//! The PreTraffic hook against CodeDeploy's and Lambda's documented answers, replayed with
//! `aws-smithy-mocks` (moto cannot invoke functions): GetDeployment's AppSpec → Invoke of the
//! target version with the preflight event → its report → PutLifecycleEventHookExecutionStatus.

use std::time::Duration;

use aws_sdk_codedeploy::operation::get_deployment::GetDeploymentOutput;
use aws_sdk_codedeploy::operation::put_lifecycle_event_hook_execution_status::PutLifecycleEventHookExecutionStatusOutput;
use aws_sdk_codedeploy::types::{
    AppSpecContent, DeploymentInfo, LifecycleEventStatus, RevisionLocation, RevisionLocationType,
};
use aws_sdk_lambda::operation::invoke::InvokeOutput;
use aws_sdk_lambda::operation::list_versions_by_function::ListVersionsByFunctionOutput;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::FunctionConfiguration;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use preflight_hook::{handle, HookError};
use ssr_domain::check::{Check, PreflightReport};

const GUARD: &str = "ssr-onboard-InstanceGuardFunction-AbC123";
const WATCHDOG: &str = "ssr-onboard-OnboardingWatchdogFunction-XyZ789";
const DEPLOYMENT: &str = "d-ABCDEF123";
const EXECUTION: &str = "eyJlbmNyeXB0ZWREYXRhIjoiZXhhbXBsZSJ9";

fn event() -> serde_json::Value {
    serde_json::json!({"DeploymentId": DEPLOYMENT, "LifecycleEventHookExecutionId": EXECUTION})
}

fn functions() -> Vec<String> {
    vec![GUARD.to_string(), WATCHDOG.to_string()]
}

/// GetDeployment of a CloudFormation-started Lambda deployment: its AppSpec shifts `function`'s
/// alias `live` from version 6 to `target`.
fn deployment(function: &'static str, target: &'static str) -> Rule {
    mock!(aws_sdk_codedeploy::Client::get_deployment)
        .match_requests(|r| r.deployment_id() == Some(DEPLOYMENT))
        .then_output(move || {
            let appspec = format!(
                "version: 0.0\nResources:\n  - {function}:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: \"{function}\"\n        Alias: \"live\"\n        CurrentVersion: \"6\"\n        TargetVersion: \"{target}\"\nHooks:\n  - BeforeAllowTraffic: \"CodeDeployHook_preflight\"\n"
            );
            GetDeploymentOutput::builder()
                .deployment_info(
                    DeploymentInfo::builder()
                        .deployment_id(DEPLOYMENT)
                        .revision(
                            RevisionLocation::builder()
                                .revision_type(RevisionLocationType::AppSpecContent)
                                .app_spec_content(AppSpecContent::builder().content(appspec).build())
                                .build(),
                        )
                        .build(),
                )
                .build()
        })
}

/// Invoke of `function:version` with exactly the preflight event, answering `out`.
fn invoke(
    function: &'static str,
    version: &'static str,
    out: impl Fn() -> InvokeOutput + Send + Sync + 'static,
) -> Rule {
    mock!(aws_sdk_lambda::Client::invoke)
        .match_requests(move |r| {
            let payload: serde_json::Value = r
                .payload()
                .and_then(|p| serde_json::from_slice(p.as_ref()).ok())
                .unwrap_or_default();
            r.function_name() == Some(function)
                && r.qualifier() == Some(version)
                && payload == serde_json::json!({"ssr-onboard": "preflight"})
        })
        .then_output(out)
}

fn report(checks: Vec<Check>) -> InvokeOutput {
    let r = PreflightReport::new("instance-guard", "0.1.0", checks);
    InvokeOutput::builder()
        .status_code(200)
        .executed_version("7")
        .payload(Blob::new(serde_json::to_vec(&r).unwrap_or_default()))
        .build()
}

fn status_reported(status: LifecycleEventStatus) -> Rule {
    mock!(aws_sdk_codedeploy::Client::put_lifecycle_event_hook_execution_status)
        .match_requests(move |r| {
            r.deployment_id() == Some(DEPLOYMENT)
                && r.lifecycle_event_hook_execution_id() == Some(EXECUTION)
                && r.status() == Some(&status)
        })
        .then_output(|| {
            PutLifecycleEventHookExecutionStatusOutput::builder()
                .lifecycle_event_hook_execution_id(EXECUTION)
                .build()
        })
}

async fn run(
    lambda: &[&Rule],
    codedeploy: &[&Rule],
) -> Result<preflight_hook::HookOutcome, HookError> {
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, lambda.iter().copied());
    let codedeploy = mock_client!(
        aws_sdk_codedeploy,
        RuleMode::MatchAny,
        codedeploy.iter().copied()
    );
    handle(
        &lambda,
        &codedeploy,
        &functions(),
        event(),
        Duration::from_secs(30),
    )
    .await
}

#[tokio::test]
async fn when_the_target_version_passes_its_preflight_then_codedeploy_hears_succeeded() {
    let get = deployment(GUARD, "7");
    let invoked = invoke(GUARD, "7", || {
        report(vec![
            Check::ok("ec2.modify-eni-dry-run.router-tag", "DryRunOperation"),
            Check::skipped("routers.stack-name", "no router found"),
        ])
    });
    let succeeded = status_reported(LifecycleEventStatus::Succeeded);
    let outcome = run(&[&invoked], &[&get, &succeeded])
        .await
        .expect("reported");
    assert_eq!(outcome.status, "Succeeded");
    assert_eq!(
        outcome.verdicts.len(),
        1,
        "only the deployed function: {outcome:?}"
    );
    assert_eq!(outcome.verdicts[0].version.as_deref(), Some("7"));
    assert_eq!(invoked.num_calls(), 1);
    assert_eq!(succeeded.num_calls(), 1);
}

#[tokio::test]
async fn when_the_report_has_a_problem_then_codedeploy_hears_failed_with_the_check_named() {
    let get = deployment(GUARD, "7");
    let invoked = invoke(GUARD, "7", || {
        report(vec![Check::problem(
            "ec2.modify-eni-dry-run.router-tag",
            "ModifyNetworkInterfaceAttribute SourceDestCheck=false (DryRun) denied",
            "grant ec2:ModifyNetworkInterfaceAttribute",
        )])
    });
    let failed = status_reported(LifecycleEventStatus::Failed);
    let outcome = run(&[&invoked], &[&get, &failed]).await.expect("reported");
    assert_eq!(outcome.status, "Failed");
    assert!(
        outcome.verdicts[0].reasons[0].starts_with("ec2.modify-eni-dry-run.router-tag"),
        "{outcome:?}"
    );
    assert_eq!(failed.num_calls(), 1);
}

#[tokio::test]
async fn when_the_new_version_fails_or_answers_no_report_then_codedeploy_hears_failed() {
    for answer in [
        InvokeOutput::builder()
            .status_code(200)
            .function_error("Unhandled")
            .payload(Blob::new(
                br#"{"errorType":"Config","errorMessage":"ROUTER_STACKS: invalid glob"}"#.to_vec(),
            ))
            .build(),
        // An older version answers the preflight event as a normal event.
        InvokeOutput::builder()
            .status_code(200)
            .payload(Blob::new(br#"{"selected":false}"#.to_vec()))
            .build(),
    ] {
        let get = deployment(GUARD, "7");
        let invoked = invoke(GUARD, "7", move || answer.clone());
        let failed = status_reported(LifecycleEventStatus::Failed);
        let outcome = run(&[&invoked], &[&get, &failed]).await.expect("reported");
        assert_eq!(outcome.status, "Failed", "{outcome:?}");
        assert_eq!(failed.num_calls(), 1);
    }
}

#[tokio::test]
async fn when_the_deployment_cannot_be_read_then_every_functions_newest_version_is_checked() {
    let no_deployment = mock!(aws_sdk_codedeploy::Client::get_deployment).then_error(|| {
        aws_sdk_codedeploy::operation::get_deployment::GetDeploymentError::DeploymentDoesNotExistException(
            aws_sdk_codedeploy::types::error::DeploymentDoesNotExistException::builder()
                .message("The deployment d-ABCDEF123 could not be found")
                .build(),
        )
    });
    let versions = |function: &'static str| {
        mock!(aws_sdk_lambda::Client::list_versions_by_function)
            .match_requests(move |r| r.function_name() == Some(function))
            .then_output(|| {
                ListVersionsByFunctionOutput::builder()
                    .versions(FunctionConfiguration::builder().version("$LATEST").build())
                    .versions(FunctionConfiguration::builder().version("9").build())
                    .versions(FunctionConfiguration::builder().version("12").build())
                    .build()
            })
    };
    let (guard_versions, watchdog_versions) = (versions(GUARD), versions(WATCHDOG));
    let guard = invoke(GUARD, "12", || report(vec![Check::ok("state.claim", "ok")]));
    let watchdog = invoke(WATCHDOG, "12", || {
        report(vec![Check::ok("mist.self", "ok")])
    });
    let succeeded = status_reported(LifecycleEventStatus::Succeeded);
    let outcome = run(
        &[&guard_versions, &watchdog_versions, &guard, &watchdog],
        &[&no_deployment, &succeeded],
    )
    .await
    .expect("reported");
    assert_eq!(outcome.status, "Succeeded", "{outcome:?}");
    assert_eq!(outcome.verdicts.len(), 2);
    assert_eq!((guard.num_calls(), watchdog.num_calls()), (1, 1));
}

#[tokio::test]
async fn when_the_deployment_is_another_stacks_function_then_it_is_not_invoked_and_fails() {
    let get = deployment("someone-elses-function", "3");
    let failed = status_reported(LifecycleEventStatus::Failed);
    let outcome = run(&[], &[&get, &failed]).await.expect("reported");
    assert_eq!(outcome.status, "Failed");
    assert!(outcome.verdicts[0].reasons[0].contains("is not one of PREFLIGHT_FUNCTIONS"));
}

#[tokio::test]
async fn when_the_event_is_not_codedeploys_then_nothing_is_called() {
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, Vec::<&Rule>::new());
    let codedeploy = mock_client!(aws_sdk_codedeploy, RuleMode::MatchAny, Vec::<&Rule>::new());
    let err = handle(
        &lambda,
        &codedeploy,
        &functions(),
        serde_json::json!({"ssr-onboard": "preflight"}),
        Duration::from_secs(5),
    )
    .await
    .expect_err("malformed");
    assert_eq!(err.error_type(), "MalformedEvent");
}
