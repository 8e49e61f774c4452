//! AWS errors as a person reads them: the readable chain of causes, a one-line hint on what to
//! do, both printed on stderr.

use ssr_core::aws::AwsError;

/// An AWS error's text without the debug dump of the SDK error (raw response included) that
/// `DisplayErrorContext` appends in parentheses: the readable chain of causes only.
pub fn concise(e: &AwsError) -> String {
    const DUMPS: [&str; 5] = [
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ServiceError(",
        " (ConstructionFailure(",
    ];
    let text = e.to_string();
    match DUMPS.iter().filter_map(|d| text.find(d)).min() {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// What to do about an AWS error, in one line.
pub fn hint(e: &AwsError) -> &'static str {
    let code = e.code.as_str();
    let message = e.message.to_ascii_lowercase();
    if code.contains("AccessDenied") || code.contains("UnauthorizedOperation") {
        "the credentials lack a permission: see docs/cli.md for the IAM actions each command needs"
    } else if code.contains("ExpiredToken")
        || code.contains("InvalidClientTokenId")
        || code.contains("AuthFailure")
    {
        "the credentials are invalid or expired: refresh them (aws sts get-caller-identity shows which are used)"
    } else if message.contains("sso") {
        "the SSO session is missing or expired: run `aws sso login` (with --profile NAME) and retry"
    } else if message.contains("credential_process") || message.contains("process provider") {
        "the profile's credential_process failed: run its command by hand to see why"
    } else if message.contains("credentials") || message.contains("no credential") {
        "no AWS credentials found: set AWS_PROFILE / --profile, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
    } else if message.contains("region") {
        "no region: pass --region or set AWS_REGION"
    } else if code == "ResourceNotFoundException" {
        "the state table does not exist in this region: check --table / STATE_TABLE and --region"
    } else if message.contains("dispatch")
        || message.contains("connect")
        || message.contains("timeout")
    {
        "AWS could not be reached: check the network, the region and AWS_ENDPOINT_URL"
    } else {
        "retry; if it persists, run with -v for details"
    }
}

/// Prints an AWS error and its hint on stderr.
pub fn print_with_hint(e: &AwsError) {
    eprintln!("error: {e}");
    eprintln!("hint: {}", hint(e));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_access_denied_then_hint_points_at_permissions() {
        let e = AwsError::new(
            "DescribeInstances",
            "UnauthorizedOperation",
            "You are not authorized",
        );
        assert!(hint(&e).contains("permission"));
    }

    #[test]
    fn when_the_sdk_appended_its_debug_dump_then_concise_keeps_the_readable_chain() {
        let e = AwsError::new(
            "DescribeInstances",
            "Unknown",
            "dispatch failure: other: an error occurred while loading credentials: AccessDenied \
             (DispatchFailure(DispatchFailure { source: ConnectorError { raw: Response {} } }))",
        );
        assert_eq!(
            concise(&e),
            "DescribeInstances failed: Unknown: dispatch failure: other: an error occurred while loading credentials: AccessDenied"
        );
        let plain = AwsError::new(
            "DescribeInstances",
            "Throttling",
            "Rate exceeded (try later)",
        );
        assert_eq!(concise(&plain), plain.to_string());
    }

    #[test]
    fn when_the_sso_token_is_missing_then_hint_says_aws_sso_login() {
        let e = AwsError::new(
            "DescribeInstances",
            "Unknown",
            "dispatch failure: failed to load credentials: failed to read cached SSO token file",
        );
        assert!(hint(&e).contains("aws sso login"), "{}", hint(&e));
    }

    #[test]
    fn when_no_credentials_then_hint_says_how_to_provide_them() {
        let e = AwsError::new(
            "DescribeInstances",
            "Unknown",
            "dispatch failure: failed to load credentials: no credentials in the chain",
        );
        assert!(hint(&e).contains("credentials"), "{}", hint(&e));
    }
}
