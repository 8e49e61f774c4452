//! Operational alerts: no router is late, but ssr-onboard itself cannot do its job (Mist refuses
//! the token, a member account cannot be read, or was never enrolled). Each is sent at most once
//! a UTC day.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{kind_attr, string_attr, subject, Alert, AlertKind, EventContext};
use crate::config::ONBOARDED_TAG_KEY;

/// "Mist rejected the onboarding watchdog's API token": an operational alert (no router named),
/// sent once a day while the token is refused. `origin` says where the token comes from (the
/// secret's ARN or `MIST_API_TOKEN`); the token itself is never given here.
pub fn token_rejected_alert(
    ctx: &EventContext,
    origin: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Alert {
    let subject = subject("SSR onboarding watchdog: Mist rejected the API token");
    let mut b = String::new();
    let _ = writeln!(
        b,
        "Mist refused the API token the onboarding watchdog reads the inventory with ({error})."
    );
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "Until the token is fixed, the watchdog cannot see Mist: overdue routers are still paged, with \"Mist status unknown\", and no router is confirmed onboarded by Mist (only by the tag {ONBOARDED_TAG_KEY}=true)."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. In the Mist portal (Organization > Settings > API Token), create a token with read access to the organization (or check the existing one was not revoked)."
    );
    let _ = writeln!(b, "  2. Store it in {origin}:");
    if let Some(arn) = origin.strip_prefix("the secret ") {
        let _ = writeln!(
            b,
            "       aws secretsmanager put-secret-value --secret-id {arn} --secret-string '{{\"token\": \"<new token>\"}}'"
        );
    }
    let _ = writeln!(
        b,
        "     The watchdog reads the secret again after every rejection: no redeploy needed."
    );
    let _ = writeln!(b);
    daily_footer(
        &mut b,
        ctx.account.as_deref().unwrap_or("?"),
        ctx.region.as_deref().unwrap_or("?"),
        now,
        "while Mist keeps refusing the token",
    );
    Alert {
        subject,
        body: b,
        attributes: operational_attributes(AlertKind::MistTokenRejected, "error"),
        thread_id: "ssr-onboard/mist-token".to_string(),
        related_resources: vec![],
        next_steps: vec![
            "Create a new Mist API token and store it in the token secret".to_string(),
        ],
    }
    .in_context(ctx)
}

/// "ssr-onboard cannot reach member account <account>": an operational alert, once a day per
/// account while the sweep cannot read it. Names the role and the error, and the checks that
/// settle it.
pub fn member_unreachable_alert(
    ctx: &EventContext,
    account: &str,
    role: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Alert {
    let region = ctx.region.as_deref().unwrap_or("?");
    let subject = subject(&format!(
        "SSR onboarding watchdog: member account {account} not swept ({region})"
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The onboarding watchdog could not read the routers of member account {account} in {region}:"
    );
    let _ = writeln!(b, "  {error}");
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "Until this is fixed, routers there are not watched: a router that does not onboard is not paged. Other accounts are swept as usual."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. Check the member stack is deployed there (StackSet ssr-onboard-member, infra/member.yaml) and that the role exists:"
    );
    let _ = writeln!(
        b,
        "       aws iam get-role --role-name {} (in account {account})",
        role.rsplit('/').next().unwrap_or(role)
    );
    let _ = writeln!(
        b,
        "  2. From the hub, check the watchdog's role may assume it (its trust policy names the hub's function roles):"
    );
    let _ = writeln!(
        b,
        "       aws sts assume-role --role-arn {role} --role-session-name ssr-onboard-check"
    );
    let _ = writeln!(
        b,
        "  3. If the account left the organization or was closed, remove it from MEMBER_ACCOUNTS (with MEMBER_ACCOUNTS=org it drops out by itself)."
    );
    let _ = writeln!(b);
    daily_footer(
        &mut b,
        account,
        region,
        now,
        "per account while it stays unreachable",
    );
    Alert {
        subject,
        body: b,
        attributes: operational_attributes(AlertKind::MemberUnreachable, "error"),
        thread_id: format!("ssr-onboard/member/{account}"),
        related_resources: vec![role.to_string()],
        next_steps: vec![
            format!("Check the member role {role} exists and trusts the hub's watchdog role"),
            "Remove the account from MEMBER_ACCOUNTS if it left the organization".to_string(),
        ],
    }
    .in_context(&EventContext {
        member: false,
        ..ctx.clone()
    })
}

/// "member account <account> is not enrolled": an info notice, once a day per account, while
/// the sweep has never been able to read the account (no member role there yet, or one that
/// never trusted this hub: STS answers AccessDenied for both). Not a page: an account that was
/// read before and then fails raises [`member_unreachable_alert`] instead.
pub fn member_not_enrolled_alert(
    ctx: &EventContext,
    account: &str,
    role: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Alert {
    let region = ctx.region.as_deref().unwrap_or("?");
    let subject = subject(&format!(
        "SSR onboarding watchdog: member account {account} not enrolled ({region})"
    ));
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The onboarding watchdog has never been able to read member account {account} ({region}); using the member role failed:"
    );
    let _ = writeln!(b, "  {error}");
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "Routers there are not watched. This is a notice, not a page: the account has never been enrolled (the member stack was not deployed there, or its role never trusted this hub). Once a sweep has read the account, a later failure pages as member-unreachable."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. If routers run (or will run) in this account: deploy the member stack there (StackSet ssr-onboard-member, infra/member.yaml; see docs/organization.md), in this region and in the hub's region."
    );
    let _ = writeln!(
        b,
        "  2. If not (an account outside the StackSet's OUs, such as Control Tower's log archive and audit accounts): add {account} to the hub's MemberAccountsExclude parameter (MEMBER_ACCOUNTS_EXCLUDE); the watchdog then leaves it alone."
    );
    let _ = writeln!(
        b,
        "  3. To check the role from the hub: aws sts assume-role --role-arn {role} --role-session-name ssr-onboard-check"
    );
    let _ = writeln!(b);
    daily_footer(
        &mut b,
        account,
        region,
        now,
        "per account until it is enrolled or excluded",
    );
    Alert {
        subject,
        body: b,
        attributes: operational_attributes(AlertKind::MemberNotEnrolled, "info"),
        thread_id: format!("ssr-onboard/member/{account}"),
        related_resources: vec![role.to_string()],
        next_steps: vec![format!(
            "Deploy the member stack to account {account}, or add it to MemberAccountsExclude"
        )],
    }
    .in_context(&EventContext {
        member: false,
        ..ctx.clone()
    })
}

/// The last lines of an operational alert sent at most once a UTC day.
fn daily_footer(b: &mut String, account: &str, region: &str, now: DateTime<Utc>, while_: &str) {
    let _ = writeln!(
        b,
        "  Account: {account}   Region: {region}   Seen: {}",
        now.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "This alert is sent at most once a day (UTC) {while_}.");
}

/// An operational alert's attributes (no router): its kind and severity.
fn operational_attributes(kind: AlertKind, severity: &str) -> BTreeMap<String, (String, String)> {
    BTreeMap::from([
        kind_attr(kind),
        ("severity".to_string(), string_attr(severity)),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_a_member_account_was_never_enrolled_then_an_info_notice_names_the_account_and_both_ways_out(
    ) {
        let role = "arn:aws:iam::777788889999:role/ssr-onboard-member";
        let ctx = EventContext {
            trigger: "scheduled sweep".into(),
            ..Default::default()
        }
        .at(Some("777788889999"), Some("eu-west-1"), true);
        let a = member_not_enrolled_alert(
            &ctx,
            "777788889999",
            role,
            "DescribeInstances failed: AccessDenied: not authorized to perform: sts:AssumeRole",
            DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
        );
        assert_eq!(
            a.subject,
            "SSR onboarding watchdog: member account 777788889999 not enrolled (eu-west-1)"
        );
        assert_eq!(a.attributes["kind"], string_attr("member-not-enrolled"));
        assert_eq!(a.attributes["severity"], string_attr("info"));
        assert_eq!(a.attributes["account"], string_attr("777788889999"));
        assert!(a.body.contains("AccessDenied"), "{}", a.body);
        assert!(a.body.contains("MemberAccountsExclude"), "{}", a.body);
        assert!(a.body.contains("StackSet ssr-onboard-member"), "{}", a.body);
        assert!(a.body.contains("not a page"), "{}", a.body);
        assert_eq!(a.thread_id, "ssr-onboard/member/777788889999");
    }
}
