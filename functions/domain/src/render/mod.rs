//! Findings and episodes → alert text a person on call can act on: a subject under 100
//! characters, a plain-text body (reads well as email), and SNS message attributes for
//! subscription filter policies; for chat ([`chat`]) a thread, the resources and the next steps.
//! Never given a secret, so it can never print one.

pub mod ack;
pub mod chat;
pub mod drift;
pub mod event;
pub mod guard;
pub mod incident;
pub mod kind;
pub mod notices;
pub mod operational;
pub mod resolved;
pub mod severity;
pub mod stack;
pub mod watchdog;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use incident::{Action, IncidentKey};
pub use kind::AlertKind;
pub use severity::AlertSeverity;

/// SNS subjects must be under 100 ASCII characters with no line breaks.
pub const MAX_SUBJECT: usize = 99;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
            // reading a list of subjects sees the account without opening the message: its
            // name (Organizations) when known, else its 12 digits (the body has both).
            let account = match ctx.account_name.as_deref().filter(|n| !n.trim().is_empty()) {
                Some(name) => short(name.trim(), MAX_ACCOUNT_NAME_IN_SUBJECT),
                None => ctx.account.as_deref().unwrap_or("?").to_string(),
            };
            self.subject = subject(&format!(
                "[{account} {}] {}",
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
    /// The account's name in AWS Organizations (`DescribeAccount`), looked up only for a member
    /// account's alert; `None` when not looked up or not known (the digits are used then).
    pub account_name: Option<String>,
    pub event_id: Option<String>,
    /// The router is in an organization member account, not the hub's own: the subject names
    /// the account and region.
    pub member: bool,
}

impl EventContext {
    /// This context for a router in `account` and `region` (where known), `member` when that
    /// account is not the deployment's own.
    pub fn at(&self, account: Option<&str>, region: Option<&str>, member: bool) -> EventContext {
        let account = account.map(String::from).or_else(|| self.account.clone());
        EventContext {
            // A name belongs to the account it was looked up for.
            account_name: self
                .account_name
                .clone()
                .filter(|_| account == self.account),
            account,
            region: region.map(String::from).or_else(|| self.region.clone()),
            member,
            ..self.clone()
        }
    }

    /// This context with the account's Organizations name (when one was found).
    pub fn named(self, account_name: Option<String>) -> EventContext {
        EventContext {
            account_name: account_name.filter(|n| !n.trim().is_empty()),
            ..self
        }
    }

    /// `111122223333 (Branch Prod)`, the digits alone when the name is not known, `?` when the
    /// account is not known: the body's "Account:" line.
    pub fn account_label(&self) -> String {
        match (self.account.as_deref(), self.account_name.as_deref()) {
            (Some(a), Some(n)) => format!("{a} ({})", n.trim()),
            (Some(a), None) => a.to_string(),
            (None, _) => "?".to_string(),
        }
    }

    /// Where a remediation command is run, said after it: ` in account 111122223333 (Branch
    /// Prod)` for a member account's router (the command must be run with that account's
    /// credentials, not the hub's), nothing otherwise.
    pub fn run_in(&self) -> String {
        match (self.member, self.account.as_deref()) {
            (true, Some(_)) => format!(" in account {}", self.account_label()),
            _ => String::new(),
        }
    }

    /// `text` with ` --region <region>` given to every AWS CLI command in it that does not
    /// name one ([`with_region`]); unchanged when the region is not known.
    pub fn commands(&self, text: &str) -> String {
        match self.region.as_deref() {
            Some(r) if !r.is_empty() => with_region(text, r),
            _ => text.to_string(),
        }
    }
}

/// Characters of an account's name kept in a member alert's subject.
const MAX_ACCOUNT_NAME_IN_SUBJECT: usize = 30;

/// `text` with ` --region <region>` after the operation (or a `wait` command's waiter) of every
/// AWS CLI command (`aws <service> <operation> ...`) in it that does not already name a region.
/// The CLI takes its global options anywhere on the line, so
/// `aws ec2 create-tags --region eu-west-1 --resources ...` is the same command; without it the
/// CLI uses the profile's region, which at 3 a.m. is often not the router's.
pub fn with_region(text: &str, region: &str) -> String {
    let starts: Vec<usize> = text
        .match_indices("aws ")
        .map(|(i, _)| i)
        .filter(|&i| {
            text[..i]
                .chars()
                .next_back()
                .is_none_or(|c| c.is_whitespace() || "`'\"(:;,".contains(c))
        })
        .collect();
    let mut out = String::with_capacity(text.len() + starts.len() * 24);
    let mut done = 0;
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(text.len());
        let command = &text[start..end];
        let Some(at) = operation_end(command) else {
            continue;
        };
        if command.contains("--region") {
            continue;
        }
        out.push_str(&text[done..start + at]);
        out.push_str(" --region ");
        out.push_str(region);
        done = start + at;
    }
    out.push_str(&text[done..]);
    out
}

/// The byte offset just after `aws <service> <operation>` (or `aws <service> wait <waiter>`)
/// in `command`, when it starts with one: a service and an operation are lower-case words, and
/// an operation has a hyphen (`create-tags`), so prose such as "aws account" does not match.
fn operation_end(command: &str) -> Option<usize> {
    fn word(s: &str, from: usize) -> Option<(usize, &str)> {
        let rest = &s[from..];
        let skipped = rest.len() - rest.trim_start_matches(' ').len();
        let begin = from + skipped;
        let len = s[begin..]
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            .unwrap_or(s.len() - begin);
        (len > 0 && skipped > 0).then(|| (begin + len, &s[begin..begin + len]))
    }
    let (after_service, _) = word(command, 3)?;
    let (after_op, op) = word(command, after_service)?;
    if op == "wait" {
        return word(command, after_op).map(|(end, _)| end);
    }
    op.contains('-').then_some(after_op)
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

/// The AWS Management Console's address for `region`, by partition: `https://<region>.console.
/// aws.amazon.com` in the commercial partition (General Reference, "AWS Management Console
/// endpoints"), `https://console.amazonaws.cn` in China (`cn-*`, partition `aws-cn`) and
/// `https://console.amazonaws-us-gov.com` in AWS GovCloud (US) (`us-gov-*`, `aws-us-gov`); the
/// page's `?region=` picks the region in all three.
pub fn console_host(region: &str) -> String {
    if region.starts_with("cn-") {
        "https://console.amazonaws.cn".to_string()
    } else if region.starts_with("us-gov-") {
        "https://console.amazonaws-us-gov.com".to_string()
    } else {
        format!("https://{region}.console.aws.amazon.com")
    }
}

/// A console page of `service` (`ec2`, `cloudformation`) in `region`, with `fragment` after the
/// `#` (`InstanceDetails:instanceId=i-…`): every console link of every alert is built here.
pub fn console_url(region: &str, service: &str, fragment: &str) -> String {
    format!(
        "{}/{service}/home?region={region}#{fragment}",
        console_host(region)
    )
}

/// The EC2 console's page of one instance.
pub fn console_link(region: &str, instance_id: &str) -> String {
    console_url(
        region,
        "ec2",
        &format!("InstanceDetails:instanceId={instance_id}"),
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

#[cfg(test)]
mod tests;
