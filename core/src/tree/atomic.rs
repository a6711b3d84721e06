//! DM Atomic (SyncML RepPro 1.2 §6.6.3): all commands of an Atomic succeed
//! or none does. [`Tree::begin`] opens one SQLite transaction; each command
//! inside it runs in a savepoint of its own, so a failed command is undone
//! at once and the session can still decide; [`Tree::commit`] makes the
//! whole block durable and [`Tree::rollback`] undoes it.
//!
//! DM forbids nested Atomics, and so does the tree. The Atomic belongs to
//! the thread that began it: while it is open, calls from other threads
//! wait (up to 30 s, then fail with 500) so that they neither see nor join
//! its uncommitted changes. `begin`, the commands and `commit`/`rollback`
//! must therefore be called from one thread.
//!
//! Plug-ins get [`NodeHandler::begin`](super::NodeHandler::begin) /
//! `commit` / `rollback`; their effects are undone only if they implement
//! those hooks. Exec side effects are not undone.

use super::ctx::{Ctx, Who};
use super::error::{TreeError, bad};
use super::handle::{Tree, poisoned};

const LOG: &str = "dmsched::tree";

impl Tree {
    /// Starts an Atomic block on this thread. 400 if one is already open.
    pub fn begin(&self) -> Result<(), TreeError> {
        let mut g = self.lock()?;
        if g.atomic.is_some() {
            return Err(bad("an Atomic is already open (DM forbids nested Atomic)"));
        }
        g.db.control("BEGIN IMMEDIATE")?;
        let reg = self.reg.read().map_err(|_| poisoned())?;
        for (i, (root, h)) in reg.handlers.iter().enumerate() {
            if let Err(e) = h.begin() {
                tracing::warn!(target: LOG, root = %root, error = %e, "plug-in refused to begin an Atomic");
                for (_, h) in &reg.handlers[..i] {
                    h.rollback();
                }
                let _ = g.db.control("ROLLBACK");
                return Err(e);
            }
        }
        g.atomic = Some(std::thread::current().id());
        tracing::debug!(target: LOG, "Atomic begun");
        Ok(())
    }

    /// True while this thread holds an open Atomic.
    pub fn in_atomic(&self) -> bool {
        self.state
            .lock()
            .map(|g| g.atomic == Some(std::thread::current().id()))
            .unwrap_or(false)
    }

    /// Ends the Atomic keeping its changes. Plug-ins commit first; if one
    /// fails, the stored changes and the remaining plug-ins roll back and
    /// the error is returned (plug-ins that already committed stay so).
    pub fn commit(&self) -> Result<(), TreeError> {
        let mut g = self.lock()?;
        if g.atomic != Some(std::thread::current().id()) {
            return Err(bad("no Atomic is open on this thread"));
        }
        let reg = self.reg.read().map_err(|_| poisoned())?;
        let view = Ctx {
            db: &g.db,
            reg: &reg,
            cfg: &self.cfg,
            who: Who::Device,
        };
        let mut result = Ok(());
        for (i, (root, h)) in reg.handlers.iter().enumerate() {
            if let Err(e) = h.commit_in(&view) {
                tracing::warn!(target: LOG, root = %root, error = %e, "plug-in failed to commit an Atomic");
                for (_, h) in &reg.handlers[i + 1..] {
                    h.rollback();
                }
                result = Err(e);
                break;
            }
        }
        let r = match result {
            Ok(()) => match g.db.control("COMMIT") {
                Ok(()) => Ok(()),
                Err(e) => {
                    let _ = g.db.control("ROLLBACK");
                    Err(e)
                }
            },
            Err(e) => {
                let _ = g.db.control("ROLLBACK");
                Err(e)
            }
        };
        g.atomic = None;
        drop(g);
        self.gate.notify_all();
        tracing::debug!(target: LOG, ok = r.is_ok(), "Atomic committed");
        r
    }

    /// Ends the Atomic undoing every change made since [`Tree::begin`].
    pub fn rollback(&self) -> Result<(), TreeError> {
        let mut g = self.lock()?;
        if g.atomic != Some(std::thread::current().id()) {
            return Err(bad("no Atomic is open on this thread"));
        }
        let r = g.db.control("ROLLBACK");
        if let Ok(reg) = self.reg.read() {
            for (_, h) in &reg.handlers {
                h.rollback();
            }
        }
        g.atomic = None;
        drop(g);
        self.gate.notify_all();
        tracing::debug!(target: LOG, ok = r.is_ok(), "Atomic rolled back");
        r
    }
}
