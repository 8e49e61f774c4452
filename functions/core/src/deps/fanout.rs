//! Work across an organization: the member accounts a deployment covers, and one piece of work
//! per (account, region) scope with that scope's dependencies, concurrently and bounded.

use std::future::Future;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use tracing::Instrument;

use super::Deps;
use crate::aws::accounts::{scopes, Scope};
use crate::aws::AwsError;
use crate::config::MemberAccounts;

/// How long the organization's account list (`MEMBER_ACCOUNTS=org`) is reused.
const ORG_ACCOUNTS_TTL: Duration = Duration::from_secs(15 * 60);

/// The scopes a deployment covers, with the organization's account list cached per warm
/// container (the watchdog and the webhook each hold one).
#[derive(Debug, Default)]
pub struct CoveredScopes {
    /// The organization's member accounts (`MEMBER_ACCOUNTS=org`: its active accounts, less the
    /// management account and `MEMBER_ACCOUNTS_EXCLUDE`) and when they were listed.
    org_accounts: tokio::sync::Mutex<Option<(Instant, Vec<String>)>>,
}

impl CoveredScopes {
    /// This account and region, then `MEMBER_ACCOUNTS` (this account included) ×
    /// `MEMBER_REGIONS` (this region when unset). The organization's account list (and its
    /// management account) is read once per [`ORG_ACCOUNTS_TTL`].
    pub async fn scopes(&self, deps: &Deps) -> Result<Vec<Scope>, AwsError> {
        let config = &deps.config;
        let members = match &config.member_accounts {
            MemberAccounts::Organization => {
                let mut cached = self.org_accounts.lock().await;
                match cached.as_ref() {
                    Some((at, ids)) if at.elapsed() < ORG_ACCOUNTS_TTL => ids.clone(),
                    _ => {
                        let ids = member_account_ids(deps, &config.member_accounts).await?;
                        *cached = Some((Instant::now(), ids.clone()));
                        ids
                    }
                }
            }
            other => member_account_ids(deps, other).await?,
        };
        Ok(scopes(
            deps.account.as_deref(),
            deps.region.as_deref(),
            &members,
            &config.member_regions,
        ))
    }
}

/// The member account ids `members` names: the listed ones, or the organization's active
/// accounts ([`organization_members`]); never one of `MEMBER_ACCOUNTS_EXCLUDE`.
pub async fn member_account_ids(
    deps: &Deps,
    members: &MemberAccounts,
) -> Result<Vec<String>, AwsError> {
    let ids = match members {
        MemberAccounts::None => return Ok(Vec::new()),
        MemberAccounts::List(ids) => ids.clone(),
        MemberAccounts::Organization => organization_members(deps).await?,
    };
    let exclude = &deps.config.member_accounts_exclude;
    Ok(ids.into_iter().filter(|a| !exclude.contains(a)).collect())
}

/// The organization's active accounts (one `ListAccounts` walk) less its management account
/// (`DescribeOrganization`, asked at the same time) unless this deployment runs there: a
/// service-managed StackSet never deploys the member role to the management account. When the
/// management account cannot be learnt, it is swept like any account (and, never enrolled, is
/// reported `not-enrolled`, not paged).
async fn organization_members(deps: &Deps) -> Result<Vec<String>, AwsError> {
    let org = deps.organizations();
    let (accounts, management) = tokio::join!(org.active_accounts(), org.management_account());
    let mut accounts = accounts?;
    match management {
        Ok(Some(m)) if deps.account.as_deref() != Some(m.as_str()) => {
            tracing::debug!(account = %m, "the organization's management account is not swept as a member");
            accounts.retain(|a| *a != m);
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(
            error = %e,
            "the organization's management account is not known; it is swept like the others"
        ),
    }
    Ok(accounts)
}

/// Why one scope's work did not happen: the member role could not be used, or the work failed.
#[derive(Debug, thiserror::Error)]
pub enum ScopeFailure<E: std::error::Error> {
    #[error(transparent)]
    Scope(#[from] super::ScopeError),
    #[error(transparent)]
    Work(E),
}

/// Runs `work` once per scope with that scope's dependencies ([`Deps::scoped`]: the member
/// role's credentials in another account, the function's own here), at most `concurrency` at
/// a time, each inside a span naming the account and region. Results come back in the order of
/// `scopes`; one scope's failure does not stop the others.
pub async fn across<T, E, F, Fut>(
    deps: &Deps,
    scopes: &[Scope],
    concurrency: usize,
    work: F,
) -> Vec<(Scope, Result<T, ScopeFailure<E>>)>
where
    E: std::error::Error,
    F: Fn(Deps, Scope) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let work = &work;
    let mut results: Vec<(usize, Scope, Result<T, ScopeFailure<E>>)> =
        stream::iter(scopes.iter().cloned().enumerate())
            .map(|(i, scope)| {
                let span = tracing::info_span!(
                    "scope",
                    account = scope.account.as_deref().unwrap_or("?"),
                    region = scope.region.as_deref().unwrap_or("?")
                );
                async move {
                    let res = match deps
                        .scoped(scope.account.as_deref(), scope.region.as_deref())
                        .await
                    {
                        Err(e) => Err(ScopeFailure::Scope(e)),
                        Ok(d) => work(d, scope.clone()).await.map_err(ScopeFailure::Work),
                    };
                    (i, scope, res)
                }
                .instrument(span)
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
    results.sort_by_key(|(i, _, _)| *i);
    results.into_iter().map(|(_, s, r)| (s, r)).collect()
}

#[cfg(test)]
mod tests;
