//! The engines the commands wrap: each takes an options struct (or what it runs on) and returns
//! a typed result, never an exit code; each renders its result as text beside it.

pub mod audit;
pub mod demo;
pub mod report;
