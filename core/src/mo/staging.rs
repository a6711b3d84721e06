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

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, params};

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

/// A schedule in the MO: the server that installed it and its id. Ids are
/// unique per owner, not per device: each authority has its own namespace
/// (6.3.1.5), so two servers may both have a schedule `S1`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Key {
    pub owner: String,
    pub id: String,
}

impl Key {
    pub fn new(owner: &str, id: &str) -> Key {
        Key {
            owner: owner.to_string(),
            id: id.to_string(),
        }
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {}", self.id, self.owner)
    }
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
    // 3: schedules seen live (to report their automatic end once) and the
    // state reports waiting for their owner.
    "CREATE TABLE mo_live (
        id     TEXT PRIMARY KEY,
        owner  TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE mo_outbox (
        rid    INTEGER PRIMARY KEY AUTOINCREMENT,
        owner  TEXT NOT NULL,
        source TEXT NOT NULL,
        type   TEXT NOT NULL,
        mark   TEXT NOT NULL,
        data   TEXT NOT NULL
    );",
    // 4: one namespace per authority (6.3.1.5): schedules, their nodes,
    // ACLs and the live set are keyed by (owner, id).
    "CREATE TABLE mo_schedules_4 (
        owner  TEXT NOT NULL,
        id     TEXT NOT NULL,
        phase  TEXT NOT NULL,
        PRIMARY KEY (owner, id)
    ) WITHOUT ROWID;
    INSERT INTO mo_schedules_4 (owner, id, phase) SELECT owner, id, phase FROM mo_schedules;
    CREATE TABLE mo_nodes_4 (
        owner  TEXT NOT NULL,
        id     TEXT NOT NULL,
        path   TEXT NOT NULL,
        format TEXT NOT NULL,
        mime   TEXT,
        value  BLOB NOT NULL,
        PRIMARY KEY (owner, id, path)
    ) WITHOUT ROWID;
    INSERT INTO mo_nodes_4 (owner, id, path, format, mime, value)
        SELECT s.owner, n.id, n.path, n.format, n.mime, n.value
        FROM mo_nodes n JOIN mo_schedules s ON s.id = n.id;
    DROP TABLE mo_nodes;
    DROP TABLE mo_schedules;
    ALTER TABLE mo_schedules_4 RENAME TO mo_schedules;
    ALTER TABLE mo_nodes_4 RENAME TO mo_nodes;
    CREATE TABLE mo_acl_4 (
        owner  TEXT NOT NULL,
        id     TEXT NOT NULL,
        acl    TEXT NOT NULL,
        PRIMARY KEY (owner, id)
    ) WITHOUT ROWID;
    INSERT INTO mo_acl_4 (owner, id, acl) SELECT owner, id, acl FROM mo_acl;
    DROP TABLE mo_acl;
    ALTER TABLE mo_acl_4 RENAME TO mo_acl;
    CREATE TABLE mo_live_4 (
        owner  TEXT NOT NULL,
        id     TEXT NOT NULL,
        PRIMARY KEY (owner, id)
    ) WITHOUT ROWID;
    INSERT INTO mo_live_4 (owner, id) SELECT owner, id FROM mo_live;
    DROP TABLE mo_live;
    ALTER TABLE mo_live_4 RENAME TO mo_live;",
    // 5: report identity. A state report's Data now begins with
    // `<ReportID>` and `<Created>`, written when it is queued; the ones
    // queued before get theirs here (a random id; the time of the upgrade,
    // their creation time being unknown).
    "UPDATE mo_outbox SET data = '<State><ReportID>' || lower(hex(randomblob(16)))
        || '</ReportID><Created>' || strftime('%Y-%m-%dT%H:%M:%SZ', 'now') || '</Created>'
        || substr(data, 8)
     WHERE data LIKE '<State>%' AND data NOT LIKE '<State><ReportID>%';",
];

/// Most state reports kept per owner; beyond, the oldest are dropped.
pub(crate) const STATE_OUTBOX_CAPACITY: i64 = 256;

/// A state report waiting in the MO's own queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Stored {
    pub rid: i64,
    pub owner: String,
    pub source: String,
    pub type_: String,
    pub mark: String,
    pub data: String,
}

/// The persistent side (absent: memory only).
pub(crate) struct Staging {
    conn: Option<Mutex<Connection>>,
    /// Without a store file: an in-memory database for the live set and
    /// the state reports.
    mem: Option<Mutex<Connection>>,
}

/// Creates or upgrades the MO tables.
fn migrate(conn: &mut Connection) -> Result<(), StagingError> {
    use crate::store::{MigrateError, VersionIn, migrate_schema};
    let tx = conn.transaction()?;
    migrate_schema(&tx, VersionIn::Table("mo_schema"), MIGRATIONS).map_err(|e| match e {
        MigrateError::TooNew { found, supported } => {
            StagingError(rusqlite::Error::InvalidParameterName(format!(
                "MO schema {found} is newer than this build ({supported})"
            )))
        }
        MigrateError::Sqlite(e) => StagingError(e),
    })?;
    tx.commit()?;
    Ok(())
}

impl Staging {
    /// Memory only: staged schedules do not survive the process. (The
    /// live set and the state report queue use an in-memory database.)
    pub fn memory() -> Staging {
        let conn = Connection::open_in_memory()
            .map_err(StagingError)
            .and_then(|mut c| {
                migrate(&mut c)?;
                Ok(c)
            });
        match conn {
            Ok(c) => Staging {
                conn: None,
                mem: Some(Mutex::new(c)),
            },
            Err(e) => {
                tracing::error!(target: "dmsched::mo", "in-memory MO tables: {e}");
                Staging {
                    conn: None,
                    mem: None,
                }
            }
        }
    }

    /// The connection for the live set and state reports.
    fn any(&self) -> Option<&Mutex<Connection>> {
        self.conn.as_ref().or(self.mem.as_ref())
    }

    /// The schedules seen live.
    pub fn live(&self) -> Result<BTreeSet<Key>, StagingError> {
        let Some(conn) = self.any() else {
            return Ok(BTreeSet::new());
        };
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = c.prepare("SELECT owner, id FROM mo_live")?;
        let rows = st.query_map([], |r| {
            Ok(Key {
                owner: r.get(0)?,
                id: r.get(1)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(StagingError)
    }

    /// In one transaction: marks `live` as live, forgets `gone`, and
    /// queues `reports` (owner, source, type, mark, data), dropping each
    /// owner's oldest beyond [`STATE_OUTBOX_CAPACITY`].
    pub fn record(
        &self,
        live: &[Key],
        gone: &[Key],
        reports: &[(String, String, String, String, String)],
    ) -> Result<(), StagingError> {
        let Some(conn) = self.any() else {
            return Ok(());
        };
        if live.is_empty() && gone.is_empty() && reports.is_empty() {
            return Ok(());
        }
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        for k in live {
            tx.execute(
                "INSERT OR IGNORE INTO mo_live (owner, id) VALUES (?1, ?2)",
                params![k.owner, k.id],
            )?;
        }
        for k in gone {
            tx.execute(
                "DELETE FROM mo_live WHERE owner = ?1 AND id = ?2",
                params![k.owner, k.id],
            )?;
        }
        for (owner, source, type_, mark, data) in reports {
            tx.execute(
                "INSERT INTO mo_outbox (owner, source, type, mark, data) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![owner, source, type_, mark, data],
            )?;
            let dropped = tx.execute(
                "DELETE FROM mo_outbox WHERE owner = ?1 AND rid NOT IN
                 (SELECT rid FROM mo_outbox WHERE owner = ?1 ORDER BY rid DESC LIMIT ?2)",
                params![owner, STATE_OUTBOX_CAPACITY],
            )?;
            if dropped > 0 {
                tracing::warn!(target: "dmsched::mo", %owner, dropped, "state report queue full: oldest dropped");
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The state reports waiting for `owner`, oldest first.
    pub fn stored(&self, owner: &str, limit: usize) -> Result<Vec<Stored>, StagingError> {
        let Some(conn) = self.any() else {
            return Ok(Vec::new());
        };
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = c.prepare(
            "SELECT rid, owner, source, type, mark, data FROM mo_outbox WHERE owner = ?1 ORDER BY rid LIMIT ?2",
        )?;
        let rows = st.query_map(params![owner, limit as i64], |r| {
            Ok(Stored {
                rid: r.get(0)?,
                owner: r.get(1)?,
                source: r.get(2)?,
                type_: r.get(3)?,
                mark: r.get(4)?,
                data: r.get(5)?,
            })
        })?;
        rows.collect::<Result<_, _>>().map_err(StagingError)
    }

    /// `owner` received these state reports.
    pub fn ack_stored(&self, owner: &str, rids: &[i64]) -> Result<usize, StagingError> {
        let Some(conn) = self.any() else {
            return Ok(0);
        };
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        let mut n = 0;
        for rid in rids {
            n += tx.execute(
                "DELETE FROM mo_outbox WHERE rid = ?1 AND owner = ?2",
                params![rid, owner],
            )?;
        }
        tx.commit()?;
        Ok(n)
    }

    /// Opens (creating) the tables in the SQLite file at `path`.
    pub fn open(path: &Path) -> Result<Staging, StagingError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        migrate(&mut conn)?;
        Ok(Staging {
            conn: Some(Mutex::new(conn)),
            mem: None,
        })
    }

    /// Every stored schedule.
    pub fn load(&self) -> Result<BTreeMap<Key, MoSched>, StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(BTreeMap::new());
        };
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = BTreeMap::new();
        let mut st = c.prepare("SELECT owner, id, phase FROM mo_schedules")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (owner, id, phase) = row?;
            let phase = if phase == "installed" {
                Phase::Installed
            } else {
                Phase::Staged
            };
            out.insert(
                Key {
                    owner: owner.clone(),
                    id,
                },
                MoSched {
                    owner,
                    phase,
                    nodes: Nodes::new(),
                    was_staged: phase == Phase::Staged,
                },
            );
        }
        let mut st = c.prepare("SELECT owner, id, path, format, mime, value FROM mo_nodes")?;
        let rows = st.query_map([], |r| {
            Ok((
                Key {
                    owner: r.get(0)?,
                    id: r.get(1)?,
                },
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Vec<u8>>(5)?,
            ))
        })?;
        for row in rows {
            let (key, path, format, mime, value) = row?;
            let Some(s) = out.get_mut(&key) else { continue };
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

    /// Every stored schedule ACL (its text).
    pub fn load_acls(&self) -> Result<BTreeMap<Key, String>, StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(BTreeMap::new());
        };
        let c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let mut st = c.prepare("SELECT owner, id, acl FROM mo_acl")?;
        let rows = st.query_map([], |r| {
            Ok((
                Key {
                    owner: r.get(0)?,
                    id: r.get(1)?,
                },
                r.get(2)?,
            ))
        })?;
        rows.collect::<Result<_, _>>().map_err(StagingError)
    }

    /// Writes these schedule ACLs (`None`: back to the default) in one
    /// transaction.
    pub fn save_acls(&self, changes: &[(Key, Option<String>)]) -> Result<(), StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(());
        };
        if changes.is_empty() {
            return Ok(());
        }
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        for (k, acl) in changes {
            tx.execute(
                "DELETE FROM mo_acl WHERE owner = ?1 AND id = ?2",
                params![k.owner, k.id],
            )?;
            if let Some(acl) = acl {
                tx.execute(
                    "INSERT INTO mo_acl (owner, id, acl) VALUES (?1, ?2, ?3)",
                    params![k.owner, k.id, acl],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes these schedules (`None`: forget it) in one transaction.
    /// `Installing` ones keep what is stored.
    pub fn save(&self, changes: &[(Key, Option<MoSched>)]) -> Result<(), StagingError> {
        let Some(conn) = &self.conn else {
            return Ok(());
        };
        if changes.is_empty() {
            return Ok(());
        }
        let mut c = conn.lock().unwrap_or_else(|p| p.into_inner());
        let tx = c.transaction()?;
        for (k, s) in changes {
            let phase = match s.as_ref().map(|s| s.phase) {
                Some(Phase::Installing) => continue,
                Some(Phase::Staged) => Some("staged"),
                Some(Phase::Installed) => Some("installed"),
                None => None,
            };
            tx.execute(
                "DELETE FROM mo_nodes WHERE owner = ?1 AND id = ?2",
                params![k.owner, k.id],
            )?;
            tx.execute(
                "DELETE FROM mo_schedules WHERE owner = ?1 AND id = ?2",
                params![k.owner, k.id],
            )?;
            let (Some(s), Some(phase)) = (s, phase) else {
                continue;
            };
            tx.execute(
                "INSERT INTO mo_schedules (owner, id, phase) VALUES (?1, ?2, ?3)",
                params![k.owner, k.id, phase],
            )?;
            for (path, n) in &s.nodes {
                let (format, mime, value): (&str, Option<&str>, &[u8]) = match n {
                    Node::Interior => ("node", None, &[]),
                    Node::Leaf { format, mime, data } => (format.as_str(), mime.as_deref(), data),
                };
                tx.execute(
                    "INSERT INTO mo_nodes (owner, id, path, format, mime, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![k.owner, k.id, path, format, mime, value],
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
            st.save(&[
                (Key::new("srv", "S1"), Some(s.clone())),
                (Key::new("srv", "S2"), None),
            ])
            .unwrap();
        }
        let st = Staging::open(&path).unwrap();
        let back = st.load().unwrap();
        assert_eq!(back.get(&Key::new("srv", "S1")), Some(&s));
        st.save(&[(Key::new("srv", "S1"), None)]).unwrap();
        assert!(st.load().unwrap().is_empty());
    }

    #[test]
    fn schedule_acls_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let a = "Get=alpha+beta".to_string();
        let (s1, s2) = (Key::new("alpha", "S1"), Key::new("alpha", "S2"));
        {
            let st = Staging::open(&path).unwrap();
            st.save_acls(&[(s1.clone(), Some(a.clone())), (s2.clone(), Some(a.clone()))])
                .unwrap();
            st.save_acls(&[(s2, None)]).unwrap();
        }
        let st = Staging::open(&path).unwrap();
        let back = st.load_acls().unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back.get(&s1), Some(&a));
    }

    /// 6.3.1.5, 6.1.7.3: a store written before schedules were keyed per
    /// authority (MO schema 3) opens with every schedule, node, ACL and
    /// live mark under its owner.
    #[test]
    fn a_schema_3_store_is_migrated_to_per_owner_keys() {
        use crate::store::{VersionIn, migrate_schema};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut c = Connection::open(&path).unwrap();
            let tx = c.transaction().unwrap();
            migrate_schema(&tx, VersionIn::Table("mo_schema"), &MIGRATIONS[..3]).unwrap();
            tx.execute_batch(
                "INSERT INTO mo_schedules (id, owner, phase) VALUES ('S1', 'srv-a', 'installed');
                 INSERT INTO mo_nodes (id, path, format, mime, value) VALUES ('S1', 'Name', 'chr', 'text/plain', X'6E');
                 INSERT INTO mo_acl (id, owner, acl) VALUES ('S1', 'srv-a', 'Get=srv-b');
                 INSERT INTO mo_live (id, owner) VALUES ('S1', 'srv-a');",
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let st = Staging::open(&path).unwrap();
        let key = Key::new("srv-a", "S1");
        let loaded = st.load().unwrap();
        let m = loaded.get(&key).expect("migrated schedule");
        assert_eq!(m.phase, Phase::Installed);
        assert_eq!(m.nodes.get("Name"), Some(&Node::chr("n")));
        assert_eq!(
            st.load_acls().unwrap().get(&key).map(String::as_str),
            Some("Get=srv-b")
        );
        assert!(st.live().unwrap().contains(&key));
        // srv-b may now have its own S1 beside srv-a's.
        let mine = MoSched {
            owner: "srv-b".into(),
            ..m.clone()
        };
        st.save(&[(Key::new("srv-b", "S1"), Some(mine))]).unwrap();
        assert_eq!(st.load().unwrap().len(), 2);
    }

    /// Report identity: state reports queued by the previous version (MO
    /// schema 3) get a `<ReportID>` and `<Created>` at the upgrade, kept
    /// on every later open; each its own id.
    #[test]
    fn state_reports_queued_before_the_upgrade_get_an_identity() {
        use crate::store::{VersionIn, migrate_schema};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let c = Connection::open(&path).unwrap();
            migrate_schema(&c, VersionIn::Table("mo_schema"), &MIGRATIONS[..3]).unwrap();
            for id in ["A", "B"] {
                c.execute(
                    "INSERT INTO mo_outbox (owner, source, type, mark, data) VALUES ('srv', 's', 't', 'informational', ?1)",
                    [format!("<State><Schedule>{id}</Schedule><Event>completed</Event></State>")],
                )
                .unwrap();
            }
        }
        let first = Staging::open(&path).unwrap().stored("srv", 10).unwrap();
        assert_eq!(first.len(), 2);
        let mut ids = Vec::new();
        for (r, id) in first.iter().zip(["A", "B"]) {
            let (rid, created) = crate::mo::report::identity_in(&r.data)
                .unwrap_or_else(|| panic!("no identity: {}", r.data));
            assert_eq!(rid.len(), 32, "{}", r.data);
            assert!(
                r.data.starts_with(&format!(
                    "<State><ReportID>{rid}</ReportID><Created>{created}</Created><Schedule>{id}</Schedule>"
                )),
                "{}",
                r.data
            );
            ids.push(rid);
        }
        assert_ne!(ids[0], ids[1]);
        let again = Staging::open(&path).unwrap().stored("srv", 10).unwrap();
        assert_eq!(again, first, "kept on every later open");
    }
}
