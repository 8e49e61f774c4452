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
    include_str!("../../../../../tests/fixtures/mist/inventory-gateways-page1.json");
const INV_P2: &str =
    include_str!("../../../../../tests/fixtures/mist/inventory-gateways-page2.json");
const STATS: &str = include_str!("../../../../../tests/fixtures/mist/stats-gateways.json");
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

/// Mist serving `resource` in pages of at most 100 items whatever `limit` asked (the 1,000 the
/// client asks for), with `X-Page-Total` = `total` when `with_total`, `X-Page-Limit: 100`
/// always; each page (1..=ceil(total/100)) expected exactly once.
async fn mount_capped_pages(server: &MockServer, total: usize, with_total: bool) {
    let pages = total.div_ceil(100);
    for page in 1..=pages {
        let body: Vec<_> = ((page - 1) * 100..(page * 100).min(total))
            .map(device)
            .collect();
        let mut answer = ResponseTemplate::new(200)
            .insert_header("X-Page-Limit", "100")
            .insert_header("X-Page-Page", page.to_string().as_str())
            .set_body_json(body);
        if with_total {
            answer = answer.insert_header("X-Page-Total", total.to_string().as_str());
        }
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/orgs/{ORG}/inventory")))
            .and(query_param("limit", "1000"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(answer)
            .expect(1)
            .mount(server)
            .await;
    }
}

#[tokio::test]
async fn when_mist_serves_fewer_items_per_page_than_asked_then_pages_are_read_up_to_x_page_total() {
    let server = MockServer::start().await;
    mount_capped_pages(&server, 250, true).await;
    let inv = MistClient::new(&server.uri(), ORG)
        .unwrap()
        .gateway_inventory(&SecretString::from(TOKEN))
        .await
        .unwrap();
    assert_eq!(
        (inv.items.len(), inv.requests),
        (250, 3),
        "pages of 100 (not the 1,000 asked) do not end the read before the total"
    );
    assert_eq!(inv.items[249].name.as_deref(), Some("router-249"));
}

#[tokio::test]
async fn when_mist_caps_the_page_without_a_total_then_its_x_page_limit_is_the_page_size() {
    let server = MockServer::start().await;
    mount_capped_pages(&server, 250, false).await;
    let inv = MistClient::new(&server.uri(), ORG)
        .unwrap()
        .gateway_inventory(&SecretString::from(TOKEN))
        .await
        .unwrap();
    assert_eq!((inv.items.len(), inv.requests), (250, 3));
}

#[tokio::test]
async fn when_a_page_is_empty_before_the_total_then_the_read_ends_with_what_was_read() {
    let server = MockServer::start().await;
    for (page, n) in [(1, 100), (2, 100), (3, 0)] {
        let body: Vec<_> = ((page - 1) * 100..(page - 1) * 100 + n)
            .map(device)
            .collect();
        Mock::given(method("GET"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("X-Page-Total", "300")
                    .set_body_json(body),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let inv = MistClient::new(&server.uri(), ORG)
        .unwrap()
        .gateway_inventory(&SecretString::from(TOKEN))
        .await
        .unwrap();
    assert_eq!((inv.items.len(), inv.requests), (200, 3));
}

#[tokio::test]
async fn when_x_page_total_is_never_reached_then_max_pages_bounds_the_read() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Page-Total", "1000000")
                .set_body_json(vec![device(1)]),
        )
        .expect(MAX_PAGES as u64)
        .mount(&server)
        .await;
    let err = MistClient::new(&server.uri(), ORG)
        .unwrap()
        .gateway_inventory(&SecretString::from(TOKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MistError::Malformed { reason, .. } if reason.contains("more than 100 pages")),
        "{err}"
    );
}
