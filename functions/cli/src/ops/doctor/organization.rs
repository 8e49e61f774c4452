//! An organization hub: which member accounts it covers (the scopes the watchdog sweeps) and,
//! from the state table's history (`member-enrolled#<account>`), which of them no sweep has
//! ever read: never enrolled (no member stack there yet) is reported as such, not as broken.
//! Whether the member role can be assumed per account × region is proven under the hub
//! function's own role, by its preflight (`preflight.onboarding-watchdog.*`): doctor's own
//! credentials are not the ones the member role trusts.

use std::collections::BTreeSet;

use aws_config::SdkConfig;
use ssr_core::aws::state::StateStore;
use ssr_core::check::Check;
use ssr_core::config::MemberAccounts;
use ssr_core::deps::{CoveredScopes, Deps};
use ssr_core::Config;

use super::Checks;

pub(super) async fn organization_checks(
    sdk: &SdkConfig,
    dynamodb: &aws_sdk_dynamodb::Client,
    config: &Config,
    checks: &mut Checks,
) {
    let name = "organization.scopes";
    let Some(hub) = config.hub_account_id.clone() else {
        return;
    };
    if config.member_accounts == MemberAccounts::None && config.member_regions.is_empty() {
        return;
    }
    let deps = Deps::from_sdk_config(config.clone(), sdk);
    let scopes = match CoveredScopes::default().scopes(&deps).await {
        Ok(s) => s,
        Err(e) => {
            checks.not_checked(name, &e);
            return;
        }
    };
    let members: BTreeSet<String> = scopes
        .iter()
        .filter_map(|s| s.account.clone())
        .filter(|a| *a != hub)
        .collect();
    checks.push(Check::ok(
        name,
        format!(
            "hub {hub} covers {} scope(s): {}",
            scopes.len(),
            scopes
                .iter()
                .map(|s| s.label())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));
    if members.is_empty() {
        return;
    }
    let accounts: Vec<String> = members.iter().cloned().collect();
    let state = StateStore::new(dynamodb.clone(), config.state_table.clone());
    let enrolled = match state.enrolled_accounts(&accounts).await {
        Ok(e) => e,
        Err(e) => {
            checks.not_checked("organization.enrollment", &e);
            return;
        }
    };
    for account in &accounts {
        let check = format!("organization.{account}");
        if enrolled.contains(account) {
            checks.push(Check::ok(
                check,
                "enrolled: a sweep has read it (its member role per region: preflight.onboarding-watchdog)",
            ));
        } else {
            checks.push(Check::warning(
                check,
                "never enrolled: no sweep has read this account yet (no member stack there, or its role does not trust this hub)",
                format!(
                    "deploy infra/member.yaml in {account} (docs/organization.md), or add it to MemberAccountsExclude"
                ),
            ));
        }
    }
}
