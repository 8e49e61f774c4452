//! Secrets Manager: the Mist API token and the webhook secret, each read once per cold start
//! ([`CachedSecret`]) and again after it was refused (in case it was rotated). A value only
//! ever travels as a [`SecretString`]: it never reaches a log, an error or an output.

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

/// Which secret a [`CachedSecret`] holds: how it is named to a person, the variable that gives
/// it directly (local runs), and how its value is taken out of the secret string.
#[derive(Clone, Copy)]
pub struct SecretKind {
    /// In errors: "the Mist token could not be read from …".
    pub what: &'static str,
    /// In hints after a refusal: ": check the token in …".
    pub short: &'static str,
    /// The environment variable that gives it directly.
    pub variable: &'static str,
    pub extract: fn(&SecretString) -> Option<SecretString>,
    /// What `extract` accepts, for the error when it finds nothing ("secret … holds neither …").
    pub expected: &'static str,
}

/// The Mist API token (`MIST_TOKEN_SECRET_ARN`, or `MIST_API_TOKEN` for local runs).
pub const MIST_TOKEN: SecretKind = SecretKind {
    what: "the Mist token",
    short: "the token",
    variable: "MIST_API_TOKEN",
    extract: mist_token_from_secret,
    expected: "a token nor JSON {\"token\": \"...\"}",
};

/// The Mist webhook's signing secret (`MIST_WEBHOOK_SECRET_ARN`, or `MIST_WEBHOOK_SECRET`).
pub const WEBHOOK_SECRET: SecretKind = SecretKind {
    what: "the webhook secret",
    short: "the secret",
    variable: "MIST_WEBHOOK_SECRET",
    extract: raw_from_secret,
    expected: "a value",
};

/// A secret held for the life of a warm container: given directly, or read from Secrets
/// Manager on first use and again after it was refused.
pub struct CachedSecret {
    kind: SecretKind,
    source: Source,
}

enum Source {
    Given(SecretString),
    Stored {
        arn: String,
        secrets: Secrets,
        cache: tokio::sync::Mutex<Option<SecretString>>,
    },
}

impl std::fmt::Debug for CachedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CachedSecret({}, {})", self.kind.what, self.origin())
    }
}

impl CachedSecret {
    /// A value given directly (its kind's environment variable).
    pub fn given(kind: SecretKind, value: SecretString) -> Self {
        CachedSecret {
            kind,
            source: Source::Given(value),
        }
    }

    /// A value read from the secret `arn` on first use.
    pub fn stored(kind: SecretKind, arn: String, secrets: Secrets) -> Self {
        CachedSecret {
            kind,
            source: Source::Stored {
                arn,
                secrets,
                cache: tokio::sync::Mutex::new(None),
            },
        }
    }

    /// The value; the error says where it should have come from (never the value).
    pub async fn get(&self) -> Result<SecretString, String> {
        match &self.source {
            Source::Given(value) => Ok(value.clone()),
            Source::Stored {
                arn,
                secrets,
                cache,
            } => {
                let mut held = cache.lock().await;
                if let Some(v) = held.as_ref() {
                    return Ok(v.clone());
                }
                let raw = secrets.secret_string(arn).await.map_err(|e| {
                    format!(
                        "{} could not be read from {arn} ({}: {})",
                        self.kind.what, e.code, e.message
                    )
                })?;
                let value = (self.kind.extract)(&raw)
                    .ok_or_else(|| format!("secret {arn} holds neither {}", self.kind.expected))?;
                *held = Some(value.clone());
                Ok(value)
            }
        }
    }

    /// Where the value comes from, for a person: the secret's ARN or the variable (never the
    /// value).
    pub fn origin(&self) -> String {
        match &self.source {
            Source::Stored { arn, .. } => format!("the secret {arn}"),
            Source::Given(_) => self.kind.variable.to_string(),
        }
    }

    /// The value was refused: forget it (the next [`Self::get`] reads the secret again) and
    /// say where to look.
    pub async fn refused(&self) -> String {
        match &self.source {
            Source::Stored { arn, cache, .. } => {
                *cache.lock().await = None;
                format!(": check {} in {arn}", self.kind.short)
            }
            Source::Given(_) => format!(": check {}", self.kind.variable),
        }
    }
}

/// The webhook secret inside a secret string: the whole value, trimmed.
pub fn raw_from_secret(secret: &SecretString) -> Option<SecretString> {
    Some(SecretString::from(
        secret.expose_secret().trim().to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueOutput;
    use aws_smithy_mocks::{mock, mock_client, RuleMode};

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

    fn stored_token(rules: &[&aws_smithy_mocks::Rule]) -> CachedSecret {
        let client = mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, rules);
        CachedSecret::stored(
            MIST_TOKEN,
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbCdEf".into(),
            Secrets::new(client),
        )
    }

    #[tokio::test]
    async fn when_a_stored_secret_is_read_twice_then_secrets_manager_is_called_once() {
        let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .sequence()
            .output(|| {
                GetSecretValueOutput::builder()
                    .secret_string(r#"{"token": "tok-1"}"#)
                    .build()
            })
            .repeatedly()
            .build();
        let s = stored_token(&[&rule]);
        assert_eq!(s.get().await.unwrap().expose_secret(), "tok-1");
        assert_eq!(s.get().await.unwrap().expose_secret(), "tok-1");
        assert_eq!(rule.num_calls(), 1);
        assert!(!format!("{s:?}").contains("tok-1"));
    }

    #[tokio::test]
    async fn when_a_stored_secret_is_refused_then_it_is_read_again_and_the_hint_names_it() {
        let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
            .sequence()
            .output(|| {
                GetSecretValueOutput::builder()
                    .secret_string("tok-1")
                    .build()
            })
            .repeatedly()
            .build();
        let s = stored_token(&[&rule]);
        s.get().await.unwrap();
        assert_eq!(
            s.refused().await,
            ": check the token in arn:aws:secretsmanager:us-east-1:123456789012:secret:mist-AbCdEf"
        );
        s.get().await.unwrap();
        assert_eq!(rule.num_calls(), 2);
    }

    #[tokio::test]
    async fn when_a_secret_is_given_or_unusable_then_the_errors_name_where_and_never_the_value() {
        let given = CachedSecret::given(WEBHOOK_SECRET, SecretString::from(" s3cret ".to_string()));
        assert_eq!(given.get().await.unwrap().expose_secret(), " s3cret ");
        assert_eq!(given.origin(), "MIST_WEBHOOK_SECRET");
        assert_eq!(given.refused().await, ": check MIST_WEBHOOK_SECRET");
        let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value).then_output(|| {
            GetSecretValueOutput::builder()
                .secret_string(r#"{"other": "tok-SECRET"}"#)
                .build()
        });
        let err = stored_token(&[&rule]).get().await.unwrap_err();
        assert!(err.contains("holds neither a token nor JSON"), "{err}");
        assert!(!err.contains("tok-SECRET"), "{err}");
    }
}
