//! Captures what a handler logs, as JSON lines, for assertions (no secrets, structured fields).
// Shared by several test binaries; each uses a subset.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

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

/// Installs a JSON subscriber (like the Lambdas' `telemetry::init_lambda`) for this thread until
/// the guard drops. Rebuilds the callsite interest cache: a callsite first hit by another test
/// thread with no subscriber would otherwise stay disabled for this one.
pub fn capture() -> (LogBuffer, DefaultGuard) {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    (logs, guard)
}
