//! The Scheduling MO: DM commands on `./Scheduling` (configurable) turned
//! into engine operations, and the engine's state and reports turned back
//! into DM nodes and Generic Alerts.
//!
//! ```text
//! <root>/Schedules/<S>                 a schedule; <S> is its id
//! <root>/Schedules/<S>/ServerID        chr, Get: the owner (the server that installed it)
//! <root>/Schedules/<S>/Name            chr, Get
//! <root>/Schedules/<S>/State           int, Get: 20 active, 40 suspended, 50 completed,
//!                                      60 expired, 70 failed, 80 terminated
//! <root>/Schedules/<S>/Document        chr application/json, Get Replace: the schedule
//!                                      document (docs/schedule-format.md); Replace = modify
//! <root>/Schedules/<S>/Tasks/<T>/{LastRun, LastResult, NextRun, Waiting}   Get: diagnostics
//! <root>/Schedules/<S>/Operations/{Activate, Suspend}                      Exec
//! ```
//!
//! Install: Add `<root>/Schedules/<S>` with Meta Type `application/json` and
//! the document as data (its `id` must be `<S>` or absent). Terminate:
//! Delete `<S>`. See `docs/scheduling-mo.md`.
//!
//! Locks: the tree calls the MO's [`MoHandler`] under the tree's lock, and
//! the engine, when it runs actions, calls the tree under the engine's lock.
//! So the handler never touches the engine: it verifies requests (the
//! document check is pure), answers reads from a snapshot of the engine's
//! state, and queues engine operations, which [`Scheduling::settle`] applies
//! after the DM command (or the Atomic) has finished, outside the tree lock.

mod handler;
mod report;

use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;

pub use handler::MoHandler;
pub use report::{MoReport, report_of};

use crate::engine::{Engine, EngineError, ScheduleInfo};
use crate::model::Firing;
use crate::tree::{Acl, Tree, TreeError};

/// Where the MO lives and how it names itself (keep these configurable so
/// that a deployment can match its server's expectations).
#[derive(Clone, Debug, PartialEq, Eq)]
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

/// An engine operation a DM command asked for, applied by [`Scheduling::settle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Submit {
        owner: String,
        json: String,
    },
    Modify {
        requester: String,
        owner: String,
        json: String,
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

/// The Scheduling MO bound to an engine.
pub struct Scheduling {
    engine: Mutex<Engine>,
    handler: Arc<MoHandler>,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
}

impl std::fmt::Debug for Scheduling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduling").finish_non_exhaustive()
    }
}

impl Scheduling {
    /// Binds `engine` to the MO.
    pub fn new(
        engine: Engine,
        config: MoConfig,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    ) -> Result<Arc<Scheduling>, EngineError> {
        let limits = engine.config().limits.clone();
        let s = Arc::new(Scheduling {
            engine: Mutex::new(engine),
            handler: Arc::new(MoHandler::new(config, limits, clock.clone())),
            clock,
        });
        s.refresh()?;
        Ok(s)
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

    /// Applies the engine operations queued by DM commands, then refreshes
    /// what the MO shows. Returns the state reports they produced (an
    /// operation that failed in the engine after its command was answered
    /// is reported this way).
    pub fn settle(&self) -> Vec<MoReport> {
        let ops = self.handler.take_pending();
        if ops.is_empty() {
            return Vec::new();
        }
        let now = (self.clock)();
        let mut out = Vec::new();
        {
            let mut e = self.engine();
            for op in ops {
                let (owner, id, what, r) = match &op {
                    Op::Submit { owner, json } => {
                        let r = e.submit(owner, json, now);
                        let id = r.as_ref().map(|i| i.id.clone()).unwrap_or_default();
                        (owner.clone(), id, "installed", r)
                    }
                    Op::Modify {
                        requester,
                        owner,
                        json,
                    } => {
                        let r = e.modify(requester, owner, json, now);
                        let id = r.as_ref().map(|i| i.id.clone()).unwrap_or_default();
                        (owner.clone(), id, "modified", r)
                    }
                    Op::Suspend {
                        requester,
                        owner,
                        id,
                    } => (
                        owner.clone(),
                        id.clone(),
                        "suspended",
                        e.suspend(requester, owner, id, now),
                    ),
                    Op::Resume {
                        requester,
                        owner,
                        id,
                    } => (
                        owner.clone(),
                        id.clone(),
                        "activated",
                        e.resume(requester, owner, id, now),
                    ),
                    Op::Terminate {
                        requester,
                        owner,
                        id,
                    } => (
                        owner.clone(),
                        id.clone(),
                        "terminated",
                        e.terminate(requester, owner, id, now),
                    ),
                };
                match r {
                    Ok(info) => {
                        tracing::info!(target: "dmsched::mo", %owner, id = %info.id, what, "schedule {what}");
                        out.push(self.handler.state_report(&owner, &info.id, what, None));
                    }
                    Err(err) => {
                        tracing::warn!(target: "dmsched::mo", %owner, %id, "{what} failed in the engine: {err}");
                        out.push(self.handler.state_report(
                            &owner,
                            &id,
                            "rejected",
                            Some(&err.to_string()),
                        ));
                    }
                }
            }
        }
        if let Err(e) = self.refresh() {
            tracing::error!(target: "dmsched::mo", "refreshing the MO snapshot failed: {e}");
        }
        out
    }

    /// Refreshes the snapshot the MO answers Gets from.
    pub fn refresh(&self) -> Result<(), EngineError> {
        let infos: Vec<ScheduleInfo> = self.engine().list_all()?;
        self.handler.set_snapshot(infos);
        Ok(())
    }

    /// Runs what is due (`Engine::tick`) and refreshes the snapshot.
    pub fn tick(&self, now: Timestamp) -> Result<Vec<Firing>, EngineError> {
        let f = self.engine().tick(now)?;
        if !f.is_empty() {
            self.refresh()?;
        }
        Ok(f)
    }

    /// The reports waiting for `owner`, as Generic Alert contents.
    pub fn reports(&self, owner: &str, limit: usize) -> Result<Vec<MoReport>, EngineError> {
        let batch = self.engine().pending_reports(Some(owner), limit)?;
        Ok(batch
            .reports
            .iter()
            .map(|r| report_of(self.handler.config(), r.id, &r.firing))
            .collect())
    }

    /// `owner` received these reports.
    pub fn ack_reports(&self, owner: &str, ids: &[i64]) -> Result<usize, EngineError> {
        self.engine().ack_reports(owner, ids)
    }
}
