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
use super::staging::{Key, MoSched, Phase};
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
    pub undo: BTreeMap<Key, Option<MoSched>>,
    /// JSON installs claimed inside it.
    pub claimed: Vec<Key>,
    /// Each schedule ACL changed inside it as it was before.
    pub acl_undo: BTreeMap<Key, Option<Acl>>,
    /// The server of the Atomic's commands (the requester of the
    /// modifications its commit queues).
    pub server: Option<String>,
}

/// The ACL a schedule of `owner` has until one is set: its owner's alone.
pub(crate) fn default_acl(owner: &str) -> String {
    AclCmd::ALL
        .iter()
        .map(|c| format!("{}={owner}", c.as_str()))
        .collect::<Vec<_>>()
        .join("&")
}

/// Every map is keyed by (owner, id): each authority has its own
/// namespace of schedule ids (6.3.1.5).
#[derive(Default)]
pub(crate) struct Shared {
    /// Every schedule the engine has.
    pub snapshot: BTreeMap<Key, ScheduleInfo>,
    /// Node-installed schedules: staged, being installed, installed.
    pub mo: BTreeMap<Key, MoSched>,
    /// Operations to apply.
    pub pending: Vec<Op>,
    /// The open Atomic.
    pub atomic: Option<AtomicLog>,
    /// Ids claimed by a JSON Add not applied yet (so a second Add is 418).
    pub claimed: BTreeSet<Key>,
    /// Schedules whose MO nodes must be written by `settle`.
    pub dirty: BTreeSet<Key>,
    /// Schedule ACLs that were set (`<S>?prop=ACL`, by the owner or a
    /// server its ACL lets Replace `<S>`).
    pub acls: BTreeMap<Key, Acl>,
    /// Schedule ACLs that must be written by `settle`.
    pub acl_dirty: BTreeSet<Key>,
    /// Per server: the reports last handed out for it (at the start of its
    /// latest session), and whether more were waiting — what
    /// `Operations/Resync` lists.
    pub outgoing: BTreeMap<String, (Vec<serde_json::Value>, bool)>,
}

/// The schedule a URI below the MO root names, and the path below it.
pub(crate) struct Target<'u> {
    pub key: Key,
    pub rest: &'u [&'u str],
}

/// The schedule `r` (the segments below the MO root) names for `server`:
/// `Schedules/<S>` is `server`'s own `<S>`; `Servers/<O>/Schedules/<S>`
/// is `<O>`'s. The device (no server) has no namespace of its own: its
/// `Schedules/<S>` is the one schedule named `<S>` if only one authority
/// uses the id (otherwise it names none: use the qualified path).
pub(crate) fn target<'u>(
    sh: &Shared,
    server: Option<&str>,
    r: &'u [&'u str],
) -> Option<Target<'u>> {
    match r {
        ["Schedules", id, rest @ ..] => {
            let owner = match server {
                Some(s) => s.to_string(),
                None => sh.sole_owner(id)?,
            };
            Some(Target {
                key: Key::new(&owner, id),
                rest,
            })
        }
        ["Servers", owner, "Schedules", id, rest @ ..] => Some(Target {
            key: Key::new(owner, id),
            rest,
        }),
        _ => None,
    }
}

impl Shared {
    /// Records that `key`'s MO nodes are about to change (undo inside an
    /// Atomic, persistence outside).
    pub fn touch(&mut self, key: &Key) {
        match self.atomic.as_mut() {
            Some(log) => {
                if !log.undo.contains_key(key) {
                    log.undo.insert(key.clone(), self.mo.get(key).cloned());
                }
            }
            None => {
                self.dirty.insert(key.clone());
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

    /// True if schedule `key` exists, staged or in the engine.
    pub fn exists(&self, key: &Key) -> bool {
        self.mo.contains_key(key) || self.snapshot.contains_key(key)
    }

    /// The one owner of a schedule named `id`, if exactly one authority
    /// has a schedule of that name.
    pub fn sole_owner(&self, id: &str) -> Option<String> {
        let mut owners = self
            .mo
            .keys()
            .chain(self.snapshot.keys())
            .filter(|k| k.id == id)
            .map(|k| k.owner.as_str());
        let first = owners.next()?;
        owners.all(|o| o == first).then(|| first.to_string())
    }

    /// True if `server` may run `cmd` on schedule `key`: its owner always
    /// may; another server if the schedule's ACL grants it.
    pub fn allows(&self, server: &str, key: &Key, cmd: AclCmd) -> bool {
        server == key.owner || self.acls.get(key).is_some_and(|a| a.allows(cmd, server))
    }

    /// Checks `server`'s right to run `cmd` on schedule `key` (the device,
    /// `None`, may do anything). A schedule `server` may not even read
    /// answers exactly as a missing one (404, the same message): another
    /// authority learns nothing of it (6.3.1.5). One it may read but not
    /// run `cmd` on answers 425.
    pub fn check_access(
        &self,
        server: Option<&str>,
        key: &Key,
        cmd: AclCmd,
    ) -> Result<(), TreeError> {
        let missing = || status(404, format!("no schedule {}", key.id));
        if !self.exists(key) {
            return Err(missing());
        }
        match server {
            None => Ok(()),
            Some(s) if self.allows(s, key, cmd) => Ok(()),
            Some(s) if self.allows(s, key, AclCmd::Get) => Err(status(
                425,
                format!(
                    "schedule {} of {} does not let {s} {}",
                    key.id,
                    key.owner,
                    cmd.as_str()
                ),
            )),
            Some(_) => Err(missing()),
        }
    }

    /// Records that `key`'s ACL is about to change.
    pub fn touch_acl(&mut self, key: &Key) {
        let before = self.acls.get(key).cloned();
        match self.atomic.as_mut() {
            Some(log) => {
                log.acl_undo.entry(key.clone()).or_insert(before);
            }
            None => {
                self.acl_dirty.insert(key.clone());
            }
        }
    }

    /// Forgets `key`'s ACL (a new schedule under that id starts with its
    /// owner's alone).
    pub fn reset_acl(&mut self, key: &Key) {
        if self.acls.contains_key(key) {
            self.touch_acl(key);
            self.acls.remove(key);
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
    /// Which servers may use which device events (the engine's setting).
    pub(crate) event_access: crate::engine::EventAccess,
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
        staged: BTreeMap<Key, MoSched>,
        event_access: crate::engine::EventAccess,
    ) -> MoHandler {
        MoHandler {
            cfg,
            limits,
            clock,
            device_tz,
            has_prompt,
            event_access,
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
        sh.snapshot = infos
            .into_iter()
            .map(|i| (Key::new(&i.owner, &i.id), i))
            .collect();
        Self::forget_stale(&mut sh);
    }

    /// New state of some schedules (the others are as they were).
    pub(crate) fn merge_snapshot(&self, infos: Vec<ScheduleInfo>) {
        let mut sh = self.shared();
        for i in infos {
            sh.snapshot.insert(Key::new(&i.owner, &i.id), i);
        }
        Self::forget_stale(&mut sh);
    }

    /// Claims the engine has settled, and node-installed schedules it no
    /// longer holds (for their owner), are forgotten.
    fn forget_stale(sh: &mut Shared) {
        let Shared {
            claimed, snapshot, ..
        } = sh;
        claimed.retain(|k| !snapshot.contains_key(k));
        let stale: Vec<Key> = sh
            .mo
            .iter()
            .filter(|(k, m)| m.phase == Phase::Installed && !sh.snapshot.contains_key(*k))
            .map(|(k, _)| k.clone())
            .collect();
        for k in stale {
            sh.mo.remove(&k);
            sh.dirty.insert(k);
        }
    }

    /// Forgets `owner`'s staged (not installed) schedules.
    pub(crate) fn discard_staged(&self, owner: &str) {
        let mut sh = self.shared();
        let staged: Vec<Key> = sh
            .mo
            .iter()
            .filter(|(k, m)| k.owner == owner && m.phase != Phase::Installed)
            .map(|(k, _)| k.clone())
            .collect();
        for k in staged {
            sh.mo.remove(&k);
            sh.dirty.insert(k);
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
    pub(crate) fn take_dirty(&self) -> Vec<(Key, Option<MoSched>)> {
        let mut sh = self.shared();
        let keys = std::mem::take(&mut sh.dirty);
        keys.into_iter()
            .map(|k| {
                let m = sh.mo.get(&k).cloned();
                (k, m)
            })
            .collect()
    }

    /// The schedule ACLs that changed, as text (`None`: the default).
    pub(crate) fn take_acl_dirty(&self) -> Vec<(Key, Option<String>)> {
        let mut sh = self.shared();
        let keys = std::mem::take(&mut sh.acl_dirty);
        keys.into_iter()
            .map(|k| {
                let a = sh.acls.get(&k).map(|a| a.to_string());
                (k, a)
            })
            .collect()
    }

    /// Puts back ACL changes that could not be written.
    pub(crate) fn redirty_acls(&self, keys: impl IntoIterator<Item = Key>) {
        self.shared().acl_dirty.extend(keys);
    }

    /// Loads stored schedule ACLs (at start; unparsable ones are dropped).
    pub(crate) fn load_acls(&self, stored: BTreeMap<Key, String>) {
        let mut sh = self.shared();
        for (k, text) in stored {
            match Acl::parse(&text) {
                Ok(acl) => {
                    sh.acls.insert(k, acl);
                }
                Err(e) => {
                    tracing::warn!(target: "dmsched::mo", schedule = %k, "stored ACL dropped: {e}");
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
        let key = Key::new(owner, id);
        cmds.iter().any(|c| sh.allows(requester, &key, *c))
    }

    /// Puts back changes that could not be written.
    pub(crate) fn redirty(&self, keys: impl IntoIterator<Item = Key>) {
        self.shared().dirty.extend(keys);
    }

    pub(crate) fn has_work(&self) -> bool {
        let sh = self.shared();
        !sh.pending.is_empty() || !sh.dirty.is_empty() || !sh.acl_dirty.is_empty()
    }

    /// The sampled tree values: `(schedule, URI, interval in seconds)` of
    /// every `TreeValue` trigger with an `Interval` of an installed, live
    /// schedule.
    pub(crate) fn sampled(&self) -> Vec<(Key, String, u64)> {
        let sh = self.shared();
        let mut out = Vec::new();
        for (k, m) in &sh.mo {
            if m.phase != Phase::Installed || !sh.snapshot.get(k).is_some_and(|i| i.state.is_live())
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
                    out.push((k.clone(), uri.to_string(), secs as u64));
                }
            }
        }
        out
    }

    /// True if node-installed schedule `key` has a `TreeValue/Interval`.
    pub(crate) fn samples(&self, key: &Key) -> bool {
        self.shared()
            .mo
            .get(key)
            .is_some_and(|m| m.nodes.keys().any(|p| p.ends_with("/TreeValue/Interval")))
    }

    /// `Report/Gating` of schedule `key`, if it has one.
    pub(crate) fn gating(&self, key: &Key) -> Option<u8> {
        self.shared()
            .mo
            .get(key)
            .and_then(|m| map::gating(&m.nodes))
    }

    /// True if a state report `what` for `id` passes its Gating.
    pub(crate) fn state_passes(gate: Option<u8>, what: &str) -> bool {
        gate.is_none_or(|g| g & state_gate(what) != 0)
    }

    /// The MO task and trigger of engine task `task` of `owner`'s `id`
    /// (node-installed schedules only).
    pub(crate) fn mo_task(&self, owner: &str, id: &str, task: &str) -> Option<(String, String)> {
        let sh = self.shared();
        let m = sh.mo.get(&Key::new(owner, id))?;
        let tm: TaskMap = map::task_map(&m.nodes);
        tm.get(task).cloned()
    }

    /// `settle` applied `op`: `ok` tells whether the engine accepted it.
    /// `keep_staged` (an install the user postponed) leaves it staged.
    pub(crate) fn applied(&self, op: &Op, ok: bool, keep_staged: bool) {
        let mut sh = self.shared();
        match op {
            Op::Submit {
                owner,
                install: Some(i),
                ..
            } => {
                let key = Key::new(owner, &i.id);
                if let Some(m) = sh.mo.get_mut(&key) {
                    if ok {
                        m.phase = Phase::Installed;
                    } else if m.was_staged || keep_staged {
                        m.phase = Phase::Staged;
                        m.was_staged = true;
                    } else {
                        sh.mo.remove(&key);
                    }
                }
                sh.dirty.insert(key);
            }
            Op::Submit {
                owner,
                install: None,
                json,
            }
            | Op::Modify {
                owner,
                nodes_before: None,
                json,
                ..
            } if ok => {
                // A JSON document now defines the schedule: its old MO
                // nodes (if any) are stale.
                if let Some(id) = doc_id(json) {
                    let key = Key::new(owner, &id);
                    if sh.mo.remove(&key).is_some() {
                        sh.dirty.insert(key);
                    }
                }
            }
            Op::Modify {
                owner,
                nodes_before: Some((id, previous)),
                ..
            } if !ok => {
                let key = Key::new(owner, id);
                match previous {
                    Some(p) => {
                        if let Some(m) = sh.mo.get_mut(&key) {
                            m.nodes = p.clone();
                        }
                    }
                    // It was shown from its document before.
                    None => {
                        sh.mo.remove(&key);
                    }
                }
                sh.dirty.insert(key);
            }
            _ => {}
        }
    }
}

pub(crate) fn doc_id(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.get("id")?.as_str().map(String::from)
}

impl Shared {
    /// Every schedule (staged or in the engine) `server` may read (the
    /// device: all).
    fn visible<'a>(&'a self, server: Option<&'a str>) -> impl Iterator<Item = &'a Key> + 'a {
        let mut keys: BTreeSet<&Key> = self.snapshot.keys().collect();
        keys.extend(self.mo.keys());
        keys.into_iter()
            .filter(move |k| server.is_none_or(|s| self.allows(s, k, AclCmd::Get)))
    }
}

impl MoHandler {
    /// `Capabilities`: what this device can run, read-only, from the very
    /// values the validator checks against (5.6.1.3, 6.3.1.42), so a
    /// server can learn them before it sends a schedule.
    pub(crate) fn capabilities(&self) -> Vec<(&'static str, PluginNode)> {
        let l = &self.limits;
        let int = |v: u64| PluginNode::int(i32::try_from(v).unwrap_or(i32::MAX));
        let size = |v: usize| int(u64::try_from(v).unwrap_or(u64::MAX));
        let list = |v: &[&str]| PluginNode::chr(&v.join(","));
        let events: Vec<&str> = crate::model::events::EVENTS
            .iter()
            .map(|e| e.name)
            .collect();
        let parts: Vec<&str> = crate::when::RRULE_PARTS
            .iter()
            .copied()
            .filter(|p| *p != "BYWEEKNO")
            .collect();
        let ui: &[&str] = if self.has_prompt {
            &["0", "1", "2", "3"]
        } else {
            &["0", "1", "3"]
        };
        vec![
            ("MaxSchedulesPerServer", size(l.max_schedules_per_owner)),
            ("MinIntervalSeconds", int(l.min_interval_seconds.max(1))),
            ("MaxTasks", size(l.max_tasks)),
            ("MaxActions", size(l.max_actions)),
            ("MaxActionDepth", size(l.max_action_depth)),
            ("MaxDocumentBytes", size(l.max_document_bytes)),
            ("MaxDataBytes", size(l.max_data_bytes)),
            ("MaxExprBytes", size(l.max_expr_len)),
            ("MaxExprDepth", size(l.max_expr_depth)),
            ("MaxWindows", size(l.max_windows)),
            ("MaxJitterSeconds", int(u64::from(l.max_jitter_seconds))),
            ("MaxRetries", int(u64::from(l.max_retries))),
            ("MaxDwellSeconds", int(crate::engine::MAX_DWELL_SECONDS)),
            ("Triggers", list(&crate::model::TRIGGER_KINDS)),
            ("RRuleParts", list(&parts)),
            ("Events", list(&events)),
            ("ExprFunctions", list(&["changed", "exists"])),
            (
                "Commands",
                list(&[
                    "Add", "Replace", "Delete", "Get", "Exec", "Copy", "Alert", "Atomic",
                    "Sequence",
                ]),
            ),
            ("ReportDelivery", list(&["next_session", "immediate"])),
            ("UIModes", list(ui)),
            ("Personalize", list(&crate::model::PARAM_KINDS)),
            (
                "MaxPersonalDelaySeconds",
                int(crate::model::MAX_PERSONAL_DELAY_SECONDS),
            ),
        ]
    }

    /// Capabilities are the device's, and `Operations` are executed: no
    /// server writes them.
    fn refuse_capability_write(&self, uri: &Uri) -> Result<(), TreeError> {
        match rel(&self.cfg.root, uri).first() {
            Some(&"Capabilities") => Err(status(
                405,
                format!(
                    "{} describes this device and cannot be changed",
                    uri.as_str()
                ),
            )),
            Some(&"Operations") => Err(status(
                405,
                format!("{} is executed, not written", uri.as_str()),
            )),
            _ => Ok(()),
        }
    }

    /// `Operations/Resync` (B10): everything the device holds for
    /// `server`, for a server that lost its state: each of its schedules
    /// (state, reason, document, each task's diagnostics and run history),
    /// the node-installed ones still staged, and the reports waiting for it
    /// — which reached it as Generic Alerts at the start of this session
    /// and are sent again until acknowledged — by ReportID. JSON, a page of
    /// schedules at a time: the Exec's data may be `{"after": ID, "max":
    /// N}` (default 50, at most 1000); `next` names the last schedule when
    /// more follow. See `docs/scheduling-mo.md`, "Resync".
    fn resync(&self, server: Option<&str>, data: Option<&[u8]>) -> Result<ExecResult, TreeError> {
        const PAGE: usize = 50;
        const MAX_PAGE: usize = 1000;
        let requester = server.ok_or_else(|| status(405, "Resync is a server's"))?;
        let ask: serde_json::Value = match data.map(<[u8]>::trim_ascii) {
            None | Some(b"") => serde_json::Value::Null,
            Some(d) => serde_json::from_slice(d).map_err(|e| {
                status(
                    400,
                    format!("Resync's data is {{\"after\": ID, \"max\": N}} or nothing: {e}"),
                )
            })?,
        };
        let after = ask.get("after").and_then(serde_json::Value::as_str);
        let max = match ask.get("max") {
            None => PAGE,
            Some(v) => v
                .as_u64()
                .filter(|n| (1..=MAX_PAGE as u64).contains(n))
                .map(|n| n as usize)
                .ok_or_else(|| status(400, format!("Resync's max is 1 to {MAX_PAGE}")))?,
        };
        let sh = self.shared();
        let mine: Vec<(&Key, &ScheduleInfo)> = sh
            .snapshot
            .iter()
            .filter(|(k, _)| k.owner == requester)
            .filter(|(k, _)| after.is_none_or(|a| k.id.as_str() > a))
            .collect();
        let mut schedules = Vec::new();
        for (k, info) in mine.iter().take(max) {
            let mut v = serde_json::to_value(info)
                .map_err(|e| TreeError::with_status(500, e.to_string()))?;
            v["state_code"] = state_code(info.state).into();
            v["uri"] = format!("{}/Schedules/{}", self.cfg.root, k.id).into();
            schedules.push(v);
        }
        let next = (mine.len() > max).then(|| mine[max - 1].0.id.clone());
        let first = after.is_none();
        let staged: Vec<serde_json::Value> = sh
            .mo
            .iter()
            .filter(|_| first)
            .filter(|(k, m)| k.owner == requester && m.phase != super::staging::Phase::Installed)
            .filter(|(k, _)| !sh.snapshot.contains_key(*k))
            .map(|(k, _)| {
                serde_json::json!({
                    "id": k.id,
                    "state_code": 10,
                    "uri": format!("{}/Schedules/{}", self.cfg.root, k.id),
                })
            })
            .collect();
        let (reports, more) = match first {
            true => sh.outgoing.get(requester).cloned().unwrap_or_default(),
            false => Default::default(),
        };
        let answer = serde_json::json!({
            "server": requester,
            "schedules": schedules,
            "next": next,
            "staged": staged,
            "reports": reports,
            "more_reports": more,
        });
        Ok(ExecResult {
            status: 200,
            data: Some(answer.to_string().into_bytes()),
        })
    }
}

impl NodeHandler for MoHandler {
    fn get(&self, server: Option<&str>, uri: &Uri) -> Result<Option<PluginNode>, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        let interior = Ok(Some(PluginNode::Interior { mime: None }));
        match r.as_slice() {
            [] | ["Schedules"] | ["Servers"] | ["Capabilities"] | ["Operations"] => interior,
            ["Operations", "Resync"] => Ok(Some(PluginNode::Leaf {
                format: crate::tree::Format::Null,
                mime: None,
                data: Vec::new(),
            })),
            ["Capabilities", leaf] => Ok(self
                .capabilities()
                .into_iter()
                .find(|(n, _)| n == leaf)
                .map(|(_, v)| v)),
            ["Servers", owner] | ["Servers", owner, "Schedules"] => {
                if sh.visible(server).any(|k| k.owner == *owner) {
                    interior
                } else {
                    Ok(None)
                }
            }
            _ => {
                let Some(t) = target(&sh, server, &r) else {
                    return Ok(None);
                };
                match sh.check_access(server, &t.key, AclCmd::Get) {
                    Ok(()) => {}
                    Err(e) if e.status() == 404 => return Ok(None),
                    Err(e) => return Err(e),
                }
                super::view::get(&sh, &t.key, t.rest)
            }
        }
    }

    fn children(&self, server: Option<&str>, uri: &Uri) -> Result<Vec<String>, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        Ok(match r.as_slice() {
            [] => vec![
                "Capabilities".into(),
                "Operations".into(),
                "Schedules".into(),
                "Servers".into(),
            ],
            ["Operations"] => vec!["Resync".into()],
            ["Capabilities"] => self
                .capabilities()
                .into_iter()
                .map(|(n, _)| n.to_string())
                .collect(),
            // A server's own; the device's: the ids only one authority uses.
            ["Schedules"] => {
                let ids: BTreeSet<&str> = match server {
                    Some(s) => sh
                        .visible(server)
                        .filter(|k| k.owner == s)
                        .map(|k| k.id.as_str())
                        .collect(),
                    None => sh
                        .visible(None)
                        .filter(|k| sh.sole_owner(&k.id).is_some())
                        .map(|k| k.id.as_str())
                        .collect(),
                };
                ids.into_iter().map(String::from).collect()
            }
            ["Servers"] => {
                let owners: BTreeSet<&str> = sh.visible(server).map(|k| k.owner.as_str()).collect();
                owners.into_iter().map(String::from).collect()
            }
            ["Servers", owner] => {
                if sh.visible(server).any(|k| k.owner == *owner) {
                    vec!["Schedules".into()]
                } else {
                    Vec::new()
                }
            }
            ["Servers", owner, "Schedules"] => sh
                .visible(server)
                .filter(|k| k.owner == *owner)
                .map(|k| k.id.clone())
                .collect(),
            _ => match target(&sh, server, &r) {
                Some(t) => {
                    sh.check_access(server, &t.key, AclCmd::Get)?;
                    super::view::children(&sh, &t.key, t.rest)
                }
                None => Vec::new(),
            },
        })
    }

    fn add(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        self.refuse_capability_write(uri)?;
        self.do_add(server, uri, payload, None)
    }

    fn add_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: &dyn TreeRights,
    ) -> Result<(), TreeError> {
        self.refuse_capability_write(uri)?;
        self.do_add(server, uri, payload, Some(tree))
    }

    fn replace(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        self.refuse_capability_write(uri)?;
        self.do_replace(server, uri, payload, None)
    }

    fn replace_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: &dyn TreeRights,
    ) -> Result<(), TreeError> {
        self.refuse_capability_write(uri)?;
        self.do_replace(server, uri, payload, Some(tree))
    }

    fn delete(&self, server: Option<&str>, uri: &Uri) -> Result<(), TreeError> {
        self.refuse_capability_write(uri)?;
        self.do_delete(server, uri)
    }

    fn exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        data: Option<&[u8]>,
        _correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        if rel(&self.cfg.root, uri) == ["Operations", "Resync"] {
            return self.resync(server, data);
        }
        self.refuse_capability_write(uri)?;
        self.do_exec(server, uri, None)
    }

    fn exec_in(
        &self,
        server: Option<&str>,
        uri: &Uri,
        data: Option<&[u8]>,
        _correlator: Option<&str>,
        tree: &dyn TreeRights,
    ) -> Result<ExecResult, TreeError> {
        if rel(&self.cfg.root, uri) == ["Operations", "Resync"] {
            return self.resync(server, data);
        }
        self.refuse_capability_write(uri)?;
        self.do_exec(server, uri, Some(tree))
    }

    fn acl(&self, server: Option<&str>, uri: &Uri) -> Result<String, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        match target(&sh, server, &r) {
            Some(t) if t.rest.is_empty() => {
                sh.check_access(server, &t.key, AclCmd::Get)?;
                Ok(match sh.acls.get(&t.key) {
                    Some(a) => a.to_string(),
                    None => default_acl(&t.key.owner),
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
        let r = rel(&self.cfg.root, uri);
        match target(&sh, server, &r) {
            Some(t) if t.rest.is_empty() => {
                sh.check_access(server, &t.key, AclCmd::Replace)?;
                sh.touch_acl(&t.key);
                sh.acls.insert(t.key, acl.clone());
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
    for (k, before) in log.undo {
        match before {
            Some(m) => {
                sh.mo.insert(k, m);
            }
            None => {
                sh.mo.remove(&k);
            }
        }
    }
    for k in log.claimed {
        sh.claimed.remove(&k);
    }
    for (k, before) in log.acl_undo {
        match before {
            Some(a) => {
                sh.acls.insert(k, a);
            }
            None => {
                sh.acls.remove(&k);
            }
        }
    }
}
