//! ssr-onboard sandbox: an emulated AWS for the CLI's `demo` command and the integration tests,
//! never a dependency of a Lambda.
//!
//! - [`moto`]: a moto server in a private virtualenv ([`Emulator`]), one process per value,
//!   pinned to [`MOTO_VERSION`], with the request recorder for call counting.
//! - [`world`]: the shapes the SSR AWS guide describes, built inside an emulator ([`Sandbox`]):
//!   the guide's VPC, routers with a WAN and a LAN interface, an alert topic whose messages land
//!   in an SQS queue, the state table, and real-shaped events for the handlers.
//! - [`mist`]: a local fake of the Mist API ([`FakeMist`]): the org inventory and the gateway
//!   device stats, in Mist's own shapes.
//!
//! Everything here is fallible with typed errors ([`EmulatorError`], [`SandboxError`]); the test
//! harness (`ssr-onboard-tests`) wraps it in helpers that panic with the message.

pub mod mist;
pub mod moto;
pub mod world;

pub use mist::{FakeGateway, FakeMist};
pub use moto::{Emulator, EmulatorError, RecordedRequest, MOTO_VERSION};
pub use world::{Sandbox, SandboxError};
