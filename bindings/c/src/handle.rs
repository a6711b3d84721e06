//! Engine handles: the registry of open engines (core's `Registry`: a
//! handle is an id, never an address, never reused) over the core's
//! `SharedEngine` (lock, quiet span, re-entrance and closing rules, the same
//! as the UniFFI and JNI objects'), and the per-thread cache that makes a
//! handle check cost a compare.

use std::cell::RefCell;
use std::sync::Arc;

use dmsched_core::registry::{Kind, Registry};
use dmsched_core::shared::SharedEngine;
use dmsched_core::{Engine, Quiet};

use crate::boundary::{get, guard, handle_err, handle_id, issue};
use crate::dms_engine;
use crate::status::dms_status;

/// An open engine with its log dispatcher (dropped after it).
type Opened = SharedEngine<Option<tracing::Dispatch>>;
type Shared = Arc<Opened>;

/// Engines opened and not yet closed, by id.
static ENGINES: Registry<Opened> = Registry::new(Kind::Engine);

thread_local! {
    /// The engine this thread used last: most hosts use one engine, so the
    /// registry's lock is skipped. Checked against `is_closed` on every use.
    static LAST: RefCell<(u64, Option<Shared>)> = const { RefCell::new((0, None)) };
}

/// Registers a newly opened engine; its handle (a new id).
pub(crate) fn register(
    engine: Engine,
    log: Option<tracing::Dispatch>,
) -> Result<*mut dms_engine, dms_status> {
    issue(&ENGINES, Arc::new(SharedEngine::new(engine, log)))
}

/// Runs `f` with the engine's published quiet span if `e` is this
/// thread's last engine, still open, and the call may skip the lock (not
/// from inside a callback). False otherwise.
#[inline]
pub(crate) fn with_quiet(e: *const dms_engine, f: impl FnOnce(&Quiet) -> bool) -> bool {
    let id = handle_id(e);
    LAST.with(|l| {
        let l = l.borrow();
        match &l.1 {
            Some(s) if l.0 == id => s.quiet().is_some_and(f),
            _ => false,
        }
    })
}

/// The open engine behind `e`, or `DMS_INVALID_HANDLE` (NULL, closed,
/// never issued, or another kind of handle).
fn lookup(e: *const dms_engine) -> Result<Shared, dms_status> {
    let id = handle_id(e);
    let cached = LAST.with(|l| {
        let l = l.borrow();
        match &l.1 {
            Some(s) if l.0 == id && !s.is_closed() => Some(s.clone()),
            _ => None,
        }
    });
    if let Some(s) = cached {
        return Ok(s);
    }
    let shared = get(&ENGINES, e)?;
    LAST.with(|l| *l.borrow_mut() = (id, Some(shared.clone())));
    Ok(shared)
}

/// Runs `f` on the engine behind `e` (the shared rules: re-entrance
/// refused, the engine locked, the quiet span maintained, a close from a
/// callback deferred) with its log dispatcher installed, panics caught.
pub(crate) fn with_engine(
    e: *const dms_engine,
    f: impl FnOnce(&mut Engine) -> Result<(), dms_status>,
) -> dms_status {
    guard(|| {
        let shared = match lookup(e) {
            Ok(s) => s,
            Err(st) => return st,
        };
        let r = shared.with(|eng, log| {
            Ok(match log {
                Some(d) => tracing::dispatcher::with_default(d, || f(eng)),
                None => f(eng),
            })
        });
        match r {
            Ok(Ok(())) => dms_status::DMS_OK,
            Ok(Err(s)) => s,
            Err(f) => f.into(),
        }
    })
}

/// Closes the engine behind `e` (see `dms_engine_close`): its status.
pub(crate) fn close(e: *mut dms_engine) -> dms_status {
    let id = handle_id(e);
    let shared = match ENGINES.remove(id) {
        Ok(s) => s,
        Err(err) => return handle_err(err),
    };
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 == id {
            *l = (0, None);
        }
    });
    shared.close();
    dms_status::DMS_OK
}
