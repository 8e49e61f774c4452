//! The moto virtualenv: where it lives ([`venv_dir`]), and installing the pinned moto into it
//! once across concurrent processes ([`ensure_installed`], guarded by an install lock file).

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::{tail, EmulatorError, MOTO_VERSION, PYTHON_ENV, VENV_ENV};

/// An install lock older than this is considered abandoned.
const LOCK_STALE_AFTER: Duration = Duration::from_secs(15 * 60);
/// How often a waiting process re-checks the install lock.
const LOCK_POLL: Duration = Duration::from_millis(250);

/// Where the moto virtualenv lives: `$SSR_ONBOARD_MOTO_VENV` if set, else
/// `$XDG_CACHE_HOME/ssr-onboard/moto-<ver>`, else `$HOME/.cache/ssr-onboard/moto-<ver>`
/// (else the same under the system temp directory).
pub fn venv_dir() -> PathBuf {
    venv_dir_from(|name| std::env::var_os(name))
}

pub(super) fn venv_dir_from(var: impl Fn(&str) -> Option<OsString>) -> PathBuf {
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

pub(super) fn lock_path(venv: &Path) -> PathBuf {
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
pub(super) struct InstallLock {
    path: PathBuf,
}

impl InstallLock {
    pub(super) async fn acquire(
        path: &Path,
        progress: &dyn Fn(&str),
    ) -> Result<InstallLock, EmulatorError> {
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
