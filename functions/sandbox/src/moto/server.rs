//! One moto server process ([`Emulator`]): spawned on a free loopback port in its own work
//! directory, polled until ready, talked to over its `/moto-api/` endpoints, killed on drop.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};

use super::install::{ensure_installed, venv_python};
use super::recorder::{parse_recording, RecordedRequest};
use super::{tail, EmulatorError};

/// How long a server may take to answer `GET /moto-api/` after it was spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How often readiness is polled.
const READY_POLL: Duration = Duration::from_millis(50);
/// How many ports are tried when a server exits during startup (e.g. the port was taken).
const START_ATTEMPTS: u32 = 3;

/// Runs `moto.server`'s `main` with the given arguments and a watchdog thread that exits the
/// server as soon as its parent process is gone (reparented), so no server outlives its owner;
/// it then also removes its work directory (the current directory), which the owner's `Drop`
/// would have removed.
const SERVER_BOOTSTRAP: &str = "\
import os, shutil, sys, threading, time
parent = os.getppid()
def _watch_parent():
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            shutil.rmtree(os.getcwd(), ignore_errors=True)
            os._exit(0)
threading.Thread(target=_watch_parent, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
";

/// A running moto server on `127.0.0.1:<port>`, stopped when dropped.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    port: u16,
    child: Child,
    workdir: PathBuf,
    http: reqwest::Client,
    recording: AtomicBool,
}

impl Emulator {
    /// Installs moto if needed (see [`ensure_installed`]), starts a server on a free loopback
    /// port and waits until it answers. Progress messages go to `progress`.
    pub async fn start(progress: &dyn Fn(&str)) -> Result<Emulator, EmulatorError> {
        let venv = ensure_installed(progress).await?;
        let python = venv_python(&venv);
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|source| EmulatorError::Http {
                what: "building the HTTP client".to_string(),
                source,
            })?;
        let mut attempt = 1;
        loop {
            match Self::spawn(&python, http.clone()).await {
                Err(e @ EmulatorError::Exited { .. }) if attempt < START_ATTEMPTS => {
                    // Most likely another process took the port between our probe and the bind.
                    tracing::warn!(error = %e, attempt, "moto server exited during startup; retrying on another port");
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn spawn(python: &Path, http: reqwest::Client) -> Result<Emulator, EmulatorError> {
        let port = free_port()?;
        let workdir = unique_workdir(port);
        std::fs::create_dir_all(&workdir).map_err(|source| EmulatorError::Io {
            action: "creating the emulator's work directory",
            path: workdir.clone(),
            source,
        })?;
        let log_path = workdir.join("moto.log");
        let log = File::create(&log_path).map_err(|source| EmulatorError::Io {
            action: "creating the emulator log",
            path: log_path.clone(),
            source,
        })?;
        let log_err = log.try_clone().map_err(|source| EmulatorError::Io {
            action: "opening the emulator log",
            path: log_path.clone(),
            source,
        })?;
        let child = Command::new(python)
            .arg("-c")
            .arg(SERVER_BOOTSTRAP)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .current_dir(&workdir)
            // The recorder writes to a file relative to the working directory by default: give
            // every server its own so parallel servers don't share one recording.
            .env("MOTO_RECORDER_FILEPATH", workdir.join("recording.jsonl"))
            .env("MOTO_PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|source| EmulatorError::Io {
                action: "starting the moto server",
                path: python.to_path_buf(),
                source,
            })?;
        // From here on, Drop stops the process whatever happens.
        let mut emulator = Emulator {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            child,
            workdir,
            http,
            recording: AtomicBool::new(false),
        };
        tracing::debug!(port, pid = emulator.child.id(), "moto server spawned");
        emulator.wait_ready(&log_path).await?;
        tracing::info!(port, pid = emulator.child.id(), "moto server ready");
        Ok(emulator)
    }

    async fn wait_ready(&mut self, log_path: &Path) -> Result<(), EmulatorError> {
        let started = Instant::now();
        let url = format!("{}/moto-api/", self.endpoint);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(EmulatorError::Exited {
                    port: self.port,
                    status: status.to_string(),
                    log: log_path.to_path_buf(),
                    log_tail: read_tail(log_path),
                });
            }
            let answered = self
                .http
                .get(&url)
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if answered {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(EmulatorError::NotReady {
                    port: self.port,
                    secs: READY_TIMEOUT.as_secs(),
                    log: log_path.to_path_buf(),
                    log_tail: read_tail(log_path),
                });
            }
            tokio::time::sleep(READY_POLL).await;
        }
    }

    /// Base URL of the server, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// TCP port the server listens on (loopback only).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Process id of the server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Clears every resource of every service (`POST /moto-api/reset`).
    pub async fn reset(&self) -> Result<(), EmulatorError> {
        self.post("/moto-api/reset").await.map(drop)
    }

    /// Empties the recording and starts recording every request from now on.
    pub async fn start_recording(&self) -> Result<(), EmulatorError> {
        self.post("/moto-api/recorder/reset-recording").await?;
        self.post("/moto-api/recorder/start-recording").await?;
        self.recording.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// The requests received since the last [`Emulator::start_recording`], oldest first.
    pub async fn recorded_requests(&self) -> Result<Vec<RecordedRequest>, EmulatorError> {
        if !self.recording.load(Ordering::SeqCst) {
            return Err(EmulatorError::NotRecording);
        }
        let text = self
            .request(
                reqwest::Method::GET,
                "/moto-api/recorder/download-recording",
            )
            .await?;
        parse_recording(&text)
    }

    /// SDK configuration pointing at this server: dummy static credentials (`testing`), the
    /// given region, no retries (so recorded call counts are exact and moto's HTTP 500 for
    /// unimplemented features surfaces at once) and a 30 s operation timeout.
    pub fn sdk_config(&self, region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(self.endpoint.clone())
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing",
                "testing",
                None,
                None,
                "ssr-onboard-emulator",
            )))
            .retry_config(RetryConfig::disabled())
            // As `aws_config::load` sets one: STS's AssumeRole provider requires it.
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .timeout_config(
                TimeoutConfig::builder()
                    .operation_timeout(Duration::from_secs(30))
                    .build(),
            )
            .build()
    }

    /// Stops the server (same as dropping it).
    pub fn stop(self) {
        drop(self);
    }

    async fn post(&self, path: &str) -> Result<String, EmulatorError> {
        self.request(reqwest::Method::POST, path).await
    }

    async fn request(&self, method: reqwest::Method, path: &str) -> Result<String, EmulatorError> {
        let what = format!("{method} {path}");
        let response = self
            .http
            .request(method, format!("{}{path}", self.endpoint))
            .send()
            .await
            .map_err(|source| EmulatorError::Http {
                what: what.clone(),
                source,
            })?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|source| EmulatorError::Http {
                what: what.clone(),
                source,
            })?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(EmulatorError::Status {
                what,
                status: status.as_u16(),
                body: tail(&body, 10),
            })
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        match self.child.try_wait() {
            Ok(Some(_)) => {}
            _ => {
                if let Err(e) = self.child.kill() {
                    tracing::warn!(error = %e, pid = self.child.id(), "could not kill moto server");
                }
                if let Err(e) = self.child.wait() {
                    tracing::warn!(error = %e, pid = self.child.id(), "could not reap moto server");
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.workdir);
        tracing::debug!(port = self.port, "moto server stopped");
    }
}

fn free_port() -> Result<u16, EmulatorError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|source| EmulatorError::Io {
        action: "finding a free port",
        path: PathBuf::from("127.0.0.1:0"),
        source,
    })?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|source| EmulatorError::Io {
            action: "finding a free port",
            path: PathBuf::from("127.0.0.1:0"),
            source,
        })
}

fn unique_workdir(port: u16) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "ssr-onboard-moto-{}-{n}-{port}",
        std::process::id()
    ))
}

/// The last lines of a (small) log file, for error messages.
fn read_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let _ = file.seek(SeekFrom::Start(len.saturating_sub(8192)));
        let _ = file.read_to_string(&mut text);
    }
    tail(&text, 20)
}
