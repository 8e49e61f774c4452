//! AWS adapters: the only code that calls AWS. Each call is written once, here.

pub mod accounts;
pub mod cloudformation;
pub mod ec2;
pub mod permissions;
pub mod secrets;
pub mod sns;
pub mod state;

use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// An AWS call that failed, with the operation, the AWS error code and message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{operation} failed: {code}: {message}")]
pub struct AwsError {
    pub operation: &'static str,
    pub code: String,
    pub message: String,
    /// A timeout or a connection failure (no AWS answer at all): worth another try.
    #[doc(hidden)]
    pub no_answer: bool,
}

/// Error codes AWS uses for throttling and for its own (5xx) failures.
const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "SlowDown",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "Unavailable",
    "RequestTimeout",
    "RequestTimeoutException",
];

impl AwsError {
    pub fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let no_answer = matches!(
            err,
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_)
        );
        let code = err.code().unwrap_or("Unknown").to_string();
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => DisplayErrorContext(&err).to_string(),
        };
        AwsError {
            operation,
            code,
            message,
            no_answer,
        }
    }

    pub fn new(operation: &'static str, code: &str, message: impl Into<String>) -> Self {
        AwsError {
            operation,
            code: code.to_string(),
            message: message.into(),
            no_answer: false,
        }
    }

    /// Throttling, an AWS-side (5xx) failure, a timeout or no connection: retrying may succeed.
    pub fn is_transient(&self) -> bool {
        self.no_answer || TRANSIENT_CODES.contains(&self.code.as_str())
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}
