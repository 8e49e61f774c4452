//! Which AWS operations a function's tests really send, checked against what the function may
//! call: an SDK interceptor ([`CallCheck`]) installed on every client the tests hand a handler.
//!
//! The interceptor reads the operation's [`Metadata`] (service and operation name, put in the
//! config bag by the generated SDK) before the request is serialized, turns it into the IAM action
//! (`EC2` + `DescribeInstances` → `ec2:DescribeInstances`) and looks it up in the allowed list
//! it was built with (core's `ssr_core::aws::permissions::called_actions`). An operation not on
//! the list fails the test that sent it, robustly under parallel tests (each test has its own
//! check; nothing is shared between tests):
//! - at once: the interceptor panics, so the `send().await` in the handler panics (the panic
//!   message names the function and the action);
//! - and again when the last client holding the check is dropped (the end of the test), in
//!   case the panic was swallowed (a handler that runs work in a `tokio::spawn`ed task turns a
//!   panic into a `JoinError`).
//!
//! ```
//! let check = ssr_testkit::CallCheck::new("instance-guard", ["ec2:DescribeInstances"]);
//! # let ec2 = aws_sdk_ec2::Client::from_conf(aws_sdk_ec2::Config::builder()
//! #     .behavior_version(aws_sdk_ec2::config::BehaviorVersion::latest()).build());
//! let ec2 = check.ec2(ec2); // same client, now checked
//! ```

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// The IAM prefix of an SDK service id (`Metadata::service`). The operation name is the action
/// name for every operation of these services (AWS Service Authorization Reference).
pub fn iam_prefix(sdk_service: &str) -> Option<&'static str> {
    Some(match sdk_service {
        "EC2" => "ec2",
        "SNS" => "sns",
        "SQS" => "sqs",
        "DynamoDB" => "dynamodb",
        "CloudFormation" => "cloudformation",
        "Secrets Manager" => "secretsmanager",
        _ => return None,
    })
}

/// The IAM action of one SDK operation, e.g. `ec2:DescribeInstances`.
pub fn iam_action(sdk_service: &str, operation: &str) -> String {
    match iam_prefix(sdk_service) {
        Some(prefix) => format!("{prefix}:{operation}"),
        None => panic!(
            "SDK service {sdk_service:?} has no IAM prefix in ssr_testkit::calls::iam_prefix: add it"
        ),
    }
}

#[derive(Debug)]
struct Inner {
    function: &'static str,
    allowed: BTreeSet<String>,
    /// Every action sent, allowed or not.
    sent: Mutex<BTreeSet<String>>,
    /// Actions sent that are not allowed.
    refused: Mutex<BTreeSet<String>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        let refused = self
            .refused
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if !refused.is_empty() && !std::thread::panicking() {
            panic!(
                "{} sent AWS operations missing from its row of ssr_core::aws::permissions: {:?}",
                self.function, refused
            );
        }
    }
}

/// An interceptor that fails the test when a client sends an operation `function` may not
/// call. Cheap to clone; every clone shares what was sent.
#[derive(Clone, Debug)]
pub struct CallCheck {
    inner: Arc<Inner>,
}

impl CallCheck {
    /// A check for `function` (named in failures) allowing the IAM actions `allowed`.
    pub fn new<'a>(function: &'static str, allowed: impl IntoIterator<Item = &'a str>) -> Self {
        CallCheck {
            inner: Arc::new(Inner {
                function,
                allowed: allowed.into_iter().map(str::to_string).collect(),
                sent: Mutex::default(),
                refused: Mutex::default(),
            }),
        }
    }

    /// Every IAM action sent so far through clients with this check.
    pub fn sent(&self) -> BTreeSet<String> {
        self.inner
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, action: String) {
        let inner = &self.inner;
        inner
            .sent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(action.clone());
        if !inner.allowed.contains(&action) {
            inner
                .refused
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(action.clone());
            panic!(
                "{} sent {action}, which is not in its row of ssr_core::aws::permissions \
                 (add it there with a why, and grant it in infra/template.yaml)",
                inner.function
            );
        }
    }
}

impl Intercept for CallCheck {
    fn name(&self) -> &'static str {
        "CallCheck"
    }

    // Not read_before_execution: a client-level interceptor runs that before the operation's
    // configuration (and its Metadata) is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(md) = cfg.load::<Metadata>() else {
            panic!("an SDK operation without Metadata in its config bag");
        };
        let action = iam_action(md.service(), md.name());
        self.record(action);
        Ok(())
    }
}

macro_rules! checked_client {
    ($(#[$doc:meta])* $name:ident, $sdk:ident) => {
        $(#[$doc])*
        pub fn $name(&self, client: $sdk::Client) -> $sdk::Client {
            $sdk::Client::from_conf(client.config().to_builder().interceptor(self.clone()).build())
        }
    };
}

impl CallCheck {
    checked_client!(
        /// `client` (mock or real, its configuration kept) with this check installed.
        ec2,
        aws_sdk_ec2
    );
    checked_client!(
        /// `client` (mock or real, its configuration kept) with this check installed.
        sns,
        aws_sdk_sns
    );
    checked_client!(
        /// `client` (mock or real, its configuration kept) with this check installed.
        dynamodb,
        aws_sdk_dynamodb
    );
    checked_client!(
        /// `client` (mock or real, its configuration kept) with this check installed.
        cloudformation,
        aws_sdk_cloudformation
    );
    checked_client!(
        /// `client` (mock or real, its configuration kept) with this check installed.
        secrets,
        aws_sdk_secretsmanager
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    fn ec2() -> aws_sdk_ec2::Client {
        let rule = mock!(aws_sdk_ec2::Client::describe_instances)
            .then_output(|| DescribeInstancesOutput::builder().build());
        mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&rule])
    }

    #[tokio::test]
    async fn when_an_allowed_operation_is_sent_then_it_is_recorded_and_answered() {
        let check = CallCheck::new("instance-guard", ["ec2:DescribeInstances"]);
        let ec2 = check.ec2(ec2());
        ec2.describe_instances().send().await.expect("mock answers");
        assert_eq!(
            check.sent(),
            BTreeSet::from(["ec2:DescribeInstances".to_string()])
        );
    }

    #[tokio::test]
    #[should_panic(expected = "instance-guard sent ec2:DescribeInstances")]
    async fn when_an_operation_not_allowed_is_sent_then_the_test_panics_naming_it() {
        let check = CallCheck::new("instance-guard", ["sns:Publish"]);
        let ec2 = check.ec2(ec2());
        let _ = ec2.describe_instances().send().await;
    }

    #[tokio::test]
    #[should_panic(expected = "missing from its row")]
    async fn when_the_panic_is_swallowed_by_a_task_then_dropping_the_check_panics() {
        let check = CallCheck::new("stack-watch", ["sns:Publish"]);
        let ec2 = check.ec2(ec2());
        let joined = tokio::spawn(async move { ec2.describe_instances().send().await }).await;
        assert!(joined.is_err(), "the task panicked");
        drop(check);
    }

    #[test]
    fn when_a_service_id_is_known_then_the_action_uses_its_iam_prefix() {
        assert_eq!(
            iam_action("Secrets Manager", "GetSecretValue"),
            "secretsmanager:GetSecretValue"
        );
        assert_eq!(
            iam_action("DynamoDB", "BatchGetItem"),
            "dynamodb:BatchGetItem"
        );
    }
}
