//! The AWS-documented event payloads committed in `tests/fixtures/` (see its README), by name.
//!
//! ```
//! let event = ssr_testkit::fixture("ec2-state-change-running");
//! assert_eq!(event["detail-type"], "EC2 Instance State-change Notification");
//! ```

use std::path::PathBuf;

/// The fixtures directory (`tests/fixtures` at the workspace root).
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures"))
}

/// The path of fixture `name` (`ec2-state-change-running` or `ec2-state-change-running.json`).
pub fn fixture_path(name: &str) -> PathBuf {
    let file = if name.ends_with(".json") {
        name.to_string()
    } else {
        format!("{name}.json")
    };
    fixtures_dir().join(file)
}

/// The text of fixture `name`. Panics naming the file and the fixtures present when it is not
/// there.
pub fn fixture_text(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "fixture {name:?}: cannot read {}: {e}. Fixtures present: {}",
            path.display(),
            fixture_names().join(", ")
        )
    })
}

/// Fixture `name` parsed as JSON. Panics naming the file when it is missing or not JSON.
pub fn fixture(name: &str) -> serde_json::Value {
    let text = fixture_text(name);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "fixture {name:?} ({}) is not JSON: {e}",
            fixture_path(name).display()
        )
    })
}

/// The names (without `.json`) of every fixture, sorted.
pub fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures_dir())
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_suffix(".json"))
                        .map(str::to_string)
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The EC2 state-change fixture (`ec2-state-change-running`) about `instance_id` entering
/// `state`: `detail.instance-id` and `detail.state` replaced, everything else as AWS documents.
pub fn ec2_state_change(instance_id: &str, state: &str) -> serde_json::Value {
    let mut event = fixture("ec2-state-change-running");
    event["detail"]["instance-id"] = instance_id.into();
    event["detail"]["state"] = state.into();
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_every_fixture_loaded_then_each_is_json() {
        let names = fixture_names();
        assert!(names.len() >= 10, "{names:?}");
        for name in &names {
            assert!(fixture(name).is_object(), "{name}");
        }
    }

    #[test]
    fn when_name_given_with_or_without_extension_then_same_file() {
        assert_eq!(
            fixture_text("scheduled-event"),
            fixture_text("scheduled-event.json")
        );
    }

    #[test]
    #[should_panic(expected = "fixture \"no-such-event\": cannot read")]
    fn when_fixture_missing_then_panic_names_it() {
        fixture("no-such-event");
    }

    #[test]
    fn when_state_change_built_then_only_id_and_state_change() {
        let event = ec2_state_change("i-0abc1234567890def", "stopped");
        assert_eq!(event["detail"]["instance-id"], "i-0abc1234567890def");
        assert_eq!(event["detail"]["state"], "stopped");
        let mut original = fixture("ec2-state-change-running");
        original["detail"] = event["detail"].clone();
        assert_eq!(event, original);
    }
}
