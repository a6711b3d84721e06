//! One store, one engine; a foreign file is refused and left untouched; an
//! empty path is refused (issue 13 items 5 and 6; persistence 6.1.7.3).
//!
//! The cross-process case re-executes this test binary with
//! `DMSCHED_GUARD_CHILD` set (the `guard_child` test), as crash_safety does.

mod common;

use std::path::Path;
use std::process::Command;

use common::{World, cfg, doc, ts};
use dmsched::store::{APPLICATION_ID, Store, StoreError};
use dmsched::{Engine, EngineError};
use rusqlite::Connection;

const EVERY_MINUTE: &str = r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#;

fn assert_in_use<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    match r {
        Err(StoreError::InUse { path }) => assert!(!path.is_empty()),
        other => panic!("expected InUse, got {other:?}"),
    }
}

/// Issue 13 item 5: two engines opened on one file in one process. The
/// second open fails with "in use", so it can neither run an at-most-once
/// occurrence a second time nor store a second `srv/dup`.
#[test]
fn a_second_engine_on_a_store_in_use_is_refused() {
    let _serial = no_child_forked();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let world = World::new();
    let mut a = Engine::open(Store::open(&path).unwrap(), world.host(), cfg()).unwrap();
    a.submit(
        "srv",
        &doc("dup", EVERY_MINUTE, ""),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();

    assert_in_use(Store::open(&path));
    let msg = Store::open(&path).unwrap_err().to_string();
    assert!(msg.contains("in use"), "{msg}");
    // Through a different spelling of the same file, too.
    let dotted = dir.path().join(".").join("s.db");
    assert_in_use(Store::open(&dotted));

    // Dropping the engine releases the store; the schedule is there once.
    drop(a);
    let mut b = Engine::open(Store::open(&path).unwrap(), world.host(), cfg()).unwrap();
    assert_eq!(b.list_all().unwrap().len(), 1);
    drop(b);

    // Inspection reads without a lock, next to a live engine.
    let _live = Store::open(&path).unwrap();
    let ro = Store::open_read_only(&path).unwrap();
    assert_eq!(ro.schedule_heads().unwrap().len(), 1);
}

/// The child half of the cross-process test: opens the store named by
/// `DMSCHED_GUARD_CHILD` and exits 0 when it was refused as in use, 1 when
/// it opened, 2 on any other error.
#[test]
fn guard_child() {
    let Some(path) = std::env::var_os("DMSCHED_GUARD_CHILD") else {
        return;
    };
    let code = match Store::open(Path::new(&path)) {
        Err(StoreError::InUse { .. }) => 0,
        Ok(_) => 1,
        Err(_) => 2,
    };
    std::process::exit(code);
}

/// A child process shares the parent's open files between its fork and its
/// exec, and with them the store's lock: a test that checks the lock is
/// released when an engine is dropped must not overlap a spawn.
static FORKS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn no_child_forked() -> std::sync::MutexGuard<'static, ()> {
    FORKS.lock().unwrap_or_else(|p| p.into_inner())
}

fn child_open(path: &Path) -> i32 {
    let _serial = no_child_forked();
    Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "guard_child", "--nocapture", "--test-threads=1"])
        .env("DMSCHED_GUARD_CHILD", path)
        .status()
        .unwrap()
        .code()
        .unwrap()
}

/// Issue 13 item 5, across processes: while this process has the store
/// open, another process is refused; after the close it may open it.
#[test]
fn another_process_cannot_open_a_store_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let store = Store::open(&path).unwrap();
    assert_eq!(child_open(&path), 0, "the other process was not refused");
    drop(store);
    assert_eq!(child_open(&path), 1, "the store stayed locked after close");
}

/// A SQLite file of another application: its tables, its contents.
fn foreign_db(path: &Path, sql: &str) -> Vec<u8> {
    let c = Connection::open(path).unwrap();
    c.execute_batch(sql).unwrap();
    drop(c);
    std::fs::read(path).unwrap()
}

fn assert_foreign_refused_untouched(path: &Path, before: &[u8]) {
    let err = Store::open(path).unwrap_err();
    match &err {
        StoreError::Corrupt { detail, .. } => {
            assert!(detail.contains("not a dmsched store"), "{detail}");
            assert!(
                !detail.contains("CREATE TABLE"),
                "no SQL in the message: {detail}"
            );
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(std::fs::read(path).unwrap(), before, "the file was altered");
    let wal = path.with_extension("db-wal");
    assert!(
        !wal.exists(),
        "a WAL file appeared: the journal mode was switched"
    );
    // The engine refuses it the same way.
    let e = Store::open(path).map(|s| Engine::open(s, World::new().host(), cfg()));
    assert!(matches!(e, Err(StoreError::Corrupt { .. })));
}

/// Issue 13 item 6: another app's database (its own tables) opened as a
/// store is refused with the corrupt/foreign status and stays
/// byte-identical: no dmsched tables, no WAL mode.
#[test]
fn a_foreign_sqlite_file_is_refused_and_left_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("contacts.db");
    let before = foreign_db(
        &path,
        "CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT);
         INSERT INTO contacts (name) VALUES ('Ada'), ('Grace');",
    );
    assert_foreign_refused_untouched(&path, &before);
}

/// Issue 13 item 6: a foreign file whose only table is called `meta` (a
/// name the store uses too) is refused before any write, not half-migrated.
#[test]
fn a_foreign_file_with_its_own_meta_table_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.db");
    let before = foreign_db(
        &path,
        "CREATE TABLE meta (k TEXT, v TEXT); INSERT INTO meta VALUES ('a', 'b');",
    );
    assert_foreign_refused_untouched(&path, &before);
}

/// Another application's id in the SQLite header is refused, even with
/// tables whose names look like ours.
#[test]
fn a_file_with_another_application_id_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let before = foreign_db(
        &path,
        "PRAGMA application_id = 1234; CREATE TABLE schedules (x);",
    );
    assert_foreign_refused_untouched(&path, &before);
}

/// A file that is not SQLite at all is refused and left as it was.
#[test]
fn a_text_file_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let before = b"these are not the tables you are looking for\n".repeat(200);
    std::fs::write(&path, &before).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// A new store carries the application id; a store made before the id
/// existed (no id, schema 1, the store's tables) is still opened and gets
/// it; an empty file is a new store.
#[test]
fn dmsched_stores_old_and_new_and_empty_files_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path).unwrap());
    let id: i32 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);

    // An older store: clear the id again.
    Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA application_id = 0")
        .unwrap();
    drop(Store::open(&path).unwrap());
    let id: i32 = Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(id, APPLICATION_ID);

    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    drop(Store::open(&empty).unwrap());
}

/// Issue 13 item 6: an empty path would be SQLite's temporary database,
/// gone at close; it is refused, and so is the engine on it.
#[test]
fn an_empty_store_path_is_refused() {
    assert!(matches!(
        Store::open(Path::new("")),
        Err(StoreError::EmptyPath)
    ));
    let e: Result<Engine, EngineError> = Store::open(Path::new(""))
        .map_err(EngineError::from)
        .and_then(|s| Engine::open(s, World::new().host(), cfg()));
    assert!(e.unwrap_err().to_string().contains("empty"));
}
