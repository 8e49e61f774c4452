//! One router's timeline: everything the functions saw and did for it, in time order
//! (`ssr-onboard timeline <instance-id>`). Entries are recorded where a function has just won a
//! claim or made a change (an episode's first sight, a fix written, an alert delivered, a Mist
//! phase change, a webhook event acted on, an acknowledgement, an episode's record), so a
//! replayed event records nothing. Here: the entry, its kinds, their order, the versioned JSON
//! document and the text a person reads. No secret ever enters an entry: its fields are ids,
//! codes, kinds, states and times.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::findings::Action;
use crate::plan::{ActionResult, ActionStatus};
use crate::render::{Alert, AlertKind};

/// The JSON document's `schema`.
pub const SCHEMA: &str = "ssr-onboard/timeline/v1";
/// How long an entry is kept (its `expires_at`).
pub const RETENTION_DAYS: i64 = 90;
/// At most this many characters of a free-text field (an error, a reason, a subject).
pub const MAX_TEXT: usize = 300;

/// What an entry records. The names are stable (kebab-case, in the JSON and the table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryKind {
    /// An onboarding episode began (the launch, or a router stack that completed).
    EpisodeStarted,
    /// The guard wrote a fix (which resource, which attribute, read back or not).
    Fix,
    /// The guard alerted findings (their codes): what its fixes left.
    Findings,
    /// An alert was delivered (its kind, incident key, trigger or resolve).
    Alert,
    /// The watchdog saw the router's Mist phase change.
    MistPhase,
    /// The mist-webhook acted on a Mist device event for the router.
    WebhookEvent,
    /// A person acknowledged the episode (`ssr-onboard ack`).
    Acknowledged,
    /// The episode ended (onboarded, by the tag, or acknowledged), with its duration.
    EpisodeFinished,
}

impl EntryKind {
    /// Every kind, in the order entries at the same instant are listed.
    pub const ALL: [EntryKind; 8] = [
        EntryKind::EpisodeStarted,
        EntryKind::Fix,
        EntryKind::Findings,
        EntryKind::Alert,
        EntryKind::MistPhase,
        EntryKind::WebhookEvent,
        EntryKind::Acknowledged,
        EntryKind::EpisodeFinished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::EpisodeStarted => "episode-started",
            EntryKind::Findings => "findings",
            EntryKind::Fix => "fix",
            EntryKind::Alert => "alert",
            EntryKind::MistPhase => "mist-phase",
            EntryKind::WebhookEvent => "webhook-event",
            EntryKind::Acknowledged => "acknowledged",
            EntryKind::EpisodeFinished => "episode-finished",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        EntryKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One thing seen or done, at `at` (millisecond precision).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    pub kind: EntryKind,
    /// What happened, as named values (ids, codes, states; never a secret).
    pub fields: BTreeMap<String, String>,
}

/// Field names shared by the constructors and the readers.
pub mod field {
    pub const EPISODE: &str = "episode";
    pub const SOURCE: &str = "source";
    pub const CODES: &str = "codes";
    pub const RESOURCE: &str = "resource";
    pub const ATTRIBUTE: &str = "attribute";
    pub const VALUE: &str = "value";
    pub const STATUS: &str = "status";
    pub const VERIFIED: &str = "verified";
    pub const ERROR: &str = "error";
    pub const ALERT_KIND: &str = "alert_kind";
    pub const INCIDENT_KEY: &str = "incident_key";
    pub const ACTION: &str = "action";
    pub const SUBJECT: &str = "subject";
    pub const PHASE: &str = "phase";
    pub const PREVIOUS: &str = "previous";
    pub const EVENT_TYPE: &str = "event_type";
    pub const DEVICE: &str = "device";
    pub const BY: &str = "by";
    pub const REASON: &str = "reason";
    pub const STARTED_AT: &str = "started_at";
    pub const FINISHED_BY: &str = "finished_by";
    pub const DURATION_SECONDS: &str = "duration_seconds";
}

/// `s`, at most [`MAX_TEXT`] characters, on one line.
fn text(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let t = one_line.trim();
    if t.chars().count() <= MAX_TEXT {
        t.to_string()
    } else {
        let mut cut: String = t.chars().take(MAX_TEXT - 1).collect();
        cut.push('…');
        cut
    }
}

/// `at` truncated to the millisecond (what the table keeps).
pub fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(at.timestamp_millis())
        .single()
        .unwrap_or(at)
}

impl Entry {
    pub fn new<K: Into<String>, V: Into<String>>(
        at: DateTime<Utc>,
        kind: EntryKind,
        fields: impl IntoIterator<Item = (K, V)>,
    ) -> Entry {
        Entry {
            at: to_millis(at),
            kind,
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.into(), text(&v.into())))
                .filter(|(_, v)| !v.is_empty())
                .collect(),
        }
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }

    /// An onboarding episode (`<instance-id>#<start-epoch>`) began at `started_at`; `source`:
    /// `launch` or `stack`.
    pub fn episode_started(started_at: DateTime<Utc>, episode: &str, source: &str) -> Entry {
        Entry::new(
            started_at,
            EntryKind::EpisodeStarted,
            [(field::EPISODE, episode), (field::SOURCE, source)],
        )
    }

    /// The guard alerted these finding codes.
    pub fn findings(at: DateTime<Utc>, codes: &[&str]) -> Entry {
        Entry::new(at, EntryKind::Findings, [(field::CODES, codes.join(","))])
    }

    /// A fix the guard wrote (`None` for a planned one: nothing was written).
    pub fn fix(at: DateTime<Utc>, result: &ActionResult) -> Option<Entry> {
        let status = match result.status {
            ActionStatus::Planned => return None,
            ActionStatus::Applied => "applied",
            ActionStatus::Unverified => "unverified",
            ActionStatus::Failed => "failed",
        };
        let (attribute, value) = match &result.action {
            Action::DisableSourceDestCheck { .. } => ("SourceDestCheck", "false"),
            Action::EnableEna { .. } => ("EnaSupport", "true"),
        };
        let verified = if result.status == ActionStatus::Applied {
            "true"
        } else {
            "false"
        };
        let mut fields = vec![
            (field::RESOURCE, result.action.resource().to_string()),
            (field::ATTRIBUTE, attribute.to_string()),
            (field::VALUE, value.to_string()),
            (field::STATUS, status.to_string()),
            (field::VERIFIED, verified.to_string()),
        ];
        if let Some(e) = &result.error {
            fields.push((field::ERROR, e.clone()));
        }
        Some(Entry::new(at, EntryKind::Fix, fields))
    }

    /// An alert delivered: its kind, incident key, `trigger` or `resolve`, and subject.
    pub fn alert(
        at: DateTime<Utc>,
        alert_kind: &str,
        incident_key: Option<&str>,
        action: &str,
        subject: &str,
    ) -> Entry {
        Entry::new(
            at,
            EntryKind::Alert,
            [
                (field::ALERT_KIND, alert_kind),
                (field::INCIDENT_KEY, incident_key.unwrap_or("")),
                (field::ACTION, action),
                (field::SUBJECT, subject),
            ],
        )
    }

    /// The watchdog saw the episode's Mist phase change from `previous` (none: the first phase
    /// seen) to `phase`.
    pub fn mist_phase(
        at: DateTime<Utc>,
        episode: &str,
        phase: &str,
        previous: Option<&str>,
    ) -> Entry {
        Entry::new(
            at,
            EntryKind::MistPhase,
            [
                (field::EPISODE, episode),
                (field::PHASE, phase),
                (field::PREVIOUS, previous.unwrap_or("")),
            ],
        )
    }

    /// The mist-webhook received a Mist device event (`GW_ZTP_FAILED`, `GW_CONNECTED`, …)
    /// about the router's open episode.
    pub fn webhook_event(
        at: DateTime<Utc>,
        episode: &str,
        event_type: &str,
        device: Option<&str>,
    ) -> Entry {
        Entry::new(
            at,
            EntryKind::WebhookEvent,
            [
                (field::EPISODE, episode),
                (field::EVENT_TYPE, event_type),
                (field::DEVICE, device.unwrap_or("")),
            ],
        )
    }

    /// `by` acknowledged the episode (optionally saying why).
    pub fn acknowledged(at: DateTime<Utc>, episode: &str, by: &str, reason: Option<&str>) -> Entry {
        Entry::new(
            at,
            EntryKind::Acknowledged,
            [
                (field::EPISODE, episode),
                (field::BY, by),
                (field::REASON, reason.unwrap_or("")),
            ],
        )
    }

    /// The episode that began at `started_at` ended at `at` (`finished_by`: `mist`, `tag`,
    /// `acknowledged`); `measured`: its duration is an onboarding time.
    pub fn episode_finished(
        at: DateTime<Utc>,
        episode: &str,
        started_at: DateTime<Utc>,
        finished_by: Option<&str>,
        measured: bool,
    ) -> Entry {
        let seconds = (at - started_at).num_seconds().max(0);
        Entry::new(
            at,
            EntryKind::EpisodeFinished,
            [
                (field::EPISODE, episode.to_string()),
                (
                    field::STARTED_AT,
                    started_at.to_rfc3339_opts(SecondsFormat::Secs, true),
                ),
                (field::FINISHED_BY, finished_by.unwrap_or("").to_string()),
                (field::DURATION_SECONDS, seconds.to_string()),
                ("measured", measured.to_string()),
            ],
        )
    }

    /// The entry's identity within its router's timeline: its time, its kind and the field
    /// that tells same-kind entries at one instant apart (the resource of a fix, the incident
    /// and action of an alert).
    pub fn discriminator(&self) -> String {
        let part = match self.kind {
            EntryKind::Fix => self.get(field::RESOURCE).unwrap_or("").to_string(),
            EntryKind::Alert => format!(
                "{}|{}",
                self.get(field::INCIDENT_KEY)
                    .or(self.get(field::ALERT_KIND))
                    .unwrap_or(""),
                self.get(field::ACTION).unwrap_or("")
            ),
            EntryKind::WebhookEvent => format!(
                "{}|{}",
                self.get(field::EPISODE).unwrap_or(""),
                self.get(field::EVENT_TYPE).unwrap_or("")
            ),
            _ => self.get(field::EPISODE).unwrap_or("").to_string(),
        };
        format!(
            "{}#{}#{}",
            self.at.timestamp_millis(),
            self.kind.as_str(),
            part
        )
    }
}

/// What delivering `alert` adds to its router's timeline: `(instance_id, entries)` — the
/// alert (kind, incident key, trigger or resolve, subject), and for a trigger that carries
/// finding codes, the findings it alerted. `None` for an alert about no single router (an
/// operational alert, a summary).
pub fn alert_entries(at: DateTime<Utc>, alert: &Alert) -> Option<(String, Vec<Entry>)> {
    let instance_id = alert
        .attributes
        .get("instance_id")
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())?;
    let action = alert.action().as_str();
    let mut entries = Vec::new();
    let codes: Vec<String> = alert
        .attributes
        .get("finding_codes")
        .and_then(|(_, v)| serde_json::from_str(v).ok())
        .unwrap_or_default();
    if action == "trigger" && !codes.is_empty() {
        let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
        entries.push(Entry::findings(at, &codes));
    }
    let key = alert.incident_key();
    entries.push(Entry::alert(
        at,
        alert.kind().map_or("alert", AlertKind::as_str),
        key.as_ref().map(|k| k.as_str()),
        action,
        &alert.subject,
    ));
    Some((instance_id, entries))
}

/// Entries in time order; at the same instant, by kind ([`EntryKind::ALL`]), then by fields.
pub fn sort(entries: &mut [Entry]) {
    entries.sort_by(|a, b| (a.at, a.kind, &a.fields).cmp(&(b.at, b.kind, &b.fields)));
}

/// A finished episode and how long it took (from its `episode-finished` entry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpisodeSpan {
    pub episode: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: DateTime<Utc>,
    pub finished_by: Option<String>,
    pub duration_seconds: i64,
}

/// The document `ssr-onboard timeline --output json` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timeline {
    pub schema: &'static str,
    pub instance_id: String,
    pub entries: Vec<Entry>,
    /// The finished episodes among the entries, with their durations.
    pub episodes: Vec<EpisodeSpan>,
}

impl Timeline {
    /// The timeline of `instance_id` from its entries (any order).
    pub fn new(instance_id: &str, mut entries: Vec<Entry>) -> Timeline {
        sort(&mut entries);
        let episodes = finished_episodes(&entries);
        Timeline {
            schema: SCHEMA,
            instance_id: instance_id.to_string(),
            entries,
            episodes,
        }
    }

    /// One line per entry, time first; then each finished episode's duration.
    pub fn render_text(&self) -> String {
        if self.entries.is_empty() {
            return format!(
                "{}: nothing recorded (entries are kept {RETENTION_DAYS} days)\n",
                self.instance_id
            );
        }
        let mut out = format!("Timeline of {}\n", self.instance_id);
        for e in &self.entries {
            let fields: Vec<String> = e
                .fields
                .iter()
                .map(|(k, v)| {
                    if v.contains(' ') {
                        format!("{k}={v:?}")
                    } else {
                        format!("{k}={v}")
                    }
                })
                .collect();
            out.push_str(&format!(
                "{}  {:<16}  {}\n",
                e.at.to_rfc3339_opts(SecondsFormat::Millis, true),
                e.kind.as_str(),
                fields.join(" ")
            ));
        }
        for s in &self.episodes {
            out.push_str(&format!(
                "episode {} finished{} after {}\n",
                s.episode,
                s.finished_by
                    .as_deref()
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default(),
                duration_text(s.duration_seconds)
            ));
        }
        out
    }
}

/// `1h 02m 03s`, `14m 05s`, `42s`.
pub fn duration_text(seconds: i64) -> String {
    let s = seconds.max(0);
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}h {m:02}m {sec:02}s")
    } else if m > 0 {
        format!("{m}m {sec:02}s")
    } else {
        format!("{sec}s")
    }
}

/// Each `episode-finished` entry as a span: its duration field, else finish minus start (the
/// episode's `episode-started` entry, or the `started_at` field).
fn finished_episodes(entries: &[Entry]) -> Vec<EpisodeSpan> {
    entries
        .iter()
        .filter(|e| e.kind == EntryKind::EpisodeFinished)
        .map(|f| {
            let episode = f.get(field::EPISODE).unwrap_or("").to_string();
            let started_at = f
                .get(field::STARTED_AT)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|t| t.with_timezone(&Utc))
                .or_else(|| {
                    entries
                        .iter()
                        .find(|e| {
                            e.kind == EntryKind::EpisodeStarted
                                && e.get(field::EPISODE) == Some(episode.as_str())
                        })
                        .map(|e| e.at)
                });
            let duration_seconds = f
                .get(field::DURATION_SECONDS)
                .and_then(|d| d.parse::<i64>().ok())
                .or_else(|| started_at.map(|s| (f.at - s).num_seconds().max(0)))
                .unwrap_or(0);
            EpisodeSpan {
                episode,
                started_at,
                finished_at: f.at,
                finished_by: f.get(field::FINISHED_BY).map(String::from),
                duration_seconds,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn applied(eni: &str) -> ActionResult {
        ActionResult {
            action: Action::DisableSourceDestCheck { eni_id: eni.into() },
            status: ActionStatus::Applied,
            error: None,
        }
    }

    #[test]
    fn when_kinds_are_named_then_names_are_kebab_case_and_parse_back() {
        for k in EntryKind::ALL {
            assert_eq!(EntryKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert_eq!(EntryKind::EpisodeStarted.as_str(), "episode-started");
        assert_eq!(EntryKind::parse("nope"), None);
    }

    #[test]
    fn when_entries_arrive_out_of_order_then_the_timeline_is_in_time_order_kind_breaking_ties() {
        let start = t("2026-12-07T00:00:00Z");
        let fix_at = start + Duration::seconds(5);
        let entries = vec![
            Entry::alert(fix_at, "guard-findings", Some("k"), "trigger", "s"),
            Entry::fix(fix_at, &applied("eni-1")).unwrap(),
            Entry::episode_started(start, "i-1#1", "launch"),
            Entry::findings(fix_at, &["NO_LAN_INTERFACE"]),
        ];
        let tl = Timeline::new("i-1", entries);
        let kinds: Vec<EntryKind> = tl.entries.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            vec![
                EntryKind::EpisodeStarted,
                EntryKind::Fix,
                EntryKind::Findings,
                EntryKind::Alert
            ]
        );
    }

    #[test]
    fn when_serialised_then_the_document_names_its_schema_and_entries() {
        let tl = Timeline::new(
            "i-0abc1234def567890",
            vec![Entry::fix(t("2026-12-07T00:00:01.234Z"), &applied("eni-1")).unwrap()],
        );
        let v = serde_json::to_value(&tl).unwrap();
        assert_eq!(v["schema"], "ssr-onboard/timeline/v1");
        assert_eq!(v["instance_id"], "i-0abc1234def567890");
        assert_eq!(v["entries"][0]["kind"], "fix");
        assert_eq!(v["entries"][0]["at"], "2026-12-07T00:00:01.234Z");
        assert_eq!(v["entries"][0]["fields"]["resource"], "eni-1");
        assert_eq!(v["entries"][0]["fields"]["attribute"], "SourceDestCheck");
        assert_eq!(v["entries"][0]["fields"]["verified"], "true");
        assert!(v["episodes"].as_array().unwrap().is_empty());
    }

    #[test]
    fn when_a_fix_is_only_planned_then_no_entry_and_a_failed_one_is_unverified_with_its_error() {
        let mut r = applied("eni-1");
        r.status = ActionStatus::Planned;
        assert_eq!(Entry::fix(Utc::now(), &r), None);
        r.status = ActionStatus::Failed;
        r.error = Some("UnauthorizedOperation: denied".into());
        let e = Entry::fix(Utc::now(), &r).unwrap();
        assert_eq!(e.get(field::STATUS), Some("failed"));
        assert_eq!(e.get(field::VERIFIED), Some("false"));
        assert_eq!(e.get(field::ERROR), Some("UnauthorizedOperation: denied"));
    }

    #[test]
    fn when_an_episode_finished_then_its_span_has_the_duration() {
        let start = t("2026-12-07T00:00:00Z");
        let end = start + Duration::seconds(14 * 60 + 5);
        let tl = Timeline::new(
            "i-1",
            vec![
                Entry::episode_finished(end, "i-1#1796601600", start, Some("mist"), true),
                Entry::episode_started(start, "i-1#1796601600", "launch"),
            ],
        );
        assert_eq!(tl.episodes.len(), 1);
        let s = &tl.episodes[0];
        assert_eq!(s.duration_seconds, 845);
        assert_eq!(s.started_at, Some(start));
        assert_eq!(s.finished_by.as_deref(), Some("mist"));
        assert!(tl.render_text().contains("finished (mist) after 14m 05s"));
    }

    #[test]
    fn when_rendered_then_one_line_per_entry_time_first() {
        let start = t("2026-12-07T00:00:00Z");
        let tl = Timeline::new(
            "i-1",
            vec![
                Entry::episode_started(start, "i-1#1", "launch"),
                Entry::acknowledged(
                    start + Duration::minutes(20),
                    "i-1#1",
                    "arn:aws:iam::1:user/a",
                    Some("lab router"),
                ),
            ],
        );
        let text = tl.render_text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[1].starts_with("2026-12-07T00:00:00.000Z  episode-started"));
        assert!(lines[2].starts_with("2026-12-07T00:20:00.000Z  acknowledged"));
        assert!(lines[2].contains("reason=\"lab router\""), "{text}");
    }

    #[test]
    fn when_nothing_is_recorded_then_the_text_says_so() {
        let tl = Timeline::new("i-1", vec![]);
        assert!(tl.render_text().contains("nothing recorded"));
    }

    #[test]
    fn when_a_field_is_long_or_multi_line_then_it_is_cut_to_one_line() {
        let long = format!("a\nb{}", "x".repeat(1000));
        let e = Entry::acknowledged(Utc::now(), "k", "me", Some(&long));
        let r = e.get(field::REASON).unwrap();
        assert!(!r.contains('\n'));
        assert_eq!(r.chars().count(), MAX_TEXT);
    }

    #[test]
    fn when_times_have_nanoseconds_then_entries_keep_milliseconds() {
        let at = t("2026-12-07T00:00:01.234567891Z");
        let e = Entry::findings(at, &["A"]);
        assert_eq!(e.at, t("2026-12-07T00:00:01.234Z"));
        assert_eq!(
            e.discriminator(),
            format!("{}#findings#", e.at.timestamp_millis())
        );
    }

    #[test]
    fn when_a_guard_alert_is_delivered_then_its_findings_and_the_alert_are_entries() {
        use std::collections::BTreeMap;
        let alert = Alert {
            subject: "SSR router r1: 1 finding".into(),
            body: "b".into(),
            attributes: BTreeMap::from([
                crate::render::kind_attr(AlertKind::GuardFindings),
                (
                    "instance_id".to_string(),
                    crate::render::string_attr("i-0abc1234def567890"),
                ),
                (
                    "finding_codes".to_string(),
                    crate::render::array_attr(&["NO_LAN_INTERFACE", "ENA_DISABLED"]),
                ),
            ]),
            thread_id: "t".into(),
            related_resources: vec![],
            next_steps: vec![],
        }
        .for_incident(
            &crate::render::IncidentKey::guard("i-0abc1234def567890"),
            crate::render::Action::Trigger,
        );
        let at = t("2026-12-07T00:00:05Z");
        let (id, entries) = alert_entries(at, &alert).unwrap();
        assert_eq!(id, "i-0abc1234def567890");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].kind, EntryKind::Findings);
        assert_eq!(
            entries[0].get(field::CODES),
            Some("NO_LAN_INTERFACE,ENA_DISABLED")
        );
        assert_eq!(entries[1].kind, EntryKind::Alert);
        assert_eq!(entries[1].get(field::ALERT_KIND), Some("guard-findings"));
        assert_eq!(entries[1].get(field::ACTION), Some("trigger"));
        assert_eq!(
            entries[1].get(field::INCIDENT_KEY),
            Some(crate::render::IncidentKey::guard("i-0abc1234def567890").as_str())
        );
        let mut operational = alert.clone();
        operational.attributes.remove("instance_id");
        assert_eq!(alert_entries(at, &operational), None);
    }

    #[test]
    fn when_seconds_are_rendered_then_hours_minutes_and_seconds_read_as_such() {
        assert_eq!(duration_text(42), "42s");
        assert_eq!(duration_text(845), "14m 05s");
        assert_eq!(duration_text(3723), "1h 02m 03s");
        assert_eq!(duration_text(-5), "0s");
    }
}
