//! An organization deployment against one emulator: the hub (moto's default account) handles an
//! event forwarded from a member account by assuming the member role there. moto gives
//! credentials from `AssumeRole` into another account id their own resources (see the notes), so
//! the member's router exists only in the member account.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use ssr_core::handlers::guard;
use ssr_core::handlers::watchdog::Watchdog;
use ssr_core::plan::ActionStatus;
use ssr_core::{Config, Deps};
use ssr_onboard_tests::{
    ec2_state_change_event, AlertCapture, LaunchedRouter, RouterSpec, TestAws,
};
use ssr_sandbox::world::Sandbox;

const TABLE: &str = "ssr-onboard-state";
/// The hub: moto's default account, and the account of the EventBridge sample events.
const HUB: &str = "123456789012";
const MEMBER: &str = "444455556666";

/// A started emulator with the state table and the alert capture, and `spec`'s router launched
/// in the member account (guide VPC there). The sandbox's IAM calls use the hub's static key
/// (it has no IAM SDK), so member routers go without an instance profile.
async fn world_with_member_router(
    spec: RouterSpec,
) -> (TestAws, AlertCapture, Sandbox, LaunchedRouter) {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let (_, member) = aws.member_world(MEMBER, "ssr-onboard-member").await;
    let vpc = member.guide_vpc().await.expect("member vpc");
    let spec = RouterSpec {
        iam_instance_profile: false,
        ..spec
    };
    let router = member.launch_router(&vpc, &spec).await.expect("router");
    (aws, capture, member, router)
}

fn hub_deps(aws: &TestAws, topic: &str) -> Deps {
    let vars = HashMap::from([
        ("STATE_TABLE", TABLE.to_string()),
        ("ALERT_TOPIC_ARN", topic.to_string()),
        ("HUB_ACCOUNT_ID", HUB.to_string()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    Deps::from_sdk_config(config, &aws.sdk)
}

fn member_event(instance_id: &str) -> serde_json::Value {
    let mut ev = ec2_state_change_event(instance_id, "running");
    ev["account"] = MEMBER.into();
    ev["resources"] = serde_json::json!([format!(
        "arn:aws:ec2:us-east-1:{MEMBER}:instance/{instance_id}"
    )]);
    ev
}

#[tokio::test]
async fn when_a_member_router_event_reaches_the_hub_then_it_is_fixed_in_the_member_account_and_alerted_on_the_hub_topic(
) {
    // The small disk is the finding to alert.
    let (aws, capture, member, router) = world_with_member_router(RouterSpec {
        root_volume_gb: 8,
        ..RouterSpec::guide("member-branch")
    })
    .await;
    // The router is the member's: the hub's own credentials do not see it.
    let hub_view = aws
        .ec2
        .describe_instances()
        .instance_ids(&router.instance_id)
        .send()
        .await;
    assert!(
        hub_view.map_or(true, |o| o.reservations().is_empty()),
        "the router must exist only in the member account"
    );
    let d = hub_deps(&aws, &capture.topic_arn);

    let o = guard::handle_event(
        &d,
        member_event(&router.instance_id),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("guarded in the member account");

    assert!(o.selected, "{}", o.reason);
    let fixed: Vec<&str> = o
        .actions
        .iter()
        .filter(|a| a.status == ActionStatus::Applied)
        .map(|a| a.action.resource())
        .collect();
    assert_eq!(
        fixed,
        [router.wan_eni_id.as_str(), router.lan_eni_id.as_str()]
    );
    for eni in [&router.wan_eni_id, &router.lan_eni_id] {
        let out = member
            .ec2
            .describe_network_interfaces()
            .network_interface_ids(eni.as_str())
            .send()
            .await
            .expect("member ENI");
        assert_eq!(
            out.network_interfaces()[0].source_dest_check(),
            Some(false),
            "{eni} fixed in the member account"
        );
    }
    let alerts = capture.drain(&aws).await;
    assert_eq!(
        alerts.len(),
        1,
        "the small disk is alerted once, on the hub topic"
    );
    let a = &alerts[0];
    assert_eq!(
        a.attributes.get("account").map(String::as_str),
        Some(MEMBER)
    );
    assert_eq!(
        a.attributes.get("region").map(String::as_str),
        Some("us-east-1")
    );
    assert!(a.message.contains(MEMBER), "{}", a.message);

    // A replay writes nothing and pages nobody.
    aws.start_recording().await;
    let replay = guard::handle_event(
        &d,
        member_event(&router.instance_id),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("replay");
    assert!(replay.actions.is_empty(), "{:?}", replay.actions);
    assert!(aws.ec2_write_calls().await.is_empty());
    assert!(capture.drain(&aws).await.is_empty());
}

#[tokio::test]
async fn when_no_hub_account_is_configured_then_a_foreign_account_event_is_handled_with_own_credentials(
) {
    let aws = TestAws::start().await;
    let vars = HashMap::from([("STATE_TABLE", TABLE.to_string())]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    let d = Deps::from_sdk_config(config, &aws.sdk);
    // A single-account deployment: the instance is looked up here; a member's id is not found.
    let o = guard::handle_event(
        &d,
        member_event("i-0123456789abcdef0"),
        ssr_core::Deadline::NONE,
    )
    .await
    .expect("handled");
    assert!(!o.selected);
    assert!(
        o.reason.contains("InvalidInstanceID.NotFound"),
        "{}",
        o.reason
    );
}

/// A Mist org that knows no gateway yet (the real shapes: both lists empty).
async fn empty_mist() -> wiremock::MockServer {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let mist = MockServer::start().await;
    for resource in ["inventory", "stats/devices"] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orgs/{MIST_ORG}/{resource}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
            .mount(&mist)
            .await;
    }
    mist
}

const MIST_ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";

/// The hub's watchdog: its own account plus `members` (`MEMBER_ACCOUNTS`), Mist at `mist`.
fn hub_watchdog(aws: &TestAws, topic: &str, members: &str, mist: &str) -> (Deps, Watchdog) {
    hub_watchdog_with(aws, topic, members, mist, &[])
}

/// [`hub_watchdog`] with more variables (`MEMBER_REGIONS`…).
fn hub_watchdog_with(
    aws: &TestAws,
    topic: &str,
    members: &str,
    mist: &str,
    extra: &[(&'static str, &str)],
) -> (Deps, Watchdog) {
    let mut vars = HashMap::from([
        ("STATE_TABLE", TABLE.to_string()),
        ("ALERT_TOPIC_ARN", topic.to_string()),
        ("HUB_ACCOUNT_ID", HUB.to_string()),
        ("MEMBER_ACCOUNTS", members.to_string()),
        ("MIST_API_URL", mist.to_string()),
        ("MIST_ORG_ID", MIST_ORG.to_string()),
        ("MIST_API_TOKEN", "mist-token-org-test".to_string()),
    ]);
    vars.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    let deps = Deps::from_sdk_config(config, &aws.sdk);
    let w = Watchdog::new(&deps.config, deps.secrets_client());
    (deps, w)
}

fn sweep_event(at: DateTime<Utc>) -> serde_json::Value {
    let mut v = ssr_testkit::fixture("scheduled-event");
    v["time"] = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
    v["id"] = format!("sweep-{}", at.timestamp()).into();
    v
}

#[tokio::test]
async fn when_the_watchdog_sweeps_a_member_account_then_its_late_router_is_paged_once_on_the_hub_topic_naming_the_account(
) {
    let (aws, capture, member, router) =
        world_with_member_router(RouterSpec::guide("member-late")).await;
    let launched = member
        .ec2
        .describe_instances()
        .instance_ids(&router.instance_id)
        .send()
        .await
        .expect("member DescribeInstances")
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find_map(|i| i.launch_time())
        .and_then(|t| DateTime::from_timestamp(t.secs(), 0))
        .expect("launch time");
    let mist = empty_mist().await;
    let (d, w) = hub_watchdog(&aws, &capture.topic_arn, MEMBER, &mist.uri());

    let first = w
        .handle_event(
            &d,
            sweep_event(launched + Duration::minutes(1)),
            ssr_core::Deadline::NONE,
        )
        .await
        .expect("first sweep");
    let scopes: Vec<(Option<&str>, &str, usize)> = first
        .members
        .iter()
        .map(|m| (m.account.as_deref(), m.status.as_str(), m.routers))
        .collect();
    assert_eq!(
        scopes,
        [(Some(HUB), "ok", 0), (Some(MEMBER), "ok", 1)],
        "the hub's own account and the member, each swept"
    );
    assert!(capture.drain(&aws).await.is_empty(), "not late yet");

    let late = w
        .handle_event(
            &d,
            sweep_event(launched + Duration::minutes(16)),
            ssr_core::Deadline::NONE,
        )
        .await
        .expect("late sweep");
    assert_eq!(late.overdue_now, 1);
    assert_eq!(late.episodes[0].account.as_deref(), Some(MEMBER));
    let alerts = capture.drain(&aws).await;
    assert_eq!(alerts.len(), 1, "one page for the member's late router");
    let a = &alerts[0];
    let subject = a.subject.as_deref().unwrap_or_default();
    assert!(
        subject.starts_with(&format!("[{MEMBER} us-east-1] SSR onboarding overdue")),
        "{subject}"
    );
    assert_eq!(
        a.attributes.get("account").map(String::as_str),
        Some(MEMBER)
    );
    assert_eq!(
        a.attributes.get("region").map(String::as_str),
        Some("us-east-1")
    );
    assert!(a.message.contains(&router.instance_id), "{}", a.message);
    assert!(
        a.message.contains(&format!("Account:     {MEMBER}")),
        "{}",
        a.message
    );

    // The next sweep (and a replay of this one) pages nobody again.
    for at in [16, 17] {
        let o = w
            .handle_event(
                &d,
                sweep_event(launched + Duration::minutes(at)),
                ssr_core::Deadline::NONE,
            )
            .await
            .expect("later sweep");
        assert_eq!(o.overdue_now, 1);
    }
    assert!(capture.drain(&aws).await.is_empty(), "paged exactly once");
}

#[tokio::test]
async fn when_member_accounts_is_org_then_every_active_account_of_the_organization_is_swept() {
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let org = aws_sdk_organizations::Client::new(&aws.sdk);
    org.create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let created = org
        .create_account()
        .account_name("branch-fleet")
        .email("fleet@example.com")
        .send()
        .await
        .expect("CreateAccount");
    let member = created
        .create_account_status()
        .and_then(|s| s.account_id())
        .expect("the new account's id")
        .to_string();
    let mist = empty_mist().await;
    let (d, w) = hub_watchdog(&aws, &capture.topic_arn, "org", &mist.uri());

    let o = w
        .handle_event(&d, sweep_event(Utc::now()), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");

    let accounts: Vec<(&str, &str)> = o
        .members
        .iter()
        .filter_map(|m| Some((m.account.as_deref()?, m.status.as_str())))
        .collect();
    assert!(
        accounts.contains(&(member.as_str(), "ok")),
        "the organization's new account is swept: {accounts:?}"
    );
    assert!(accounts.contains(&(HUB, "ok")), "{accounts:?}");
    assert!(o.errors.is_empty(), "{:?}", o.errors);

    // MEMBER_ACCOUNTS_EXCLUDE: the account is listed by the organization but never swept.
    let (d, w) = hub_watchdog_with(
        &aws,
        &capture.topic_arn,
        "org",
        &mist.uri(),
        &[("MEMBER_ACCOUNTS_EXCLUDE", member.as_str())],
    );
    let o = w
        .handle_event(&d, sweep_event(Utc::now()), ssr_core::Deadline::NONE)
        .await
        .expect("sweep");
    let swept: Vec<&str> = o
        .members
        .iter()
        .filter_map(|m| m.account.as_deref())
        .collect();
    assert_eq!(swept, [HUB], "the excluded account is not swept");
}

#[tokio::test]
async fn when_a_member_region_cannot_be_read_then_one_member_unreachable_alert_per_account_a_day_and_the_rest_is_swept(
) {
    let (aws, capture, _member, _router) =
        world_with_member_router(RouterSpec::guide("member-ok")).await;
    let mist = empty_mist().await;
    // The emulator serves no region of this name and answers every EC2 call there with an
    // error (an HTTP 500), as a real account answers for an opt-in region it has not enabled
    // (with an AuthFailure): the scope cannot be read.
    let (d, w) = hub_watchdog_with(
        &aws,
        &capture.topic_arn,
        MEMBER,
        &mist.uri(),
        &[("MEMBER_REGIONS", "us-east-1,xx-nowhere-1")],
    );
    let now = Utc::now();

    let o = w
        .handle_event(&d, sweep_event(now), ssr_core::Deadline::NONE)
        .await
        .expect("a sweep with unreachable scopes still succeeds");

    let scopes: Vec<(Option<&str>, Option<&str>, &str, usize)> = o
        .members
        .iter()
        .map(|m| {
            (
                m.account.as_deref(),
                m.region.as_deref(),
                m.status.as_str(),
                m.routers,
            )
        })
        .collect();
    assert_eq!(
        scopes,
        [
            (Some(HUB), Some("us-east-1"), "ok", 0),
            (Some(HUB), Some("xx-nowhere-1"), "unreachable", 0),
            (Some(MEMBER), Some("us-east-1"), "ok", 1),
            (Some(MEMBER), Some("xx-nowhere-1"), "unreachable", 0),
        ]
    );
    assert_eq!(o.routers, 1, "the reachable member's router is watched");
    let alerts = capture.drain(&aws).await;
    let mut unreachable: Vec<(String, String)> = alerts
        .iter()
        .filter(|a| a.attributes.get("kind").map(String::as_str) == Some("member-unreachable"))
        .map(|a| {
            (
                a.attributes.get("account").cloned().unwrap_or_default(),
                a.subject.clone().unwrap_or_default(),
            )
        })
        .collect();
    unreachable.sort();
    assert_eq!(unreachable.len(), 2, "one per account: {unreachable:?}");
    assert_eq!(unreachable[0].0, HUB);
    assert_eq!(unreachable[1].0, MEMBER);
    assert!(
        unreachable[1]
            .1
            .contains(&format!("member account {MEMBER} not swept")),
        "{}",
        unreachable[1].1
    );
    let body = &alerts
        .iter()
        .find(|a| a.attributes.get("account").map(String::as_str) == Some(MEMBER))
        .expect("the member's alert")
        .message;
    assert!(
        body.contains(&format!("arn:aws:iam::{MEMBER}:role/ssr-onboard-member")),
        "names the role: {body}"
    );

    // The same day, later sweeps say nothing more about it.
    let again = w
        .handle_event(
            &d,
            sweep_event(now + Duration::minutes(1)),
            ssr_core::Deadline::NONE,
        )
        .await
        .expect("second sweep");
    assert_eq!(
        again
            .members
            .iter()
            .filter(|m| m.status.as_str() == "unreachable")
            .count(),
        2
    );
    assert!(
        capture.drain(&aws).await.is_empty(),
        "once a day per account"
    );
}

#[tokio::test]
async fn when_the_hubs_own_ec2_event_arrives_on_the_default_bus_and_the_hub_bus_then_the_second_delivery_writes_nothing_and_pages_nobody(
) {
    // A delegated-administrator hub whose own account the member StackSet also covers: the same
    // EC2 state change (same id, account = the hub's) reaches instance-guard from the default
    // bus and again from the hub bus. The hub handles it with its own credentials both times.
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let vpc = aws.guide_vpc().await;
    let router = aws
        .launch_router(
            &vpc,
            &RouterSpec {
                root_volume_gb: 8,
                ..RouterSpec::guide("hub-branch")
            },
        )
        .await;
    let d = hub_deps(&aws, &capture.topic_arn);
    let event = ssr_onboard_tests::ec2_state_change_event(&router.instance_id, "running");
    assert_eq!(event["account"], HUB, "the hub's own account");

    let first = guard::handle_event(&d, event.clone(), ssr_core::Deadline::NONE)
        .await
        .expect("the default bus's delivery");
    assert_eq!(first.actions.len(), 2, "both ENIs fixed");
    assert!(first.alert.sent, "the small disk is alerted");

    aws.start_recording().await;
    let second = guard::handle_event(&d, event, ssr_core::Deadline::NONE)
        .await
        .expect("the hub bus's delivery");
    let calls: Vec<String> = aws
        .recorded_requests()
        .await
        .into_iter()
        .filter_map(|r| r.action)
        .collect();
    let writes: Vec<&String> = calls
        .iter()
        .filter(|a| {
            !["Describe", "Get", "BatchGet", "List"]
                .iter()
                .any(|p| a.starts_with(p))
        })
        .collect();
    assert!(
        writes.is_empty(),
        "the second delivery wrote: {writes:?} (all: {calls:?})"
    );
    assert!(
        !calls.iter().any(|a| a == "AssumeRole"),
        "the hub's own account needs no member role: {calls:?}"
    );
    assert!(second.actions.is_empty(), "{:?}", second.actions);
    assert!(!second.alert.sent, "{}", second.alert.reason);
    assert_eq!(
        capture.drain(&aws).await.len(),
        1,
        "one alert over both deliveries"
    );
}

/// Never enrolled: no member stack there (the role does not exist).
const NEW: &str = "777788889999";

/// The endpoint of STS only (every other service keeps the emulator's): AWS's own answers to
/// AssumeRole, which moto cannot give (it lets any role be assumed).
#[derive(Debug)]
struct StsAt(String);

impl aws_types::service_config::LoadServiceConfig for StsAt {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        (key.service_id() == "STS" && key.profile() == "endpoint_url").then(|| self.0.clone())
    }
}

/// STS as AWS answers the hub: AssumeRole into the member role of each of `enrolled` returns
/// the emulator's credentials for that role (what moto makes of them belongs to that account);
/// any other role is refused `AccessDenied` (HTTP 403), as AWS refuses a role that does not
/// exist or does not trust the caller.
async fn sts(aws: &TestAws, enrolled: &[&str]) -> wiremock::MockServer {
    use aws_sdk_ec2::config::ProvideCredentials;
    use wiremock::matchers::{body_string_contains, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    for account in enrolled {
        let role = format!("arn:aws:iam::{account}:role/ssr-onboard-member");
        let creds = aws_config::sts::AssumeRoleProvider::builder(&role)
            .session_name("ssr-onboard")
            .configure(&aws.sdk)
            .build()
            .await
            .provide_credentials()
            .await
            .expect("the emulator's credentials for the member role");
        let expiration =
            (Utc::now() + Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let body = format!(
            r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:ssr-onboard</AssumedRoleId>
      <Arn>arn:aws:sts::{account}:assumed-role/ssr-onboard-member/ssr-onboard</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{}</AccessKeyId>
      <SecretAccessKey>{}</SecretAccessKey>
      <SessionToken>{}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#,
            creds.access_key_id(),
            creds.secret_access_key(),
            creds.session_token().unwrap_or_default(),
        );
        Mock::given(method("POST"))
            .and(body_string_contains(format!("iam%3A%3A{account}%3Arole")))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "text/xml"))
            .with_priority(1)
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(403).set_body_raw(
            format!(
                r#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:sts::{HUB}:assumed-role/ssr-onboard-OnboardingWatchdogRole-1A2B3C4D5E6F/ssr-onboard-onboarding-watchdog is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::*:role/ssr-onboard-member</Message>
  </Error>
  <RequestId>0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d</RequestId>
</ErrorResponse>"#
            ),
            "text/xml",
        ))
        .mount(&server)
        .await;
    server
}

/// The hub's watchdog sweeping `members`, with STS at `sts` (a cold start each call).
fn hub_watchdog_sts(
    aws: &TestAws,
    topic: &str,
    members: &str,
    mist: &str,
    sts: &str,
) -> (Deps, Watchdog) {
    let vars = HashMap::from([
        ("STATE_TABLE", TABLE.to_string()),
        ("ALERT_TOPIC_ARN", topic.to_string()),
        ("HUB_ACCOUNT_ID", HUB.to_string()),
        ("MEMBER_ACCOUNTS", members.to_string()),
        ("MIST_API_URL", mist.to_string()),
        ("MIST_ORG_ID", MIST_ORG.to_string()),
        ("MIST_API_TOKEN", "mist-token-org-test".to_string()),
    ]);
    let config = Config::from_vars(|k| vars.get(k).cloned()).expect("config");
    let sdk = aws
        .sdk
        .to_builder()
        .service_config(StsAt(sts.to_string()))
        .build();
    let deps = Deps::from_sdk_config(config, &sdk);
    let w = Watchdog::new(&deps.config, deps.secrets_client());
    (deps, w)
}

fn statuses(o: &ssr_core::handlers::watchdog::SweepOutcome) -> Vec<(&str, &str)> {
    o.members
        .iter()
        .filter_map(|m| Some((m.account.as_deref()?, m.status.as_str())))
        .collect()
}

async fn enrolled_item(aws: &TestAws, account: &str) -> bool {
    aws.dynamodb
        .get_item()
        .table_name(TABLE)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("member-enrolled#{account}")),
        )
        .send()
        .await
        .expect("GetItem")
        .item
        .is_some()
}

#[tokio::test]
async fn when_sts_denies_an_account_never_read_then_it_is_not_enrolled_with_one_info_notice_a_day_and_one_that_worked_before_pages(
) {
    use ssr_core::metrics::Measured;
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let mist = empty_mist().await;
    let members = format!("{MEMBER},{NEW}");
    let both_work = sts(&aws, &[MEMBER]).await;
    let (d, w) = hub_watchdog_sts(
        &aws,
        &capture.topic_arn,
        &members,
        &mist.uri(),
        &both_work.uri(),
    );
    let now = Utc::now();

    let first = w
        .handle_event(&d, sweep_event(now), ssr_core::Deadline::NONE)
        .await
        .expect("a sweep with a member not enrolled succeeds");
    assert_eq!(
        statuses(&first),
        [(HUB, "ok"), (MEMBER, "ok"), (NEW, "not-enrolled")]
    );
    let new = first
        .members
        .iter()
        .find(|m| m.account.as_deref() == Some(NEW))
        .expect("the new account's scope");
    assert!(
        new.error
            .as_deref()
            .is_some_and(|e| e.contains("AccessDenied")),
        "{:?}",
        new.error
    );
    let m = first.metrics();
    assert_eq!(m.get("MembersNotEnrolled", &[]), Some(&[1.0][..]));
    assert_eq!(m.get("MembersUnreachable", &[]), Some(&[0.0][..]));
    let alerts = capture.drain(&aws).await;
    let kinds: Vec<(&str, &str, &str)> = alerts
        .iter()
        .map(|a| {
            let attr = |k: &str| a.attributes.get(k).map(String::as_str).unwrap_or("");
            (attr("kind"), attr("severity"), attr("account"))
        })
        .collect();
    assert_eq!(
        kinds,
        [("member-not-enrolled", "info", NEW)],
        "a notice, not a page"
    );
    assert!(
        enrolled_item(&aws, MEMBER).await,
        "the member's first read is recorded"
    );
    assert!(!enrolled_item(&aws, NEW).await);

    // Later sweeps the same day: no notice again, and no write for what is already known.
    aws.start_recording().await;
    let again = w
        .handle_event(
            &d,
            sweep_event(now + Duration::minutes(1)),
            ssr_core::Deadline::NONE,
        )
        .await
        .expect("second sweep");
    assert_eq!(
        statuses(&again),
        [(HUB, "ok"), (MEMBER, "ok"), (NEW, "not-enrolled")]
    );
    let puts: Vec<String> = aws
        .recorded_requests()
        .await
        .into_iter()
        .filter_map(|r| r.action)
        .filter(|a| a == "PutItem")
        .collect();
    assert!(puts.is_empty(), "a steady sweep writes nothing: {puts:?}");
    assert!(capture.drain(&aws).await.is_empty(), "once a day");

    // The member's role stops trusting the hub; a new container assumes it again and is
    // refused like the never-enrolled account, but the member's history makes it a page.
    let none_work = sts(&aws, &[]).await;
    let (d, w) = hub_watchdog_sts(
        &aws,
        &capture.topic_arn,
        &members,
        &mist.uri(),
        &none_work.uri(),
    );
    let broken = w
        .handle_event(
            &d,
            sweep_event(now + Duration::minutes(2)),
            ssr_core::Deadline::NONE,
        )
        .await
        .expect("third sweep");
    assert_eq!(
        statuses(&broken),
        [(HUB, "ok"), (MEMBER, "unreachable"), (NEW, "not-enrolled")]
    );
    let alerts = capture.drain(&aws).await;
    let kinds: Vec<(&str, &str)> = alerts
        .iter()
        .map(|a| {
            let attr = |k: &str| a.attributes.get(k).map(String::as_str).unwrap_or("");
            (attr("kind"), attr("account"))
        })
        .collect();
    assert_eq!(kinds, [("member-unreachable", MEMBER)], "paged as before");
}
