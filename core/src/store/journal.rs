//! The firing journal: a firing started and not finished (a crash
//! interrupted it) is settled at the next open.

use super::*;

impl Store {
    /// Firings started and not finished.
    pub fn in_flight(&self) -> Result<Vec<InFlight>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT fid, sid, tidx, seq, attempt FROM journal ORDER BY fid")?;
        let rows = st
            .query_map([], |r| {
                Ok(InFlight {
                    fid: r.get(0)?,
                    sid: r.get(1)?,
                    tidx: r.get(2)?,
                    seq: r.get::<_, i64>(3)? as u64,
                    attempt: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

impl Tx<'_> {
    /// Records that a firing starts; returns its journal id.
    pub fn journal_start(
        &self,
        sid: i64,
        tidx: u32,
        seq: u64,
        attempt: u32,
        started_at: &str,
    ) -> Result<i64, StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO journal (sid, tidx, seq, attempt, started_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![sid, tidx, seq as i64, attempt, started_at])?;
        Ok(self.conn().last_insert_rowid())
    }

    /// Records that a firing finished (or was abandoned after a crash).
    pub fn journal_finish(&self, fid: i64) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM journal WHERE fid = ?1")?
            .execute([fid])?;
        Ok(())
    }
}
