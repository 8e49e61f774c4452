//! Mist: the token secret is readable, Mist accepts the token (`GET /api/v1/self`), the token
//! sees the organization, the inventory is readable, and the API URL is one of Mist's clouds.
//! When the configured cloud refuses the token (401) or does not know the org (404), doctor asks
//! Mist's other clouds (HTTPS, Mist's own hosts) and names the one that accepts it. The token
//! never leaves a `SecretString` except into the request header.

use futures_util::future::join_all;
use secrecy::SecretString;
use ssr_core::aws::secrets::{CachedSecret, Secrets, MIST_TOKEN};
use ssr_core::check::Check;
use ssr_core::mist::client::{MistClient, MistError, MIST_CLOUDS};
use ssr_core::Config;

use super::Checks;

/// The Mist checks of one configuration.
pub struct MistProbe {
    api_url: String,
    org_id: Option<String>,
    token: Option<CachedSecret>,
    /// The clouds to try when the configured one refuses the token.
    clouds: Vec<String>,
}

impl MistProbe {
    /// `clouds`: where to look for the right cloud ([`MIST_CLOUDS`] when empty).
    pub fn new(
        config: &Config,
        secrets: aws_sdk_secretsmanager::Client,
        clouds: &[String],
    ) -> Self {
        let token = match (&config.mist.token_secret_arn, &config.mist.token) {
            (Some(arn), _) => Some(CachedSecret::stored(
                MIST_TOKEN,
                arn.clone(),
                Secrets::new(secrets),
            )),
            (None, Some(t)) => Some(CachedSecret::given(MIST_TOKEN, t.clone())),
            (None, None) => None,
        };
        MistProbe {
            api_url: config.mist.api_url.clone(),
            org_id: config.mist.org_id.clone(),
            token,
            clouds: if clouds.is_empty() {
                MIST_CLOUDS.iter().map(|c| c.to_string()).collect()
            } else {
                clouds.to_vec()
            },
        }
    }

    pub(crate) async fn run(&self, checks: &mut Checks) {
        let known = self.clouds.iter().any(|c| c == &self.api_url)
            || MIST_CLOUDS.contains(&self.api_url.as_str());
        checks.push(if known {
            Check::ok(
                "mist.api-url",
                format!("{} is one of Mist's clouds", self.api_url),
            )
        } else {
            Check::warning(
                "mist.api-url",
                format!(
                    "{} is not one of Mist's clouds ({})",
                    self.api_url,
                    MIST_CLOUDS.join(", ")
                ),
                "set MistApiUrl to your Mist cloud's API host (docs/support.md#mist-clouds)",
            )
        });
        let (Some(org), Some(token)) = (self.org_id.as_deref(), self.token.as_ref()) else {
            checks.push(Check::warning(
                "mist.token",
                "Mist is not configured (MistOrgId / MistTokenSecretArn unset): no router can be confirmed onboarded by Mist",
                "set the MistOrgId and MistTokenSecretArn parameters (README, Deploy)",
            ));
            return;
        };
        let secret = match token.get().await {
            Ok(t) => {
                checks.push(Check::ok(
                    "mist.token-secret",
                    format!("{} is readable", token.origin()),
                ));
                t
            }
            Err(why) => {
                checks.push(Check::problem(
                    "mist.token-secret",
                    why,
                    "store the token: aws secretsmanager put-secret-value --secret-id <MistTokenSecretArn> --secret-string '{\"token\": \"<token>\"}' (and check the functions may read it: docs/iam.md)",
                ));
                return;
            }
        };
        let client = match MistClient::new(&self.api_url, org) {
            Ok(c) => c,
            Err(e) => {
                checks.push(Check::problem(
                    "mist.token",
                    e.to_string(),
                    "set MistApiUrl to an https URL",
                ));
                return;
            }
        };
        let privileges = match client.token_privileges(&secret).await {
            Ok(p) => p,
            Err(e) => {
                let elsewhere = match e {
                    MistError::Unauthorized | MistError::NotFound { .. } => {
                        self.accepting_cloud(org, &secret).await
                    }
                    _ => None,
                };
                let fix = match &elsewhere {
                    Some(url) => format!("the token works at {url}: set MistApiUrl={url} and update the stack"),
                    None if matches!(e, MistError::Unauthorized) => "create a new API token in the Mist portal (Organization > Settings > API Token) and store it in the token secret; or set MistApiUrl to the cloud your organization is in (docs/support.md#mist-clouds)".to_string(),
                    None => "check MistApiUrl and that Mist is reachable from here".to_string(),
                };
                checks.push(Check::problem(
                    "mist.token",
                    format!("GET {}/api/v1/self: {e}", self.api_url),
                    fix,
                ));
                return;
            }
        };
        checks.push(Check::ok(
            "mist.token",
            format!(
                "accepted by {} ({} privilege(s))",
                self.api_url,
                privileges.len()
            ),
        ));
        match privileges.iter().find(|p| {
            p.org_id
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(org))
        }) {
            Some(p) => checks.push(Check::ok(
                "mist.org",
                format!(
                    "the token sees organization {org} (scope {}, role {})",
                    p.scope.as_deref().unwrap_or("?"),
                    p.role.as_deref().unwrap_or("?")
                ),
            )),
            None if privileges.iter().any(|p| p.scope.as_deref() == Some("msp")) => {
                checks.push(Check::ok(
                    "mist.org",
                    format!("the token has MSP scope; organization {org} is read through it"),
                ))
            }
            None => {
                let seen: Vec<&str> = privileges
                    .iter()
                    .filter_map(|p| p.org_id.as_deref())
                    .collect();
                checks.push(Check::problem(
                    "mist.org",
                    format!(
                        "the token has no privilege on organization {org} (it sees: {})",
                        if seen.is_empty() { "none".to_string() } else { seen.join(", ") }
                    ),
                    "set MistOrgId to your organization's id (Mist portal: Organization > Settings), or create the token in that organization",
                ));
                return;
            }
        }
        match client.gateway_inventory(&secret).await {
            Ok(listed) => checks.push(Check::ok(
                "mist.inventory",
                format!("readable: {} gateway(s)", listed.items.len()),
            )),
            Err(e) => checks.push(Check::problem(
                "mist.inventory",
                format!("the gateway inventory could not be read: {e}"),
                "give the token read access to the organization (Mist portal: Organization > Settings > API Token)",
            )),
        }
    }

    /// The first other cloud whose `GET /api/v1/self` accepts the token and shows the org.
    async fn accepting_cloud(&self, org: &str, token: &SecretString) -> Option<String> {
        let others: Vec<&String> = self.clouds.iter().filter(|c| **c != self.api_url).collect();
        let answers = join_all(others.iter().map(|cloud| async move {
            let client = MistClient::new(cloud, org).ok()?;
            let privileges = client.token_privileges(token).await.ok()?;
            privileges
                .iter()
                .any(|p| {
                    p.org_id
                        .as_deref()
                        .is_some_and(|o| o.eq_ignore_ascii_case(org))
                        || p.scope.as_deref() == Some("msp")
                })
                .then(|| cloud.to_string())
        }))
        .await;
        answers.into_iter().flatten().next()
    }
}
