//! What build this is: the workspace version and, when built from a git checkout (or with
//! `SSR_ONBOARD_GIT_REVISION` set at build time), the revision. The CLI's `--version`, the
//! functions' cold-start log line, their JSON results and the preflight report all print this.

/// The workspace's semantic version (Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The git revision the build came from, when known at build time.
pub fn revision() -> Option<&'static str> {
    option_env!("SSR_ONBOARD_GIT_REVISION").filter(|r| !r.is_empty())
}

/// `0.1.0 (abc1234)`, or `0.1.0` when the revision is not known.
pub fn describe() -> String {
    match revision() {
        Some(rev) => format!("{VERSION} ({rev})"),
        None => VERSION.to_string(),
    }
}
