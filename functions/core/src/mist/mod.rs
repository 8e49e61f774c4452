//! Mist: the cloud API client (read-only) and where its token comes from.

pub mod client;
pub mod token;
pub mod webhook;

pub use client::{normalize_mac, GatewayStats, InventoryDevice, Listed, MistClient, MistError};
