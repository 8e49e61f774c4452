use aws_sdk_ec2::error::ProvideErrorMetadata as _;
use aws_sdk_ec2::types::{AttributeBooleanValue, InstanceAttributeName, InstanceType};
use aws_smithy_mocks::{mock_client, RuleMode};
use base64::Engine as _;

use super::*;

const ID: &str = "i-0abc1234567890def";

#[tokio::test]
async fn when_interface_modified_then_read_back_sees_the_write_and_only_asked_ids() {
    let mut router = MockRouter::guide(ID, "r");
    router.interfaces[1].source_dest_check = Some(true);
    let rules = router.rules();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
    ec2.modify_network_interface_attribute()
        .network_interface_id("eni-lan")
        .source_dest_check(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .expect("modify");
    let back = ec2
        .describe_network_interfaces()
        .network_interface_ids("eni-lan")
        .send()
        .await
        .expect("describe");
    assert_eq!(back.network_interfaces().len(), 1);
    assert_eq!(
        back.network_interfaces()[0].source_dest_check(),
        Some(false)
    );
    let all = ec2
        .describe_network_interfaces()
        .send()
        .await
        .expect("describe");
    assert_eq!(all.network_interfaces().len(), 2);
    assert_eq!(
        all.network_interfaces()[0].tag_set()[0].value(),
        Some("WAN")
    );
    assert_eq!(rules.modify_interface.num_calls(), 1);
    assert_eq!(rules.describe_interfaces.num_calls(), 2);
}

#[tokio::test]
async fn when_ena_enabled_then_attribute_reads_true() {
    let mut router = MockRouter::guide(ID, "r");
    router.ena_support = None;
    let rules = router.rules();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
    let read = || async {
        ec2.describe_instance_attribute()
            .instance_id(ID)
            .attribute(InstanceAttributeName::EnaSupport)
            .send()
            .await
            .expect("read")
            .ena_support()
            .and_then(|v| v.value())
    };
    assert_eq!(read().await, Some(false));
    ec2.modify_instance_attribute()
        .instance_id(ID)
        .ena_support(AttributeBooleanValue::builder().value(true).build())
        .send()
        .await
        .expect("modify");
    assert_eq!(read().await, Some(true));
}

#[tokio::test]
async fn when_user_data_set_or_denied_then_base64_or_unauthorized() {
    let mut router = MockRouter::guide(ID, "r");
    router.user_data = MockUserData::Text(guide_user_data("r", "6.3.0", "CODE"));
    let rules = router.rules();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
    let out = ec2
        .describe_instance_attribute()
        .instance_id(ID)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .expect("read");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(out.user_data().and_then(|v| v.value()).expect("value"))
        .expect("base64");
    assert!(String::from_utf8_lossy(&decoded).contains("\"registration-code\": \"CODE\""));

    router.user_data = MockUserData::Denied;
    let rules = router.rules();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
    let err = ec2
        .describe_instance_attribute()
        .instance_id(ID)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Some("UnauthorizedOperation"));
}

#[tokio::test]
async fn when_eni_modify_denied_then_that_eni_fails_and_keeps_its_value() {
    let mut router = MockRouter::guide(ID, "r");
    router.interfaces[0].source_dest_check = Some(true);
    router.modify_denied_eni = Some("eni-wan".into());
    let rules = router.rules();
    let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, rules.all());
    let err = ec2
        .modify_network_interface_attribute()
        .network_interface_id("eni-wan")
        .source_dest_check(AttributeBooleanValue::builder().value(false).build())
        .send()
        .await
        .expect_err("denied");
    assert_eq!(err.code(), Some("UnauthorizedOperation"));
    let back = ec2
        .describe_network_interfaces()
        .network_interface_ids("eni-wan")
        .send()
        .await
        .expect("describe");
    assert_eq!(back.network_interfaces()[0].source_dest_check(), Some(true));
}

#[test]
fn when_rules_left_out_then_only_those_are_missing() {
    let rules = MockRouter::guide(ID, "r").rules();
    let without = rules.without(&[&rules.route_tables]);
    assert_eq!(without.len(), rules.all().len() - 1);
    assert!(!without
        .iter()
        .any(|r| std::ptr::eq(*r, &rules.route_tables)));
    let extra = rules.volumes.clone();
    assert_eq!(rules.after(&[&extra]).len(), rules.all().len() + 1);
}

#[test]
fn when_instance_described_then_guide_shape() {
    let i = MockRouter::guide(ID, "SSR_1_Router").instance();
    assert_eq!(i.instance_id(), Some(ID));
    assert_eq!(i.instance_type(), Some(&InstanceType::C5Xlarge));
    assert_eq!(i.ena_support(), Some(true));
    assert_eq!(i.root_device_name(), Some("/dev/sda1"));
    assert_eq!(i.network_interfaces().len(), 2);
    let tags: Vec<_> = i.tags().iter().filter_map(|t| t.key()).collect();
    assert_eq!(tags, vec!["Name", ROUTER_TAG_KEY]);
}
