//! ssr-onboard core: everything that decides (pure) and everything that talks to AWS and Mist
//! (adapters), shared by the Lambda functions and the `ssr-onboard` CLI so that local runs
//! exercise production code. The layout and the flow of one event: docs/architecture.md.
//!
//! Flow of one event: parse (typed, clear error) → select → snapshot (independent reads
//! concurrently) → rules (pure) → plan → apply (writes, each verified) → record state → render +
//! publish once → JSON outcome.

pub mod alerting;
pub mod apply;
pub mod aws;
pub mod config;
pub mod deps;
pub mod episode;
pub mod findings;
pub mod handlers;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod mist;
pub mod onboarding_config;
pub mod plan;
pub mod render;
pub mod rules;
pub mod select;
pub mod snapshot;
pub mod telemetry;

pub use config::Config;
pub use deps::Deps;
