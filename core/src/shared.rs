//! Engines and agents as the bindings share them: one place for the lock,
//! the quiet span, the re-entrance rule and closing, used by the C ABI, the
//! UniFFI objects and (through them) the JNI bridge, so the rule is the same
//! on every surface:
//!
//! * **Re-entrance.** While a call of any engine or agent runs on a thread
//!   (so while its host callbacks run), another call from that thread into
//!   any engine or agent fails with [`ErrorKind::ReentrantCall`] and does
//!   nothing: a callback never deadlocks on the lock its caller holds, and
//!   never sees a half-finished call.
//! * **Closing.** `close` may be called from any thread, also from inside a
//!   callback of the object being closed: the object answers
//!   [`ErrorKind::Closed`] to every later call at once, and is released
//!   when the call in progress returns (from another thread: `close` waits
//!   for the calls in progress, then releases). A second `close` reports
//!   that it was closed already.
//!
//! Each surface keeps its own extras next to the object (`X`: the C ABI's
//! log dispatcher and host), dropped after it.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use crate::{Engine, ErrorKind, Quiet};

/// A failed call: its kind (the one error table) and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// What happened, for people.
    pub message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
        }
    }

    fn reentrant(what: &str) -> Failure {
        Failure::new(
            ErrorKind::ReentrantCall,
            format!("a host callback called back into the {what}"),
        )
    }

    fn closed(what: &str) -> Failure {
        Failure::new(ErrorKind::Closed, format!("the {what} is closed"))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crate::EngineError> for Failure {
    fn from(e: crate::EngineError) -> Self {
        Failure::new(e.kind(), e.api_message())
    }
}

#[cfg(feature = "http")]
impl From<crate::agent::AgentError> for Failure {
    fn from(e: crate::agent::AgentError) -> Self {
        Failure::new(e.kind(), e.api_message())
    }
}

thread_local! {
    /// The object (its address) whose call this thread is inside; 0: none.
    static IN_CALL: Cell<usize> = const { Cell::new(0) };
}

/// True while this thread is inside a call of an engine or agent (that is,
/// in one of its host callbacks).
pub fn in_call() -> bool {
    IN_CALL.with(Cell::get) != 0
}

/// Marks this thread as inside `addr`'s call until dropped.
struct Inside;

impl Inside {
    fn enter(addr: usize, what: &str) -> Result<Inside, Failure> {
        if in_call() {
            return Err(Failure::reentrant(what));
        }
        IN_CALL.with(|c| c.set(addr));
        Ok(Inside)
    }
}

impl Drop for Inside {
    fn drop(&mut self) {
        IN_CALL.with(|c| c.set(0));
    }
}

/// An engine shared by a binding's handles: calls serialised by a lock,
/// an idle tick and the next wake-up answered without it (the published
/// [`Quiet`] span).
pub struct SharedEngine<X = ()> {
    live: Mutex<Option<(Engine, X)>>,
    closed: AtomicBool,
    quiet: Quiet,
}

impl<X> SharedEngine<X> {
    /// Shares `engine` (with the surface's `extra`, dropped after it).
    pub fn new(engine: Engine, extra: X) -> SharedEngine<X> {
        let quiet = Quiet::new();
        quiet.publish(&engine);
        SharedEngine {
            live: Mutex::new(Some((engine, extra))),
            closed: AtomicBool::new(false),
            quiet,
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Runs `f` on the engine: re-entrance refused, the engine locked, the
    /// quiet span closed during the call and published after it; a close
    /// from inside the call takes effect when it returns.
    pub fn with<T>(
        &self,
        f: impl FnOnce(&mut Engine, &X) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        if in_call() {
            return Err(Failure::reentrant("engine"));
        }
        if self.closed.load(Ordering::Acquire) {
            return Err(Failure::closed("engine"));
        }
        // A panic inside a call poisons the lock; the engine's state is
        // consistent with its store at every transaction, so go on.
        let mut g = self.live.lock().unwrap_or_else(|p| p.into_inner());
        let r = match g.as_mut() {
            Some((engine, extra)) => {
                let _inside = Inside::enter(self.addr(), "engine")?;
                self.quiet.around(engine, |e| f(e, extra))
            }
            None => return Err(Failure::closed("engine")),
        };
        if self.closed.load(Ordering::Acquire) {
            // Closed from inside the call (a callback): release it now.
            let gone = g.take();
            drop(g);
            drop(gone);
        }
        r
    }

    /// The published span, when a call may use it instead of the lock
    /// (open, and not from inside a callback).
    pub fn quiet(&self) -> Option<&Quiet> {
        (!in_call() && !self.closed.load(Ordering::Acquire)).then_some(&self.quiet)
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the engine (see the module's rule); false if it was closed
    /// already.
    pub fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.quiet.close();
        if IN_CALL.with(Cell::get) != self.addr() {
            // Waits for a call in progress on another thread, then releases.
            let gone = self.live.lock().unwrap_or_else(|p| p.into_inner()).take();
            drop(gone);
        }
        true
    }
}

/// An agent shared by a binding's handles: calls on one agent may run on
/// several threads at once (the core's `Agent` takes `&self`).
pub struct SharedAgent<A, X = ()> {
    slot: Mutex<Option<Arc<(A, X)>>>,
    /// Signalled whenever a call ends (what `close` waits for).
    ended: Condvar,
    closed: AtomicBool,
}

impl<A, X> SharedAgent<A, X> {
    /// Shares `agent` (with the surface's `extra`, dropped after it).
    pub fn new(agent: A, extra: X) -> SharedAgent<A, X> {
        SharedAgent {
            slot: Mutex::new(Some(Arc::new((agent, extra)))),
            ended: Condvar::new(),
            closed: AtomicBool::new(false),
        }
    }

    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Runs `f` on the agent: re-entrance refused, `Closed` once closed.
    pub fn with<T>(&self, f: impl FnOnce(&A, &X) -> Result<T, Failure>) -> Result<T, Failure> {
        if in_call() {
            return Err(Failure::reentrant("agent"));
        }
        let live = self
            .slot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| Failure::closed("agent"))?;
        let r = {
            let _inside = Inside::enter(self.addr(), "agent")?;
            f(&live.0, &live.1)
        };
        // The last reference of a call that a callback's close left goes
        // here: the agent is released as the call returns.
        drop(live);
        let _g = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        self.ended.notify_all();
        r
    }

    /// True once closed.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Closes the agent (see the module's rule); false if it was closed
    /// already.
    pub fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::AcqRel) {
            return false;
        }
        let mut g = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let Some(mut live) = g.take() else {
            return false;
        };
        if IN_CALL.with(Cell::get) == self.addr() {
            // From inside this agent's own callback: the call in progress
            // holds the last reference and releases the agent as it returns.
            return true;
        }
        // Wait for the calls in progress on other threads, then release.
        loop {
            match Arc::try_unwrap(live) {
                Ok(inner) => {
                    drop(g);
                    drop(inner);
                    return true;
                }
                Err(still) => {
                    live = still;
                    g = self.ended.wait(g).unwrap_or_else(|p| p.into_inner());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Drops count: the payload of a closed agent is released exactly once.
    struct Counted(Arc<AtomicUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Issue 15: one re-entrance rule and one closing rule for agents.
    #[test]
    fn an_agent_refuses_reentrance_and_closes_from_its_own_callback_or_another_thread() {
        let drops = Arc::new(AtomicUsize::new(0));
        let a = Arc::new(SharedAgent::new(Counted(drops.clone()), ()));
        let other = SharedAgent::new(Counted(Arc::new(AtomicUsize::new(0))), ());
        // A callback calling into any agent: ReentrantCall, nothing done.
        let inner = a
            .with(|_, _| Ok(other.with(|_, _| Ok(())).unwrap_err().kind))
            .unwrap();
        assert_eq!(inner, ErrorKind::ReentrantCall);
        // Closed from its own callback: Closed at once, released on return.
        let r = a.with(|_, _| {
            assert!(a.close());
            assert!(!a.close(), "twice: already closed");
            Ok(drops.load(Ordering::SeqCst))
        });
        assert_eq!(r, Ok(0), "not released inside the call");
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "released as the call returned"
        );
        assert_eq!(a.with(|_, _| Ok(())).unwrap_err().kind, ErrorKind::Closed);

        // From another thread: close waits for the call in progress.
        let drops = Arc::new(AtomicUsize::new(0));
        let b = Arc::new(SharedAgent::new(Counted(drops.clone()), ()));
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let b2 = b.clone();
        let d2 = drops.clone();
        let t = std::thread::spawn(move || {
            b2.with(|_, _| {
                started_tx.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(50));
                Ok(d2.load(Ordering::SeqCst))
            })
        });
        started_rx.recv().unwrap();
        assert!(b.close());
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "released when close returned"
        );
        assert_eq!(t.join().unwrap(), Ok(0), "not during the call");
    }
}
