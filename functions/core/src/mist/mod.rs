//! Mist: the cloud API client (read-only), the reader the sweep and the webhook share (client,
//! cached token, budget), and the signed webhook's payload.

pub mod client;
pub mod reader;
pub mod webhook;

pub use client::{normalize_mac, GatewayStats, InventoryDevice, Listed, MistClient, MistError};
pub use reader::{MistRead, MistReader};
