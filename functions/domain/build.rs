//! Sets `SSR_ONBOARD_GIT_REVISION` for `build_info::revision()`:
//!
//! - an `SSR_ONBOARD_GIT_REVISION` already in the build's environment wins (a release built from
//!   a source tarball, where there is no `.git`, passes the revision this way);
//! - otherwise, in a git checkout, `git rev-parse --short=12 HEAD`;
//! - otherwise (no git, no checkout) nothing: the version prints without a revision.
//!
//! Rebuilds: only when the environment variable changes, or when HEAD moves. Cargo is told to
//! watch `HEAD` (a checkout of another branch, a detached HEAD) and the file of the branch HEAD
//! points at (`refs/heads/<branch>`, rewritten by every commit), or `packed-refs` when the branch
//! is packed. Not the index or the work tree: a dirty tree is not marked (`git describe --dirty`
//! would have to re-run this script, and recompile this crate and everything above it, on every
//! edit), so the revision names the last commit. A new commit recompiles this crate and the
//! workspace crates that depend on it (not the registry dependencies), as any edit here would.

use std::path::{Path, PathBuf};
use std::process::Command;

const VAR: &str = "SSR_ONBOARD_GIT_REVISION";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={VAR}");

    if let Some(given) = std::env::var(VAR).ok().filter(|r| !r.trim().is_empty()) {
        let given = given.trim();
        if plausible(given) {
            println!("cargo:rustc-env={VAR}={given}");
        } else {
            println!(
                "cargo:warning={VAR} is not a revision (1-64 of A-Z a-z 0-9 . _ + -); ignored"
            );
        }
        return;
    }

    let dir = match std::env::var_os("CARGO_MANIFEST_DIR") {
        Some(d) => PathBuf::from(d),
        None => return,
    };
    let Some(revision) = git(&dir, &["rev-parse", "--short=12", "HEAD"]) else {
        return; // not a checkout, or no git: no revision
    };
    if !plausible(&revision) {
        return;
    }
    for watched in watched_files(&dir) {
        println!("cargo:rerun-if-changed={}", watched.display());
    }
    println!("cargo:rustc-env={VAR}={revision}");
}

/// What a revision may look like (a commit id, or a tag-like name given at build time).
fn plausible(revision: &str) -> bool {
    !revision.is_empty()
        && revision.len() <= 64
        && revision
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
}

/// `HEAD`, and the branch file it names (or `packed-refs`): only files that exist, since cargo
/// re-runs a build script on every build while a watched file is missing.
fn watched_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut watch = |git_path: &str| {
        if let Some(p) = git(dir, &["rev-parse", "--git-path", git_path]) {
            let p = dir.join(p);
            if p.is_file() {
                out.push(p);
                return true;
            }
        }
        false
    };
    watch("HEAD");
    // `refs/heads/main`, or `HEAD` itself when detached (already watched).
    if let Some(branch) = git(dir, &["rev-parse", "--symbolic-full-name", "HEAD"]) {
        if branch.starts_with("refs/") && !watch(&branch) {
            watch("packed-refs");
        }
    }
    out
}

/// A git command's trimmed stdout, when it succeeds.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}
