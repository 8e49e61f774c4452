//! Which member accounts were ever read: STS answers `AccessDenied` both for a member role that
//! does not exist (the account was never enrolled: the management account, an account outside
//! the StackSet's OUs) and for one that stopped trusting the hub (a break). History tells them
//! apart: the first successful read of an account writes `member-enrolled#<account>` once; an
//! account that fails without that item is `not-enrolled` (a daily info notice), one with it is
//! `unreachable` (the daily `member-unreachable` page).
//!
//! Cost: the accounts known enrolled are remembered per warm container, so a steady sweep adds
//! no call; a cold start reads the items of its member accounts once (one BatchGetItem per 100
//! accounts) and writes only the missing ones (conditional PutItem); an account that keeps
//! failing without history is looked up again each sweep (it might have been enrolled since).

use std::collections::HashSet;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

use super::gather::Fleet;
use crate::alerting::AlertOutcome;
use crate::aws::state::items::MEMBER_NOT_ENROLLED_PREFIX;
use crate::aws::AwsError;
use crate::deps::Deps;
use crate::render::operational::member_not_enrolled_alert;
use crate::render::EventContext;

/// The member accounts this container knows were read at least once.
#[derive(Debug, Default)]
pub(crate) struct Enrollment {
    known: Mutex<HashSet<String>>,
}

/// What [`Enrollment::update`] learnt: the failed accounts never enrolled, and the history
/// reads or writes that failed (the sweep reports them; the accounts concerned count as
/// enrolled, so a failure pages as before).
#[derive(Debug, Default)]
pub(crate) struct EnrollmentCheck {
    pub never_enrolled: HashSet<String>,
    pub errors: Vec<AwsError>,
}

impl Enrollment {
    /// Records the member accounts `fleet` reached (the hub's own account needs no member role
    /// and is never recorded), then says which accounts of its unreachable scopes were never
    /// enrolled.
    pub async fn update(&self, deps: &Deps, fleet: &Fleet, now: DateTime<Utc>) -> EnrollmentCheck {
        let own = deps.account.as_deref();
        let member = |a: Option<&str>| a.filter(|a| Some(*a) != own).map(String::from);
        let reached: HashSet<String> = fleet
            .reached
            .iter()
            .filter_map(|(s, _)| member(s.account.as_deref()))
            .collect();
        let failed: HashSet<String> = fleet
            .unreachable
            .iter()
            .filter_map(|u| member(u.scope.account.as_deref()))
            .filter(|a| !reached.contains(a))
            .collect();
        let mut check = EnrollmentCheck::default();
        let unknown: Vec<String> = {
            let known = self.lock();
            let mut v: Vec<String> = reached
                .iter()
                .chain(&failed)
                .filter(|a| !known.contains(*a))
                .cloned()
                .collect();
            v.sort();
            v
        };
        if unknown.is_empty() {
            return check;
        }
        let recorded = match deps.state.enrolled_accounts(&unknown).await {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "member enrollment history not read; failures page");
                check.errors.push(e);
                return check;
            }
        };
        self.lock().extend(recorded.iter().cloned());
        for account in unknown.iter().filter(|a| !recorded.contains(*a)) {
            if reached.contains(account) {
                match deps.state.put_member_enrolled(account, now).await {
                    Ok(_) => {
                        tracing::info!(account = %account, decision = "member-enrolled", "member account read for the first time");
                        self.lock().insert(account.clone());
                    }
                    // Left unknown: the next sweep writes it again.
                    Err(e) => check.errors.push(e),
                }
            } else {
                check.never_enrolled.insert(account.clone());
            }
        }
        check
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // A panic while holding the lock leaves a set that is still consistent.
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A member account never enrolled: one info notice per account per UTC day (claim
/// `member-not-enrolled#<account>#<date>`), naming the role, the error and the two ways out
/// (deploy the member stack, or exclude the account).
pub(crate) async fn not_enrolled_notice(
    deps: &Deps,
    ctx: &EventContext,
    account: &str,
    role: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<AlertOutcome, AwsError> {
    let alert = member_not_enrolled_alert(ctx, account, role, error, now);
    super::act::daily_account_alert(
        deps,
        ctx,
        alert,
        MEMBER_NOT_ENROLLED_PREFIX,
        account,
        error,
        now,
    )
    .await
}
