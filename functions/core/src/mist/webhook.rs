//! Mist webhook deliveries of the `device-events` topic, pure: the signature check and the
//! parsing. The handler ([`crate::handlers::mist_webhook`]) does the I/O.
//!
//! Mist signs each delivery with the webhook's secret: `X-Mist-Signature-v2` =
//! HMAC-SHA256(secret, raw body), hex. The comparison is constant time (`hmac`'s `verify_slice`);
//! upper- or lower-case hex is accepted. Bodies are at most [`MAX_BODY`] bytes.
//!
//! The body (`webhook_device_events` in Mist's OpenAPI description): `{"topic": …, "events":
//! [ … ]}`; the topic is spelled `device-events` (subscription key) or `device_events` (the
//! spec's sample body). Event `timestamp` is epoch seconds, a number that may be fractional.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2_v11::Sha256;

use super::client::normalize_mac;

/// The signature header (HTTP header names are case-insensitive; Function URLs lower-case them).
pub const SIGNATURE_HEADER: &str = "x-mist-signature-v2";
/// Largest body accepted (413 above).
pub const MAX_BODY: usize = 1024 * 1024;
/// Both spellings Mist uses for the topic.
pub const TOPICS: [&str; 2] = ["device-events", "device_events"];

/// The hex HMAC-SHA256 of `body` under `secret`, lower case (what Mist sends).
pub fn signature_hex(secret: &[u8], body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    <Hmac<Sha256> as KeyInit>::new_from_slice(secret).unwrap_or_else(|_| unreachable!())
}

/// Does `header` carry the right signature of `body`? Constant time in the digest comparison.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header.map(str::trim) else {
        return false;
    };
    let Ok(given) = hex::decode(given) else {
        return false;
    };
    let mut mac = mac(secret);
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// One delivery.
#[derive(Clone, Debug, Deserialize)]
pub struct DeviceEvents {
    pub topic: String,
    pub events: Vec<DeviceEvent>,
}

/// One event of a delivery: only what the handler reads (unknown fields are ignored).
#[derive(Clone, Debug, Deserialize)]
pub struct DeviceEvent {
    /// The event name, e.g. `GW_ZTP_FINISHED` (Mist's field `type`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub device_name: Option<String>,
    #[serde(default)]
    pub device_type: Option<String>,
    /// Epoch seconds (may be fractional).
    pub timestamp: f64,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// What an event means for an onboarding episode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventMeaning {
    /// The gateway connected / was configured / upgraded / finished ZTP: it may be onboarded.
    Progress,
    /// `GW_ZTP_FAILED`: page at once.
    ZtpFailed,
    /// Anything else: ignored.
    Other,
}

impl DeviceEvent {
    pub fn meaning(&self) -> EventMeaning {
        match self.kind.as_str() {
            "GW_CONNECTED" | "GW_CONFIGURED" | "GW_UPGRADED" | "GW_ZTP_FINISHED" => {
                EventMeaning::Progress
            }
            "GW_ZTP_FAILED" => EventMeaning::ZtpFailed,
            _ => EventMeaning::Other,
        }
    }

    /// The MAC in Mist's form, if it is one.
    pub fn mac(&self) -> Option<String> {
        self.mac.as_deref().and_then(normalize_mac)
    }

    /// The event's time (whole milliseconds); `None` when not a sane epoch.
    pub fn time(&self) -> Option<DateTime<Utc>> {
        if !self.timestamp.is_finite() || self.timestamp < 0.0 || self.timestamp > 1e11 {
            return None;
        }
        DateTime::from_timestamp_millis((self.timestamp * 1000.0).round() as i64)
    }
}

/// Why a signed body was refused (400).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not a Mist webhook body: {0}")]
    Malformed(String),
    #[error("topic `{0}` is not device-events")]
    Topic(String),
}

/// Parses a signed body. serde_json's error text names a position, never the input.
pub fn parse(body: &[u8]) -> Result<DeviceEvents, ParseError> {
    let d: DeviceEvents = serde_json::from_slice(body).map_err(|e| {
        ParseError::Malformed(format!(
            "line {} column {}: {:?}",
            e.line(),
            e.column(),
            e.classify()
        ))
    })?;
    if !TOPICS.contains(&d.topic.as_str()) {
        return Err(ParseError::Topic(d.topic.chars().take(40).collect()));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURE: &str =
        include_str!("../../../../tests/fixtures/mist/webhook-device-events.json");
    const UNDERSCORE: &str =
        include_str!("../../../../tests/fixtures/mist/webhook-device-events-underscore.json");

    #[test]
    fn when_signed_with_the_secret_then_verified_and_any_change_fails() {
        let secret = b"webhook-secret-123";
        let body = FIXTURE.as_bytes();
        let sig = signature_hex(secret, body);
        assert_eq!(sig.len(), 64);
        assert!(sig
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert!(verify(secret, body, Some(&sig)));
        assert!(verify(secret, body, Some(&sig.to_uppercase())));
        assert!(!verify(b"other", body, Some(&sig)));
        assert!(!verify(secret, b"{}", Some(&sig)));
        assert!(!verify(secret, body, None));
        assert!(!verify(secret, body, Some("not-hex")));
        assert!(!verify(secret, body, Some(&sig[..62])));
    }

    #[test]
    fn rfc4231_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature_hex(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn when_fixtures_parse_then_both_topic_spellings_and_events_read() {
        for body in [FIXTURE, UNDERSCORE] {
            let d = parse(body.as_bytes()).unwrap();
            assert_eq!(d.events.len(), 3);
            let m: Vec<EventMeaning> = d.events.iter().map(DeviceEvent::meaning).collect();
            assert_eq!(
                m,
                vec![
                    EventMeaning::Progress,
                    EventMeaning::Progress,
                    EventMeaning::ZtpFailed
                ]
            );
            assert_eq!(d.events[2].mac().as_deref(), Some("4c9614a00202"));
            assert_eq!(
                d.events[2].time().map(|t| t.timestamp()),
                Some(1_764_591_000)
            );
            assert!(d.events[2].reason.is_some());
        }
    }

    #[test]
    fn when_body_is_wrong_then_typed_errors() {
        assert!(matches!(parse(b"nope"), Err(ParseError::Malformed(_))));
        assert!(matches!(
            parse(br#"{"topic":"device-events"}"#),
            Err(ParseError::Malformed(_))
        ));
        assert!(matches!(
            parse(br#"{"topic":"audits","events":[]}"#),
            Err(ParseError::Topic(_))
        ));
        let frac = br#"{"topic":"device_events","events":[{"type":"GW_CONNECTED","mac":"4C:96:14:A0:01:01","timestamp":1764590400.25}]}"#;
        let d = parse(frac).unwrap();
        assert_eq!(
            d.events[0].time().map(|t| t.timestamp_millis()),
            Some(1_764_590_400_250)
        );
        assert_eq!(d.events[0].mac().as_deref(), Some("4c9614a00101"));
        let bad_time =
            br#"{"topic":"device_events","events":[{"type":"GW_CONNECTED","timestamp":-5}]}"#;
        assert_eq!(parse(bad_time).unwrap().events[0].time(), None);
    }
}
