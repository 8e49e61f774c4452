//! The Mist cloud API, read-only: the organization's gateway inventory, the watchdog's
//! completion probe (the guide: "The device is visible as Unassigned in the Mist organization
//! once onboarding is complete").
//!
//! `GET {api}/api/v1/orgs/{org}/inventory?type=gateway&limit=1000&page=N` with
//! `Authorization: Token <token>`. Mist paginates with `limit`/`page` and answers
//! `X-Page-Total`/`X-Page-Limit`/`X-Page-Page`; reading stops at a short page or when the total
//! is reached. One paginated read per sweep, whatever the number of routers (Mist allows 5,000
//! calls per hour per token).
//!
//! The token is only ever put into the request header (marked sensitive); errors carry the HTTP
//! status and the org URL, never the token or a response body.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Items per page asked of Mist (its maximum page size for inventory).
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
    #[error("Mist API answered something that is not an inventory list: {reason}")]
    Malformed { reason: String },
    #[error("Mist client cannot be built: {0}")]
    Client(String),
}

/// One inventory item. Mist sends more fields (some, like `magic`, the claim code, are secret):
/// only these are kept.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct InventoryDevice {
    #[serde(default)]
    pub name: Option<String>,
    /// 12 lower-case hex characters, no separators (as Mist writes it).
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default, rename = "type")]
    pub device_type: Option<String>,
    #[serde(default)]
    pub connected: Option<bool>,
    /// Firmware / SSR version; absent until the device reports it.
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub site_id: Option<String>,
}

/// A Mist client for one organization: one `reqwest::Client` (connection pool, timeouts) per
/// cold start.
#[derive(Clone, Debug)]
pub struct MistClient {
    http: reqwest::Client,
    api_url: String,
    org_id: String,
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
        })
    }

    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    fn inventory_url(&self, page: usize) -> Result<Url, MistError> {
        let mut url = Url::parse(&format!(
            "{}/api/v1/orgs/{}/inventory",
            self.api_url, self.org_id
        ))
        .map_err(|e| MistError::Client(format!("bad MIST_API_URL / MIST_ORG_ID: {e}")))?;
        url.query_pairs_mut()
            .append_pair("type", "gateway")
            .append_pair("limit", &PAGE_LIMIT.to_string())
            .append_pair("page", &page.to_string());
        Ok(url)
    }

    /// All gateways of the organization, every page. `requests` counts the HTTP calls made.
    pub async fn gateway_inventory(&self, token: &SecretString) -> Result<Inventory, MistError> {
        let mut auth = HeaderValue::from_str(&format!("Token {}", token.expose_secret()))
            .map_err(|_| MistError::Client("the Mist token is not a valid header value".into()))?;
        auth.set_sensitive(true);
        let mut devices = Vec::new();
        let mut requests = 0;
        for page in 1..=MAX_PAGES {
            let url = self.inventory_url(page)?;
            requests += 1;
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
            let total = header_usize(res.headers(), "x-page-total");
            let body = res.bytes().await.map_err(|e| MistError::Unreachable {
                url: self.api_url.clone(),
                reason: reqwest_reason(&e),
            })?;
            let items: Vec<InventoryDevice> =
                serde_json::from_slice(&body).map_err(|e| MistError::Malformed {
                    // serde_json errors carry a position, never the input.
                    reason: format!(
                        "line {} column {}: {}",
                        e.line(),
                        e.column(),
                        json_problem(&e)
                    ),
                })?;
            let n = items.len();
            devices.extend(items);
            let reached_total = total.is_some_and(|t| devices.len() >= t);
            if n < PAGE_LIMIT || reached_total {
                return Ok(Inventory::new(devices, requests));
            }
        }
        Err(MistError::Malformed {
            reason: format!("more than {MAX_PAGES} pages of {PAGE_LIMIT} gateways"),
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
        serde_json::error::Category::Data => "not a list of inventory objects",
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

/// The gateways of one organization, indexed for matching routers.
#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub devices: Vec<InventoryDevice>,
    /// HTTP requests the read took (one per page).
    pub requests: usize,
}

impl Inventory {
    pub fn new(devices: Vec<InventoryDevice>, requests: usize) -> Self {
        Inventory { devices, requests }
    }
}

/// A MAC address as Mist writes it: 12 lower-case hex characters, no separators. Accepts EC2's
/// `0a:1b:2c:3d:4e:5f`, `0A-1B-…`, `0a1b.2c3d.4e5f` and Mist's own form; anything else is `None`.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let hex: String = mac
        .trim()
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const ORG: &str = "9777c1a0-6ef6-11e6-8bbf-02e208b2d34f";
    const TOKEN: &str = "mist-tok-SECRET-abc123";

    fn device(i: usize) -> serde_json::Value {
        serde_json::json!({
            "name": format!("router-{i}"), "mac": format!("0a{i:010x}"), "serial": format!("S{i}"),
            "model": "SSR", "type": "gateway", "connected": true, "version": "6.3.0-107.r1",
            "site_id": null, "magic": "CLAIM-CODE-SECRET"
        })
    }

    #[test]
    fn when_mac_has_separators_or_case_then_normalized_to_mist_form() {
        assert_eq!(
            normalize_mac("0A:1b:2C:3d:4e:5F").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            normalize_mac("0a-1b-2c-3d-4e-5f").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            normalize_mac("0a1b.2c3d.4e5f").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(
            normalize_mac("0a1b2c3d4e5f").as_deref(),
            Some("0a1b2c3d4e5f")
        );
        assert_eq!(normalize_mac("0a:1b:2c:3d:4e"), None);
        assert_eq!(normalize_mac("zz:1b:2c:3d:4e:5f"), None);
        assert_eq!(normalize_mac(""), None);
    }

    #[tokio::test]
    async fn when_inventory_spans_pages_then_all_pages_read_with_token_and_limit() {
        let server = MockServer::start().await;
        let p1: Vec<_> = (0..PAGE_LIMIT).map(device).collect();
        let p2: Vec<_> = (PAGE_LIMIT..PAGE_LIMIT + 5).map(device).collect();
        for (page, body) in [("1", p1), ("2", p2)] {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{ORG}/inventory")))
                .and(query_param("type", "gateway"))
                .and(query_param("limit", "1000"))
                .and(query_param("page", page))
                .and(header("authorization", format!("Token {TOKEN}").as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header("X-Page-Total", "1005")
                        .insert_header("X-Page-Limit", "1000")
                        .insert_header("X-Page-Page", page)
                        .set_body_json(body),
                )
                .expect(1)
                .mount(&server)
                .await;
        }
        let c = MistClient::new(&server.uri(), ORG).unwrap();
        let inv = c
            .gateway_inventory(&SecretString::from(TOKEN))
            .await
            .unwrap();
        assert_eq!(inv.devices.len(), 1005);
        assert_eq!(inv.requests, 2);
        assert_eq!(inv.devices[1004].name.as_deref(), Some("router-1004"));
        assert_eq!(inv.devices[0].version.as_deref(), Some("6.3.0-107.r1"));
        assert!(!format!("{inv:?}").contains("CLAIM-CODE-SECRET"));
    }

    #[tokio::test]
    async fn when_full_page_reaches_total_then_no_further_request() {
        let server = MockServer::start().await;
        let p1: Vec<_> = (0..PAGE_LIMIT).map(device).collect();
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-Page-Total", "1000")
                    .set_body_json(p1),
            )
            .expect(1)
            .mount(&server)
            .await;
        let inv = MistClient::new(&server.uri(), ORG)
            .unwrap()
            .gateway_inventory(&SecretString::from(TOKEN))
            .await
            .unwrap();
        assert_eq!((inv.devices.len(), inv.requests), (1000, 1));
    }

    #[tokio::test]
    async fn when_mist_answers_errors_then_typed_errors_without_token_or_body() {
        let server = MockServer::start().await;
        let cases = [
            (401, MistError::Unauthorized),
            (
                429,
                MistError::RateLimited {
                    retry_after: Some("30".into()),
                },
            ),
            (500, MistError::Status { status: 500 }),
        ];
        for (status, want) in cases {
            server.reset().await;
            Mock::given(method("GET"))
                .respond_with(
                    ResponseTemplate::new(status)
                        .insert_header("Retry-After", "30")
                        .set_body_string(format!("{{\"detail\":\"bad token {TOKEN}\"}}")),
                )
                .mount(&server)
                .await;
            let err = MistClient::new(&server.uri(), ORG)
                .unwrap()
                .gateway_inventory(&SecretString::from(TOKEN))
                .await
                .unwrap_err();
            assert_eq!(err, want);
            assert!(!format!("{err} {err:?}").contains(TOKEN));
        }
    }

    #[tokio::test]
    async fn when_body_is_not_a_list_then_malformed() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"oops\": true}"))
            .mount(&server)
            .await;
        let err = MistClient::new(&server.uri(), ORG)
            .unwrap()
            .gateway_inventory(&SecretString::from(TOKEN))
            .await
            .unwrap_err();
        assert!(matches!(err, MistError::Malformed { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn when_server_is_down_then_unreachable() {
        // A port nothing listens on (wiremock pools its servers, so a dropped one still answers).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = MistClient::new(&format!("http://127.0.0.1:{port}"), ORG)
            .unwrap()
            .gateway_inventory(&SecretString::from(TOKEN))
            .await
            .unwrap_err();
        assert!(matches!(err, MistError::Unreachable { .. }), "{err:?}");
        assert!(!err.to_string().contains(TOKEN));
    }
}
