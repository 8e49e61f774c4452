//! ssr-onboard core: the adapters that talk to AWS and Mist, the handlers that orchestrate them,
//! and the Lambda boundary, shared by the Lambda functions and the `ssr-onboard` CLI so that
//! local runs exercise production code. Everything that decides lives in the `ssr-onboard-domain`
//! crate (no AWS SDK) and is re-exported here under the same names. Layers point one way
//! (a test keeps it so): [`lambda`] → [`handlers`] → ([`alerting`], [`apply`], [`deps`],
//! [`mist`]) → [`aws`] → ([`retry`], [`metrics`], [`telemetry`]) → the domain's rooms.
//!
//! - [`handlers`]: event in, outcome out — the guard, stack-watch and its custom resource, the
//!   watchdog's sweep, the Mist webhook. Orchestration only.
//! - [`aws`]: one adapter per service (EC2, SNS, DynamoDB state table, CloudFormation, Secrets
//!   Manager, Organizations), speaking domain types; [`mist`]: the Mist API client and reader.
//! - [`alerting`]: claim → publish → confirm, once; [`apply`]: writes verified by read-back.
//! - [`deps`]: the adapters a handler is given, per account and region; [`retry`]: the one
//!   backoff helper; [`metrics`]: EMF; [`telemetry`]: logs; [`lambda`]: the Lambda boundary.
//! - Re-exported from the domain: [`config`], [`deadline`], [`select`], [`snapshot`],
//!   [`instance_state`], [`onboarding_config`], [`rules`], [`findings`], [`plan`], [`episode`],
//!   [`render`], [`mist_model`], [`stack`], [`label`], [`function`], [`timeline`], [`drift`].
//!
//! Flow of one event (docs/architecture.md): parse (typed error) → credentials for the event's
//! scope → select → snapshot (independent reads concurrently) → rules → plan → apply (verified)
//! → record state → render + publish once → JSON outcome + EMF metrics.

pub use ssr_domain::{
    build_info, check, config, deadline, drift, episode, findings, function, instance_state, label,
    mist_model, onboarding_config, outbox, plan, render, rules, select, snapshot, stack, timeline,
};

pub mod alerting;
pub mod apply;
pub mod aws;
pub mod deps;
pub mod handlers;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod metrics;
pub mod mist;
pub mod retry;
pub mod telemetry;

pub use config::Config;
pub use deadline::Deadline;
pub use deps::Deps;
