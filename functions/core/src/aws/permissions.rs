//! The IAM actions each function needs, and why: the one table the template's roles are held to.
//!
//! Two tests keep this table, the code and `infra/template.yaml` equal (README "IAM"):
//! - every AWS operation a function's tests really send (recorded by an SDK interceptor,
//!   `ssr_testkit::CallCheck`) must be a [`Need::Called`] row of that function;
//! - `functions/core/tests/iam.rs` parses the template and checks, both ways, that each
//!   function's role grants exactly the actions of its rows, [`Need::Called`] and
//!   [`Need::Implied`] alike.
//!
//! An SDK operation's IAM action is the service prefix and the operation name
//! (`EC2 DescribeInstances` → `ec2:DescribeInstances`); every operation this code sends follows
//! that rule (AWS Service Authorization Reference). [`Need::Implied`] rows are actions the code
//! never sends but AWS checks against the function's role on its behalf; they are kept in the
//! table, not excluded, so a grant nobody needs still fails the template test.

use crate::function::Function;

/// Why a function needs an action.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    /// The code sends this operation (the action name is the SDK operation's name).
    Called,
    /// The code never sends it; AWS checks it against the role when `by` happens.
    Implied { by: &'static str },
}

/// One action a function's role must grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Permission {
    /// The IAM action as the policy writes it (`ec2:DescribeInstances`, `kms:GenerateDataKey*`).
    pub action: &'static str,
    pub need: Need,
    /// One line: what the function does with it.
    pub why: &'static str,
}

const fn called(action: &'static str, why: &'static str) -> Permission {
    Permission {
        action,
        need: Need::Called,
        why,
    }
}

const fn implied(action: &'static str, by: &'static str, why: &'static str) -> Permission {
    Permission {
        action,
        need: Need::Implied { by },
        why,
    }
}

/// Every Lambda function: its logs and its dead-letter queue (the Lambda service acts with the
/// execution role), alerts to the KMS-encrypted alert topic (SNS asks KMS with the caller's
/// rights, through the key policy).
macro_rules! every_function {
    () => {
        [
            implied(
                "logs:CreateLogStream",
                "the Lambda runtime",
                "Lambda writes the function's logs to its log group with the execution role",
            ),
            implied(
                "logs:PutLogEvents",
                "the Lambda runtime",
                "Lambda writes the function's logs to its log group with the execution role",
            ),
            implied(
                "sqs:SendMessage",
                "the function's DeadLetterQueue",
                "Lambda sends an event that failed every retry to the dead-letter queue with the execution role",
            ),
            called("sns:Publish", "alerts (and chat notifications) to the alert topic"),
            called(
                "dynamodb:UpdateItem",
                "the alert outbox: take over a pending alert whose lease ran out, give a lease back, confirm an alert sent; open incidents; the watchdog: an episode's last Mist phase (its timeline's phase changes)",
            ),
            called(
                "events:PutEvents",
                "ALERT_EVENT_BUS only (AlertPublishPolicy): every alert, trigger and resolve, on the alert event bus",
            ),
            implied(
                "kms:GenerateDataKey*",
                "sns:Publish",
                "the alert topic is encrypted with the stack's key: SNS makes a data key for the message with the publisher's rights",
            ),
            implied(
                "kms:Decrypt",
                "sns:Publish",
                "the alert topic is encrypted with the stack's key: SNS decrypts the data key with the publisher's rights",
            ),
        ]
    };
}

/// Reads of a router every function that checks one makes (snapshot).
macro_rules! router_reads {
    () => {
        [
            called(
                "ec2:DescribeInstances",
                "the router itself: state, type, tags, interfaces, root device",
            ),
            called(
                "ec2:DescribeNetworkInterfaces",
                "the router's interfaces: SSR-ROLE tags, source/destination check, public IP",
            ),
            called(
                "ec2:DescribeInstanceAttribute",
                "userData (the onboarding config) and enaSupport",
            ),
        ]
    };
}

/// The guard's checks and fixes (instance-guard, and stack-watch for router stacks).
macro_rules! guard_calls {
    () => {
        [
            called("ec2:DescribeVolumes", "the root volume's size"),
            called(
                "ec2:DescribeRouteTables",
                "the route tables of the router's subnets (LAN routes through the router)",
            ),
            called(
                "ec2:ModifyInstanceAttribute",
                "the ENA fix (EnaSupport on, stopped routers only)",
            ),
            called(
                "ec2:ModifyNetworkInterfaceAttribute",
                "the source/destination check fix (SourceDestCheck off)",
            ),
            called(
                "dynamodb:GetItem",
                "alert de-duplication: the last alert sent for this router",
            ),
            called(
                "dynamodb:PutItem",
                "alert de-duplication and onboarding episodes: record what was sent; the router's timeline entries (fixes, alerts)",
            ),
            called(
                "dynamodb:DeleteItem",
                "clear the de-duplication record once a router is healthy",
            ),
            called(
                "sts:AssumeRole",
                "organization hub only (MemberAssumePolicy): the member role in the account an event names (sent by aws-config's AssumeRole provider, not through the function's own clients)",
            ),
            called(
                "organizations:DescribeAccount",
                "organization hub only (MemberAssumePolicy): the name of the member account an alert is about, for its subject; only when an alert is sent, once per account per warm container",
            ),
        ]
    };
}

/// The watchdog's sweep (onboarding-watchdog, and mist-webhook, which acts on one router the
/// same way).
macro_rules! watchdog_calls {
    () => {
        [
            called("dynamodb:GetItem", "one onboarding episode"),
            called("dynamodb:PutItem", "open, end and page onboarding episodes (conditional writes); the routers' timeline entries"),
            called("dynamodb:DeleteItem", "forget an episode whose router is gone"),
            called("dynamodb:BatchGetItem", "the episodes of every running router in one read"),
            called(
                "secretsmanager:GetSecretValue",
                "the Mist API token (MistTokenSecretArn), once per cold start",
            ),
            implied(
                "kms:Decrypt",
                "secretsmanager:GetSecretValue",
                "a token secret encrypted with a customer managed key (MistTokenSecretKmsKeyArn) is decrypted with the caller's rights",
            ),
            called(
                "sts:AssumeRole",
                "organization hub only (MemberAssumePolicy): the member role in each account swept (MEMBER_ACCOUNTS x MEMBER_REGIONS), sent by aws-config's AssumeRole provider",
            ),
            called(
                "organizations:ListAccounts",
                "MEMBER_ACCOUNTS=org only (OrganizationAccountsPolicy): the organization's active accounts, once per 15 minutes per warm container",
            ),
            called(
                "organizations:DescribeOrganization",
                "MEMBER_ACCOUNTS=org only (OrganizationAccountsPolicy): the management account, never swept as a member (no StackSet instance there), read with the account list",
            ),
            called(
                "organizations:DescribeAccount",
                "organization hub only (MemberAssumePolicy): the name of the member account an alert is about, for its subject; only when an alert is sent, once per account per warm container",
            ),
        ]
    };
}

const fn concat<const A: usize, const B: usize, const C: usize, const N: usize>(
    a: [Permission; A],
    b: [Permission; B],
    c: [Permission; C],
) -> [Permission; N] {
    assert!(A + B + C == N, "table length");
    let mut out = [a[0]; N];
    let mut i = 0;
    while i < A {
        out[i] = a[i];
        i += 1;
    }
    while i < A + B {
        out[i] = b[i - A];
        i += 1;
    }
    while i < N {
        out[i] = c[i - A - B];
        i += 1;
    }
    out
}

const INSTANCE_GUARD: [Permission; 20] = concat(every_function!(), router_reads!(), guard_calls!());

const STACK_WATCH: [Permission; 23] = concat(
    every_function!(),
    router_reads!(),
    concat::<9, 3, 0, 12>(
        guard_calls!(),
        [
            called(
                "cloudformation:DescribeStacks",
                "the stack's status, parameters and outputs (router stacks, custom resource)",
            ),
            called(
                "cloudformation:DescribeStackEvents",
                "why a stack operation failed (the first failed resource)",
            ),
            called(
                "cloudformation:ListStackResources",
                "the instances a router stack created",
            ),
        ],
        [],
    ),
);

const ONBOARDING_WATCHDOG: [Permission; 24] = concat(
    every_function!(),
    router_reads!(),
    concat::<10, 3, 0, 13>(
        watchdog_calls!(),
        [
            called(
                "dynamodb:Query",
                "the alert outbox's sparse index: pending alerts whose lease ran out, delivered by the sweep; the open guard findings the sweep re-checks",
            ),
            called(
                "ec2:DescribeVolumes",
                "the sweep's re-check of open guard findings: the root volume's size (read only, never a fix)",
            ),
            called(
                "ec2:DescribeRouteTables",
                "the sweep's re-check of open guard findings: the WAN subnet's route tables (read only)",
            ),
        ],
        [],
    ),
);

const MIST_WEBHOOK: [Permission; 21] =
    concat(every_function!(), router_reads!(), watchdog_calls!());

/// The table: every action `function`'s role must grant, and nothing else.
pub fn permissions(function: Function) -> &'static [Permission] {
    match function {
        Function::InstanceGuard => &INSTANCE_GUARD,
        Function::StackWatch => &STACK_WATCH,
        Function::OnboardingWatchdog => &ONBOARDING_WATCHDOG,
        Function::MistWebhook => &MIST_WEBHOOK,
    }
}

/// The actions `function`'s code sends itself (the [`Need::Called`] rows).
pub fn called_actions(function: Function) -> Vec<&'static str> {
    permissions(function)
        .iter()
        .filter(|p| p.need == Need::Called)
        .map(|p| p.action)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn when_the_table_is_read_then_no_function_lists_an_action_twice() {
        for f in Function::ALL {
            let rows = permissions(f);
            let distinct: BTreeSet<(&str, Need)> =
                rows.iter().map(|p| (p.action, p.need)).collect();
            assert_eq!(distinct.len(), rows.len(), "{} lists a row twice", f.name());
        }
    }

    #[test]
    fn when_an_action_is_implied_then_what_implies_it_is_called_or_the_platform() {
        for f in Function::ALL {
            let called = called_actions(f);
            for p in permissions(f) {
                if let Need::Implied { by } = p.need {
                    assert!(
                        called.contains(&by) || !by.contains(':'),
                        "{}: {} implied by {by}, which it does not call",
                        f.name(),
                        p.action
                    );
                }
            }
        }
    }
}
