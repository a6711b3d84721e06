//! SQLite persistence: schedules with their owners and states, per-task
//! runtime state, the firing journal and the report outbox.
//!
//! One file, WAL mode, `synchronous = FULL`: a transaction that returned is
//! on disk and survives `kill -9` and power loss. Each engine state change is
//! one transaction ([`Tx`]). Opening runs `PRAGMA integrity_check` and
//! refuses a corrupt or foreign file with [`StoreError::Corrupt`]; it never
//! replaces one.
//!
//! **One store, one engine.** [`Store::open`] takes an exclusive advisory
//! lock on the file (`flock` on Unix, `LockFileEx` on Windows) and holds it
//! until the store is dropped; a second open of the same file, from this
//! process or another, fails with [`StoreError::InUse`]. The lock goes with
//! the process, so a `kill -9` leaves nothing to clean up. Read-only
//! inspection ([`Store::open_read_only`]) takes no lock.
//!
//! **Foreign files are left alone.** A dmsched store carries the SQLite
//! application id [`APPLICATION_ID`] ("DMSc") in its header. Before anything
//! is written (the WAL switch included), `open` accepts only: an empty file
//! or database; one with that id; or one made before the id existed (schema
//! version ≥ 1, the store's tables present, no table that is not dmsched's).
//! Anything else is refused with [`StoreError::Corrupt`] and stays
//! byte-identical. dmsched's tables are the store's and those named `tree_*`,
//! `mo_*` and `dm_*` (the DM tree, the Scheduling MO and the DM client keep
//! their own schemas in the same file).

// By concept: schedule and task rows, the firing journal, the report
// outbox, engine facts, and the schema migrations (one runner for the
// four schemas in the file). Opening, the file guard and transactions stay
// here.
mod journal;
mod meta;
mod outbox;
mod schedules;
mod schema;

pub(crate) use schema::{MigrateError, VersionIn, migrate_schema};

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

pub(crate) use outbox::new_report_id;
pub use outbox::{Dropped, OutboxRow, Pushed};
pub use schema::SCHEMA_VERSION;

/// Store failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is not a dmsched store or is damaged.
    #[error("store {path} is corrupt or not a dmsched database: {detail}")]
    Corrupt {
        /// The file.
        path: String,
        /// What SQLite said.
        detail: String,
    },
    /// The file was written by a newer dmsched.
    #[error("store schema version {found} is newer than this build supports ({supported})")]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// Another engine (in this process or another) has the store open.
    #[error("store {path} is in use by another engine (one store, one engine)")]
    InUse {
        /// The file.
        path: String,
    },
    /// An earlier write of the same call failed to reach the disk, so
    /// nothing more is run or written in it.
    #[error("an earlier write of this call failed; nothing more runs until the next call")]
    Batch,
    /// The store path is empty (SQLite would open a temporary database
    /// that vanishes at close).
    #[error("store path is empty: a store needs a file")]
    EmptyPath,
    /// The file could not be opened or locked.
    #[error("store {path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// What the system said.
        detail: String,
    },
    /// Any other SQLite failure (disk full, I/O error, locked …).
    #[error("storage error: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The SQLite application id (`PRAGMA application_id`) of a dmsched store:
/// "DMSc" in ASCII.
pub const APPLICATION_ID: i32 = 0x444D_5363;

/// The store's own tables (schema 1); a file that has them all and no
/// foreign table is a dmsched store even without the application id.
const STORE_TABLES: [&str; 6] = [
    "meta",
    "schedules",
    "tasks",
    "journal",
    "outbox",
    "outbox_dropped",
];

/// Whether `table` belongs to dmsched (the store, the tree, the MO, the DM
/// client) or to SQLite itself.
fn is_dmsched_table(table: &str) -> bool {
    // Tables later schemas added (schema 5: the run history).
    const LATER_TABLES: [&str; 1] = ["history"];
    STORE_TABLES.contains(&table)
        || LATER_TABLES.contains(&table)
        || ["tree_", "mo_", "dm_", "sqlite_"]
            .iter()
            .any(|p| table.starts_with(p))
}

/// A stored schedule row.
#[derive(Clone, Debug)]
pub struct StoredSchedule {
    /// Row id.
    pub sid: i64,
    /// Owning server id.
    pub owner: String,
    /// Schedule id.
    pub id: String,
    /// The schedule document (JSON).
    pub doc: String,
    /// Lifecycle state name.
    pub state: String,
    /// Why it is in that state.
    pub reason: Option<String>,
    /// When it was accepted (RFC 3339).
    pub accepted_at: String,
}

/// A stored task-state row.
#[derive(Clone, Debug)]
pub struct StoredTask {
    /// Schedule row id.
    pub sid: i64,
    /// Task index in the document.
    pub tidx: u32,
    /// Engine-defined state (JSON).
    pub state: String,
}

/// What a restart needs of a task to arm it without its document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskIndexRow {
    /// Schedule row id.
    pub sid: i64,
    /// Task index.
    pub tidx: u32,
    /// Next wake-up and latest acceptable wake-up, nanoseconds since the epoch.
    pub wake: Option<(i64, i64)>,
    /// Watched events and URIs: lines `e<TAB>name` and `u<TAB>uri`.
    pub watch: String,
}

/// A firing that was started and not finished.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// Journal row id.
    pub fid: i64,
    /// Schedule row id.
    pub sid: i64,
    /// Task index.
    pub tidx: u32,
    /// Occurrence number.
    pub seq: u64,
    /// Attempt number (0 = first).
    pub attempt: u32,
}

/// Everything needed to rebuild the engine after a restart.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Every schedule, any state.
    pub schedules: Vec<StoredSchedule>,
    /// Every task state.
    pub tasks: Vec<StoredTask>,
    /// Firings interrupted by a crash.
    pub in_flight: Vec<InFlight>,
}

/// The persistent store.
pub struct Store {
    conn: Connection,
    /// The open file holding the exclusive lock (None: in memory, read-only).
    _lock: Option<std::fs::File>,
    /// Schedules (row ids) written since [`Store::take_touched`]; `None`
    /// until it is first called (nobody asks: nothing is kept).
    touched: std::cell::RefCell<Option<std::collections::BTreeSet<i64>>>,
    /// [`Store::begin_batch`] was called: transactions join one outer
    /// transaction, made durable by [`Store::flush`].
    batching: bool,
    /// The outer transaction of a batch is open.
    open: bool,
    /// A transaction of the open batch was dropped without its commit:
    /// the batch holds part of a change, so it is never flushed.
    poisoned: std::cell::Cell<bool>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if absent) the store at `path`, locks it for this
    /// store's lifetime, checks that it is a dmsched store (or empty) and
    /// intact, and applies migrations. Refuses an empty path, a store in
    /// use ([`StoreError::InUse`]) and a foreign or corrupt file
    /// ([`StoreError::Corrupt`], the file untouched).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if path.as_os_str().is_empty() {
            return Err(StoreError::EmptyPath);
        }
        let shown = path.display().to_string();
        let lock = lock_exclusive(path, &shown)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| corrupt_or(&shown, e))?;
        check_dmsched_file(&conn, &shown)?;
        let mut store = Self::init(conn, &shown)?;
        store._lock = Some(lock);
        Ok(store)
    }

    /// Opens an existing store for reading only (inspection): nothing is
    /// written, not even the journal mode; a store of another schema version
    /// is refused.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let shown = path.display().to_string();
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| corrupt_or(&shown, e))?;
        let check: String = conn
            .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
            .map_err(|e| corrupt_or(&shown, e))?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path: shown,
                detail: check,
            });
        }
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(if version > SCHEMA_VERSION {
                StoreError::TooNew {
                    found: version,
                    supported: SCHEMA_VERSION,
                }
            } else {
                StoreError::Corrupt {
                    path: shown,
                    detail: format!("schema version {version}, not a current dmsched store"),
                }
            });
        }
        Ok(Store {
            conn,
            _lock: None,
            touched: Default::default(),
            batching: false,
            open: false,
            poisoned: Default::default(),
        })
    }

    /// A private in-memory store (tests, simulations).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Self::init(Connection::open_in_memory()?, ":memory:")
    }

    fn init(mut conn: Connection, shown: &str) -> Result<Store, StoreError> {
        let check: String = conn
            .query_row("PRAGMA integrity_check(1)", [], |r| r.get(0))
            .map_err(|e| corrupt_or(shown, e))?;
        if check != "ok" {
            return Err(StoreError::Corrupt {
                path: shown.to_string(),
                detail: check,
            });
        }
        let app_id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        if app_id != APPLICATION_ID {
            conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(|e| corrupt_or(shown, e))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // Every statement the engine runs stays prepared (rusqlite keeps
        // 16; a run uses more, and re-preparing cost ~10 % of a run).
        conn.set_prepared_statement_cache_capacity(64);
        schema::migrate(&mut conn).map_err(|e| match e {
            StoreError::Sqlite(e) => corrupt_or(shown, e),
            other => other,
        })?;
        Ok(Store {
            conn,
            _lock: None,
            touched: Default::default(),
            batching: false,
            open: false,
            poisoned: Default::default(),
        })
    }

    /// Starts a transaction; nothing is stored until [`Tx::commit`]. In a
    /// batch ([`Store::begin_batch`]) it is part of the batch's
    /// transaction, durable at the next [`Store::flush`]; one dropped
    /// without its commit spoils the batch (the flush fails and rolls it
    /// all back), so a change is never stored in part.
    pub fn tx(&mut self) -> Result<Tx<'_>, StoreError> {
        if !self.batching {
            return Ok(Tx {
                tx: Some(Inner::Own(self.conn.transaction()?)),
                touched: &self.touched,
                poisoned: &self.poisoned,
            });
        }
        self.open_batch()?;
        Ok(Tx {
            tx: Some(Inner::Batch(&self.conn)),
            touched: &self.touched,
            poisoned: &self.poisoned,
        })
    }

    /// Tests: the most pages the file may hold (writes beyond fail with
    /// "database or disk is full"); `None`: no limit.
    #[cfg(test)]
    pub(crate) fn limit_pages(&self, pages: Option<i64>) {
        let n = pages.unwrap_or(1 << 30);
        self.conn.pragma_update(None, "max_page_count", n).unwrap();
    }

    /// Tests: pages the file holds now.
    #[cfg(test)]
    pub(crate) fn page_count(&self) -> i64 {
        self.conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap()
    }

    /// Starts a batch: the transactions until [`Store::end_batch`] share
    /// one SQLite transaction (one fsync at each [`Store::flush`] instead
    /// of one per transaction). What a caller must have on disk before it
    /// acts on it (a journaled run before the host runs it) it flushes
    /// first.
    pub fn begin_batch(&mut self) {
        self.batching = true;
    }

    /// In a batch, opens its transaction now (if it is not open yet), so
    /// that the reads that come before its first write share it instead of
    /// each taking its own snapshot of the file.
    pub fn open_batch(&mut self) -> Result<(), StoreError> {
        if self.batching && !self.open {
            // Prepared once (a batch is opened and flushed per run).
            self.conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
            self.open = true;
        }
        Ok(())
    }

    /// Whether a batch is open.
    pub fn batching(&self) -> bool {
        self.batching
    }

    /// Makes every transaction committed in the batch so far durable
    /// (nothing to do outside a batch, or when nothing was written). On
    /// failure they are all rolled back.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        if !self.open {
            return Ok(());
        }
        self.open = false;
        if self.poisoned.take() {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(StoreError::Batch);
        }
        if let Err(e) = self
            .conn
            .prepare_cached("COMMIT")
            .and_then(|mut c| c.execute([]))
        {
            let _ = self.conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
        Ok(())
    }

    /// Ends the batch without flushing: what it wrote since its last
    /// flush is rolled back.
    pub fn abort_batch(&mut self) {
        self.batching = false;
        self.poisoned.set(false);
        if std::mem::take(&mut self.open) {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }

    /// Flushes and ends the batch (ended even when the flush fails).
    pub fn end_batch(&mut self) -> Result<(), StoreError> {
        self.batching = false;
        self.flush()
    }

    /// The schedules (row ids) a transaction wrote since the last call —
    /// a change of document, state or task state — so that a view of them
    /// can be refreshed without reading them all. (A transaction that was
    /// rolled back may be counted: a spare refresh, never a missed one.)
    /// Writes are recorded from the first call on; the first call returns
    /// nothing.
    pub fn take_touched(&mut self) -> std::collections::BTreeSet<i64> {
        self.touched
            .borrow_mut()
            .replace(Default::default())
            .unwrap_or_default()
    }
}

/// Opens (creating) `path` and takes an exclusive advisory lock on it
/// without waiting.
fn lock_exclusive(path: &Path, shown: &str) -> Result<std::fs::File, StoreError> {
    let io = |e: std::io::Error| StoreError::Io {
        path: shown.to_string(),
        detail: e.to_string(),
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::InUse {
            path: shown.to_string(),
        }),
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Refuses, before anything is written, a file that is not a dmsched store
/// and not empty (see the module documentation).
fn check_dmsched_file(conn: &Connection, shown: &str) -> Result<(), StoreError> {
    let foreign = |detail: String| StoreError::Corrupt {
        path: shown.to_string(),
        detail,
    };
    let app_id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(|e| corrupt_or(shown, e))?;
    let version: u32 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| corrupt_or(shown, e))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| corrupt_or(shown, e))?;
    if app_id == APPLICATION_ID {
        return Ok(());
    }
    if app_id != 0 {
        return Err(foreign(format!(
            "not a dmsched store (SQLite application id {app_id:#010x})"
        )));
    }
    let others: Vec<&str> = tables
        .iter()
        .map(String::as_str)
        .filter(|t| !is_dmsched_table(t))
        .collect();
    if !others.is_empty() {
        return Err(foreign(format!(
            "not a dmsched store (it has tables dmsched does not make: {})",
            others.join(", ")
        )));
    }
    let has_store = STORE_TABLES.iter().all(|t| tables.iter().any(|x| x == t));
    let has_any_store = STORE_TABLES.iter().any(|t| tables.iter().any(|x| x == t));
    match (version, has_store, has_any_store) {
        // Empty, or only the tree's, MO's or client's tables so far.
        (0, _, false) => Ok(()),
        // A store made before the application id.
        (v, true, _) if v >= 1 => Ok(()),
        _ => Err(foreign(format!(
            "not a dmsched store (schema version {version} with tables {})",
            tables.join(", ")
        ))),
    }
}

fn corrupt_or(path: &str, e: rusqlite::Error) -> StoreError {
    use rusqlite::ffi::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_string(),
            detail: e.to_string(),
        },
        _ => StoreError::Sqlite(e),
    }
}

/// One atomic state change.
pub struct Tx<'a> {
    tx: Option<Inner<'a>>,
    touched: &'a std::cell::RefCell<Option<std::collections::BTreeSet<i64>>>,
    poisoned: &'a std::cell::Cell<bool>,
}

/// A transaction of its own, or a part of a batch's.
enum Inner<'a> {
    Own(rusqlite::Transaction<'a>),
    Batch(&'a Connection),
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // An own transaction rolls itself back; a batch's part cannot.
        if let Some(Inner::Batch(_)) = self.tx {
            self.poisoned.set(true);
        }
    }
}

impl Tx<'_> {
    /// The connection the statements run on.
    fn conn(&self) -> &Connection {
        match self.tx.as_ref() {
            Some(Inner::Own(t)) => t,
            Some(Inner::Batch(c)) => c,
            None => unreachable!("a Tx is used only before its commit"),
        }
    }

    fn touch(&self, sid: i64) {
        if let Some(t) = self.touched.borrow_mut().as_mut() {
            t.insert(sid);
        }
    }

    /// Makes the change durable (in a batch: part of it, durable at its
    /// next flush).
    pub fn commit(mut self) -> Result<(), StoreError> {
        match self.tx.take() {
            Some(Inner::Own(t)) => t.commit()?,
            Some(Inner::Batch(_)) | None => {}
        }
        Ok(())
    }
}

impl StoreError {
    /// The kind every binding reports ([`crate::ErrorKind`]).
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            StoreError::Corrupt { .. } => crate::ErrorKind::CorruptStore,
            StoreError::TooNew { .. } => crate::ErrorKind::IncompatibleStore,
            StoreError::EmptyPath => crate::ErrorKind::InvalidArgument,
            _ => crate::ErrorKind::Storage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: jiff::Timestamp = jiff::Timestamp::UNIX_EPOCH;

    #[test]
    fn reopening_restores_schedules_tasks_and_journal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut s = Store::open(&path).unwrap();
            let tx = s.tx().unwrap();
            let sid = tx
                .insert_schedule("srv", "a", "{}", "active", "2026-01-01T00:00:00Z")
                .unwrap();
            tx.put_task(sid, 0, "{\"seq\":3}", Some((5, 7)), "e\tboot")
                .unwrap();
            tx.journal_start(sid, 0, 3, 0, "2026-01-01T00:00:00Z")
                .unwrap();
            tx.commit().unwrap();
        }
        let s = Store::open(&path).unwrap();
        let snap = s.snapshot().unwrap();
        assert_eq!(snap.schedules.len(), 1);
        assert_eq!(snap.schedules[0].owner, "srv");
        assert_eq!(snap.tasks[0].state, "{\"seq\":3}");
        assert_eq!(snap.in_flight.len(), 1);
        assert_eq!(snap.in_flight[0].seq, 3);
        let ix = s.task_index().unwrap();
        assert_eq!(ix[0].wake, Some((5, 7)));
        assert_eq!(ix[0].watch, "e\tboot");
        let (row, states) = s.load_schedule(ix[0].sid).unwrap();
        assert_eq!(row.doc, "{}");
        assert_eq!(row.owner, "srv");
        assert_eq!(states, vec![(0, "{\"seq\":3}".to_string())]);
    }

    /// Writes are recorded only once someone asks, and each call drains.
    #[test]
    fn touched_schedules_are_recorded_from_the_first_take_on() {
        let mut s = Store::open_in_memory().unwrap();
        let tx = s.tx().unwrap();
        let a = tx.insert_schedule("srv", "a", "{}", "active", "t").unwrap();
        tx.commit().unwrap();
        assert!(
            s.take_touched().is_empty(),
            "not recorded before the first call"
        );
        let tx = s.tx().unwrap();
        tx.set_state(a, "suspended", None).unwrap();
        let b = tx.insert_schedule("srv", "b", "{}", "active", "t").unwrap();
        tx.commit().unwrap();
        assert_eq!(s.take_touched().into_iter().collect::<Vec<_>>(), [a, b]);
        assert!(s.take_touched().is_empty());
    }

    #[test]
    fn uncommitted_transaction_leaves_store_unchanged() {
        let mut s = Store::open_in_memory().unwrap();
        {
            let tx = s.tx().unwrap();
            tx.insert_schedule("srv", "a", "{}", "active", "t").unwrap();
        }
        assert!(s.snapshot().unwrap().schedules.is_empty());
    }

    #[test]
    fn corrupt_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::write(&path, vec![0x42u8; 8192]).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x42u8; 8192]);
    }

    #[test]
    fn read_only_open_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut s = Store::open(&path).unwrap();
            let tx = s.tx().unwrap();
            tx.insert_schedule("srv", "a", "{}", "active", "t").unwrap();
            tx.commit().unwrap();
        }
        let before = std::fs::read(&path).unwrap();
        let mut s = Store::open_read_only(&path).unwrap();
        assert_eq!(s.schedule_heads().unwrap().len(), 1);
        let tx = s.tx().unwrap();
        assert!(tx.insert_schedule("srv", "b", "{}", "active", "t").is_err());
        drop(tx);
        drop(s);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        assert!(Store::open_read_only(&dir.path().join("absent.db")).is_err());
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err}");
    }

    /// Report identity: a store of the previous version (schema 1) with
    /// a queued report and an eviction count opens with both given a
    /// stable id (different ones) and a creation time (the engine's last
    /// known time), the same on every later open; new reports get new ids.
    #[test]
    fn a_version_2_store_keeps_its_journal_and_never_reuses_a_run_id() {
        // Issue 15: a run id (journal entry) is what a host completes a long
        // action with; after the upgrade no id is ever issued twice.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let c = Connection::open(&path).unwrap();
            migrate_schema(&c, VersionIn::UserVersion, &schema::MIGRATIONS[..2]).unwrap();
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            c.execute_batch(
                "INSERT INTO journal (fid, sid, tidx, seq, attempt, started_at)
                 VALUES (5, 1, 0, 3, 0, '2026-12-01T12:00:00Z');",
            )
            .unwrap();
        }
        let mut s = Store::open(&path).unwrap();
        let kept = s.in_flight().unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!((kept[0].fid, kept[0].seq), (5, 3));
        let mut seen = vec![5];
        for _ in 0..3 {
            // The newest entry finishes before the next starts: without
            // AUTOINCREMENT SQLite would hand out its id again.
            let tx = s.tx().unwrap();
            tx.journal_finish(*seen.last().unwrap()).unwrap();
            let fid = tx
                .journal_start(1, 0, 4, 0, "2026-12-01T13:00:00Z")
                .unwrap();
            tx.commit().unwrap();
            assert!(
                !seen.contains(&fid) && fid > 5,
                "id {fid} issued again ({seen:?})"
            );
            seen.push(fid);
        }
    }

    #[test]
    fn a_version_1_store_gives_its_queued_reports_an_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let c = Connection::open(&path).unwrap();
            migrate_schema(&c, VersionIn::UserVersion, &schema::MIGRATIONS[..1]).unwrap();
            c.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            c.execute_batch(
                "INSERT INTO meta (key, value) VALUES ('last_now', '2026-12-01T12:05:00Z');
                 INSERT INTO outbox (owner, body) VALUES ('srv', '{\"due\": \"2026-12-01T12:00:00Z\"}');
                 INSERT INTO outbox_dropped (owner, count) VALUES ('srv', 4);",
            )
            .unwrap();
        }
        let (row, dropped) = {
            let s = Store::open(&path).unwrap();
            let rows = s.pending_reports(None, 10).unwrap();
            assert_eq!(rows.len(), 1);
            (rows[0].clone(), s.dropped("srv").unwrap().unwrap())
        };
        assert_eq!(row.report_id.len(), 32);
        assert!(row.report_id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(row.created, "2026-12-01T12:05:00Z");
        assert_eq!(dropped.count, 4);
        assert_eq!(dropped.report_id.len(), 32);
        assert_ne!(dropped.report_id, row.report_id);
        let mut s = Store::open(&path).unwrap();
        assert_eq!(
            s.pending_reports(None, 10).unwrap(),
            std::slice::from_ref(&row)
        );
        assert_eq!(s.dropped("srv").unwrap(), Some(dropped));
        let tx = s.tx().unwrap();
        let new = tx.push_report("srv", "{}", 10, T).unwrap();
        tx.commit().unwrap();
        assert_ne!(new.report_id, row.report_id);
        assert_eq!(
            s.pending_reports(None, 10).unwrap()[1].created,
            T.to_string()
        );
    }

    #[test]
    fn outbox_evicts_oldest_first_and_counts_drops_per_owner() {
        let mut s = Store::open_in_memory().unwrap();
        let tx = s.tx().unwrap();
        for i in 0..5 {
            let owner = if i % 2 == 0 { "a" } else { "b" };
            tx.push_report(owner, &format!("r{i}"), 3, T).unwrap();
        }
        tx.commit().unwrap();
        let left: Vec<String> = s
            .pending_reports(None, 10)
            .unwrap()
            .into_iter()
            .map(|r| r.body)
            .collect();
        assert_eq!(left, ["r2", "r3", "r4"]);
        assert_eq!(s.dropped_reports("a").unwrap(), 1);
        assert_eq!(s.dropped_reports("b").unwrap(), 1);
    }

    #[test]
    fn report_ids_are_never_reused_after_the_outbox_empties() {
        let mut s = Store::open_in_memory().unwrap();
        let tx = s.tx().unwrap();
        let first = tx.push_report("a", "x", 10, T).unwrap().rid;
        tx.ack_reports("a", &[first]).unwrap();
        let second = tx.push_report("a", "y", 10, T).unwrap().rid;
        tx.commit().unwrap();
        assert!(
            second > first,
            "a stale ack of {first} must not remove the new report"
        );
    }

    #[test]
    fn ack_removes_only_the_owners_reports() {
        let mut s = Store::open_in_memory().unwrap();
        let tx = s.tx().unwrap();
        let ra = tx.push_report("a", "x", 10, T).unwrap().rid;
        let rb = tx.push_report("b", "y", 10, T).unwrap().rid;
        tx.commit().unwrap();
        let tx = s.tx().unwrap();
        assert_eq!(tx.ack_reports("a", &[ra, rb]).unwrap(), 1);
        tx.commit().unwrap();
        let left = s.pending_reports(None, 10).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].rid, rb);
    }
}
