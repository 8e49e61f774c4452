//! ssr-onboard's pure rooms: everything that decides, with no AWS SDK, no HTTP client and no
//! async runtime (this crate's dependencies keep it so). The core crate (`ssr_core`) re-exports
//! every module here under the same name, and its adapters and handlers feed them facts.
//!
//! - [`config`]: the environment as typed settings (read once per cold start);
//!   [`deadline`]: when an invocation must be done.
//! - [`select`]: is an instance a managed router (pure selection rules).
//! - [`snapshot`]: a router as the rules see it ([`snapshot::RouterSnapshot`]), and
//!   [`instance_state::InstanceState`], the one owner of every instance-state rule.
//! - [`onboarding_config`]: the guide's cloud-init onboarding JSON, parsed safely.
//! - [`rules`] → [`findings`] → [`plan`]: snapshot in, findings out, findings to actions.
//! - [`episode`]: the onboarding watchdog's model (episodes, phases, Mist matching, decisions).
//! - [`mist_model`]: what Mist answers, as data; [`stack`]: a CloudFormation stack, as data.
//! - [`label`]: the one router label rule; [`function`]: which of the four functions.
//! - [`render`]: the text a person acts on (guard, stack, watchdog, chat).
//! - [`timeline`]: one router's timeline (`ssr-onboard timeline`): entries, order, JSON, text.

pub mod build_info;
pub mod check;
pub mod config;
pub mod deadline;
pub mod drift;
pub mod episode;
pub mod findings;
pub mod function;
pub mod instance_state;
pub mod label;
pub mod mist_model;
pub mod onboarding_config;
pub mod outbox;
pub mod plan;
pub mod render;
pub mod rules;
pub mod select;
pub mod snapshot;
pub mod stack;
pub mod timeline;

pub use config::Config;
pub use deadline::Deadline;
