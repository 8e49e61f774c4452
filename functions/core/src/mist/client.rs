//! The Mist cloud API, read-only: the organization's gateway inventory (is the router claimed,
//! is it connected) and the gateways' device stats (which SSR version it runs). The guide's
//! completion probe: "The device is visible as Unassigned in the Mist organization once
//! onboarding is complete".
//!
//! - `GET {api}/api/v1/orgs/{org}/inventory?type=gateway&limit=1000&page=N`
//! - `GET {api}/api/v1/orgs/{org}/stats/devices?type=gateway&limit=1000&page=N` (the spec's
//!   default `type` is `ap`, so `type=gateway` is always sent)
//!
//! both with `Authorization: Token <token>`. The spec (mistsys/mist_openapi 2509.1.2) declares
//! `limit`/`page` but no paging response headers and no maximum `limit`; Mist sends
//! `X-Page-Total` (and `X-Page-Limit`, `X-Page-Page`) and may serve fewer items per page than
//! asked (ask for 1,000, get pages of 100). So: with `X-Page-Total`, reading goes on until that
//! many items are read (a page shorter than `limit` does not end it; an empty page does);
//! without it, a page shorter than the page size (`X-Page-Limit` when sent, else `limit`) ends
//! the read. [`MAX_PAGES`] bounds it either way. Two paged reads per sweep, whatever the number
//! of routers (Mist allows 5,000 calls per hour per token).
//! Unknown response fields are ignored (real responses carry more than the spec lists).
//!
//! The token is only ever put into the request header (marked sensitive); errors carry the HTTP
//! status and the org URL, never the token or a response body.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};

pub use ssr_domain::mist_model::{normalize_mac, GatewayStats, InventoryDevice};

/// Items per page asked of Mist (the spec documents no maximum; 1000 is what Mist's own tools use).
pub const PAGE_LIMIT: usize = 1000;
/// A guard against a server that never returns a short page: 100 pages = 100,000 gateways.
pub const MAX_PAGES: usize = 100;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Why the inventory could not be read. Display texts are written for the alert.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum MistError {
    #[error("Mist API at {url} is unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("Mist API answered 401 Unauthorized")]
    Unauthorized,
    #[error("Mist API answered 403 Forbidden (the token has no access to organization {org_id})")]
    Forbidden { org_id: String },
    #[error("Mist API answered 404 Not Found (is MIST_ORG_ID {org_id} right for {url}?)")]
    NotFound { org_id: String, url: String },
    #[error("Mist API answered 429 Too Many Requests (rate limit of 5,000 calls per hour per token){}", retry_after.as_ref().map(|s| format!("; retry after {s} s")).unwrap_or_default())]
    RateLimited { retry_after: Option<String> },
    #[error("Mist API answered HTTP {status}")]
    Status { status: u16 },
    #[error("Mist API answered something that is not a list of {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    #[error("Mist client cannot be built: {0}")]
    Client(String),
}

/// A Mist client for one organization: one `reqwest::Client` (connection pool, timeouts) per
/// cold start.
#[derive(Clone, Debug)]
pub struct MistClient {
    http: reqwest::Client,
    api_url: String,
    org_id: String,
    page_limit: usize,
}

impl MistClient {
    pub fn new(api_url: &str, org_id: &str) -> Result<Self, MistError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("ssr-onboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MistError::Client(e.without_url().to_string()))?;
        Ok(MistClient {
            http,
            api_url: api_url.trim_end_matches('/').to_string(),
            org_id: org_id.to_string(),
            page_limit: PAGE_LIMIT,
        })
    }

    /// A smaller page size (tests page through the fixtures with it).
    pub fn with_page_limit(mut self, limit: usize) -> Self {
        self.page_limit = limit.max(1);
        self
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    fn list_url(
        &self,
        resource: &str,
        extra: &[(&str, &str)],
        limit: usize,
        page: usize,
    ) -> Result<Url, MistError> {
        let mut url = Url::parse(&format!(
            "{}/api/v1/orgs/{}/{resource}",
            self.api_url, self.org_id
        ))
        .map_err(|e| MistError::Client(format!("bad MIST_API_URL / MIST_ORG_ID: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("type", "gateway");
            for (k, v) in extra {
                q.append_pair(k, v);
            }
            q.append_pair("limit", &limit.to_string())
                .append_pair("page", &page.to_string());
        }
        Ok(url)
    }

    /// All gateways of the organization's inventory, every page.
    pub async fn gateway_inventory(
        &self,
        token: &SecretString,
    ) -> Result<Listed<InventoryDevice>, MistError> {
        self.list(
            token,
            "inventory",
            &[],
            "inventory objects",
            self.page_limit,
        )
        .await
    }

    /// The device stats of all gateways of the organization, every page.
    pub async fn gateway_stats(
        &self,
        token: &SecretString,
    ) -> Result<Listed<GatewayStats>, MistError> {
        self.list(
            token,
            "stats/devices",
            &[],
            "gateway stats",
            self.page_limit,
        )
        .await
    }

    /// The device stats of one gateway (`mac` in Mist's form), one request.
    pub async fn gateway_stats_of(
        &self,
        token: &SecretString,
        mac: &str,
    ) -> Result<Option<GatewayStats>, MistError> {
        let listed = self
            .list::<GatewayStats>(
                token,
                "stats/devices",
                &[("mac", mac)],
                "gateway stats",
                self.page_limit,
            )
            .await?;
        Ok(listed
            .items
            .into_iter()
            .find(|s| s.mac.as_deref().and_then(normalize_mac).as_deref() == Some(mac)))
    }

    /// `GET {api}/api/v1/self`: the token's privileges (who it is is not kept). The cheapest
    /// proof that the token, the Mist cloud and the org id go together (the preflight's).
    pub async fn token_privileges(
        &self,
        token: &SecretString,
    ) -> Result<Vec<Privilege>, MistError> {
        let mut auth = HeaderValue::from_str(&format!("Token {}", token.expose_secret()))
            .map_err(|_| MistError::Client("the Mist token is not a valid header value".into()))?;
        auth.set_sensitive(true);
        let url = Url::parse(&format!("{}/api/v1/self", self.api_url))
            .map_err(|e| MistError::Client(format!("bad MIST_API_URL: {e}")))?;
        let unreachable = |e: reqwest::Error| MistError::Unreachable {
            url: self.api_url.clone(),
            reason: reqwest_reason(&e),
        };
        let res = self
            .http
            .get(url)
            .header(AUTHORIZATION, auth)
            .send()
            .await
            .map_err(unreachable)?;
        let status = res.status();
        if !status.is_success() {
            return Err(self.status_error(status, res.headers()));
        }
        let body = res.bytes().await.map_err(unreachable)?;
        let me: SelfPrivileges =
            serde_json::from_slice(&body).map_err(|e| MistError::Malformed {
                what: "self objects",
                reason: format!(
                    "line {} column {}: {}",
                    e.line(),
                    e.column(),
                    json_problem(&e)
                ),
            })?;
        Ok(me.privileges.unwrap_or_default())
    }

    /// One paged list read. `requests` counts the HTTP calls made.
    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        token: &SecretString,
        resource: &str,
        extra: &[(&str, &str)],
        what: &'static str,
        limit: usize,
    ) -> Result<Listed<T>, MistError> {
        let mut auth = HeaderValue::from_str(&format!("Token {}", token.expose_secret()))
            .map_err(|_| MistError::Client("the Mist token is not a valid header value".into()))?;
        auth.set_sensitive(true);
        let mut items = Vec::new();
        for page in 1..=MAX_PAGES {
            // One request per page.
            let url = self.list_url(resource, extra, limit, page)?;
            let res = self
                .http
                .get(url)
                .header(AUTHORIZATION, auth.clone())
                .send()
                .await
                .map_err(|e| MistError::Unreachable {
                    url: self.api_url.clone(),
                    reason: reqwest_reason(&e),
                })?;
            let status = res.status();
            if !status.is_success() {
                return Err(self.status_error(status, res.headers()));
            }
            // Not in the spec: used when present, never required.
            let total = header_usize(res.headers(), "x-page-total");
            let page_size = header_usize(res.headers(), "x-page-limit")
                .filter(|l| *l > 0)
                .map_or(limit, |l| l.min(limit));
            let body = res.bytes().await.map_err(|e| MistError::Unreachable {
                url: self.api_url.clone(),
                reason: reqwest_reason(&e),
            })?;
            let page_items: Vec<T> =
                serde_json::from_slice(&body).map_err(|e| MistError::Malformed {
                    what,
                    // serde_json errors carry a position, never the input.
                    reason: format!(
                        "line {} column {}: {}",
                        e.line(),
                        e.column(),
                        json_problem(&e)
                    ),
                })?;
            let n = page_items.len();
            items.extend(page_items);
            let done = match total {
                // Mist says how many there are: read until then (or until it has no more).
                Some(t) => items.len() >= t || n == 0,
                None => n < page_size,
            };
            if done {
                return Ok(Listed {
                    items,
                    requests: page,
                });
            }
        }
        Err(MistError::Malformed {
            what,
            reason: format!("more than {MAX_PAGES} pages of {limit}"),
        })
    }

    fn status_error(&self, status: StatusCode, headers: &HeaderMap) -> MistError {
        match status {
            StatusCode::UNAUTHORIZED => MistError::Unauthorized,
            StatusCode::FORBIDDEN => MistError::Forbidden {
                org_id: self.org_id.clone(),
            },
            StatusCode::NOT_FOUND => MistError::NotFound {
                org_id: self.org_id.clone(),
                url: self.api_url.clone(),
            },
            StatusCode::TOO_MANY_REQUESTS => MistError::RateLimited {
                retry_after: headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .filter(|v| v.len() < 40 && v.chars().all(|c| c.is_ascii_graphic()))
                    .map(String::from),
            },
            other => MistError::Status {
                status: other.as_u16(),
            },
        }
    }
}

fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "not a list of the expected objects",
        serde_json::error::Category::Eof => "truncated JSON",
    }
}

fn header_usize(headers: &HeaderMap, name: &str) -> Option<usize> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn reqwest_reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "connection failed".into()
    } else {
        // Without the URL (it is known) and without any header: reqwest never prints headers.
        let mut text = String::new();
        let mut source: Option<&dyn std::error::Error> = Some(e);
        while let Some(s) = source {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&s.to_string());
            source = s.source();
        }
        text
    }
}

/// One of a token's privileges in `GET /api/v1/self` (`privileges[]`: `scope`, `org_id`,
/// `role`; other fields ignored).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
pub struct Privilege {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub org_id: Option<String>,
    #[serde(default)]
    pub role: Option<String>,
}

/// The part of `GET /api/v1/self` read: the privileges (null while two-factor is pending).
#[derive(serde::Deserialize)]
struct SelfPrivileges {
    #[serde(default)]
    privileges: Option<Vec<Privilege>>,
}

/// The API hosts of Mist's clouds, as Mist's OpenAPI description (mistsys/mist_openapi)
/// lists them under `servers`: Global 01-05, EMEA 01-04, APAC 01-03.
pub const MIST_CLOUDS: [&str; 12] = [
    "https://api.mist.com",
    "https://api.gc1.mist.com",
    "https://api.ac2.mist.com",
    "https://api.gc2.mist.com",
    "https://api.gc4.mist.com",
    "https://api.eu.mist.com",
    "https://api.gc3.mist.com",
    "https://api.ac6.mist.com",
    "https://api.gc6.mist.com",
    "https://api.ac5.mist.com",
    "https://api.gc5.mist.com",
    "https://api.gc7.mist.com",
];

/// The items of one paged list read.
#[derive(Clone, Debug, Default)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// HTTP requests the read took (one per page).
    pub requests: usize,
}

#[cfg(test)]
mod tests;
