//! The report outbox: bounded, oldest evicted first with a per-owner count
//! of evictions; ids never reused.

use super::*;

impl Store {
    /// Reports waiting for `owner` (all owners when `None`), oldest first, at most `limit`.
    pub fn pending_reports(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let map = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
        let rows = match owner {
            Some(o) => self
                .conn
                .prepare_cached(
                    "SELECT rid, owner, body FROM outbox WHERE owner = ?1 ORDER BY rid LIMIT ?2",
                )?
                .query_map(params![o, limit], map)?
                .collect::<Result<Vec<_>, _>>()?,
            None => self
                .conn
                .prepare_cached("SELECT rid, owner, body FROM outbox ORDER BY rid LIMIT ?1")?
                .query_map(params![limit], map)?
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(rows)
    }

    /// How many reports of `owner` were evicted since its last acknowledgement.
    pub fn dropped_reports(&self, owner: &str) -> Result<u64, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT count FROM outbox_dropped WHERE owner = ?1",
                [owner],
                |r| r.get::<_, i64>(0),
            )
            .optional()?
            .unwrap_or(0) as u64)
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
    /// Appends a report for `owner`; when the outbox then holds more than
    /// `capacity` reports, evicts the oldest and counts them as dropped for
    /// their owners. Returns the new report id and how many were evicted.
    pub fn push_report(
        &self,
        owner: &str,
        body: &str,
        capacity: usize,
    ) -> Result<(i64, u64), StoreError> {
        self.tx
            .prepare_cached("INSERT INTO outbox (owner, body) VALUES (?1, ?2)")?
            .execute(params![owner, body])?;
        let rid = self.tx.last_insert_rowid();
        let len: i64 = self
            .tx
            .prepare_cached("SELECT count(*) FROM outbox")?
            .query_row([], |r| r.get(0))?;
        let excess = len - i64::try_from(capacity).unwrap_or(i64::MAX);
        if excess <= 0 {
            return Ok((rid, 0));
        }
        let victims: Vec<(i64, String)> = self
            .tx
            .prepare_cached("SELECT rid, owner FROM outbox ORDER BY rid LIMIT ?1")?
            .query_map([excess], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        for (vrid, vowner) in &victims {
            self.tx
                .prepare_cached("DELETE FROM outbox WHERE rid = ?1")?
                .execute([vrid])?;
            self.tx
                .prepare_cached(
                    "INSERT INTO outbox_dropped (owner, count) VALUES (?1, 1)
                     ON CONFLICT(owner) DO UPDATE SET count = count + 1",
                )?
                .execute([vowner])?;
        }
        Ok((rid, victims.len() as u64))
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
                .tx
                .prepare_cached("DELETE FROM outbox WHERE rid = ?1 AND owner = ?2")?
                .execute(params![id, owner])?;
        }
        Ok(n)
    }

    /// `owner` was told how many of its reports were evicted: count anew.
    pub fn reset_dropped(&self, owner: &str) -> Result<(), StoreError> {
        self.tx
            .prepare_cached("DELETE FROM outbox_dropped WHERE owner = ?1")?
            .execute([owner])?;
        Ok(())
    }
}
