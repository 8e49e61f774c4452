use std::collections::HashMap;

use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use ssr_testkit::errors::AwsErrorShape;

use super::*;
use crate::config::Config;
use crate::deps::Clients;

const MANAGEMENT: &str = "111111111111";
const HUB: &str = "222222222222";
const MEMBER: &str = "444455556666";
const AUDIT: &str = "555566667777";

/// An HTTP 200 with a JSON body, as Organizations (awsJson 1.1) answers.
fn json(body: String) -> Response {
    let ok = StatusCode::try_from(200).unwrap_or_else(|e| panic!("{e}"));
    Response::new(ok, SdkBody::from(body))
}

/// `ListAccounts` of an organization holding the management account, the hub, a member and
/// Control Tower's audit account (one page, the real field names).
fn list_accounts() -> Rule {
    mock!(aws_sdk_organizations::Client::list_accounts).then_http_response(|| {
        let account = |id: &str, name: &str| {
            serde_json::json!({
                "Id": id,
                "Arn": format!("arn:aws:organizations::{MANAGEMENT}:account/o-exampleorgid/{id}"),
                "Email": format!("{name}@example.com"),
                "Name": name,
                "Status": "ACTIVE",
                "State": "ACTIVE",
                "JoinedMethod": "CREATED",
                "JoinedTimestamp": 1.481835795536E9
            })
        };
        json(
            serde_json::json!({"Accounts": [
                account(MANAGEMENT, "management"),
                account(HUB, "network-hub"),
                account(MEMBER, "branch-routers"),
                account(AUDIT, "audit"),
            ]})
            .to_string(),
        )
    })
}

/// `DescribeOrganization` as the AWS CLI reference shows it (management account
/// 111111111111).
fn describe_organization() -> Rule {
    mock!(aws_sdk_organizations::Client::describe_organization).then_http_response(|| {
        json(
            serde_json::json!({"Organization": {
                "Id": "o-exampleorgid",
                "Arn": format!("arn:aws:organizations::{MANAGEMENT}:organization/o-exampleorgid"),
                "FeatureSet": "ALL",
                "MasterAccountArn": format!("arn:aws:organizations::{MANAGEMENT}:account/o-exampleorgid/{MANAGEMENT}"),
                "MasterAccountId": MANAGEMENT,
                "MasterAccountEmail": "bill@example.com",
                "AvailablePolicyTypes": [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]
            }})
            .to_string(),
        )
    })
}

fn denied() -> Rule {
    mock!(aws_sdk_organizations::Client::describe_organization).then_http_response(|| {
        AwsErrorShape::new(
            400,
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
        )
        .json_response()
    })
}

fn deps(vars: &[(&str, &str)], organizations: &[&Rule]) -> Deps {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let config = Config::from_vars(|k| map.get(k).cloned()).unwrap_or_else(|e| panic!("{e}"));
    let clients = Clients {
        ec2: mock_client!(aws_sdk_ec2, []),
        sns: mock_client!(aws_sdk_sns, []),
        dynamodb: mock_client!(aws_sdk_dynamodb, []),
        cloudformation: mock_client!(aws_sdk_cloudformation, []),
        secrets: mock_client!(aws_sdk_secretsmanager, []),
    };
    Deps::new(config, clients, Some("eu-west-1".into())).with_organizations(mock_client!(
        aws_sdk_organizations,
        RuleMode::MatchAny,
        organizations
    ))
}

async fn accounts_swept(covered: &CoveredScopes, d: &Deps) -> Vec<String> {
    let mut out: Vec<String> = covered
        .scopes(d)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .filter_map(|s| s.account)
        .collect();
    out.dedup();
    out
}

#[tokio::test]
async fn when_the_hub_is_not_the_management_account_then_org_leaves_it_and_the_excluded_out_and_is_cached(
) {
    let (list, describe) = (list_accounts(), describe_organization());
    let d = deps(
        &[
            ("HUB_ACCOUNT_ID", HUB),
            ("MEMBER_ACCOUNTS", "org"),
            ("MEMBER_ACCOUNTS_EXCLUDE", AUDIT),
        ],
        &[&list, &describe],
    );
    let covered = CoveredScopes::default();
    assert_eq!(accounts_swept(&covered, &d).await, [HUB, MEMBER]);
    assert_eq!(accounts_swept(&covered, &d).await, [HUB, MEMBER]);
    assert_eq!(
        (list.num_calls(), describe.num_calls()),
        (1, 1),
        "both read once per ORG_ACCOUNTS_TTL"
    );
}

#[tokio::test]
async fn when_the_hub_is_the_management_account_then_it_is_swept_as_the_hub() {
    let (list, describe) = (list_accounts(), describe_organization());
    let d = deps(
        &[("HUB_ACCOUNT_ID", MANAGEMENT), ("MEMBER_ACCOUNTS", "org")],
        &[&list, &describe],
    );
    assert_eq!(
        accounts_swept(&CoveredScopes::default(), &d).await,
        [MANAGEMENT, HUB, MEMBER, AUDIT]
    );
}

#[tokio::test]
async fn when_describe_organization_is_denied_then_the_management_account_is_swept_like_the_others()
{
    let (list, describe) = (list_accounts(), denied());
    let d = deps(
        &[("HUB_ACCOUNT_ID", HUB), ("MEMBER_ACCOUNTS", "org")],
        &[&list, &describe],
    );
    assert_eq!(
        accounts_swept(&CoveredScopes::default(), &d).await,
        [HUB, MANAGEMENT, MEMBER, AUDIT]
    );
}

#[tokio::test]
async fn when_listed_member_accounts_include_an_excluded_one_then_it_is_not_swept() {
    let d = deps(
        &[
            ("HUB_ACCOUNT_ID", HUB),
            ("MEMBER_ACCOUNTS", &format!("{MEMBER},{AUDIT}")),
            ("MEMBER_ACCOUNTS_EXCLUDE", AUDIT),
        ],
        &[],
    );
    assert_eq!(
        member_account_ids(&d, &d.config.member_accounts)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        [MEMBER]
    );
}
