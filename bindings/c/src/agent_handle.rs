//! Agent handles: the registry of open agents (core's `Registry`: a
//! `dms_agent *` is an id, never dereferenced, never reused, tagged as an
//! agent's) over the core's `SharedAgent`, whose rules are those of every
//! surface: calls on one agent may run on several threads at once; a host
//! callback may not call into any engine or agent (`DMS_REENTRANT_CALL`);
//! `dms_agent_close` waits for the calls in progress on other threads, and
//! from inside one of the agent's own callbacks it takes effect when that
//! call returns.

use std::sync::Arc;

use dmsched_core::agent::Agent;
use dmsched_core::registry::{Kind, Registry};
use dmsched_core::shared::SharedAgent;

use crate::agent::dms_agent;
use crate::boundary::{get, guard, handle_err, handle_id, issue};
use crate::callbacks::CHost;
use crate::status::dms_status;

/// What an open handle holds besides the agent, dropped after it in this
/// order: the log dispatcher, then the host object (whose drop runs
/// `destroy`).
pub(crate) struct Extras {
    pub(crate) log: Option<tracing::Dispatch>,
    /// Held only to be dropped last: its drop runs `host->destroy`.
    #[allow(dead_code)]
    pub(crate) host: Option<Arc<CHost>>,
}

type Opened = SharedAgent<Agent, Extras>;

/// Agents opened and not yet closed, by id.
static AGENTS: Registry<Opened> = Registry::new(Kind::Agent);

/// Registers an opened agent; its handle (a new id).
pub(crate) fn register(agent: Agent, extras: Extras) -> Result<*mut dms_agent, dms_status> {
    issue(&AGENTS, Arc::new(SharedAgent::new(agent, extras)))
}

/// Runs `f` on the agent behind `a`: handle checked, the shared rules,
/// the log dispatcher installed, panics caught.
pub(crate) fn with_agent(
    a: *const dms_agent,
    f: impl FnOnce(&Agent) -> Result<(), dms_status>,
) -> dms_status {
    guard(|| {
        let shared = match get(&AGENTS, a) {
            Ok(s) => s,
            Err(s) => return s,
        };
        let r = shared.with(|agent, extras| {
            Ok(match &extras.log {
                Some(d) => tracing::dispatcher::with_default(d, || f(agent)),
                None => f(agent),
            })
        });
        match r {
            Ok(Ok(())) => dms_status::DMS_OK,
            Ok(Err(s)) => s,
            Err(f) => f.into(),
        }
    })
}

/// Closes the agent behind `a` (see `dms_agent_close`).
pub(crate) fn close(a: *mut dms_agent) -> dms_status {
    match AGENTS.remove(handle_id(a)) {
        Ok(shared) => {
            shared.close();
            dms_status::DMS_OK
        }
        Err(e) => handle_err(e),
    }
}
