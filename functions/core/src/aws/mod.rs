//! AWS adapters: the only code that calls AWS. Each call is written once, here.

pub mod cloudformation;
pub mod ec2;
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
}

impl AwsError {
    pub fn from_sdk<E, R>(operation: &'static str, err: SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let code = err.code().unwrap_or("Unknown").to_string();
        let message = match err.message() {
            Some(m) => m.to_string(),
            None => DisplayErrorContext(&err).to_string(),
        };
        AwsError {
            operation,
            code,
            message,
        }
    }

    pub fn new(operation: &'static str, code: &str, message: impl Into<String>) -> Self {
        AwsError {
            operation,
            code: code.to_string(),
            message: message.into(),
        }
    }

    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}
