//! The audit engine's reports: counts, exit codes, text and JSON for one region and for several
//! accounts and regions, and the hints for scopes that could not be audited.

use super::*;
use crate::commands::audit::exit_code;
use crate::exit;
use crate::output::Style;
use ssr_core::findings::{Action, FindingCode};

fn router(status: ActionStatus) -> RouterAudit {
    let fix = Action::DisableSourceDestCheck {
        eni_id: "eni-1".into(),
    };
    let finding = Finding::new(
        FindingCode::SrcDstCheckEnabled,
        "eni-1",
        "on",
        "turn it off",
    )
    .with_fix(fix.clone());
    RouterAudit {
        account: None,
        region: None,
        instance_id: "i-1".into(),
        name: "r1".into(),
        state: "running".into(),
        instance_type: Some("c5.xlarge".into()),
        stack: None,
        selected_because: "tag".into(),
        checked: true,
        control: Control::Manage,
        snoozed_until: None,
        findings: vec![Finding {
            fixed: status == ActionStatus::Applied,
            ..finding
        }],
        actions: vec![ActionResult {
            action: fix,
            status,
            error: (status == ActionStatus::Failed).then(|| "UnauthorizedOperation".into()),
        }],
    }
}

fn report_with(status: ActionStatus) -> AuditReport {
    let routers = vec![router(status)];
    AuditReport {
        schema: SCHEMA,
        account: None,
        region: Some("us-east-1".into()),
        mode: Mode::Fix,
        instances_scanned: 1,
        summary: summarize(&routers),
        routers,
        accounts: vec![],
    }
}

/// A member router with an unfixed finding, and a member account whose role failed.
fn fleet_report() -> AuditReport {
    let routers = vec![RouterAudit {
        account: Some("444455556666".into()),
        region: Some("eu-west-1".into()),
        ..router(ActionStatus::Planned)
    }];
    let role = "arn:aws:iam::777788889999:role/ssr-onboard-member";
    let failure = ScopeFailure::Work(AwsError::new(
        "DescribeInstances",
        "Unknown",
        "dispatch failure: failed to load credentials: AccessDenied: not authorized to perform: sts:AssumeRole",
    ));
    let scope = |account: &str, status, routers| ScopeAudit {
        account: Some(account.into()),
        region: Some("eu-west-1".into()),
        status,
        role_arn: None,
        error: None,
        hint: None,
        instances_scanned: routers,
        routers,
    };
    let mut summary = summarize(&routers);
    summary.accounts_failed = 1;
    AuditReport {
        schema: SCHEMA,
        account: Some("111122223333".into()),
        region: Some("eu-west-1".into()),
        mode: Mode::Check,
        instances_scanned: 1,
        summary,
        routers,
        accounts: vec![
            scope("111122223333", ScopeStatus::Ok, 0),
            scope("444455556666", ScopeStatus::Ok, 1),
            ScopeAudit {
                role_arn: Some(role.into()),
                error: Some(failure.to_string()),
                hint: Some(scope_hint(Some(role), &failure)),
                ..scope("777788889999", ScopeStatus::Failed, 0)
            },
        ],
    }
}

#[test]
fn when_a_fix_failed_then_exit_1_and_the_row_says_fix_failed_with_what_to_do() {
    let r = report_with(ActionStatus::Failed);
    assert_eq!(exit_code(&r), exit::AWS);
    let text = render_text(&r, &Style::plain());
    assert!(text.contains("FIX FAILED"), "{text}");
    assert!(text.contains("turn it off"), "{text}");
    assert!(text.contains("1 FAILED"), "{text}");
}

#[test]
fn when_every_finding_fixed_then_exit_0() {
    let r = report_with(ActionStatus::Applied);
    assert_eq!(exit_code(&r), exit::OK);
    assert!(render_text(&r, &Style::plain()).contains("fixed"));
}

#[test]
fn when_one_region_is_audited_then_the_json_has_no_account_fields() {
    let doc = serde_json::to_value(report_with(ActionStatus::Planned)).expect("json");
    assert!(doc.get("accounts").is_none(), "{doc}");
    assert!(doc.get("account").is_none(), "{doc}");
    assert!(doc["routers"][0].get("account").is_none(), "{doc}");
    assert!(doc["routers"][0].get("region").is_none(), "{doc}");
    assert_eq!(doc["summary"]["accounts_failed"], 0);
    let text = render_text(&report_with(ActionStatus::Planned), &Style::plain());
    assert!(text.starts_with("ROUTER"), "{text}");
}

#[test]
fn when_a_scope_failed_and_findings_remain_then_exit_1_the_table_names_account_and_region_and_the_failure_has_a_hint(
) {
    let r = fleet_report();
    assert_eq!(
        exit_code(&r),
        exit::AWS,
        "a failed account wins over findings"
    );
    let text = render_text(&r, &Style::plain());
    let header = text.lines().next().unwrap_or_default();
    assert!(header.starts_with("ACCOUNT  "), "{text}");
    assert!(header.contains("REGION"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("SRC_DST_CHECK_ENABLED"))
        .expect("finding row");
    assert!(row.starts_with("444455556666  eu-west-1"), "{text}");
    assert!(text.contains("Not audited (1 of 3"), "{text}");
    assert!(
        text.contains("- 777788889999/eu-west-1: DescribeInstances failed"),
        "{text}"
    );
    assert!(
        text.contains(
            "aws sts assume-role --role-arn arn:aws:iam::777788889999:role/ssr-onboard-member"
        ),
        "{text}"
    );
    assert!(text.contains("2 of 3 account/region scope(s)"), "{text}");
    assert!(
        text.contains("1 account/region scope(s) NOT audited"),
        "{text}"
    );

    let doc = serde_json::to_value(&r).expect("json");
    assert_eq!(doc["routers"][0]["account"], "444455556666");
    assert_eq!(doc["routers"][0]["region"], "eu-west-1");
    assert_eq!(doc["accounts"][2]["status"], "failed");
    assert_eq!(doc["accounts"][1]["status"], "ok");
    assert!(doc["accounts"][1].get("error").is_none(), "{doc}");
    assert_eq!(doc["summary"]["accounts_failed"], 1);
}

#[test]
fn when_the_member_role_lacks_ec2_permissions_then_the_hint_says_update_the_member_stack() {
    let denied = ScopeFailure::Work(AwsError::new(
        "DescribeInstances",
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
    ));
    let role = "arn:aws:iam::777788889999:role/ssr-onboard-member";
    assert!(scope_hint(Some(role), &denied).contains("infra/member.yaml"));
    // The caller's own account: the ordinary permission hint.
    assert!(scope_hint(None, &denied).contains("permission"));
}

#[test]
fn when_routers_are_monitored_or_snoozed_then_the_text_says_so_with_the_time() {
    let until = chrono::DateTime::from_timestamp(1_900_000_000, 0).unwrap_or_default();
    let mut report = report_with(ActionStatus::Planned);
    report.routers.push(RouterAudit {
        instance_id: "i-2".into(),
        name: "r2".into(),
        control: Control::Monitor,
        snoozed_until: Some(until),
        ..router(ActionStatus::Planned)
    });
    let text = render_text(&report, &Style::plain());
    assert!(
        text.contains("running (monitor, snoozed until 2030-03-17 17:46Z)"),
        "{text}"
    );
    let json = serde_json::to_value(&report).unwrap_or_default();
    assert_eq!(json["routers"][1]["snoozed_until"], "2030-03-17T17:46:40Z");
    assert_eq!(json["routers"][1]["control"], "monitor");
    assert!(
        json["routers"][0].get("snoozed_until").is_none(),
        "not snoozed: not in the JSON"
    );
}
