//! Secrets Manager: the Mist API token. The value only ever travels as a [`SecretString`].

use secrecy::{ExposeSecret, SecretString};

use super::AwsError;

#[derive(Clone, Debug)]
pub struct Secrets {
    client: aws_sdk_secretsmanager::Client,
}

impl Secrets {
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Secrets { client }
    }

    /// GetSecretValue → the secret string (binary secrets are refused).
    pub async fn secret_string(&self, secret_id: &str) -> Result<SecretString, AwsError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("GetSecretValue", e))?;
        out.secret_string()
            .map(|s| SecretString::from(s.to_string()))
            .ok_or_else(|| {
                AwsError::new(
                    "GetSecretValue",
                    "NoSecretString",
                    format!("secret {secret_id} has no SecretString (binary secrets are not read)"),
                )
            })
    }
}

/// The Mist token inside a secret string: either the raw token, or JSON with a `token` field
/// (`{"token": "..."}`, as the console's key/value editor stores it). `None` when empty or when
/// JSON without a usable `token`.
pub fn mist_token_from_secret(secret: &SecretString) -> Option<SecretString> {
    let raw = secret.expose_secret().trim();
    if raw.is_empty() {
        return None;
    }
    if raw.starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(raw).ok()?;
        return v
            .get("token")
            .and_then(|t| t.as_str())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| SecretString::from(t.to_string()));
    }
    Some(SecretString::from(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_smithy_mocks::{mock, mock_client};

    #[test]
    fn when_secret_is_raw_or_json_then_token_extracted() {
        let tok = |s: &str| {
            mist_token_from_secret(&SecretString::from(s.to_string()))
                .map(|t| t.expose_secret().to_string())
        };
        assert_eq!(tok("  abc123 \n").as_deref(), Some("abc123"));
        assert_eq!(tok(r#"{"token": "abc123"}"#).as_deref(), Some("abc123"));
        assert_eq!(tok(r#"{"other": "abc123"}"#), None);
        assert_eq!(tok(r#"{"token": "#), None);
        assert_eq!(tok(""), None);
    }

    #[tokio::test]
    async fn when_secret_read_then_value_returned_as_secret() {
        let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string("tok-1")
                .build()
        });
        let client = mock_client!(aws_sdk_secretsmanager, [&rule]);
        let s = Secrets::new(client)
            .secret_string("arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbCdEf")
            .await
            .unwrap();
        assert_eq!(s.expose_secret(), "tok-1");
        assert!(!format!("{s:?}").contains("tok-1"));
    }
}
