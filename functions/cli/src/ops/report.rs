//! The report engine: how long routers take to onboard, from the watchdog's episode records in
//! the state table, and which routers are overdue now. [`run`] reads the table, [`build`] makes
//! the [`Report`] (pure), [`render_text`] shows it to a person.

use aws_config::SdkConfig;
use serde::Serialize;
use ssr_core::aws::state::items::{Acknowledgement, ClosedEpisode, EpisodeRecord, OverdueNow};
use ssr_core::aws::state::StateStore;
use ssr_core::aws::AwsError;

use crate::output::{Cell, Color, Style, Table};

pub const SCHEMA: &str = "ssr-onboard/report/v1";

/// Which state table to report on.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// The state table's name (the stack's `StateTableName` output).
    pub table: String,
}

/// Reads every finished episode and the latest overdue list from the state table, and
/// [`build`]s the report.
pub async fn run(sdk: &SdkConfig, options: &ReportOptions) -> Result<Report, AwsError> {
    let state = StateStore::from_sdk_config(sdk, Some(options.table.clone()));
    let episodes = state.list_episodes().await?;
    let overdue = state.overdue_now().await?;
    let adopted = state.list_adopted_closed().await?;
    let acknowledged = state.list_acknowledgements().await?;
    Ok(build(&options.table, episodes, overdue).with_closed(adopted, acknowledged))
}

/// Duration statistics in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Durations {
    pub p50: i64,
    pub p95: i64,
    pub max: i64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub table: String,
    /// Finished, measured onboarding episodes.
    pub count: usize,
    /// Of those, how many went overdue and paged on-call first.
    pub alerted: usize,
    /// `null` when there is no finished episode.
    pub durations_seconds: Option<Durations>,
    /// Routers overdue as of the latest watchdog sweep (`null`: no sweep has run yet).
    pub overdue: Option<OverdueNow>,
    /// The five slowest episodes, slowest first.
    pub slowest: Vec<EpisodeRecord>,
    /// Per account and region (an organization deployment's hub table holds every member's
    /// episodes; a single-account table has one row, or none when the account is not recorded).
    pub by_account: Vec<ScopeReport>,
    /// Adopted episodes that closed (first seen past their deadline, so their duration is not
    /// known; closed when Mist showed them onboarded), newest first. Not in `count`.
    pub adopted: Vec<ClosedEpisode>,
    /// Episodes closed by `ssr-onboard ack` (not onboardings), newest first. Not in `count`.
    pub acknowledged: Vec<Acknowledgement>,
}

impl Report {
    /// The report with the adopted and acknowledged episodes, listed apart from the measured
    /// onboardings.
    pub fn with_closed(
        mut self,
        mut adopted: Vec<ClosedEpisode>,
        mut acknowledged: Vec<Acknowledgement>,
    ) -> Report {
        adopted.sort_by_key(|e| std::cmp::Reverse((e.closed_at, e.instance_id.clone())));
        acknowledged.sort_by_key(|a| std::cmp::Reverse((a.acknowledged_at, a.instance_id.clone())));
        self.adopted = adopted;
        self.acknowledged = acknowledged;
        self
    }
}

/// One account and region of the report.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct ScopeReport {
    pub account: Option<String>,
    pub region: Option<String>,
    pub count: usize,
    pub alerted: usize,
    pub durations_seconds: Option<Durations>,
    /// Routers overdue there as of the latest sweep.
    pub overdue: usize,
}

type ScopeKey = (Option<String>, Option<String>);

/// Episodes and overdue routers grouped by account and region (sorted; scopes without a
/// recorded account or region sort first).
pub fn by_account(episodes: &[EpisodeRecord], overdue: Option<&OverdueNow>) -> Vec<ScopeReport> {
    let mut groups: std::collections::BTreeMap<ScopeKey, (Vec<EpisodeRecord>, usize)> =
        Default::default();
    for e in episodes {
        groups
            .entry((e.account.clone(), e.region.clone()))
            .or_default()
            .0
            .push(e.clone());
    }
    for r in overdue.map(|o| o.routers.as_slice()).unwrap_or_default() {
        groups
            .entry((r.account.clone(), r.region.clone()))
            .or_default()
            .1 += 1;
    }
    groups
        .into_iter()
        .map(|((account, region), (eps, overdue))| ScopeReport {
            account,
            region,
            count: eps.len(),
            alerted: eps.iter().filter(|e| e.alerted).count(),
            durations_seconds: durations(&eps),
            overdue,
        })
        .collect()
}

fn scope_cell(account: Option<&str>, region: Option<&str>) -> String {
    match (account, region) {
        (None, None) => "-".into(),
        (a, r) => format!("{}/{}", a.unwrap_or("?"), r.unwrap_or("?")),
    }
}

/// Nearest-rank percentile of sorted values (`p` in 1..=100): the smallest value with at least
/// p% of the values at or below it.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (u64::from(p.clamp(1, 100)) * n as u64).div_ceil(100) as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

pub fn durations(episodes: &[EpisodeRecord]) -> Option<Durations> {
    let mut d: Vec<i64> = episodes.iter().map(|e| e.duration_seconds).collect();
    d.sort_unstable();
    Some(Durations {
        p50: percentile(&d, 50)?,
        p95: percentile(&d, 95)?,
        max: *d.last()?,
    })
}

pub fn build(table: &str, mut episodes: Vec<EpisodeRecord>, overdue: Option<OverdueNow>) -> Report {
    let durations_seconds = durations(&episodes);
    let by_account = by_account(&episodes, overdue.as_ref());
    let alerted = episodes.iter().filter(|e| e.alerted).count();
    let count = episodes.len();
    episodes.sort_by_key(|e| std::cmp::Reverse(e.duration_seconds));
    episodes.truncate(5);
    Report {
        schema: SCHEMA,
        table: table.to_string(),
        count,
        alerted,
        durations_seconds,
        overdue,
        slowest: episodes,
        by_account,
        adopted: Vec::new(),
        acknowledged: Vec::new(),
    }
}

/// Routers listed in the adopted and acknowledged sections of the text (the JSON has all).
const CLOSED_LISTED: usize = 10;

/// The adopted and acknowledged episodes, each counted and the latest listed.
fn render_closed(r: &Report, style: &Style) -> String {
    let mut out = String::new();
    if !r.adopted.is_empty() {
        out.push_str(&format!(
            "\nAdopted and since onboarded: {} (first seen past their deadline, never paged; duration not known, not in the counts above)\n",
            r.adopted.len()
        ));
        let mut t = Table::new(&["ROUTER", "INSTANCE", "ACCOUNT/REGION", "STARTED", "CLOSED"]);
        for e in r.adopted.iter().take(CLOSED_LISTED) {
            t.row(vec![
                e.router_name.as_deref().unwrap_or("-").into(),
                e.instance_id.as_str().into(),
                scope_cell(e.account.as_deref(), e.region.as_deref()).into(),
                e.started_at.format("%Y-%m-%d %H:%M").to_string().into(),
                e.closed_at.format("%Y-%m-%d %H:%M").to_string().into(),
            ]);
        }
        out.push_str(&t.render(style));
    }
    if !r.acknowledged.is_empty() {
        out.push_str(&format!(
            "\nAcknowledged: {} (closed by ssr-onboard ack, not onboarded; not in the counts above)\n",
            r.acknowledged.len()
        ));
        let mut t = Table::new(&[
            "ROUTER",
            "INSTANCE",
            "ACCOUNT/REGION",
            "STARTED",
            "ACKNOWLEDGED",
            "PAGED",
            "BY",
            "REASON",
        ]);
        for a in r.acknowledged.iter().take(CLOSED_LISTED) {
            t.row(vec![
                a.router_name.as_deref().unwrap_or("-").into(),
                a.instance_id.as_str().into(),
                scope_cell(a.account.as_deref(), a.region.as_deref()).into(),
                a.started_at.format("%Y-%m-%d %H:%M").to_string().into(),
                a.acknowledged_at
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
                    .into(),
                if a.alerted { "yes" } else { "no" }.into(),
                a.acknowledged_by.as_str().into(),
                a.reason.as_deref().unwrap_or("-").into(),
            ]);
        }
        out.push_str(&t.render(style));
    }
    out
}

/// `1h 02m`, `14m 05s`, `42s`.
pub fn human(seconds: i64) -> String {
    let s = seconds.max(0);
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m {sec:02}s"),
        (h, m, _) => format!("{h}h {m:02}m"),
    }
}

pub fn render_text(r: &Report, style: &Style) -> String {
    let mut out = String::new();
    out.push_str(&style.paint(
        Color::Bold,
        &format!("Onboarding durations (state table {})", r.table),
    ));
    out.push('\n');
    match r.durations_seconds {
        None => out.push_str(
            "No finished onboarding episode recorded yet (the onboarding-watchdog writes one when a router it watched onboards).\n",
        ),
        Some(d) => {
            let mut t = Table::new(&["COUNT", "P50", "P95", "MAX", "PAGED FIRST"]);
            t.row(vec![
                r.count.to_string().into(),
                human(d.p50).into(),
                human(d.p95).into(),
                human(d.max).into(),
                r.alerted.to_string().into(),
            ]);
            out.push_str(&t.render(style));
            if r.by_account.len() > 1 {
                let mut t = Table::new(&[
                    "ACCOUNT/REGION",
                    "COUNT",
                    "P50",
                    "P95",
                    "MAX",
                    "PAGED FIRST",
                    "OVERDUE NOW",
                ]);
                for s in &r.by_account {
                    let d = s.durations_seconds;
                    let h = |f: fn(&Durations) -> i64| d.as_ref().map_or("-".into(), |d| human(f(d)));
                    t.row(vec![
                        scope_cell(s.account.as_deref(), s.region.as_deref()).into(),
                        s.count.to_string().into(),
                        h(|d| d.p50).into(),
                        h(|d| d.p95).into(),
                        h(|d| d.max).into(),
                        s.alerted.to_string().into(),
                        s.overdue.to_string().into(),
                    ]);
                }
                out.push('\n');
                out.push_str(&t.render(style));
            }
            let mut slow = Table::new(&[
                "SLOWEST", "INSTANCE", "ACCOUNT/REGION", "STARTED", "TOOK", "PAGED",
            ]);
            for e in &r.slowest {
                slow.row(vec![
                    e.router_name.as_deref().unwrap_or("-").into(),
                    e.instance_id.as_str().into(),
                    scope_cell(e.account.as_deref(), e.region.as_deref()).into(),
                    e.started_at.format("%Y-%m-%d %H:%M").to_string().into(),
                    human(e.duration_seconds).into(),
                    if e.alerted { "yes" } else { "no" }.into(),
                ]);
            }
            out.push('\n');
            out.push_str(&slow.render(style));
        }
    }
    out.push('\n');
    match &r.overdue {
        None => {
            out.push_str("Currently overdue: unknown (no watchdog sweep has recorded it yet).\n")
        }
        Some(o) if o.routers.is_empty() => out.push_str(&format!(
            "{} (as of the sweep at {}).\n",
            style.paint(Color::Green, "Currently overdue: none"),
            o.as_of.format("%Y-%m-%d %H:%M:%SZ")
        )),
        Some(o) => {
            out.push_str(&format!(
                "{} (as of the sweep at {}):\n",
                style.paint(
                    Color::Red,
                    &format!("Currently overdue: {}", o.routers.len())
                ),
                o.as_of.format("%Y-%m-%d %H:%M:%SZ")
            ));
            let mut t = Table::new(&[
                "ROUTER",
                "INSTANCE",
                "ACCOUNT/REGION",
                "STARTED",
                "WAITING",
                "PHASE",
                "PAGED",
            ]);
            for w in &o.routers {
                t.row(vec![
                    w.router_name.as_str().into(),
                    w.instance_id.as_str().into(),
                    scope_cell(w.account.as_deref(), w.region.as_deref()).into(),
                    w.started_at.format("%Y-%m-%d %H:%M").to_string().into(),
                    human((o.as_of - w.started_at).num_seconds()).into(),
                    w.phase.as_str().into(),
                    if w.alerted {
                        Cell::new("yes")
                    } else {
                        Cell::colored("no", Color::Yellow)
                    },
                ]);
            }
            out.push_str(&t.render(style));
        }
    }
    out.push_str(&render_closed(r, style));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_percentiles_taken_then_nearest_rank() {
        let v: Vec<i64> = (1..=20).collect();
        assert_eq!(percentile(&v, 50), Some(10));
        assert_eq!(percentile(&v, 95), Some(19));
        assert_eq!(percentile(&v, 100), Some(20));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 50), Some(2));
    }

    fn record(id: &str, account: &str, seconds: i64, alerted: bool) -> EpisodeRecord {
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        EpisodeRecord {
            instance_id: id.into(),
            router_name: Some(format!("r-{id}")),
            started_at: t0,
            onboarded_at: t0 + chrono::Duration::seconds(seconds),
            duration_seconds: seconds,
            alerted,
            onboarded_by: Some("mist".into()),
            account: Some(account.into()),
            region: Some("eu-west-1".into()),
        }
    }

    #[test]
    fn when_episodes_come_from_two_accounts_then_the_report_groups_them_with_their_overdue() {
        use ssr_core::aws::state::items::OverdueRouter;
        let episodes = vec![
            record("i-1", "444455556666", 600, false),
            record("i-2", "444455556666", 1200, true),
            record("i-3", "111122223333", 300, false),
        ];
        let t0 = episodes[0].started_at;
        let overdue = OverdueNow {
            as_of: t0,
            routers: vec![OverdueRouter {
                instance_id: "i-9".into(),
                router_name: "late".into(),
                started_at: t0,
                phase: "not-in-inventory".into(),
                alerted: true,
                account: Some("777788889999".into()),
                region: Some("us-east-1".into()),
            }],
        };
        let r = build("t", episodes, Some(overdue));
        let rows: Vec<(Option<&str>, usize, usize, usize)> = r
            .by_account
            .iter()
            .map(|s| (s.account.as_deref(), s.count, s.alerted, s.overdue))
            .collect();
        assert_eq!(
            rows,
            [
                (Some("111122223333"), 1, 0, 0),
                (Some("444455556666"), 2, 1, 0),
                (Some("777788889999"), 0, 0, 1),
            ]
        );
        assert_eq!(
            r.by_account[1].durations_seconds,
            Some(Durations {
                p50: 600,
                p95: 1200,
                max: 1200
            })
        );
        let text = render_text(&r, &Style::plain());
        assert!(text.contains("ACCOUNT/REGION"), "{text}");
        assert!(text.contains("444455556666/eu-west-1"), "{text}");
        assert!(text.contains("777788889999/us-east-1"), "{text}");
    }

    #[test]
    fn when_episodes_were_adopted_or_acknowledged_then_the_report_counts_and_lists_them_apart() {
        let measured = vec![record("i-1", "444455556666", 600, false)];
        let t0 = measured[0].started_at;
        let adopted = vec![ClosedEpisode {
            instance_id: "i-old".into(),
            router_name: Some("old-branch".into()),
            started_at: t0,
            closed_at: t0 + chrono::Duration::hours(5),
            closed_by: Some("mist".into()),
            alerted: false,
            reason: None,
            acknowledged_by: None,
            account: None,
            region: None,
        }];
        let acknowledged = vec![Acknowledgement {
            instance_id: "i-lab".into(),
            router_name: Some("lab".into()),
            started_at: t0,
            acknowledged_at: t0 + chrono::Duration::minutes(40),
            reason: Some("onboarded by hand".into()),
            acknowledged_by: "arn:aws:iam::111122223333:user/jane".into(),
            alerted: true,
            account: None,
            region: None,
        }];
        let r = build("t", measured, None).with_closed(adopted, acknowledged);
        assert_eq!(r.count, 1, "only the measured onboarding is counted");
        let text = render_text(&r, &Style::plain());
        assert!(text.contains("Adopted and since onboarded: 1"), "{text}");
        assert!(text.contains("old-branch"), "{text}");
        assert!(text.contains("Acknowledged: 1"), "{text}");
        assert!(
            text.contains("arn:aws:iam::111122223333:user/jane"),
            "{text}"
        );
        assert!(text.contains("onboarded by hand"), "{text}");
        let json = serde_json::to_value(&r).unwrap_or_default();
        assert_eq!(json["acknowledged"][0]["reason"], "onboarded by hand");
        assert_eq!(json["adopted"][0]["instance_id"], "i-old");
    }

    #[test]
    fn when_seconds_humanised_then_largest_units_first() {
        assert_eq!(human(42), "42s");
        assert_eq!(human(845), "14m 05s");
        assert_eq!(human(3720), "1h 02m");
    }
}
