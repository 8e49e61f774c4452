//! Secrets Manager: the Mist API token and the webhook secret, each read once per cold start
//! ([`CachedSecret`]) and again after it was refused (in case it was rotated): the token when
//! Mist refuses it, the webhook secret after a signature mismatch (at most once per
//! [`CachedSecret::reread_if_due`]'s interval). A value only ever travels as a
//! [`SecretString`]: it never reaches a log, an error or an output.

use std::time::{Duration, Instant};

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
    extract: webhook_secret_from_secret,
    expected: "a value nor JSON {\"secret\": \"...\"}",
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
        /// Boxed: the cached secret sits inside other per-container state.
        cache: Box<tokio::sync::Mutex<Held>>,
    },
}

/// A stored secret's value, when read, and when it was last read again on suspicion.
#[derive(Default)]
struct Held {
    value: Option<SecretString>,
    reread_at: Option<Instant>,
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
                cache: Box::default(),
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
                if let Some(v) = held.value.as_ref() {
                    return Ok(v.clone());
                }
                let value = self.read(arn, secrets).await?;
                held.value = Some(value.clone());
                Ok(value)
            }
        }
    }

    /// The value may be out of date (a signature did not match it): reads the secret again and
    /// returns the new value, unless it was read again less than `interval` ago (or is given
    /// directly): then `Ok(None)`, so a flood of bad requests costs at most one
    /// `GetSecretValue` per `interval`. A failed read keeps the value held.
    pub async fn reread_if_due(&self, interval: Duration) -> Result<Option<SecretString>, String> {
        let Source::Stored {
            arn,
            secrets,
            cache,
        } = &self.source
        else {
            return Ok(None);
        };
        let mut held = cache.lock().await;
        if held.reread_at.is_some_and(|at| at.elapsed() < interval) {
            return Ok(None);
        }
        held.reread_at = Some(Instant::now());
        let value = self.read(arn, secrets).await?;
        held.value = Some(value.clone());
        Ok(Some(value))
    }

    /// One GetSecretValue of `arn`, the value taken out of the secret string.
    async fn read(&self, arn: &str, secrets: &Secrets) -> Result<SecretString, String> {
        let raw = secrets.secret_string(arn).await.map_err(|e| {
            format!(
                "{} could not be read from {arn} ({}: {})",
                self.kind.what, e.code, e.message
            )
        })?;
        (self.kind.extract)(&raw)
            .ok_or_else(|| format!("secret {arn} holds neither {}", self.kind.expected))
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
                cache.lock().await.value = None;
                format!(": check {} in {arn}", self.kind.short)
            }
            Source::Given(_) => format!(": check {}", self.kind.variable),
        }
    }
}

/// The webhook secret inside a secret string: the whole value, trimmed; or, when it is a JSON
/// object (the console's key/value editor stores one), its `secret` field. `None` when empty,
/// or a JSON object without a usable `secret`.
pub fn webhook_secret_from_secret(secret: &SecretString) -> Option<SecretString> {
    let raw = secret.expose_secret().trim();
    let value = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(fields)) => fields
            .get("secret")
            .and_then(|s| s.as_str())
            .map(str::trim)?
            .to_string(),
        // A raw secret (JSON or not, unless an object) is used whole.
        _ => raw.to_string(),
    };
    (!value.is_empty()).then(|| SecretString::from(value))
}

#[cfg(test)]
mod tests;
