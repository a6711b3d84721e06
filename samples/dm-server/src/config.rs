//! How a server is set up: where it listens, TLS, accounts, script and
//! limits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::account::Account;
use crate::script::Script;

/// A TLS server identity: certificate chain and private key, PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    /// `-----BEGIN CERTIFICATE-----` blocks, leaf first.
    pub cert_pem: String,
    /// The leaf's private key (PKCS#8, SEC1 or PKCS#1 PEM).
    pub key_pem: String,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity").finish_non_exhaustive()
    }
}

/// The server's configuration.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Address to bind (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// Serve HTTPS with this identity; plain HTTP when `None`.
    pub tls: Option<TlsIdentity>,
    /// The devices.
    pub accounts: Vec<Account>,
    /// What to send.
    pub script: Script,
    /// The server's MaxMsgSize, advertised in every server SyncHdr Meta
    /// (the device must keep its messages within it), and the size of the
    /// server's own messages when the device does not state a MaxMsgSize.
    pub max_msg_size: usize,
    /// The server's MaxObjSize, advertised likewise; a reassembled object
    /// from the device beyond it is refused with 413.
    pub max_obj_size: usize,
    /// Write accounts (with updated nonces) back to this file.
    pub accounts_file: Option<PathBuf>,
    /// Append records as JSON lines to this file.
    pub log_file: Option<PathBuf>,
    /// Failed device authentications per session before the server gives up.
    pub max_auth_attempts: u32,
    /// Messages per session before the server aborts it (Alert 1223).
    pub max_messages_per_session: u32,
    /// Largest request body accepted (413 above).
    pub body_limit: usize,
    /// Time allowed for a TLS handshake, for request headers and for a
    /// request body.
    pub io_timeout: Duration,
}

impl ServerConfig {
    /// Plain HTTP on a free loopback port, with these accounts and script,
    /// MaxMsgSize 64 KiB, MaxObjSize 1 MiB, 3 authentication attempts, 50
    /// messages per session, 4 MiB body limit, 30 s I/O timeout.
    pub fn new(accounts: Vec<Account>, script: Script) -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
            accounts,
            script,
            max_msg_size: 64 * 1024,
            max_obj_size: 1024 * 1024,
            accounts_file: None,
            log_file: None,
            max_auth_attempts: 3,
            max_messages_per_session: 50,
            body_limit: 4 * 1024 * 1024,
            io_timeout: Duration::from_secs(30),
        }
    }

    /// The same configuration serving HTTPS with `identity`.
    pub fn with_tls(mut self, identity: TlsIdentity) -> ServerConfig {
        self.tls = Some(identity);
        self
    }
}
