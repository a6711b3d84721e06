//! The MO nodes of schedules installed node by node: staged ones (Added
//! outside an Atomic, waiting for `Operations/Activate`) and installed ones
//! (kept so that Gets show what the server wrote), in memory and, when the
//! MO is given the store file, in its own tables of that SQLite file
//! (`mo_schedules`, `mo_nodes`, versioned by `mo_schema`), on its own
//! connection like `dm::state`.
//!
//! Writes happen in [`super::Scheduling::settle`], never inside a tree
//! command: the tree holds a write transaction on the same file while it
//! calls the plug-in. The DM client settles after every command, before
//! the command's Status is sent, so an acknowledged Add is durable.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use super::nodes::{Node, Nodes};
use crate::tree::Format;

/// Where a node-installed schedule stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Added node by node, not submitted yet (State 10).
    Staged,
    /// Verified and queued for the engine; becomes `Installed` (or goes
    /// away, or back to `Staged`) when [`super::Scheduling::settle`] applies it.
    Installing,
    /// In the engine; the nodes are what Gets show.
    Installed,
}

/// One schedule's MO nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MoSched {
    /// The server that Added `<S>`.
    pub owner: String,
    pub phase: Phase,
    pub nodes: Nodes,
    /// Was staged before it was queued (an engine refusal puts it back).
    pub was_staged: bool,
}

/// The staging persistence failed.
#[derive(Debug, thiserror::Error)]
#[error("Scheduling MO staging: {0}")]
pub(crate) struct StagingError(#[from] pub rusqlite::Error);

const MIGRATIONS: &[&str] = &[
    // 1: node-installed schedules and their nodes.
    "CREATE TABLE mo_schedules (
        id     TEXT PRIMARY KEY,
        owner  TEXT NOT NULL,
        phase  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE mo_nodes (
        id     TEXT NOT NULL,
        path   TEXT NOT NULL,
        format TEXT NOT NULL,
        mime   TEXT,
        value  BLOB NOT NULL,
        PRIMARY KEY (id, path)
    ) WITHOUT ROWID;",
    // 2: ACLs of schedules (`<S>?prop=ACL`), with the owner they were set
    // under (a schedule id reused by another server does not inherit them).
    "CREATE TABLE mo_acl (
        id     TEXT PRIMARY KEY,
        owner  TEXT NOT NULL,
        acl    TEXT NOT NULL
    ) WITHOUT ROWID;",
];

/// The persistent side (absent: memory only).
pub(crate) struct Staging {
    conn: Option<Mutex<Connection>>,
}

impl Staging {
    /// Memory only: staged schedules do not survive the process.
    pub fn memory() -> Staging {
        Staging { conn: None }
    }

    /// Opens (creating) the tables in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Staging, StagingError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let tx = conn.transaction()?;
        tx.execute_batch("CREATE TABLE IF NOT EXISTS mo_schema (version INTEGER NOT NULL)")?;
        let version: i64 = tx
            .query_row("SELECT version FROM mo_schema", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if version > MIGRATIONS.len() as i64 {
            return Err(StagingError(rusqlite::Error::InvalidParameterName(
                format!(
                    "MO schema {version} is newer than this build ({})",
                    MIGRATIONS.len()
                ),
            )));
        }
        for sql in &MIGRATIONS[version as usize..] {
            tx.execute_batch(sql)?;
        }
        tx.execute("DELETE FROM mo_schema", [])?;
        tx.execute(
            "INSERT INTO mo_schema (version) VALUES (?1)",
            [MIGRATIONS.len() as i64],
        )?;
        tx.commit()?;
        Ok(Staging {
            conn: Some(Mutex::new(conn)),
        })
    }

    /// Every stored schedule.
    pub fn load(&self) -> Result<BTreeMap<String, MoSched>, StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(BTreeMap::new());
        };
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = BTreeMap::new();
        let mut st = c.prepare("SELECT id, owner, phase FROM mo_schedules")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, owner, phase) = row?;
            let phase = if phase == "installed" {
                Phase::Installed
            } else {
                Phase::Staged
            };
            out.insert(
                id,
                MoSched {
                    owner,
                    phase,
                    nodes: Nodes::new(),
                    was_staged: phase == Phase::Staged,
                },
            );
        }
        let mut st = c.prepare("SELECT id, path, format, mime, value FROM mo_nodes")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
            ))
        })?;
        for row in rows {
            let (id, path, format, mime, value) = row?;
            let Some(s) = out.get_mut(&id) else { continue };
            let node = match Format::parse(&format) {
                Ok(Format::Node) => Node::Interior,
                Ok(format) => Node::Leaf {
                    format,
                    mime,
                    data: value,
                },
                Err(_) => continue,
            };
            s.nodes.insert(path, node);
        }
        Ok(out)
    }

    /// Every stored schedule ACL: id → (owner, ACL text).
    pub fn load_acls(&self) -> Result<BTreeMap<String, (String, String)>, StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(BTreeMap::new());
        };
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = c.prepare("SELECT id, owner, acl FROM mo_acl")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?;
        rows.collect::<Result<_, _>>().map_err(StagingError)
    }

    /// Writes these schedule ACLs (`None`: back to the default) in one
    /// transaction.
    pub fn save_acls(
        &self,
        changes: &[(String, Option<(String, String)>)],
    ) -> Result<(), StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(());
        };
        if changes.is_empty() {
            return Ok(());
        }
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        for (id, a) in changes {
            tx.execute("DELETE FROM mo_acl WHERE id = ?1", [id])?;
            if let Some((owner, acl)) = a {
                tx.execute(
                    "INSERT INTO mo_acl (id, owner, acl) VALUES (?1, ?2, ?3)",
                    params![id, owner, acl],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes these schedules (`None`: forget it) in one transaction.
    /// `Installing` ones keep what is stored.
    pub fn save(&self, changes: &[(String, Option<MoSched>)]) -> Result<(), StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(());
        };
        if changes.is_empty() {
            return Ok(());
        }
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        for (id, s) in changes {
            let phase = match s.as_ref().map(|s| s.phase) {
                Some(Phase::Installing) => continue,
                Some(Phase::Staged) => Some("staged"),
                Some(Phase::Installed) => Some("installed"),
                None => None,
            };
            tx.execute("DELETE FROM mo_nodes WHERE id = ?1", [id])?;
            tx.execute("DELETE FROM mo_schedules WHERE id = ?1", [id])?;
            let (Some(s), Some(phase)) = (s, phase) else {
                continue;
            };
            tx.execute(
                "INSERT INTO mo_schedules (id, owner, phase) VALUES (?1, ?2, ?3)",
                params![id, s.owner, phase],
            )?;
            for (path, n) in &s.nodes {
                let (format, mime, value): (&str, Option<&str>, &[u8]) = match n {
                    Node::Interior => ("node", None, &[]),
                    Node::Leaf { format, mime, data } => (format.as_str(), mime.as_deref(), data),
                };
                tx.execute(
                    "INSERT INTO mo_nodes (id, path, format, mime, value) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![id, path, format, mime, value],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_nodes_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut nodes = Nodes::new();
        nodes.insert("Tasks".into(), Node::Interior);
        nodes.insert("Name".into(), Node::chr("n"));
        let s = MoSched {
            owner: "srv".into(),
            phase: Phase::Staged,
            nodes,
            was_staged: true,
        };
        {
            let st = Staging::open(&path).unwrap();
            st.save(&[("S1".into(), Some(s.clone())), ("S2".into(), None)])
                .unwrap();
        }
        let st = Staging::open(&path).unwrap();
        let back = st.load().unwrap();
        assert_eq!(back.get("S1"), Some(&s));
        st.save(&[("S1".into(), None)]).unwrap();
        assert!(st.load().unwrap().is_empty());
    }

    #[test]
    fn schedule_acls_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let a = ("alpha".to_string(), "Get=alpha+beta".to_string());
        {
            let st = Staging::open(&path).unwrap();
            st.save_acls(&[
                ("S1".into(), Some(a.clone())),
                ("S2".into(), Some(a.clone())),
            ])
            .unwrap();
            st.save_acls(&[("S2".into(), None)]).unwrap();
        }
        let st = Staging::open(&path).unwrap();
        let back = st.load_acls().unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back.get("S1"), Some(&a));
    }
}
