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
//! `limit`/`page` but no paging response headers and no maximum `limit`: reading stops at a short
//! page, or when an `X-Page-Total` header (optional) says the total is reached. Two paged reads
//! per sweep, whatever the number of routers (Mist allows 5,000 calls per hour per token).
//! Unknown response fields are ignored (real responses carry more than the spec lists).
//!
//! The token is only ever put into the request header (marked sensitive); errors carry the HTTP
//! status and the org URL, never the token or a response body.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, AUTHORIZATION, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

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
    /// Absent while the device is unassigned (the API omits the key).
    #[serde(default)]
    pub site_id: Option<String>,
}

/// One gateway's device stats (`stats_gateway`): only what the watchdog reads. The SSR version
/// is here, not in the inventory.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
pub struct GatewayStats {
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    /// The running SSR version (nullable in the spec; absent until reported).
    #[serde(default)]
    pub version: Option<String>,
    /// `connected` / `disconnected` (free text in the spec).
    #[serde(default)]
    pub status: Option<String>,
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
            let reached_total = total.is_some_and(|t| items.len() >= t);
            if n < limit || reached_total {
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

/// The items of one paged list read.
#[derive(Clone, Debug, Default)]
pub struct Listed<T> {
    pub items: Vec<T>,
    /// HTTP requests the read took (one per page).
    pub requests: usize,
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
            "model": "SSR", "type": "gateway", "connected": true,
            "magic": "CLAIM-CODE-SECRET"
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

    /// Mist's answers for `resource` (`inventory`, `stats/devices`): page N of `pages` (type
    /// gateway, limit 1000, the token) with the `X-Page-*` headers of a `total`-item list, each
    /// expected exactly once.
    async fn mount_pages<const N: usize>(
        server: &MockServer,
        resource: &str,
        pages: [Vec<serde_json::Value>; N],
        total: usize,
    ) {
        for (i, body) in pages.into_iter().enumerate() {
            let page = (i + 1).to_string();
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{ORG}/{resource}")))
                .and(query_param("type", "gateway"))
                .and(query_param("limit", "1000"))
                .and(query_param("page", page.as_str()))
                .and(header("authorization", format!("Token {TOKEN}").as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .insert_header("X-Page-Total", total.to_string().as_str())
                        .insert_header("X-Page-Limit", "1000")
                        .insert_header("X-Page-Page", page.as_str())
                        .set_body_json(body),
                )
                .expect(1)
                .mount(server)
                .await;
        }
    }

    #[tokio::test]
    async fn when_inventory_spans_pages_then_all_pages_read_with_token_and_limit() {
        let server = MockServer::start().await;
        let p1: Vec<_> = (0..PAGE_LIMIT).map(device).collect();
        let p2: Vec<_> = (PAGE_LIMIT..PAGE_LIMIT + 5).map(device).collect();
        mount_pages(&server, "inventory", [p1, p2], 1005).await;
        let c = MistClient::new(&server.uri(), ORG).unwrap();
        let inv = c
            .gateway_inventory(&SecretString::from(TOKEN))
            .await
            .unwrap();
        assert_eq!(inv.items.len(), 1005);
        assert_eq!(inv.requests, 2);
        assert_eq!(inv.items[1004].name.as_deref(), Some("router-1004"));
        assert!(!format!("{inv:?}").contains("CLAIM-CODE-SECRET"));
    }

    #[tokio::test]
    async fn when_gateway_stats_span_pages_with_paging_headers_then_all_read_and_no_request_past_the_total(
    ) {
        let server = MockServer::start().await;
        let stat = |i: usize| {
            serde_json::json!({"mac": format!("02{i:010x}"), "name": format!("router-{i}"),
                "type": "gateway", "status": "connected", "version": "6.3.0-107.r1"})
        };
        let p1: Vec<_> = (0..PAGE_LIMIT).map(stat).collect();
        let p2: Vec<_> = (PAGE_LIMIT..2 * PAGE_LIMIT).map(stat).collect();
        mount_pages(&server, "stats/devices", [p1, p2], 2000).await;
        let c = MistClient::new(&server.uri(), ORG).unwrap();
        let stats = c.gateway_stats(&SecretString::from(TOKEN)).await.unwrap();
        assert_eq!(stats.items.len(), 2000);
        assert_eq!(
            stats.requests, 2,
            "a full last page at the total asks for no third"
        );
        assert_eq!(stats.items[1999].version.as_deref(), Some("6.3.0-107.r1"));
    }

    const INV_P1: &str =
        include_str!("../../../../tests/fixtures/mist/inventory-gateways-page1.json");
    const INV_P2: &str =
        include_str!("../../../../tests/fixtures/mist/inventory-gateways-page2.json");
    const STATS: &str = include_str!("../../../../tests/fixtures/mist/stats-gateways.json");
    const FIXTURE_ORG: &str = "6b7a9c1e-3f42-4d8a-9e15-2c0d4b7f8a31";

    fn json(s: &str) -> serde_json::Value {
        serde_json::from_str(s).unwrap()
    }

    #[tokio::test]
    async fn when_fixture_inventory_spans_two_pages_without_paging_headers_then_both_read() {
        let server = MockServer::start().await;
        for (page, body) in [("1", INV_P1), ("2", INV_P2)] {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{FIXTURE_ORG}/inventory")))
                .and(query_param("type", "gateway"))
                .and(query_param("limit", "3"))
                .and(query_param("page", page))
                .respond_with(ResponseTemplate::new(200).set_body_json(json(body)))
                .expect(1)
                .mount(&server)
                .await;
        }
        let inv = MistClient::new(&server.uri(), FIXTURE_ORG)
            .unwrap()
            .with_page_limit(3)
            .gateway_inventory(&SecretString::from(TOKEN))
            .await
            .unwrap();
        assert_eq!(inv.requests, 2, "page 2 is short: no page 3");
        let names: Vec<Option<&str>> = inv.items.iter().map(|d| d.name.as_deref()).collect();
        assert_eq!(
            names,
            vec![
                Some("SSR-1-Router"),
                Some("SSR-2-Router"),
                None,
                Some("SSR-4-Router")
            ]
        );
        assert_eq!(inv.items[2].site_id, None, "unassigned: no site_id key");
        assert_eq!(inv.items[1].connected, Some(false));
    }

    #[tokio::test]
    async fn when_fixture_stats_span_pages_then_type_gateway_sent_and_versions_read() {
        let server = MockServer::start().await;
        let all: Vec<serde_json::Value> = serde_json::from_str(STATS).unwrap();
        let pages = [
            ("1", serde_json::json!([all[0]])),
            ("2", serde_json::json!([all[1]])),
            ("3", serde_json::json!([])),
        ];
        for (page, body) in pages {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{FIXTURE_ORG}/stats/devices")))
                .and(query_param("type", "gateway"))
                .and(query_param("limit", "1"))
                .and(query_param("page", page))
                .and(header("authorization", format!("Token {TOKEN}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .expect(1)
                .mount(&server)
                .await;
        }
        let stats = MistClient::new(&server.uri(), FIXTURE_ORG)
            .unwrap()
            .with_page_limit(1)
            .gateway_stats(&SecretString::from(TOKEN))
            .await
            .unwrap();
        assert_eq!(stats.requests, 3);
        let got: Vec<(Option<&str>, Option<&str>, Option<&str>)> = stats
            .items
            .iter()
            .map(|s| (s.mac.as_deref(), s.version.as_deref(), s.status.as_deref()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    Some("4c9614a00101"),
                    Some("6.3.0-107.r1"),
                    Some("connected")
                ),
                (Some("4c9614a00404"), Some("6.2.5-5.r2"), Some("connected")),
            ]
        );
    }

    #[tokio::test]
    async fn when_one_gateways_stats_are_asked_then_one_request_by_mac() {
        let server = MockServer::start().await;
        let all: Vec<serde_json::Value> = serde_json::from_str(STATS).unwrap();
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orgs/{FIXTURE_ORG}/stats/devices")))
            .and(query_param("type", "gateway"))
            .and(query_param("mac", "4c9614a00404"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([all[1]])))
            .expect(1)
            .mount(&server)
            .await;
        let s = MistClient::new(&server.uri(), FIXTURE_ORG)
            .unwrap()
            .gateway_stats_of(&SecretString::from(TOKEN), "4c9614a00404")
            .await
            .unwrap();
        assert_eq!(s.and_then(|s| s.version).as_deref(), Some("6.2.5-5.r2"));
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
        assert_eq!((inv.items.len(), inv.requests), (1000, 1));
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
