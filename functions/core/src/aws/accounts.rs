//! An organization's accounts and regions: which (account, region) scopes a sweep or an audit
//! covers ([`scopes`], pure), the organization's active accounts (AWS Organizations
//! `ListAccounts`, the one call written here), and [`across`]: one piece of work per scope,
//! concurrently and bounded, each scope's failure kept to itself.

use std::future::Future;

use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use tracing::Instrument;

use super::AwsError;
use crate::config::MemberAccounts;
use crate::deps::Deps;

/// One account in one region.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Scope {
    /// `None` when the deployment's own account is not known (no `HUB_ACCOUNT_ID`).
    pub account: Option<String>,
    pub region: Option<String>,
}

impl Scope {
    /// `444455556666/eu-west-1` (`?` for what is not known).
    pub fn label(&self) -> String {
        format!(
            "{}/{}",
            self.account.as_deref().unwrap_or("?"),
            self.region.as_deref().unwrap_or("?")
        )
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

/// The scopes to cover: the own account in the own region first, then every account (own and
/// `members`, in order, de-duplicated) in every region of `regions` (the own region when empty).
pub fn scopes(
    own_account: Option<&str>,
    own_region: Option<&str>,
    members: &[String],
    regions: &[String],
) -> Vec<Scope> {
    let own = Scope {
        account: own_account.map(String::from),
        region: own_region.map(String::from),
    };
    let regions: Vec<Option<String>> = if regions.is_empty() {
        vec![own.region.clone()]
    } else {
        regions.iter().cloned().map(Some).collect()
    };
    let mut accounts: Vec<Option<String>> = vec![own.account.clone()];
    for m in members {
        if !accounts.iter().any(|a| a.as_deref() == Some(m.as_str())) {
            accounts.push(Some(m.clone()));
        }
    }
    let mut out = vec![own];
    for a in &accounts {
        for r in &regions {
            let s = Scope {
                account: a.clone(),
                region: r.clone(),
            };
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// AWS Organizations, read-only: the accounts an organization sweep covers.
#[derive(Clone, Debug)]
pub struct Organizations {
    client: aws_sdk_organizations::Client,
}

impl Organizations {
    pub fn new(client: aws_sdk_organizations::Client) -> Self {
        Organizations { client }
    }

    /// Every active account of the organization, sorted (`ListAccounts`, all pages). An
    /// account counts as active when its `State` is `ACTIVE`, or, where AWS still answers with
    /// the older `Status` only, when that is `ACTIVE`.
    pub async fn active_accounts(&self) -> Result<Vec<String>, AwsError> {
        let mut pages = self.client.list_accounts().into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| AwsError::from_sdk("organizations:ListAccounts", e))?;
            for a in page.accounts() {
                let active = match (a.state(), a.status()) {
                    (Some(state), _) => state.as_str() == "ACTIVE",
                    (None, Some(status)) => status.as_str() == "ACTIVE",
                    (None, None) => false,
                };
                if let Some(id) = a.id().filter(|_| active) {
                    out.push(id.to_string());
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

/// The member account ids `members` names: the listed ones, or the organization's active
/// accounts (one `ListAccounts` walk).
pub async fn member_account_ids(
    deps: &Deps,
    members: &MemberAccounts,
) -> Result<Vec<String>, AwsError> {
    match members {
        MemberAccounts::None => Ok(Vec::new()),
        MemberAccounts::List(ids) => Ok(ids.clone()),
        MemberAccounts::Organization => deps.organizations().active_accounts().await,
    }
}

/// Why one scope's work did not happen: the member role could not be used, or the work failed.
#[derive(Debug, thiserror::Error)]
pub enum ScopeFailure<E: std::error::Error> {
    #[error(transparent)]
    Scope(#[from] crate::deps::ScopeError),
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
mod tests {
    use super::*;

    fn s(a: &str, r: &str) -> Scope {
        Scope {
            account: Some(a.into()),
            region: Some(r.into()),
        }
    }

    #[test]
    fn when_no_members_and_no_regions_then_only_the_own_scope() {
        assert_eq!(
            scopes(Some("111122223333"), Some("eu-west-1"), &[], &[]),
            [s("111122223333", "eu-west-1")]
        );
        assert_eq!(
            scopes(None, Some("eu-west-1"), &[], &[]),
            [Scope {
                account: None,
                region: Some("eu-west-1".into())
            }]
        );
    }

    #[test]
    fn when_members_and_regions_are_given_then_every_account_in_every_region_own_first() {
        let members = ["444455556666".to_string(), "111122223333".to_string()];
        let regions = ["us-east-1".to_string(), "eu-west-1".to_string()];
        assert_eq!(
            scopes(Some("111122223333"), Some("eu-west-1"), &members, &regions),
            [
                s("111122223333", "eu-west-1"),
                s("111122223333", "us-east-1"),
                s("444455556666", "us-east-1"),
                s("444455556666", "eu-west-1"),
            ]
        );
    }

    #[test]
    fn when_regions_are_not_given_then_members_are_swept_in_the_own_region() {
        let members = ["444455556666".to_string()];
        assert_eq!(
            scopes(Some("111122223333"), Some("eu-west-1"), &members, &[]),
            [
                s("111122223333", "eu-west-1"),
                s("444455556666", "eu-west-1")
            ]
        );
    }
}
