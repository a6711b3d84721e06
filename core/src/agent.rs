//! Full-client mode in one object: the device's tree, scheduling engine,
//! Scheduling MO, DM client and HTTPS transport over one state directory.
//! The C ABI and the mobile bindings wrap this; hosts that want the parts
//! use them directly.
//!
//! Time is explicit: every call that can change state takes `now`, and
//! whatever the agent stamps (tree TStamps, document checks) uses the
//! latest `now` it was given. The agent never reads the system clock.
//!
//! Files in the state directory: `dmsched.db` (the store, the tree and the
//! DM client state, each in its own tables) and `transport-<server>.json`
//! (how to reach each provisioned server: trust anchors, plain HTTP).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;

use crate::dm::client::{AcceptedNotification, AccountFile, ClientError, Clock, DmClient};
use crate::dm::session::{SessionConfig, Summary, UserInteraction};
use crate::dm::state::ClientState;
use crate::dm::transport::{HttpConfig, HttpTransport};
use crate::engine::{Engine, EngineConfig, EngineError, Event, ScheduleInfo};
use crate::expr::Value;
use crate::host::{ActionExecutor, Authorizer, Host, UserPrompt};
use crate::mo::{MoConfig, MoReport, Scheduling};
use crate::model::{Firing, ReportDelivery};
use crate::store::{Store, StoreError};
use crate::syncml::Encoding;
use crate::tree::{DeviceInfo, Format, Payload, Tree, TreeConfig, TreeError, Uri};

/// How an agent is set up.
#[derive(Clone, Debug)]
pub struct AgentConfig {
    /// The state directory (created if absent).
    pub dir: PathBuf,
    /// `./DevInfo` and `./DevDetail` facts.
    pub device: DeviceInfo,
    /// Engine settings (`device_id` defaults to the DevId).
    pub engine: EngineConfig,
    /// Where the Scheduling MO lives and how it names itself.
    pub mo: MoConfig,
    /// DM session bounds.
    pub session: SessionConfig,
    /// HTTP timeouts and limits (trust anchors come per server).
    pub http: HttpConfig,
    /// Retries of immediate report delivery ([`Agent::deliver_reports`]).
    pub report_retry: ReportRetry,
    /// Where account passwords and nonces live: the host's store (Android
    /// Keystore, iOS Keychain …); `None`: `dmsched.db.secrets` in `dir`,
    /// mode 0600 (see [`crate::tree::SecretStore`]).
    pub secrets: Option<Arc<dyn crate::tree::SecretStore>>,
}

/// How [`Agent::deliver_reports`] retries a server it could not reach:
/// after `first_seconds`, then twice as long each time, at most
/// `max_seconds` apart. As JSON: either, the other by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReportRetry {
    /// The first retry's delay.
    pub first_seconds: u64,
    /// The longest delay.
    pub max_seconds: u64,
}

impl Default for ReportRetry {
    fn default() -> ReportRetry {
        ReportRetry {
            first_seconds: 30,
            max_seconds: 3600,
        }
    }
}

impl ReportRetry {
    /// The delay before retry number `attempt` (1 = the first retry).
    pub fn delay(&self, attempt: u32) -> u64 {
        let factor = 1u64 << attempt.saturating_sub(1).min(32);
        self.first_seconds
            .saturating_mul(factor)
            .min(self.max_seconds)
            .max(1)
    }
}

/// One attempt of [`Agent::deliver_reports`] to reach a server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// The server.
    pub server_id: String,
    /// Alerts (reports) the server acknowledged in the session.
    pub delivered: usize,
    /// Why it failed (the session failed, or reports stayed unacknowledged).
    pub error: Option<String>,
    /// When the next attempt is due, if it failed.
    pub retry_at: Option<Timestamp>,
    /// Failed attempts in a row so far.
    pub attempts: u32,
}

#[derive(Clone, Debug)]
struct Backoff {
    attempts: u32,
    next: Timestamp,
}

impl AgentConfig {
    /// Defaults around a state directory and the device facts.
    pub fn new(dir: impl Into<PathBuf>, device: DeviceInfo) -> AgentConfig {
        AgentConfig {
            dir: dir.into(),
            engine: EngineConfig {
                device_id: device.dev_id.clone(),
                ..EngineConfig::default()
            },
            device,
            mo: MoConfig::default(),
            session: SessionConfig::default(),
            http: HttpConfig::default(),
            report_retry: ReportRetry::default(),
            secrets: None,
        }
    }
}

/// The host callbacks an agent may use.
#[derive(Clone, Default)]
pub struct AgentHost {
    /// Asks the user before a scheduled run (policy `confirm`).
    pub prompt: Option<Arc<dyn UserPrompt>>,
    /// User-interaction alerts in sessions, and package #0 ui-modes.
    pub ui: Option<Arc<dyn UserInteraction>>,
    /// Cross-authority access to schedules (after the schedules' own ACLs).
    pub authorizer: Option<Arc<dyn Authorizer>>,
    /// Hand-off mode: runs the scheduled DM commands instead of the
    /// agent's tree (the host's own DM stack applies them, with the rights
    /// of `RunContext::owner`). Without one (full-client mode) they run on
    /// the agent's tree against its ACLs as the owning server. Conditions
    /// and tree-value triggers read the agent's tree either way (feed it
    /// with [`Agent::set_value`]).
    pub executor: Option<Arc<dyn ActionExecutor>>,
}

impl std::fmt::Debug for AgentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentHost")
            .field("prompt", &self.prompt.is_some())
            .field("ui", &self.ui.is_some())
            .field("authorizer", &self.authorizer.is_some())
            .field("executor", &self.executor.is_some())
            .finish()
    }
}

/// An agent call failed.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A bad argument (account file, URI, value).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The tree refused (with its DM status).
    #[error("tree: {0}")]
    Tree(#[from] TreeError),
    /// The engine refused.
    #[error("engine: {0}")]
    Engine(#[from] EngineError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The DM client failed (account, notification, session).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// A file of the state directory could not be read or written.
    #[error("{0}")]
    Io(String),
}

/// How to reach one server (kept next to the database).
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct TransportFile {
    #[serde(default)]
    ca_pem: Option<String>,
    #[serde(default)]
    allow_plain_http: bool,
    /// `xml` (default) or `wbxml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    encoding: Option<String>,
}

/// The wire form named in an account file (`xml`, `wbxml`).
fn encoding_of(name: Option<&str>) -> Result<Encoding, AgentError> {
    match name {
        None | Some("xml") => Ok(Encoding::Xml),
        Some("wbxml") => Ok(Encoding::Wbxml),
        Some(other) => Err(AgentError::InvalidArgument(format!(
            "account: encoding {other:?}: use xml or wbxml"
        ))),
    }
}

/// The device side of DM Scheduling in full-client mode.
pub struct Agent {
    dir: PathBuf,
    now: Arc<AtomicI64>,
    tree: Arc<Tree>,
    mo: Arc<Scheduling>,
    client: DmClient,
    host: AgentHost,
    http: HttpConfig,
    session: SessionConfig,
    runtime: tokio::runtime::Runtime,
    retry: ReportRetry,
    /// Servers with reports waiting whose task asks for immediate delivery.
    immediate: Mutex<BTreeSet<String>>,
    /// Servers that could not be reached, and when to try again (memory
    /// only: after a restart the first attempt is at once).
    backoff: Mutex<BTreeMap<String, Backoff>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn io(what: &str, p: &Path, e: impl std::fmt::Display) -> AgentError {
    AgentError::Io(format!("{what} {}: {e}", p.display()))
}

/// The transport file of `server_id`: a readable prefix of the id and a
/// digest of all of it, so that two ids never share a file (`a/b`, `a_b`)
/// and a 256-byte id still makes a short name.
fn file_name(server_id: &str) -> String {
    let safe: String = safe_chars(server_id).take(40).collect();
    format!(
        "transport-{safe}-{}.json",
        crate::tree::id_digest(server_id)
    )
}

/// The name earlier versions used (read when the current one is absent).
fn legacy_file_name(server_id: &str) -> String {
    format!(
        "transport-{}.json",
        safe_chars(server_id).collect::<String>()
    )
}

fn safe_chars(server_id: &str) -> impl Iterator<Item = char> + '_ {
    server_id.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            c
        } else {
            '_'
        }
    })
}

impl Agent {
    /// Opens (creating) the agent in `cfg.dir` at `now`: the tree with the
    /// standard MOs and `./Scheduling`, the engine (recovering interrupted
    /// firings), the DM client.
    pub fn open(cfg: AgentConfig, host: AgentHost, now: Timestamp) -> Result<Agent, AgentError> {
        std::fs::create_dir_all(&cfg.dir).map_err(|e| io("creating", &cfg.dir, e))?;
        let db = cfg.dir.join("dmsched.db");
        let clock_now = Arc::new(AtomicI64::new(now.as_nanosecond() as i64));
        let clock: Clock = {
            let n = clock_now.clone();
            Arc::new(move || {
                Timestamp::from_nanosecond(i128::from(n.load(Ordering::SeqCst)))
                    .unwrap_or(Timestamp::UNIX_EPOCH)
            })
        };
        // The store first: it locks the file (one agent per directory) and
        // refuses a foreign one before anything else writes to it.
        let store = Store::open(&db)?;
        let tree_cfg = TreeConfig {
            secrets: cfg.secrets.clone(),
            ..TreeConfig::new(cfg.device.clone())
        };
        let tree = Arc::new(Tree::open(&db, tree_cfg, now)?);
        let engine_host = Host {
            tree: tree.clone(),
            // Full-client mode: the tree runs the commands, and scheduled
            // Alerts go to the host's user interface (without one, they are
            // answered as on an unattended device).
            executor: match (&host.executor, &host.ui) {
                (Some(e), _) => e.clone(),
                (None, Some(ui)) => Arc::new(crate::tree::Interactive {
                    tree: tree.clone(),
                    alerts: Arc::new(crate::dm::session::AlertsThroughUi(ui.clone())),
                }),
                (None, None) => tree.clone(),
            },
            prompt: host.prompt.clone(),
            reports: None,
            authorizer: host.authorizer.clone(),
        };
        let engine = Engine::open(store, engine_host, cfg.engine.clone())?;
        // Staged (not yet activated) schedules persist in the same file; the
        // host's prompt answers UI/Mode 2 (confirm before install).
        let mut mo = Scheduling::builder(engine, cfg.mo.clone(), clock.clone()).store_file(&db);
        if let Some(p) = &host.prompt {
            mo = mo.prompt(p.clone());
        }
        let mo = mo.build()?;
        mo.register(&tree)?;
        let state = Arc::new(ClientState::open(&db).map_err(|e| AgentError::Io(e.to_string()))?);
        let client = DmClient::new(tree.clone(), state, clock, cfg.session.clone())
            .with_scheduling(mo.clone());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| AgentError::Io(format!("tokio runtime: {e}")))?;
        let agent = Agent {
            dir: cfg.dir,
            now: clock_now,
            tree,
            mo,
            client,
            host,
            http: cfg.http,
            session: cfg.session,
            runtime,
            retry: cfg.report_retry,
            immediate: Mutex::new(BTreeSet::new()),
            backoff: Mutex::new(BTreeMap::new()),
        };
        agent.note_reports(None)?;
        Ok(agent)
    }

    fn current(&self) -> Timestamp {
        Timestamp::from_nanosecond(i128::from(self.now.load(Ordering::SeqCst)))
            .unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Recomputes which servers have reports waiting that their task wants
    /// delivered at once (`policy.report_delivery: immediate`): every
    /// server (`None`, at open), or these.
    fn note_reports(&self, servers: Option<&[String]>) -> Result<(), AgentError> {
        let mut e = self.mo.engine();
        let cap = e.config().outbox_capacity.max(1);
        let batches = match servers {
            None => vec![(None, e.pending_reports(None, cap)?)],
            Some(list) => list
                .iter()
                .map(|s| Ok((Some(s.clone()), e.pending_reports(Some(s), cap)?)))
                .collect::<Result<Vec<_>, EngineError>>()?,
        };
        let mut found = BTreeSet::new();
        for (_, batch) in &batches {
            let mut seen = BTreeSet::new();
            for r in &batch.reports {
                let f = &r.firing;
                if found.contains(&f.owner) || !seen.insert((&f.owner, &f.schedule, &f.task)) {
                    continue;
                }
                let immediate = e.get(&f.owner, &f.owner, &f.schedule).is_ok_and(|i| {
                    i.document.tasks.iter().any(|t| {
                        t.id == f.task && t.policy.report_delivery == ReportDelivery::Immediate
                    })
                });
                if immediate {
                    found.insert(f.owner.clone());
                }
            }
        }
        drop(e);
        let mut set = lock(&self.immediate);
        match servers {
            None => *set = found,
            Some(list) => {
                for s in list {
                    if found.contains(s) {
                        set.insert(s.clone());
                    } else {
                        set.remove(s);
                    }
                }
            }
        }
        Ok(())
    }

    /// After firings: a server not yet due a delivery that one of them
    /// may have queued an immediate report for is looked at.
    fn note_firings(&self, fired: &[Firing]) -> Result<(), AgentError> {
        if fired.is_empty() {
            return Ok(());
        }
        let mut owners: Vec<String> = Vec::new();
        {
            let set = lock(&self.immediate).clone();
            let mut e = self.mo.engine();
            for f in fired {
                if set.contains(&f.owner) || owners.contains(&f.owner) {
                    continue;
                }
                let immediate = e.get(&f.owner, &f.owner, &f.schedule).is_ok_and(|i| {
                    i.document.tasks.iter().any(|t| {
                        t.id == f.task && t.policy.report_delivery == ReportDelivery::Immediate
                    })
                });
                if immediate {
                    owners.push(f.owner.clone());
                }
            }
        }
        if owners.is_empty() {
            return Ok(());
        }
        self.note_reports(Some(&owners))
    }

    fn at(&self, now: Timestamp) {
        self.now
            .fetch_max(now.as_nanosecond() as i64, Ordering::SeqCst);
    }

    /// The tree.
    pub fn tree(&self) -> &Arc<Tree> {
        &self.tree
    }

    /// The Scheduling MO (and through it the engine).
    pub fn scheduling(&self) -> &Arc<Scheduling> {
        &self.mo
    }

    /// Provisions a DM account from an [`AccountFile`] JSON text (bootstrap;
    /// 418 if the server already has one). `ca_pem`, if given, is the
    /// server's trust anchor (otherwise the file's `ca_pem` path, relative
    /// to `base`, or the public roots).
    pub fn provision(
        &self,
        account_json: &str,
        ca_pem: Option<&str>,
        base: Option<&Path>,
        now: Timestamp,
    ) -> Result<String, AgentError> {
        self.at(now);
        let file: AccountFile = serde_json::from_str(account_json)
            .map_err(|e| AgentError::InvalidArgument(format!("account: {e}")))?;
        encoding_of(file.encoding.as_deref())?;
        let ca = match (ca_pem, &file.ca_pem) {
            (Some(pem), _) => Some(pem.to_string()),
            (None, Some(path)) => {
                let p = base
                    .map(|b| b.join(path))
                    .unwrap_or_else(|| PathBuf::from(path));
                Some(std::fs::read_to_string(&p).map_err(|e| io("reading", &p, e))?)
            }
            (None, None) => None,
        };
        let mut account = file.to_tree_account()?;
        if let Err(e) = self.tree.add_account(&account, now) {
            // Another server's account has that node name (`a/b` and `a_b`
            // both make `a_b`): this one gets the name and a digest of its id.
            if !matches!(e, crate::tree::TreeError::AlreadyExists(_))
                || self.tree.account(&file.server_id)?.is_some()
            {
                return Err(e.into());
            }
            account.node = format!(
                "{}_{}",
                account.node,
                crate::tree::id_digest(&file.server_id)
            );
            self.tree.add_account(&account, now)?;
        }
        let t = TransportFile {
            ca_pem: ca,
            allow_plain_http: file.allow_plain_http,
            encoding: file.encoding.clone(),
        };
        let p = self.dir.join(file_name(&file.server_id));
        let written = serde_json::to_string_pretty(&t)
            .map_err(|e| AgentError::Io(e.to_string()))
            .and_then(|text| {
                let tmp = p.with_extension("tmp");
                std::fs::write(&tmp, text).map_err(|e| io("writing", &tmp, e))?;
                std::fs::rename(&tmp, &p).map_err(|e| io("renaming", &p, e))
            });
        if let Err(e) = written {
            // All or nothing: a failed provisioning can be retried.
            if let Err(undo) = self.tree.remove_account(&file.server_id, now) {
                tracing::error!(target: "dmsched::agent", "undoing a failed provisioning: {undo}");
            }
            return Err(e);
        }
        Ok(file.server_id)
    }

    /// Removes the DM account of `server_id` (404 if there is none) and
    /// its connection settings; every schedule of that server is
    /// terminated, since nothing may run on the rights of an authority the
    /// device no longer knows (6.1.7.6).
    pub fn remove_account(&self, server_id: &str, now: Timestamp) -> Result<(), AgentError> {
        self.at(now);
        self.tree.remove_account(server_id, now)?;
        for name in [file_name(server_id), legacy_file_name(server_id)] {
            let p = self.dir.join(name);
            if let Err(e) = std::fs::remove_file(&p)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                return Err(io("removing", &p, e));
            }
        }
        self.mo.account_removed(server_id, now)?;
        Ok(())
    }

    /// How to reach `server_id`, and the session settings for it.
    fn transport(&self, server_id: &str) -> Result<(HttpTransport, SessionConfig), AgentError> {
        let current = self.dir.join(file_name(server_id));
        let legacy = self.dir.join(legacy_file_name(server_id));
        let found = [current, legacy]
            .into_iter()
            .find_map(|p| std::fs::read_to_string(&p).ok().map(|text| (p, text)));
        let t: TransportFile = match found {
            Some((p, text)) => serde_json::from_str(&text).map_err(|e| io("reading", &p, e))?,
            None => TransportFile::default(),
        };
        let mut session = self.session.clone();
        session.encoding = encoding_of(t.encoding.as_deref())?;
        let mut cfg = self.http.clone();
        cfg.allow_plain_http = t.allow_plain_http;
        if let Some(pem) = t.ca_pem {
            cfg.extra_roots_pem.push(pem.into_bytes());
            cfg.public_roots = false;
        }
        let http =
            HttpTransport::new(cfg).map_err(|e| AgentError::InvalidArgument(e.to_string()))?;
        Ok((http, session))
    }

    /// Checks a package #0 (see [`DmClient::accept_notification`]).
    pub fn accept_notification(
        &self,
        bytes: &[u8],
        now: Timestamp,
    ) -> Result<AcceptedNotification, AgentError> {
        self.at(now);
        Ok(self.client.accept_notification(bytes)?)
    }

    /// Runs one DM session with `server_id` (blocking): client-initiated,
    /// or for an accepted package #0. Reports waiting for that server go
    /// with it.
    pub fn run_session(
        &self,
        server_id: &str,
        notification: Option<&AcceptedNotification>,
        now: Timestamp,
    ) -> Result<Summary, AgentError> {
        self.at(now);
        let (transport, session) = self.transport(server_id)?;
        let ui = self.host.ui.as_deref();
        let r = self.runtime.block_on(self.client.run_session_with(
            server_id,
            notification,
            &transport,
            ui,
            &session,
        ));
        // The session ran schedule operations and acknowledged reports.
        self.note_reports(Some(&[server_id.to_string()]))?;
        Ok(r?)
    }

    /// Runs what is due at `now`. Reports it queues for immediate delivery
    /// go out with [`Agent::deliver_reports`].
    pub fn tick(&self, now: Timestamp) -> Result<Vec<Firing>, AgentError> {
        self.at(now);
        let f = self.mo.tick(now)?;
        self.note_firings(&f)?;
        Ok(f)
    }

    /// When to call [`Agent::tick`] (or [`Agent::deliver_reports`]) next:
    /// the engine's next due time, or the time to deliver or retry
    /// immediate reports, whichever is first.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        let engine = self.mo.next_wakeup();
        match (engine, self.next_delivery()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// For inexact alarms: the earliest and the latest instant at which to
    /// call [`Agent::tick`] / [`Agent::deliver_reports`]: the MO's window
    /// (runs, with their daily windows and delays, and samples), narrowed to
    /// a delivery of reports due at once when that comes first.
    pub fn wakeup_window(&self) -> Option<(Timestamp, Timestamp)> {
        match (self.mo.wakeup_window(), self.next_delivery()) {
            (Some((from, latest)), Some(d)) => Some((from.min(d), latest.min(d))),
            (None, Some(d)) => Some((d, d)),
            (w, None) => w,
        }
    }

    /// When reports that go at once are next to be delivered (now, or the
    /// retry after a failed delivery).
    fn next_delivery(&self) -> Option<Timestamp> {
        let backoff = lock(&self.backoff);
        lock(&self.immediate)
            .iter()
            .map(|s| backoff.get(s).map_or_else(|| self.current(), |b| b.next))
            .min()
    }

    /// Servers with reports for immediate delivery waiting.
    pub fn reports_to_deliver(&self) -> Vec<String> {
        lock(&self.immediate).iter().cloned().collect()
    }

    /// Opens a session (blocking, one after the other) to every server
    /// that has reports waiting whose task asks for immediate delivery
    /// (`policy.report_delivery`, MO `Report/Delivery`), unless a failed
    /// attempt put it off until later than `now`. A server that cannot be
    /// reached, or leaves the reports unacknowledged, is tried again after
    /// [`ReportRetry::delay`]; a success forgets its failures. Reports
    /// with `next_session` delivery are not a reason to call: they go with
    /// that server's next session (and go along in these).
    pub fn deliver_reports(&self, now: Timestamp) -> Result<Vec<Delivery>, AgentError> {
        self.at(now);
        let servers = self.reports_to_deliver();
        let mut out = Vec::new();
        for server_id in servers {
            if lock(&self.backoff)
                .get(&server_id)
                .is_some_and(|b| b.next > now)
            {
                continue;
            }
            let (delivered, error) = match self.run_session(&server_id, None, now) {
                Ok(s) if !lock(&self.immediate).contains(&server_id) => {
                    (s.alerts_delivered.len(), None)
                }
                Ok(s) => (
                    s.alerts_delivered.len(),
                    Some("the server did not acknowledge every report".to_string()),
                ),
                Err(e) => (0, Some(e.to_string())),
            };
            let mut backoff = lock(&self.backoff);
            let d = match error {
                None => {
                    backoff.remove(&server_id);
                    tracing::info!(target: "dmsched::agent", server = %server_id, delivered, "reports delivered");
                    Delivery {
                        server_id,
                        delivered,
                        error: None,
                        retry_at: None,
                        attempts: 0,
                    }
                }
                Some(why) => {
                    let attempts = backoff.get(&server_id).map_or(0, |b| b.attempts) + 1;
                    let delay = self.retry.delay(attempts);
                    let next = now
                        .checked_add(jiff::SignedDuration::from_secs(
                            i64::try_from(delay).unwrap_or(i64::MAX / 2),
                        ))
                        .unwrap_or(Timestamp::MAX);
                    tracing::warn!(target: "dmsched::agent", server = %server_id, attempts, retry_in = delay, "report delivery failed: {why}");
                    backoff.insert(server_id.clone(), Backoff { attempts, next });
                    Delivery {
                        server_id,
                        delivered,
                        error: Some(why),
                        retry_at: Some(next),
                        attempts,
                    }
                }
            };
            out.push(d);
        }
        Ok(out)
    }

    /// The device changed time zone (IANA name): tasks using `local` are
    /// re-planned from `now` (see [`crate::Engine::set_time_zone`]). An
    /// unknown zone is refused and nothing changes.
    pub fn set_time_zone(&self, zone: &str, now: Timestamp) -> Result<(), AgentError> {
        self.at(now);
        self.mo.set_time_zone(zone, now)?;
        Ok(())
    }

    /// Hand-off mode: the host's executor left run `run_id` running
    /// ([`crate::Execution::Pending`]) and now completes it with `results`
    /// (see [`crate::Engine::complete`]). Returns the occurrences that
    /// finished; their reports wait for the owner as any others.
    pub fn complete(
        &self,
        run_id: i64,
        results: Vec<crate::model::CommandResult>,
        now: Timestamp,
    ) -> Result<Vec<Firing>, AgentError> {
        self.at(now);
        let f = self.mo.complete(run_id, results, now)?;
        self.note_firings(&f)?;
        Ok(f)
    }

    /// The user's choices for schedule `id` of `server_id`
    /// (personalisation, use case step 4): `choices_json` is an object of
    /// parameter id → choice (`{"start": "HH:MM", "end": "HH:MM"}`, a
    /// number of seconds, `true`/`false`); a parameter left out is back to
    /// the server's default. Checked against the server's bounds (nothing
    /// changes on a problem), stored with the schedule, applied from now
    /// on, and told to the server in a `personalized` state report with
    /// its next session.
    pub fn personalize(
        &self,
        server_id: &str,
        id: &str,
        choices_json: &str,
        now: Timestamp,
    ) -> Result<ScheduleInfo, AgentError> {
        self.at(now);
        let choices = crate::input::choices(choices_json, "choices_json")
            .map_err(|f| AgentError::InvalidArgument(f.message))?;
        let (info, _) = self.mo.personalize(server_id, id, &choices, now)?;
        Ok(info)
    }

    /// A device event (`boot`, `network`, …).
    pub fn post_event(&self, event: &Event, now: Timestamp) -> Result<Vec<Firing>, AgentError> {
        self.at(now);
        let f = self.mo.on_event(event, now)?;
        self.note_firings(&f)?;
        Ok(f)
    }

    /// Sets a leaf the device owns (creating it, and any missing interior
    /// nodes above it, if absent) with the format of `value`, and tells the
    /// engine, so that tree-value triggers and constraints see it.
    pub fn set_value(
        &self,
        uri: &str,
        value: &Value,
        now: Timestamp,
    ) -> Result<Vec<Firing>, AgentError> {
        self.at(now);
        let (format, text) = match value {
            Value::Bool(b) => (Format::Bool, b.to_string()),
            Value::Int(i) => (Format::Int, i.to_string()),
            Value::Float(f) => (Format::Float, f.to_string()),
            Value::Str(s) => (Format::Chr, s.clone()),
        };
        let p = Payload::leaf(format, text.into_bytes());
        let dev = self.tree.device();
        match dev.replace(uri, &p, now) {
            Ok(()) => {}
            Err(e) if e.status() == 404 => {
                let u = Uri::parse(uri)?;
                let mut missing = Vec::new();
                let mut cur = u.parent();
                while let Some(p) = cur {
                    if p.is_root() || dev.get(p.as_str()).is_ok() {
                        break;
                    }
                    missing.push(p.clone());
                    cur = p.parent();
                }
                for m in missing.iter().rev() {
                    match dev.add(m.as_str(), &Payload::interior(), now) {
                        // Another thread created it meanwhile: the same outcome.
                        Err(e) if e.status() == 418 => {}
                        r => r?,
                    }
                }
                match dev.add(uri, &p, now) {
                    // Created by another thread meanwhile: set it.
                    Err(e) if e.status() == 418 => dev.replace(uri, &p, now)?,
                    r => r?,
                }
            }
            Err(e) => return Err(e.into()),
        }
        let f = self.mo.on_tree_changed([uri], now)?;
        self.note_firings(&f)?;
        Ok(f)
    }

    /// Every schedule on the device.
    pub fn schedules(&self) -> Result<Vec<ScheduleInfo>, AgentError> {
        Ok(self.mo.schedules()?)
    }

    /// Reports waiting for `server_id` (they go with its next session).
    pub fn pending_reports(&self, server_id: &str) -> Result<Vec<MoReport>, AgentError> {
        Ok(self.mo.reports(server_id, 1000)?)
    }
}

impl AgentError {
    /// The kind every binding reports ([`crate::ErrorKind`]).
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            AgentError::InvalidArgument(_) => crate::ErrorKind::InvalidArgument,
            AgentError::Tree(t) => t.kind(),
            AgentError::Engine(e) => e.kind(),
            AgentError::Store(s) => s.kind(),
            AgentError::Client(c) => c.kind(),
            AgentError::Io(_) => crate::ErrorKind::Storage,
        }
    }

    /// The message the bindings show: an engine's problems one per line, a
    /// tree error with its DM status.
    pub fn api_message(&self) -> String {
        match self {
            AgentError::Engine(e) => e.api_message(),
            AgentError::Tree(t) => t.api_message(),
            AgentError::Client(c) => c.api_message(),
            other => other.to_string(),
        }
    }
}
