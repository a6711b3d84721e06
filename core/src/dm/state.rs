//! The DM client's own durable state, in the store's SQLite file next to
//! the scheduling and tree tables (own tables, own migrations): client
//! alerts waiting for a session (1224, 1226) and the package #0
//! notifications already accepted (replay protection).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::session::ClientAlert;
use super::syncml::{Data, Item, Locus, Meta};

/// The client state could not be read or written.
#[derive(Debug, thiserror::Error)]
#[error("DM client state: {0}")]
pub struct StateError(String);

impl From<rusqlite::Error> for StateError {
    fn from(e: rusqlite::Error) -> StateError {
        StateError(e.to_string())
    }
}

const MIGRATIONS: &[&str] = &[
    // 1: queued client alerts, and accepted notifications.
    "CREATE TABLE dm_alerts (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        server_id  TEXT NOT NULL,
        code       INTEGER NOT NULL,
        correlator TEXT,
        source     TEXT,
        target     TEXT,
        mtype      TEXT,
        mformat    TEXT,
        mark       TEXT,
        data       TEXT NOT NULL
    );
    CREATE INDEX dm_alerts_server ON dm_alerts(server_id, id);
    CREATE TABLE dm_pkg0_seen (
        server_id TEXT NOT NULL,
        key       BLOB NOT NULL,
        seq       INTEGER NOT NULL,
        PRIMARY KEY (server_id, key)
    ) WITHOUT ROWID;",
];

/// How many accepted notifications are remembered per server.
const SEEN_KEPT: i64 = 256;

/// Durable DM client state.
pub struct ClientState {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState").finish_non_exhaustive()
    }
}

/// A queued alert with its id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueuedAlert {
    /// Queue id (for [`ClientState::remove_alerts`]).
    pub id: i64,
    /// The alert.
    pub alert: ClientAlert,
}

impl ClientState {
    /// Opens (creating) the state in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<ClientState, StateError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// A private in-memory state (tests).
    pub fn open_in_memory() -> Result<ClientState, StateError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<ClientState, StateError> {
        use crate::store::{MigrateError, VersionIn, migrate_schema};
        let tx = conn.transaction()?;
        migrate_schema(&tx, VersionIn::Table("dm_schema"), MIGRATIONS).map_err(|e| match e {
            MigrateError::TooNew { found, supported } => StateError(format!(
                "DM client schema {found} is newer than this build ({supported})"
            )),
            MigrateError::Sqlite(e) => e.into(),
        })?;
        tx.commit()?;
        Ok(ClientState {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StateError> {
        self.conn
            .lock()
            .map_err(|_| StateError("lock poisoned".into()))
    }

    /// Queues an alert for the next session with `server_id` (durable when
    /// this returns).
    pub fn queue_alert(&self, server_id: &str, a: &ClientAlert) -> Result<i64, StateError> {
        let c = self.conn()?;
        let meta = a.item.meta.clone().unwrap_or_default();
        c.execute(
            "INSERT INTO dm_alerts (server_id, code, correlator, source, target, mtype, mformat, mark, data)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                server_id,
                a.code,
                a.correlator,
                a.item.source.as_ref().map(|l| &l.loc_uri),
                a.item.target.as_ref().map(|l| &l.loc_uri),
                meta.type_,
                meta.format,
                meta.mark,
                a.item.data.as_ref().map(|d| d.to_text().into_owned()).unwrap_or_default(),
            ],
        )?;
        Ok(c.last_insert_rowid())
    }

    /// The alerts waiting for `server_id`, oldest first.
    pub fn alerts(&self, server_id: &str) -> Result<Vec<QueuedAlert>, StateError> {
        let c = self.conn()?;
        let mut st = c.prepare(
            "SELECT id, code, correlator, source, target, mtype, mformat, mark, data
             FROM dm_alerts WHERE server_id = ?1 ORDER BY id",
        )?;
        let rows = st.query_map([server_id], |r| {
            let meta = Meta {
                type_: r.get(5)?,
                format: r.get(6)?,
                mark: r.get(7)?,
                ..Meta::default()
            };
            Ok(QueuedAlert {
                id: r.get(0)?,
                alert: ClientAlert {
                    code: r.get(1)?,
                    correlator: r.get(2)?,
                    item: Item {
                        source: r.get::<_, Option<String>>(3)?.map(Locus::uri),
                        target: r.get::<_, Option<String>>(4)?.map(Locus::uri),
                        meta: (!meta.is_empty()).then_some(meta),
                        data: Some(Data::Text(r.get(8)?)),
                        more_data: false,
                    },
                },
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(Into::into)
    }

    /// Drops delivered alerts.
    pub fn remove_alerts(&self, ids: &[i64]) -> Result<(), StateError> {
        let mut c = self.conn()?;
        let tx = c.transaction()?;
        for id in ids {
            tx.execute("DELETE FROM dm_alerts WHERE id = ?1", [id])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records an accepted notification; `false` if it was seen before (a
    /// replay). Durable when this returns.
    pub fn accept_notification(&self, server_id: &str, key: &[u8]) -> Result<bool, StateError> {
        let mut c = self.conn()?;
        let tx = c.transaction()?;
        let seen: Option<i64> = tx
            .query_row(
                "SELECT seq FROM dm_pkg0_seen WHERE server_id = ?1 AND key = ?2",
                params![server_id, key],
                |r| r.get(0),
            )
            .optional()?;
        if seen.is_some() {
            return Ok(false);
        }
        let next: i64 = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM dm_pkg0_seen WHERE server_id = ?1",
            [server_id],
            |r| r.get(0),
        )?;
        tx.execute(
            "INSERT INTO dm_pkg0_seen (server_id, key, seq) VALUES (?1, ?2, ?3)",
            params![server_id, key, next],
        )?;
        tx.execute(
            "DELETE FROM dm_pkg0_seen WHERE server_id = ?1 AND seq <= ?2",
            params![server_id, next - SEEN_KEPT],
        )?;
        tx.commit()?;
        Ok(true)
    }
}
