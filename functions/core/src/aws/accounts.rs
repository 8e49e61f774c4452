//! An organization's accounts and regions: which (account, region) scopes a sweep or an audit
//! covers ([`scopes`], pure), the organization's active accounts (AWS Organizations
//! `ListAccounts`) and its management account (`DescribeOrganization`), the two calls written
//! here. The fan-out over scopes (one piece of work per scope, with its credentials) is
//! [`crate::deps::fanout`].

use serde::Serialize;

use super::AwsError;

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

    /// The organization's management account (`DescribeOrganization`: `Organization.
    /// MasterAccountId`). `ListAccounts` lists it, but a service-managed StackSet never deploys
    /// a stack instance there, so it has no member role unless the hub is that account.
    pub async fn management_account(&self) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .describe_organization()
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("organizations:DescribeOrganization", e))?;
        Ok(out
            .organization()
            .and_then(|o| o.master_account_id())
            .map(String::from))
    }
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
