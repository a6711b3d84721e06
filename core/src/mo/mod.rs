//! The Scheduling MO: DM commands on `./Scheduling` (configurable) turned
//! into engine operations, and the engine's state and reports turned back
//! into DM nodes and Generic Alerts. The full description, with every node,
//! format, status and the mapping to the engine model, is
//! `docs/scheduling-mo.md`; the DDF is `docs/scheduling-mo.ddf.xml`.
//!
//! ```text
//! <root>/Schedules/<S>                          a schedule; <S> is its id
//!   ServerID, State, Document                   Get (Document: the JSON form; Replace = modify)
//!   Name, Description, TZ, Valid/{From,To}, UI/{Mode,Text}, Report/Gating
//!   Tasks/<T>/Cmds                              xml: a SyncBody fragment of DM commands
//!   Tasks/<T>/{Constraints,Policy,Termination}  JSON objects of docs/schedule-format.md
//!   Tasks/<T>/Triggers/<G>/Time/{Base,RRule,TZ}
//!   Tasks/<T>/Triggers/<G>/Event/{ID,Filter}
//!   Tasks/<T>/Triggers/<G>/TreeValue/{URI,Op,Value,Interval}, .../Condition
//!   Tasks/<T>/{LastRun,LastResult,LastOutcome,NextRun,Runs,Waiting}   Get: diagnostics
//!   Operations/{Activate,Suspend}               Exec
//! <root>/Servers/<ServerID>/Schedules/<S>       the same schedule, named with its owner
//! ```
//!
//! Each authority has its own namespace (6.3.1.5): `Schedules/<S>` is the
//! requesting server's own `<S>`; another server reaches a schedule only
//! by the `Servers/<ServerID>` path and only as far as its ACL grants; one
//! it may not Get answers exactly as a missing one.
//!
//! Install: Add `<S>` node by node inside an Atomic (verified as a whole
//! at the Atomic's commit), or node by node outside one (staged, State 10,
//! installed by Exec `Operations/Activate`), or as one TNDS object, or as
//! a JSON document (Meta Type `application/json`). Terminate: Delete `<S>`.
//!
//! ```text
//! mod       Scheduling, settle (applies queued engine operations)
//! handler   the tree plug-in, its shared state
//! install   Add / Replace / Delete / Exec, TNDS installs, the Atomic commit
//! edit      Add/Replace/Delete of one node       nodes  the node table
//! check     node-level value checks
//! map       MO nodes <-> the engine's model      cmds   Cmds <-> actions
//! view      Gets                                 tnds   TNDS objects
//! staging   node-installed schedules in SQLite   report Generic Alert contents
//! ```
//!
//! Locks: the tree calls the MO's [`MoHandler`] under the tree's lock, and
//! the engine, when it runs actions, calls the tree under the engine's lock.
//! So the handler never touches the engine: it verifies requests (the
//! document check is pure), answers reads from a snapshot of the engine's
//! state, and queues engine operations, which [`Scheduling::settle`] applies
//! after the DM command (or the Atomic) has finished, outside the tree lock.
//! `settle` also writes the staged MO nodes and asks the user before an
//! install with `UI/Mode` 2 (through the [`UserPrompt`] given to
//! [`SchedulingBuilder::prompt`], on the thread that calls `settle`; the
//! prompt must not call back into the MO, the tree or the engine).

mod check;
mod cmds;
mod edit;
mod handler;
mod install;
mod map;
mod nodes;
mod report;
mod rights;
mod staging;
pub(crate) mod tnds;
mod view;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;

pub use handler::MoHandler;
pub use report::{MoReport, report_of};

use crate::engine::{Engine, EngineError, ScheduleInfo, ScheduleState};
use crate::host::{Access, Authorizer, PromptAnswer, RunContext, UserPrompt};
use crate::model::Firing;
use crate::store::StoreError;
use crate::tree::{Acl, Tree, TreeError};
use nodes::Nodes;
use report::{eviction_report, gate_of, report_mapped, state_report};
use staging::{Key, Staging};

/// Where the MO lives and how it names itself (keep these configurable so
/// that a deployment can match its server's expectations). As JSON (the C
/// agent's `config_json.mo`): any of the names, the others by default.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MoConfig {
    /// The MO root, `./Scheduling` by default.
    pub root: String,
    /// The MO identifier (DDF type of the root).
    pub mo_type: String,
    /// Meta Type of result reports (Generic Alert 1226).
    pub report_type: String,
    /// Meta Type of state reports (installed, rejected, terminated).
    pub state_type: String,
    /// ACL of the root: which servers may use the MO at all. Each schedule
    /// is then its owner's alone unless the engine's authorizer says more.
    pub root_acl: String,
}

impl Default for MoConfig {
    fn default() -> MoConfig {
        MoConfig {
            root: "./Scheduling".into(),
            mo_type: "org.dmsched/1.0/Scheduling".into(),
            report_type: "org.dmsched.scheduling.result".into(),
            state_type: "org.dmsched.scheduling.state".into(),
            root_acl: "Add=*&Delete=*&Exec=*&Get=*&Replace=*".into(),
        }
    }
}

/// An install from MO nodes: which schedule, and the prompt title when
/// the user must confirm it first (`UI/Mode` 2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Install {
    pub id: String,
    pub confirm: Option<String>,
    /// The title to show after the install when `UI/Mode` is 1 (inform).
    pub inform: Option<String>,
}

/// An engine operation a DM command asked for, applied by [`Scheduling::settle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Submit {
        owner: String,
        json: String,
        /// Built from MO nodes (node by node or TNDS); `None`: a JSON document.
        install: Option<Install>,
    },
    Modify {
        requester: String,
        owner: String,
        json: String,
        /// A change of MO nodes: the schedule and its nodes before (put
        /// back if the engine refuses); `None`: a new JSON document.
        nodes_before: Option<(String, Option<Nodes>)>,
    },
    Suspend {
        requester: String,
        owner: String,
        id: String,
    },
    Resume {
        requester: String,
        owner: String,
        id: String,
    },
    Terminate {
        requester: String,
        owner: String,
        id: String,
    },
}

impl Op {
    fn target(&self) -> (String, String) {
        match self {
            Op::Submit { owner, json, .. } | Op::Modify { owner, json, .. } => {
                (owner.clone(), handler::doc_id(json).unwrap_or_default())
            }
            Op::Suspend { owner, id, .. }
            | Op::Resume { owner, id, .. }
            | Op::Terminate { owner, id, .. } => (owner.clone(), id.clone()),
        }
    }
}

/// The engine's authorizer under the MO: a schedule's ACL
/// (`<S>?prop=ACL`) grants other servers access to it (Get → read; Replace,
/// Exec, Add or Delete → change, since the MO has already checked the exact
/// command; Delete → end); otherwise the host's authorizer, if any, decides.
struct MoAuthorizer {
    handler: Arc<MoHandler>,
    fallback: Option<Arc<dyn Authorizer>>,
}

impl Authorizer for MoAuthorizer {
    fn authorize(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool {
        self.handler.grants(requester, owner, id, access)
            || self
                .fallback
                .as_ref()
                .is_some_and(|f| f.authorize(requester, owner, id, access))
    }
}

/// The Scheduling MO bound to an engine.
pub struct Scheduling {
    engine: Mutex<Engine>,
    handler: Arc<MoHandler>,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    staging: Staging,
    prompt: Option<Arc<dyn UserPrompt>>,
    /// Schedules last seen live (mirrors `mo_live`).
    live: Mutex<BTreeSet<Key>>,
    /// Sampled tree values: (schedule, URI) → (last sample, interval s).
    sampled: Mutex<BTreeMap<(Key, String), (Timestamp, u64)>>,
    /// The `TreeValue/Interval` triggers, as of the last refresh.
    wanted: Mutex<Vec<(Key, String, u64)>>,
    /// Occurrences that finished inside a DM session (a command's write
    /// woke a condition, a modification settled what was due): handed to
    /// the host with the next [`Scheduling::tick`].
    held: Mutex<Vec<Firing>>,
}

fn add_secs(t: Timestamp, secs: u64) -> Timestamp {
    t.checked_add(jiff::SignedDuration::from_secs(
        i64::try_from(secs).unwrap_or(i64::MAX / 4),
    ))
    .unwrap_or(Timestamp::MAX)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl std::fmt::Debug for Scheduling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduling").finish_non_exhaustive()
    }
}

/// Builds a [`Scheduling`] with the optional parts: the store file (for
/// staged node-by-node installs that survive a restart) and a user prompt
/// (for `UI/Mode` 2, confirm before install).
pub struct SchedulingBuilder {
    engine: Engine,
    config: MoConfig,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    store_file: Option<PathBuf>,
    prompt: Option<Arc<dyn UserPrompt>>,
}

impl std::fmt::Debug for SchedulingBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchedulingBuilder")
            .field("store_file", &self.store_file)
            .field("prompt", &self.prompt.is_some())
            .finish_non_exhaustive()
    }
}

impl SchedulingBuilder {
    /// Keeps the MO nodes of node-installed schedules (staged and
    /// installed) in the SQLite file at `path` (normally the store's and
    /// tree's file), in the MO's own tables. Without it they live in memory
    /// only: a staged schedule is lost on restart, and an installed one is
    /// then shown from its document.
    pub fn store_file(mut self, path: impl Into<PathBuf>) -> SchedulingBuilder {
        self.store_file = Some(path.into());
        self
    }

    /// Asks `prompt` before installing a schedule whose `UI/Mode` is 2.
    /// Without one, `UI/Mode` 2 is refused with 406. (Confirmation before
    /// each run, `UI/Mode` 3, uses the engine host's prompt.)
    pub fn prompt(mut self, prompt: Arc<dyn UserPrompt>) -> SchedulingBuilder {
        self.prompt = Some(prompt);
        self
    }

    /// Binds the engine to the MO.
    pub fn build(self) -> Result<Arc<Scheduling>, EngineError> {
        let staging = match &self.store_file {
            Some(p) => {
                Staging::open(p).map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))?
            }
            None => Staging::memory(),
        };
        let staged = staging
            .load()
            .map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))?;
        let acls = staging
            .load_acls()
            .map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))?;
        let live = staging
            .live()
            .map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))?;
        let mut engine = self.engine;
        let limits = engine.config().limits.clone();
        let device_tz = engine.config().time_zone.clone();
        let event_access = engine.config().event_access.clone();
        let handler = Arc::new(MoHandler::new(
            self.config,
            limits,
            self.clock.clone(),
            device_tz,
            self.prompt.is_some(),
            staged,
            event_access,
        ));
        handler.load_acls(acls);
        let fallback = engine.set_authorizer(None);
        engine.set_authorizer(Some(Arc::new(MoAuthorizer {
            handler: handler.clone(),
            fallback,
        })));
        let s = Arc::new(Scheduling {
            engine: Mutex::new(engine),
            handler,
            clock: self.clock,
            staging,
            prompt: self.prompt,
            live: Mutex::new(live),
            sampled: Mutex::new(BTreeMap::new()),
            wanted: Mutex::new(Vec::new()),
            held: Mutex::new(Vec::new()),
        });
        s.refresh_all()?;
        s.flush();
        Ok(s)
    }
}

impl Scheduling {
    /// Binds `engine` to the MO (no store file, no prompt: see
    /// [`Scheduling::builder`]).
    pub fn new(
        engine: Engine,
        config: MoConfig,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    ) -> Result<Arc<Scheduling>, EngineError> {
        Scheduling::builder(engine, config, clock).build()
    }

    /// A builder for an MO with a store file and/or a user prompt.
    pub fn builder(
        engine: Engine,
        config: MoConfig,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    ) -> SchedulingBuilder {
        SchedulingBuilder {
            engine,
            config,
            clock,
            store_file: None,
            prompt: None,
        }
    }

    /// Registers the MO in `tree` at its root.
    pub fn register(&self, tree: &Tree) -> Result<(), TreeError> {
        let acl = Acl::parse(&self.handler.config().root_acl)?;
        tree.register_handler(
            &self.handler.config().root,
            self.handler.clone(),
            Some(&acl),
            (self.clock)(),
        )
    }

    /// The tree plug-in.
    pub fn handler(&self) -> &Arc<MoHandler> {
        &self.handler
    }

    /// The engine (for ticks, events and tree changes). Do not hold it
    /// across a DM command: the MO's operations wait for it.
    pub fn engine(&self) -> MutexGuard<'_, Engine> {
        self.engine.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the changed MO nodes (staging) and schedule ACLs to the
    /// store file.
    fn flush(&self) {
        let changes = self.handler.take_dirty();
        if let Err(e) = self.staging.save(&changes) {
            tracing::error!(target: "dmsched::mo", "writing the MO nodes failed: {e}");
            self.handler.redirty(changes.into_iter().map(|(id, _)| id));
        }
        let acls = self.handler.take_acl_dirty();
        if let Err(e) = self.staging.save_acls(&acls) {
            tracing::error!(target: "dmsched::mo", "writing the schedule ACLs failed: {e}");
            self.handler
                .redirty_acls(acls.into_iter().map(|(id, _)| id));
        }
    }

    /// Asks the user whether to install `id` (`UI/Mode` 2).
    fn confirm_install(&self, owner: &str, id: &str, title: &str) -> Result<PromptAnswer, String> {
        let Some(p) = &self.prompt else {
            return Err("confirmation required but there is no user prompt".into());
        };
        p.confirm(&self.prompt_context(owner, id), title)
            .map_err(|e| e.0)
    }

    /// The context shown with an install-time prompt.
    fn prompt_context(&self, owner: &str, id: &str) -> RunContext {
        RunContext::for_schedule(owner, id, (self.clock)())
    }

    /// Applies the engine operations queued by DM commands (asking the
    /// user first where `UI/Mode` 2 says so), writes the MO nodes that
    /// changed, then refreshes what the MO shows. Returns the state reports
    /// they produced that `Report/Gating` lets through (an operation that
    /// failed in the engine after its command was answered is reported
    /// this way). The DM client calls it after every command, before the
    /// command's Status is sent.
    pub fn settle(&self) -> Vec<MoReport> {
        if !self.handler.has_work() {
            return Vec::new();
        }
        let ops = self.handler.take_pending();
        let now = (self.clock)();
        let cfg = self.handler.config();
        let mut out = Vec::new();
        let report = |out: &mut Vec<MoReport>,
                      owner: &str,
                      id: &str,
                      what: &str,
                      reason: Option<&str>,
                      gate: Option<u8>| {
            if MoHandler::state_passes(gate, what) {
                out.push(state_report(cfg, owner, id, what, reason, now));
            }
        };
        for op in ops {
            let (owner, id) = op.target();
            let gate = self.handler.gating(&Key::new(&owner, &id));
            if let Op::Submit {
                install:
                    Some(Install {
                        confirm: Some(title),
                        ..
                    }),
                ..
            } = &op
            {
                let (why, keep) = match self.confirm_install(&owner, &id, title) {
                    Ok(PromptAnswer::Accept) => (None, false),
                    Ok(PromptAnswer::Refuse) => (Some("rejected by the user".to_string()), false),
                    Ok(PromptAnswer::Postpone(_)) => {
                        (Some("postponed by the user".to_string()), true)
                    }
                    Err(e) => (Some(e), false),
                };
                if let Some(why) = why {
                    tracing::info!(target: "dmsched::mo", %owner, %id, "install not confirmed: {why}");
                    self.handler.applied(&op, false, keep);
                    let what = if keep { "postponed" } else { "rejected" };
                    report(&mut out, &owner, &id, what, Some(&why), gate);
                    continue;
                }
            }
            let r = {
                let mut e = self.engine();
                match &op {
                    Op::Submit { owner, json, .. } => {
                        e.submit(owner, json, now).map(|i| (i, "installed"))
                    }
                    Op::Modify {
                        requester,
                        owner,
                        json,
                        ..
                    } => e
                        .modify(requester, owner, json, now)
                        .map(|i| (i, "modified")),
                    Op::Suspend {
                        requester,
                        owner,
                        id,
                    } => e
                        .suspend(requester, owner, id, now)
                        .map(|i| (i, "suspended")),
                    Op::Resume {
                        requester,
                        owner,
                        id,
                    } => e
                        .resume(requester, owner, id, now)
                        .map(|i| (i, "activated")),
                    Op::Terminate {
                        requester,
                        owner,
                        id,
                    } => e
                        .terminate(requester, owner, id, now)
                        .map(|i| (i, "terminated")),
                }
            };
            match r {
                Ok((info, what)) => {
                    tracing::info!(target: "dmsched::mo", %owner, id = %info.id, what, "schedule {what}");
                    if let Op::Submit {
                        install:
                            Some(Install {
                                inform: Some(title),
                                ..
                            }),
                        ..
                    } = &op
                        && let Some(p) = &self.prompt
                    {
                        p.inform(&self.prompt_context(&owner, &info.id), title);
                    }
                    self.handler.applied(&op, true, false);
                    let gate = self.handler.gating(&Key::new(&owner, &info.id)).or(gate);
                    report(&mut out, &owner, &info.id, what, None, gate);
                    // The user's choices in force after an install or a
                    // modify (personalisation), told to the owner.
                    if let Some(p) = info.document.personalize.as_deref()
                        && !p.choices.is_empty()
                        && matches!(what, "installed" | "modified")
                        && MoHandler::state_passes(gate, "personalized")
                    {
                        out.push(report::personalized_report(cfg, &owner, &info.id, p, now));
                    }
                }
                Err(err) => {
                    tracing::warn!(target: "dmsched::mo", %owner, %id, "operation failed in the engine: {err}");
                    self.handler.applied(&op, false, false);
                    report(
                        &mut out,
                        &owner,
                        &id,
                        "rejected",
                        Some(&err.to_string()),
                        gate,
                    );
                }
            }
        }
        if let Err(e) = self.refresh() {
            tracing::error!(target: "dmsched::mo", "refreshing the MO snapshot failed: {e}");
        }
        self.flush();
        out
    }

    /// Refreshes the snapshot the MO answers Gets from, and queues a state
    /// report for every schedule that ended by itself since it was last
    /// seen live (completed, expired, failed).
    ///
    /// Only the schedules the engine wrote since the last refresh are read
    /// again ([`Engine::take_changed`]), so a refresh after a tick costs
    /// what the tick touched, not every schedule on the device.
    pub fn refresh(&self) -> Result<(), EngineError> {
        let infos: Vec<ScheduleInfo> = self.engine().take_changed()?;
        if infos.is_empty() {
            return Ok(());
        }
        self.note_ends(&infos, false);
        // Only a schedule that samples tree values (new, changed or now
        // ended) changes what is sampled.
        let resample = infos
            .iter()
            .any(|i| self.handler.samples(&Key::new(&i.owner, &i.id)));
        self.handler.merge_snapshot(infos);
        if resample {
            *lock(&self.wanted) = self.handler.sampled();
        }
        Ok(())
    }

    /// Reads every schedule (at start).
    fn refresh_all(&self) -> Result<(), EngineError> {
        let infos: Vec<ScheduleInfo> = {
            let mut e = self.engine();
            // From here on the engine records what it writes, for `refresh`.
            e.take_changed()?;
            e.list_all()?
        };
        self.note_ends(&infos, true);
        self.handler.set_snapshot(infos);
        *lock(&self.wanted) = self.handler.sampled();
        Ok(())
    }

    /// Records which schedules are live, and reports those that ended by
    /// themselves (an end by an operation was reported by `settle`). The
    /// live set and the reports are stored in one transaction, so an end
    /// is reported once, also across a crash.
    /// `all`: `infos` is every schedule (one missing is gone).
    fn note_ends(&self, infos: &[ScheduleInfo], all: bool) {
        let mut live = lock(&self.live);
        let mut add = Vec::new();
        let mut gone = Vec::new();
        let mut reports = Vec::new();
        for i in infos {
            let key = Key::new(&i.owner, &i.id);
            let was = live.contains(&key);
            if i.state.is_live() {
                if !was {
                    add.push(key);
                }
                continue;
            }
            if !was {
                continue;
            }
            gone.push(key.clone());
            let what = match i.state {
                ScheduleState::Completed => "completed",
                ScheduleState::Expired => "expired",
                ScheduleState::Failed => "failed",
                _ => continue,
            };
            if MoHandler::state_passes(self.handler.gating(&key), what) {
                let r = state_report(
                    self.handler.config(),
                    &i.owner,
                    &i.id,
                    what,
                    i.reason.as_deref(),
                    (self.clock)(),
                );
                reports.push((r.owner, r.source, r.type_, r.mark, r.data));
            }
        }
        if all {
            for k in live.iter() {
                if !infos.iter().any(|i| i.id == k.id && i.owner == k.owner) {
                    gone.push(k.clone());
                }
            }
        }
        if add.is_empty() && gone.is_empty() {
            return;
        }
        match self.staging.record(&add, &gone, &reports) {
            Ok(()) => {
                for k in &gone {
                    live.remove(k);
                }
                live.extend(add);
            }
            Err(e) => {
                tracing::error!(target: "dmsched::mo", "recording schedule ends failed (retried at the next refresh): {e}");
            }
        }
    }

    /// Runs what is due (`Engine::tick`), samples the tree values whose
    /// `TreeValue/Interval` has come round (the engine re-reads them as if
    /// they had changed, so a value a plug-in computes without telling
    /// anyone still crosses its threshold), and refreshes the snapshot
    /// (also when nothing fired: a schedule may have expired).
    pub fn tick(&self, now: Timestamp) -> Result<Vec<Firing>, EngineError> {
        let (quiet, mut f) = {
            let mut e = self.engine();
            // A tick inside the engine's quiet span changes nothing: no
            // refresh is needed after it (unless a sample fires).
            let quiet = e
                .quiet_span()
                .is_some_and(|(from, until)| now >= from && until.is_none_or(|u| now < u));
            let ticked = e.tick(now)?;
            let mut f = std::mem::take(&mut *lock(&self.held));
            f.extend(ticked);
            (quiet, f)
        };
        let due: Vec<String> = {
            let mut last = lock(&self.sampled);
            let wanted = lock(&self.wanted).clone();
            last.retain(|k, _| {
                wanted
                    .iter()
                    .any(|(key, uri, _)| k.0 == *key && k.1 == *uri)
            });
            let mut due = Vec::new();
            for (key, uri, secs) in wanted {
                let next = last
                    .get(&(key.clone(), uri.clone()))
                    .map(|(t, s)| add_secs(*t, *s));
                if next.is_none_or(|n| n <= now) {
                    last.insert((key, uri.clone()), (now, secs));
                    if !due.contains(&uri) {
                        due.push(uri);
                    }
                }
            }
            due
        };
        let sampled = !due.is_empty();
        for uri in due {
            f.extend(self.engine().on_tree_changed(&uri, now)?);
        }
        if !quiet || sampled || !f.is_empty() {
            self.refresh()?;
        }
        Ok(f)
    }

    /// The user's choices for `owner`'s schedule `id` (personalisation;
    /// see [`crate::Engine::personalize`]). The owner is told with a
    /// `personalized` state report (unless `Report/Gating` filters state
    /// changes), stored with the MO's state reports (it travels with the
    /// owner's next session; without a store file it is only returned).
    pub fn personalize(
        &self,
        owner: &str,
        id: &str,
        choices: &crate::host::Choices,
        now: Timestamp,
    ) -> Result<(ScheduleInfo, Option<MoReport>), EngineError> {
        let info = self.engine().personalize(owner, id, choices, now)?;
        self.refresh()?;
        let gate = self.handler.gating(&Key::new(owner, id));
        let Some(p) = info.document.personalize.as_deref() else {
            return Ok((info, None));
        };
        if !MoHandler::state_passes(gate, "personalized") {
            return Ok((info, None));
        }
        let r = report::personalized_report(self.handler.config(), owner, id, p, now);
        self.staging
            .record(
                &[],
                &[],
                &[(
                    r.owner.clone(),
                    r.source.clone(),
                    r.type_.clone(),
                    r.mark.clone(),
                    r.data.clone(),
                )],
            )
            .map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))?;
        Ok((info, Some(r)))
    }

    /// The device changed time zone (see [`crate::Engine::set_time_zone`]);
    /// the MO nodes follow.
    pub fn set_time_zone(&self, zone: &str, now: Timestamp) -> Result<(), EngineError> {
        self.engine().set_time_zone(zone, now)?;
        self.refresh()?;
        Ok(())
    }

    /// The host completed a run its executor left running (hand-off mode,
    /// see [`crate::Engine::complete`]); the MO nodes follow.
    pub fn complete(
        &self,
        run_id: i64,
        results: Vec<crate::model::CommandResult>,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        let f = self.engine().complete(run_id, results, now)?;
        self.refresh()?;
        Ok(f)
    }

    /// A device event for the engine; the MO nodes follow.
    pub fn on_event(
        &self,
        event: &crate::Event,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        let f = self.engine().on_event(event, now)?;
        self.refresh()?;
        Ok(f)
    }

    /// Tree nodes that changed (written by a DM command, the device or a
    /// plug-in) for the engine's conditions; the MO nodes follow. Every
    /// URI is handed on even when one fails; the first error is returned
    /// with nothing of the firings lost (the engine hands them out next).
    pub fn on_tree_changed<'a>(
        &self,
        uris: impl IntoIterator<Item = &'a str>,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        let mut out = Vec::new();
        let mut first_err = None;
        {
            let mut e = self.engine();
            for uri in uris {
                match e.on_tree_changed(uri, now) {
                    Ok(f) => out.extend(f),
                    Err(err) => {
                        first_err.get_or_insert(err);
                    }
                }
            }
        }
        self.refresh()?;
        match first_err {
            Some(err) => Err(err),
            None => Ok(out),
        }
    }

    /// Tree nodes that DM commands of a session changed: like
    /// [`Scheduling::on_tree_changed`], but what finishes is held for the
    /// host's next [`Scheduling::tick`] (the session has no host to tell).
    ///
    /// `changed`: (URI, the server whose command wrote it, whether a whole
    /// subtree went); the occurrences they start name that server as their
    /// cause.
    pub fn on_session_tree_changed(
        &self,
        changed: &[(String, String, bool)],
        now: Timestamp,
    ) -> Result<(), EngineError> {
        let mut out = Vec::new();
        let mut first_err = None;
        {
            let mut e = self.engine();
            for (uri, server, subtree) in changed {
                match e.on_tree_changed_by(uri, Some(server), *subtree, now) {
                    Ok(f) => out.extend(f),
                    Err(err) => {
                        first_err.get_or_insert(err);
                    }
                }
            }
        }
        lock(&self.held).extend(out);
        self.refresh()?;
        match first_err {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }

    /// The DM account of `server_id` was removed: every live schedule it
    /// owns is terminated (state reports wait in case the server comes
    /// back) and its staged, not yet installed schedules are discarded.
    /// Returns the schedules terminated. The agent calls this from
    /// [`crate::agent::Agent::remove_account`] and when a DM command deletes
    /// an account; a host that keeps accounts itself calls it directly.
    pub fn account_removed(
        &self,
        server_id: &str,
        now: Timestamp,
    ) -> Result<Vec<ScheduleInfo>, EngineError> {
        self.handler.discard_staged(server_id);
        let mut ended = Vec::new();
        let mut first_err = None;
        {
            let mut e = self.engine();
            let ids: Vec<String> = e
                .list_all()?
                .into_iter()
                .filter(|i| i.owner == server_id && i.state.is_live())
                .map(|i| i.id)
                .collect();
            for id in ids {
                match e.terminate(server_id, server_id, &id, now) {
                    Ok(info) => ended.push(info),
                    Err(err) => {
                        first_err.get_or_insert(err);
                    }
                }
            }
        }
        tracing::info!(target: "dmsched::mo", server = %server_id, terminated = ended.len(), "DM account removed: its schedules end");
        self.flush();
        self.refresh()?;
        match first_err {
            Some(err) => Err(err),
            None => Ok(ended),
        }
    }

    /// Every schedule on the device, any state.
    pub fn schedules(&self) -> Result<Vec<ScheduleInfo>, EngineError> {
        self.engine().list_all()
    }

    /// For inexact alarms: the earliest and the latest instant at which to
    /// call [`Scheduling::tick`] ([`Engine::wakeup_window`]), narrowed to the
    /// next `TreeValue/Interval` sample when that comes first.
    pub fn wakeup_window(&self) -> Option<(Timestamp, Timestamp)> {
        if !lock(&self.held).is_empty() {
            let now = (self.clock)();
            return Some((now, now));
        }
        let engine = self.engine().wakeup_window();
        match (engine, self.next_sample()) {
            (Some((from, latest)), Some(n)) => Some((from.min(n), latest.min(n))),
            (None, Some(n)) => Some((n, n)),
            (w, None) => w,
        }
    }

    /// When to call [`Scheduling::tick`] next: the engine's next wake-up,
    /// or the next sample of a `TreeValue/Interval`, whichever is first.
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        if !lock(&self.held).is_empty() {
            return Some((self.clock)());
        }
        let engine = self.engine().next_wakeup();
        match (engine, self.next_sample()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next sample of a `TreeValue/Interval`, if any.
    fn next_sample(&self) -> Option<Timestamp> {
        let last = lock(&self.sampled);
        let wanted = lock(&self.wanted);
        wanted
            .iter()
            .map(
                |(key, uri, secs)| match last.get(&(key.clone(), uri.clone())) {
                    Some((t, _)) => add_secs(*t, *secs),
                    // Not sampled yet: at the next tick.
                    None => Timestamp::MIN,
                },
            )
            .min()
            .map(|t| {
                if t == Timestamp::MIN {
                    (self.clock)()
                } else {
                    t
                }
            })
    }

    /// `owner` received these state reports the MO queued itself
    /// ([`MoReport::stored`]).
    pub fn ack_stored(&self, owner: &str, ids: &[i64]) -> Result<usize, EngineError> {
        self.staging
            .ack_stored(owner, ids)
            .map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))
    }

    /// The reports waiting for `owner`, as Generic Alert contents. Reports
    /// of tasks of node-installed schedules name the MO task; those that
    /// the schedule's `Report/Gating` filters out are acknowledged here and
    /// never returned.
    pub fn reports(&self, owner: &str, limit: usize) -> Result<Vec<MoReport>, EngineError> {
        // The MO's own state reports (automatic ends) first.
        let stored: Vec<MoReport> = self
            .staging
            .stored(owner, limit)
            .map_err(|e| EngineError::Storage(StoreError::Sqlite(e.0)))?
            .into_iter()
            .map(|s| {
                // Written with its identity (older rows got theirs when the
                // MO's tables were upgraded).
                let (report_id, created) = report::identity_in(&s.data).unwrap_or_else(|| {
                    tracing::error!(target: "dmsched::mo", owner = %s.owner, rid = s.rid, "a stored state report has no identity");
                    (String::new(), Timestamp::UNIX_EPOCH)
                });
                MoReport {
                    id: None,
                    owner: s.owner,
                    source: s.source,
                    type_: s.type_,
                    mark: s.mark,
                    data: s.data,
                    report_id,
                    created,
                    stored: Some(s.rid),
                    evicted: 0,
                }
            })
            .collect();
        let mut e = self.engine();
        let mut evicted = None;
        loop {
            let batch = e.pending_reports(Some(owner), limit)?;
            let n = batch.reports.len();
            let mut out = Vec::new();
            // Reports the full queue dropped are themselves reported, first.
            if batch.dropped > 0
                && evicted.is_none()
                && let (Some(rid), Some(created)) =
                    (&batch.dropped_report_id, batch.dropped_created)
            {
                evicted = Some(eviction_report(
                    self.handler.config(),
                    owner,
                    (batch.dropped, &batch.dropped_names),
                    rid,
                    created,
                ));
            }
            let mut filtered = Vec::new();
            for r in &batch.reports {
                let f = &r.firing;
                let passes = self
                    .handler
                    .gating(&Key::new(&f.owner, &f.schedule))
                    .is_none_or(|g| g & gate_of(f) != 0);
                if !passes {
                    filtered.push(r.id);
                    continue;
                }
                let mo = self.handler.mo_task(&f.owner, &f.schedule, &f.task);
                out.push(report_mapped(
                    self.handler.config(),
                    r,
                    mo.as_ref().map(|(t, g)| (t.as_str(), g.as_str())),
                ));
            }
            if !filtered.is_empty() {
                tracing::debug!(target: "dmsched::mo", %owner, n = filtered.len(), "reports filtered out by Report/Gating");
                e.remove_reports(owner, &filtered)?;
            }
            if !out.is_empty() || filtered.is_empty() || n < limit {
                if let Some(ev) = evicted {
                    out.insert(0, ev);
                }
                let mut all = stored;
                all.append(&mut out);
                // What Operations/Resync lists: the reports this owner
                // gets now (a session hands them out at its start).
                let listed = all
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "report_id": r.report_id,
                            "created": r.created.to_string(),
                            "source": r.source,
                            "type": r.type_,
                        })
                    })
                    .collect();
                self.handler
                    .shared()
                    .outgoing
                    .insert(owner.to_string(), (listed, all.len() >= limit));
                return Ok(all);
            }
        }
    }

    /// `owner` received these reports (their [`MoReport::id`]s).
    pub fn ack_reports(&self, owner: &str, ids: &[i64]) -> Result<usize, EngineError> {
        self.engine().remove_reports(owner, ids)
    }

    /// `owner` received the eviction report (the one with
    /// [`MoReport::evicted`] > 0): evictions are counted anew.
    pub fn ack_evicted(&self, owner: &str) -> Result<(), EngineError> {
        self.engine().ack_evicted(owner)
    }
}
