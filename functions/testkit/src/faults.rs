//! A fault-injecting HTTP client between an SDK client and the service it talks to (the moto
//! emulator, usually): requests that match a rule hang forever, before or after reaching the
//! service, the way a request does when the process making it dies (a Lambda timeout, an
//! out-of-memory kill). The test drops the future that hangs (`tokio::time::timeout`), which is
//! what the service sees of a killed process: the request never arrived, or it arrived and its
//! answer was never read. Everything else goes through untouched.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;

/// What happens to a request that matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// It never reaches the service (the process died before sending it).
    HangBefore,
    /// The service gets it and answers; the answer is never read (the process died after
    /// sending it).
    HangAfter,
    /// The connection drops before the request reaches the service (an I/O error the SDK
    /// classifies as transient and retries).
    Drop,
}

type Matcher = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// A rule: which requests, what happens to them, and how many more times (`None`: always).
type Rule = (Matcher, Fault, Option<usize>);

/// The rules of a [`faulty`] client: `(matcher, fault)`; a matcher sees the request's
/// `x-amz-target` header (empty for query-protocol services) and its body as text. Rules can be
/// changed while the client is in use (e.g. cleared to let the "restarted process" through).
#[derive(Clone, Default)]
pub struct FaultRules(Arc<Mutex<Vec<Rule>>>);

impl std::fmt::Debug for FaultRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FaultRules")
    }
}

impl FaultRules {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a rule: requests for which `matches(target, body)` holds get `fault`.
    pub fn add(&self, fault: Fault, matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static) {
        if let Ok(mut rules) = self.0.lock() {
            rules.push((Arc::new(matches), fault, None));
        }
    }

    /// Adds a rule that applies to the first `times` matching requests only (a fault that
    /// clears: the SDK's retry then gets through).
    pub fn add_times(
        &self,
        fault: Fault,
        times: usize,
        matches: impl Fn(&str, &str) -> bool + Send + Sync + 'static,
    ) {
        if let Ok(mut rules) = self.0.lock() {
            rules.push((Arc::new(matches), fault, Some(times)));
        }
    }

    /// Removes every rule.
    pub fn clear(&self) {
        if let Ok(mut rules) = self.0.lock() {
            rules.clear();
        }
    }

    fn fault_for(&self, request: &HttpRequest) -> Option<Fault> {
        let target = request.headers().get("x-amz-target").unwrap_or_default();
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let mut rules = self.0.lock().ok()?;
        let rule = rules
            .iter_mut()
            .find(|(m, _, left)| left.is_none_or(|n| n > 0) && m(target, &body))?;
        if let Some(n) = rule.2.as_mut() {
            *n -= 1;
        }
        Some(rule.1)
    }
}

#[derive(Debug)]
struct FaultyConnector {
    inner: SharedHttpConnector,
    rules: FaultRules,
}

impl HttpConnector for FaultyConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        match self.rules.fault_for(&request) {
            None => self.inner.call(request),
            Some(Fault::HangBefore) => HttpConnectorFuture::new(std::future::pending()),
            Some(Fault::Drop) => HttpConnectorFuture::ready(Err(ConnectorError::io(
                "connection reset by peer (injected)".into(),
            ))),
            Some(Fault::HangAfter) => {
                let sent = self.inner.call(request);
                HttpConnectorFuture::new(async move {
                    let _answer_never_read = sent.await;
                    std::future::pending().await
                })
            }
        }
    }
}

/// `inner` (e.g. `sdk_config.http_client()`), with `rules` applied to every request.
pub fn faulty(inner: SharedHttpClient, rules: FaultRules) -> SharedHttpClient {
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(FaultyConnector {
            inner: inner.http_connector(settings, components),
            rules: rules.clone(),
        })
    })
}
