//! The SDK's own OMA DM client: SyncML DM 1.2 representation ([`syncml`],
//! XML and WBXML), authentication ([`auth`]) and package #0 notifications
//! ([`notification`]).

pub mod auth;
pub mod client;
pub mod notification;
pub mod session;
pub mod state;
pub mod syncml;
#[cfg(feature = "http")]
pub mod transport;
