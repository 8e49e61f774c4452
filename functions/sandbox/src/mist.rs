//! A local fake of the Mist API for the demo: the two reads the watchdog makes, in the shapes of
//! Mist's OpenAPI description (`inventory` and `stats_gateway`, as in
//! tests/fixtures/mist/), on 127.0.0.1, answering only with the right token, org and query:
//!
//! - `GET /api/v1/orgs/{org}/inventory?type=gateway&limit=…` (no `version`: the real inventory
//!   has none),
//! - `GET /api/v1/orgs/{org}/stats/devices?type=gateway&limit=…[&mac=…]` (only the connected
//!   gateways, with their `version`; `mac` narrows the list to that gateway).
//!
//! Built on `wiremock` (a local HTTP server that answers what is mounted); the server stops when
//! the [`FakeMist`] is dropped.

use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// One gateway as the fake Mist reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeGateway {
    /// The router's name (the onboarding config's `name`): Mist's `name` and `hostname`.
    pub name: String,
    /// 12 lower-case hex digits.
    pub mac: String,
    pub connected: bool,
    /// The SSR version the device stats report (connected gateways only).
    pub version: Option<String>,
}

impl FakeGateway {
    /// A gateway named `name` with a stable, locally administered MAC derived from the name.
    pub fn named(name: &str, connected: bool, version: Option<&str>) -> FakeGateway {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        FakeGateway {
            name: name.to_string(),
            mac: format!("02{:010x}", hash & 0xff_ffff_ffff),
            connected,
            version: version.map(String::from),
        }
    }

    fn serial(&self) -> String {
        let tail = self.mac.get(6..).unwrap_or(&self.mac);
        format!("DEMO{tail}").to_uppercase()
    }

    fn id(&self) -> String {
        format!("00000000-0000-0000-1000-{}", self.mac)
    }

    /// An `inventory` item (field names from Mist's `inventory` schema).
    fn inventory_item(&self, org_id: &str) -> serde_json::Value {
        serde_json::json!({
            "adopted": true,
            "connected": self.connected,
            "hostname": self.name,
            "id": self.id(),
            "mac": self.mac,
            "model": "SSR120",
            "name": self.name,
            "org_id": org_id,
            "serial": self.serial(),
            "site_id": SITE_ID,
            "type": "gateway",
        })
    }

    /// A `stats_gateway` item (field names from Mist's `stats_gateway` schema).
    fn stats_item(&self, org_id: &str) -> serde_json::Value {
        serde_json::json!({
            "hostname": self.name,
            "id": self.id(),
            "mac": self.mac,
            "model": "SSR120",
            "name": self.name,
            "org_id": org_id,
            "serial": self.serial(),
            "site_id": SITE_ID,
            "status": "connected",
            "type": "gateway",
            "version": self.version,
        })
    }
}

/// The demo's one Mist site.
pub const SITE_ID: &str = "9d2e4f6a-1b3c-4e5d-8f70-a1b2c3d4e5f6";

/// The fake Mist API server.
pub struct FakeMist {
    server: MockServer,
    org_id: String,
    token: String,
}

impl std::fmt::Debug for FakeMist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMist")
            .field("uri", &self.server.uri())
            .field("org_id", &self.org_id)
            .finish_non_exhaustive()
    }
}

impl FakeMist {
    /// Starts the server on a free local port; it answers 404 until [`FakeMist::serve`].
    pub async fn start(org_id: &str, token: &str) -> FakeMist {
        FakeMist {
            server: MockServer::start().await,
            org_id: org_id.to_string(),
            token: token.to_string(),
        }
    }

    /// The base URL, for `MIST_API_URL`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// From now on, Mist knows exactly `gateways` (what it answered before is forgotten).
    pub async fn serve(&self, gateways: &[FakeGateway]) {
        self.server.reset().await;
        let org = self.org_id.as_str();
        let auth = format!("Token {}", self.token);
        let inventory: Vec<serde_json::Value> =
            gateways.iter().map(|g| g.inventory_item(org)).collect();
        let connected: Vec<&FakeGateway> = gateways.iter().filter(|g| g.connected).collect();
        // One gateway's stats (`mac=`) first, so it wins over the whole list.
        for g in &connected {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{org}/stats/devices")))
                .and(query_param("type", "gateway"))
                .and(query_param("mac", g.mac.as_str()))
                .and(header("authorization", auth.as_str()))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(serde_json::json!([g.stats_item(org)])),
                )
                .with_priority(1)
                .mount(&self.server)
                .await;
        }
        let stats: Vec<serde_json::Value> = connected.iter().map(|g| g.stats_item(org)).collect();
        for (resource, body) in [("inventory", inventory), ("stats/devices", stats)] {
            Mock::given(method("GET"))
                .and(path(format!("/api/v1/orgs/{org}/{resource}")))
                .and(query_param("type", "gateway"))
                .and(header("authorization", auth.as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(body))
                .mount(&self.server)
                .await;
        }
    }

    /// The number of requests the fake has received.
    pub async fn requests(&self) -> usize {
        self.server.received_requests().await.map_or(0, |r| r.len())
    }
}
