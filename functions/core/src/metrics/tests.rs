use std::time::Duration;

use chrono::TimeZone;
use serde_json::json;

use super::*;
use crate::alerting::AlertOutcome;
use crate::findings::{Action, Finding, FindingCode};
use crate::handlers::guard::GuardOutcome;
use crate::handlers::stack_watch::StackWatchOutcome;
use crate::handlers::stack_watch::{EventKind, InstanceResult};
use crate::handlers::watchdog::{EpisodeAlert, MistOutcome, MistStatus, SweepError, SweepOutcome};
use crate::handlers::HandlerError;
use crate::plan::ActionResult;
use crate::plan::ActionStatus;
use crate::render::AlertKind;

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 2, 3, 0, 0).unwrap()
}

const TS: i64 = 1_796_180_400_000;

fn finding(code: FindingCode, fixed: bool) -> Finding {
    let mut f = Finding::new(code, "eni-lan", "m", "r");
    f.fixed = fixed;
    f
}

fn action(status: ActionStatus) -> ActionResult {
    ActionResult {
        action: Action::DisableSourceDestCheck {
            eni_id: "eni-lan".into(),
        },
        status,
        error: None,
    }
}

fn sent() -> AlertOutcome {
    AlertOutcome {
        sent: true,
        deduplicated: true,
        ..Default::default()
    }
}

fn guard_outcome(findings: Vec<Finding>, actions: Vec<ActionResult>, alert: bool) -> GuardOutcome {
    GuardOutcome {
        instance_id: "i-1".into(),
        trigger: "t".into(),
        state: Some("running".into()),
        selected: true,
        ignored: false,
        reason: "r".into(),
        dry_run: false,
        findings,
        actions,
        alert: if alert {
            sent()
        } else {
            AlertOutcome::nothing("none")
        },
    }
}

#[test]
fn when_counts_are_emitted_then_the_document_is_exact_emf() {
    let mut m = Metrics::default();
    m.count(FINDINGS_OPEN, 2).count(ALERTS_SENT, 1);
    let docs = m.documents(Function::InstanceGuard, at());
    assert_eq!(
        docs,
        vec![json!({
            "_aws": {
                "Timestamp": TS,
                "CloudWatchMetrics": [{
                    "Namespace": "SsrOnboard",
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        {"Name": "FindingsOpen", "Unit": "Count"},
                        {"Name": "AlertsSent", "Unit": "Count"}
                    ]
                }]
            },
            "Function": "instance-guard",
            "FindingsOpen": 2,
            "AlertsSent": 1
        })]
    );
}

#[test]
fn when_findings_have_codes_then_each_code_is_its_own_document_with_both_dimensions() {
    let mut m = Metrics::default();
    m.count(FINDINGS_OPEN, 3)
        .count_by(FINDINGS, &[("Code", "NO_LAN_INTERFACE")], 1)
        .count_by(FINDINGS, &[("Code", "ENI_ROLE_TAG_MISSING")], 1)
        .count_by(FINDINGS, &[("Code", "ENI_ROLE_TAG_MISSING")], 1);
    let docs = m.documents(Function::StackWatch, at());
    assert_eq!(docs.len(), 3, "{docs:?}");
    assert_eq!(docs[0]["FindingsOpen"], 3);
    assert_eq!(
        docs[1],
        json!({
            "_aws": {
                "Timestamp": TS,
                "CloudWatchMetrics": [{
                    "Namespace": "SsrOnboard",
                    "Dimensions": [["Function", "Code"]],
                    "Metrics": [{"Name": "Findings", "Unit": "Count"}]
                }]
            },
            "Function": "stack-watch",
            "Code": "ENI_ROLE_TAG_MISSING",
            "Findings": 2
        })
    );
    assert_eq!(docs[2]["Code"], "NO_LAN_INTERFACE");
    assert_eq!(docs[2]["Findings"], 1);
}

#[test]
fn when_a_metric_has_several_values_then_they_are_an_array_in_their_unit() {
    let mut m = Metrics::default();
    m.values(ONBOARDING_SECONDS, Unit::Seconds, &[600.0, 1380.0])
        .values(DURATION_MS, Unit::Milliseconds, &[12.5]);
    let docs = m.documents(Function::OnboardingWatchdog, at());
    assert_eq!(
        docs,
        vec![json!({
            "_aws": {
                "Timestamp": TS,
                "CloudWatchMetrics": [{
                    "Namespace": "SsrOnboard",
                    "Dimensions": [["Function"]],
                    "Metrics": [
                        {"Name": "OnboardingSeconds", "Unit": "Seconds"},
                        {"Name": "DurationMs", "Unit": "Milliseconds"}
                    ]
                }]
            },
            "Function": "onboarding-watchdog",
            "OnboardingSeconds": [600, 1380],
            "DurationMs": 12.5
        })]
    );
}

#[test]
fn when_a_metric_has_over_100_values_then_they_spread_over_documents_of_100() {
    let mut m = Metrics::default();
    let many: Vec<f64> = (0..250).map(f64::from).collect();
    m.count(ROUTERS_OVERDUE, 1)
        .values(ONBOARDING_SECONDS, Unit::Seconds, &many);
    let docs = m.documents(Function::OnboardingWatchdog, at());
    let sizes: Vec<usize> = docs
        .iter()
        .map(|d| d["OnboardingSeconds"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![100, 100, 50]);
    assert_eq!(docs[0]["RoutersOverdue"], 1);
    assert!(docs[1].get("RoutersOverdue").is_none());
    assert_eq!(
        docs[2]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "OnboardingSeconds", "Unit": "Seconds"}])
    );
}

#[test]
fn when_lines_are_printed_then_each_is_one_json_document() {
    let mut m = Metrics::default();
    m.count_by(FINDINGS, &[("Code", "ENA_DISABLED")], 1)
        .count(FINDINGS_OPEN, 1);
    let lines = m.lines(Function::InstanceGuard, at());
    assert_eq!(lines.len(), 2);
    for l in &lines {
        assert!(!l.contains('\n'));
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "SsrOnboard");
    }
}

#[test]
fn when_a_guard_run_fixed_some_and_left_others_then_metrics_count_what_remains() {
    let o = guard_outcome(
        vec![
            finding(FindingCode::SrcDstCheckEnabled, true),
            finding(FindingCode::EniRoleTagMissing, false),
            finding(FindingCode::NoLanInterface, false),
            // Info: a note, not an open finding.
            finding(FindingCode::EnaUnknown, false),
        ],
        vec![
            action(ActionStatus::Applied),
            action(ActionStatus::Failed),
            action(ActionStatus::Unverified),
            action(ActionStatus::Planned),
        ],
        true,
    );
    let m = o.metrics();
    assert_eq!(m.get(FINDINGS_OPEN, &[]), Some(&[2.0][..]));
    assert_eq!(
        m.get(FINDINGS, &[("Code", "ENI_ROLE_TAG_MISSING")]),
        Some(&[1.0][..])
    );
    assert_eq!(
        m.get(FINDINGS, &[("Code", "NO_LAN_INTERFACE")]),
        Some(&[1.0][..])
    );
    assert_eq!(m.get(FINDINGS, &[("Code", "SRC_DST_CHECK_ENABLED")]), None);
    assert_eq!(m.get(FINDINGS, &[("Code", "ENA_UNKNOWN")]), None);
    assert_eq!(m.get(FIXES_APPLIED, &[]), Some(&[1.0][..]));
    assert_eq!(m.get(FIXES_FAILED, &[]), Some(&[2.0][..]));
    assert_eq!(m.get(ALERTS_SENT, &[]), Some(&[1.0][..]));
}

#[test]
fn when_a_guard_run_is_clean_then_every_count_is_reported_as_zero() {
    let m = guard_outcome(vec![], vec![], false).metrics();
    for name in [FINDINGS_OPEN, FIXES_APPLIED, FIXES_FAILED, ALERTS_SENT] {
        assert_eq!(m.get(name, &[]), Some(&[0.0][..]), "{name}");
    }
    let docs = m.documents(Function::InstanceGuard, at());
    assert_eq!(docs.len(), 1, "no Code document without findings");
}

#[test]
fn when_fixes_failed_then_the_error_still_reports_the_guard_metrics() {
    let o = guard_outcome(
        vec![finding(FindingCode::SrcDstCheckEnabled, false)],
        vec![action(ActionStatus::Failed)],
        true,
    );
    let e = HandlerError::FixesFailed {
        instance_id: "i-1".into(),
        failed: 1,
        total: 1,
        outcome: Box::new(o),
    };
    let m = invocation::<GuardOutcome, _>(Some(&Err(e)), Duration::from_millis(42));
    assert_eq!(m.get(FIXES_FAILED, &[]), Some(&[1.0][..]));
    assert_eq!(m.get(FINDINGS_OPEN, &[]), Some(&[1.0][..]));
    assert_eq!(m.get(DURATION_MS, &[]), Some(&[42.0][..]));
}

#[test]
fn when_an_invocation_failed_without_an_outcome_then_only_its_duration_is_reported() {
    let e = HandlerError::from(crate::handlers::EventError::malformed("x"));
    let m = invocation::<GuardOutcome, _>(Some(&Err(e)), Duration::from_millis(3));
    let docs = m.documents(Function::InstanceGuard, at());
    assert_eq!(docs.len(), 1);
    assert_eq!(
        docs[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"],
        json!([{"Name": "DurationMs", "Unit": "Milliseconds"}])
    );
    assert_eq!(docs[0]["DurationMs"], 3);
    let none = invocation::<GuardOutcome, HandlerError>(None, Duration::from_millis(1));
    assert_eq!(none.get(DURATION_MS, &[]), Some(&[1.0][..]));
}

#[test]
fn when_a_stack_event_checked_two_instances_then_their_metrics_add_up_with_the_stack_alert() {
    let g1 = guard_outcome(
        vec![finding(FindingCode::EniRoleTagMissing, false)],
        vec![action(ActionStatus::Applied)],
        true,
    );
    let g2 = guard_outcome(
        vec![
            finding(FindingCode::EniRoleTagMissing, false),
            finding(FindingCode::NoLanInterface, false),
        ],
        vec![],
        false,
    );
    let mut o = StackWatchOutcome::new(EventKind::StackStatusChange, None);
    o.instances = [g1, g2]
        .into_iter()
        .map(|g| InstanceResult {
            instance_id: g.instance_id.clone(),
            guard: Some(g),
            error: None,
            onboarding_start_recorded: None,
        })
        .collect();
    o.alert = Some(sent());
    let m = o.metrics();
    assert_eq!(m.get(FINDINGS_OPEN, &[]), Some(&[3.0][..]));
    assert_eq!(
        m.get(FINDINGS, &[("Code", "ENI_ROLE_TAG_MISSING")]),
        Some(&[2.0][..])
    );
    assert_eq!(m.get(FIXES_APPLIED, &[]), Some(&[1.0][..]));
    assert_eq!(m.get(FIXES_FAILED, &[]), Some(&[0.0][..]));
    assert_eq!(m.get(ALERTS_SENT, &[]), Some(&[2.0][..]));
}

#[test]
fn when_a_stack_event_is_about_no_router_then_counts_are_zero() {
    let o = StackWatchOutcome::new(EventKind::ResourceStatusChange, None);
    let m = o.metrics();
    assert_eq!(m.get(FINDINGS_OPEN, &[]), Some(&[0.0][..]));
    assert_eq!(m.get(ALERTS_SENT, &[]), Some(&[0.0][..]));
}

fn sweep_outcome(mist: MistStatus) -> SweepOutcome {
    SweepOutcome {
        mist: MistOutcome {
            status: mist,
            ..Default::default()
        },
        overdue_now: 2,
        onboarding_seconds: vec![540, 1500],
        alerts: vec![
            EpisodeAlert {
                instance_id: "i-1".into(),
                kind: AlertKind::OnboardingOverdue,
                delivery: sent(),
            },
            EpisodeAlert {
                instance_id: "i-2".into(),
                kind: AlertKind::OnboardingOverdue,
                delivery: AlertOutcome {
                    already_sent: true,
                    ..Default::default()
                },
            },
        ],
        ..Default::default()
    }
}

#[test]
fn when_a_sweep_finished_episodes_then_it_reports_durations_overdue_and_alerts() {
    let m = sweep_outcome(MistStatus::Ok).metrics();
    assert_eq!(m.get(ALERTS_SENT, &[]), Some(&[1.0][..]));
    assert_eq!(m.get(ROUTERS_OVERDUE, &[]), Some(&[2.0][..]));
    assert_eq!(m.get(ONBOARDING_SECONDS, &[]), Some(&[540.0, 1500.0][..]));
    assert_eq!(m.get(MIST_READ_FAILURES, &[]), Some(&[0.0][..]));
}

#[test]
fn when_the_mist_read_failed_then_the_sweep_reports_one_failure() {
    let m = sweep_outcome(MistStatus::Unavailable).metrics();
    assert_eq!(m.get(MIST_READ_FAILURES, &[]), Some(&[1.0][..]));
}

#[test]
fn when_the_sweep_did_not_need_mist_then_no_mist_metric_and_overdue_is_still_reported() {
    for status in [MistStatus::NotNeeded, MistStatus::NotConfigured] {
        let mut o = SweepOutcome {
            mist: MistOutcome {
                status,
                ..Default::default()
            },
            ..Default::default()
        };
        o.overdue_now = 0;
        let m = o.metrics();
        assert_eq!(m.get(MIST_READ_FAILURES, &[]), None, "{status:?}");
        assert_eq!(m.get(ROUTERS_OVERDUE, &[]), Some(&[0.0][..]));
        assert_eq!(m.get(ONBOARDING_SECONDS, &[]), None);
    }
}

#[test]
fn when_a_sweep_is_incomplete_then_the_error_reports_the_sweep_metrics() {
    let e = SweepError::Incomplete {
        failed: 1,
        first: "x".into(),
        outcome: Box::new(sweep_outcome(MistStatus::Ok)),
    };
    let m = invocation::<SweepOutcome, _>(Some(&Err(e)), Duration::from_millis(5));
    assert_eq!(m.get(ROUTERS_OVERDUE, &[]), Some(&[2.0][..]));
    assert_eq!(m.get(DURATION_MS, &[]), Some(&[5.0][..]));
}
