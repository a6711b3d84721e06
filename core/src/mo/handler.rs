//! The tree plug-in of the Scheduling MO: verifies DM commands on the MO's
//! subtree, answers Gets from a snapshot of the engine's state and the
//! stored MO nodes, and queues engine operations for
//! [`super::Scheduling::settle`].
//!
//! The plug-in runs under the tree's lock (and inside the tree's write
//! transaction): it never calls the tree, the engine or SQLite. Engine
//! operations are queued; node changes are kept in memory and written by
//! `settle` ([`super::staging`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;

use super::check::CheckCx;
use super::map::{self, BuildCx, TaskMap};
use super::nodes::{Nodes, status};
use super::report::state_gate;
use super::staging::{MoSched, Phase};
use super::{MoConfig, Op};
use crate::engine::{ScheduleInfo, ScheduleState};
use crate::host::Access;
use crate::model::Limits;
use crate::tree::{
    Acl, AclCmd, ExecResult, NodeHandler, Payload, PluginNode, TreeError, TreeRights, Uri,
};

/// The changes made inside the open DM Atomic.
#[derive(Default)]
pub(crate) struct AtomicLog {
    /// Engine operations queued inside it.
    pub ops: Vec<Op>,
    /// Each touched schedule's MO nodes as they were before (`None`: absent).
    pub undo: BTreeMap<String, Option<MoSched>>,
    /// JSON installs claimed inside it.
    pub claimed: Vec<String>,
    /// Each schedule ACL changed inside it as it was before.
    pub acl_undo: BTreeMap<String, Option<Grant>>,
    /// The server of the Atomic's commands (the requester of the
    /// modifications its commit queues).
    pub server: Option<String>,
}

/// A schedule's ACL (`<S>?prop=ACL`), set by `owner` or a server it let
/// Replace `<S>`; it applies while `owner` owns the schedule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Grant {
    pub owner: String,
    pub acl: Acl,
}

/// The ACL a schedule of `owner` has until one is set: its owner's alone.
pub(crate) fn default_acl(owner: &str) -> String {
    AclCmd::ALL
        .iter()
        .map(|c| format!("{}={owner}", c.as_str()))
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Default)]
pub(crate) struct Shared {
    /// Every schedule the engine has, by id.
    pub snapshot: BTreeMap<String, ScheduleInfo>,
    /// Node-installed schedules: staged, being installed, installed.
    pub mo: BTreeMap<String, MoSched>,
    /// Operations to apply.
    pub pending: Vec<Op>,
    /// The open Atomic.
    pub atomic: Option<AtomicLog>,
    /// Ids claimed by a JSON Add not applied yet (so a second Add is 418).
    pub claimed: BTreeMap<String, String>,
    /// Schedules whose MO nodes must be written by `settle`.
    pub dirty: BTreeSet<String>,
    /// Schedule ACLs that were set, by id.
    pub acls: BTreeMap<String, Grant>,
    /// Schedule ACLs that must be written by `settle`.
    pub acl_dirty: BTreeSet<String>,
}

impl Shared {
    /// Records that `id`'s MO nodes are about to change (undo inside an
    /// Atomic, persistence outside).
    pub fn touch(&mut self, id: &str) {
        match self.atomic.as_mut() {
            Some(log) => {
                if !log.undo.contains_key(id) {
                    log.undo.insert(id.to_string(), self.mo.get(id).cloned());
                }
            }
            None => {
                self.dirty.insert(id.to_string());
            }
        }
    }

    /// Queues an engine operation (in the Atomic, if one is open).
    pub fn queue(&mut self, op: Op) {
        match self.atomic.as_mut() {
            Some(log) => log.ops.push(op),
            None => self.pending.push(op),
        }
    }

    /// The owner of schedule `id`, staged or in the engine.
    pub fn owner_of(&self, id: &str) -> Option<&str> {
        self.mo
            .get(id)
            .map(|m| m.owner.as_str())
            .or_else(|| self.snapshot.get(id).map(|i| i.owner.as_str()))
    }

    /// True if `server` may run `cmd` on schedule `id` of `owner`: its
    /// owner always may; another server if the schedule's ACL (set while
    /// `owner` owned it) grants it.
    pub fn allows(&self, server: &str, owner: &str, id: &str, cmd: AclCmd) -> bool {
        server == owner
            || self
                .acls
                .get(id)
                .is_some_and(|g| g.owner == owner && g.acl.allows(cmd, server))
    }

    /// Checks `server`'s right to run `cmd` on schedule `id` (the device,
    /// `None`, may do anything) and returns its owner: 404 if absent, 425
    /// if `server` is neither its owner nor granted `cmd` by its ACL.
    pub fn check_access(
        &self,
        server: Option<&str>,
        id: &str,
        cmd: AclCmd,
    ) -> Result<String, TreeError> {
        let owner = self
            .owner_of(id)
            .ok_or_else(|| status(404, format!("no schedule {id}")))?;
        match server {
            None => Ok(owner.to_string()),
            Some(s) if self.allows(s, owner, id, cmd) => Ok(owner.to_string()),
            Some(s) => Err(status(
                425,
                format!(
                    "schedule {id} belongs to another server and its ACL does not let {s} {}",
                    cmd.as_str()
                ),
            )),
        }
    }

    /// Records that `id`'s ACL is about to change.
    pub fn touch_acl(&mut self, id: &str) {
        let before = self.acls.get(id).cloned();
        match self.atomic.as_mut() {
            Some(log) => {
                log.acl_undo.entry(id.to_string()).or_insert(before);
            }
            None => {
                self.acl_dirty.insert(id.to_string());
            }
        }
    }

    /// Forgets `id`'s ACL (a new schedule under that id starts with its
    /// owner's alone).
    pub fn reset_acl(&mut self, id: &str) {
        if self.acls.contains_key(id) {
            self.touch_acl(id);
            self.acls.remove(id);
        }
    }
}

/// The Scheduling MO as a tree plug-in (see the module docs of [`super`]).
pub struct MoHandler {
    pub(crate) cfg: MoConfig,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    /// The engine's device zone (`TZ` `local`).
    pub(crate) device_tz: String,
    /// A user prompt is available for UI/Mode 2.
    pub(crate) has_prompt: bool,
    shared: Mutex<Shared>,
}

impl std::fmt::Debug for MoHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoHandler")
            .field("root", &self.cfg.root)
            .finish_non_exhaustive()
    }
}

pub(crate) fn state_code(s: ScheduleState) -> i32 {
    match s {
        ScheduleState::Active => 20,
        ScheduleState::Suspended => 40,
        ScheduleState::Completed => 50,
        ScheduleState::Expired => 60,
        ScheduleState::Failed => 70,
        ScheduleState::Terminated => 80,
    }
}

/// The part of `uri` below the MO root, as segments.
pub(crate) fn rel<'u>(root: &str, uri: &'u Uri) -> Vec<&'u str> {
    let s = uri.as_str();
    let rest = s.strip_prefix(root).unwrap_or("");
    rest.split('/').filter(|x| !x.is_empty()).collect()
}

impl MoHandler {
    pub(crate) fn new(
        cfg: MoConfig,
        limits: Limits,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
        device_tz: String,
        has_prompt: bool,
        staged: BTreeMap<String, MoSched>,
    ) -> MoHandler {
        MoHandler {
            cfg,
            limits,
            clock,
            device_tz,
            has_prompt,
            shared: Mutex::new(Shared {
                mo: staged,
                ..Shared::default()
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MoConfig {
        &self.cfg
    }

    pub(crate) fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn check_cx(&self) -> CheckCx<'_> {
        CheckCx {
            limits: &self.limits,
            has_prompt: self.has_prompt,
        }
    }

    /// Builds and verifies schedule `id` from `nodes`.
    pub(crate) fn build(&self, id: &str, nodes: &Nodes) -> Result<map::Built, TreeError> {
        let cx = BuildCx {
            limits: &self.limits,
            device_tz: &self.device_tz,
            now: (self.clock)(),
        };
        map::build(id, nodes, &cx)
    }

    /// New engine state: node-installed schedules the engine no longer
    /// holds (for their owner) are forgotten.
    pub(crate) fn set_snapshot(&self, infos: Vec<ScheduleInfo>) {
        let mut sh = self.shared();
        sh.snapshot = infos.into_iter().map(|i| (i.id.clone(), i)).collect();
        Self::forget_stale(&mut sh);
    }

    /// New state of some schedules (the others are as they were).
    pub(crate) fn merge_snapshot(&self, infos: Vec<ScheduleInfo>) {
        let mut sh = self.shared();
        for i in infos {
            sh.snapshot.insert(i.id.clone(), i);
        }
        Self::forget_stale(&mut sh);
    }

    /// Claims the engine has settled, and node-installed schedules it no
    /// longer holds (for their owner), are forgotten.
    fn forget_stale(sh: &mut Shared) {
        let Shared {
            claimed, snapshot, ..
        } = sh;
        claimed.retain(|id, _| !snapshot.contains_key(id));
        let stale: Vec<String> = sh
            .mo
            .iter()
            .filter(|(id, m)| {
                m.phase == Phase::Installed
                    && sh.snapshot.get(*id).is_none_or(|i| i.owner != m.owner)
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in stale {
            sh.mo.remove(&id);
            sh.dirty.insert(id);
        }
    }

    pub(crate) fn take_pending(&self) -> Vec<Op> {
        let mut sh = self.shared();
        let ops = std::mem::take(&mut sh.pending);
        // An Add whose submit is now being applied no longer needs its claim.
        sh.claimed.clear();
        ops
    }

    /// The schedules whose MO nodes changed, with their nodes (`None`: gone).
    pub(crate) fn take_dirty(&self) -> Vec<(String, Option<MoSched>)> {
        let mut sh = self.shared();
        let ids = std::mem::take(&mut sh.dirty);
        ids.into_iter()
            .map(|id| {
                let m = sh.mo.get(&id).cloned();
                (id, m)
            })
            .collect()
    }

    /// The schedule ACLs that changed: id → (owner, ACL) (`None`: default).
    pub(crate) fn take_acl_dirty(&self) -> Vec<(String, Option<(String, String)>)> {
        let mut sh = self.shared();
        let ids = std::mem::take(&mut sh.acl_dirty);
        ids.into_iter()
            .map(|id| {
                let g = sh
                    .acls
                    .get(&id)
                    .map(|g| (g.owner.clone(), g.acl.to_string()));
                (id, g)
            })
            .collect()
    }

    /// Puts back ACL changes that could not be written.
    pub(crate) fn redirty_acls(&self, ids: impl IntoIterator<Item = String>) {
        self.shared().acl_dirty.extend(ids);
    }

    /// Loads stored schedule ACLs (at start; unparsable ones are dropped).
    pub(crate) fn load_acls(&self, stored: BTreeMap<String, (String, String)>) {
        let mut sh = self.shared();
        for (id, (owner, text)) in stored {
            match Acl::parse(&text) {
                Ok(acl) => {
                    sh.acls.insert(id, Grant { owner, acl });
                }
                Err(e) => {
                    tracing::warn!(target: "dmsched::mo", schedule = %id, "stored ACL dropped: {e}");
                }
            }
        }
    }

    /// True if the schedule ACLs let `requester` act (`access`) on `owner`'s `id`.
    pub(crate) fn grants(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool {
        let sh = self.shared();
        let cmds: &[AclCmd] = match access {
            Access::Read => &[AclCmd::Get],
            // Deleting a node below a schedule modifies it too.
            Access::Change => &[AclCmd::Replace, AclCmd::Exec, AclCmd::Add, AclCmd::Delete],
            Access::End => &[AclCmd::Delete],
        };
        cmds.iter().any(|c| sh.allows(requester, owner, id, *c))
    }

    /// Puts back changes that could not be written.
    pub(crate) fn redirty(&self, ids: impl IntoIterator<Item = String>) {
        self.shared().dirty.extend(ids);
    }

    pub(crate) fn has_work(&self) -> bool {
        let sh = self.shared();
        !sh.pending.is_empty() || !sh.dirty.is_empty() || !sh.acl_dirty.is_empty()
    }

    /// The sampled tree values: `(schedule, URI, interval in seconds)` of
    /// every `TreeValue` trigger with an `Interval` of an installed, live
    /// schedule.
    pub(crate) fn sampled(&self) -> Vec<(String, String, u64)> {
        let sh = self.shared();
        let mut out = Vec::new();
        for (id, m) in &sh.mo {
            if m.phase != Phase::Installed
                || !sh.snapshot.get(id).is_some_and(|i| i.state.is_live())
            {
                continue;
            }
            for (path, node) in &m.nodes {
                let Some(base) = path.strip_suffix("/TreeValue/Interval") else {
                    continue;
                };
                let secs = node
                    .text()
                    .and_then(|t| crate::tree::parse_int(t).ok())
                    .filter(|v| *v > 0);
                let uri = super::nodes::text_at(&m.nodes, &format!("{base}/TreeValue/URI"));
                if let (Some(secs), Some(uri)) = (secs, uri) {
                    out.push((id.clone(), uri.to_string(), secs as u64));
                }
            }
        }
        out
    }

    /// True if node-installed schedule `id` has a `TreeValue/Interval`.
    pub(crate) fn samples(&self, id: &str) -> bool {
        self.shared()
            .mo
            .get(id)
            .is_some_and(|m| m.nodes.keys().any(|p| p.ends_with("/TreeValue/Interval")))
    }

    /// `Report/Gating` of schedule `id`, if it has one.
    pub(crate) fn gating(&self, id: &str) -> Option<u8> {
        self.shared().mo.get(id).and_then(|m| map::gating(&m.nodes))
    }

    /// True if a state report `what` for `id` passes its Gating.
    pub(crate) fn state_passes(gate: Option<u8>, what: &str) -> bool {
        gate.is_none_or(|g| g & state_gate(what) != 0)
    }

    /// The MO task and trigger of engine task `task` of `owner`'s `id`
    /// (node-installed schedules only).
    pub(crate) fn mo_task(&self, owner: &str, id: &str, task: &str) -> Option<(String, String)> {
        let sh = self.shared();
        let m = sh.mo.get(id).filter(|m| m.owner == owner)?;
        let tm: TaskMap = map::task_map(&m.nodes);
        tm.get(task).cloned()
    }

    /// `settle` applied `op`: `ok` tells whether the engine accepted it.
    /// `keep_staged` (an install the user postponed) leaves it staged.
    pub(crate) fn applied(&self, op: &Op, ok: bool, keep_staged: bool) {
        let mut sh = self.shared();
        match op {
            Op::Submit {
                install: Some(i), ..
            } => {
                if let Some(m) = sh.mo.get_mut(&i.id) {
                    if ok {
                        m.phase = Phase::Installed;
                    } else if m.was_staged || keep_staged {
                        m.phase = Phase::Staged;
                        m.was_staged = true;
                    } else {
                        sh.mo.remove(&i.id);
                    }
                }
                sh.dirty.insert(i.id.clone());
            }
            Op::Submit {
                install: None,
                json,
                ..
            }
            | Op::Modify {
                nodes_before: None,
                json,
                ..
            } if ok => {
                // A JSON document now defines the schedule: its old MO
                // nodes (if any) are stale.
                if let Some(id) = doc_id(json)
                    && sh.mo.remove(&id).is_some()
                {
                    sh.dirty.insert(id);
                }
            }
            Op::Modify {
                nodes_before: Some((id, previous)),
                ..
            } if !ok => {
                match previous {
                    Some(p) => {
                        if let Some(m) = sh.mo.get_mut(id) {
                            m.nodes = p.clone();
                        }
                    }
                    // It was shown from its document before.
                    None => {
                        sh.mo.remove(id);
                    }
                }
                sh.dirty.insert(id.clone());
            }
            _ => {}
        }
    }
}

pub(crate) fn doc_id(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get("id")?.as_str().map(String::from)
}

impl NodeHandler for MoHandler {
    fn get(&self, server: Option<&str>, uri: &Uri) -> Result<Option<PluginNode>, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        match r.as_slice() {
            [] | ["Schedules"] => Ok(Some(PluginNode::Interior { mime: None })),
            ["Schedules", id, rest @ ..] => {
                match sh.check_access(server, id, AclCmd::Get) {
                    Ok(_) => {}
                    Err(e) if e.status() == 404 => return Ok(None),
                    Err(e) => return Err(e),
                }
                super::view::get(&sh, id, rest)
            }
            _ => Ok(None),
        }
    }

    fn children(&self, server: Option<&str>, uri: &Uri) -> Result<Vec<String>, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        Ok(match r.as_slice() {
            [] => vec!["Schedules".into()],
            ["Schedules"] => {
                let sees = |owner: &str, id: &str| {
                    server.is_none_or(|s| sh.allows(s, owner, id, AclCmd::Get))
                };
                let mut ids: BTreeSet<String> = sh
                    .snapshot
                    .values()
                    .filter(|i| sees(&i.owner, &i.id))
                    .map(|i| i.id.clone())
                    .collect();
                ids.extend(
                    sh.mo
                        .iter()
                        .filter(|(id, m)| sees(&m.owner, id))
                        .map(|(id, _)| id.clone()),
                );
                ids.into_iter().collect()
            }
            ["Schedules", id, rest @ ..] => {
                sh.check_access(server, id, AclCmd::Get)?;
                super::view::children(&sh, id, rest)
            }
            _ => Vec::new(),
        })
    }

    fn add(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        self.do_add(server, uri, payload, None)
    }

    fn add_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: &dyn TreeRights,
    ) -> Result<(), TreeError> {
        self.do_add(server, uri, payload, Some(tree))
    }

    fn replace(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        self.do_replace(server, uri, payload, None)
    }

    fn replace_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: &dyn TreeRights,
    ) -> Result<(), TreeError> {
        self.do_replace(server, uri, payload, Some(tree))
    }

    fn delete(&self, server: Option<&str>, uri: &Uri) -> Result<(), TreeError> {
        self.do_delete(server, uri)
    }

    fn exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        _data: Option<&[u8]>,
        _correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        self.do_exec(server, uri, None)
    }

    fn exec_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        _data: Option<&[u8]>,
        _correlator: Option<&str>,
        tree: &dyn TreeRights,
    ) -> Result<ExecResult, TreeError> {
        self.do_exec(server, uri, Some(tree))
    }

    fn acl(&self, server: Option<&str>, uri: &Uri) -> Result<String, TreeError> {
        let sh = self.shared();
        match rel(&self.cfg.root, uri).as_slice() {
            ["Schedules", id] => {
                let owner = sh.check_access(server, id, AclCmd::Get)?;
                Ok(match sh.acls.get(*id).filter(|g| g.owner == owner) {
                    Some(g) => g.acl.to_string(),
                    None => default_acl(&owner),
                })
            }
            // Nodes below a schedule inherit its ACL; the others the root's.
            _ => Ok(String::new()),
        }
    }

    /// Replace of `<S>?prop=ACL`: by a server with Replace on `<S>` (its
    /// owner, or one its ACL lets). Its owner keeps every right whatever
    /// the ACL says.
    fn set_acl(&self, server: Option<&str>, uri: &Uri, acl: &Acl) -> Result<(), TreeError> {
        let mut sh = self.shared();
        match rel(&self.cfg.root, uri).as_slice() {
            ["Schedules", id] => {
                let owner = sh.check_access(server, id, AclCmd::Replace)?;
                let id = id.to_string();
                sh.touch_acl(&id);
                sh.acls.insert(
                    id,
                    Grant {
                        owner,
                        acl: acl.clone(),
                    },
                );
                Ok(())
            }
            _ => Err(status(
                405,
                format!(
                    "ACLs are kept per schedule: Replace {}/Schedules/<S>?prop=ACL",
                    self.cfg.root
                ),
            )),
        }
    }

    fn begin(&self) -> Result<(), TreeError> {
        self.shared().atomic = Some(AtomicLog::default());
        Ok(())
    }

    fn commit(&self) -> Result<(), TreeError> {
        self.do_commit(None)
    }

    fn commit_in(&self, tree: &dyn TreeRights) -> Result<(), TreeError> {
        self.do_commit(Some(tree))
    }

    fn rollback(&self) {
        let mut sh = self.shared();
        if let Some(log) = sh.atomic.take() {
            undo(&mut sh, log);
        }
    }
}

/// Undoes an Atomic's changes to the MO nodes and claims.
pub(crate) fn undo(sh: &mut Shared, log: AtomicLog) {
    for (id, before) in log.undo {
        match before {
            Some(m) => {
                sh.mo.insert(id, m);
            }
            None => {
                sh.mo.remove(&id);
            }
        }
    }
    for id in log.claimed {
        sh.claimed.remove(&id);
    }
    for (id, before) in log.acl_undo {
        match before {
            Some(g) => {
                sh.acls.insert(id, g);
            }
            None => {
                sh.acls.remove(&id);
            }
        }
    }
}
