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
    // 2: report identity. Every queued report gets a stable id (32 hex
    // digits, 128 random bits) and its creation time (RFC 3339, UTC), so
    // a server can recognise a re-delivery; the eviction report of an
    // owner likewise. Reports queued before this version get theirs now:
    // a random id, and as creation time the engine's last known time (the
    // injected clock; the SDK never reads the system clock), else the
    // occurrence's run or due time.
    "ALTER TABLE outbox ADD COLUMN report_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox ADD COLUMN created TEXT NOT NULL DEFAULT '';
    UPDATE outbox SET report_id = lower(hex(randomblob(16))),
        created = coalesce((SELECT value FROM meta WHERE key = 'last_now'),
                           json_extract(body, '$.run_at'), json_extract(body, '$.due'),
                           '1970-01-01T00:00:00Z');
    ALTER TABLE outbox_dropped ADD COLUMN report_id TEXT NOT NULL DEFAULT '';
    ALTER TABLE outbox_dropped ADD COLUMN created TEXT NOT NULL DEFAULT '';
    UPDATE outbox_dropped SET report_id = lower(hex(randomblob(16))),
        created = coalesce((SELECT value FROM meta WHERE key = 'last_now'),
                           '1970-01-01T00:00:00Z');",
    // 3: run ids are never reused. A journal entry's id is the run id a
    // host completes a long action with (`Engine::complete`): a late
    // completion of a timed-out run must not reach a newer one.
    "CREATE TABLE journal_new (
        fid        INTEGER PRIMARY KEY AUTOINCREMENT,
        sid        INTEGER NOT NULL,
        tidx       INTEGER NOT NULL,
        seq        INTEGER NOT NULL,
        attempt    INTEGER NOT NULL,
        started_at TEXT NOT NULL
    );
    INSERT INTO journal_new SELECT fid, sid, tidx, seq, attempt, started_at FROM journal;
    DROP TABLE journal;
    ALTER TABLE journal_new RENAME TO journal;",
    // 4: an eviction report names what was dropped (issue 18, B10): the
    // evicted reports of an owner since its last acknowledgement, newest
    // last, one per line (`schedule/task#seq outcome, report <id>`), the
    // last 32 of them (the count stays exact).
    "ALTER TABLE outbox_dropped ADD COLUMN names TEXT NOT NULL DEFAULT '';",
    // 5: each task's run history (issue 18, B10), one row per finished
    // occurrence (the record as JSON), by task id so that a modify that
    // keeps a task keeps its history; trimmed to the configured length.
    "CREATE TABLE history (
        sid  INTEGER NOT NULL,
        task TEXT NOT NULL,
        seq  INTEGER NOT NULL,
        rec  TEXT NOT NULL,
        PRIMARY KEY (sid, task, seq)
    ) WITHOUT ROWID;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Where a schema keeps its version.
#[derive(Clone, Copy, Debug)]
pub(crate) enum VersionIn {
    /// `PRAGMA user_version` (the engine store's schema).
    UserVersion,
    /// The one row of a table of that name, created if absent (the tree's
    /// `tree_schema`, the MO's `mo_schema`, the DM client's `dm_schema`).
    Table(&'static str),
}

/// Why a migration did not happen.
#[derive(Debug)]
pub(crate) enum MigrateError {
    /// The file holds a newer version of this schema than the build knows.
    TooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// SQLite failed.
    Sqlite(rusqlite::Error),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// The one migration runner of the four schemas that share `dmsched.db`:
/// brings the schema whose version lives in `version` up to
/// `migrations.len()` (migration `i` goes from version `i` to `i + 1`),
/// refusing a newer one. Runs on `conn` as it is: the caller holds the
/// transaction, so the version and the tables change together.
pub(crate) fn migrate_schema(
    conn: &Connection,
    version: VersionIn,
    migrations: &[&str],
) -> Result<(), MigrateError> {
    let supported = migrations.len() as u32;
    let found: u32 = match version {
        VersionIn::UserVersion => conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        VersionIn::Table(table) => {
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {table} (version INTEGER NOT NULL)"
            ))?;
            conn.query_row(&format!("SELECT max(version) FROM {table}"), [], |r| {
                r.get::<_, Option<u32>>(0)
            })?
            .unwrap_or(0)
        }
    };
    if found > supported {
        return Err(MigrateError::TooNew { found, supported });
    }
    if found == supported {
        return Ok(());
    }
    for sql in &migrations[found as usize..] {
        conn.execute_batch(sql)?;
    }
    match version {
        VersionIn::UserVersion => conn.pragma_update(None, "user_version", supported)?,
        VersionIn::Table(table) => {
            conn.execute(&format!("DELETE FROM {table}"), [])?;
            conn.execute(
                &format!("INSERT INTO {table} (version) VALUES (?1)"),
                [supported],
            )?;
        }
    }
    Ok(())
}

/// Brings the store to [`SCHEMA_VERSION`]; refuses a newer one.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    migrate_schema(&tx, VersionIn::UserVersion, MIGRATIONS).map_err(|e| match e {
        MigrateError::TooNew { found, supported } => StoreError::TooNew { found, supported },
        MigrateError::Sqlite(e) => StoreError::Sqlite(e),
    })?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &[&str] = &["CREATE TABLE a (x);", "CREATE TABLE b (y);"];

    #[test]
    fn one_runner_for_version_tables_and_user_version() {
        for version in [VersionIn::Table("t_schema"), VersionIn::UserVersion] {
            let c = Connection::open_in_memory().unwrap();
            migrate_schema(&c, version, &TWO[..1]).unwrap();
            // Migrations already applied are not run again; new ones are.
            migrate_schema(&c, version, &TWO[..1]).unwrap();
            migrate_schema(&c, version, TWO).unwrap();
            let tables: i64 = c
                .query_row(
                    "SELECT count(*) FROM sqlite_schema WHERE name IN ('a', 'b')",
                    [],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(tables, 2, "{version:?}");
            // An older build refuses the newer schema and changes nothing.
            match migrate_schema(&c, version, &TWO[..1]) {
                Err(MigrateError::TooNew {
                    found: 2,
                    supported: 1,
                }) => {}
                other => panic!("{version:?}: {other:?}"),
            }
        }
    }
}
