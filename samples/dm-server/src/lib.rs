//! A small, honest OMA DM 1.2 server: real SyncML (XML and WBXML) over
//! HTTP(S) on loopback, for end-to-end tests of the dmsched DM client.
//!
//! It authenticates devices (Basic, MD5 digest, HMAC), presents its own
//! credential (MD5 `Cred` or HMAC header), keeps both nonces per account,
//! runs a [`Script`] one package at a time, handles multi-message packages
//! (Alert 1222) and large objects in both directions, builds package #0
//! notifications, and records everything the device sent ([`Recorder`]).
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use dmsched_dm_server::{Account, ClientAuth, Script, ServerConfig, start};
//! let account = Account::new("srv", "IMEI:1", "dev", "pw", ClientAuth::Md5, "srvpw");
//! let script = Script::from_json(r#"{"steps": [[{"get": "./DevInfo/Mod"}]]}"#)?;
//! let server = start(ServerConfig::new(vec![account], script)).await?;
//! println!("POST to {}", server.url());
//! // … run a client …
//! let results = server.recorder().results();
//! # let _ = results; Ok(()) }
//! ```
//!
//! Module map: [`account`] (who), [`script`] (what to send), [`config`],
//! [`record`] (what was seen), [`pki`] (test certificates); internally
//! `server` (start/handle), `http` (hyper, TLS, limits), `state` (decode,
//! dispatch, encode), `session` (the package walk and authentication),
//! `inbound` (answering the device's commands), `outgoing` (packing into
//! messages), `large_object` (chunks), `auth` (credentials).

#![warn(missing_docs)]

pub mod account;
mod auth;
pub mod config;
mod http;
mod inbound;
mod large_object;
mod outgoing;
pub mod pki;
pub mod record;
pub mod script;
mod server;
mod session;
mod state;

pub use account::{Account, ClientAuth, ServerAuth, load_accounts, save_accounts};
pub use config::{ServerConfig, TlsIdentity};
pub use dmsched::dm::notification::UiMode;
pub use pki::{TestPki, test_pki, try_test_pki};
pub use record::{
    Record, RecordedAlert, RecordedAlertItem, RecordedAuthFailure, RecordedComplaint,
    RecordedReplace, RecordedRequest, RecordedResult, RecordedSession, RecordedStatus,
    RecordedTrigger, Recorder, SessionEnd,
};
pub use script::{
    AlertSpec, CopySpec, DataSpec, ExecSpec, ItemSpec, Script, ScriptCommand, TargetSpec,
    generated_data,
};
pub use server::{RunningServer, start};
