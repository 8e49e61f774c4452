//! Is this instance a managed router? Pure: instance tags and ENI tags in, a reasoned verdict out.
//! Nothing is ever written to an instance this says no to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Config, ROLE_TAG_KEY};

pub const STACK_NAME_TAG: &str = "aws:cloudformation:stack-name";
/// The per-router control tag (on the instance, or on a router stack): `ignore` or `monitor`.
pub const CONTROL_TAG_KEY: &str = "SSR-ONBOARD";

/// `SSR-ONBOARD-SNOOZE-UNTIL=<RFC 3339 time>`: no alerts or pages for the router until then
/// (fixes are still applied).
pub const SNOOZE_TAG_KEY: &str = "SSR-ONBOARD-SNOOZE-UNTIL";

/// The router's snooze tag, read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Snooze {
    /// No tag.
    None,
    /// Alerts and pages held until this time.
    Until(chrono::DateTime<chrono::Utc>),
    /// The tag's value is not an RFC 3339 time (a finding; never a crash): not snoozed.
    Invalid(String),
}

impl Snooze {
    pub fn of(tags: &BTreeMap<String, String>) -> Snooze {
        match tags.get(SNOOZE_TAG_KEY).map(|v| v.trim()) {
            None | Some("") => Snooze::None,
            Some(v) => match chrono::DateTime::parse_from_rfc3339(v) {
                Ok(t) => Snooze::Until(t.with_timezone(&chrono::Utc)),
                Err(_) => Snooze::Invalid(v.chars().take(64).collect()),
            },
        }
    }

    /// Are alerts held at `now`?
    pub fn holds(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        matches!(self, Snooze::Until(t) if now < *t)
    }

    /// The snooze time when it is over at `now` (the page after a snooze says so).
    pub fn ended(
        &self,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Option<chrono::DateTime<chrono::Utc>> {
        match self {
            Snooze::Until(t) if now >= *t => Some(*t),
            _ => None,
        }
    }
}

/// What an operator asked of one router with the `SSR-ONBOARD` tag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Control {
    /// No tag (or another value): checked, fixed, alerted.
    #[default]
    Manage,
    /// `monitor`: checked and alerted, never written (a per-router dry run).
    Monitor,
    /// `ignore`: nothing written, nothing alerted, nothing paged.
    Ignore,
}

impl Control {
    /// The control `tags` (an instance's or a stack's) ask for.
    pub fn of(tags: &BTreeMap<String, String>) -> Control {
        match tags
            .get(CONTROL_TAG_KEY)
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            Some("ignore") => Control::Ignore,
            Some("monitor") => Control::Monitor,
            _ => Control::Manage,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Selection {
    pub selected: bool,
    pub reason: String,
    /// The router's `SSR-ONBOARD` control (`ignore` routers are not selected).
    #[serde(skip_serializing_if = "is_manage")]
    pub control: Control,
}

fn is_manage(c: &Control) -> bool {
    *c == Control::Manage
}

/// `eni_tags`: `(eni_id, tags)` for every attached interface. A router tagged
/// `SSR-ONBOARD=ignore` is not selected (its reason says so); `monitor` is selected, and its
/// control tells the guard never to write.
pub fn select<'a>(
    config: &Config,
    instance_tags: &BTreeMap<String, String>,
    eni_tags: impl IntoIterator<Item = (&'a str, &'a BTreeMap<String, String>)>,
) -> Selection {
    let (selected, reason) = router_selection(config, instance_tags, eni_tags);
    let control = Control::of(instance_tags);
    match (selected, control) {
        (true, Control::Ignore) => Selection {
            selected: false,
            reason: format!("ignored: tagged {CONTROL_TAG_KEY}=ignore ({reason})"),
            control,
        },
        (true, Control::Monitor) => Selection {
            selected: true,
            reason: format!(
                "{reason}; monitored: tagged {CONTROL_TAG_KEY}=monitor, checked and alerted, never written"
            ),
            control,
        },
        _ => Selection {
            selected,
            reason,
            control: Control::Manage,
        },
    }
}

/// Is it a router at all (the tags), and why.
fn router_selection<'a>(
    config: &Config,
    instance_tags: &BTreeMap<String, String>,
    eni_tags: impl IntoIterator<Item = (&'a str, &'a BTreeMap<String, String>)>,
) -> (bool, String) {
    if instance_tags.contains_key(&config.router_tag_key) {
        return (
            true,
            format!("instance has the {} tag", config.router_tag_key),
        );
    }
    if let Some((eni, _)) = eni_tags
        .into_iter()
        .find(|(_, t)| t.contains_key(ROLE_TAG_KEY))
    {
        return (true, format!("interface {eni} has the {ROLE_TAG_KEY} tag"));
    }
    if let Some(stack) = instance_tags.get(STACK_NAME_TAG) {
        if let Some(p) = config.stack_matches(stack) {
            return (
                true,
                format!(
                    "stack {stack} matches ROUTER_STACKS pattern `{}`",
                    p.as_str()
                ),
            );
        }
    }
    (
        false,
        format!(
            "not a managed router: no {} tag, no {ROLE_TAG_KEY} tag on any interface{}",
            config.router_tag_key,
            if config.router_stacks.is_empty() {
                ", ROUTER_STACKS is empty".to_string()
            } else {
                match instance_tags.get(STACK_NAME_TAG) {
                    Some(s) => format!(", stack {s} matches no ROUTER_STACKS pattern"),
                    None => ", not created by a CloudFormation stack".to_string(),
                }
            }
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_selection_is_serialized_then_control_is_shown_only_when_not_manage() {
        let json = |control| {
            serde_json::to_value(Selection {
                selected: true,
                reason: "r".into(),
                control,
            })
            .unwrap_or_default()
        };
        assert!(json(Control::Manage).get("control").is_none());
        assert_eq!(json(Control::Monitor)["control"], "monitor");
        assert_eq!(json(Control::Ignore)["control"], "ignore");
    }

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn cfg(stacks: &str) -> Config {
        Config::from_vars(|k| (k == "ROUTER_STACKS").then(|| stacks.to_string())).unwrap()
    }

    /// (name, instance tags, ENI tags, ROUTER_STACKS, selected?)
    type Case<'a> = (
        &'a str,
        BTreeMap<String, String>,
        Vec<(&'a str, &'a BTreeMap<String, String>)>,
        &'a str,
        bool,
    );

    #[test]
    fn selection_table() {
        let none = tags(&[]);
        let role = tags(&[("SSR-ROLE", "LAN")]);
        let cases: Vec<Case> = vec![
            ("router tag", tags(&[("SSR-ROUTER", "")]), vec![], "", true),
            (
                "eni role tag",
                tags(&[("Name", "x")]),
                vec![("eni-1", &none), ("eni-2", &role)],
                "",
                true,
            ),
            (
                "stack glob",
                tags(&[(STACK_NAME_TAG, "SSR_1_Router")]),
                vec![],
                "SSR_*",
                true,
            ),
            (
                "stack no match",
                tags(&[(STACK_NAME_TAG, "webapp")]),
                vec![],
                "SSR_*",
                false,
            ),
            (
                "plain instance",
                tags(&[("Name", "web")]),
                vec![("eni-1", &none)],
                "",
                false,
            ),
            (
                "stack without globs",
                tags(&[(STACK_NAME_TAG, "SSR_1")]),
                vec![],
                "",
                false,
            ),
        ];
        for (name, inst, enis, stacks, want) in cases {
            let s = select(&cfg(stacks), &inst, enis);
            assert_eq!(s.selected, want, "{name}: {s:?}");
            assert!(!s.reason.is_empty());
        }
    }

    #[test]
    fn when_router_tag_key_configured_then_that_key_selects() {
        let c = Config::from_vars(|k| (k == "ROUTER_TAG_KEY").then(|| "Role".to_string())).unwrap();
        assert!(select(&c, &tags(&[("Role", "ssr")]), []).selected);
        assert!(!select(&c, &tags(&[("SSR-ROUTER", "true")]), []).selected);
    }

    #[test]
    fn when_a_router_is_tagged_ignore_or_monitor_then_it_is_left_alone_or_only_watched() {
        let c = cfg("");
        let ignored = select(
            &c,
            &tags(&[("SSR-ROUTER", ""), ("SSR-ONBOARD", " Ignore ")]),
            [],
        );
        assert!(!ignored.selected);
        assert_eq!(ignored.control, Control::Ignore);
        assert!(
            ignored
                .reason
                .starts_with("ignored: tagged SSR-ONBOARD=ignore"),
            "{}",
            ignored.reason
        );
        let monitored = select(
            &c,
            &tags(&[("SSR-ROUTER", ""), ("SSR-ONBOARD", "monitor")]),
            [],
        );
        assert!(monitored.selected);
        assert_eq!(monitored.control, Control::Monitor);
        let other = select(
            &c,
            &tags(&[("SSR-ROUTER", ""), ("SSR-ONBOARD", "whatever")]),
            [],
        );
        assert_eq!((other.selected, other.control), (true, Control::Manage));
        let not_a_router = select(&c, &tags(&[("SSR-ONBOARD", "ignore")]), []);
        assert_eq!(
            not_a_router.control,
            Control::Manage,
            "only routers are ignored"
        );
    }

    #[test]
    fn when_a_snooze_tag_is_read_then_a_time_holds_until_it_passes_and_garbage_is_invalid() {
        let t = |v: &str| tags(&[(SNOOZE_TAG_KEY, v)]);
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap();
        let s = Snooze::of(&t("2026-12-06T18:00:00+01:00"));
        assert!(s.holds(now));
        assert_eq!(s.ended(now), None);
        let later = now + chrono::Duration::hours(6);
        assert!(!s.holds(later));
        assert!(s.ended(later).is_some());
        assert_eq!(
            Snooze::of(&t("tomorrow")),
            Snooze::Invalid("tomorrow".into())
        );
        assert!(!Snooze::of(&t("tomorrow")).holds(now));
        assert_eq!(Snooze::of(&tags(&[])), Snooze::None);
    }
}
