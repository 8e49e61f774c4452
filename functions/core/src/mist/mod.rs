//! Mist: the cloud API client (read-only) and where its token comes from.

pub mod client;
pub mod token;

pub use client::{normalize_mac, Inventory, InventoryDevice, MistClient, MistError};
