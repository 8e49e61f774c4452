//! The two EC2 writes asked with `DryRun=true`: EC2 checks the caller's permissions (condition
//! keys included) and answers an error instead of acting: `DryRunOperation` ("Request would
//! have succeeded, but DryRun flag is set.", HTTP 412) when the write is allowed,
//! `UnauthorizedOperation` (HTTP 403) when it is not. The preflight proves the tag- and
//! attribute-conditioned write grants this way, without writing.

use aws_sdk_ec2::types::AttributeBooleanValue;

use super::Ec2;
use crate::aws::AwsError;

/// What EC2 answered a write asked with `DryRun=true`.
#[derive(Clone, Debug)]
pub enum DryRun {
    /// `DryRunOperation`: the role may make this write.
    Allowed,
    /// `UnauthorizedOperation`: IAM denies it; `message` is EC2's, without the encoded
    /// authorization failure message.
    Denied { message: String },
    /// Any other answer (the resource is gone, throttling, no answer): nothing proven.
    Other(AwsError),
}

/// EC2's error code for an allowed dry run.
pub const DRY_RUN_OPERATION: &str = "DryRunOperation";
/// EC2's error code for a denied request.
pub const UNAUTHORIZED_OPERATION: &str = "UnauthorizedOperation";

fn dry_run_of(operation: &'static str, res: Result<(), AwsError>) -> DryRun {
    match res {
        Err(e) if e.is(DRY_RUN_OPERATION) => DryRun::Allowed,
        Err(e) if e.is(UNAUTHORIZED_OPERATION) => DryRun::Denied {
            message: e
                .message
                .split(" Encoded authorization failure message")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string(),
        },
        Err(e) => DryRun::Other(e),
        // EC2 never acts on a dry run; an endpoint that did is not EC2's behaviour.
        Ok(()) => DryRun::Other(AwsError::new(
            operation,
            "NoDryRunAnswer",
            "the endpoint answered success to a DryRun request instead of DryRunOperation",
        )),
    }
}

impl Ec2 {
    /// ModifyNetworkInterfaceAttribute `SourceDestCheck=false` on `eni_id` with `DryRun=true`:
    /// the source/destination check fix, asked, never made.
    pub async fn dry_run_disable_source_dest_check(&self, eni_id: &str) -> DryRun {
        const OP: &str = "ModifyNetworkInterfaceAttribute";
        let res = self
            .client
            .modify_network_interface_attribute()
            .network_interface_id(eni_id)
            .source_dest_check(AttributeBooleanValue::builder().value(false).build())
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk(OP, e));
        dry_run_of(OP, res)
    }

    /// ModifyInstanceAttribute `EnaSupport=true` on `instance_id` with `DryRun=true`: the ENA
    /// fix, asked, never made.
    pub async fn dry_run_enable_ena(&self, instance_id: &str) -> DryRun {
        const OP: &str = "ModifyInstanceAttribute";
        let res = self
            .client
            .modify_instance_attribute()
            .instance_id(instance_id)
            .ena_support(AttributeBooleanValue::builder().value(true).build())
            .dry_run(true)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| AwsError::from_sdk(OP, e));
        dry_run_of(OP, res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_ec2_answers_unauthorized_then_the_encoded_message_is_dropped() {
        let denied = dry_run_of(
            "ModifyInstanceAttribute",
            Err(AwsError::new(
                "ModifyInstanceAttribute",
                UNAUTHORIZED_OPERATION,
                "You are not authorized to perform this operation. Encoded authorization failure message: AbCd",
            )),
        );
        assert!(
            matches!(&denied, DryRun::Denied { message } if message == "You are not authorized to perform this operation."),
            "{denied:?}"
        );
    }

    #[test]
    fn when_the_endpoint_acts_on_a_dry_run_then_nothing_is_proven() {
        assert!(matches!(
            dry_run_of("ModifyInstanceAttribute", Ok(())),
            DryRun::Other(e) if e.is("NoDryRunAnswer")
        ));
    }
}
