//! Engine handles: the registry of open engines (core's `Registry`: a
//! handle is an id, never an address, never reused), the per-thread cache
//! that makes a handle check cost a compare, and the one place where a
//! call enters an engine (lock, re-entrance, log dispatcher, quiet span).

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use dmsched_core::registry::{Kind, Registry};
use dmsched_core::{Engine, Quiet};

use crate::boundary::{fail, guard, handle_err, handle_id, id_handle};
use crate::dms_engine;
use crate::status::dms_status;

/// What a handle stands for while open.
pub(crate) struct Live {
    pub(crate) engine: Engine,
    pub(crate) log: Option<tracing::Dispatch>,
}

/// One opened engine. Outlives its `Live` part: per-thread caches may hold
/// the shell after close, when `closed` is set and `live` is empty.
pub(crate) struct Opened {
    live: Mutex<Option<Live>>,
    closed: AtomicBool,
    /// Answers idle ticks and `next_wakeup` without the lock (core's `Quiet`).
    pub(crate) quiet: Quiet,
}

type Shared = Arc<Opened>;

/// Engines opened and not yet closed, by id.
static ENGINES: Registry<Opened> = Registry::new(Kind::Engine);

thread_local! {
    /// The engine this thread used last: most hosts use one engine, so the
    /// registry's lock is skipped. Checked against `closed` on every use.
    static LAST: RefCell<(u64, Option<Shared>)> = const { RefCell::new((0, None)) };
    /// The engine whose call this thread is inside (0: none); callbacks run then.
    static IN_ENGINE: Cell<u64> = const { Cell::new(0) };
}

/// True while this thread is inside an engine call (in a host callback).
pub(crate) fn in_engine() -> bool {
    IN_ENGINE.with(Cell::get) != 0
}

/// Registers a newly opened engine; its handle (a new id).
pub(crate) fn register(
    engine: Engine,
    log: Option<tracing::Dispatch>,
) -> Result<*mut dms_engine, dms_status> {
    let opened = Arc::new(Opened {
        live: Mutex::new(None),
        closed: AtomicBool::new(false),
        quiet: Quiet::new(),
    });
    opened.quiet.publish(&engine);
    *opened.live.lock().unwrap_or_else(|p| p.into_inner()) = Some(Live { engine, log });
    let id = ENGINES.insert(opened).map_err(handle_err)?;
    id_handle(id).ok_or_else(|| {
        // Only where pointers are narrower than ids (2^28 opens on a 32-bit
        // target): the engine is released before its host is adopted.
        let _ = ENGINES.remove(id);
        fail(
            dms_status::DMS_LIMIT_EXCEEDED,
            "no engine handle left to issue on this target",
        )
    })
}

/// The open engine `id` names from this thread's cache, without locks;
/// None when it is not cached (or closed): use [`lookup`].
#[inline]
pub(crate) fn cached(id: u64) -> Option<Shared> {
    LAST.with(|l| {
        let l = l.borrow();
        match &l.1 {
            Some(s) if l.0 == id && !s.closed.load(Ordering::Acquire) => Some(s.clone()),
            _ => None,
        }
    })
}

/// Runs `f` with the cached engine's shell if `e` is this thread's last
/// engine and still open (no reference count touched). False otherwise.
#[inline]
pub(crate) fn with_cached(e: *const dms_engine, f: impl FnOnce(&Opened) -> bool) -> bool {
    let id = handle_id(e);
    LAST.with(|l| {
        let l = l.borrow();
        match &l.1 {
            Some(s) if l.0 == id && !s.closed.load(Ordering::Acquire) => f(s),
            _ => false,
        }
    })
}

/// The open engine behind `e`, or `DMS_INVALID_HANDLE` (NULL, closed,
/// never issued, or another kind of handle).
pub(crate) fn lookup(e: *const dms_engine) -> Result<Shared, dms_status> {
    let id = handle_id(e);
    if let Some(s) = cached(id) {
        return Ok(s);
    }
    let shared = ENGINES.get(id).map_err(handle_err)?;
    LAST.with(|l| *l.borrow_mut() = (id, Some(shared.clone())));
    Ok(shared)
}

struct InEngine;

impl Drop for InEngine {
    fn drop(&mut self) {
        IN_ENGINE.with(|f| f.set(0));
    }
}

/// Runs `f` on the engine behind `e`: handle checked, re-entrance refused,
/// the engine locked, the log dispatcher installed, the quiet span closed
/// during the call and published after it, panics caught.
pub(crate) fn with_engine(
    e: *const dms_engine,
    f: impl FnOnce(&mut Engine) -> Result<(), dms_status>,
) -> dms_status {
    guard(|| {
        let shared = match lookup(e) {
            Ok(s) => s,
            Err(st) => return st,
        };
        if in_engine() {
            return fail(
                dms_status::DMS_REENTRANT_CALL,
                "a host callback called back into the engine",
            );
        }
        // A panic inside a call poisons the lock; the engine's state is
        // consistent with its store at every transaction, so go on.
        let mut g = shared.live.lock().unwrap_or_else(|p| p.into_inner());
        let Some(live) = g.as_mut() else {
            return fail(dms_status::DMS_INVALID_HANDLE, "engine handle is closed");
        };
        let r = {
            IN_ENGINE.with(|f| f.set(handle_id(e)));
            let _reset = InEngine;
            let Live { engine, log } = live;
            shared.quiet.around(engine, |eng| match log {
                Some(d) => tracing::dispatcher::with_default(d, || f(eng)),
                None => f(eng),
            })
        };
        if shared.closed.load(Ordering::Acquire) {
            // A callback closed this engine: release it now that the call is over.
            shared.quiet.close();
            let gone = g.take();
            drop(g);
            drop(gone);
        }
        match r {
            Ok(()) => dms_status::DMS_OK,
            Err(s) => s,
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
    shared.closed.store(true, Ordering::Release);
    shared.quiet.close();
    LAST.with(|l| {
        let mut l = l.borrow_mut();
        if l.0 == id {
            *l = (0, None);
        }
    });
    if IN_ENGINE.with(Cell::get) != id {
        // Wait for a call in progress on another thread, then release
        // (runs host->destroy). From inside this engine's own callback the
        // call releases it when it ends (see `with_engine`).
        let gone = shared.live.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(gone);
    }
    dms_status::DMS_OK
}
