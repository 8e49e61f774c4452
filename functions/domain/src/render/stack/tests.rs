use super::*;
use crate::stack::StackParameter;

const STACK_ID: &str =
    "arn:aws:cloudformation:eu-west-1:444455556666:stack/ssr-branch-1/0f1e2d3c-aaaa-bbbb-cccc-000000000001";

fn stack() -> StackInfo {
    StackInfo {
        stack_id: STACK_ID.into(),
        stack_name: "ssr-branch-1".into(),
        status: "UPDATE_ROLLBACK_COMPLETE".into(),
        status_reason: None,
        operation_started: None,
        parameters: vec![StackParameter {
            key: "InstanceType".into(),
            value: Some("c5.xlarge".into()),
        }],
        tags: Default::default(),
    }
}

fn event(id: &str, status: &str) -> StackEventInfo {
    StackEventInfo {
        timestamp: None,
        logical_resource_id: id.into(),
        physical_resource_id: None,
        resource_type: "AWS::EC2::Instance".into(),
        status: status.into(),
        reason: Some("Resource handler returned message: boom".into()),
    }
}

fn ctx() -> EventContext {
    EventContext {
        trigger: "CloudFormation stack ssr-branch-1".into(),
        region: Some("eu-west-1".into()),
        account: Some("444455556666".into()),
        ..Default::default()
    }
}

fn alert(status: &str, failed: &[StackEventInfo]) -> Alert {
    let refs: Vec<&StackEventInfo> = failed.iter().collect();
    stack_alert(&ctx(), &stack(), status, None, &refs)
}

/// The advice part of the body (after "What to do").
fn advice_text(a: &Alert) -> &str {
    a.body
        .split_once("What to do (")
        .map_or("", |(_, advice)| advice)
}

#[test]
fn when_an_update_rolled_back_then_the_alert_says_fix_and_update_again_and_never_delete() {
    let a = alert(
        "UPDATE_ROLLBACK_COMPLETE",
        &[event("Router", "UPDATE_FAILED")],
    );
    let advice = advice_text(&a);
    assert!(advice.contains("previous, working template"), "{advice}");
    assert!(advice.contains("Do not delete the stack"), "{advice}");
    assert!(
        advice.contains("aws cloudformation update-stack --stack-name ssr-branch-1"),
        "{advice}"
    );
    assert!(!advice.contains("delete-stack"), "{advice}");
    assert!(!a.body.contains("create it again"), "{}", a.body);
    assert!(
        a.next_steps.iter().all(|s| !s.contains("delete-stack")),
        "{:?}",
        a.next_steps
    );
}

#[test]
fn when_a_create_rolled_back_then_the_alert_says_delete_and_create_again_with_the_region() {
    for status in ["ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS"] {
        let a = alert(status, &[event("Router", "CREATE_FAILED")]);
        let advice = advice_text(&a);
        assert!(
            advice.contains(
                "aws cloudformation delete-stack --stack-name ssr-branch-1 --region eu-west-1"
            ),
            "{status}: {advice}"
        );
        assert!(
            advice.contains("aws cloudformation wait stack-delete-complete --stack-name ssr-branch-1 --region eu-west-1"),
            "{status}: {advice}"
        );
        assert!(
            advice.contains("Create the stack again"),
            "{status}: {advice}"
        );
        assert!(!advice.contains("update-stack"), "{status}: {advice}");
    }
}

#[test]
fn when_an_update_rollback_failed_then_continue_update_rollback_with_resources_to_skip() {
    let a = alert(
        "UPDATE_ROLLBACK_FAILED",
        &[
            event("Router", "UPDATE_FAILED"),
            event("WanEip", "UPDATE_FAILED"),
        ],
    );
    let advice = advice_text(&a);
    assert!(
        advice.contains(
            "aws cloudformation continue-update-rollback --stack-name ssr-branch-1 --region eu-west-1"
        ),
        "{advice}"
    );
    assert!(
        advice.contains("aws cloudformation continue-update-rollback --stack-name ssr-branch-1 --resources-to-skip Router WanEip --region eu-west-1"),
        "{advice}"
    );
    assert!(advice.contains("Do not delete the stack"), "{advice}");
    assert!(!advice.contains("delete-stack"), "{advice}");
}

#[test]
fn when_a_delete_or_a_create_rollback_failed_then_delete_with_retained_resources() {
    let a = alert("DELETE_FAILED", &[event("WanEni", "DELETE_FAILED")]);
    assert!(
        advice_text(&a).contains(
            "aws cloudformation delete-stack --stack-name ssr-branch-1 --retain-resources WanEni --region eu-west-1"
        ),
        "{}",
        a.body
    );
    let a = alert("ROLLBACK_FAILED", &[event("Router", "CREATE_FAILED")]);
    let advice = advice_text(&a);
    assert!(
        advice.contains(
            "aws cloudformation delete-stack --stack-name ssr-branch-1 --region eu-west-1"
        ),
        "{advice}"
    );
    assert!(
        advice.contains("--retain-resources <LogicalResourceId> --region eu-west-1"),
        "{advice}"
    );
}

#[test]
fn when_the_stack_is_in_a_member_account_then_each_command_says_which_account_and_the_subject_names_it(
) {
    let ctx = EventContext {
        member: true,
        account_name: Some("Branch Prod".into()),
        ..ctx()
    };
    let failed = event("Router", "CREATE_FAILED");
    let a = stack_alert(&ctx, &stack(), "ROLLBACK_COMPLETE", None, &[&failed]);
    assert!(
        a.body
            .contains("Delete the failed stack in account 444455556666 (Branch Prod)"),
        "{}",
        a.body
    );
    assert!(
        a.body.contains("Account:   444455556666 (Branch Prod)"),
        "{}",
        a.body
    );
    assert!(
        a.subject
            .starts_with("[Branch Prod eu-west-1] SSR stack ssr-branch-1 ROLLBACK_COMPLETE"),
        "{}",
        a.subject
    );
}

#[test]
fn when_the_stack_is_in_china_or_govcloud_then_the_console_link_is_that_partitions() {
    for (region, host) in [
        ("cn-north-1", "https://console.amazonaws.cn/cloudformation/home?region=cn-north-1#/stacks/events?stackId="),
        ("us-gov-west-1", "https://console.amazonaws-us-gov.com/cloudformation/home?region=us-gov-west-1#/stacks/events?stackId="),
        ("eu-west-1", "https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/events?stackId=arn%3Aaws%3Acloudformation%3A"),
    ] {
        let ctx = EventContext {
            region: Some(region.into()),
            ..ctx()
        };
        let a = stack_alert(&ctx, &stack(), "UPDATE_ROLLBACK_COMPLETE", None, &[]);
        assert!(a.body.contains(host), "{region}: {}", a.body);
        assert!(
            a.next_steps.iter().any(|s| s.contains(host)),
            "{region}: {:?}",
            a.next_steps
        );
    }
}
