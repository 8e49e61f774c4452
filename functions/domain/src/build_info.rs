//! What build this is: the workspace version and, when built from a git checkout (or with
//! `SSR_ONBOARD_GIT_REVISION` set at build time), the revision. The CLI's `--version`, the
//! functions' cold-start log line, their JSON results and the preflight report all print this.
//!
//! The revision comes from this crate's build script (`build.rs`): `git rev-parse --short=12
//! HEAD` in a checkout, or `SSR_ONBOARD_GIT_REVISION` from the build's environment (a release
//! built from a tarball). It names the last commit; a dirty work tree is not marked.

use std::sync::OnceLock;

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

/// [`describe`], computed once and kept for the life of the process (clap's `--version` takes a
/// `&'static str`).
pub fn describe_static() -> &'static str {
    static DESCRIBED: OnceLock<String> = OnceLock::new();
    DESCRIBED.get_or_init(describe).as_str()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn when_described_then_the_version_comes_first_and_the_revision_follows_in_parentheses() {
        let d = describe();
        assert!(d.starts_with(VERSION), "{d}");
        match revision() {
            Some(rev) => {
                assert_eq!(d, format!("{VERSION} ({rev})"));
                assert!(
                    rev.chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".+_-".contains(c)),
                    "{rev}"
                );
            }
            None => assert_eq!(d, VERSION),
        }
        assert_eq!(describe_static(), d);
    }
}
