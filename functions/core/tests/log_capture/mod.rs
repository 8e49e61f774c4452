//! Captures what a handler logs, as JSON lines, for assertions (no secrets, structured fields).
// Shared by several test binaries; each uses a subset.
#![allow(dead_code)]

use std::cell::RefCell;
use std::sync::{Arc, Mutex, Once};

use tracing::subscriber::DefaultGuard;

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// The JSON objects logged so far.
    pub fn json_lines(&self) -> Vec<serde_json::Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

thread_local! {
    static CURRENT: RefCell<Option<LogBuffer>> = const { RefCell::new(None) };
}

/// Writes into the capturing buffer of the current thread, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CURRENT.with(|c| match c.borrow_mut().as_mut() {
            Some(b) => b.write(buf),
            None => Ok(buf.len()),
        })
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Stops capturing on this thread when dropped.
pub struct CaptureGuard(());

impl Drop for CaptureGuard {
    fn drop(&mut self) {
        CURRENT.with(|c| *c.borrow_mut() = None);
    }
}

/// Captures what this thread logs (JSON lines at every level, like the Lambdas'
/// `telemetry::init_lambda` without its filter) until the guard drops. One global subscriber
/// for the whole test binary writes into the current thread's buffer: per-thread subscribers
/// miss events whose callsites another test thread registered first.
pub fn capture() -> (LogBuffer, CaptureGuard) {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| ThreadWriter)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
    let logs = LogBuffer::default();
    CURRENT.with(|c| *c.borrow_mut() = Some(logs.clone()));
    (logs, CaptureGuard(()))
}

/// Like [`capture`], filtered as the Lambdas filter at the most verbose level they allow:
/// `AWS_LAMBDA_LOG_LEVEL=trace` through `telemetry::filter_spec` (the SDK, HTTP and runtime
/// crates stay capped).
pub fn capture_at_lambda_trace() -> (LogBuffer, DefaultGuard) {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let filter = tracing_subscriber::EnvFilter::try_new(ssr_core::telemetry::filter_spec("trace"))
        .expect("the telemetry filter parses");
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_env_filter(filter)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
}

/// The base64 fragments `secret` turns into inside any base64 stream, at each of the three byte
/// alignments it can start at (the partial groups at either end left out).
pub fn base64_fragments(secret: &str) -> Vec<String> {
    use base64::Engine;
    let bytes = secret.as_bytes();
    (0..3)
        .filter_map(|skip| {
            let rest = bytes.get(skip..)?;
            let whole = rest.len() / 3 * 3;
            (whole >= 6).then(|| base64::engine::general_purpose::STANDARD.encode(&rest[..whole]))
        })
        .collect()
}
