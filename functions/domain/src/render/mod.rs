//! Findings and episodes → alert text a person on call can act on: a subject under 100
//! characters, a plain-text body (reads well as email), and SNS message attributes for
//! subscription filter policies; for chat ([`chat`]) a thread, the resources and the next steps.
//! Never given a secret, so it can never print one.

pub mod chat;
pub mod guard;
pub mod incident;
pub mod kind;
pub mod notices;
pub mod operational;
pub mod stack;
pub mod watchdog;

use std::collections::BTreeMap;

use serde::Serialize;

pub use incident::{Action, IncidentKey};
pub use kind::AlertKind;

/// SNS subjects must be under 100 ASCII characters with no line breaks.
pub const MAX_SUBJECT: usize = 99;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub subject: String,
    pub body: String,
    /// name → (SNS DataType, value), e.g. `finding_codes` → (`String.Array`, `["A","B"]`).
    /// `kind` is the alert kind (`guard-findings`, `stack-failed`, `onboarding-overdue`, …).
    pub attributes: BTreeMap<String, (String, String)>,
    /// The chat thread the alert belongs in: one per instance (guard findings), stack
    /// (failures) or onboarding episode (the overdue page and its recovery notice share it).
    pub thread_id: String,
    /// The resources it is about (instance id, stack id).
    pub related_resources: Vec<String>,
    /// What a person does next, one short step each (chat shows them as a list).
    pub next_steps: Vec<String>,
}

impl Alert {
    /// Adds the `account` and `region` attributes, where the context knows them (subscription
    /// filter policies of an organization deployment route by them).
    pub(crate) fn in_context(mut self, ctx: &EventContext) -> Self {
        if ctx.member {
            // An organization member's router: the subject says where, first, so a person
            // reading a list of subjects sees the account without opening the message.
            self.subject = subject(&format!(
                "[{} {}] {}",
                ctx.account.as_deref().unwrap_or("?"),
                ctx.region.as_deref().unwrap_or("?"),
                self.subject
            ));
        }
        for (name, value) in [("account", &ctx.account), ("region", &ctx.region)] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
                self.attributes.insert(name.to_string(), string_attr(v));
            }
        }
        self
    }

    /// The alert kind (the `kind` attribute).
    pub fn kind(&self) -> Option<AlertKind> {
        self.attributes
            .get("kind")
            .and_then(|(_, v)| AlertKind::parse(v))
    }
}

/// Where an event came from and where it happened, for the alert's context lines.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EventContext {
    /// e.g. `EC2 state change: running`.
    pub trigger: String,
    pub region: Option<String>,
    pub account: Option<String>,
    pub event_id: Option<String>,
    /// The router is in an organization member account, not the hub's own: the subject names
    /// the account and region.
    pub member: bool,
}

impl EventContext {
    /// This context for a router in `account` and `region` (where known), `member` when that
    /// account is not the deployment's own.
    pub fn at(&self, account: Option<&str>, region: Option<&str>, member: bool) -> EventContext {
        EventContext {
            account: account.map(String::from).or_else(|| self.account.clone()),
            region: region.map(String::from).or_else(|| self.region.clone()),
            member,
            ..self.clone()
        }
    }
}

/// ASCII-only, single line, at most `MAX_SUBJECT` characters (cut with an ellipsis).
pub fn subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect();
    if clean.len() <= MAX_SUBJECT {
        clean
    } else {
        format!("{}...", &clean[..MAX_SUBJECT - 3])
    }
}

/// A label of at most `max` characters (router names can be long).
pub fn short(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        format!(
            "{}~",
            label
                .chars()
                .take(max.saturating_sub(1))
                .collect::<String>()
        )
    }
}

pub fn console_link(region: &str, instance_id: &str) -> String {
    format!(
        "https://{region}.console.aws.amazon.com/ec2/home?region={region}#InstanceDetails:instanceId={instance_id}"
    )
}

/// The `kind` attribute of an alert of kind `kind`.
pub fn kind_attr(kind: AlertKind) -> (String, (String, String)) {
    ("kind".to_string(), string_attr(kind.as_str()))
}

pub fn string_attr(v: impl Into<String>) -> (String, String) {
    ("String".to_string(), v.into())
}

pub fn array_attr(values: &[&str]) -> (String, String) {
    (
        "String.Array".to_string(),
        serde_json::Value::from(values.to_vec()).to_string(),
    )
}
