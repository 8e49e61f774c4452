//! Operational alerts: no router is late, but ssr-onboard itself cannot do its job (Mist refuses
//! the token, a member account cannot be read, or was never enrolled). Each is sent at most once
//! a UTC day.

use std::collections::BTreeMap;
use std::fmt::Write;

use chrono::{DateTime, Utc};

use super::{kind_attr, subject, Alert, AlertKind, AlertSeverity, EventContext};
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
        "Until the token is fixed, the watchdog cannot see Mist: overdue routers are still paged, with \"Mist status unknown\", and no router is confirmed onboarded by Mist (only by an acknowledgement, `ssr-onboard ack`, or the deprecated tag {ONBOARDED_TAG_KEY}=true)."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. In the Mist portal (Organization > Settings > API Token), create a token with read access to the organization (or check the existing one was not revoked)."
    );
    let _ = writeln!(b, "  2. Store it in {origin}:");
    if let Some(arn) = origin.strip_prefix("the secret ") {
        // The secret's own region (its ARN's fourth field), else the deployment's.
        let region = arn
            .split(':')
            .nth(3)
            .filter(|r| !r.is_empty())
            .or(ctx.region.as_deref())
            .unwrap_or("<region>");
        let _ = writeln!(
            b,
            "       aws secretsmanager put-secret-value --secret-id {arn} --secret-string '{{\"token\": \"<new token>\"}}' --region {region}"
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
        attributes: operational_attributes(AlertKind::MistTokenRejected, AlertSeverity::Error),
        thread_id: "ssr-onboard/mist-token".to_string(),
        related_resources: vec![],
        next_steps: vec![
            "Create a new Mist API token and store it in the token secret".to_string(),
        ],
    }
    .in_context(ctx)
}

/// "The onboarding watchdog cannot read Mist": the daily Mist probe (made even when no router
/// is onboarding) failed for another reason than a refused token. Sent once a day while it
/// lasts, so a broken Mist setup shows before the first router needs it. `error` is the Mist
/// client's or the secret's error text (never the token).
pub fn mist_unreachable_alert(ctx: &EventContext, error: &str, now: DateTime<Utc>) -> Alert {
    let subject = subject("SSR onboarding watchdog: cannot read Mist");
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The onboarding watchdog's daily Mist check could not read the organization's inventory ({error})."
    );
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "No router is onboarding now, so nothing is late yet; but while Mist cannot be read, a router that onboards is not confirmed by Mist, and an overdue one is paged with \"Mist status unknown\"."
    );
    let _ = writeln!(b);
    let _ = writeln!(b, "What to do");
    let _ = writeln!(
        b,
        "  1. Run `ssr-onboard doctor --stack <stack>`: its mist.* checks say which part fails (the API URL, the org id, the token secret, the inventory)."
    );
    let _ = writeln!(
        b,
        "  2. Check MistApiUrl is your organization's Mist cloud and MistOrgId its id (docs/support.md#mist-clouds)."
    );
    let _ = writeln!(b);
    daily_footer(
        &mut b,
        ctx.account.as_deref().unwrap_or("?"),
        ctx.region.as_deref().unwrap_or("?"),
        now,
        "while Mist cannot be read",
    );
    Alert {
        subject,
        body: b,
        attributes: operational_attributes(AlertKind::MistUnreachable, AlertSeverity::Error),
        thread_id: "ssr-onboard/mist".to_string(),
        related_resources: vec![],
        next_steps: vec![
            "Run ssr-onboard doctor --stack <stack> to see which Mist setting fails".to_string(),
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
        "       aws iam get-role --role-name {} --region {region}   (in account {account})",
        role.rsplit('/').next().unwrap_or(role)
    );
    let _ = writeln!(
        b,
        "  2. From the hub, check the watchdog's role may assume it (its trust policy names the hub's function roles):"
    );
    let _ = writeln!(
        b,
        "       aws sts assume-role --role-arn {role} --role-session-name ssr-onboard-check --region {region}"
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
        attributes: operational_attributes(AlertKind::MemberUnreachable, AlertSeverity::Error),
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
        "  3. To check the role from the hub: aws sts assume-role --role-arn {role} --role-session-name ssr-onboard-check --region {region}"
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
        attributes: operational_attributes(AlertKind::MemberNotEnrolled, AlertSeverity::Info),
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

/// `ssr-onboard doctor --send-test-alert`: a test alert (`kind` `test`, severity `info`),
/// sent through the real topic so a person sees it arrive; doctor sends its resolve right after
/// (same incident key, [`super::IncidentKey::deployment`]`("test")`).
pub fn test_alert(account: Option<&str>, region: Option<&str>, now: DateTime<Utc>) -> Alert {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "A test of the ssr-onboard alert path, sent by `ssr-onboard doctor --send-test-alert`. Nothing is wrong."
    );
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "If you read this, alerts reach you. A paging tool receives this alert and, right after, its resolve (attribute action = resolve), so no incident stays open."
    );
    let _ = writeln!(b);
    let _ = writeln!(
        b,
        "  Account: {}   Region: {}   Sent: {}",
        account.unwrap_or("?"),
        region.unwrap_or("?"),
        now.format("%Y-%m-%d %H:%M:%S UTC")
    );
    Alert {
        subject: subject("SSR onboarding: test alert (ssr-onboard doctor)"),
        body: b,
        attributes: operational_attributes(AlertKind::Test, AlertSeverity::Info),
        thread_id: "ssr-onboard/test".to_string(),
        related_resources: vec![],
        next_steps: vec!["Nothing to do: this was a test".to_string()],
    }
}

/// An operational alert's attributes (no router): its kind and severity.
fn operational_attributes(
    kind: AlertKind,
    severity: AlertSeverity,
) -> BTreeMap<String, (String, String)> {
    BTreeMap::from([kind_attr(kind), severity.attr()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::string_attr;

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
