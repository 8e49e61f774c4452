//! `ssr-onboard report`: how long routers take to onboard, from the watchdog's episode records in
//! the state table, and which routers are overdue now.

use clap::Args;
use serde::Serialize;
use ssr_core::aws::state::items::{EpisodeRecord, OverdueNow};
use ssr_core::aws::state::StateStore;

use crate::aws_args::{self, AwsArgs};
use crate::output::{exit, print_json, Cell, Color, OutputFormat, Style, Table};

pub const SCHEMA: &str = "ssr-onboard/report/v1";

#[derive(Args, Debug)]
#[command(after_help = "\
Examples:
  ssr-onboard report --table ssr-onboard-state --region us-east-1
  STATE_TABLE=ssr-onboard-state ssr-onboard report --output json | jq '.durations'

Reads the onboarding-watchdog's records: one item per finished onboarding episode
(`episode#<instance-id>#<start>`, kind=episode) and the list of routers overdue as of the
latest sweep. Percentiles use the nearest-rank method over finished, measured episodes.
Needs dynamodb:Scan and dynamodb:BatchGetItem on the table.

Exit codes: 0 report printed, 1 AWS error, 2 no table given (--table or STATE_TABLE).")]
pub struct ReportArgs {
    #[command(flatten)]
    pub aws: AwsArgs,
    /// The state table (the SAM stack's StateTable output).
    #[arg(long, env = "STATE_TABLE", value_name = "NAME")]
    pub table: Option<String>,
    /// Output format.
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
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
    }
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
            let mut slow = Table::new(&["SLOWEST", "INSTANCE", "STARTED", "TOOK", "PAGED"]);
            for e in &r.slowest {
                slow.row(vec![
                    e.router_name.as_deref().unwrap_or("-").into(),
                    e.instance_id.as_str().into(),
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
            let mut t = Table::new(&["ROUTER", "INSTANCE", "STARTED", "WAITING", "PHASE", "PAGED"]);
            for w in &o.routers {
                t.row(vec![
                    w.router_name.as_str().into(),
                    w.instance_id.as_str().into(),
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
    out
}

pub async fn run(args: ReportArgs) -> u8 {
    let Some(table) = args.table.clone().filter(|t| !t.trim().is_empty()) else {
        eprintln!("error: no state table: pass --table NAME or set STATE_TABLE (the SAM stack's StateTable output)");
        return exit::USAGE;
    };
    let Some(sdk) = args.aws.load_with_region().await else {
        return exit::USAGE;
    };
    let state = StateStore::from_sdk_config(&sdk, Some(table.clone()));
    let episodes = match state.list_episodes().await {
        Ok(e) => e,
        Err(e) => {
            aws_args::report(&e);
            return exit::AWS;
        }
    };
    let overdue = match state.overdue_now().await {
        Ok(o) => o,
        Err(e) => {
            aws_args::report(&e);
            return exit::AWS;
        }
    };
    let report = build(&table, episodes, overdue);
    match args.output {
        OutputFormat::Json => print_json(&report),
        OutputFormat::Text => {
            print!("{}", render_text(&report, &Style::for_stdout()));
            exit::OK
        }
    }
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

    #[test]
    fn when_seconds_humanised_then_largest_units_first() {
        assert_eq!(human(42), "42s");
        assert_eq!(human(845), "14m 05s");
        assert_eq!(human(3720), "1h 02m");
    }
}
