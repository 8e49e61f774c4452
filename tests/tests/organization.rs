//! An organization deployment against one emulator: the hub (moto's default account) handles an
//! event forwarded from a member account by assuming the member role there. moto gives
//! credentials from `AssumeRole` into another account id their own resources (see the notes), so
//! the member's router exists only in the member account.

use std::collections::HashMap;

use aws_config::sts::AssumeRoleProvider;
use aws_config::SdkConfig;
use ssr_core::handlers::guard;
use ssr_core::plan::ActionStatus;
use ssr_core::{Config, Deps};
use ssr_onboard_tests::{ec2_state_change_event, RouterSpec, TestAws};
use ssr_sandbox::world::Sandbox;

const TABLE: &str = "ssr-onboard-state";
/// The hub: moto's default account, and the account of the EventBridge sample events.
const HUB: &str = "123456789012";
const MEMBER: &str = "444455556666";

/// What an operator's credentials in the member account look like to moto: the member role,
/// assumed from the hub's credentials.
async fn member_sdk(aws: &TestAws) -> SdkConfig {
    let provider =
        AssumeRoleProvider::builder(format!("arn:aws:iam::{MEMBER}:role/ssr-onboard-member"))
            .session_name("test-setup")
            .configure(&aws.sdk)
            .build()
            .await;
    aws.sdk
        .to_builder()
        .credentials_provider(aws_sdk_ec2::config::SharedCredentialsProvider::new(
            provider,
        ))
        .build()
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
    let aws = TestAws::start().await;
    aws.create_state_table(TABLE).await;
    let capture = aws.alert_capture().await;
    let member = Sandbox::from_sdk(
        &member_sdk(&aws).await,
        aws.emulator.endpoint(),
        "us-east-1",
    )
    .expect("member sandbox");
    let vpc = member.guide_vpc().await.expect("member vpc");
    // The sandbox's IAM calls use the hub's static key (it has no IAM SDK), so the member's
    // router goes without an instance profile; the small disk is the finding to alert.
    let spec = RouterSpec {
        root_volume_gb: 8,
        iam_instance_profile: false,
        ..RouterSpec::guide("member-branch")
    };
    let router = member.launch_router(&vpc, &spec).await.expect("router");
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

    let o = guard::handle_event(&d, member_event(&router.instance_id))
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
    let replay = guard::handle_event(&d, member_event(&router.instance_id))
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
    let o = guard::handle_event(&d, member_event("i-0123456789abcdef0"))
        .await
        .expect("handled");
    assert!(!o.selected);
    assert!(
        o.reason.contains("InvalidInstanceID.NotFound"),
        "{}",
        o.reason
    );
}
