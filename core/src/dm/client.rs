//! Full-client mode: the SDK's own DM client over its own tree. Joins the
//! [`Tree`](crate::tree::Tree) (accounts, nonces, the managed nodes), the
//! [`ClientState`] (queued alerts, accepted notifications), the
//! [`Session`] and a [`Transport`](crate::dm::transport::Transport).

use std::sync::Arc;

use jiff::Timestamp;

use super::auth::{AuthType, Nonce, Secret};
#[cfg(feature = "http")]
use super::notification::UiMode;
use super::notification::{self, Notification};
use super::session::{
    Account, ClientAlert, DmStatus, ManagementTree, NodeData, NonceFor, SessionConfig,
    SessionError, Value,
};
#[cfg(feature = "http")]
use super::session::{
    Initiation, Session, Summary, UiKind, UiRequest, UiResponse, UserInteraction,
};
use super::state::{ClientState, StateError};
use crate::mo::{MoReport, Scheduling};
use crate::tree::{self, AuthLevel, Format, Payload, Tree, TreeError};

/// The clock the client stamps tree changes with (injected: the SDK never
/// reads the system clock itself).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

fn status(e: TreeError) -> DmStatus {
    DmStatus::new(e.status(), e.to_string())
}

/// The SDK's tree as a session's [`ManagementTree`], with the Scheduling MO
/// (if any) settled after each command.
pub struct TreeTarget<'t> {
    tree: &'t Tree,
    clock: Clock,
    mo: Option<Arc<Scheduling>>,
    /// Nodes the server changed (URI, server, whether a whole subtree
    /// went), for the engine's tree-value triggers.
    changed: std::sync::Mutex<Vec<(String, String, bool)>>,
    /// State reports the MO produced while settling that could not be
    /// queued durably at once (without a client state, or when it failed).
    states: std::sync::Mutex<Vec<MoReport>>,
    /// The durable alert queue state reports go to as soon as they exist.
    queue: Option<Arc<ClientState>>,
    /// The servers with a DM account when the MO was attached, and whether
    /// a command changed `./DMAcc` since (then the schedules of a server
    /// whose account went are terminated at the next settle).
    accounts: std::sync::Mutex<(Vec<String>, bool)>,
}

impl std::fmt::Debug for TreeTarget<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeTarget").finish_non_exhaustive()
    }
}

impl<'t> TreeTarget<'t> {
    /// Serves `tree`, stamping changes with `clock`.
    pub fn new(tree: &'t Tree, clock: Clock) -> TreeTarget<'t> {
        TreeTarget {
            tree,
            clock,
            mo: None,
            changed: std::sync::Mutex::new(Vec::new()),
            states: std::sync::Mutex::new(Vec::new()),
            queue: None,
            accounts: std::sync::Mutex::new((Vec::new(), false)),
        }
    }

    /// The same, settling `mo` after each command.
    pub fn with_mo(mut self, mo: Arc<Scheduling>) -> TreeTarget<'t> {
        self.mo = Some(mo);
        let ids = self.tree.server_ids().unwrap_or_else(|e| {
            tracing::warn!(target: "dmsched::dm", "listing the DM accounts: {e}");
            Vec::new()
        });
        *self.accounts.get_mut().unwrap_or_else(|p| p.into_inner()) = (ids, false);
        self
    }

    /// A command removed DM accounts: the schedules of their servers end
    /// (an authority that is gone keeps no schedules running on its rights).
    fn settle_accounts(&self, mo: &Scheduling) {
        let mut acc = self.accounts.lock().unwrap_or_else(|p| p.into_inner());
        if !std::mem::take(&mut acc.1) {
            return;
        }
        let now_ids = match self.tree.server_ids() {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(target: "dmsched::dm", "listing the DM accounts: {e}");
                return;
            }
        };
        let gone: Vec<String> = acc
            .0
            .iter()
            .filter(|s| !now_ids.contains(s))
            .cloned()
            .collect();
        acc.0 = now_ids;
        drop(acc);
        for server in gone {
            if let Err(err) = mo.account_removed(&server, (self.clock)()) {
                tracing::warn!(target: "dmsched::dm", %server, "ending the schedules of a removed account: {err}");
            }
        }
    }

    /// State reports go to `queue` (durable) the moment the MO makes them,
    /// before the command's Status is sent: a crash later in the session
    /// loses none (they go out in the next session).
    pub fn with_queue(mut self, queue: Arc<ClientState>) -> TreeTarget<'t> {
        self.queue = Some(queue);
        self
    }

    /// The state reports the MO produced (installed, rejected …) that are
    /// not queued yet, taken.
    pub fn take_state_reports(&self) -> Vec<MoReport> {
        std::mem::take(&mut *self.states.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn changed(&self, server: &str, uri: &str, subtree: bool) {
        if self.mo.is_some() && (uri == "./DMAcc" || uri.starts_with("./DMAcc/")) {
            self.accounts.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        }
        if self.mo.is_some() {
            self.changed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((uri.to_string(), server.to_string(), subtree));
        }
    }
}

fn payload(v: Value<'_>) -> Result<Payload, DmStatus> {
    // No Format: chr on Add, the node's own on Replace (the tree decides).
    let format = v
        .format
        .map(|f| Format::parse(f.trim()))
        .transpose()
        .map_err(status)?;
    Ok(Payload {
        format,
        mime: v.mime.map(|m| m.trim().to_string()),
        data: v.data.map(<[u8]>::to_vec).unwrap_or_default(),
    })
}

impl ManagementTree for TreeTarget<'_> {
    fn get(&self, server: &str, uri: &str) -> Result<Vec<NodeData>, DmStatus> {
        let items = self.tree.get(server, uri).map_err(status)?;
        Ok(items
            .into_iter()
            .map(|i| NodeData {
                uri: i.uri,
                format: Some(i.format.as_str().to_string()),
                mime: i.mime,
                data: i.data.unwrap_or_default(),
            })
            .collect())
    }

    fn add(&self, server: &str, uri: &str, value: Value<'_>) -> Result<u16, DmStatus> {
        let p = payload(value)?;
        self.tree
            .add(server, uri, &p, (self.clock)())
            .map_err(status)?;
        self.changed(server, uri, false);
        Ok(200)
    }

    fn replace(&self, server: &str, uri: &str, value: Value<'_>) -> Result<u16, DmStatus> {
        let p = payload(value)?;
        self.tree
            .replace(server, uri, &p, (self.clock)())
            .map_err(status)?;
        self.changed(server, uri, false);
        Ok(200)
    }

    fn delete(&self, server: &str, uri: &str) -> Result<u16, DmStatus> {
        self.tree
            .delete(server, uri, (self.clock)())
            .map_err(status)?;
        self.changed(server, uri, true);
        Ok(200)
    }

    fn copy(&self, server: &str, source: &str, target: &str) -> Result<u16, DmStatus> {
        self.tree
            .copy(server, target, source, (self.clock)())
            .map_err(status)?;
        self.changed(server, target, false);
        Ok(200)
    }

    fn exec(
        &self,
        server: &str,
        uri: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<(u16, Option<Vec<u8>>), DmStatus> {
        let r = self
            .tree
            .exec(server, uri, data, correlator)
            .map_err(status)?;
        Ok((r.status, r.data))
    }

    fn begin(&self) -> Result<(), DmStatus> {
        self.tree.begin().map_err(status)
    }

    fn commit(&self) -> Result<(), DmStatus> {
        self.tree.commit().map_err(status)
    }

    fn rollback(&self) -> Result<(), DmStatus> {
        self.tree.rollback().map_err(status)
    }

    fn dev_info(&self) -> Result<Vec<(String, String)>, DmStatus> {
        let mut out = Vec::new();
        for name in ["DevId", "Man", "Mod", "DmV", "Lang"] {
            let uri = format!("./DevInfo/{name}");
            let items = self.tree.device().get(&uri).map_err(status)?;
            if let Some(i) = items.into_iter().next() {
                out.push((uri, i.text()));
            }
        }
        Ok(out)
    }

    fn settle(&self) {
        let Some(mo) = &self.mo else { return };
        let mut reports = mo.settle();
        if let Some(q) = &self.queue {
            reports.retain(|r| match q.queue_alert(&r.owner, &generic_alert(r)) {
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(target: "dmsched::dm", owner = %r.owner, "queueing a state report (kept for the end of the session): {e}");
                    true
                }
            });
        }
        self.states
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(reports);
        let changed = std::mem::take(&mut *self.changed.lock().unwrap_or_else(|p| p.into_inner()));
        if !changed.is_empty() {
            let now = (self.clock)();
            if let Err(err) = mo.on_session_tree_changed(&changed, now) {
                tracing::warn!(target: "dmsched::dm", "engine tree change: {err}");
            }
        }
        self.settle_accounts(mo);
    }

    fn save_nonce(&self, server_id: &str, which: NonceFor, nonce: &Nonce) -> Result<(), DmStatus> {
        let level = match which {
            NonceFor::Client => AuthLevel::Client,
            NonceFor::Server => AuthLevel::Server,
        };
        self.tree
            .set_account_nonce(server_id, level, nonce.as_bytes(), (self.clock)())
            .map_err(status)
    }

    fn save_nonce_use(&self, server_id: &str, session_id: u16) -> Result<(), DmStatus> {
        self.tree
            .set_account_nonce_use(server_id, session_id, (self.clock)())
            .map_err(status)
    }
}

/// The client could not run a session.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No DM account for this server in `./DMAcc`, or an unusable one.
    #[error("account: {0}")]
    Account(String),
    /// The tree failed.
    #[error("tree: {0}")]
    Tree(#[from] TreeError),
    /// The client state failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// A package #0 was malformed, not authentic, or replayed.
    #[error("notification refused: {0}")]
    Notification(String),
    /// The user declined the server-initiated session (ui-mode 3).
    #[error("the user declined the session")]
    Declined,
    /// The session failed.
    #[error(transparent)]
    Session(#[from] SessionError),
}

fn to_auth(t: tree::AuthType) -> AuthType {
    match t {
        tree::AuthType::Basic => AuthType::Basic,
        tree::AuthType::Digest => AuthType::Md5,
        tree::AuthType::Hmac => AuthType::Hmac,
    }
}

/// The session's view of `./DMAcc/<X>` for `server_id`.
pub fn session_account(tree: &Tree, server_id: &str) -> Result<Account, ClientError> {
    let a = tree
        .account(server_id)?
        .ok_or_else(|| ClientError::Account(format!("no ./DMAcc account for {server_id}")))?;
    let url = a
        .addrs
        .first()
        .map(|x| x.addr.clone())
        .ok_or_else(|| ClientError::Account(format!("account {server_id} has no AppAddr")))?;
    let cl = a
        .auths
        .iter()
        .find(|x| x.level == AuthLevel::Client)
        .ok_or_else(|| ClientError::Account(format!("account {server_id} has no CLCRED")))?;
    // Accounts stored before server authentication was required are refused
    // here too (6.1.1.2.1).
    if let Some(problem) = tree::server_auth_problem(&a) {
        return Err(ClientError::Account(problem));
    }
    let srv = a.auths.iter().find(|x| x.level == AuthLevel::Server);
    Ok(Account {
        server_id: a.server_id.clone(),
        server_url: url,
        client_auth: to_auth(cl.auth_type),
        client_name: cl.name.clone().unwrap_or_default(),
        client_secret: Secret::new(cl.secret.clone().unwrap_or_default()),
        client_nonce: Nonce::new(cl.nonce.clone().unwrap_or_default()),
        server_auth: srv.map(|s| to_auth(s.auth_type)),
        server_secret: Secret::new(srv.and_then(|s| s.secret.clone()).unwrap_or_default()),
        server_nonce: Nonce::new(srv.and_then(|s| s.nonce.clone()).unwrap_or_default()),
        allow_unauthenticated_server: a.allow_unauthenticated_server,
        server_nonce_used_in: tree.account_nonce_use(server_id)?,
    })
}

/// The SDK's DM client.
pub struct DmClient {
    /// Which client this is: an accepted package #0 starts a session only
    /// with the client that accepted it.
    id: u64,
    tree: Arc<Tree>,
    state: Arc<ClientState>,
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    clock: Clock,
    mo: Option<Arc<Scheduling>>,
    /// Session bounds and sizes.
    pub config: SessionConfig,
}

impl std::fmt::Debug for DmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DmClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A package #0 that passed every check, ready to start its session: a
/// proof only [`DmClient::accept_notification`] makes (its fields are
/// private, so a host cannot forge one from a record it made up).
#[derive(Clone, Debug)]
pub struct AcceptedNotification {
    notification: Notification,
    used_resync_nonce: bool,
    /// The client that accepted it (its replay record is that client's).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    issuer: u64,
}

impl AcceptedNotification {
    /// The notification.
    pub fn notification(&self) -> &Notification {
        &self.notification
    }

    /// The digest only matched the resync nonce.
    pub fn used_resync_nonce(&self) -> bool {
        self.used_resync_nonce
    }

    /// A proof for tests of the wire shapes only.
    #[cfg(test)]
    pub(crate) fn for_test(notification: Notification, used_resync_nonce: bool) -> Self {
        AcceptedNotification {
            notification,
            used_resync_nonce,
            issuer: 0,
        }
    }
}

impl DmClient {
    /// A client over `tree` and `state`.
    pub fn new(
        tree: Arc<Tree>,
        state: Arc<ClientState>,
        clock: Clock,
        config: SessionConfig,
    ) -> DmClient {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        DmClient {
            id: NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            tree,
            state,
            clock,
            mo: None,
            config,
        }
    }

    /// The same client with the Scheduling MO: its operations are applied
    /// after each server command, and its reports travel as Generic Alerts
    /// 1226 in each session with their server until acknowledged.
    pub fn with_scheduling(mut self, mo: Arc<Scheduling>) -> DmClient {
        self.mo = Some(mo);
        self
    }

    /// The Scheduling MO, if bound.
    pub fn scheduling(&self) -> Option<&Arc<Scheduling>> {
        self.mo.as_ref()
    }

    /// The tree.
    pub fn tree(&self) -> &Arc<Tree> {
        &self.tree
    }

    /// Queues a client alert (1224/1226) for the next session with
    /// `server_id`; it stays queued until the server acknowledges it.
    pub fn queue_alert(&self, server_id: &str, alert: &ClientAlert) -> Result<i64, ClientError> {
        Ok(self.state.queue_alert(server_id, alert)?)
    }

    /// The alerts still waiting for `server_id`.
    pub fn pending_alerts(&self, server_id: &str) -> Result<Vec<ClientAlert>, ClientError> {
        Ok(self
            .state
            .alerts(server_id)?
            .into_iter()
            .map(|q| q.alert)
            .collect())
    }

    /// Checks a package #0: well-formed, for a server with an account,
    /// authentic (the account's server nonce, or the resync nonce), not
    /// seen before. Accepting it is durable: the same bytes are refused
    /// from now on.
    pub fn accept_notification(&self, bytes: &[u8]) -> Result<AcceptedNotification, ClientError> {
        let (_, n, _) =
            Notification::parse(bytes).map_err(|e| ClientError::Notification(e.to_string()))?;
        let acct = session_account(&self.tree, &n.server_id).map_err(|e| match e {
            ClientError::Account(why) => ClientError::Notification(why),
            _ => ClientError::Notification(format!("no account for server {}", n.server_id)),
        })?;
        let v = notification::verify(
            bytes,
            acct.server_secret.expose(),
            acct.server_nonce.as_bytes(),
        )
        .map_err(|e| ClientError::Notification(e.to_string()))?;
        let key = v.notification.replay_key(&v.digest);
        if !self
            .state
            .accept_notification(&v.notification.server_id, &key)?
        {
            return Err(ClientError::Notification(format!(
                "notification for session {} from {} was already accepted (replay)",
                v.notification.session_id_hex(),
                v.notification.server_id
            )));
        }
        tracing::info!(target: "dmsched::dm", server = %v.notification.server_id,
            session = %v.notification.session_id_hex(), resync = v.used_resync_nonce,
            "package #0 accepted");
        Ok(AcceptedNotification {
            notification: v.notification,
            used_resync_nonce: v.used_resync_nonce,
            issuer: self.id,
        })
    }

    /// Runs one session with `server_id`: client-initiated when
    /// `notification` is `None`, else for that accepted package #0 (whose
    /// ui-mode is honoured: informative shows a notice first, user
    /// interaction asks and [`ClientError::Declined`] if refused).
    #[cfg(feature = "http")]
    pub async fn run_session<T: super::transport::Transport>(
        &self,
        server_id: &str,
        notification: Option<&AcceptedNotification>,
        transport: &T,
        ui: Option<&dyn UserInteraction>,
    ) -> Result<Summary, ClientError> {
        self.run_session_with(server_id, notification, transport, ui, &self.config)
            .await
    }

    /// [`DmClient::run_session`] with these session settings (for one
    /// server's encoding or bounds) instead of the client's.
    #[cfg(feature = "http")]
    pub async fn run_session_with<T: super::transport::Transport>(
        &self,
        server_id: &str,
        notification: Option<&AcceptedNotification>,
        transport: &T,
        ui: Option<&dyn UserInteraction>,
        config: &SessionConfig,
    ) -> Result<Summary, ClientError> {
        let account = session_account(&self.tree, server_id)?;
        let initiation = match notification {
            None => {
                let mut b = [0u8; 2];
                ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
                    .map_err(|_| ClientError::Session(SessionError::Internal("random".into())))?;
                Initiation::Client {
                    session_id: u16::from_be_bytes(b),
                }
            }
            Some(a) => {
                if a.issuer != self.id {
                    return Err(ClientError::Notification(
                        "the notification was accepted by another agent: accept it with this one"
                            .into(),
                    ));
                }
                let n = &a.notification;
                if n.server_id != server_id {
                    return Err(ClientError::Notification(format!(
                        "notification is for {}, not {server_id}",
                        n.server_id
                    )));
                }
                match (n.ui_mode, ui) {
                    (UiMode::Informative, Some(ui)) => {
                        ui.interact(&notice(server_id, UiKind::Display));
                    }
                    (UiMode::UserInteraction, Some(ui))
                        if ui.interact(&notice(server_id, UiKind::Confirm)) != UiResponse::Yes =>
                    {
                        return Err(ClientError::Declined);
                    }
                    // Without a UI, a session that needs the user's consent cannot start.
                    (UiMode::UserInteraction, None) => return Err(ClientError::Declined),
                    _ => {}
                }
                Initiation::Server(n.clone())
            }
        };
        let queued = self.state.alerts(server_id)?;
        let mut alerts: Vec<ClientAlert> = queued.iter().map(|q| q.alert.clone()).collect();
        let reports = match &self.mo {
            Some(mo) => mo
                .reports(server_id, 64)
                .map_err(|e| ClientError::Account(format!("reports: {e}")))?,
            None => Vec::new(),
        };
        alerts.extend(reports.iter().map(generic_alert));
        let mut target =
            TreeTarget::new(&self.tree, self.clock.clone()).with_queue(self.state.clone());
        if let Some(mo) = &self.mo {
            target = target.with_mo(mo.clone());
        }
        let result = async {
            let (mut session, first) =
                Session::start(&target, ui, account, config.clone(), initiation, &alerts)?;
            super::session::driver::run(&mut session, first, transport).await
        }
        .await;
        // State reports made while settling go out in the next session.
        for r in target.take_state_reports() {
            self.state.queue_alert(&r.owner, &generic_alert(&r))?;
        }
        let summary = result?;
        let mut delivered = Vec::new();
        let mut acked = Vec::new();
        let mut stored = Vec::new();
        let mut evicted_told = false;
        for &i in &summary.alerts_delivered {
            match queued.get(i) {
                Some(q) => delivered.push(q.id),
                None => {
                    let r = reports.get(i - queued.len());
                    evicted_told |= r.is_some_and(|r| r.evicted > 0);
                    acked.extend(r.and_then(|r| r.id));
                    stored.extend(r.and_then(|r| r.stored));
                }
            }
        }
        self.state.remove_alerts(&delivered)?;
        if let Some(mo) = &self.mo
            && !stored.is_empty()
        {
            mo.ack_stored(server_id, &stored)
                .map_err(|e| ClientError::Account(format!("acknowledging state reports: {e}")))?;
        }
        if let Some(mo) = &self.mo
            && evicted_told
        {
            mo.ack_evicted(server_id)
                .map_err(|e| ClientError::Account(format!("acknowledging evictions: {e}")))?;
        }
        if let Some(mo) = &self.mo
            && !acked.is_empty()
        {
            mo.ack_reports(server_id, &acked)
                .map_err(|e| ClientError::Account(format!("acknowledging reports: {e}")))?;
        }
        Ok(summary)
    }
}

/// A Scheduling MO report as a Generic Alert 1226 (facts §2).
pub fn generic_alert(r: &MoReport) -> ClientAlert {
    ClientAlert {
        code: 1226,
        correlator: None,
        item: crate::dm::syncml::Item {
            source: Some(crate::dm::syncml::Locus::uri(r.source.clone())),
            meta: Some(crate::dm::syncml::Meta {
                type_: Some(r.type_.clone()),
                format: Some("xml".into()),
                mark: Some(r.mark.clone()),
                ..crate::dm::syncml::Meta::default()
            }),
            data: Some(crate::dm::syncml::Data::Text(r.data.clone())),
            more_data: false,
            target: None,
        },
    }
}

#[cfg(feature = "http")]
fn notice(server_id: &str, kind: UiKind) -> UiRequest {
    UiRequest {
        server_id: server_id.to_string(),
        text: match kind {
            UiKind::Confirm => format!("{server_id} asks to manage this device. Allow?"),
            _ => format!("{server_id} is managing this device."),
        },
        kind,
        min_display_secs: None,
        max_display_secs: None,
        default_response: None,
    }
}

/// A DM account as provisioned from a file (bootstrap; the JSON form of
/// `./DMAcc/<X>` plus transport settings).
#[derive(Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AccountFile {
    /// `ServerID`.
    pub server_id: String,
    /// `AppAddr/1/Addr`.
    pub server_url: String,
    /// `Name`.
    #[serde(default)]
    pub name: Option<String>,
    /// The device's credential toward the server (CLCRED).
    pub client: CredentialFile,
    /// The server's credential toward the device (SRVCRED). Required
    /// unless `allow_unauthenticated_server` is `true` (6.1.1.2.1).
    #[serde(default)]
    pub server: Option<CredentialFile>,
    /// The explicit opt-out from DM-level server authentication: a JSON
    /// `true` (nothing else) lets the account go without `server`. Only
    /// with an `https://` `server_url` and without `allow_plain_http`: TLS
    /// must then authenticate the server (docs/dm-client.md).
    #[serde(default)]
    pub allow_unauthenticated_server: bool,
    /// PEM trust anchors for the server's TLS certificate (a path,
    /// relative to the account file).
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// Accept `http://` (tests; HMAC-protected servers).
    #[serde(default)]
    pub allow_plain_http: bool,
    /// `xml` (default) or `wbxml`.
    #[serde(default)]
    pub encoding: Option<String>,
}

/// One credential in an [`AccountFile`].
#[derive(Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialFile {
    /// `BASIC`, `DIGEST` or `HMAC`.
    pub auth: String,
    /// `AAuthName` (for SRVCRED, defaults to the server id).
    #[serde(default)]
    pub name: Option<String>,
    /// `AAuthSecret`.
    pub secret: String,
    /// `AAuthData`: the first nonce, base64.
    #[serde(default)]
    pub nonce: Option<String>,
}

impl std::fmt::Debug for CredentialFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialFile")
            .field("auth", &self.auth)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for AccountFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountFile")
            .field("server_id", &self.server_id)
            .field("server_url", &self.server_url)
            .field("client", &self.client)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl AccountFile {
    /// The `./DMAcc` account this file provisions.
    pub fn to_tree_account(&self) -> Result<tree::Account, ClientError> {
        let cred = |c: &CredentialFile, level: AuthLevel| -> Result<tree::AppAuth, ClientError> {
            let auth_type = match c.auth.to_ascii_uppercase().as_str() {
                "BASIC" => tree::AuthType::Basic,
                "DIGEST" | "MD5" => tree::AuthType::Digest,
                "HMAC" => tree::AuthType::Hmac,
                other => {
                    return Err(ClientError::Account(format!(
                        "auth {other:?}: use BASIC, DIGEST or HMAC"
                    )));
                }
            };
            let nonce = match &c.nonce {
                Some(n) => Some(
                    Nonce::from_b64(n)
                        .map_err(|e| ClientError::Account(format!("nonce: {e}")))?
                        .as_bytes()
                        .to_vec(),
                ),
                None => Some(Vec::new()),
            };
            Ok(tree::AppAuth {
                level,
                auth_type,
                name: Some(match (&c.name, level) {
                    (Some(n), _) => n.clone(),
                    (None, AuthLevel::Server) => self.server_id.clone(),
                    (None, AuthLevel::Client) => {
                        return Err(ClientError::Account(
                            "client credential without a name".into(),
                        ));
                    }
                }),
                secret: Some(c.secret.clone()),
                nonce,
            })
        };
        let mut auths = vec![cred(&self.client, AuthLevel::Client)?];
        if let Some(s) = &self.server {
            auths.push(cred(s, AuthLevel::Server)?);
        }
        if auths
            .iter()
            .any(|a| a.level == AuthLevel::Server && a.auth_type == tree::AuthType::Basic)
        {
            return Err(ClientError::Account(
                "a BASIC server credential is the same in every session (a captured one can \
                 be replayed): use DIGEST or HMAC"
                    .into(),
            ));
        }
        if self.allow_unauthenticated_server {
            if self.server.is_some() {
                return Err(ClientError::Account(
                    "allow_unauthenticated_server with a server credential: choose one".into(),
                ));
            }
            if self.allow_plain_http || !self.server_url.starts_with("https://") {
                return Err(ClientError::Account(
                    "allow_unauthenticated_server needs an https:// server_url and no \
                     allow_plain_http: TLS must then authenticate the server"
                        .into(),
                ));
            }
        } else if self.server.is_none() {
            return Err(ClientError::Account(format!(
                "account {:?} has no \"server\" credential: the server must authenticate \
                 itself (6.1.1.2.1); add \"server\": {{\"auth\": \"DIGEST\" or \"HMAC\", \
                 \"secret\": …}} or opt out with \"allow_unauthenticated_server\": true",
                self.server_id
            )));
        }
        let node = account_node(&self.server_id);
        Ok(tree::Account {
            node,
            server_id: self.server_id.clone(),
            name: self.name.clone(),
            pref_con_ref: None,
            addrs: vec![tree::AppAddr {
                addr: self.server_url.clone(),
                addr_type: "URI".into(),
            }],
            auths,
            allow_unauthenticated_server: self.allow_unauthenticated_server,
        })
    }
}

/// The `./DMAcc` node name of `server_id`: the id with every character
/// but letters and digits as `_` when that is at most 32 characters, else a
/// readable prefix and a digest of the whole id, so a 256-byte id fits
/// (two ids that map to one name: see [`crate::agent::Agent::provision`]).
fn account_node(server_id: &str) -> String {
    let safe = server_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' });
    if server_id.chars().count() <= 32 {
        return safe.collect();
    }
    let prefix: String = safe.take(16).collect();
    format!("{prefix}_{}", tree::id_digest(server_id))
}

impl ClientError {
    /// The kind every binding reports ([`crate::ErrorKind`]).
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            ClientError::Account(_) => K::NoAccount,
            ClientError::Tree(t) => t.kind(),
            ClientError::State(_) => K::Storage,
            ClientError::Notification(_) => K::NotificationRefused,
            ClientError::Declined => K::SessionDeclined,
            ClientError::Session(s) => s.kind(),
        }
    }

    /// The message the bindings show (a tree error with its DM status).
    pub fn api_message(&self) -> String {
        match self {
            ClientError::Tree(t) => t.api_message(),
            other => other.to_string(),
        }
    }
}
