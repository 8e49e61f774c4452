//! An alert as an EventBridge event (`ALERT_EVENT_BUS`): `source` = `ssr-onboard`,
//! `detail-type` = the alert's kind, `detail` = the alert's fields. Paging tools take it without
//! glue code (PagerDuty's Events API v2 through an API destination whose input transformer maps
//! `dedup_key` ← `$.detail.incident_key` and `event_action` ← `$.detail.action`; docs/alerts.md
//! has the recipes, tested against this shape).

use serde::Serialize;

use super::Alert;

/// The events' `source`.
pub const EVENT_SOURCE: &str = "ssr-onboard";
/// The `detail`'s schema name.
pub const EVENT_SCHEMA: &str = "ssr-onboard/alert/v1";

/// The `detail` of an alert's event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AlertDetail<'a> {
    pub schema: &'static str,
    pub kind: &'a str,
    /// `trigger` | `resolve`.
    pub action: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incident_key: Option<&'a str>,
    /// `critical`-free scale the alerts use: `error` | `warning` | `info`.
    pub severity: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<&'a str>,
    /// The links in the alert's text (consoles, runbooks), in order.
    pub links: Vec<&'a str>,
    pub next_steps: &'a [String],
    pub resources: &'a [String],
}

impl Alert {
    /// This alert's event `detail-type` (its kind; `alert` when it has none).
    pub fn detail_type(&self) -> &str {
        self.attr("kind").unwrap_or("alert")
    }

    /// This alert's event `detail`.
    pub fn event_detail(&self) -> AlertDetail<'_> {
        AlertDetail {
            schema: EVENT_SCHEMA,
            kind: self.detail_type(),
            action: self.action().as_str(),
            incident_key: self.attr(super::incident::INCIDENT_KEY_ATTR),
            severity: self.attr("severity").unwrap_or("info"),
            subject: &self.subject,
            text: &self.body,
            instance: self.attr("instance_id"),
            stack: self.attr("stack_name"),
            account: self.attr("account"),
            region: self.attr("region"),
            links: self
                .body
                .split_whitespace()
                .filter(|w| w.starts_with("https://"))
                .collect(),
            next_steps: &self.next_steps,
            resources: &self.related_resources,
        }
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::{string_attr, Action, IncidentKey};

    #[test]
    fn when_an_alert_becomes_an_event_then_its_detail_carries_the_incident_and_links() {
        let alert = Alert {
            subject: "SSR onboarding overdue: r1".into(),
            body: "Open https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1 now\n"
                .into(),
            attributes: [
                ("kind".to_string(), string_attr("onboarding-overdue")),
                ("severity".to_string(), string_attr("error")),
                ("instance_id".to_string(), string_attr("i-1")),
            ]
            .into(),
            thread_id: "t".into(),
            related_resources: vec!["i-1".into()],
            next_steps: vec![],
        }
        .for_incident(&IncidentKey::episode("i-1", 5), Action::Resolve);
        let d = serde_json::to_value(alert.event_detail()).unwrap_or_default();
        assert_eq!(d["incident_key"], "ssr-onboard/onboarding/i-1/5");
        assert_eq!(d["action"], "resolve");
        assert_eq!(d["kind"], "onboarding-overdue");
        assert_eq!(d["instance"], "i-1");
        assert_eq!(
            d["links"][0],
            "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1"
        );
        assert_eq!(alert.detail_type(), "onboarding-overdue");
    }
}
