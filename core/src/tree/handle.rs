//! [`Tree`]: the device's management tree, its configuration, and the
//! public commands. Each command runs in its own SQLite transaction (or a
//! savepoint inside an Atomic, see [`Tree::begin`]), so a failed command
//! leaves the stored tree exactly as it was and a returned one is on disk.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::ThreadId;

use jiff::Timestamp;

use super::acl::Acl;
use super::ctx::{Ctx, Who};
use super::db::Db;
use super::ddf::NodeDesc;
use super::error::{TreeError, bad};
use super::node::{ExecResult, Item, Payload};
use super::plugin::{ExecHandler, NodeHandler, Registry};
use super::standard::{self, DeviceInfo};
use super::uri::{Uri, UriLimits};

const LOG: &str = "dmsched::tree";

/// How the tree is set up.
#[derive(Clone, Debug)]
pub struct TreeConfig {
    /// Values of `./DevInfo` and `./DevDetail`, refreshed on every open.
    pub device: DeviceInfo,
    /// URI limits, enforced and published in `./DevDetail/URI`.
    pub limits: UriLimits,
    /// ACL the root gets when the tree is created (default `Add=*&Get=*`).
    pub root_acl: Acl,
    /// Largest leaf value accepted, in bytes (413 beyond).
    pub max_value_len: usize,
    /// Most items a `?list=` answer may hold (413 beyond).
    pub max_list_items: usize,
    /// Where secret values (account passwords and nonces) live: the
    /// host's store (Android Keystore, iOS Keychain …); `None`: a
    /// [`super::FileSecrets`] file of mode 0600 beside the database
    /// (`<db>.secrets`), or memory for an in-memory tree.
    pub secrets: Option<Arc<dyn super::SecretStore>>,
}

impl TreeConfig {
    /// Defaults around `device`: default limits, root ACL `Add=*&Get=*`,
    /// values up to 64 KiB, lists up to 10 000 items.
    pub fn new(device: DeviceInfo) -> TreeConfig {
        TreeConfig {
            device,
            limits: UriLimits::default(),
            root_acl: Acl::root_default(),
            max_value_len: 64 * 1024,
            max_list_items: 10_000,
            secrets: None,
        }
    }
}

pub(crate) struct State {
    pub db: Db,
    /// The thread that holds an open Atomic, if any.
    pub atomic: Option<ThreadId>,
}

/// The management tree. `Send + Sync`: share it as `Arc<Tree>`; calls are
/// serialised by an internal lock.
pub struct Tree {
    pub(crate) state: Mutex<State>,
    pub(crate) gate: Condvar,
    pub(crate) reg: RwLock<Registry>,
    pub(crate) cfg: TreeConfig,
}

impl std::fmt::Debug for Tree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tree").finish_non_exhaustive()
    }
}

pub(crate) fn poisoned() -> TreeError {
    TreeError::Failed("tree lock poisoned by a panic".into())
}

impl Tree {
    /// Opens the tree in the SQLite file at `path` (creating its tables, and
    /// the file, if absent). The file may also hold the scheduling store.
    /// Creates the root and the standard MOs on first open and refreshes
    /// the `./DevInfo` and `./DevDetail` values on every open.
    pub fn open(path: &Path, mut config: TreeConfig, now: Timestamp) -> Result<Tree, TreeError> {
        let file = super::FileSecrets::beside(path);
        match &config.secrets {
            None => config.secrets = Some(Arc::new(file)),
            // A store the host provides now takes over what the default
            // file kept before it.
            Some(store) => super::secrets::adopt_file(&file, store.as_ref())
                .map_err(|e| TreeError::Failed(e.to_string()))?,
        }
        Tree::init(Db::open(path)?, config, now)
    }

    /// A private in-memory tree (tests, simulations).
    pub fn open_in_memory(mut config: TreeConfig, now: Timestamp) -> Result<Tree, TreeError> {
        if config.secrets.is_none() {
            config.secrets = Some(Arc::new(super::MemorySecrets::default()));
        }
        Tree::init(Db::open_in_memory()?, config, now)
    }

    fn init(db: Db, cfg: TreeConfig, now: Timestamp) -> Result<Tree, TreeError> {
        cfg.limits.check_fits_standard_mos()?;
        let mut reg = Registry::default();
        standard::describe(&mut reg.ddf)?;
        let tree = Tree {
            state: Mutex::new(State { db, atomic: None }),
            gate: Condvar::new(),
            reg: RwLock::new(reg),
            cfg,
        };
        tree.write(Who::Device, "open", ".", |ctx| standard::ensure(ctx, now))?;
        tree.seal_secrets()?;
        Ok(tree)
    }

    /// Moves secret values still stored in the database (a tree written
    /// before the secret store, or with another one) to the secret store,
    /// then removes the store's orphans (values of rolled-back or replaced
    /// writes): every reference resolves, and nothing else is kept.
    fn seal_secrets(&self) -> Result<(), TreeError> {
        let Some(store) = self.cfg.secrets.clone() else {
            return Ok(());
        };
        let used = self.write(Who::Device, "seal_secrets", "./DMAcc", |c| {
            let mut used = std::collections::BTreeSet::new();
            let dmacc = Uri::parse("./DMAcc")?;
            for u in c.db.descendants(&dmacc)? {
                let uri = Uri::parse(&u)?;
                if !c.is_secret(&uri) {
                    continue;
                }
                let Some(mut row) = c.db.node(&uri)? else {
                    continue;
                };
                if row.is_interior() {
                    continue;
                }
                if super::secrets::key_of(&row.value).is_none() {
                    row.value = c.seal(&uri, std::mem::take(&mut row.value))?;
                    c.db.update(&row)?;
                }
                if let Some(k) = super::secrets::key_of(&row.value) {
                    used.insert(k.to_string());
                }
            }
            Ok(used)
        })?;
        let fail = |e: super::SecretError| TreeError::Failed(e.to_string());
        for k in store.keys().map_err(fail)? {
            if k.starts_with(super::secrets::KEY_PREFIX) && !used.contains(&k) {
                store.delete(&k).map_err(fail)?;
            }
        }
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &TreeConfig {
        &self.cfg
    }

    /// The state lock, waiting while another thread holds an Atomic.
    pub(crate) fn lock(&self) -> Result<MutexGuard<'_, State>, TreeError> {
        let me = std::thread::current().id();
        let mut g = self.state.lock().map_err(|_| poisoned())?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while let Some(owner) = g.atomic
            && owner != me
        {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(TreeError::Failed(
                    "tree is held by another thread's Atomic".into(),
                ));
            }
            g = self.gate.wait_timeout(g, left).map_err(|_| poisoned())?.0;
        }
        Ok(g)
    }

    /// Runs `f` in a transaction (a savepoint inside an Atomic): all or
    /// nothing.
    pub(crate) fn write<R>(
        &self,
        who: Who<'_>,
        op: &str,
        target: &str,
        f: impl FnOnce(&Ctx<'_>) -> Result<R, TreeError>,
    ) -> Result<R, TreeError> {
        let g = self.lock()?;
        let reg = self.reg.read().map_err(|_| poisoned())?;
        let atomic = g.atomic.is_some();
        let (open, done, undo) = if atomic {
            (
                "SAVEPOINT tree_op",
                "RELEASE tree_op",
                "ROLLBACK TO tree_op; RELEASE tree_op",
            )
        } else {
            ("BEGIN IMMEDIATE", "COMMIT", "ROLLBACK")
        };
        g.db.control(open)?;
        let ctx = Ctx {
            db: &g.db,
            reg: &reg,
            cfg: &self.cfg,
            who,
        };
        let r = f(&ctx).and_then(|v| g.db.control(done).map(|()| v));
        if r.is_err() {
            let _ = g.db.control(undo);
        }
        log(op, who, target, r.as_ref().err());
        r
    }

    /// Runs `f` without a transaction (reads).
    pub(crate) fn read<R>(
        &self,
        who: Who<'_>,
        op: &str,
        target: &str,
        f: impl FnOnce(&Ctx<'_>) -> Result<R, TreeError>,
    ) -> Result<R, TreeError> {
        let g = self.lock()?;
        let reg = self.reg.read().map_err(|_| poisoned())?;
        let ctx = Ctx {
            db: &g.db,
            reg: &reg,
            cfg: &self.cfg,
            who,
        };
        let r = f(&ctx);
        log(op, who, target, r.as_ref().err());
        r
    }

    /// Get `target` as server `server`: a leaf's value, an interior node's
    /// child names joined by `/`, a property (`?prop=ACL`), or a listing
    /// (`?list=Struct`, `?list=StructData`). One item, except for listings.
    pub fn get(&self, server: &str, target: &str) -> Result<Vec<Item>, TreeError> {
        let who = server_who(server)?;
        self.read(who, "Get", target, |c| c.get(target))
    }

    /// Add the node `target` as server `server`. The parent must exist and
    /// be interior, and the server needs Add on it. A server that cannot
    /// Replace the parent gets Add, Delete, Get and Replace on the new node.
    pub fn add(
        &self,
        server: &str,
        target: &str,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let who = server_who(server)?;
        self.write(who, "Add", target, |c| c.add(target, payload, now))
    }

    /// Replace the value of `target`, or a property (`?prop=ACL|Name|Title`).
    pub fn replace(
        &self,
        server: &str,
        target: &str,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let who = server_who(server)?;
        self.write(who, "Replace", target, |c| c.replace(target, payload, now))
    }

    /// Delete `target` and its whole subtree. The server needs Delete on
    /// the node and on every node below it that has its own ACL.
    pub fn delete(&self, server: &str, target: &str, now: Timestamp) -> Result<(), TreeError> {
        let who = server_who(server)?;
        self.write(who, "Delete", target, |c| c.delete(target, now))
    }

    /// Copy the leaf `source` to `target` (Get on the source; Replace on an
    /// existing target, or Add on the new target's parent).
    pub fn copy(
        &self,
        server: &str,
        target: &str,
        source: &str,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let who = server_who(server)?;
        self.write(who, "Copy", target, |c| c.copy(target, source, now))
    }

    /// Exec `target` with `data`: the plug-in or exec handler registered for
    /// it runs; 405 if there is none. Side effects of an Exec are not
    /// undone by an Atomic roll-back.
    pub fn exec(
        &self,
        server: &str,
        target: &str,
        data: Option<&[u8]>,
        correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        let who = server_who(server)?;
        self.write(who, "Exec", target, |c| c.exec(target, data, correlator))
    }

    /// The device's own access: no ACLs, no access-type restrictions (the
    /// structure, formats and secrets still apply). For the host and its
    /// plug-ins to create and update nodes (`./DevDetail/Ext/...`).
    pub fn device(&self) -> DeviceAccess<'_> {
        DeviceAccess { tree: self }
    }

    /// Registers `handler` for the subtree at `root` (not `.`, not inside or
    /// around another plug-in root). The root is kept as a stored anchor
    /// node carrying the ACL; if it is absent it is created (missing
    /// ancestors too, as interior nodes with inherited ACLs) with `acl`.
    pub fn register_handler(
        &self,
        root: &str,
        handler: Arc<dyn NodeHandler>,
        acl: Option<&Acl>,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        let root = Uri::parse(root)?;
        self.cfg.limits.check(&root)?;
        if root.is_root() {
            return Err(bad("a plug-in cannot serve the root"));
        }
        {
            let reg = self.reg.read().map_err(|_| poisoned())?;
            if reg.handler_for(&root).is_some() || reg.has_handler_below(&root) {
                return Err(TreeError::AlreadyExists(format!(
                    "a plug-in already serves {root} or a subtree of it"
                )));
            }
        }
        self.write(Who::Device, "register", root.as_str(), |c| {
            c.ensure_anchor(&root, acl, now)
        })?;
        let mut reg = self.reg.write().map_err(|_| poisoned())?;
        reg.handlers.push((root.clone(), handler));
        tracing::info!(target: LOG, root = %root, "plug-in registered");
        Ok(())
    }

    /// Registers `handler` to run when the stored node `uri` is Exec'd.
    pub fn register_exec(&self, uri: &str, handler: Arc<dyn ExecHandler>) -> Result<(), TreeError> {
        let uri = Uri::parse(uri)?;
        let mut reg = self.reg.write().map_err(|_| poisoned())?;
        reg.execs.retain(|(u, _)| *u != uri);
        reg.execs.push((uri, handler));
        Ok(())
    }

    /// Registers the description of the nodes matching `pattern`
    /// (`./Vendor/<X>/Mode`), replacing an earlier one for that pattern.
    pub fn describe(&self, pattern: &str, desc: NodeDesc) -> Result<(), TreeError> {
        let mut reg = self.reg.write().map_err(|_| poisoned())?;
        reg.ddf.register(pattern, desc)
    }
}

/// The device acting on its own tree; see [`Tree::device`].
#[derive(Debug, Clone, Copy)]
pub struct DeviceAccess<'t> {
    tree: &'t Tree,
}

impl DeviceAccess<'_> {
    /// Get, as the device.
    pub fn get(&self, target: &str) -> Result<Vec<Item>, TreeError> {
        self.tree
            .read(Who::Device, "Get", target, |c| c.get(target))
    }

    /// Add, as the device (no ACL; the new node inherits its parent's ACL).
    pub fn add(&self, target: &str, payload: &Payload, now: Timestamp) -> Result<(), TreeError> {
        self.tree
            .write(Who::Device, "Add", target, |c| c.add(target, payload, now))
    }

    /// Replace, as the device.
    pub fn replace(
        &self,
        target: &str,
        payload: &Payload,
        now: Timestamp,
    ) -> Result<(), TreeError> {
        self.tree.write(Who::Device, "Replace", target, |c| {
            c.replace(target, payload, now)
        })
    }

    /// Delete, as the device.
    pub fn delete(&self, target: &str, now: Timestamp) -> Result<(), TreeError> {
        self.tree
            .write(Who::Device, "Delete", target, |c| c.delete(target, now))
    }
}

fn server_who(server: &str) -> Result<Who<'_>, TreeError> {
    if server.is_empty() {
        return Err(bad("empty server id"));
    }
    Ok(Who::Server(server))
}

fn log(op: &str, who: Who<'_>, target: &str, err: Option<&TreeError>) {
    let server = who.server().unwrap_or("(device)");
    match err {
        None => tracing::debug!(target: LOG, op, server, target, status = 200, "tree command"),
        Some(e) => {
            tracing::debug!(target: LOG, op, server, target, status = e.status(), error = %e, "tree command failed")
        }
    }
}
