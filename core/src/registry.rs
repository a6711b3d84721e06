//! Handles for foreign code: process-wide registries that map ids to shared
//! objects, so that what crosses a language boundary (a C `dms_engine *`, a
//! JNI `jlong`) is an id, never an address.
//!
//! Ids are never reused: one process-wide counter numbers every object of
//! every kind, and the object's [`Kind`] is tagged into the low bits of its
//! id, so an engine's id is never accepted where an agent is expected. A
//! closed, stale, never-issued or wrong-kind id is an error, never a
//! dangling reference: lookups hand out an `Arc`, and an object lives until
//! it is removed and the last call using it returns.
//!
//! Plain Rust (no FFI, no unsafe): each binding converts the ids to its
//! own handle type and the errors to its own statuses.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Bits of an id that hold its [`Kind`].
const KIND_BITS: u32 = 4;
const KIND_MASK: u64 = (1 << KIND_BITS) - 1;
/// The largest serial number an id can carry.
const MAX_SERIAL: u64 = u64::MAX >> KIND_BITS;

/// The next serial number, for objects of every kind (starts at 1: no id is 0).
static NEXT_SERIAL: AtomicU64 = AtomicU64::new(1);

/// What an id names. Its tag sits in the low bits of the id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A scheduling engine (hand-off mode).
    Engine,
    /// A full-client agent.
    Agent,
    /// An accepted package #0 (the proof a session is started with).
    Notification,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Engine, Kind::Agent, Kind::Notification];

    /// The tag (never 0, so that a small integer is not a valid id).
    fn tag(self) -> u64 {
        match self {
            Kind::Engine => 1,
            Kind::Agent => 2,
            Kind::Notification => 3,
        }
    }

    /// The kind an id is tagged with, if any.
    pub fn of(id: u64) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.tag() == id & KIND_MASK)
    }

    /// Its name in messages (`"engine"`, `"agent"`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Engine => "engine",
            Kind::Agent => "agent",
            Kind::Notification => "notification",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an id names no object of the expected kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HandleError {
    /// Id 0 (a NULL handle).
    #[error("the {expected} handle is NULL")]
    Null {
        /// The kind the caller wanted.
        expected: Kind,
    },
    /// The id names an object of another kind (open or not).
    #[error("an {found} handle was passed where an {expected} handle is expected")]
    WrongKind {
        /// The kind the caller wanted.
        expected: Kind,
        /// The kind the id is tagged with.
        found: Kind,
    },
    /// No such id was ever issued.
    #[error("the {expected} handle {id:#x} was never issued")]
    NeverIssued {
        /// The kind the caller wanted.
        expected: Kind,
        /// The id.
        id: u64,
    },
    /// The object was closed (or the id was made up from a real one).
    #[error("the {expected} handle {id:#x} is closed")]
    Closed {
        /// The kind the caller wanted.
        expected: Kind,
        /// The id.
        id: u64,
    },
    /// Every id was issued (2^60 of them): nothing more can be registered.
    #[error("no {0} handle left to issue")]
    Exhausted(Kind),
}

/// The live objects of one [`Kind`], by id. Usable in a `static`.
pub struct Registry<T> {
    kind: Kind,
    /// `None` while empty: no allocation outlives the last object.
    live: Mutex<Option<HashMap<u64, Arc<T>>>>,
}

impl<T> Registry<T> {
    /// An empty registry for objects of `kind`.
    pub const fn new(kind: Kind) -> Registry<T> {
        Registry {
            kind,
            live: Mutex::new(None),
        }
    }

    /// The kind of its objects.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    fn map(&self) -> MutexGuard<'_, Option<HashMap<u64, Arc<T>>>> {
        // A panic while the map was locked cannot leave it half-changed
        // (each operation is one insert or remove): go on.
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers `value` under a new id (never issued before, to any kind).
    pub fn insert(&self, value: Arc<T>) -> Result<u64, HandleError> {
        let serial = NEXT_SERIAL
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                (s <= MAX_SERIAL).then_some(s + 1)
            })
            .map_err(|_| HandleError::Exhausted(self.kind))?;
        let id = serial << KIND_BITS | self.kind.tag();
        self.map()
            .get_or_insert_with(HashMap::new)
            .insert(id, value);
        Ok(id)
    }

    /// Why `id` names no live object here.
    fn miss(&self, id: u64) -> HandleError {
        let expected = self.kind;
        if id == 0 {
            return HandleError::Null { expected };
        }
        match Kind::of(id) {
            Some(found) if found != expected => HandleError::WrongKind { expected, found },
            Some(_) if id >> KIND_BITS < NEXT_SERIAL.load(Ordering::Relaxed) => {
                HandleError::Closed { expected, id }
            }
            _ => HandleError::NeverIssued { expected, id },
        }
    }

    /// The live object `id` names.
    pub fn get(&self, id: u64) -> Result<Arc<T>, HandleError> {
        let found = self.map().as_ref().and_then(|m| m.get(&id).cloned());
        found.ok_or_else(|| self.miss(id))
    }

    /// Unregisters the object `id` names and hands it back (calls holding
    /// it keep it alive until they return). A second remove is `Closed`.
    pub fn remove(&self, id: u64) -> Result<Arc<T>, HandleError> {
        let removed = {
            let mut g = self.map();
            let r = g.as_mut().and_then(|m| m.remove(&id));
            if g.as_ref().is_some_and(HashMap::is_empty) {
                *g = None;
            }
            r
        };
        removed.ok_or_else(|| self.miss(id))
    }

    /// How many objects are registered.
    pub fn len(&self) -> usize {
        self.map().as_ref().map_or(0, HashMap::len)
    }

    /// True when no object is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_never_reused_across_insert_and_remove_cycles() {
        let r: Registry<u32> = Registry::new(Kind::Engine);
        let mut seen = HashSet::new();
        for round in 0..1000 {
            let a = r.insert(Arc::new(round)).unwrap();
            let b = r.insert(Arc::new(round + 1)).unwrap();
            assert!(
                seen.insert(a) && seen.insert(b),
                "id reused in round {round}"
            );
            assert_eq!(*r.remove(a).unwrap(), round);
            assert_eq!(*r.remove(b).unwrap(), round + 1);
            assert!(r.is_empty());
        }
        // The map itself is released with its last object.
        assert!(r.live.lock().unwrap().is_none());
    }

    #[test]
    fn ids_of_different_registries_never_collide() {
        let engines: Registry<&str> = Registry::new(Kind::Engine);
        let agents: Registry<&str> = Registry::new(Kind::Agent);
        let mut seen = HashSet::new();
        for _ in 0..100 {
            assert!(seen.insert(engines.insert(Arc::new("e")).unwrap()));
            assert!(seen.insert(agents.insert(Arc::new("a")).unwrap()));
        }
        assert!(!seen.contains(&0));
    }

    #[test]
    fn an_id_of_another_kind_is_refused_as_such() {
        let engines: Registry<&str> = Registry::new(Kind::Engine);
        let agents: Registry<&str> = Registry::new(Kind::Agent);
        let e = engines.insert(Arc::new("e")).unwrap();
        let a = agents.insert(Arc::new("a")).unwrap();
        assert_eq!(Kind::of(e), Some(Kind::Engine));
        assert_eq!(
            agents.get(e).unwrap_err(),
            HandleError::WrongKind {
                expected: Kind::Agent,
                found: Kind::Engine
            }
        );
        assert_eq!(
            engines.remove(a).unwrap_err(),
            HandleError::WrongKind {
                expected: Kind::Engine,
                found: Kind::Agent
            }
        );
        // Neither was touched.
        assert_eq!(*engines.get(e).unwrap(), "e");
        assert_eq!(*agents.get(a).unwrap(), "a");
        engines.remove(e).unwrap();
        agents.remove(a).unwrap();
    }

    #[test]
    fn closed_null_and_made_up_ids_are_errors() {
        let r: Registry<u8> = Registry::new(Kind::Agent);
        let id = r.insert(Arc::new(7)).unwrap();
        let held = r.get(id).unwrap();
        r.remove(id).unwrap();
        // A call that held it keeps it; new lookups and closes are refused.
        assert_eq!(*held, 7);
        let closed = HandleError::Closed {
            expected: Kind::Agent,
            id,
        };
        assert_eq!(r.get(id).unwrap_err(), closed);
        assert_eq!(r.remove(id).unwrap_err(), closed);
        assert_eq!(
            r.get(0).unwrap_err(),
            HandleError::Null {
                expected: Kind::Agent
            }
        );
        for forged in [1, 2, 3, u64::MAX, u64::MAX - 13, id + (1 << 40)] {
            assert!(r.get(forged).is_err(), "{forged:#x}");
        }
        let never = (MAX_SERIAL << KIND_BITS) | Kind::Agent.tag();
        assert_eq!(
            r.get(never).unwrap_err(),
            HandleError::NeverIssued {
                expected: Kind::Agent,
                id: never
            }
        );
        assert!(
            r.get(never)
                .unwrap_err()
                .to_string()
                .contains("never issued")
        );
    }
}
