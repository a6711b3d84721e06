//! The report outbox: bounded, oldest evicted first with a per-owner count
//! of evictions; ids never reused. Every report, and every owner's
//! eviction report, carries a stable identity assigned when it is written
//! ([`new_report_id`] and the creation time), kept until acknowledged.

use super::*;

/// A report as the outbox keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxRow {
    /// Outbox id (never reused); acknowledge with it.
    pub rid: i64,
    /// The server it is for.
    pub owner: String,
    /// The report body (the engine's JSON).
    pub body: String,
    /// Stable report identifier (32 lowercase hex digits).
    pub report_id: String,
    /// When the report was created (RFC 3339, UTC).
    pub created: String,
}

/// An owner's evicted reports, as one report with its own identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dropped {
    /// How many of the owner's reports were evicted since its last
    /// acknowledgement.
    pub count: u64,
    /// Identifier of the eviction report (the same until acknowledged,
    /// while the count grows).
    pub report_id: String,
    /// When the first of these evictions happened (RFC 3339, UTC).
    pub created: String,
    /// What was dropped, oldest first: `schedule/task#seq outcome, report
    /// <id>` for each of the last [`MAX_DROPPED_NAMES`] evicted reports.
    pub names: Vec<String>,
}

/// Most evicted reports an eviction report names (the count stays exact).
pub const MAX_DROPPED_NAMES: usize = 32;

/// How an evicted report is named: its firing's schedule, task, occurrence
/// and outcome, and its report id.
fn dropped_name(body: &str, report_id: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Head {
        schedule: String,
        task: String,
        seq: u64,
        outcome: String,
    }
    match serde_json::from_str::<Head>(body) {
        Ok(h) => format!(
            "{}/{}#{} {}, report {report_id}",
            h.schedule, h.task, h.seq, h.outcome
        ),
        Err(_) => format!("report {report_id}"),
    }
}

/// A report just queued.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pushed {
    /// Its outbox id.
    pub rid: i64,
    /// Its stable identifier.
    pub report_id: String,
    /// How many older reports the full outbox evicted for it.
    pub evicted: u64,
}

/// A new report identifier: 32 lowercase hex digits, 128 bits from the
/// operating system's random source, so that ids are unique per device
/// across restarts and across a store that was deleted and created again.
/// Should the random source fail, the bits come from std's per-process
/// random hash keys, the time and a counter (still unique in practice).
/// The bits are drawn 32 ids at a time (one system call instead of one
/// per report), and drawn afresh in a child process after a fork.
pub(crate) fn new_report_id() -> String {
    let b = random_16();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(32);
    for x in b {
        s.push(char::from(HEX[usize::from(x >> 4)]));
        s.push(char::from(HEX[usize::from(x & 15)]));
    }
    s
}

/// 16 bytes from the operating system's random source, through a
/// process-wide pool refilled 512 bytes at a time.
fn random_16() -> [u8; 16] {
    struct Pool {
        pid: u32,
        buf: [u8; 512],
        used: usize,
    }
    static POOL: std::sync::Mutex<Pool> = std::sync::Mutex::new(Pool {
        pid: 0,
        buf: [0; 512],
        used: 512,
    });
    let mut pool = POOL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let pid = std::process::id();
    if pool.used == pool.buf.len() || pool.pid != pid {
        use ring::rand::SecureRandom;
        if ring::rand::SystemRandom::new().fill(&mut pool.buf).is_err() {
            return fallback_16();
        }
        pool.pid = pid;
        pool.used = 0;
    }
    let mut b = [0u8; 16];
    let at = pool.used;
    b.copy_from_slice(&pool.buf[at..at + 16]);
    // Never handed out twice.
    pool.buf[at..at + 16].fill(0);
    pool.used += 16;
    b
}

/// When the random source fails: std's per-process random hash keys, the
/// time, a counter and the process id.
fn fallback_16() -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut b = [0u8; 16];
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for (i, chunk) in b.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.write_u128(t);
        h.write_usize(i);
        h.write_u32(std::process::id());
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    b
}

impl Store {
    /// Reports waiting for `owner` (all owners when `None`), oldest first, at most `limit`.
    pub fn pending_reports(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let map = |r: &rusqlite::Row<'_>| {
            Ok(OutboxRow {
                rid: r.get(0)?,
                owner: r.get(1)?,
                body: r.get(2)?,
                report_id: r.get(3)?,
                created: r.get(4)?,
            })
        };
        let rows = match owner {
            Some(o) => self
                .conn
                .prepare_cached(
                    "SELECT rid, owner, body, report_id, created FROM outbox
                     WHERE owner = ?1 ORDER BY rid LIMIT ?2",
                )?
                .query_map(params![o, limit], map)?
                .collect::<Result<Vec<_>, _>>()?,
            None => self
                .conn
                .prepare_cached(
                    "SELECT rid, owner, body, report_id, created FROM outbox ORDER BY rid LIMIT ?1",
                )?
                .query_map(params![limit], map)?
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    /// How many reports of `owner` were evicted since its last acknowledgement.
    pub fn dropped_reports(&self, owner: &str) -> Result<u64, StoreError> {
        Ok(self.dropped(owner)?.map_or(0, |d| d.count))
    }

    /// The reports of `owner` evicted since its last acknowledgement, with
    /// the identity of the report that tells it (`None`: none evicted).
    pub fn dropped(&self, owner: &str) -> Result<Option<Dropped>, StoreError> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT count, report_id, created, names FROM outbox_dropped WHERE owner = ?1",
            )?
            .query_row([owner], |r| {
                Ok(Dropped {
                    count: r.get::<_, i64>(0)? as u64,
                    report_id: r.get(1)?,
                    created: r.get(2)?,
                    names: r.get::<_, String>(3)?.lines().map(str::to_string).collect(),
                })
            })
            .optional()?)
    }

    /// Number of reports in the outbox.
    pub fn outbox_len(&self) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT count(*) FROM outbox", [], |r| r.get::<_, i64>(0))?
            as u64)
    }
}

impl Tx<'_> {
    /// Appends a report for `owner`, created at `created`, with a new
    /// [`new_report_id`]; when the outbox then holds more than `capacity`
    /// reports, evicts the oldest and counts them as dropped for their
    /// owners (an owner's first eviction since its last acknowledgement
    /// gives its eviction report an identity, created at `created`).
    pub fn push_report(
        &self,
        owner: &str,
        body: &str,
        capacity: usize,
        created: jiff::Timestamp,
    ) -> Result<Pushed, StoreError> {
        let report_id = new_report_id();
        let created = created.to_string();
        self.conn()
            .prepare_cached(
                "INSERT INTO outbox (owner, body, report_id, created) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![owner, body, report_id, created])?;
        let rid = self.conn().last_insert_rowid();
        let cap = i64::try_from(capacity).unwrap_or(i64::MAX);
        // Row ids only grow: when the oldest is fewer than `capacity` ids
        // back, the outbox cannot be over (no count of every row).
        let oldest: i64 = self
            .conn()
            .prepare_cached("SELECT min(rid) FROM outbox")?
            .query_row([], |r| r.get(0))?;
        if rid - oldest < cap {
            return Ok(Pushed {
                rid,
                report_id,
                evicted: 0,
            });
        }
        let len: i64 = self
            .conn()
            .prepare_cached("SELECT count(*) FROM outbox")?
            .query_row([], |r| r.get(0))?;
        let excess = len - cap;
        if excess <= 0 {
            return Ok(Pushed {
                rid,
                report_id,
                evicted: 0,
            });
        }
        let victims: Vec<(i64, String, String, String)> = self
            .conn()
            .prepare_cached("SELECT rid, owner, body, report_id FROM outbox ORDER BY rid LIMIT ?1")?
            .query_map([excess], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<Result<_, _>>()?;
        for (vrid, vowner, vbody, vid) in &victims {
            self.conn()
                .prepare_cached("DELETE FROM outbox WHERE rid = ?1")?
                .execute([vrid])?;
            let before: Option<String> = self
                .conn()
                .prepare_cached("SELECT names FROM outbox_dropped WHERE owner = ?1")?
                .query_row([vowner], |r| r.get(0))
                .optional()?;
            let mut names: Vec<String> = before
                .iter()
                .flat_map(|n| n.lines().map(str::to_string))
                .collect();
            names.push(dropped_name(vbody, vid));
            let keep = names.len().saturating_sub(MAX_DROPPED_NAMES);
            let names = names[keep..].join("\n");
            self.conn()
                .prepare_cached(
                    "INSERT INTO outbox_dropped (owner, count, report_id, created, names)
                     VALUES (?1, 1, ?2, ?3, ?4)
                     ON CONFLICT(owner) DO UPDATE SET count = count + 1, names = ?4",
                )?
                .execute(params![vowner, new_report_id(), created, names])?;
        }
        Ok(Pushed {
            rid,
            report_id,
            evicted: victims.len() as u64,
        })
    }

    /// Removes acknowledged reports of `owner`; resets its dropped count.
    /// Returns how many were removed. Ids of other owners are ignored.
    pub fn ack_reports(&self, owner: &str, ids: &[i64]) -> Result<usize, StoreError> {
        let n = self.remove_reports(owner, ids)?;
        self.reset_dropped(owner)?;
        Ok(n)
    }

    /// Removes reports of `owner` without touching its dropped count.
    pub fn remove_reports(&self, owner: &str, ids: &[i64]) -> Result<usize, StoreError> {
        let mut n = 0;
        for id in ids {
            n += self
                .conn()
                .prepare_cached("DELETE FROM outbox WHERE rid = ?1 AND owner = ?2")?
                .execute(params![id, owner])?;
        }
        Ok(n)
    }

    /// `owner` was told how many of its reports were evicted: count anew.
    pub fn reset_dropped(&self, owner: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM outbox_dropped WHERE owner = ?1")?
            .execute([owner])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::new_report_id;

    /// Report identity (issue 6 report ids; issue 16 pooled randomness):
    /// ids drawn from the shared pool by many threads, across many
    /// refills, are 32 hex digits and never repeat.
    #[test]
    fn pooled_report_ids_are_hex_and_never_repeat() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| (0..2_000).map(|_| new_report_id()).collect::<Vec<_>>()))
            .collect();
        let mut all = std::collections::HashSet::new();
        for t in threads {
            for id in t.join().unwrap() {
                assert_eq!(id.len(), 32);
                assert!(
                    id.bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                );
                assert_ne!(id, "0".repeat(32), "a spent pool slot was handed out");
                assert!(all.insert(id), "a report id repeated");
            }
        }
        assert_eq!(all.len(), 8_000);
    }
}
