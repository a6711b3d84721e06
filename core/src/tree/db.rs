//! The tree's SQLite tables, in the same file as the scheduling store.
//!
//! The tree opens its own connection (WAL, `synchronous = FULL`, busy
//! timeout) and owns only tables prefixed `tree_`. Its schema version is
//! the single row of `tree_schema`, independent of `PRAGMA user_version`,
//! which belongs to [`crate::store`]; so either may open the file first.
//!
//! One row per stored node, keyed by its normalised URI. A subtree is the
//! key range `uri = U OR uri BETWEEN U || '/' AND U || '0'` (`'0'` is the
//! byte after `'/'`).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::error::TreeError;
use super::format::Format;
use super::uri::Uri;

/// Migration `i` brings the tree tables from version `i` to `i + 1`. A
/// released migration is never edited; changes are appended.
const MIGRATIONS: &[&str] = &[
    // 1: nodes. `parent` is NULL for the root; `acl` is '' when inherited;
    // `value` is NULL for interior nodes.
    "CREATE TABLE tree_nodes (
        uri    TEXT PRIMARY KEY,
        parent TEXT,
        name   TEXT NOT NULL,
        format TEXT NOT NULL,
        mime   TEXT,
        value  BLOB,
        acl    TEXT NOT NULL DEFAULT '',
        title  TEXT,
        tstamp TEXT NOT NULL,
        verno  INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    CREATE INDEX tree_nodes_parent ON tree_nodes(parent, name);",
];

/// The tree schema version this build writes.
pub const TREE_SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// A stored node.
#[derive(Clone)]
pub(crate) struct NodeRow {
    pub uri: Uri,
    pub format: Format,
    pub mime: Option<String>,
    pub value: Vec<u8>,
    /// Stored ACL text ('' = inherit).
    pub acl: String,
    pub title: Option<String>,
    pub tstamp: String,
    pub verno: u16,
}

impl NodeRow {
    pub fn is_interior(&self) -> bool {
        self.format == Format::Node
    }
}

/// The tree's connection.
pub(crate) struct Db {
    conn: Connection,
}

impl Db {
    pub fn open(path: &Path) -> Result<Db, TreeError> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Db::init(conn)
    }

    pub fn open_in_memory() -> Result<Db, TreeError> {
        Db::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Db, TreeError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // Freed pages are zeroed: a secret moved to the secret store (or a
        // deleted account) does not linger in the file.
        conn.pragma_update(None, "secure_delete", "ON")?;
        let db = Db { conn };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&self) -> Result<(), TreeError> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        let r = self.migrate_in_tx();
        match r {
            Ok(()) => self.conn.execute_batch("COMMIT")?,
            Err(_) => {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
        }
        r
    }

    fn migrate_in_tx(&self) -> Result<(), TreeError> {
        use crate::store::{MigrateError, VersionIn, migrate_schema};
        migrate_schema(&self.conn, VersionIn::Table("tree_schema"), MIGRATIONS).map_err(|e| match e
        {
            MigrateError::TooNew { found, supported } => TreeError::TooNew { found, supported },
            MigrateError::Sqlite(e) => e.into(),
        })
    }

    /// Runs a transaction-control statement (`BEGIN IMMEDIATE`, `COMMIT`,
    /// `SAVEPOINT x` …).
    pub fn control(&self, sql: &str) -> Result<(), TreeError> {
        self.conn.execute_batch(sql)?;
        Ok(())
    }

    pub fn node(&self, uri: &Uri) -> Result<Option<NodeRow>, TreeError> {
        let row = self
            .conn
            .prepare_cached(
                "SELECT format, mime, value, acl, title, tstamp, verno FROM tree_nodes WHERE uri = ?1",
            )?
            .query_row([uri.as_str()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .optional()?;
        let Some((format, mime, value, acl, title, tstamp, verno)) = row else {
            return Ok(None);
        };
        Ok(Some(NodeRow {
            uri: uri.clone(),
            format: Format::parse(&format)
                .map_err(|_| TreeError::Failed(format!("stored format {format:?} of {uri}")))?,
            mime,
            value: value.unwrap_or_default(),
            acl,
            title,
            tstamp,
            verno: u16::try_from(verno).unwrap_or(0),
        }))
    }

    pub fn exists(&self, uri: &Uri) -> Result<bool, TreeError> {
        Ok(self
            .conn
            .prepare_cached("SELECT 1 FROM tree_nodes WHERE uri = ?1")?
            .query_row([uri.as_str()], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// The stored ACL text of `uri`, if the node exists.
    pub fn acl(&self, uri: &Uri) -> Result<Option<String>, TreeError> {
        Ok(self
            .conn
            .prepare_cached("SELECT acl FROM tree_nodes WHERE uri = ?1")?
            .query_row([uri.as_str()], |r| r.get(0))
            .optional()?)
    }

    /// Child names of `uri`, in byte order.
    pub fn children(&self, uri: &Uri) -> Result<Vec<String>, TreeError> {
        let mut st = self
            .conn
            .prepare_cached("SELECT name FROM tree_nodes WHERE parent = ?1 ORDER BY name")?;
        let names = st
            .query_map([uri.as_str()], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(names)
    }

    pub fn insert(&self, row: &NodeRow) -> Result<(), TreeError> {
        let parent = row.uri.parent().map(|p| p.as_str().to_string());
        let value = (!row.is_interior()).then_some(&row.value);
        self.conn
            .prepare_cached(
                "INSERT INTO tree_nodes (uri, parent, name, format, mime, value, acl, title, tstamp, verno)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                row.uri.as_str(),
                parent,
                row.uri.name(),
                row.format.as_str(),
                row.mime,
                value,
                row.acl,
                row.title,
                row.tstamp,
                i64::from(row.verno),
            ])?;
        Ok(())
    }

    /// Writes every mutable column of an existing row.
    pub fn update(&self, row: &NodeRow) -> Result<(), TreeError> {
        let value = (!row.is_interior()).then_some(&row.value);
        self.conn
            .prepare_cached(
                "UPDATE tree_nodes SET format = ?2, mime = ?3, value = ?4, acl = ?5, title = ?6,
                 tstamp = ?7, verno = ?8 WHERE uri = ?1",
            )?
            .execute(params![
                row.uri.as_str(),
                row.format.as_str(),
                row.mime,
                value,
                row.acl,
                row.title,
                row.tstamp,
                i64::from(row.verno),
            ])?;
        Ok(())
    }

    /// Sets the TStamp and increments the VerNo (mod 65536) of `uri`.
    pub fn touch(&self, uri: &Uri, tstamp: &str) -> Result<(), TreeError> {
        self.conn
            .prepare_cached(
                "UPDATE tree_nodes SET tstamp = ?2, verno = (verno + 1) % 65536 WHERE uri = ?1",
            )?
            .execute(params![uri.as_str(), tstamp])?;
        Ok(())
    }

    /// Deletes `uri` and its descendants; returns how many rows went.
    pub fn delete_subtree(&self, uri: &Uri) -> Result<usize, TreeError> {
        if uri.is_root() {
            return Ok(self.conn.execute("DELETE FROM tree_nodes", [])?);
        }
        let u = uri.as_str();
        Ok(self
            .conn
            .prepare_cached(
                "DELETE FROM tree_nodes WHERE uri = ?1 OR (uri >= ?1 || '/' AND uri < ?1 || '0')",
            )?
            .execute([u])?)
    }

    /// Descendants of `uri` (not `uri` itself) whose stored ACL is not
    /// empty, with that ACL.
    pub fn descendant_acls(&self, uri: &Uri) -> Result<Vec<(String, String)>, TreeError> {
        let (lo, hi) = range(uri);
        let mut st = self.conn.prepare_cached(
            "SELECT uri, acl FROM tree_nodes WHERE uri >= ?1 AND uri < ?2 AND acl <> ''",
        )?;
        let rows = st
            .query_map([lo, hi], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Every descendant URI of `uri` (not `uri` itself).
    pub fn descendants(&self, uri: &Uri) -> Result<Vec<String>, TreeError> {
        let (lo, hi) = range(uri);
        let mut st = self
            .conn
            .prepare_cached("SELECT uri FROM tree_nodes WHERE uri >= ?1 AND uri < ?2")?;
        let rows = st
            .query_map([lo, hi], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Moves the subtree at `from` to `to` (a sibling name change).
    pub fn rename_subtree(&self, from: &Uri, to: &Uri) -> Result<(), TreeError> {
        let n = from.as_str().len() as i64;
        let (lo, hi) = range(from);
        self.conn.execute(
            "UPDATE tree_nodes SET uri = ?1 || substr(uri, ?2 + 1), parent = ?1 || substr(parent, ?2 + 1)
             WHERE uri >= ?3 AND uri < ?4",
            params![to.as_str(), n, lo, hi],
        )?;
        self.conn.execute(
            "UPDATE tree_nodes SET uri = ?2, name = ?3 WHERE uri = ?1",
            params![from.as_str(), to.as_str(), to.name()],
        )?;
        Ok(())
    }

    /// Length in bytes of the longest URI in the subtree of `uri`.
    pub fn longest_uri_in(&self, uri: &Uri) -> Result<usize, TreeError> {
        let (lo, hi) = range(uri);
        let n: Option<i64> = self.conn.query_row(
            "SELECT max(length(CAST(uri AS BLOB))) FROM tree_nodes WHERE uri >= ?1 AND uri < ?2",
            [lo, hi],
            |r| r.get(0),
        )?;
        Ok(n.map_or(uri.as_str().len(), |n| n as usize))
    }
}

/// The half-open key range of the strict descendants of `uri`.
fn range(uri: &Uri) -> (String, String) {
    let u = uri.as_str();
    (format!("{u}/"), format!("{u}0"))
}
