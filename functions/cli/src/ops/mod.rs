//! The engines the commands wrap: each takes an options struct (or what it runs on) and returns
//! a typed result, never an exit code; each renders its result as text beside it.

pub mod ack;
pub mod audit;
pub mod check_template;
pub mod demo;
pub mod doctor;
pub mod report;
pub mod timeline;
