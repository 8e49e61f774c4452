//! The mist-webhook never logs, answers or alerts a secret, at the most verbose level the Lambda
//! allows (`AWS_LAMBDA_LOG_LEVEL=trace`): neither the webhook secret (read from Secrets Manager,
//! as deployed) nor the Mist API token (read for the version check), on a delivery with a valid
//! signature that ends an episode, one with a wrong signature, and a ZTP failure that pages.
//! (Its own test binary: `tracing`'s per-thread subscriber is reliable only without other tests
//! racing on callsite registration.)

use crate::log_capture;
use crate::watchdog_support;

use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use hmac::{KeyInit, Mac};
use ssr_core::handlers::mist_webhook::MistWebhook;
use ssr_core::handlers::Invocation;
use watchdog_support::*;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "mist-webhook-secret-do-not-leak-c61f";
const WEBHOOK_SECRET_ARN: &str =
    "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-webhook-XyZ123";

fn sign(secret: &str, body: &str) -> String {
    let mut m = hmac::Hmac::<sha2_v11::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    m.update(body.as_bytes());
    hex::encode(m.finalize().into_bytes())
}

/// The Function URL request fixture carrying `body` and `signature`.
fn request(body: &str, signature: &str) -> serde_json::Value {
    let mut req = ssr_testkit::fixture("function-url-request");
    req["headers"]["x-mist-signature-v2"] = signature.into();
    req["body"] = body.into();
    req
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

#[tokio::test]
async fn when_the_webhook_runs_at_trace_level_then_neither_its_secret_nor_the_token_leaks() {
    let (logs, _guard) = log_capture::capture_at_lambda_trace();

    // Mist: the gateway's stats (right version), only with the token.
    let mist = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("/api/v1/orgs/{ORG}/stats/devices")))
        .and(query_param("mac", "0a0000000001"))
        .and(header("authorization", format!("Token {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"mac": "0a0000000001", "type": "gateway", "version": "6.3.0-107.r1", "status": "connected"}
        ])))
        .expect(1)
        .mount(&mist)
        .await;
    // Secrets Manager holds both: the webhook secret (plain) and the Mist token (JSON).
    let webhook_secret = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some(WEBHOOK_SECRET_ARN))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(format!("{SECRET}\n"))
                .build()
        });
    let token = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .match_requests(|r| r.secret_id() == Some(SECRET_ARN))
        .then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(format!("{{\"token\": \"{TOKEN}\"}}"))
                .build()
        });
    let secrets = mock_client!(
        aws_sdk_secretsmanager,
        RuleMode::MatchAny,
        [&webhook_secret, &token]
    );
    let mut c = base_config(&mist.uri());
    c.push(("MIST_WEBHOOK_SECRET_ARN", WEBHOOK_SECRET_ARN.into()));
    let (d, _w, fakes) = deps(cfg(&c), false, false);
    MistWebhook::check_config(&d.config).expect("config");
    let hook = MistWebhook::new(&d.config, secrets);

    // 1. Signed with another secret: refused.
    let finished = delivery("GW_ZTP_FINISHED", serde_json::json!({}));
    let wrong = hook
        .handle_request(
            &d,
            request(&finished, &sign("not-the-secret", &finished)),
            Invocation::local(),
        )
        .await;
    assert_eq!(wrong.status_code, 401, "{}", wrong.body);
    // 2. Signed right: the version is read from Mist and the episode ends.
    let ended = hook
        .handle_request(
            &d,
            request(&finished, &sign(SECRET, &finished)),
            Invocation::local(),
        )
        .await;
    assert_eq!(ended.status_code, 200, "{}", ended.body);
    let v: serde_json::Value = serde_json::from_str(&ended.body).expect("JSON");
    assert_eq!(v["results"][0]["outcome"], "finished", "{v}");
    // 3. A ZTP failure: paged at once (the fakes keep no state, so the episode reads as open).
    let failed = delivery(
        "GW_ZTP_FAILED",
        serde_json::json!({"text": "ZTP failed: config download", "reason": "timeout", "ev_type": "warn"}),
    );
    let paged = hook
        .handle_request(
            &d,
            request(&failed, &sign(SECRET, &failed)),
            Invocation::local(),
        )
        .await;
    assert_eq!(paged.status_code, 200, "{}", paged.body);

    let published = fakes
        .published
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    assert_eq!(
        published.len(),
        1,
        "the ZTP failure was paged: {published:?}"
    );
    let text = logs.text();
    assert!(
        text.contains("webhook delivery without a valid signature")
            && text.contains("webhook delivery handled"),
        "the paths ran and logged:\n{text}"
    );
    let mut haystacks = vec![
        ("logs".to_string(), text.clone()),
        (
            "401 answer".to_string(),
            serde_json::to_string(&wrong).expect("json"),
        ),
        (
            "200 answer".to_string(),
            serde_json::to_string(&ended).expect("json"),
        ),
        (
            "ZTP answer".to_string(),
            serde_json::to_string(&paged).expect("json"),
        ),
    ];
    for (i, (subject, body)) in published.iter().enumerate() {
        haystacks.push((format!("alert {i} subject"), subject.clone()));
        haystacks.push((format!("alert {i} body"), body.clone()));
    }
    for (what, haystack) in &haystacks {
        for (name, secret) in [("webhook secret", SECRET), ("Mist token", TOKEN)] {
            assert!(!haystack.contains(secret), "{name} in {what}");
            for fragment in log_capture::base64_fragments(secret) {
                assert!(
                    !haystack.contains(&fragment),
                    "{name} (base64 `{fragment}`) in {what}"
                );
            }
        }
        assert!(!haystack.contains(REG_CODE), "registration code in {what}");
    }
    assert_eq!(
        webhook_secret.num_calls(),
        2,
        "the secret is read once, once more after the mismatch (it may have been rotated), then cached"
    );
    assert!(
        token.num_calls() >= 1,
        "the token was read for the version check"
    );
}
