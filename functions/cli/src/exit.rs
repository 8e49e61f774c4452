//! The process exit codes, documented in `--help` and docs/cli.md. Only the binary boundary (the
//! [`crate::commands`]) turns results into these; the operations return typed results.

/// Success; for `audit`: no findings remain.
pub const OK: u8 = 0;
/// An AWS call failed (or an automatic fix did not take).
pub const AWS: u8 = 1;
/// Bad usage, bad configuration or a malformed event.
pub const USAGE: u8 = 2;
/// `audit`: findings remain that need a person; `check-template`: the template has findings.
pub const FINDINGS: u8 = 3;
/// Interrupted with Ctrl-C.
pub const INTERRUPTED: u8 = 130;
