//! An organization's accounts and regions: which (account, region) scopes a sweep or an audit
//! covers ([`scopes`], pure), the organization's active accounts (AWS Organizations
//! `ListAccounts`), its management account (`DescribeOrganization`) and a member account's name
//! (`DescribeAccount`, for alert subjects, cached per warm container in [`AccountNames`]), the
//! three calls written here. The fan-out over scopes (one piece of work per scope, with its
//! credentials) is [`crate::deps::fanout`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

    /// The account's name (`DescribeAccount`: `Account.Name`). AWS answers it only to the
    /// management account or a delegated administrator; elsewhere it is an error.
    pub async fn account_name(&self, account: &str) -> Result<Option<String>, AwsError> {
        let out = self
            .client
            .describe_account()
            .account_id(account)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("organizations:DescribeAccount", e))?;
        Ok(out
            .account()
            .and_then(|a| a.name())
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(String::from))
    }
}

/// After a failed `DescribeAccount`, the account's alerts name its digits for this long before
/// the name is asked for again (a hub that is no delegated administrator is refused every time).
pub const NAME_RETRY_AFTER: Duration = Duration::from_secs(15 * 60);

/// Member accounts' names, looked up only when an alert about the account is about to be sent
/// (no call on the path where nothing alerts), once per account for the life of the warm
/// container; a failure is remembered for [`NAME_RETRY_AFTER`] and the alert falls back to the
/// 12 digits. Clones share the cache.
#[derive(Clone, Debug, Default)]
pub struct AccountNames {
    known: Arc<Mutex<HashMap<String, Known>>>,
}

#[derive(Clone, Debug)]
enum Known {
    /// What `DescribeAccount` answered (`None`: no name).
    Name(Option<String>),
    /// It failed at this time.
    Failed(Instant),
}

impl AccountNames {
    /// `account`'s name, from the cache or `org`; `None` when it has none or cannot be read.
    pub async fn name(&self, org: &Organizations, account: &str) -> Option<String> {
        match self.lock().get(account) {
            Some(Known::Name(n)) => return n.clone(),
            Some(Known::Failed(at)) if at.elapsed() < NAME_RETRY_AFTER => return None,
            _ => {}
        }
        let (known, name) = match org.account_name(account).await {
            Ok(n) => (Known::Name(n.clone()), n),
            Err(err) => {
                tracing::warn!(account, error = %err, "member account name not readable; the alert names its id");
                (Known::Failed(Instant::now()), None)
            }
        };
        self.lock().insert(account.to_string(), known);
        name
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Known>> {
        // A panic while holding the lock leaves a map that is still consistent.
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_organizations::operation::describe_account::DescribeAccountError;
    use aws_sdk_organizations::types::error::AccessDeniedException;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    use super::*;

    /// `DescribeAccount` as AWS answers it (awsJson 1.1; API Reference, "DescribeAccount").
    fn described(id: &'static str, name: &'static str) -> aws_smithy_mocks::Rule {
        mock!(aws_sdk_organizations::Client::describe_account)
            .match_requests(move |r| r.account_id() == Some(id))
            .then_http_response(move || {
                let body = serde_json::json!({
                    "Account": {
                        "Id": id,
                        "Arn": format!("arn:aws:organizations::111122223333:account/o-exampleorgid/{id}"),
                        "Email": "ops@example.com",
                        "Name": name,
                        "State": "ACTIVE",
                        "Status": "ACTIVE",
                        "JoinedMethod": "CREATED",
                        "JoinedTimestamp": 1_700_000_000
                    }
                });
                aws_smithy_runtime_api::http::Response::new(
                    aws_smithy_runtime_api::http::StatusCode::try_from(200).unwrap(),
                    aws_smithy_types::body::SdkBody::from(body.to_string()),
                )
            })
    }

    #[tokio::test]
    async fn when_a_member_account_is_named_twice_then_describe_account_is_called_once() {
        let rule = described("444455556666", "Branch Prod");
        let client = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&rule]);
        let org = Organizations::new(client);
        let names = AccountNames::default();
        let shared = names.clone();
        assert_eq!(
            names.name(&org, "444455556666").await.as_deref(),
            Some("Branch Prod")
        );
        assert_eq!(
            shared.name(&org, "444455556666").await.as_deref(),
            Some("Branch Prod")
        );
        assert_eq!(rule.num_calls(), 1);
    }

    #[tokio::test]
    async fn when_describe_account_is_refused_then_no_name_and_it_is_not_asked_again_at_once() {
        let refused = mock!(aws_sdk_organizations::Client::describe_account).then_error(|| {
            DescribeAccountError::AccessDeniedException(
                AccessDeniedException::builder()
                    .message("You don't have permissions to access this resource.")
                    .build(),
            )
        });
        let client = mock_client!(aws_sdk_organizations, RuleMode::MatchAny, [&refused]);
        let org = Organizations::new(client);
        let names = AccountNames::default();
        assert_eq!(names.name(&org, "444455556666").await, None);
        assert_eq!(names.name(&org, "444455556666").await, None);
        assert_eq!(refused.num_calls(), 1);
    }

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
