//! The resource's properties (`InstanceId`, `FailOnFindings`), read with errors that say which
//! property is wrong and how.

use serde_json::Value;

/// The properties of `Custom::SsrRouterGuard`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuardProperties {
    pub instance_id: String,
    pub fail_on_findings: bool,
}

/// `https://host/…` or `http://host/…` (the pre-signed S3 URL CloudFormation sends; http for
/// local tests).
pub(super) fn is_absolute_http_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| {
        matches!(u.scheme(), "https" | "http") && u.host_str().is_some_and(|h| !h.is_empty())
    })
}

/// Reads the resource properties; the error says which property is wrong and how.
pub fn parse_properties(props: &Value) -> Result<GuardProperties, String> {
    let instance_id = match props.get("InstanceId") {
        None | Some(Value::Null) => {
            return Err("property InstanceId is required (the router's instance id, e.g. !Ref Router)".into())
        }
        Some(Value::String(s)) if crate::snapshot::is_instance_id(s.trim()) => s.trim().to_string(),
        Some(Value::String(s)) => {
            return Err(format!(
                "property InstanceId `{}` is not an EC2 instance id (i- followed by 8 or 17 lower-case hex digits)",
                s.chars().take(40).collect::<String>()
            ))
        }
        Some(_) => return Err("property InstanceId must be a string".into()),
    };
    let fail_on_findings = match props.get("FailOnFindings") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => true,
            "false" | "" => false,
            _ => return Err("property FailOnFindings must be true or false".into()),
        },
        Some(_) => return Err("property FailOnFindings must be true or false".into()),
    };
    Ok(GuardProperties {
        instance_id,
        fail_on_findings,
    })
}
