//! `ssr-onboard audit` against moto: the built binary, pointed at a per-test emulator through the
//! standard AWS environment variables.

use crate::common;

use std::process::Output;

use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use common::{cli, cli_env};
use ssr_onboard_tests::{RouterSpec, TestAws, REG_CODE};
use ssr_sandbox::world::Sandbox;
use wiremock::matchers::{body_string_contains, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(o)))
}

fn codes(router: &serde_json::Value) -> Vec<String> {
    router["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A guide router (only source/dest check on) and a broken one (no LAN tag, 8 GB disk), plus an
/// instance that is no router.
async fn region_with_two_routers(aws: &TestAws) -> (String, String, String) {
    let vpc = aws.guide_vpc().await;
    let good = aws
        .launch_router(&vpc, &RouterSpec::guide("audit-good"))
        .await;
    let bad = aws
        .launch_router(
            &vpc,
            &RouterSpec {
                lan_tag: None,
                root_volume_gb: 8,
                ..RouterSpec::guide("audit-bad")
            },
        )
        .await;
    let plain = aws.launch_plain_instance(&vpc).await;
    (good.wan_eni_id, bad.instance_id, plain)
}

#[tokio::test]
async fn when_routers_have_findings_then_table_lists_them_and_exit_code_is_3() {
    let aws = TestAws::start().await;
    let (good_wan, bad_id, plain) = region_with_two_routers(&aws).await;
    aws.start_recording().await;

    let out = cli(aws.emulator.endpoint(), &["audit"]);

    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}\n{}", stderr(&out));
    assert!(
        text.lines()
            .next()
            .unwrap_or_default()
            .starts_with("ROUTER"),
        "{text}"
    );
    assert!(text.contains("SRC_DST_CHECK_ENABLED"), "{text}");
    assert!(text.contains(&good_wan), "{text}");
    assert!(text.contains("fixable (--fix)"), "{text}");
    assert!(text.contains("ENI_ROLE_TAG_MISSING"), "{text}");
    assert!(text.contains("ROOT_VOLUME_TOO_SMALL"), "{text}");
    assert!(text.contains(&bad_id), "{text}");
    assert!(text.contains("What to do"), "{text}");
    assert!(text.contains("run again with --fix"), "{text}");
    assert!(
        !text.contains(&plain),
        "a plain instance is not audited: {text}"
    );
    assert!(!text.contains(REG_CODE) && !stderr(&out).contains(REG_CODE));
    assert!(
        !text.contains("\x1b["),
        "no colours when stdout is not a terminal"
    );
    assert_eq!(
        aws.ec2_write_calls().await,
        Vec::<String>::new(),
        "audit without --fix writes nothing"
    );
}

#[tokio::test]
async fn when_output_json_then_stable_document_with_summary_and_findings() {
    let aws = TestAws::start().await;
    let (_, bad_id, _) = region_with_two_routers(&aws).await;

    let out = cli(aws.emulator.endpoint(), &["audit", "--output", "json"]);

    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["schema"], "ssr-onboard/audit/v1");
    assert_eq!(doc["region"], "us-east-1");
    assert_eq!(doc["mode"], "check");
    assert_eq!(doc["instances_scanned"], 3);
    assert_eq!(doc["summary"]["routers"], 2);
    assert_eq!(doc["summary"]["routers_with_findings"], 2);
    // 2 + 2 source/dest checks, LAN tag missing, no LAN interface, small disk.
    assert_eq!(doc["summary"]["findings_remaining"], 7);
    assert_eq!(doc["summary"]["fixes_planned"], 4);
    let routers = doc["routers"].as_array().expect("routers");
    let bad = routers
        .iter()
        .find(|r| r["instance_id"] == bad_id.as_str())
        .expect("bad router listed");
    assert_eq!(bad["name"], "audit-bad");
    let bad_codes = codes(bad);
    for want in [
        "SRC_DST_CHECK_ENABLED",
        "ENI_ROLE_TAG_MISSING",
        "NO_LAN_INTERFACE",
        "ROOT_VOLUME_TOO_SMALL",
    ] {
        assert!(
            bad_codes.iter().any(|c| c == want),
            "{want} in {bad_codes:?}"
        );
    }
    assert!(bad["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .all(|a| a["status"] == "planned"));
    assert!(!stdout(&out).contains(REG_CODE));
}

#[tokio::test]
async fn when_fix_dry_run_then_plan_shown_and_nothing_written() {
    let aws = TestAws::start().await;
    let router = aws
        .launch_router(&aws.guide_vpc().await, &RouterSpec::guide("dry"))
        .await;
    aws.start_recording().await;

    let out = cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--dry-run", "--output", "json"],
    );

    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["mode"], "dry-run");
    assert_eq!(doc["summary"]["fixes_planned"], 2);
    assert_eq!(doc["summary"]["fixes_applied"], 0);
    assert_eq!(aws.ec2_write_calls().await, Vec::<String>::new());
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(true)
    );

    let text = stdout(&cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--dry-run"],
    ));
    assert!(text.contains("would fix"), "{text}");
    assert!(text.contains("nothing was written"), "{text}");
    assert_eq!(aws.ec2_write_calls().await, Vec::<String>::new());
}

#[tokio::test]
async fn when_fix_then_source_dest_check_off_on_each_eni_exit_0_and_rerun_writes_nothing() {
    let aws = TestAws::start().await;
    let router = aws
        .launch_router(&aws.guide_vpc().await, &RouterSpec::guide("fixme"))
        .await;
    aws.start_recording().await;

    let out = cli(aws.emulator.endpoint(), &["audit", "--fix"]);

    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", stderr(&out));
    assert!(text.contains("fixed"), "{text}");
    assert!(text.contains("2 fix(es) applied and verified"), "{text}");
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false)
    );
    assert_eq!(
        aws.eni_source_dest_check(&router.lan_eni_id).await,
        Some(false)
    );
    assert_eq!(
        aws.ec2_write_calls().await,
        vec![
            "ModifyNetworkInterfaceAttribute",
            "ModifyNetworkInterfaceAttribute"
        ]
    );

    aws.start_recording().await;
    let again = cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--output", "json"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(json(&again)["summary"]["fixes_applied"], 0);
    assert_eq!(
        aws.ec2_write_calls().await,
        Vec::<String>::new(),
        "a second --fix writes nothing"
    );
}

#[tokio::test]
async fn when_region_has_no_routers_then_exit_0_and_say_how_routers_are_recognised() {
    let aws = TestAws::start().await;
    aws.launch_plain_instance(&aws.guide_vpc().await).await;

    let out = cli(aws.emulator.endpoint(), &["audit"]);

    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("No managed routers among 1 instance(s)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn when_aws_unreachable_then_exit_1_with_a_hint() {
    // Port 9 (discard) on loopback: nothing listens there.
    let out = cli("http://127.0.0.1:9", &["audit"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("error: DescribeInstances failed"), "{err}");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn when_dry_run_without_fix_then_usage_error_exit_2() {
    let out = cli("http://127.0.0.1:9", &["audit", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--fix"), "{}", stderr(&out));
}

#[test]
fn when_an_account_id_is_malformed_then_usage_error_exit_2_naming_the_flag() {
    for args in [
        &["audit", "--accounts", "4444-5555-6666"][..],
        &["audit", "--regions", "eu-west"][..],
        &["audit", "--accounts", "org", "--role-name", "no/slashes"][..],
        &["audit", "--accounts", "org", "--concurrency", "0"][..],
    ] {
        let out = cli("http://127.0.0.1:9", args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let flag = args[args.len() - 2];
        assert!(stderr(&out).contains(flag), "{args:?}: {}", stderr(&out));
    }
}

/// The hub: moto's default account, the one the test's static credentials belong to.
const HUB: &str = "123456789012";
const MEMBER: &str = "444455556666";
/// A member account whose role cannot be assumed.
const LOCKED: &str = "777788889999";
const ROLE: &str = "ops-member";

fn sts_xml(status: u16, body: String) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.into_bytes(), "text/xml")
}

/// STS as the audit sees it. moto grants every `AssumeRole` (it checks neither that the role
/// exists nor that it trusts the caller), so no account can fail there. This stub (the CLI's
/// STS endpoint, `AWS_ENDPOINT_URL_STS`; EC2 stays moto) answers as AWS does: the caller is
/// the hub; the member's role gives credentials moto itself issued for the member account (so
/// its EC2 calls see the member's resources); the locked account's role is refused with AWS's
/// own `AccessDenied` document, which is what a member without infra/member.yaml's role, or
/// with a role not trusting the caller, answers.
async fn sts_stub(member: &Credentials) -> MockServer {
    let sts = MockServer::start().await;
    let ns = "https://sts.amazonaws.com/doc/2011-06-15/";
    let request_id = "<ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>";
    Mock::given(method("POST"))
        .and(body_string_contains("Action=GetCallerIdentity"))
        .respond_with(sts_xml(
            200,
            format!(
                "<GetCallerIdentityResponse xmlns=\"{ns}\"><GetCallerIdentityResult>\
                 <Arn>arn:aws:iam::{HUB}:user/operator</Arn><UserId>AIDASAMPLEUSERID</UserId>\
                 <Account>{HUB}</Account></GetCallerIdentityResult>{request_id}</GetCallerIdentityResponse>"
            ),
        ))
        .mount(&sts)
        .await;
    let expiration = (chrono::Utc::now() + chrono::Duration::hours(1))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole"))
        .and(body_string_contains(MEMBER))
        .respond_with(sts_xml(
            200,
            format!(
                "<AssumeRoleResponse xmlns=\"{ns}\"><AssumeRoleResult><Credentials>\
                 <AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
                 <SessionToken>{}</SessionToken><Expiration>{expiration}</Expiration></Credentials>\
                 <AssumedRoleUser><AssumedRoleId>AROASAMPLEROLEID:ssr-onboard</AssumedRoleId>\
                 <Arn>arn:aws:sts::{MEMBER}:assumed-role/{ROLE}/ssr-onboard</Arn></AssumedRoleUser>\
                 </AssumeRoleResult>{request_id}</AssumeRoleResponse>",
                member.access_key_id(),
                member.secret_access_key(),
                member.session_token().unwrap_or_default(),
            ),
        ))
        .mount(&sts)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("Action=AssumeRole"))
        .and(body_string_contains(LOCKED))
        .respond_with(sts_xml(
            403,
            format!(
                "<ErrorResponse xmlns=\"{ns}\"><Error><Type>Sender</Type><Code>AccessDenied</Code>\
                 <Message>User: arn:aws:iam::{HUB}:user/operator is not authorized to perform: \
                 sts:AssumeRole on resource: arn:aws:iam::{LOCKED}:role/{ROLE}</Message></Error>\
                 <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c8</RequestId></ErrorResponse>"
            ),
        ))
        .mount(&sts)
        .await;
    sts
}

/// Credentials moto issues for the member account (its resources are the member's).
async fn member_credentials(aws: &TestAws) -> Credentials {
    let out = aws_sdk_sts::Client::new(&aws.sdk)
        .assume_role()
        .role_arn(format!("arn:aws:iam::{MEMBER}:role/{ROLE}"))
        .role_session_name("test-setup")
        .send()
        .await
        .expect("moto AssumeRole");
    let c = out.credentials().expect("credentials");
    Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "moto-member",
    )
}

#[tokio::test]
async fn when_one_member_account_cannot_be_assumed_then_the_others_are_audited_with_account_and_region_and_exit_is_1(
) {
    let aws = TestAws::start().await;
    let hub_router = aws
        .launch_router(&aws.guide_vpc().await, &RouterSpec::guide("hub-router"))
        .await;
    let creds = member_credentials(&aws).await;
    let member_sdk = aws
        .sdk
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds.clone()))
        .build();
    let member = Sandbox::from_sdk(&member_sdk, aws.emulator.endpoint(), "us-east-1")
        .expect("member sandbox");
    let vpc = member.guide_vpc().await.expect("member vpc");
    // The sandbox's IAM calls use the hub's key, so the member router goes without an instance
    // profile; the small disk is its finding that needs a person.
    let spec = RouterSpec {
        root_volume_gb: 8,
        iam_instance_profile: false,
        ..RouterSpec::guide("member-router")
    };
    let member_router = member.launch_router(&vpc, &spec).await.expect("router");
    let sts = sts_stub(&creds).await;
    let sts_uri = sts.uri();
    let env = [("AWS_ENDPOINT_URL_STS", sts_uri.as_str())];
    let accounts = format!("{MEMBER},{LOCKED}");
    let args = [
        "audit",
        "--accounts",
        accounts.as_str(),
        "--role-name",
        ROLE,
        "--concurrency",
        "2",
    ];

    let out = cli_env(
        aws.emulator.endpoint(),
        &[&args[..], &["--output", "json"]].concat(),
        &env,
    );

    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed account wins over findings (3): {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let doc = json(&out);
    assert_eq!(doc["account"], HUB);
    let scopes: Vec<(String, String)> = doc["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                a["account"].as_str().unwrap_or_default().to_string(),
                a["status"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        scopes,
        [(HUB, "ok"), (MEMBER, "ok"), (LOCKED, "failed")]
            .map(|(a, s)| (a.to_string(), s.to_string())),
        "{doc}"
    );
    let locked = &doc["accounts"][2];
    assert_eq!(locked["region"], "us-east-1");
    let error = locked["error"].as_str().expect("error");
    assert!(error.contains("AccessDenied"), "{error}");
    assert!(error.contains("sts:AssumeRole"), "{error}");
    assert!(
        !error.contains("DispatchFailure("),
        "no SDK debug dump in the report: {error}"
    );
    let role_arn = format!("arn:aws:iam::{LOCKED}:role/{ROLE}");
    assert_eq!(locked["role_arn"], role_arn.as_str());
    assert!(
        locked["hint"]
            .as_str()
            .expect("hint")
            .contains(&format!("aws sts assume-role --role-arn {role_arn}")),
        "{locked}"
    );
    assert_eq!(doc["summary"]["accounts_failed"], 1);
    assert!(
        stderr(&out).contains(&format!("{LOCKED}/us-east-1 not audited")),
        "{}",
        stderr(&out)
    );

    let routers = doc["routers"].as_array().expect("routers");
    let find = |id: &str| {
        routers
            .iter()
            .find(|r| r["instance_id"] == id)
            .unwrap_or_else(|| panic!("{id} audited: {doc}"))
    };
    let m = find(&member_router.instance_id);
    assert_eq!(m["account"], MEMBER);
    assert_eq!(m["region"], "us-east-1");
    assert!(codes(m).iter().any(|c| c == "ROOT_VOLUME_TOO_SMALL"), "{m}");
    let h = find(&hub_router.instance_id);
    assert_eq!(h["account"], HUB);
    assert_eq!(
        routers.len(),
        2,
        "each router once, in its own account: {doc}"
    );
    assert!(doc["summary"]["findings_remaining"].as_u64() > Some(0));

    // The member role named by --role-name was assumed in each member account, nothing else.
    let assumed: Vec<String> = sts
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.contains("Action=AssumeRole"))
        .collect();
    assert_eq!(assumed.len(), 2, "{assumed:?}");
    assert!(assumed.iter().all(|b| b.contains(ROLE)), "{assumed:?}");

    // The same audit as a table: one table for all, ACCOUNT and REGION first.
    let out = cli_env(aws.emulator.endpoint(), &args, &env);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}\n{}", stderr(&out));
    let header = text.lines().next().unwrap_or_default();
    assert!(header.starts_with("ACCOUNT"), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains("ROOT_VOLUME_TOO_SMALL"))
        .expect("the member's finding");
    assert!(row.starts_with(&format!("{MEMBER}  us-east-1")), "{text}");
    assert!(
        text.contains(&format!(
            "({} in {MEMBER}/us-east-1)",
            member_router.instance_id
        )),
        "what to do names the account and region: {text}"
    );
    assert!(text.contains(&format!("- {LOCKED}/us-east-1: ")), "{text}");
    assert!(text.contains("aws sts assume-role"), "{text}");
    assert!(text.contains("NOT audited"), "{text}");
}

#[tokio::test]
async fn when_routers_are_tagged_ignore_or_monitor_then_fix_writes_to_neither_and_ignored_is_listed(
) {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;
    let ignored = aws
        .launch_router(&vpc, &RouterSpec::guide("audit-ignored"))
        .await;
    let monitored = aws
        .launch_router(&vpc, &RouterSpec::guide("audit-monitored"))
        .await;
    for (id, value) in [
        (&ignored.instance_id, "ignore"),
        (&monitored.instance_id, "monitor"),
    ] {
        aws.ec2
            .create_tags()
            .resources(id)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key("SSR-ONBOARD")
                    .value(value)
                    .build(),
            )
            .send()
            .await
            .expect("CreateTags");
    }
    aws.start_recording().await;

    let out = cli(
        aws.emulator.endpoint(),
        &["audit", "--fix", "--output", "json"],
    );

    let doc = json(&out);
    assert_eq!(aws.ec2_write_calls().await, Vec::<String>::new(), "{doc}");
    let routers = doc["routers"].as_array().expect("routers");
    let by_id = |id: &str| {
        routers
            .iter()
            .find(|r| r["instance_id"] == id)
            .unwrap_or_else(|| panic!("{id} listed: {doc}"))
    };
    let i = by_id(&ignored.instance_id);
    assert_eq!(i["control"], "ignore");
    assert_eq!(i["checked"], false);
    let m = by_id(&monitored.instance_id);
    assert_eq!(m["control"], "monitor");
    assert!(codes(m).iter().any(|c| c == "SRC_DST_CHECK_ENABLED"));
    assert!(m["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .all(|a| a["status"] == "planned"));
    let text = stdout(&cli(aws.emulator.endpoint(), &["audit"]));
    assert!(text.contains("ignored (SSR-ONBOARD=ignore)"), "{text}");
}
