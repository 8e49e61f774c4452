//! Real-shaped EventBridge events for the handlers, built from the committed fixtures.

use super::{next_id, ACCOUNT_ID};

/// The EC2 user guide's state-change sample, as committed in tests/fixtures.
pub(super) const EC2_STATE_CHANGE_FIXTURE: &str =
    include_str!("../../../../tests/fixtures/ec2-state-change-running.json");

/// An EventBridge "EC2 Instance State-change Notification" shaped like
/// `tests/fixtures/ec2-state-change-running.json` (the EC2 user guide's sample), for
/// `instance_id` entering `state` (`pending`, `running`, `stopping`, `stopped`,
/// `shutting-down`, `terminated`), with a fresh event id and the current time.
pub fn ec2_state_change_event(instance_id: &str, state: &str) -> serde_json::Value {
    // The fixture is a compile-time constant checked by a test; a broken one yields an event
    // the handler rejects as malformed rather than a panic here.
    let mut event: serde_json::Value =
        serde_json::from_str(EC2_STATE_CHANGE_FIXTURE).unwrap_or_default();
    let account = event["account"].as_str().unwrap_or(ACCOUNT_ID).to_string();
    let region = event["region"].as_str().unwrap_or("us-east-1").to_string();
    event["id"] = serde_json::Value::from(format!(
        "2f5c8a1e-4b3d-4c61-9e7a-{:012x}",
        (u64::from(std::process::id()) << 24) | next_id()
    ));
    event["time"] =
        serde_json::Value::from(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string());
    event["resources"] = serde_json::json!([format!(
        "arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    )]);
    event["detail"]["instance-id"] = serde_json::Value::from(instance_id);
    event["detail"]["state"] = serde_json::Value::from(state);
    event
}

/// EventBridge's "Scheduled Event" sample, as committed in tests/fixtures.
const SCHEDULED_FIXTURE: &str = include_str!("../../../../tests/fixtures/scheduled-event.json");

/// The scheduled-event fixture (`tests/fixtures/scheduled-event.json`) firing at `at`, with a
/// fresh id: what EventBridge sends the onboarding-watchdog every minute.
pub fn scheduled_event(at: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let mut event: serde_json::Value = serde_json::from_str(SCHEDULED_FIXTURE).unwrap_or_default();
    event["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    event["id"] = format!("53dc4d37-cffa-4f76-80c9-{:012x}", next_id()).into();
    event
}
