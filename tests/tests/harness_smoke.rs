//! Tests of the harness itself against moto: they pin down the emulator behaviours the product's
//! integration tests rely on.

use std::net::TcpStream;
use std::time::Duration;

use aws_sdk_sns::types::MessageAttributeValue;
use ssr_onboard_tests::{
    Emulator, RouterSpec, TestAws, REG_CODE, ROUTER_INSTANCE_PROFILE, SSR_ROLE_TAG,
};

fn tag_value(tags: &[aws_sdk_ec2::types::Tag], key: &str) -> Option<String> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
        .map(str::to_string)
}

#[tokio::test]
async fn when_router_launched_like_the_guide_then_two_tagged_enis_with_src_dst_check_on() {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec::guide("branch-1");

    let router = aws.launch_router(&vpc, &spec).await;

    let enis = aws.instance_enis(&router.instance_id).await;
    assert_eq!(enis.len(), 2, "two interfaces attached: {enis:#?}");
    let (wan, lan) = (&enis[0], &enis[1]);
    assert_eq!(wan.network_interface_id(), Some(router.wan_eni_id.as_str()));
    assert_eq!(lan.network_interface_id(), Some(router.lan_eni_id.as_str()));
    assert_eq!(wan.attachment().and_then(|a| a.device_index()), Some(0));
    assert_eq!(lan.attachment().and_then(|a| a.device_index()), Some(1));
    assert_eq!(wan.subnet_id(), Some(vpc.public_subnet_id.as_str()));
    assert_eq!(lan.subnet_id(), Some(vpc.private_subnet_id.as_str()));
    assert_eq!(
        tag_value(wan.tag_set(), SSR_ROLE_TAG).as_deref(),
        Some("WAN")
    );
    assert_eq!(
        tag_value(lan.tag_set(), SSR_ROLE_TAG).as_deref(),
        Some("LAN")
    );
    assert_eq!(wan.source_dest_check(), Some(true));
    assert_eq!(lan.source_dest_check(), Some(true));
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(true)
    );
    let public_ip = router.public_ip.clone().expect("EIP allocated");
    assert_eq!(
        wan.association().and_then(|a| a.public_ip()),
        Some(public_ip.as_str()),
        "EIP associated with the WAN interface"
    );
    assert_eq!(lan.association().and_then(|a| a.public_ip()), None);

    let instance = aws
        .ec2
        .describe_instances()
        .instance_ids(&router.instance_id)
        .send()
        .await
        .expect("DescribeInstances")
        .reservations()
        .first()
        .and_then(|r| r.instances().first())
        .cloned()
        .expect("instance described");
    assert_eq!(
        instance.instance_type().map(|t| t.as_str()),
        Some("c5.xlarge")
    );
    assert_eq!(
        tag_value(instance.tags(), "Name").as_deref(),
        Some("branch-1")
    );
    assert_eq!(
        tag_value(instance.tags(), "SSR-ROUTER").as_deref(),
        Some("true")
    );
    assert!(
        instance
            .iam_instance_profile()
            .and_then(|p| p.arn())
            .is_some_and(
                |arn| arn.ends_with(&format!("instance-profile/{ROUTER_INSTANCE_PROFILE}"))
            ),
        "instance profile attached: {:?}",
        instance.iam_instance_profile()
    );

    let root_volume_id = instance
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name() == instance.root_device_name())
        .and_then(|m| m.ebs())
        .and_then(|e| e.volume_id())
        .expect("root volume mapped")
        .to_string();
    let volume = aws
        .ec2
        .describe_volumes()
        .volume_ids(&root_volume_id)
        .send()
        .await
        .expect("DescribeVolumes")
        .volumes()
        .first()
        .cloned()
        .expect("root volume described");
    assert_eq!(volume.size(), Some(128));

    let user_data = aws
        .ec2
        .describe_instance_attribute()
        .instance_id(&router.instance_id)
        .attribute(aws_sdk_ec2::types::InstanceAttributeName::UserData)
        .send()
        .await
        .expect("DescribeInstanceAttribute userData")
        .user_data()
        .and_then(|u| u.value())
        .map(str::to_string)
        .expect("user data stored");
    use base64::Engine as _;
    let user_data = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(user_data)
            .expect("user data is base64"),
    )
    .expect("user data is UTF-8");
    assert_eq!(Some(user_data.as_str()), spec.user_data.as_deref());
    assert!(user_data.contains(REG_CODE));
}

#[tokio::test]
async fn when_router_spec_is_broken_then_launch_reflects_each_field() {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;
    let spec = RouterSpec {
        wan_tag: None,
        lan_tag: Some("lan".to_string()),
        source_dest_check: false,
        user_data: None,
        iam_instance_profile: false,
        public_ip: false,
        ..RouterSpec::guide("broken-1")
    };

    let router = aws.launch_router(&vpc, &spec).await;

    let enis = aws.instance_enis(&router.instance_id).await;
    assert_eq!(tag_value(enis[0].tag_set(), SSR_ROLE_TAG), None);
    assert_eq!(
        tag_value(enis[1].tag_set(), SSR_ROLE_TAG).as_deref(),
        Some("lan")
    );
    assert_eq!(
        aws.eni_source_dest_check(&router.wan_eni_id).await,
        Some(false)
    );
    assert_eq!(
        aws.eni_source_dest_check(&router.lan_eni_id).await,
        Some(false)
    );
    assert_eq!(router.public_ip, None);

    let plain = aws.launch_plain_instance(&vpc).await;
    assert_eq!(aws.instance_enis(&plain).await.len(), 1);

    aws.terminate(&router.instance_id).await;
    let state = aws
        .ec2
        .describe_instances()
        .instance_ids(&router.instance_id)
        .send()
        .await
        .expect("DescribeInstances")
        .reservations()
        .first()
        .and_then(|r| r.instances().first())
        .and_then(|i| i.state())
        .and_then(|s| s.name())
        .cloned();
    assert_eq!(
        state,
        Some(aws_sdk_ec2::types::InstanceStateName::Terminated)
    );
}

#[tokio::test]
async fn when_alert_published_then_capture_returns_subject_and_attributes() {
    let aws = TestAws::start().await;
    let capture = aws.alert_capture().await;

    aws.sns
        .publish()
        .topic_arn(&capture.topic_arn)
        .subject("SSR router i-0abc: source/destination check fixed")
        .message("Router branch-1 (i-0abc)\nfixed: SourceDestCheck off on eni-1, eni-2")
        .message_attributes(
            "severity",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("warning")
                .build()
                .expect("attribute"),
        )
        .message_attributes(
            "instance_id",
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value("i-0abc")
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("Publish");

    let alerts = capture.drain(&aws).await;

    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let alert = &alerts[0];
    assert_eq!(
        alert.subject.as_deref(),
        Some("SSR router i-0abc: source/destination check fixed")
    );
    assert_eq!(
        alert.message,
        "Router branch-1 (i-0abc)\nfixed: SourceDestCheck off on eni-1, eni-2"
    );
    assert_eq!(
        alert.attributes.get("severity").map(String::as_str),
        Some("warning")
    );
    assert_eq!(
        alert.attributes.get("instance_id").map(String::as_str),
        Some("i-0abc")
    );
    assert!(
        capture.drain(&aws).await.is_empty(),
        "drain deletes what it read"
    );
}

#[tokio::test]
async fn when_eni_modified_then_write_counter_sees_it() {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;
    let router = aws
        .launch_router(&vpc, &RouterSpec::guide("branch-2"))
        .await;

    aws.start_recording().await;
    assert_eq!(
        aws.eni_source_dest_check(&router.lan_eni_id).await,
        Some(true)
    );
    aws.set_source_dest_check(&router.lan_eni_id, false).await;
    assert_eq!(
        aws.eni_source_dest_check(&router.lan_eni_id).await,
        Some(false)
    );

    assert_eq!(
        aws.ec2_write_calls().await,
        vec!["ModifyNetworkInterfaceAttribute".to_string()]
    );
    let recorded = aws.recorded_requests().await;
    let actions: Vec<_> = recorded
        .iter()
        .filter_map(|r| r.action.as_deref())
        .collect();
    assert_eq!(
        actions,
        [
            "DescribeNetworkInterfaces",
            "ModifyNetworkInterfaceAttribute",
            "DescribeNetworkInterfaces"
        ]
    );
    assert!(recorded[1].body.contains(&router.lan_eni_id));

    aws.start_recording().await;
    assert!(
        aws.ec2_write_calls().await.is_empty(),
        "recording restarted empty"
    );
}

#[tokio::test]
async fn when_emulator_reset_then_resources_are_gone() {
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;

    aws.emulator.reset().await.expect("reset");

    let found = aws
        .ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(&vpc.vpc_id)
                .build(),
        )
        .send()
        .await
        .expect("DescribeVpcs");
    assert!(found.vpcs().is_empty());
}

#[tokio::test]
async fn when_test_ends_then_emulator_process_is_stopped() {
    let emulator = Emulator::start(&|msg| eprintln!("[emulator] {msg}"))
        .await
        .expect("emulator starts");
    let port = emulator.port();
    let pid = emulator.pid();
    assert!(
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_ok(),
        "server answers while running"
    );

    drop(emulator);

    assert!(
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(1)).is_err(),
        "port {port} still answers after drop"
    );
    if std::path::Path::new("/proc/self").exists() {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "moto process {pid} still exists after drop"
        );
    }
}

/// moto 5.2.5 applies only `instance` and `volume` TagSpecifications of RunInstances: interface
/// tags given there are silently dropped (real AWS applies them). That is why `launch_router`
/// tags interfaces with CreateTags after launch. If this starts failing, moto learned it.
#[tokio::test]
async fn when_eni_tags_passed_in_run_instances_then_moto_drops_them() {
    use aws_sdk_ec2::types::{
        InstanceNetworkInterfaceSpecification, ResourceType, Tag, TagSpecification,
    };
    let aws = TestAws::start().await;
    let vpc = aws.guide_vpc().await;

    let instance_id = aws
        .ec2
        .run_instances()
        .image_id(ssr_onboard_tests::ROUTER_AMI)
        .instance_type(aws_sdk_ec2::types::InstanceType::C5Xlarge)
        .min_count(1)
        .max_count(1)
        .network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .subnet_id(&vpc.public_subnet_id)
                .groups(&vpc.security_group_id)
                .build(),
        )
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::NetworkInterface)
                .tags(Tag::builder().key(SSR_ROLE_TAG).value("WAN").build())
                .build(),
        )
        .send()
        .await
        .expect("RunInstances")
        .instances()
        .first()
        .and_then(|i| i.instance_id())
        .expect("instance id")
        .to_string();

    let enis = aws.instance_enis(&instance_id).await;
    assert_eq!(enis.len(), 1);
    assert_eq!(tag_value(enis[0].tag_set(), SSR_ROLE_TAG), None);
}
