//! The `mist-webhook` handler on Function URL requests: the signature (a vector computed here
//! with HMAC-SHA256 over the raw body), refusals (401 / 413 / 400, never a panic), a ZTP failure
//! paging at once, a progress event ending the episode, and no secret in any answer.

use crate::watchdog_support;

use base64::Engine;
use hmac::{KeyInit, Mac};
use ssr_core::handlers::mist_webhook::{HttpResponse, MistWebhook};
use ssr_core::handlers::Invocation;
use ssr_core::metrics::Function;
use watchdog_support::*;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "mist-webhook-secret-do-not-leak-4d2e";

fn sign(body: &[u8]) -> String {
    let mut m = hmac::Hmac::<sha2_v11::Sha256>::new_from_slice(SECRET.as_bytes()).expect("key");
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

fn request(body: &str, signature: Option<&str>) -> serde_json::Value {
    let mut headers = serde_json::json!({"content-type": "application/json"});
    if let Some(s) = signature {
        headers["x-mist-signature-v2"] = s.into();
    }
    serde_json::json!({
        "version": "2.0", "rawPath": "/", "headers": headers, "body": body,
        "isBase64Encoded": false,
        "requestContext": {"http": {"method": "POST", "path": "/"}}
    })
}

fn delivery(kind: &str, extra: serde_json::Value) -> String {
    let mut ev = serde_json::json!({
        "device_name": "SSR_1_Router", "device_type": "gateway", "ev_type": "notice",
        "mac": "0a0000000001", "org_id": ORG, "timestamp": LAUNCH_EPOCH + 600, "type": kind
    });
    if let (Some(o), Some(x)) = (ev.as_object_mut(), extra.as_object()) {
        o.extend(x.clone());
    }
    serde_json::json!({"topic": "device-events", "events": [ev]}).to_string()
}

async fn hook(mist_url: &str) -> (ssr_core::Deps, MistWebhook, Fakes) {
    let mut c = base_config(mist_url);
    c.push(("MIST_WEBHOOK_SECRET", SECRET.into()));
    let (d, _w, fakes) = deps_for(Function::MistWebhook, cfg(&c), false, false);
    MistWebhook::check_config(&d.config).expect("config");
    let h = MistWebhook::new(&d.config, d.secrets_client());
    (d, h, fakes)
}

fn body(r: &HttpResponse) -> serde_json::Value {
    serde_json::from_str(&r.body).expect("JSON body")
}

fn assert_clean(r: &HttpResponse) {
    for s in [SECRET, TOKEN, REG_CODE] {
        assert!(!r.body.contains(s), "secret in {}", r.body);
    }
}

#[tokio::test]
async fn when_signature_is_missing_or_wrong_then_401_and_nothing_read() {
    let (d, h, fakes) = hook("http://127.0.0.1:9").await;
    let b = delivery("GW_ZTP_FAILED", serde_json::json!({}));
    let good = sign(b.as_bytes());
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).expect("ascii");
    for sig in [None, Some("zz"), Some(flipped.as_str()), Some("")] {
        let r = h
            .handle_request(&d, request(&b, sig), Invocation::local())
            .await;
        assert_eq!(r.status_code, 401, "{sig:?}: {}", r.body);
        assert_clean(&r);
    }
    // Signed over another body.
    let r = h
        .handle_request(
            &d,
            request(&b.replace("0a0000000001", "0a0000000002"), Some(&good)),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 401);
    assert!(fakes
        .published
        .lock()
        .map(|p| p.is_empty())
        .unwrap_or(false));
}

#[tokio::test]
async fn when_body_is_too_large_or_unparsable_then_413_or_400() {
    let (d, h, _) = hook("http://127.0.0.1:9").await;
    let big = "x".repeat(1024 * 1024 + 1);
    let r = h
        .handle_request(
            &d,
            request(&big, Some(&sign(big.as_bytes()))),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 413);
    for bad in [
        "not json",
        "{\"topic\":\"device-events\"}",
        "{\"topic\":\"audits\",\"events\":[]}",
        "[]",
    ] {
        let r = h
            .handle_request(
                &d,
                request(bad, Some(&sign(bad.as_bytes()))),
                Invocation::local(),
            )
            .await;
        assert_eq!(r.status_code, 400, "{bad}: {}", r.body);
        assert_clean(&r);
    }
    // Not a Function URL request at all; invalid base64.
    let r = h
        .handle_request(&d, serde_json::json!([1, 2]), Invocation::local())
        .await;
    assert_eq!(r.status_code, 400);
    let mut req = request("%%%", Some("00"));
    req["isBase64Encoded"] = true.into();
    assert_eq!(
        h.handle_request(&d, req, Invocation::local())
            .await
            .status_code,
        400
    );
}

#[tokio::test]
async fn when_ztp_fails_then_one_onboarding_failed_page_with_mists_text() {
    let (d, h, fakes) = hook("http://127.0.0.1:9").await;
    let b = delivery(
        "GW_ZTP_FAILED",
        serde_json::json!({"text": "ZTP failed: config download", "reason": "timeout", "ev_type": "warn"}),
    );
    // Base64-encoded, as a Function URL may pass it.
    let mut req = request(
        &base64::engine::general_purpose::STANDARD.encode(&b),
        Some(&sign(b.as_bytes())),
    );
    req["isBase64Encoded"] = true.into();
    let r = h.handle_request(&d, req, Invocation::local()).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    assert_clean(&r);
    let v = body(&r);
    assert_eq!(v["results"][0]["outcome"], "paged", "{v}");
    assert_eq!(v["results"][0]["instance_id"], ID);
    let sent = fakes
        .published
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].0.starts_with("SSR onboarding failed: SSR_1_Router"),
        "{}",
        sent[0].0
    );
    assert!(
        sent[0].1.contains("ZTP failed: config download"),
        "{}",
        sent[0].1
    );
    assert!(sent[0].1.contains("Reason:    timeout"), "{}", sent[0].1);
}

#[tokio::test]
async fn when_ztp_finishes_with_the_right_version_then_the_episode_ends_at_the_event_time() {
    let mist = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/stats/devices")))
        .and(query_param("type", "gateway"))
        .and(query_param("mac", "0a0000000001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"mac": "0a0000000001", "type": "gateway", "version": "6.3.0-107.r1", "status": "connected"}
        ])))
        .expect(1)
        .mount(&mist)
        .await;
    let (d, h, _) = hook(&mist.uri()).await;
    let b = delivery("GW_ZTP_FINISHED", serde_json::json!({}));
    let r = h
        .handle_request(
            &d,
            request(&b, Some(&sign(b.as_bytes()))),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let v = body(&r);
    assert_eq!(v["results"][0]["outcome"], "finished", "{v}");
    assert_eq!(v["results"][0]["phase"], "onboarded");
    assert_clean(&r);
    // Other events of the topic are answered and ignored.
    let other = delivery("GW_ARP_UNRESOLVED", serde_json::json!({}));
    let r = h
        .handle_request(
            &d,
            request(&other, Some(&sign(other.as_bytes()))),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 200);
    assert_eq!(body(&r)["results"][0]["outcome"], "ignored");
}

/// The invoked function's ARN, as the Lambda runtime passes it (`Lambda-Runtime-Invoked-
/// Function-Arn`), for a function in account 123456789012.
const FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:ssr-onboard-mist-webhook";

#[tokio::test]
async fn when_a_public_function_url_delivers_then_the_page_names_the_functions_account_not_anonymous(
) {
    let b = delivery("GW_ZTP_FAILED", serde_json::json!({"text": "ZTP failed"}));
    // The real request shape of a Function URL with AuthType NONE: requestContext.accountId is
    // "anonymous".
    let mut req = ssr_testkit::fixture("function-url-request");
    assert_eq!(req["requestContext"]["accountId"], "anonymous");
    req["headers"]["x-mist-signature-v2"] = sign(b.as_bytes()).into();
    req["body"] = b.clone().into();
    let (d, h, fakes) = hook("http://127.0.0.1:9").await;
    let lambda = Invocation {
        function_arn: Some(FUNCTION_ARN.into()),
        ..Invocation::local()
    };
    let r = h.handle_request(&d, req.clone(), lambda).await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    // Outside Lambda (the CLI), no function ARN: the account is not printed, and whatever the
    // request says is never taken for it.
    req["requestContext"]["accountId"] = "12345\nInjected: line".into();
    let (d2, h2, fakes2) = hook("http://127.0.0.1:9").await;
    assert_eq!(
        h2.handle_request(&d2, req, Invocation::local())
            .await
            .status_code,
        200
    );
    let sent = |f: &Fakes| f.published.lock().map(|p| p.clone()).unwrap_or_default();
    let (named, unnamed) = (sent(&fakes), sent(&fakes2));
    assert_eq!((named.len(), unnamed.len()), (1, 1));
    assert!(
        named[0]
            .1
            .contains("Account:     123456789012   Region: us-east-1"),
        "{}",
        named[0].1
    );
    assert!(!named[0].1.contains("anonymous"), "{}", named[0].1);
    assert!(
        unnamed[0].1.contains("Account:     ?   Region: us-east-1"),
        "{}",
        unnamed[0].1
    );
    assert!(!unnamed[0].1.contains("Injected"), "{}", unnamed[0].1);
}

#[tokio::test]
async fn when_a_re_delivered_batch_under_device_events_holds_a_ztp_failure_then_already_paged_and_nothing_sent(
) {
    let mut c = base_config("http://127.0.0.1:9");
    c.push(("MIST_WEBHOOK_SECRET", SECRET.into()));
    // The failure was paged by the first delivery: DynamoDB refuses the second claim, as it
    // answers the loser of a conditional write.
    let (d, _w, fakes) = deps_claims_held(cfg(&c));
    let h = MistWebhook::new(&d.config, d.secrets_client());
    let ev = |kind: &str, at: i64| {
        serde_json::json!({
            "device_name": "SSR_1_Router", "device_type": "gateway", "ev_type": "warn",
            "mac": "0a0000000001", "org_id": ORG, "timestamp": at, "type": kind,
            "text": "ZTP failed: config download"
        })
    };
    // Mist's sample spelling of the topic, two events in one delivery, the later one first.
    let b = serde_json::json!({
        "topic": "device_events",
        "events": [ev("GW_ARP_UNRESOLVED", LAUNCH_EPOCH + 700), ev("GW_ZTP_FAILED", LAUNCH_EPOCH + 600)]
    })
    .to_string();
    let r = h
        .handle_request(
            &d,
            request(&b, Some(&sign(b.as_bytes()))),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let v = body(&r);
    assert_eq!(v["events"], 2, "{v}");
    let outcomes: Vec<(&str, &str)> = v["results"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    (
                        x["type"].as_str().unwrap_or_default(),
                        x["outcome"].as_str().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        outcomes,
        [
            ("GW_ZTP_FAILED", "already-paged"),
            ("GW_ARP_UNRESOLVED", "ignored")
        ],
        "the earliest event first; the held claim sends nothing: {v}"
    );
    assert!(fakes
        .published
        .lock()
        .map(|p| p.is_empty())
        .unwrap_or(false));
    assert_clean(&r);
}

#[tokio::test]
async fn when_mist_is_slower_than_the_invocation_allows_then_the_webhook_answers_in_time_and_leaves_it_to_the_sweep(
) {
    let mist = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/stats/devices")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([]))
                .set_delay(std::time::Duration::from_secs(10)),
        )
        .mount(&mist)
        .await;
    let (d, h, fakes) = hook(&mist.uri()).await;
    let b = delivery("GW_ZTP_FINISHED", serde_json::json!({}));
    // 16 s left in the invocation: the watchdog's 15 s margin leaves 1 s for Mist.
    // Had the read waited for Mist's answer (an empty stats list: counted as onboarded under
    // when-reported), the episode would have ended; the budget stops it first.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(16);
    let r = h
        .handle_request(
            &d,
            request(&b, Some(&sign(b.as_bytes()))),
            Invocation::local().with_deadline(deadline),
        )
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    let v = body(&r);
    assert_eq!(v["results"][0]["outcome"], "ignored", "{v}");
    assert!(
        v["results"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("left to the sweep")),
        "{v}"
    );
    assert!(fakes
        .published
        .lock()
        .map(|p| p.is_empty())
        .unwrap_or(false));
}

const WEBHOOK_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-webhook-XyZ123";

fn sign_with(secret: &str, body: &str) -> String {
    let mut m = hmac::Hmac::<sha2_v11::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    m.update(body.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// A webhook whose secret lives in Secrets Manager (`MIST_WEBHOOK_SECRET_ARN`): the reads of it
/// answer `values` in turn, the last one from then on. Returns the rule to count the reads.
fn stored_hook(values: &[&'static str]) -> (ssr_core::Deps, MistWebhook, aws_smithy_mocks::Rule) {
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    let mut reads = aws_smithy_mocks::mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some(WEBHOOK_SECRET_ARN))
        .sequence();
    for v in values.iter().copied() {
        reads = reads.output(move || GetSecretValueOutput::builder().secret_string(v).build());
    }
    let reads = reads.repeatedly().build();
    let secrets = aws_smithy_mocks::mock_client!(
        aws_sdk_secretsmanager,
        aws_smithy_mocks::RuleMode::MatchAny,
        [&reads]
    );
    let mut c = base_config("http://127.0.0.1:9");
    c.push(("MIST_WEBHOOK_SECRET_ARN", WEBHOOK_SECRET_ARN.into()));
    let (d, _w, _fakes) = deps_for(Function::MistWebhook, cfg(&c), false, false);
    MistWebhook::check_config(&d.config).expect("config");
    let h = MistWebhook::new(&d.config, secrets);
    (d, h, reads)
}

#[tokio::test]
async fn when_the_secret_is_a_console_key_value_secret_then_its_secret_key_checks_the_signature() {
    let (d, h, reads) = stored_hook(&[r#"{"secret": "mist-webhook-secret-do-not-leak-4d2e"}"#]);
    let b = delivery("GW_ARP_UNRESOLVED", serde_json::json!({}));
    let r = h
        .handle_request(
            &d,
            request(&b, Some(&sign(b.as_bytes()))),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    assert_clean(&r);
    assert_eq!(reads.num_calls(), 1);
}

#[tokio::test]
async fn when_the_secret_was_rotated_then_a_mismatch_reads_it_again_and_a_flood_of_bad_signatures_reads_it_at_most_once_a_minute(
) {
    const OLD: &str = "mist-webhook-secret-before-rotation";
    const NEW: &str = "mist-webhook-secret-after-rotation";
    // The container read the secret before it was rotated in Secrets Manager and Mist.
    let (d, h, reads) = stored_hook(&[r#"{"secret": "mist-webhook-secret-before-rotation"}"#, NEW]);
    let b = delivery("GW_ARP_UNRESOLVED", serde_json::json!({}));
    let status = |secret: &str| {
        let req = request(&b, Some(&sign_with(secret, &b)));
        let (d, h) = (&d, &h);
        async move {
            h.handle_request(d, req, Invocation::local())
                .await
                .status_code
        }
    };
    assert_eq!(
        status(NEW).await,
        200,
        "the mismatch read the rotated secret"
    );
    assert_eq!(reads.num_calls(), 2, "read at first use, then once again");
    for _ in 0..5 {
        assert_eq!(status("forged").await, 401);
    }
    assert_eq!(status(OLD).await, 401, "the old secret no longer signs");
    assert_eq!(
        reads.num_calls(),
        2,
        "six bad signatures within the minute: no further read"
    );
    assert_eq!(status(NEW).await, 200);
    assert_eq!(reads.num_calls(), 2, "the new secret is held");
}

#[tokio::test]
async fn when_ssr_onboard_is_disabled_then_a_signed_ztp_failure_is_answered_200_and_nothing_is_read_or_sent(
) {
    let mut c = base_config("http://127.0.0.1:9");
    c.push(("MIST_WEBHOOK_SECRET", SECRET.into()));
    c.push(("ENABLED", "false".into()));
    let (d, _w, fakes) = deps_for(Function::MistWebhook, cfg(&c), false, false);
    let h = MistWebhook::new(&d.config, d.secrets_client());
    let b = delivery("GW_ZTP_FAILED", serde_json::json!({}));
    let r = h
        .handle_request(
            &d,
            request(&b, Some(&sign(b.as_bytes()))),
            Invocation::local(),
        )
        .await;
    assert_eq!(r.status_code, 200, "{}", r.body);
    assert_eq!(body(&r)["disabled"], true);
    assert!(fakes
        .published
        .lock()
        .map(|p| p.is_empty())
        .unwrap_or(false));
}
