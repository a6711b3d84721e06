//! Agent handles: a registry of open agents by id. A `dms_agent *` is an
//! id (never dereferenced, never reused), so a stale or forged handle is
//! refused even after its agent was closed and another one opened.
//!
//! Calls on one agent may run on several threads at once (the core's
//! `Agent` takes `&self` and locks what it shares); `dms_agent_close`
//! waits for the calls in progress. A callback may not call into any
//! agent: the session or tick that called it holds core locks.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use dmsched_core::agent::Agent;

use crate::agent::dms_agent;
use crate::boundary::{fail, guard};
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
static AGENTS: Mutex<Option<HashMap<usize, Arc<Slot>>>> = Mutex::new(None);
/// The next id (ids start at 1 and are never reused).
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

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

/// Registers an opened agent; its handle.
pub(crate) fn register(live: LiveAgent) -> *mut dms_agent {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let slot = Arc::new(Slot {
        live: RwLock::new(Some(live)),
    });
    let mut g = AGENTS.lock().unwrap_or_else(|p| p.into_inner());
    g.get_or_insert_with(HashMap::new).insert(id, slot);
    std::ptr::without_provenance_mut(id)
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
            return fail(dms_status::DMS_INVALID_HANDLE, "agent is NULL");
        }
        if IN_AGENT.with(Cell::get) {
            return reentrant();
        }
        let slot = AGENTS
            .lock()
            .ok()
            .and_then(|g| g.as_ref().and_then(|m| m.get(&a.addr()).cloned()));
        let Some(slot) = slot else {
            return fail(
                dms_status::DMS_INVALID_HANDLE,
                "agent handle is closed or was not made by dms_agent_open",
            );
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
    let removed = {
        let mut g = AGENTS.lock().unwrap_or_else(|p| p.into_inner());
        let r = g.as_mut().and_then(|m| m.remove(&a.addr()));
        // No process-lifetime allocation left behind by the last agent.
        if g.as_ref().is_some_and(HashMap::is_empty) {
            *g = None;
        }
        r
    };
    let Some(slot) = removed else {
        return fail(
            dms_status::DMS_INVALID_HANDLE,
            "agent handle is already closed or was not made by dms_agent_open",
        );
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
