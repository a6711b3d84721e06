//! The SDK's own OMA DM client: SyncML DM 1.2 representation ([`syncml`](crate::syncml),
//! XML and WBXML), authentication ([`auth`]) and package #0 notifications
//! ([`notification`]).

pub mod auth;
pub mod client;
pub mod notification;
pub mod session;
pub mod state;
/// The SyncML DM 1.2 codec, a leaf module shared with the Scheduling MO
/// (its `Cmds` node); re-exported here where the DM client uses it.
pub use crate::syncml;
#[cfg(feature = "http")]
pub mod transport;
