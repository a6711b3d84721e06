//! Versioned schema migrations, applied in order inside one transaction.
//!
//! The version lives in `PRAGMA user_version`. A migration is never edited
//! once released; a change is a new migration appended to [`MIGRATIONS`].

use rusqlite::Connection;

use super::StoreError;

/// Migration `i` brings the schema from version `i` to `i + 1`.
pub(crate) const MIGRATIONS: &[&str] = &[
    // 1: schedules, per-task state (with its next wake-up, in nanoseconds
    // since the epoch, and the events/URIs it watches, so that a restart
    // rebuilds the indexes without reading documents), firing journal,
    // report outbox. (owner, id) is unique among schedules; the engine
    // enforces it in memory, so no index is kept for it: one B-tree fewer
    // to write on every submit.
    "CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE schedules (
        sid         INTEGER PRIMARY KEY,
        owner       TEXT NOT NULL,
        id          TEXT NOT NULL,
        doc         TEXT NOT NULL,
        state       TEXT NOT NULL,
        reason      TEXT,
        accepted_at TEXT NOT NULL
    );
    CREATE TABLE tasks (
        sid    INTEGER NOT NULL REFERENCES schedules(sid) ON DELETE CASCADE,
        tidx   INTEGER NOT NULL,
        state  TEXT NOT NULL,
        wake   INTEGER,
        latest INTEGER,
        watch  TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (sid, tidx)
    ) WITHOUT ROWID;
    CREATE TABLE journal (
        fid        INTEGER PRIMARY KEY,
        sid        INTEGER NOT NULL,
        tidx       INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        attempt    INTEGER NOT NULL,
        started_at TEXT NOT NULL
    );
    CREATE TABLE outbox (
        rid    INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a late ack cannot hit a newer report
        owner  TEXT NOT NULL,
        body   TEXT NOT NULL
    );
    CREATE INDEX outbox_owner ON outbox(owner, rid);
    CREATE TABLE outbox_dropped (
        owner TEXT PRIMARY KEY,
        count INTEGER NOT NULL
    ) WITHOUT ROWID;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database to [`SCHEMA_VERSION`]; refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
    }
    tx.commit()?;
    Ok(())
}
