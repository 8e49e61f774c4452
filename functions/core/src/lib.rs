//! ssr-onboard core: everything that decides (pure) and everything that talks to AWS (adapters),
//! shared by the Lambda functions and the `ssr-onboard` CLI so that local runs exercise
//! production code.
//!
//! Flow of one event: parse (typed, clear error) → select → snapshot (reads) → rules (pure) →
//! plan → apply (writes, each verified) → record state → render + publish alert → JSON outcome.

pub mod aws;
pub mod config;
pub mod deps;
pub mod findings;
pub mod handlers;
pub mod onboarding;
pub mod plan;
pub mod render;
pub mod rules;
pub mod select;
pub mod snapshot;
pub mod telemetry;
pub mod watchdog;

pub use config::Config;
pub use deps::Deps;
