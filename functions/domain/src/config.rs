//! Environment → [`Config`], in one place, validated once at cold start (or CLI start).

use std::time::Duration;

use secrecy::SecretString;

mod modes;

pub use modes::{AdoptExisting, UnverifiedOnboarding, VersionCheck, WatchdogConfig};

/// Configuration problems are reported with the variable name and what is expected, never with
/// the value of a secret.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {reason}")]
    Invalid { var: &'static str, reason: String },
}

/// The instance tag marking an instance as a managed router unless `ROUTER_TAG_KEY` says otherwise.
pub const DEFAULT_ROUTER_TAG_KEY: &str = "SSR-ROUTER";
/// The ENI tag the SSR reads to learn an interface's role (vendor guide, "Interface Tagging").
pub const ROLE_TAG_KEY: &str = "SSR-ROLE";
/// The instance tag an operator sets when onboarding was confirmed by hand.
pub const ONBOARDED_TAG_KEY: &str = "SSR-ONBOARDED";

#[derive(Clone, Debug)]
pub struct Config {
    /// `ROUTER_TAG_KEY`: instance tag key that selects a router (any value).
    pub router_tag_key: String,
    /// `ROUTER_STACKS`: comma-separated globs matched against `aws:cloudformation:stack-name`.
    pub router_stacks: Vec<glob::Pattern>,
    /// `ENA_FIX_WHEN_STOPPED`: enable ENA on stopped routers.
    pub ena_fix_when_stopped: bool,
    /// `DRY_RUN`: plan but never write to EC2.
    pub dry_run: bool,
    /// `ENABLED` (default true): false is the kill switch (the template disables every rule and
    /// the schedule; the custom resource answers SUCCESS without checking, the webhook 200
    /// without acting).
    pub enabled: bool,
    /// `ALERT_TOPIC_ARN`: SNS topic for alerts; unset means alerts are rendered but not sent.
    pub alert_topic_arn: Option<String>,
    /// `CHAT_TOPIC_ARN`: a second SNS topic, wired to AWS Chatbot (Amazon Q Developer in chat
    /// applications); every alert sent is also published there as a custom notification.
    pub chat_topic_arn: Option<String>,
    /// `ALERT_EVENT_BUS`: an EventBridge bus (name or ARN) every alert, trigger and resolve, is
    /// also put on, as part of its delivery (paging tools: PagerDuty, Opsgenie, Splunk).
    pub alert_event_bus: Option<String>,
    /// `STATE_TABLE`: DynamoDB table (pk String, TTL `expires_at`) for de-duplication and episodes.
    pub state_table: Option<String>,
    /// `ALERT_DEDUP_HOURS`: an identical finding set is not re-sent within this window.
    pub alert_dedup: chrono::Duration,
    /// `ONBOARDING_DEADLINE_MINUTES`: when an onboarding episode becomes overdue.
    pub onboarding_deadline: chrono::Duration,
    /// `MIN_ROOT_VOLUME_GB`: the guide's disk size (128 GB).
    pub min_root_volume_gb: i32,
    pub mist: MistConfig,
    /// What the watchdog does with routers it finds already running, and without Mist.
    pub watchdog: WatchdogConfig,
    /// `DESCRIBE_RETRY_ATTEMPTS` / `DESCRIBE_RETRY_BASE_MS`: retries while a new instance is not
    /// yet visible to EC2 describe calls (eventual consistency right after `pending`).
    pub describe_retry: RetryPolicy,
    /// `READBACK_BACKOFF_MS`: waits (comma-separated milliseconds) between read-backs of a fix
    /// that EC2 does not show yet (eventual consistency), before the fix is called unverified.
    pub readback_backoff: Vec<Duration>,
    /// `PUBLIC_IP_GRACE_MINUTES`: after launch, a missing WAN public IP is not reported yet.
    pub public_ip_grace: chrono::Duration,
    /// `HUB_ACCOUNT_ID`: the account the functions run in (set by the hub template). An event
    /// from another account is handled through that account's member role; unset, every event
    /// is handled with the function's own credentials (a single-account deployment).
    pub hub_account_id: Option<String>,
    /// `MEMBER_ROLE_NAME`: the role assumed in a member account (infra/member.yaml).
    pub member_role_name: String,
    /// `MEMBER_ACCOUNTS`: the member accounts the watchdog sweeps besides its own (a comma list
    /// of account ids, or `org` for every active account of the AWS Organization).
    pub member_accounts: MemberAccounts,
    /// `MEMBER_ACCOUNTS_EXCLUDE`: account ids (comma list) never swept as members, e.g. the
    /// accounts `org` lists where the member StackSet deploys nothing (Control Tower's log
    /// archive and audit accounts).
    pub member_accounts_exclude: Vec<String>,
    /// `MEMBER_REGIONS`: the regions swept in each account (comma list); empty means the
    /// function's own region only.
    pub member_regions: Vec<String>,
}

/// `MEMBER_ACCOUNTS`: which accounts an organization sweep (the watchdog) or audit covers
/// besides the hub's own.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MemberAccounts {
    /// Unset: the function's own account only.
    #[default]
    None,
    /// Listed account ids (12 digits each, de-duplicated, in the order given).
    List(Vec<String>),
    /// `org`: every active account of the organization (AWS Organizations `ListAccounts`; the
    /// hub must be the management account or a delegated administrator).
    Organization,
}

impl MemberAccounts {
    /// Parses `org` or a comma list of 12-digit account ids; `var` names the flag or variable in
    /// the error.
    pub fn parse(var: &'static str, value: Option<&str>) -> Result<Self, ConfigError> {
        let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(MemberAccounts::None);
        };
        if v.eq_ignore_ascii_case("org") {
            return Ok(MemberAccounts::Organization);
        }
        let ids = parse_account_ids(var, Some(v), "; give a comma list of ids or `org`")?;
        Ok(if ids.is_empty() {
            MemberAccounts::None
        } else {
            MemberAccounts::List(ids)
        })
    }
}

/// Parses a comma list of 12-digit account ids, de-duplicated in the order given; `var` names
/// the flag or variable in the error, `hint` ends its reason.
pub fn parse_account_ids(
    var: &'static str,
    value: Option<&str>,
    hint: &str,
) -> Result<Vec<String>, ConfigError> {
    let mut ids: Vec<String> = Vec::new();
    for a in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        if !is_account_id(a) {
            return Err(ConfigError::Invalid {
                var,
                reason: format!("`{a}` is not a 12-digit AWS account id{hint}"),
            });
        }
        if !ids.iter().any(|x| x == a) {
            ids.push(a.to_string());
        }
    }
    Ok(ids)
}

/// Parses a comma list of AWS region names (`us-east-1`, `eu-central-2`, `us-gov-west-1`…),
/// de-duplicated in the order given; `var` names the flag or variable in the error.
pub fn parse_regions(var: &'static str, value: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let mut out: Vec<String> = Vec::new();
    for r in value
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        if !is_region(r) {
            return Err(ConfigError::Invalid {
                var,
                reason: format!("`{r}` is not an AWS region name such as us-east-1"),
            });
        }
        if !out.iter().any(|x| x == r) {
            out.push(r.to_string());
        }
    }
    Ok(out)
}

/// `xx-name-N` or `xx-xxx-name-N`: lower-case letter groups joined by dashes, ending in a number.
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=4).contains(&parts.len())
        && s.len() <= 25
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The member role's name unless `MEMBER_ROLE_NAME` says otherwise.
pub const DEFAULT_MEMBER_ROLE_NAME: &str = "ssr-onboard-member";

#[derive(Clone, Debug)]
pub struct MistConfig {
    /// `MIST_API_URL`, e.g. `https://api.mist.com` (no trailing slash).
    pub api_url: String,
    /// `MIST_ORG_ID`.
    pub org_id: Option<String>,
    /// `MIST_TOKEN_SECRET_ARN`: Secrets Manager secret holding the API token.
    pub token_secret_arn: Option<String>,
    /// `MIST_API_TOKEN`: the token itself, for local use only.
    pub token: Option<SecretString>,
    /// `MIST_VERSION_CHECK`: how the SSR version Mist reports is judged.
    pub version_check: VersionCheck,
    /// `MIST_WEBHOOK_SECRET_ARN`: Secrets Manager secret holding the org webhook's secret.
    pub webhook_secret_arn: Option<String>,
    /// `MIST_WEBHOOK_SECRET`: the webhook secret itself, for local use only.
    pub webhook_secret: Option<SecretString>,
}

impl MistConfig {
    /// An organization and a token (from a secret or the environment) are set: the watchdog
    /// can read Mist (it may still fail to).
    pub fn is_configured(&self) -> bool {
        self.org_id.is_some() && (self.token_secret_arn.is_some() || self.token.is_some())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
}

impl RetryPolicy {
    /// Delay before retry number `attempt` (1-based): base, 2×base, 4×base…
    pub fn delay(&self, attempt: u32) -> Duration {
        self.base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
    }
}

impl Config {
    /// Functions that must remember what they sent (the watchdog pages once per episode) cannot
    /// run with an alert topic but no state table: every run would page again.
    pub fn require_state_table(&self, who: &str) -> Result<(), ConfigError> {
        if self.alert_topic_arn.is_some() && self.state_table.is_none() {
            return Err(ConfigError::Invalid {
                var: "STATE_TABLE",
                reason: format!(
                    "{who} needs a state table to page exactly once; set STATE_TABLE (or unset ALERT_TOPIC_ARN to only render alerts)"
                ),
            });
        }
        Ok(())
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (tests and the CLI pass their own lookups).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let router_stacks = match non_empty("ROUTER_STACKS") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|g| {
                    glob::Pattern::new(g).map_err(|e| ConfigError::Invalid {
                        var: "ROUTER_STACKS",
                        reason: format!("`{g}` is not a valid glob: {e}"),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let mist_api_url = non_empty("MIST_API_URL")
            .unwrap_or_else(|| "https://api.mist.com".to_string())
            .trim_end_matches('/')
            .to_string();
        if !(mist_api_url.starts_with("https://") || mist_api_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                var: "MIST_API_URL",
                reason: "expected an http(s) URL such as https://api.mist.com".into(),
            });
        }
        Config {
            router_tag_key: non_empty("ROUTER_TAG_KEY")
                .unwrap_or_else(|| DEFAULT_ROUTER_TAG_KEY.to_string()),
            router_stacks,
            ena_fix_when_stopped: parse_bool(
                "ENA_FIX_WHEN_STOPPED",
                non_empty("ENA_FIX_WHEN_STOPPED"),
            )?,
            dry_run: parse_bool("DRY_RUN", non_empty("DRY_RUN"))?,
            enabled: match non_empty("ENABLED") {
                None => true,
                set => parse_bool("ENABLED", set)?,
            },
            alert_topic_arn: non_empty("ALERT_TOPIC_ARN"),
            chat_topic_arn: non_empty("CHAT_TOPIC_ARN"),
            alert_event_bus: non_empty("ALERT_EVENT_BUS"),
            state_table: non_empty("STATE_TABLE"),
            alert_dedup: chrono::Duration::hours(parse_num(
                "ALERT_DEDUP_HOURS",
                non_empty("ALERT_DEDUP_HOURS"),
                24,
                1..=24 * 30,
            )?),
            onboarding_deadline: chrono::Duration::minutes(parse_num(
                "ONBOARDING_DEADLINE_MINUTES",
                non_empty("ONBOARDING_DEADLINE_MINUTES"),
                15,
                1..=24 * 60,
            )?),
            min_root_volume_gb: parse_num(
                "MIN_ROOT_VOLUME_GB",
                non_empty("MIN_ROOT_VOLUME_GB"),
                128,
                1..=16384,
            )? as i32,
            mist: MistConfig {
                api_url: mist_api_url,
                org_id: non_empty("MIST_ORG_ID"),
                token_secret_arn: non_empty("MIST_TOKEN_SECRET_ARN"),
                token: non_empty("MIST_API_TOKEN").map(SecretString::from),
                version_check: VersionCheck::parse(non_empty("MIST_VERSION_CHECK"))?,
                webhook_secret_arn: non_empty("MIST_WEBHOOK_SECRET_ARN"),
                webhook_secret: non_empty("MIST_WEBHOOK_SECRET").map(SecretString::from),
            },
            watchdog: WatchdogConfig {
                adopt_existing: AdoptExisting::parse(non_empty("ADOPT_EXISTING"))?,
                unverified_onboarding: UnverifiedOnboarding::parse(non_empty(
                    "UNVERIFIED_ONBOARDING",
                ))?,
            },
            describe_retry: RetryPolicy {
                attempts: parse_num(
                    "DESCRIBE_RETRY_ATTEMPTS",
                    non_empty("DESCRIBE_RETRY_ATTEMPTS"),
                    4,
                    1..=10,
                )? as u32,
                base_delay: Duration::from_millis(parse_num(
                    "DESCRIBE_RETRY_BASE_MS",
                    non_empty("DESCRIBE_RETRY_BASE_MS"),
                    500,
                    0..=10_000,
                )? as u64),
            },
            readback_backoff: parse_backoff(non_empty("READBACK_BACKOFF_MS"))?,
            public_ip_grace: chrono::Duration::minutes(parse_num(
                "PUBLIC_IP_GRACE_MINUTES",
                non_empty("PUBLIC_IP_GRACE_MINUTES"),
                10,
                0..=1440,
            )?),
            hub_account_id: match non_empty("HUB_ACCOUNT_ID") {
                Some(a) if is_account_id(&a) => Some(a),
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        var: "HUB_ACCOUNT_ID",
                        reason: "expected a 12-digit AWS account id".into(),
                    })
                }
                None => None,
            },
            member_role_name: match non_empty("MEMBER_ROLE_NAME") {
                Some(n) if is_role_name(&n) => n,
                Some(_) => {
                    return Err(ConfigError::Invalid {
                        var: "MEMBER_ROLE_NAME",
                        reason: "expected an IAM role name (1-64 of A-Z a-z 0-9 + = , . @ _ -)"
                            .into(),
                    })
                }
                None => DEFAULT_MEMBER_ROLE_NAME.to_string(),
            },
            member_accounts: MemberAccounts::parse(
                "MEMBER_ACCOUNTS",
                non_empty("MEMBER_ACCOUNTS").as_deref(),
            )?,
            member_accounts_exclude: parse_account_ids(
                "MEMBER_ACCOUNTS_EXCLUDE",
                non_empty("MEMBER_ACCOUNTS_EXCLUDE").as_deref(),
                "; give a comma list of ids",
            )?,
            member_regions: parse_regions(
                "MEMBER_REGIONS",
                non_empty("MEMBER_REGIONS").as_deref(),
            )?,
        }
        .checked()
    }

    /// Settings that only make sense together.
    fn checked(self) -> Result<Self, ConfigError> {
        if self.hub_account_id.is_none() {
            let var = if self.member_accounts != MemberAccounts::None {
                Some("MEMBER_ACCOUNTS")
            } else if !self.member_regions.is_empty() {
                Some("MEMBER_REGIONS")
            } else {
                None
            };
            if let Some(var) = var {
                return Err(ConfigError::Invalid {
                    var,
                    reason: "an organization sweep needs HUB_ACCOUNT_ID (this deployment's own account) to tell members from the hub".into(),
                });
            }
        }
        Ok(self)
    }

    /// Is `stack_name` one of the `ROUTER_STACKS` globs?
    pub fn stack_matches(&self, stack_name: &str) -> Option<&glob::Pattern> {
        self.router_stacks.iter().find(|p| p.matches(stack_name))
    }
}

/// Twelve digits, as AWS account ids are.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// IAM's role-name alphabet and length.
pub fn is_role_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
}

/// The read-back waits: "500,1000,2000,4000" by default; each 0..=60000 ms, at most 10.
fn parse_backoff(value: Option<String>) -> Result<Vec<Duration>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        var: "READBACK_BACKOFF_MS",
        reason,
    };
    let list = value.unwrap_or_else(|| "500,1000,2000,4000".into());
    let waits = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| match s.parse::<u64>() {
            Ok(ms) if ms <= 60_000 => Ok(Duration::from_millis(ms)),
            _ => Err(invalid(format!(
                "`{s}` is not a number of milliseconds between 0 and 60000"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if waits.len() > 10 {
        return Err(invalid("at most 10 waits".into()));
    }
    Ok(waits)
}

fn parse_bool(var: &'static str, value: Option<String>) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None => Ok(false),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::Invalid {
            var,
            reason: format!("`{other}` is not a boolean; use true or false"),
        }),
    }
}

fn parse_num(
    var: &'static str,
    value: Option<String>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    let Some(v) = value else { return Ok(default) };
    let n: i64 = v.parse().map_err(|_| ConfigError::Invalid {
        var,
        reason: format!("`{v}` is not a whole number"),
    })?;
    if range.contains(&n) {
        Ok(n)
    } else {
        Err(ConfigError::Invalid {
            var,
            reason: format!("{n} is outside {}..={}", range.start(), range.end()),
        })
    }
}

#[cfg(test)]
mod tests;
