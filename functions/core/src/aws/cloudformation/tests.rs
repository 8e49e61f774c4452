use super::*;
use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
use aws_sdk_cloudformation::types::{Parameter, Tag};
use aws_smithy_mocks::{mock, mock_client};

const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/ssr-router-1/5e2b7a40-a6c1-11ef-9d3c-0affd3a1b2c5";

#[test]
fn when_stack_id_is_an_arn_then_its_account_and_region_are_read_and_otherwise_none() {
    assert_eq!(
        stack_account_region(STACK_ID),
        Some(("123456789012", "us-east-1"))
    );
    assert_eq!(stack_account_region("ssr-router-1"), None);
    assert_eq!(
        stack_account_region("arn:aws:sns:us-east-1:123456789012:topic"),
        None
    );
}

#[test]
fn when_stack_id_is_an_arn_then_name_is_its_second_path_segment() {
    assert_eq!(stack_name_from_id(STACK_ID), Some("ssr-router-1"));
    assert_eq!(
        stack_name_from_id("arn:aws:cloudformation:us-east-1:123456789012:stack/teststack"),
        Some("teststack")
    );
    assert_eq!(stack_name_from_id("plain-name"), Some("plain-name"));
    assert_eq!(stack_name_from_id("arn:aws:s3:::bucket"), None);
    assert_eq!(stack_name_from_id(""), None);
}

#[test]
fn when_key_looks_secret_then_it_is_hidden_except_key_name() {
    for k in [
        "RegistrationCode",
        "regcode",
        "MistApiToken",
        "AdminPassword",
        "ClientSecret",
        "ApiKey",
    ] {
        assert!(is_secret_key(k), "{k}");
    }
    for k in ["KeyName", "SSRVersion", "InstanceType", "VpcId"] {
        assert!(!is_secret_key(k), "{k}");
    }
}

#[tokio::test]
async fn when_parameters_are_masked_or_secret_then_values_never_leave_the_adapter() {
    let rule = mock!(aws_sdk_cloudformation::Client::describe_stacks).then_output(|| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_id(STACK_ID)
                    .stack_name("ssr-router-1")
                    .stack_status(aws_sdk_cloudformation::types::StackStatus::CreateComplete)
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .parameters(
                        Parameter::builder()
                            .parameter_key("NoEchoThing")
                            .parameter_value("****")
                            .build(),
                    )
                    // moto returns NoEcho values in clear: the key decides.
                    .parameters(
                        Parameter::builder()
                            .parameter_key("RegistrationCode")
                            .parameter_value("REG-SECRET-123")
                            .build(),
                    )
                    .parameters(
                        Parameter::builder()
                            .parameter_key("SSRVersion")
                            .parameter_value("6.3.0-107.r1")
                            .build(),
                    )
                    .parameters(
                        Parameter::builder()
                            .parameter_key("KeyName")
                            .parameter_value("ops-key")
                            .build(),
                    )
                    .tags(Tag::builder().key("SSR-ROUTER").value("true").build())
                    .build(),
            )
            .build()
    });
    let cfn = CloudFormation::new(mock_client!(aws_sdk_cloudformation, [&rule]));
    let s = cfn.describe_stack(STACK_ID).await.unwrap().unwrap();
    assert_eq!(s.stack_name, "ssr-router-1");
    assert_eq!(s.status, "CREATE_COMPLETE");
    assert_eq!(s.tags.get("SSR-ROUTER").map(String::as_str), Some("true"));
    let shown: Vec<(&str, Option<&str>)> = s
        .parameters
        .iter()
        .map(|p| (p.key.as_str(), p.value.as_deref()))
        .collect();
    assert_eq!(
        shown,
        vec![
            ("NoEchoThing", None),
            ("RegistrationCode", None),
            ("SSRVersion", Some("6.3.0-107.r1")),
            ("KeyName", Some("ops-key")),
        ]
    );
    let all = format!("{s:?} {}", serde_json::to_string(&s).unwrap());
    assert!(!all.contains("REG-SECRET-123") && !all.contains("****"));
}

#[test]
fn when_events_include_cancellations_then_real_failure_comes_first_oldest_first() {
    let ev = |id: &str, ty: &str, status: &str, reason: Option<&str>, phys: Option<&str>| {
        StackEventInfo {
            timestamp: None,
            logical_resource_id: id.into(),
            physical_resource_id: phys.map(String::from),
            resource_type: ty.into(),
            status: status.into(),
            reason: reason.map(String::from),
        }
    };
    // Newest first, as DescribeStackEvents returns them.
    let events = vec![
        ev(
            "ssr-router-1",
            "AWS::CloudFormation::Stack",
            "ROLLBACK_IN_PROGRESS",
            Some("The following resource(s) failed to create: [Router]."),
            Some(STACK_ID),
        ),
        ev(
            "PublicEip",
            "AWS::EC2::EIP",
            "CREATE_FAILED",
            Some("Resource creation cancelled"),
            None,
        ),
        ev(
            "Router",
            "AWS::EC2::Instance",
            "CREATE_FAILED",
            Some("Instance type c5.xlarge is not supported"),
            None,
        ),
        ev(
            "Router",
            "AWS::EC2::Instance",
            "CREATE_IN_PROGRESS",
            None,
            None,
        ),
    ];
    let failed = failed_resource_events(&events, STACK_ID, "ssr-router-1");
    let ids: Vec<&str> = failed
        .iter()
        .map(|e| e.logical_resource_id.as_str())
        .collect();
    assert_eq!(ids, vec!["Router", "PublicEip"]);
}
