//! Mist as the sweep and the webhook read it: one client and one cached token per cold start,
//! the version check, and a time budget. The sweep reads both lists at once ([`MistReader::read_all`]);
//! the webhook reads one gateway's stats ([`MistReader::stats_of`]).

use std::time::{Duration, Instant};

use super::client::{GatewayStats, InventoryDevice, Listed, MistClient, MistError};
use crate::aws::secrets::{CachedSecret, Secrets, MIST_TOKEN};
use crate::config::{Config, VersionCheck};
use crate::deadline::Deadline;

/// The whole Mist read of a sweep (both lists, every page) ends within this.
pub const MIST_BUDGET: Duration = Duration::from_secs(20);
/// Left for the rest of an invocation (alerts, records) after its Mist reads.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(15);

enum MistSetup {
    NotConfigured(String),
    Broken(String),
    Ready {
        client: MistClient,
        token: CachedSecret,
    },
}

/// What one read of both lists gave.
pub enum MistRead {
    NotConfigured(String),
    Failed {
        reason: String,
        requests: usize,
        /// Mist refused the token (401/403): where it came from (secret ARN or MIST_API_TOKEN).
        token_rejected: Option<String>,
    },
    Ok {
        inventory: Listed<InventoryDevice>,
        /// `None` with `MIST_VERSION_CHECK=off`.
        stats: Option<Listed<GatewayStats>>,
    },
}

/// Mist access built from the Mist settings, once per cold start (or CLI run).
pub struct MistReader {
    setup: MistSetup,
    version_check: VersionCheck,
    budget: Duration,
}

impl std::fmt::Debug for MistReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let setup = match &self.setup {
            MistSetup::NotConfigured(why) => format!("not configured ({why})"),
            MistSetup::Broken(why) => format!("broken ({why})"),
            MistSetup::Ready { client, .. } => format!("org {}", client.org_id()),
        };
        f.debug_struct("MistReader").field("mist", &setup).finish()
    }
}

impl MistReader {
    /// `secrets` is only used when the token comes from Secrets Manager.
    pub fn new(config: &Config, secrets: aws_sdk_secretsmanager::Client) -> Self {
        let token = match (&config.mist.token_secret_arn, &config.mist.token) {
            (Some(arn), _) => Some(CachedSecret::stored(
                MIST_TOKEN,
                arn.clone(),
                Secrets::new(secrets),
            )),
            (None, Some(t)) => Some(CachedSecret::given(MIST_TOKEN, t.clone())),
            (None, None) => None,
        };
        let setup = match (&config.mist.org_id, token) {
            (None, _) => MistSetup::NotConfigured("MIST_ORG_ID is not set".into()),
            (Some(_), None) => MistSetup::NotConfigured(
                "neither MIST_TOKEN_SECRET_ARN nor MIST_API_TOKEN is set".into(),
            ),
            (Some(org), Some(token)) => match MistClient::new(&config.mist.api_url, org) {
                Err(e) => MistSetup::Broken(e.to_string()),
                Ok(client) => MistSetup::Ready { client, token },
            },
        };
        MistReader {
            setup,
            version_check: config.mist.version_check,
            budget: MIST_BUDGET,
        }
    }

    /// A shorter (or longer) time budget than [`MIST_BUDGET`] (tests).
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    pub fn version_check(&self) -> VersionCheck {
        self.version_check
    }

    /// The time a read may take: the budget, never past `deadline` minus [`DEADLINE_MARGIN`].
    pub fn budget_before(&self, deadline: Deadline) -> Duration {
        self.budget
            .min(deadline.less(DEADLINE_MARGIN).remaining_or(self.budget))
    }

    /// Both Mist lists (concurrently), all within `budget`.
    pub async fn read_all(&self, budget: Duration) -> MistRead {
        let (client, source) = match &self.setup {
            MistSetup::NotConfigured(why) => return MistRead::NotConfigured(why.clone()),
            MistSetup::Broken(why) => {
                return MistRead::Failed {
                    reason: why.clone(),
                    requests: 0,
                    token_rejected: None,
                }
            }
            MistSetup::Ready { client, token } => (client, token),
        };
        let budget_text = format!("{:.1} s", budget.as_secs_f64());
        let timed_out = || MistRead::Failed {
            reason: format!("the Mist read did not finish within its time budget ({budget_text})"),
            requests: 0,
            token_rejected: None,
        };
        let started = Instant::now();
        let token = match tokio::time::timeout(budget, source.get()).await {
            Err(_) => return timed_out(),
            Ok(Ok(t)) => t,
            Ok(Err(reason)) => {
                return MistRead::Failed {
                    reason,
                    requests: 0,
                    token_rejected: None,
                }
            }
        };
        let check = self.version_check;
        let reads = async {
            let inventory = client.gateway_inventory(&token);
            if check == VersionCheck::Off {
                (inventory.await, None)
            } else {
                let (i, s) = tokio::join!(inventory, client.gateway_stats(&token));
                (i, Some(s))
            }
        };
        let left = budget.saturating_sub(started.elapsed());
        let (inventory, stats) = match tokio::time::timeout(left, reads).await {
            Err(_) => return timed_out(),
            Ok(r) => r,
        };
        let requests = 1 + usize::from(stats.is_some());
        let stats = match stats.transpose() {
            Ok(s) => s,
            Err(e) => return refused_or_failed(e, requests, source).await,
        };
        match inventory {
            Ok(inventory) => MistRead::Ok { inventory, stats },
            Err(e) => refused_or_failed(e, requests, source).await,
        }
    }

    /// One gateway's stats (one request, done by `deadline`), for the webhook's version check.
    pub async fn stats_of(
        &self,
        mac: &str,
        deadline: Deadline,
    ) -> Result<Option<GatewayStats>, String> {
        let MistSetup::Ready { client, token } = &self.setup else {
            return Err(match &self.setup {
                MistSetup::NotConfigured(why) | MistSetup::Broken(why) => why.clone(),
                MistSetup::Ready { .. } => String::new(),
            });
        };
        let read = async {
            let t = token.get().await?;
            match client.gateway_stats_of(&t, mac).await {
                Ok(s) => Ok(s),
                Err(e) => {
                    let hint = match e {
                        MistError::Unauthorized | MistError::Forbidden { .. } => {
                            token.refused().await
                        }
                        _ => String::new(),
                    };
                    Err(format!("{e}{hint}"))
                }
            }
        };
        let left = deadline.remaining_or(self.budget);
        tokio::time::timeout(left, read).await.unwrap_or_else(|_| {
            Err("the Mist stats read did not finish within its time budget".into())
        })
    }
}

/// A failed read: Mist refused the token (401/403: forget it, say where it came from), or
/// another failure.
async fn refused_or_failed(e: MistError, requests: usize, source: &CachedSecret) -> MistRead {
    let rejected = matches!(e, MistError::Unauthorized | MistError::Forbidden { .. });
    let hint = if rejected {
        source.refused().await
    } else {
        String::new()
    };
    MistRead::Failed {
        reason: format!("{e}{hint}"),
        requests,
        token_rejected: rejected.then(|| source.origin()),
    }
}
