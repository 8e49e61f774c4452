use super::*;

#[test]
fn when_a_region_is_in_a_partition_then_console_links_use_that_partitions_console() {
    assert_eq!(
        console_link("eu-west-1", "i-1"),
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#InstanceDetails:instanceId=i-1"
    );
    assert_eq!(
        console_link("cn-northwest-1", "i-1"),
        "https://console.amazonaws.cn/ec2/home?region=cn-northwest-1#InstanceDetails:instanceId=i-1"
    );
    assert_eq!(
        console_link("us-gov-west-1", "i-1"),
        "https://console.amazonaws-us-gov.com/ec2/home?region=us-gov-west-1#InstanceDetails:instanceId=i-1"
    );
}

#[test]
fn when_text_holds_aws_cli_commands_then_each_gets_the_region_once() {
    assert_eq!(
        with_region(
            "aws ec2 create-tags --resources eni-1 --tags Key=SSR-ROLE,Value=LAN",
            "eu-west-1"
        ),
        "aws ec2 create-tags --region eu-west-1 --resources eni-1 --tags Key=SSR-ROLE,Value=LAN"
    );
    assert_eq!(
        with_region(
            "Plan a maintenance window: aws ec2 stop-instances --instance-ids i-1; aws ec2 wait instance-stopped --instance-ids i-1; aws ec2 start-instances --instance-ids i-1",
            "us-east-1"
        ),
        "Plan a maintenance window: aws ec2 stop-instances --region us-east-1 --instance-ids i-1; aws ec2 wait instance-stopped --region us-east-1 --instance-ids i-1; aws ec2 start-instances --region us-east-1 --instance-ids i-1"
    );
    assert_eq!(
        with_region(
            "aws ec2 allocate-address --domain vpc, then aws ec2 associate-address --network-interface-id eni-1",
            "us-east-1"
        ),
        "aws ec2 allocate-address --region us-east-1 --domain vpc, then aws ec2 associate-address --region us-east-1 --network-interface-id eni-1"
    );
}

#[test]
fn when_a_command_names_its_region_or_the_text_is_prose_then_it_is_left_alone() {
    let named = "aws ec2 create-tags --resources i-1 --region eu-west-1";
    assert_eq!(with_region(named, "us-east-1"), named);
    let prose = "Check the aws account settings; saws ec2 create-tags is not a command";
    assert_eq!(with_region(prose, "us-east-1"), prose);
}

#[test]
fn when_a_member_account_has_a_name_then_it_leads_the_subject_and_the_body_has_both() {
    let ctx = EventContext {
        account: Some("444455556666".into()),
        region: Some("eu-west-1".into()),
        member: true,
        ..Default::default()
    };
    let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
    let alert =
        |ctx: &EventContext| operational::token_rejected_alert(ctx, "MIST_API_TOKEN", "401", now);
    assert_eq!(
        alert(&ctx).subject,
        "[444455556666 eu-west-1] SSR onboarding watchdog: Mist rejected the API token"
    );
    let named = ctx.clone().named(Some("Branch Prod".into()));
    assert_eq!(
        alert(&named).subject,
        "[Branch Prod eu-west-1] SSR onboarding watchdog: Mist rejected the API token"
    );
    assert_eq!(named.account_label(), "444455556666 (Branch Prod)");
    assert_eq!(named.run_in(), " in account 444455556666 (Branch Prod)");
    assert_eq!(ctx.clone().named(Some("  ".into())).account_name, None);
    // A name is dropped when the context moves to another account.
    assert_eq!(
        named
            .at(Some("777788889999"), Some("eu-west-1"), true)
            .account_name,
        None
    );
    let hub = EventContext {
        member: false,
        ..named
    };
    assert_eq!(hub.run_in(), "");
}
