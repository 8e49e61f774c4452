//! A local AWS emulator: a moto server in a private virtualenv.
//!
//! Used by the integration tests (one server per test) and by the CLI's `demo` command, never by
//! a Lambda. The virtualenv is created on first use ([`ensure_installed`]) with a pinned moto
//! ([`MOTO_VERSION`]); every [`Emulator`] is a separate `python -m moto.server` process on a free
//! loopback port that is killed when the value is dropped (panics included). The server also
//! exits by itself when the process that started it dies, so a killed test binary leaves no
//! server behind.
//!
//! Submodules: `install` (where the virtualenv lives, installing the pin into it), `server` (one
//! server process: start, readiness, SDK config, stop), `recorder` (the requests it recorded).

use std::path::PathBuf;

mod install;
mod recorder;
mod server;
#[cfg(test)]
mod tests;

pub use install::{ensure_installed, venv_dir, venv_python};
pub use recorder::RecordedRequest;
pub use server::Emulator;

/// The moto release the emulator is pinned to (the harness, the CLI demo and CI install this one).
pub const MOTO_VERSION: &str = "5.2.5";

/// Environment variable naming the virtualenv directory (overrides the cache location).
pub const VENV_ENV: &str = "SSR_ONBOARD_MOTO_VENV";
/// Environment variable naming the Python 3 interpreter used to create the virtualenv.
pub const PYTHON_ENV: &str = "SSR_ONBOARD_PYTHON";

/// Errors of the local emulator. Each message says what to do next.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{python} not found: install Python 3 (with the venv module) or set {PYTHON_ENV} to a Python 3 interpreter")]
    PythonNotFound { python: String },

    #[error("creating the moto virtualenv at {venv} failed: {detail}. Install Python's venv module (Debian: python3-venv), or set {VENV_ENV} to another directory")]
    CreateVenv { venv: PathBuf, detail: String },

    #[error("installing moto {MOTO_VERSION} into {venv} failed: {detail}. Check that PyPI is reachable (pip honours PIP_INDEX_URL), or delete {venv} and retry")]
    Install { venv: PathBuf, detail: String },

    #[error("moto {MOTO_VERSION} was installed into {venv} but `import moto.server` still fails: {detail}. Delete {venv} and retry")]
    Verify { venv: PathBuf, detail: String },

    #[error("waited {waited_secs}s for another process installing moto (lock file {lock}); if no install is running, delete the lock file and retry")]
    LockTimeout { lock: PathBuf, waited_secs: u64 },

    #[error("{action} ({path}): {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("moto server exited during startup on port {port} ({status}); log {log}:\n{log_tail}")]
    Exited {
        port: u16,
        status: String,
        log: PathBuf,
        log_tail: String,
    },

    #[error("moto server did not answer GET /moto-api/ on port {port} within {secs}s; log {log}:\n{log_tail}")]
    NotReady {
        port: u16,
        secs: u64,
        log: PathBuf,
        log_tail: String,
    },

    #[error("request to the emulator failed ({what}): {source}")]
    Http {
        what: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("emulator answered HTTP {status} to {what}: {body}")]
    Status {
        what: String,
        status: u16,
        body: String,
    },

    #[error("no recording: call start_recording() before recorded_requests()")]
    NotRecording,

    #[error("unreadable line {line} of the moto recording: {detail}")]
    Recording { line: usize, detail: String },
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
