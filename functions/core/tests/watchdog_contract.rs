//! Contract tests of the onboarding watchdog with `aws-smithy-mocks` (real AWS responses the
//! emulator cannot produce: a publish that fails, IAM denying the user-data read) and a fake Mist
//! API (`wiremock`): claims released on failure, the token read once per cold start and again
//! after a 401, malformed events typed.

use crate::watchdog_support;

use ssr_core::handlers::watchdog::SweepError;
use watchdog_support::*;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn when_event_is_not_a_scheduled_event_or_has_no_time_then_malformed_error() {
    let (d, w, _) = deps(config(&[]), false, false);
    let mut no_time = event();
    no_time.as_object_mut().map(|o| o.remove("time"));
    let mut wrong_source = event();
    wrong_source["source"] = "aws.ec2".into();
    for bad in [
        no_time,
        wrong_source,
        serde_json::json!([1, 2]),
        serde_json::json!({"time": "x"}),
    ] {
        let err = w
            .handle_event(&d, bad.clone(), ssr_core::Deadline::NONE)
            .await
            .expect_err("malformed");
        assert!(matches!(err, SweepError::Event(_)), "{bad}: {err}");
        // A malformed event, not AWS trouble: the CLI's usage error.
        assert!(
            matches!(
                err,
                SweepError::Event(ssr_core::handlers::EventError::Malformed(_))
            ),
            "{bad}: {err}"
        );
    }
}

#[tokio::test]
async fn when_publish_fails_then_claim_released_and_sweep_fails_for_retry() {
    let mist = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&mist)
        .await;
    let (d, w, fakes) = deps(cfg(&base_config(&mist.uri())), false, true);
    let err = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect_err("publish failed");
    match &err {
        SweepError::Incomplete {
            failed, outcome, ..
        } => {
            assert_eq!(*failed, 1);
            assert!(outcome.alerts.is_empty());
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        fakes.updates.num_calls(),
        1,
        "the overdue claim's lease is given back (it stays in the outbox for the retry or the sweep)"
    );
    assert_eq!(fakes.deletes.num_calls(), 0);
    assert_eq!(fakes.published.lock().map(|p| p.len()).unwrap_or(0), 1);
}

#[tokio::test]
async fn when_a_concurrent_sweep_holds_the_overdue_claim_then_this_sweep_pages_nobody() {
    let mist = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&mist)
        .await;
    let (d, w, fakes) = deps_claims_held(cfg(&base_config(&mist.uri())));
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!(o.overdue_now, 1, "the router is overdue: {o:?}");
    assert!(
        o.alerts.iter().all(|a| !a.delivery.sent),
        "the claim was lost: {:?}",
        o.alerts
    );
    assert_eq!(
        fakes.published.lock().map(|p| p.len()).unwrap_or(0),
        0,
        "nothing published"
    );
    assert_eq!(
        fakes.deletes.num_calls(),
        0,
        "a claim held by another is not released"
    );
}

#[tokio::test]
async fn when_token_comes_from_secret_then_read_once_per_cold_start_and_again_after_401() {
    let mist = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        // Two sweeps, each an inventory read and a stats read.
        .up_to_n_times(4)
        .mount(&mist)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_string("{\"detail\":\"Invalid token\"}"))
        .mount(&mist)
        .await;
    let (d, w, fakes) = deps(cfg(&base_config(&mist.uri())), false, false);
    for _ in 0..2 {
        let o = w
            .handle_event(&d, event(), ssr_core::Deadline::NONE)
            .await
            .expect("sweep");
        assert_eq!(o.mist.status.as_str(), "ok");
    }
    assert_eq!(
        fakes.secret_reads.num_calls(),
        1,
        "cached across invocations"
    );
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!(o.mist.status.as_str(), "unavailable");
    assert_eq!(
        o.mist.detail.as_deref(),
        Some(
            format!("Mist API answered 401 Unauthorized: check the token in {SECRET_ARN}").as_str()
        )
    );
    let _ = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    assert_eq!(fakes.secret_reads.num_calls(), 2, "re-read after a 401");
}

#[tokio::test]
async fn when_iam_denies_user_data_then_episode_watched_and_alert_says_version_unchecked() {
    let (d, w, fakes) = deps(
        config(&[
            (
                "ALERT_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:alerts",
            ),
            ("STATE_TABLE", "ssr-state"),
        ]),
        true,
        false,
    );
    let o = w
        .handle_event(&d, event(), ssr_core::Deadline::NONE)
        .await
        .expect("sweep, not a failure");
    assert_eq!(o.mist.status.as_str(), "not-configured");
    assert_eq!(o.alerts.len(), 1, "{o:?}");
    let published = fakes
        .published
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    let body = &published[0].1;
    assert!(
        body.contains("user data not readable (UnauthorizedOperation)"),
        "{body}"
    );
    assert!(
        body.contains("Mist status unknown: Mist not configured (MIST_ORG_ID is not set)"),
        "{body}"
    );
}
