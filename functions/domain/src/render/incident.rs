//! The incident an alert is about, and whether it opens or closes it: the `incident_key` and
//! `action` message attributes (and fields of the alert's JSON and its EventBridge event).
//! A paging tool joins a trigger and its resolve on the key (PagerDuty's `dedup_key`, Opsgenie's
//! `alias`). One definition of every key, so a trigger and its resolve can never disagree.

use serde::{Deserialize, Serialize};

use super::{string_attr, Alert};

/// `incident_key` message attribute name.
pub const INCIDENT_KEY_ATTR: &str = "incident_key";
/// `action` message attribute name.
pub const ACTION_ATTR: &str = "action";

/// Whether an alert opens (or re-states) an incident, or closes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Trigger,
    Resolve,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        [Action::Trigger, Action::Resolve]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// The stable key of what an alert is about. The strings are part of the alert contract
/// (paging tools de-duplicate on them): change one and open incidents never resolve.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IncidentKey(String);

impl IncidentKey {
    /// A router's onboarding episode: the overdue page, its recovered notice, the webhook's
    /// ZTP failure and an acknowledgement's resolve share it.
    pub fn episode(instance_id: &str, started_at_epoch: i64) -> IncidentKey {
        IncidentKey(format!(
            "ssr-onboard/onboarding/{instance_id}/{started_at_epoch}"
        ))
    }

    /// A router's guard findings: one incident per instance while any alerted finding is open
    /// (a changed set of findings is a new trigger with the same key).
    pub fn guard(instance_id: &str) -> IncidentKey {
        IncidentKey(format!("ssr-onboard/guard/{instance_id}"))
    }

    /// A router stack's failed operation (resolved by a later successful operation).
    pub fn stack(stack_id: &str) -> IncidentKey {
        IncidentKey(format!("ssr-onboard/stack/{stack_id}"))
    }

    /// An organization member account's once-a-day operational alert (`kind`: which one).
    pub fn member(kind: &str, account: &str) -> IncidentKey {
        IncidentKey(format!("ssr-onboard/{kind}/{account}"))
    }

    /// A deployment-wide operational alert of `kind` (e.g. Mist rejected the token).
    pub fn deployment(kind: &str) -> IncidentKey {
        IncidentKey(format!("ssr-onboard/{kind}"))
    }

    /// Any other key (e.g. one read back from a stored alert).
    pub fn from_raw(key: impl Into<String>) -> IncidentKey {
        IncidentKey(key.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IncidentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Alert {
    /// This alert about `key`, opening or closing it (the `incident_key` and `action`
    /// attributes).
    pub fn for_incident(mut self, key: &IncidentKey, action: Action) -> Alert {
        self.attributes
            .insert(INCIDENT_KEY_ATTR.to_string(), string_attr(key.as_str()));
        self.attributes
            .insert(ACTION_ATTR.to_string(), string_attr(action.as_str()));
        self
    }

    /// The alert's incident key, when it has one.
    pub fn incident_key(&self) -> Option<IncidentKey> {
        self.attributes
            .get(INCIDENT_KEY_ATTR)
            .map(|(_, v)| IncidentKey::from_raw(v.clone()))
    }

    /// The alert's action (`trigger` when the alert does not say).
    pub fn action(&self) -> Action {
        self.attributes
            .get(ACTION_ATTR)
            .and_then(|(_, v)| Action::parse(v))
            .unwrap_or(Action::Trigger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_trigger_and_its_resolve_are_built_then_they_share_the_key() {
        let key = IncidentKey::episode("i-0abc", 1_700_000_000);
        assert_eq!(key.as_str(), "ssr-onboard/onboarding/i-0abc/1700000000");
        assert_eq!(Action::parse("resolve"), Some(Action::Resolve));
        assert_eq!(Action::parse("open"), None);
    }
}
