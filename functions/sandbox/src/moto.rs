//! A local AWS emulator: a moto server in a private virtualenv.
//!
//! Used by the integration tests (one server per test) and by the CLI's `demo` command, never by
//! a Lambda. The virtualenv is created on first use ([`ensure_installed`]) with a pinned moto
//! ([`MOTO_VERSION`]); every [`Emulator`] is a separate `python -m moto.server` process on a free
//! loopback port that is killed when the value is dropped (panics included). The server also
//! exits by itself when the process that started it dies, so a killed test binary leaves no
//! server behind.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use base64::Engine as _;

/// The moto release the emulator is pinned to (the harness, the CLI demo and CI install this one).
pub const MOTO_VERSION: &str = "5.2.5";

/// Environment variable naming the virtualenv directory (overrides the cache location).
pub const VENV_ENV: &str = "SSR_ONBOARD_MOTO_VENV";
/// Environment variable naming the Python 3 interpreter used to create the virtualenv.
pub const PYTHON_ENV: &str = "SSR_ONBOARD_PYTHON";

/// How long a server may take to answer `GET /moto-api/` after it was spawned.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How often readiness is polled.
const READY_POLL: Duration = Duration::from_millis(50);
/// How many ports are tried when a server exits during startup (e.g. the port was taken).
const START_ATTEMPTS: u32 = 3;
/// An install lock older than this is considered abandoned.
const LOCK_STALE_AFTER: Duration = Duration::from_secs(15 * 60);
/// How often a waiting process re-checks the install lock.
const LOCK_POLL: Duration = Duration::from_millis(250);

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

/// Where the moto virtualenv lives: `$SSR_ONBOARD_MOTO_VENV` if set, else
/// `$XDG_CACHE_HOME/ssr-onboard/moto-<ver>`, else `$HOME/.cache/ssr-onboard/moto-<ver>`
/// (else the same under the system temp directory).
pub fn venv_dir() -> PathBuf {
    venv_dir_from(|name| std::env::var_os(name))
}

fn venv_dir_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
    let set = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(dir) = set(VENV_ENV) {
        return PathBuf::from(dir);
    }
    let leaf = format!("moto-{MOTO_VERSION}");
    // XDG: a relative XDG_CACHE_HOME is invalid and must be ignored.
    if let Some(cache) = set("XDG_CACHE_HOME").map(PathBuf::from) {
        if cache.is_absolute() {
            return cache.join("ssr-onboard").join(leaf);
        }
    }
    if let Some(home) = set("HOME") {
        return PathBuf::from(home)
            .join(".cache")
            .join("ssr-onboard")
            .join(leaf);
    }
    std::env::temp_dir().join("ssr-onboard").join(leaf)
}

/// The interpreter inside a virtualenv.
pub fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

fn base_python() -> OsString {
    std::env::var_os(PYTHON_ENV)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| OsString::from("python3"))
}

/// Virtualenvs already verified by this process (checking costs a Python start-up).
fn verified() -> &'static Mutex<Vec<PathBuf>> {
    static VERIFIED: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    VERIFIED.get_or_init(|| Mutex::new(Vec::new()))
}

fn is_verified(venv: &Path) -> bool {
    verified()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .any(|v| v == venv)
}

fn mark_verified(venv: &Path) {
    let mut list = verified()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if !list.iter().any(|v| v == venv) {
        list.push(venv.to_path_buf());
    }
}

/// Makes sure the pinned moto server is installed in [`venv_dir`] and returns that directory.
///
/// Fast when it is already there. Otherwise creates the virtualenv with `python3 -m venv`
/// (`$SSR_ONBOARD_PYTHON` overrides the interpreter) and pip-installs `moto[server]` at
/// [`MOTO_VERSION`], holding an exclusive lock file `<venv>.lock` so that concurrent processes
/// (parallel test binaries) install once and the others wait.
pub async fn ensure_installed(progress: &dyn Fn(&str)) -> Result<PathBuf, EmulatorError> {
    let venv = venv_dir();
    if is_verified(&venv) {
        return Ok(venv);
    }
    // One check (and install) at a time within this process; the lock file below covers
    // other processes.
    static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _guard = IN_PROCESS.lock().await;
    if is_verified(&venv) {
        return Ok(venv);
    }
    if import_check(&venv).await.is_ok() {
        mark_verified(&venv);
        return Ok(venv);
    }
    let _lock = InstallLock::acquire(&lock_path(&venv), progress).await?;
    // Someone else may have finished the install while we waited for the lock.
    if import_check(&venv).await.is_ok() {
        mark_verified(&venv);
        return Ok(venv);
    }
    install(&venv, progress).await?;
    import_check(&venv)
        .await
        .map_err(|detail| EmulatorError::Verify {
            venv: venv.clone(),
            detail,
        })?;
    mark_verified(&venv);
    progress(&format!("moto {MOTO_VERSION} ready in {}", venv.display()));
    Ok(venv)
}

fn lock_path(venv: &Path) -> PathBuf {
    let mut name = venv
        .file_name()
        .map(OsString::from)
        .unwrap_or_else(|| OsString::from("moto-venv"));
    name.push(".lock");
    venv.with_file_name(name)
}

/// `Ok` when the virtualenv imports `moto.server` and its moto is the pinned version.
async fn import_check(venv: &Path) -> Result<(), String> {
    let python = venv_python(venv);
    if !python.exists() {
        return Err(format!("{} does not exist", python.display()));
    }
    let script = format!(
        "import sys, moto, moto.server\n\
         sys.exit(0 if moto.__version__ == '{MOTO_VERSION}' else 'moto ' + moto.__version__ + ' installed, {MOTO_VERSION} wanted')"
    );
    let output = tokio::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", python.display()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(tail(&String::from_utf8_lossy(&output.stderr), 20))
    }
}

async fn install(venv: &Path, progress: &dyn Fn(&str)) -> Result<(), EmulatorError> {
    let python = base_python();
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent).map_err(|source| EmulatorError::Io {
            action: "creating the virtualenv's parent directory",
            path: parent.to_path_buf(),
            source,
        })?;
    }
    progress(&format!("creating virtualenv {}…", venv.display()));
    tracing::info!(venv = %venv.display(), "creating moto virtualenv");
    // No --clear: re-running venv on an existing (possibly half-installed) directory is harmless,
    // and pip below repairs what is missing.
    let output = tokio::process::Command::new(&python)
        .arg("-m")
        .arg("venv")
        .arg(venv)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EmulatorError::PythonNotFound {
                python: python.to_string_lossy().into_owned(),
            },
            _ => EmulatorError::CreateVenv {
                venv: venv.to_path_buf(),
                detail: e.to_string(),
            },
        })?;
    if !output.status.success() {
        return Err(EmulatorError::CreateVenv {
            venv: venv.to_path_buf(),
            detail: tail(&String::from_utf8_lossy(&output.stderr), 20),
        });
    }

    progress(&format!(
        "installing moto {MOTO_VERSION} (first run only, about a minute)…"
    ));
    tracing::info!(venv = %venv.display(), version = MOTO_VERSION, "installing moto");
    let output = tokio::process::Command::new(venv_python(venv))
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "-q",
            &format!("moto[server]=={MOTO_VERSION}"),
        ])
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| EmulatorError::Install {
            venv: venv.to_path_buf(),
            detail: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(EmulatorError::Install {
            venv: venv.to_path_buf(),
            detail: tail(&String::from_utf8_lossy(&output.stderr), 20),
        });
    }
    Ok(())
}

/// An exclusive lock file, created with `create_new` and removed on drop. A lock whose owner
/// process is gone (Linux: no `/proc/<pid>`) or that is older than [`LOCK_STALE_AFTER`] is
/// taken over.
struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    async fn acquire(path: &Path, progress: &dyn Fn(&str)) -> Result<InstallLock, EmulatorError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| EmulatorError::Io {
                action: "creating the lock file's directory",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let started = Instant::now();
        let mut told = false;
        loop {
            match OpenOptions::new().write(true).create_new(true).open(path) {
                Ok(mut file) => {
                    // Best effort: the pid only speeds up stale-lock detection.
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(InstallLock {
                        path: path.to_path_buf(),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    if lock_is_stale(path) {
                        tracing::warn!(lock = %path.display(), "removing abandoned install lock");
                        // Another waiter may remove it first; create_new decides who wins.
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if started.elapsed() > LOCK_STALE_AFTER + Duration::from_secs(60) {
                        return Err(EmulatorError::LockTimeout {
                            lock: path.to_path_buf(),
                            waited_secs: started.elapsed().as_secs(),
                        });
                    }
                    if !told {
                        progress(&format!(
                            "waiting for another process installing moto (lock {})…",
                            path.display()
                        ));
                        told = true;
                    }
                    tokio::time::sleep(LOCK_POLL).await;
                }
                Err(source) => {
                    return Err(EmulatorError::Io {
                        action: "creating the install lock file",
                        path: path.to_path_buf(),
                        source,
                    })
                }
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn lock_is_stale(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        // Gone already: not stale, just retry create_new.
        return false;
    };
    let age = meta
        .modified()
        .ok()
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .unwrap_or_default();
    if age > LOCK_STALE_AFTER {
        return true;
    }
    // The owner writes its pid right after creating the file; give it a moment.
    if age < Duration::from_secs(2) {
        return false;
    }
    let proc_root = Path::new("/proc");
    if !proc_root.join("self").exists() {
        return false;
    }
    match std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    {
        Some(pid) => !proc_root.join(pid.to_string()).exists(),
        // Written without a pid and older than 2 s: its owner died between create and write.
        None => true,
    }
}

/// One request the emulator received while recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// URL path, e.g. `/`.
    pub path: String,
    /// Raw query string (without `?`), empty when there is none.
    pub query: String,
    /// Request body as text (base64 bodies decoded; not UTF-8 → lossy).
    pub body: String,
    /// Signing service from the `Authorization` credential scope, e.g. `ec2`, `sns`, `dynamodb`.
    pub service: Option<String>,
    /// The operation: the AWS Query `Action=` parameter (body or query) or the operation part of
    /// the JSON protocol's `X-Amz-Target` header (`DynamoDB_20120810.PutItem` → `PutItem`).
    pub action: Option<String>,
}

impl RecordedRequest {
    /// Parses one line of moto's recording
    /// (`{"headers": {...}, "method": "...", "url": "...", "body": "...", "body_encoded": bool}`).
    #[cfg(test)]
    fn parse(line: &str) -> Result<RecordedRequest, String> {
        let entry: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
        Self::from_entry(&entry)
    }

    /// One entry of the recording (a JSON object).
    fn from_entry(entry: &serde_json::Value) -> Result<RecordedRequest, String> {
        let method = entry
            .get("method")
            .and_then(|m| m.as_str())
            .ok_or("no method")?
            .to_string();
        let url = entry.get("url").and_then(|u| u.as_str()).ok_or("no url")?;
        let body_raw = entry.get("body").and_then(|b| b.as_str()).unwrap_or("");
        let body = if entry
            .get("body_encoded")
            .and_then(|b| b.as_bool())
            .unwrap_or(false)
        {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(body_raw)
                .map_err(|e| format!("body is not base64: {e}"))?;
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            body_raw.to_string()
        };
        let header = |name: &str| -> Option<&str> {
            entry
                .get("headers")
                .and_then(|h| h.as_object())
                .and_then(|h| {
                    h.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(name))
                        .and_then(|(_, v)| v.as_str())
                })
        };

        // url is absolute (`http://host:port/path?query`); keep path and query.
        let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
        let path_and_query = after_scheme
            .find('/')
            .map_or("/", |slash| &after_scheme[slash..]);
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));

        let service = header("Authorization").and_then(credential_scope_service);
        let action = header("X-Amz-Target")
            .and_then(|t| t.rsplit('.').next())
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .or_else(|| form_param(&body, "Action"))
            .or_else(|| form_param(query, "Action"));

        Ok(RecordedRequest {
            method,
            path: path.to_string(),
            query: query.to_string(),
            body,
            service,
            action,
        })
    }
}

/// `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/ec2/aws4_request, ...` → `ec2`.
fn credential_scope_service(authorization: &str) -> Option<String> {
    let scope = authorization.split("Credential=").nth(1)?;
    let scope = scope.split([',', ' ']).next()?;
    let parts: Vec<&str> = scope.split('/').collect();
    // AKID / date / region / service / aws4_request
    (parts.len() >= 5).then(|| parts[parts.len() - 2].to_string())
}

/// Value of `name` in an `application/x-www-form-urlencoded` string.
fn form_param(form: &str, name: &str) -> Option<String> {
    form.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

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

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
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

/// The recorder's download: one JSON object per line, except that moto appends each entry and
/// its newline in two writes, so requests served concurrently can put two entries on one line.
/// Each line is therefore read as a stream of objects.
fn parse_recording(text: &str) -> Result<Vec<RecordedRequest>, EmulatorError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let err = |detail: String| EmulatorError::Recording {
            line: i + 1,
            detail,
        };
        for entry in serde_json::Deserializer::from_str(line).into_iter::<serde_json::Value>() {
            let entry = entry.map_err(|e| err(e.to_string()))?;
            out.push(RecordedRequest::from_entry(&entry).map_err(err)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn when_venv_variable_set_then_it_wins() {
        let dir = venv_dir_from(env(&[
            (VENV_ENV, "/opt/moto"),
            ("XDG_CACHE_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ]));
        assert_eq!(dir, PathBuf::from("/opt/moto"));
    }

    #[test]
    fn when_xdg_cache_home_set_then_venv_under_it() {
        let dir = venv_dir_from(env(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]));
        assert_eq!(
            dir,
            PathBuf::from(format!("/xdg/ssr-onboard/moto-{MOTO_VERSION}"))
        );
    }

    #[test]
    fn when_only_home_set_then_venv_under_dot_cache() {
        let dir = venv_dir_from(env(&[("HOME", "/home/u")]));
        assert_eq!(
            dir,
            PathBuf::from(format!("/home/u/.cache/ssr-onboard/moto-{MOTO_VERSION}"))
        );
    }

    #[test]
    fn when_variables_empty_or_xdg_relative_then_they_are_ignored() {
        let dir = venv_dir_from(env(&[
            (VENV_ENV, ""),
            ("XDG_CACHE_HOME", "relative/cache"),
            ("HOME", "/home/u"),
        ]));
        assert_eq!(
            dir,
            PathBuf::from(format!("/home/u/.cache/ssr-onboard/moto-{MOTO_VERSION}"))
        );
    }

    #[test]
    fn when_nothing_set_then_venv_under_temp_dir() {
        let dir = venv_dir_from(env(&[]));
        assert!(dir.starts_with(std::env::temp_dir()));
        assert!(dir.ends_with(format!("ssr-onboard/moto-{MOTO_VERSION}")));
    }

    #[test]
    fn when_venv_given_then_lock_file_sits_beside_it() {
        assert_eq!(
            lock_path(Path::new("/c/ssr-onboard/moto-5.2.5")),
            PathBuf::from("/c/ssr-onboard/moto-5.2.5.lock")
        );
    }

    fn scratch_lock(name: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "ssr-onboard-lock-test-{}-{name}.lock",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        path
    }

    #[tokio::test]
    async fn when_lock_held_by_live_owner_then_second_acquirer_waits_until_released() {
        let path = scratch_lock("live");
        let first = InstallLock::acquire(&path, &|_| {}).await.expect("first");
        let waited = tokio::time::timeout(
            Duration::from_millis(600),
            InstallLock::acquire(&path, &|_| {}),
        )
        .await;
        assert!(
            waited.is_err(),
            "second acquirer must wait while the lock is held"
        );
        drop(first);
        let second =
            tokio::time::timeout(Duration::from_secs(5), InstallLock::acquire(&path, &|_| {}))
                .await
                .expect("acquired after release")
                .expect("second");
        drop(second);
        assert!(!path.exists(), "lock file removed on drop");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn when_lock_owner_is_dead_then_lock_is_taken_over() {
        let path = scratch_lock("dead");
        let file = File::create(&path).expect("create lock");
        // pid_max is at most 2^22 on Linux: this pid cannot exist.
        writeln!(&file, "4294967").expect("write pid");
        file.set_modified(SystemTime::now() - Duration::from_secs(10))
            .expect("age the lock");
        drop(file);
        let lock =
            tokio::time::timeout(Duration::from_secs(5), InstallLock::acquire(&path, &|_| {}))
                .await
                .expect("stale lock taken over")
                .expect("acquire");
        let owner = std::fs::read_to_string(&path).expect("read lock");
        assert_eq!(owner.trim(), std::process::id().to_string());
        drop(lock);
    }

    #[test]
    fn when_query_request_recorded_then_action_and_service_parsed() {
        let line = r#"{"headers": {"Host": "127.0.0.1:5000", "Content-Type": "application/x-www-form-urlencoded", "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "QWN0aW9uPU1vZGlmeU5ldHdvcmtJbnRlcmZhY2VBdHRyaWJ1dGUmVmVyc2lvbj0yMDE2LTExLTE1", "body_encoded": true}"#;
        let request = RecordedRequest::parse(line).expect("parses");
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/");
        assert_eq!(request.query, "");
        assert_eq!(request.service.as_deref(), Some("ec2"));
        assert_eq!(
            request.action.as_deref(),
            Some("ModifyNetworkInterfaceAttribute")
        );
        assert_eq!(
            request.body,
            "Action=ModifyNetworkInterfaceAttribute&Version=2016-11-15"
        );
    }

    #[test]
    fn when_json_request_recorded_then_action_from_target_header() {
        let line = r#"{"headers": {"x-amz-target": "DynamoDB_20120810.PutItem", "authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=x"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "{}", "body_encoded": false}"#;
        let request = RecordedRequest::parse(line).expect("parses");
        assert_eq!(request.service.as_deref(), Some("dynamodb"));
        assert_eq!(request.action.as_deref(), Some("PutItem"));
    }

    #[test]
    fn when_concurrent_requests_share_a_line_of_the_recording_then_both_are_read() {
        let a = r#"{"headers": {"x-amz-target": "DynamoDB_20120810.BatchGetItem"}, "method": "POST", "url": "http://127.0.0.1:5000/", "body": "{}", "body_encoded": false}"#;
        let b = r#"{"headers": {}, "method": "GET", "url": "http://127.0.0.1:5000/?Action=DescribeImages&Version=2016-11-15", "body": "", "body_encoded": false}"#;
        let text = format!("{a}{b}\n\n{a}\n");
        let all = parse_recording(&text).expect("parses");
        let actions: Vec<_> = all.iter().map(|r| r.action.as_deref()).collect();
        assert_eq!(
            actions,
            [
                Some("BatchGetItem"),
                Some("DescribeImages"),
                Some("BatchGetItem")
            ]
        );
        assert!(parse_recording("{\"method\": ").is_err());
    }

    #[test]
    fn when_action_in_query_string_then_parsed_from_query() {
        let line = r#"{"headers": {}, "method": "GET", "url": "http://127.0.0.1:5000/?Action=DescribeImages&Version=2016-11-15", "body": "", "body_encoded": false}"#;
        let request = RecordedRequest::parse(line).expect("parses");
        assert_eq!(request.path, "/");
        assert_eq!(request.query, "Action=DescribeImages&Version=2016-11-15");
        assert_eq!(request.action.as_deref(), Some("DescribeImages"));
        assert_eq!(request.service, None);
    }

    #[test]
    fn when_form_value_percent_encoded_then_decoded() {
        assert_eq!(
            form_param("A=1&Name=a%2Fb+c&Z=%", "Name").as_deref(),
            Some("a/b c")
        );
        assert_eq!(form_param("Z=%", "Z").as_deref(), Some("%"));
        assert_eq!(form_param("A=1", "Name"), None);
    }

    #[test]
    fn when_text_longer_than_tail_then_last_lines_kept() {
        assert_eq!(tail("a\nb\nc\nd", 2), "c\nd");
        assert_eq!(tail("a", 5), "a");
    }
}
