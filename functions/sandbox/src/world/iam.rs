//! IAM, which the workspace has no SDK for: the routers' instance profile, created with raw
//! Query calls to moto.

use super::{Sandbox, SandboxError, ROUTER_INSTANCE_PROFILE};

impl Sandbox {
    /// The IAM instance profile for routers (role + profile created in moto once per sandbox;
    /// RunInstances refuses a profile moto does not know).
    pub(super) async fn router_instance_profile(&self) -> Result<&str, SandboxError> {
        self.instance_profile
            .get_or_try_init(|| async {
                let trust = serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole"
                    }]
                })
                .to_string();
                let role = "ssr-router-role";
                self.iam_call(&[
                    ("Action", "CreateRole"),
                    ("RoleName", role),
                    ("AssumeRolePolicyDocument", &trust),
                ])
                .await?;
                self.iam_call(&[
                    ("Action", "CreateInstanceProfile"),
                    ("InstanceProfileName", ROUTER_INSTANCE_PROFILE),
                ])
                .await?;
                self.iam_call(&[
                    ("Action", "AddRoleToInstanceProfile"),
                    ("InstanceProfileName", ROUTER_INSTANCE_PROFILE),
                    ("RoleName", role),
                ])
                .await?;
                Ok(ROUTER_INSTANCE_PROFILE.to_string())
            })
            .await
            .map(String::as_str)
    }

    /// One IAM Query call to moto. The workspace has no IAM SDK (the product never calls IAM);
    /// moto routes by the credential scope of the Authorization header and checks no signature.
    async fn iam_call(&self, params: &[(&str, &str)]) -> Result<String, SandboxError> {
        let action = params
            .iter()
            .find(|(k, _)| *k == "Action")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let mut body = String::from("Version=2010-05-08");
        for (k, v) in params {
            body.push('&');
            body.push_str(&form_encode(k));
            body.push('=');
            body.push_str(&form_encode(v));
        }
        let response = self
            .http
            .post(format!("{}/", self.endpoint))
            .header(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .header(
                "Authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=testing/20260101/{}/iam/aws4_request, \
                     SignedHeaders=host, Signature=0",
                    self.region
                ),
            )
            .body(body)
            .send()
            .await
            .map_err(|e| SandboxError::Iam {
                action: action.clone(),
                detail: e.to_string(),
            })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            Ok(text)
        } else {
            Err(SandboxError::Iam {
                action,
                detail: format!("HTTP {status}: {text}"),
            })
        }
    }
}

/// `application/x-www-form-urlencoded` value encoding (RFC 3986 unreserved kept).
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
