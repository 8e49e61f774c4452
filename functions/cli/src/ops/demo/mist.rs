//! The Mist side of the demo: the local fake Mist API's org, token and webhook secret, the signed
//! `device-events` delivery Mist would send, and where each router ended on the Mist side.

use ssr_core::handlers::watchdog::SweepOutcome;
use ssr_core::mist::webhook::{signature_hex, SIGNATURE_HEADER};
use ssr_sandbox::mist::FakeGateway;

use super::outcome::{MistPhase, WebhookDemo};
use super::DemoError;

/// A Lambda Function URL request (payload format 2.0), as the mist-webhook function receives it.
const FUNCTION_URL_REQUEST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/function-url-request.json"
));
/// Mist's `device-events` webhook delivery (the shape of Mist's OpenAPI description).
const MIST_DEVICE_EVENTS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/mist/webhook-device-events.json"
));

/// The fake Mist org, its API token and the org webhook's secret. Demo values, but handled as
/// secrets all the same: none of them is printed.
pub(super) const MIST_ORG: &str = "6b7a9c1e-3f42-4d8a-9e15-2c0d4b7f8a31";
pub(super) const MIST_TOKEN: &str = "demo-mist-api-token-3b8e51c0";
pub(super) const WEBHOOK_SECRET: &str = "demo-webhook-secret-9d04a7e2";
/// What the fake Mist reports for branch-old: an older SSR than its onboarding config asks for.
pub(super) const OLD_SSR_VERSION: &str = "6.2.5-5.r2";
/// What it reports for branch-good once it is connected.
pub(super) const GOOD_SSR_VERSION: &str = "6.3.0-107.r1";

/// The Function URL request Mist's webhook would cause: a `device-events` delivery with one
/// `GW_ZTP_FINISHED` event for `gw` at `at` (the fixture's event, about this gateway), signed with
/// the demo's webhook secret.
pub(super) fn signed_delivery(
    gw: &FakeGateway,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<serde_json::Value, DemoError> {
    let fixture = |name: &str, text: &str| {
        serde_json::from_str::<serde_json::Value>(text)
            .map_err(|e| DemoError::Event(format!("fixture {name}: {e}")))
    };
    let events = fixture("mist/webhook-device-events.json", MIST_DEVICE_EVENTS)?;
    let mut ev = events["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "GW_ZTP_FINISHED"))
        .cloned()
        .ok_or_else(|| DemoError::Event("no GW_ZTP_FINISHED event in the Mist fixture".into()))?;
    ev["device_name"] = gw.name.clone().into();
    ev["mac"] = gw.mac.clone().into();
    ev["org_id"] = MIST_ORG.into();
    ev["site_id"] = ssr_sandbox::mist::SITE_ID.into();
    ev["timestamp"] = at.timestamp().into();
    let body = serde_json::json!({"topic": events["topic"], "events": [ev]}).to_string();
    let mut request = fixture("function-url-request.json", FUNCTION_URL_REQUEST)?;
    request["headers"][SIGNATURE_HEADER] =
        signature_hex(WEBHOOK_SECRET.as_bytes(), body.as_bytes()).into();
    request["body"] = body.into();
    Ok(request)
}

/// Where `router` ended: closed by the webhook, or its phase and page in the last sweep.
pub(super) fn mist_phase(
    router: &str,
    instance_id: &str,
    sweep: &SweepOutcome,
    hook: &WebhookDemo,
) -> MistPhase {
    let by_hook = hook.summary["results"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["instance_id"] == instance_id));
    if let Some(r) = by_hook {
        return MistPhase {
            router: router.to_string(),
            instance_id: instance_id.to_string(),
            mist_reports: format!("{} (connected, SSR {GOOD_SSR_VERSION})", hook.event),
            phase: r["phase"].as_str().unwrap_or("?").to_string(),
            outcome: match r["outcome"].as_str() {
                Some("finished") => format!(
                    "episode ended by the webhook at {}",
                    hook.event_time.format("%H:%M:%SZ")
                ),
                Some(o) => o.to_string(),
                None => "?".to_string(),
            },
            alert_kind: None,
        };
    }
    let episode = sweep.episodes.iter().find(|e| e.instance_id == instance_id);
    let alert = sweep
        .alerts
        .iter()
        .find(|a| a.instance_id == instance_id && a.delivery.sent);
    let phase = episode.map_or("?", |e| e.phase.as_str()).to_string();
    MistPhase {
        router: router.to_string(),
        instance_id: instance_id.to_string(),
        mist_reports: match phase.as_str() {
            "not-in-inventory" => "nothing: not in the org inventory".to_string(),
            "version-mismatch" => format!("connected, SSR {OLD_SSR_VERSION}"),
            other => other.to_string(),
        },
        outcome: match alert {
            Some(_) => "paged".to_string(),
            None => "no page".to_string(),
        },
        alert_kind: alert.map(|a| a.kind.as_str().to_string()),
        phase,
    }
}
