//! Schedule rows (owner, id, document, state) and per-task state rows
//! with their wake-ups and watch lists.

use super::*;

impl Store {
    /// Reads everything the engine needs to restart.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut snap = Snapshot::default();
        let mut st = self.conn.prepare(
            "SELECT sid, owner, id, doc, state, reason, accepted_at FROM schedules ORDER BY sid",
        )?;
        snap.schedules = st.query_map([], schedule_row)?.collect::<Result<_, _>>()?;
        let mut st = self
            .conn
            .prepare("SELECT sid, tidx, state FROM tasks ORDER BY sid, tidx")?;
        snap.tasks = st
            .query_map([], |r| {
                Ok(StoredTask {
                    sid: r.get(0)?,
                    tidx: r.get(1)?,
                    state: r.get(2)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        snap.in_flight = self.in_flight()?;
        Ok(snap)
    }

    /// Every schedule's row id, `owner NUL id` and state (fast restart).
    pub fn schedule_heads(&self) -> Result<Vec<(i64, String, String)>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT sid, owner || char(0) || id, state FROM schedules")?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Live (active or suspended) schedules per owner.
    pub fn live_counts(&self) -> Result<Vec<(String, usize)>, StoreError> {
        let mut st = self.conn.prepare(
            "SELECT owner, count(*) FROM schedules WHERE state IN ('active', 'suspended') GROUP BY owner",
        )?;
        let rows = st
            .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// The wake-up and watch list of every task (fast restart).
    pub fn task_index(&self) -> Result<Vec<TaskIndexRow>, StoreError> {
        let mut st = self
            .conn
            .prepare("SELECT sid, tidx, wake, latest, watch FROM tasks")?;
        let rows = st
            .query_map([], |r| {
                let wake: Option<i64> = r.get(2)?;
                let latest: Option<i64> = r.get(3)?;
                Ok(TaskIndexRow {
                    sid: r.get(0)?,
                    tidx: r.get(1)?,
                    wake: wake.map(|w| (w, latest.unwrap_or(w))),
                    watch: r.get(4)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// One schedule's run history: (task id, record JSON), oldest first
    /// per task.
    pub fn load_history(&self, sid: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(self
            .conn
            .prepare_cached("SELECT task, rec FROM history WHERE sid = ?1 ORDER BY task, seq")?
            .query_map([sid], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?)
    }

    /// One schedule's row (with its document) and task states, by task index.
    pub fn load_schedule(
        &self,
        sid: i64,
    ) -> Result<(StoredSchedule, Vec<(u32, String)>), StoreError> {
        let row = self
            .conn
            .prepare_cached("SELECT sid, owner, id, doc, state, reason, accepted_at FROM schedules WHERE sid = ?1")?
            .query_row([sid], schedule_row)?;
        let tasks = self
            .conn
            .prepare_cached("SELECT tidx, state FROM tasks WHERE sid = ?1 ORDER BY tidx")?
            .query_map([sid], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        Ok((row, tasks))
    }
}

impl Tx<'_> {
    /// Inserts a schedule; returns its row id.
    pub fn insert_schedule(
        &self,
        owner: &str,
        id: &str,
        doc: &str,
        state: &str,
        accepted_at: &str,
    ) -> Result<i64, StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO schedules (owner, id, doc, state, reason, accepted_at)
                 VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
            )?
            .execute(params![owner, id, doc, state, accepted_at])?;
        let sid = self.conn().last_insert_rowid();
        self.touch(sid);
        Ok(sid)
    }

    /// Replaces a schedule's document.
    pub fn update_doc(&self, sid: i64, doc: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE schedules SET doc = ?2 WHERE sid = ?1")?
            .execute(params![sid, doc])?;
        self.touch(sid);
        Ok(())
    }

    /// Sets a schedule's lifecycle state and reason.
    pub fn set_state(&self, sid: i64, state: &str, reason: Option<&str>) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("UPDATE schedules SET state = ?2, reason = ?3 WHERE sid = ?1")?
            .execute(params![sid, state, reason])?;
        self.touch(sid);
        Ok(())
    }

    /// Deletes a schedule with its task states and journal rows.
    pub fn delete_schedule(&self, sid: i64) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM journal WHERE sid = ?1")?
            .execute([sid])?;
        self.conn()
            .prepare_cached("DELETE FROM tasks WHERE sid = ?1")?
            .execute([sid])?;
        self.conn()
            .prepare_cached("DELETE FROM history WHERE sid = ?1")?
            .execute([sid])?;
        self.conn()
            .prepare_cached("DELETE FROM schedules WHERE sid = ?1")?
            .execute([sid])?;
        Ok(())
    }

    /// Records finished occurrence `seq` of task `task` in its run history.
    pub fn put_history(&self, sid: i64, task: &str, seq: u64, rec: &str) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO history (sid, task, seq, rec) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (sid, task, seq) DO UPDATE SET rec = excluded.rec",
            )?
            .execute(params![sid, task, seq as i64, rec])?;
        Ok(())
    }

    /// Forgets the run history of `task` before occurrence `seq`.
    pub fn trim_history(&self, sid: i64, task: &str, seq: u64) -> Result<(), StoreError> {
        self.conn()
            .prepare_cached("DELETE FROM history WHERE sid = ?1 AND task = ?2 AND seq < ?3")?
            .execute(params![sid, task, seq as i64])?;
        Ok(())
    }

    /// Forgets the run history of the tasks of `sid` not in `keep` (a
    /// modify that removed them).
    pub fn keep_history_of(&self, sid: i64, keep: &[&str]) -> Result<(), StoreError> {
        let tasks: Vec<String> = self
            .conn()
            .prepare_cached("SELECT DISTINCT task FROM history WHERE sid = ?1")?
            .query_map([sid], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for t in tasks.iter().filter(|t| !keep.contains(&t.as_str())) {
            self.conn()
                .prepare_cached("DELETE FROM history WHERE sid = ?1 AND task = ?2")?
                .execute(params![sid, t])?;
        }
        Ok(())
    }

    /// Deletes every task state of a schedule.
    pub fn delete_tasks(&self, sid: i64) -> Result<(), StoreError> {
        self.touch(sid);
        self.conn()
            .prepare_cached("DELETE FROM tasks WHERE sid = ?1")?
            .execute([sid])?;
        Ok(())
    }

    /// Writes a task's state, its next wake-up (and latest acceptable
    /// wake-up), in nanoseconds since the epoch, and what it watches.
    pub fn put_task(
        &self,
        sid: i64,
        tidx: u32,
        state: &str,
        wake: Option<(i64, i64)>,
        watch: &str,
    ) -> Result<(), StoreError> {
        self.touch(sid);
        self.conn()
            .prepare_cached(
                // An update in place (REPLACE would delete and insert,
                // and check the schedule's row again).
                "INSERT INTO tasks (sid, tidx, state, wake, latest, watch)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (sid, tidx) DO UPDATE SET state = excluded.state,
                     wake = excluded.wake, latest = excluded.latest, watch = excluded.watch",
            )?
            .execute(params![
                sid,
                tidx,
                state,
                wake.map(|w| w.0),
                wake.map(|w| w.1),
                watch
            ])?;
        Ok(())
    }
}

fn schedule_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredSchedule> {
    Ok(StoredSchedule {
        sid: r.get(0)?,
        owner: r.get(1)?,
        id: r.get(2)?,
        doc: r.get(3)?,
        state: r.get(4)?,
        reason: r.get(5)?,
        accepted_at: r.get(6)?,
    })
}
