//! Where the Mist API token comes from: `MIST_TOKEN_SECRET_ARN` (Secrets Manager, read once per
//! cold start and again after Mist rejects it, in case the secret was rotated) or, for local
//! runs, `MIST_API_TOKEN`. The token is a [`SecretString`]: it never reaches a log or an error.

use secrecy::SecretString;

use crate::aws::secrets::{mist_token_from_secret, Secrets};

pub enum TokenSource {
    /// `MIST_API_TOKEN` (local use).
    Env(SecretString),
    /// `MIST_TOKEN_SECRET_ARN`, cached.
    Secret {
        arn: String,
        secrets: Secrets,
        cache: tokio::sync::Mutex<Option<SecretString>>,
    },
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env(_) => f.write_str("TokenSource::Env(..)"),
            TokenSource::Secret { arn, .. } => write!(f, "TokenSource::Secret({arn})"),
        }
    }
}

impl TokenSource {
    pub fn secret(arn: String, secrets: Secrets) -> Self {
        TokenSource::Secret {
            arn,
            secrets,
            cache: tokio::sync::Mutex::new(None),
        }
    }

    /// The token; the error says where it should have come from (never the token).
    pub async fn token(&self) -> Result<SecretString, String> {
        match self {
            TokenSource::Env(t) => Ok(t.clone()),
            TokenSource::Secret {
                arn,
                secrets,
                cache,
            } => {
                let mut guard = cache.lock().await;
                if let Some(t) = guard.as_ref() {
                    return Ok(t.clone());
                }
                let raw = secrets.secret_string(arn).await.map_err(|e| {
                    format!(
                        "the Mist token could not be read from {arn} ({}: {})",
                        e.code, e.message
                    )
                })?;
                let token = mist_token_from_secret(&raw).ok_or_else(|| {
                    format!("secret {arn} holds neither a token nor JSON {{\"token\": \"...\"}}")
                })?;
                *guard = Some(token.clone());
                Ok(token)
            }
        }
    }

    /// Where the token comes from, for a person: the secret's ARN or `MIST_API_TOKEN` (never
    /// the token).
    pub fn origin(&self) -> String {
        match self {
            TokenSource::Secret { arn, .. } => format!("the secret {arn}"),
            TokenSource::Env(_) => "MIST_API_TOKEN".to_string(),
        }
    }

    /// Mist rejected the token: forget the cached one (the next read fetches the secret again)
    /// and say where to look.
    pub async fn rejected(&self) -> String {
        match self {
            TokenSource::Secret { arn, cache, .. } => {
                *cache.lock().await = None;
                format!(": check the token in {arn}")
            }
            TokenSource::Env(_) => ": check MIST_API_TOKEN".to_string(),
        }
    }
}
