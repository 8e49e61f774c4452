//! One module per subcommand, as cargo's commands: its clap arguments, an `exec()` that wraps
//! an operation ([`crate::ops`]) or a core handler, and the mapping of the result to the
//! process exit code ([`crate::exit`]).

pub mod ack;
pub mod audit;
pub mod check_template;
pub mod demo;
pub mod doctor;
pub mod invoke;
pub mod report;
pub mod timeline;
