//! Test helpers shared by the ssr-onboard test suites (core's contract tests, the moto
//! integration tests, the CLI tests). Dev-only: never a dependency of a Lambda or the CLI binary.
//!
//! - [`router`]: one guide-shaped router as real EC2 describes it, as `aws-smithy-mocks` rules
//!   ([`MockRouter`] → [`RouterRules`]): DescribeInstances, DescribeNetworkInterfaces,
//!   DescribeInstanceAttribute (userData, enaSupport), DescribeVolumes, DescribeRouteTables, and
//!   the writes (ModifyNetworkInterfaceAttribute, ModifyInstanceAttribute) that later reads see.
//! - [`calls`]: an SDK interceptor ([`CallCheck`]) that fails a test whose handler sends an AWS
//!   operation missing from the function's IAM table (`ssr_core::aws::permissions`).
//! - [`errors`]: AWS errors in the shapes AWS sends them ([`AwsErrorShape`]): EC2 Query XML,
//!   awsQuery (SNS) XML, awsJson (DynamoDB) bodies, or the error metadata for `then_error`.
//! - [`faults`]: an HTTP client that makes matching requests hang, before or after reaching
//!   the service: a process killed mid-call, for the fault and kill tests.
//! - [`fixtures`]: the AWS-documented payloads in `tests/fixtures/*.json`, by name.
//! - [`vars`]: a configuration lookup from `(name, value)` pairs.
//!
//! This crate speaks SDK types only and does not depend on `ssr-onboard-core` (core dev-depends
//! on it). Helpers panic with a message saying what to fix: this is test code.

pub mod calls;
pub mod errors;
pub mod faults;
pub mod fixtures;
pub mod router;

pub use calls::CallCheck;
pub use errors::AwsErrorShape;
pub use fixtures::{fixture, fixture_text};
pub use router::{MockEni, MockRouter, MockUserData, RouterRules};

use std::collections::HashMap;

/// A variable lookup over `pairs`, for `Config::from_vars`: unknown names are unset.
///
/// ```
/// let lookup = ssr_testkit::vars(&[("DRY_RUN", "true")]);
/// assert_eq!(lookup("DRY_RUN").as_deref(), Some("true"));
/// assert_eq!(lookup("STATE_TABLE"), None);
/// ```
pub fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| map.get(name).cloned()
}
