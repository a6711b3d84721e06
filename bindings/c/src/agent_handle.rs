//! Agent handles: the registry of open agents (core's `Registry`). A
//! `dms_agent *` is an id (never dereferenced, never reused, tagged as an
//! agent's), so a stale, forged or engine handle is refused even after its
//! agent was closed and another one opened.
//!
//! Calls on one agent may run on several threads at once (the core's
//! `Agent` takes `&self` and locks what it shares); `dms_agent_close`
//! waits for the calls in progress. A callback may not call into any
//! agent: the session or tick that called it holds core locks.

use std::cell::Cell;
use std::sync::{Arc, RwLock};

use dmsched_core::agent::Agent;
use dmsched_core::registry::{HandleError, Kind, Registry};

use crate::agent::dms_agent;
use crate::boundary::{fail, guard, handle_err, handle_id, id_handle};
use crate::callbacks::CHost;
use crate::status::dms_status;

/// What an open handle stands for. Fields drop in order: the agent first,
/// then the host object (whose drop runs `destroy`).
pub(crate) struct LiveAgent {
    pub(crate) agent: Agent,
    pub(crate) log: Option<tracing::Dispatch>,
    pub(crate) host: Option<Arc<CHost>>,
}

struct Slot {
    live: RwLock<Option<LiveAgent>>,
}

/// Agents opened and not yet closed, by id.
static AGENTS: Registry<Slot> = Registry::new(Kind::Agent);

thread_local! {
    /// True while this thread is inside an agent call (callbacks run then).
    static IN_AGENT: Cell<bool> = const { Cell::new(false) };
}

struct InAgent;

impl Drop for InAgent {
    fn drop(&mut self) {
        IN_AGENT.with(|f| f.set(false));
    }
}

/// Registers an opened agent; its handle (a new id).
pub(crate) fn register(live: LiveAgent) -> Result<*mut dms_agent, dms_status> {
    let slot = Arc::new(Slot {
        live: RwLock::new(Some(live)),
    });
    let id = AGENTS.insert(slot).map_err(handle_err)?;
    id_handle(id).ok_or_else(|| {
        // Only where pointers are narrower than ids (2^28 opens on a 32-bit
        // target): the agent is released before its host is adopted.
        let _ = AGENTS.remove(id);
        fail(
            dms_status::DMS_LIMIT_EXCEEDED,
            "no agent handle left to issue on this target",
        )
    })
}

fn reentrant() -> dms_status {
    fail(
        dms_status::DMS_REENTRANT_CALL,
        "a host callback called back into an agent",
    )
}

/// Runs `f` on the agent behind `a`: handle checked, re-entrance refused,
/// the log dispatcher installed, panics caught.
pub(crate) fn with_agent(
    a: *const dms_agent,
    f: impl FnOnce(&Agent) -> Result<(), dms_status>,
) -> dms_status {
    guard(|| {
        if a.is_null() {
            return handle_err(HandleError::Null {
                expected: Kind::Agent,
            });
        }
        if IN_AGENT.with(Cell::get) {
            return reentrant();
        }
        let slot = match AGENTS.get(handle_id(a)) {
            Ok(s) => s,
            Err(e) => return handle_err(e),
        };
        // A panic in a call poisons the lock; the agent's state is kept in
        // its store transaction by transaction, so go on.
        let g = slot.live.read().unwrap_or_else(|p| p.into_inner());
        let Some(live) = g.as_ref() else {
            return fail(dms_status::DMS_INVALID_HANDLE, "agent handle is closed");
        };
        IN_AGENT.with(|f| f.set(true));
        let _reset = InAgent;
        let r = match &live.log {
            Some(d) => tracing::dispatcher::with_default(d, || f(&live.agent)),
            None => f(&live.agent),
        };
        match r {
            Ok(()) => dms_status::DMS_OK,
            Err(s) => s,
        }
    })
}

/// Closes the agent behind `a` (see `dms_agent_close`).
pub(crate) fn close(a: *mut dms_agent) -> dms_status {
    if IN_AGENT.with(Cell::get) {
        return reentrant();
    }
    let slot = match AGENTS.remove(handle_id(a)) {
        Ok(s) => s,
        Err(e) => return handle_err(e),
    };
    // Waits for calls in progress on other threads, then releases (the
    // agent, then the host: `destroy` runs last).
    let gone = slot.live.write().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(live) = gone {
        let LiveAgent { agent, log, host } = live;
        match &log {
            Some(d) => tracing::dispatcher::with_default(d, || drop(agent)),
            None => drop(agent),
        }
        drop(host);
    }
    dms_status::DMS_OK
}
