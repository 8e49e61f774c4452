//! AWS errors in the shapes AWS sends them, for `aws-smithy-mocks` rules.
//!
//! An [`AwsErrorShape`] is an HTTP status, an error code and a message. Render it the way the
//! service's protocol does so the SDK parses it (and classifies it for retries) exactly as it
//! would a real answer:
//!
//! | service | protocol | use |
//! | --- | --- | --- |
//! | EC2 | EC2 Query XML | [`AwsErrorShape::ec2_response`], [`AwsErrorShape::ec2_body`] |
//! | SNS, CloudFormation | awsQuery XML | [`AwsErrorShape::query_response`] |
//! | DynamoDB, Secrets Manager | awsJson 1.0/1.1 | [`AwsErrorShape::json_response`] |
//! | any | modeled in the mock | [`AwsErrorShape::metadata`] with `XError::generic(..)` |
//!
//! ```
//! use ssr_testkit::errors;
//! let denied = errors::unauthorized_operation();
//! assert_eq!(denied.status, 403);
//! assert!(denied.ec2_body().contains("<Code>UnauthorizedOperation</Code>"));
//! ```

use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

/// The request id every rendered error carries (AWS always sends one).
pub const REQUEST_ID: &str = "11111111-2222-3333-4444-555555555555";

/// An AWS error: HTTP status, error code, message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsErrorShape {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl AwsErrorShape {
    pub fn new(status: u16, code: &str, message: &str) -> AwsErrorShape {
        AwsErrorShape {
            status,
            code: code.to_string(),
            message: message.to_string(),
        }
    }

    /// The same error with another message.
    pub fn with_message(mut self, message: &str) -> AwsErrorShape {
        self.message = message.to_string();
        self
    }

    /// EC2's XML error document (the EC2 Query protocol).
    pub fn ec2_body(&self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{REQUEST_ID}</RequestID></Response>",
            xml_escape(&self.code),
            xml_escape(&self.message)
        )
    }

    /// The HTTP answer EC2 sends: [`AwsErrorShape::status`] with [`AwsErrorShape::ec2_body`].
    pub fn ec2_response(&self) -> Response {
        self.response(self.ec2_body())
    }

    /// The awsQuery error document (SNS, ...); `Type` is `Sender` for 4xx, `Receiver` for 5xx.
    pub fn query_body(&self) -> String {
        let kind = if self.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        };
        format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{REQUEST_ID}</RequestId></ErrorResponse>",
            xml_escape(&self.code),
            xml_escape(&self.message)
        )
    }

    /// The HTTP answer of an awsQuery service (SNS): status with [`AwsErrorShape::query_body`].
    pub fn query_response(&self) -> Response {
        self.response(self.query_body())
    }

    /// The awsJson error document (DynamoDB, Secrets Manager): `{"__type": ..., "message": ...}`.
    pub fn json_body(&self) -> String {
        serde_json::json!({"__type": self.code, "message": self.message}).to_string()
    }

    /// The HTTP answer of an awsJson service: status with [`AwsErrorShape::json_body`].
    pub fn json_response(&self) -> Response {
        self.response(self.json_body())
    }

    /// The error metadata the SDK builds from such an answer, for a modeled mock error:
    /// `mock!(..).then_error(move || PutItemError::generic(shape.metadata()))`.
    pub fn metadata(&self) -> ErrorMetadata {
        ErrorMetadata::builder()
            .code(&self.code)
            .message(&self.message)
            .build()
    }

    fn response(&self, body: String) -> Response {
        let status = StatusCode::try_from(self.status)
            .unwrap_or_else(|e| panic!("AwsErrorShape status {}: {e}", self.status));
        Response::new(status, SdkBody::from(body))
    }
}

/// IAM denies the call: `403 UnauthorizedOperation` (EC2's wording).
pub fn unauthorized_operation() -> AwsErrorShape {
    AwsErrorShape::new(
        403,
        "UnauthorizedOperation",
        "You are not authorized to perform this operation.",
    )
}

/// A write asked with `DryRun=true` that IAM would allow: `412 DryRunOperation`, EC2's answer
/// (the message is EC2's own).
pub fn dry_run_operation() -> AwsErrorShape {
    AwsErrorShape::new(
        412,
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
}

/// EC2 does not know the instance (yet, or any more): `400 InvalidInstanceID.NotFound`.
pub fn instance_not_found(instance_id: &str) -> AwsErrorShape {
    AwsErrorShape::new(
        400,
        "InvalidInstanceID.NotFound",
        &format!("The instance ID '{instance_id}' does not exist"),
    )
}

/// EC2 throttles: `503 RequestLimitExceeded` (the SDK retries it).
pub fn request_limit_exceeded() -> AwsErrorShape {
    AwsErrorShape::new(503, "RequestLimitExceeded", "Request limit exceeded.")
}

/// A DynamoDB conditional write lost: `400 ConditionalCheckFailedException`.
pub fn conditional_check_failed() -> AwsErrorShape {
    AwsErrorShape::new(
        400,
        "ConditionalCheckFailedException",
        "The conditional request failed",
    )
}

/// CloudFormation does not know the stack (deleted, or never there): `400 ValidationError`,
/// awsQuery like SNS ([`AwsErrorShape::query_response`]).
pub fn stack_does_not_exist(stack: &str) -> AwsErrorShape {
    AwsErrorShape::new(
        400,
        "ValidationError",
        &format!("Stack with id {stack} does not exist"),
    )
}

/// SNS refuses the caller: `403 AuthorizationError`.
pub fn sns_authorization_error() -> AwsErrorShape {
    AwsErrorShape::new(
        403,
        "AuthorizationError",
        "User is not authorized to perform: SNS:Publish",
    )
}

/// Text content escaping (quotes stay literal, as AWS sends them).
fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::error::ProvideErrorMetadata as _;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

    #[tokio::test]
    async fn when_ec2_error_rendered_then_the_sdk_reads_its_code_and_message() {
        for shape in [
            unauthorized_operation(),
            instance_not_found("i-0abc1234567890def"),
        ] {
            let s = shape.clone();
            let rule = mock!(aws_sdk_ec2::Client::describe_instances)
                .then_http_response(move || s.ec2_response());
            let ec2 = mock_client!(aws_sdk_ec2, RuleMode::MatchAny, [&rule]);
            let err = ec2.describe_instances().send().await.expect_err("an error");
            assert_eq!(err.code(), Some(shape.code.as_str()));
            assert_eq!(err.message(), Some(shape.message.as_str()));
        }
    }

    #[tokio::test]
    async fn when_sns_error_rendered_then_the_sdk_reads_its_code() {
        let shape = sns_authorization_error();
        let s = shape.clone();
        let rule =
            mock!(aws_sdk_sns::Client::publish).then_http_response(move || s.query_response());
        let sns = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule]);
        let err = sns
            .publish()
            .topic_arn("arn:aws:sns:us-east-1:123456789012:t")
            .message("m")
            .send()
            .await
            .expect_err("an error");
        assert_eq!(err.code(), Some("AuthorizationError"));
        assert_eq!(err.message(), Some(shape.message.as_str()));
    }

    #[tokio::test]
    async fn when_dynamodb_error_rendered_then_the_sdk_sees_the_modeled_error() {
        let rule = mock!(aws_sdk_dynamodb::Client::put_item)
            .then_http_response(|| conditional_check_failed().json_response());
        let dynamodb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule]);
        let err = dynamodb
            .put_item()
            .table_name("t")
            .send()
            .await
            .expect_err("an error");
        assert_eq!(err.code(), Some("ConditionalCheckFailedException"));
        assert!(err
            .as_service_error()
            .is_some_and(|e| e.is_conditional_check_failed_exception()));
    }

    #[test]
    fn when_metadata_built_then_code_and_message_carried() {
        let m = conditional_check_failed().metadata();
        assert_eq!(m.code(), Some("ConditionalCheckFailedException"));
        assert_eq!(m.message(), Some("The conditional request failed"));
    }

    #[test]
    fn when_message_has_markup_then_it_is_escaped() {
        let body = AwsErrorShape::new(400, "X", "a <b> & 'c'").ec2_body();
        assert!(body.contains("<Message>a &lt;b&gt; &amp; 'c'</Message>"));
    }
}
