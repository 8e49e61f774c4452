//! `ssr-onboard --version`: the workspace version and the git revision the binary was built
//! from (`build_info::describe()`), so a report or a bug names the exact build.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_ssr-onboard");

fn version_output(flag: &str) -> String {
    let out = Command::new(BIN)
        .arg(flag)
        .env_clear()
        .output()
        .expect("the ssr-onboard binary runs");
    assert!(out.status.success(), "{flag}: {out:?}");
    String::from_utf8(out.stdout).expect("utf-8")
}

#[test]
fn when_asked_for_its_version_then_the_cli_prints_the_version_and_the_git_revision() {
    let printed = version_output("--version");
    let expected = format!("ssr-onboard {}\n", ssr_core::build_info::describe());
    assert_eq!(printed, expected);
    assert!(
        printed.starts_with(&format!("ssr-onboard {}", env!("CARGO_PKG_VERSION"))),
        "{printed}"
    );
    // Built in this checkout (tests never run from a tarball): the revision is HEAD's.
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("git runs");
    if head.status.success() && std::env::var_os("SSR_ONBOARD_GIT_REVISION").is_none() {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert!(printed.ends_with(&format!(" ({head})\n")), "{printed}");
    }
}

#[test]
fn when_asked_with_the_short_flag_then_the_same_version_line_is_printed() {
    assert_eq!(version_output("-V"), version_output("--version"));
}
