//! Starting and steering a server: [`start`] binds and spawns the accept
//! loop on the current tokio runtime; [`RunningServer`] is the handle.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use anyhow::Context as _;
use dmsched::dm::notification::UiMode;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::account::Account;
use crate::config::ServerConfig;
use crate::record::Recorder;
use crate::script::Script;
use crate::state::Shared;
use crate::{http, pki};

/// A server that is listening. Dropping it stops the accept loop and the
/// open connections (as [`RunningServer::shutdown`] does, without waiting).
pub struct RunningServer {
    addr: SocketAddr,
    url: String,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Binds `config.listen` and serves on the current tokio runtime (which
/// needs the I/O and time drivers).
pub async fn start(config: ServerConfig) -> anyhow::Result<RunningServer> {
    let acceptor = config.tls.as_ref().map(pki::tls_acceptor).transpose()?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    let host = url_host(addr.ip(), acceptor.is_some());
    let scheme = if acceptor.is_some() { "https" } else { "http" };
    let authority = format!("{host}:{}", addr.port());
    let url = format!("{scheme}://{authority}/dm");
    let recorder = Recorder::new();
    if let Some(path) = &config.log_file {
        recorder
            .log_to(path)
            .with_context(|| format!("opening log file {}", path.display()))?;
    }
    let shared = Arc::new(Shared::new(&config, recorder));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(http::accept_loop(
        listener,
        acceptor,
        shared.clone(),
        authority,
        stopped,
    ));
    Ok(RunningServer {
        addr,
        url,
        shared,
        stop,
        task: Some(task),
    })
}

/// `localhost` for TLS on a loopback or unspecified address (certificates
/// name it), the loopback IP for plain HTTP, else the address itself.
fn url_host(ip: IpAddr, tls: bool) -> String {
    let local = ip.is_loopback() || ip.is_unspecified();
    match ip {
        _ if local && tls => "localhost".into(),
        IpAddr::V4(_) if local => "127.0.0.1".into(),
        IpAddr::V6(_) if local => "[::1]".into(),
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    }
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL devices POST to: `https://localhost:PORT/dm` with TLS,
    /// `http://127.0.0.1:PORT/dm` without.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The shared record.
    pub fn recorder(&self) -> Recorder {
        self.shared.recorder.clone()
    }

    /// Builds a package #0 for `device_id` (version 12, server-initiated,
    /// a fresh non-zero 16-bit session id, the account's server id, digest
    /// with the server password and the account's current `server_nonce`)
    /// and remembers the session id for the Alert 1200 that should follow.
    pub fn trigger(&self, device_id: &str, ui_mode: UiMode) -> anyhow::Result<Vec<u8>> {
        self.shared.trigger(device_id, ui_mode)
    }

    /// Replaces the script for sessions that start from now on.
    pub fn set_script(&self, script: Script) {
        self.shared.set_script(script);
    }

    /// The account of `device_id` as it is now (current nonces).
    pub fn account(&self, device_id: &str) -> Option<Account> {
        self.shared
            .accounts()
            .into_iter()
            .find(|a| a.device_id == device_id)
    }

    /// All accounts as they are now.
    pub fn accounts(&self) -> Vec<Account> {
        self.shared.accounts()
    }

    /// Adds an account, or replaces the one with the same device id.
    pub fn set_account(&self, account: Account) {
        self.shared.set_account(account);
    }

    /// Fault injection (a lost acknowledgement): the next `n` device
    /// messages that carry a Generic Alert 1226 are read and handled as
    /// usual — recorded, the session moves on — and then their connection
    /// is closed without an answer, so the device never learns that the
    /// server received its reports.
    pub fn lose_answers_to_reports(&self, n: u32) {
        self.shared
            .lose_answers
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Sessions in progress.
    pub fn active_sessions(&self) -> usize {
        self.shared.active_sessions()
    }

    /// Stops accepting, closes the open connections and waits for the
    /// accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
