//! Restart: schedules come back cold (head only) with their timers and
//! watchers armed from the store; a schedule is loaded when first touched.

use super::*;

impl Engine {
    /// Restart: schedules come back "cold" (their head only) and their
    /// timers and watchers are armed from the stored wake-ups and watch
    /// lists, so that opening costs little per schedule. A schedule's
    /// document is read and compiled ("warmed") when it is first needed.
    pub(super) fn recover(&mut self, settle: bool) -> Result<(), EngineError> {
        for (sid, key, state) in self.store.schedule_heads()? {
            let state = ScheduleState::parse(&state)
                .ok_or_else(|| EngineError::Decode(format!("unknown state {state}")))?;
            self.names.insert(key, sid);
            self.cold.insert(sid, state);
        }
        self.live = self.store.live_counts()?.into_iter().collect();
        let mut timers = Vec::new();
        for t in self.store.task_index()? {
            let key = (t.sid, t.tidx);
            for line in t.watch.lines() {
                match line.split_once('\t') {
                    Some(("e", name)) => self.index.watch_event(key, name),
                    Some(("u", uri)) => self.index.watch_uri(key, uri),
                    _ => {}
                }
            }
            let ts = |n: i64| Timestamp::from_nanosecond(i128::from(n)).ok();
            if let Some(wake) = t.wake.and_then(|(w, l)| Some((ts(w)?, ts(l)?))) {
                timers.push((key, wake));
            }
        }
        self.index.set_timers_bulk(timers);
        if !settle {
            return Ok(());
        }
        // Settle interrupted firings.
        for inf in self.store.in_flight()? {
            if self.warm(inf.sid).is_err() || !self.scheds.contains_key(&inf.sid) {
                let tx = self.store.tx()?;
                tx.journal_finish(inf.fid)?;
                tx.commit()?;
                continue;
            }
            let now = self.last_now.unwrap_or(Timestamp::UNIX_EPOCH);
            let s = self.scheds.get_mut(&inf.sid).expect("warmed above");
            let tidx = inf.tidx as usize;
            if tidx >= s.tasks.len() || tidx >= s.plan.doc.tasks.len() {
                let tx = self.store.tx()?;
                tx.journal_finish(inf.fid)?;
                tx.commit()?;
                continue;
            }
            let at_least_once =
                s.plan.doc.tasks[tidx].policy.delivery == crate::model::Delivery::AtLeastOnce;
            let st = &mut s.tasks[tidx];
            let mut report = None;
            match st.pending.as_mut() {
                // Left running by the host: it still completes it (or its
                // time runs out); a restart changes nothing.
                Some(p) if p.awaiting.as_ref().is_some_and(|a| a.run_id == inf.fid) => {
                    continue;
                }
                Some(p) if p.seq == inf.seq && at_least_once && st.ended.is_none() => {
                    p.in_flight = false;
                    p.owed = true;
                    p.waiting = Some("interrupted by a restart; runs again".into());
                }
                Some(p) if p.seq == inf.seq => {
                    let p = p.clone();
                    st.pending = None;
                    st.last_outcome = Some(Outcome::Interrupted);
                    st.last_reason =
                        Some("the device stopped while it ran (at-most-once: not repeated)".into());
                    let f = Firing {
                        owner: s.owner.clone(),
                        schedule: s.id.clone(),
                        task: s.plan.doc.tasks[tidx].id.clone(),
                        seq: p.seq,
                        due: p.due,
                        run_at: Some(p.not_before),
                        outcome: Outcome::Interrupted,
                        reason: st.last_reason.clone(),
                        attempts: p.attempt + 1,
                        results: Vec::new(),
                        cause: st
                            .cause
                            .as_ref()
                            .filter(|(n, _)| *n == p.seq)
                            .map(|(_, c)| c.clone()),
                    };
                    st.history.push(crate::model::RunRecord::of(&f));
                    st.history_unsaved = st.history_unsaved.saturating_add(1);
                    if s.plan.doc.tasks[tidx].policy.report != crate::model::ReportWhen::Never {
                        report = Some(f.clone());
                    }
                    tracing::warn!(target: "dmsched::engine", owner = %s.owner, id = %s.id, seq = p.seq, "a run was interrupted by a restart; not repeated (at-most-once)");
                    self.recovered.push(f);
                }
                _ => {}
            }
            let tx = self.store.tx()?;
            super::persist::save_history(&tx, self.cfg.history_len, s, tidx)?;
            write_task(&tx, &self.cfg, &self.tz, s, tidx, now)?;
            tx.journal_finish(inf.fid)?;
            if let Some(f) = report {
                let body =
                    serde_json::to_string(&f).map_err(|e| EngineError::Decode(e.to_string()))?;
                tx.push_report(&s.owner, &body, self.cfg.outbox_capacity, now)?;
            }
            tx.commit()?;
            self.arm_schedule(inf.sid, now);
        }
        Ok(())
    }

    /// Loads and compiles a cold schedule. A stored document that no longer
    /// compiles is kept, visibly `failed`, rather than lost.
    pub(super) fn warm(&mut self, sid: i64) -> Result<(), EngineError> {
        let Some(cold_state) = self.cold.remove(&sid) else {
            return Ok(());
        };
        let loaded = self
            .store
            .open_batch()
            .and_then(|()| self.store.load_schedule(sid));
        let (row, rows) = match loaded {
            Ok(x) => x,
            Err(e) => {
                self.cold.insert(sid, cold_state);
                return Err(e.into());
            }
        };
        let mut doc: Schedule = crate::model::validate::decode(&row.doc)
            .map_err(|e| EngineError::Decode(format!("schedule {}: {e}", row.id)))?;
        doc.shrink_to_fit();
        let mut tasks = vec![TaskState::default(); doc.tasks.len()];
        for (tidx, json) in rows {
            if let Some(slot) = tasks.get_mut(tidx as usize) {
                *slot =
                    serde_json::from_str(&json).map_err(|e| EngineError::Decode(e.to_string()))?;
            }
        }
        // The run history, by task id (the last `history_len` of each).
        if self.cfg.history_len > 0 {
            for (task, rec) in self.store.load_history(sid)? {
                let Some(i) = doc.tasks.iter().position(|t| t.id == task) else {
                    continue;
                };
                let r: crate::model::RunRecord =
                    serde_json::from_str(&rec).map_err(|e| EngineError::Decode(e.to_string()))?;
                let st = &mut tasks[i];
                st.history.push(r);
                st.history_rows = st.history_rows.saturating_add(1);
            }
            for st in &mut tasks {
                let extra = st.history.len().saturating_sub(self.cfg.history_len);
                st.history.drain(..extra);
            }
        }
        let accepted_at = row
            .accepted_at
            .parse::<Timestamp>()
            .map_err(|e| EngineError::Decode(format!("schedule {}: {e}", row.id)))?;
        let (mut state, mut reason) = (cold_state, row.reason);
        // Terminal schedules are history, and inspection shows what is
        // stored: neither is re-judged by today's limits (a terminal row is
        // never rewritten). A live schedule that no longer fits the limits
        // (tightened since it was accepted) ends `failed`, naming the
        // problems; the Scheduling MO reports that to its owner.
        let rejudge = cold_state.is_live() && !self.read_only;
        let plan = match compile_stored(&doc, &self.cfg.limits, accepted_at, &self.tz) {
            Ok(p) => p,
            Err(problems) if rejudge => {
                state = ScheduleState::Failed;
                reason = Some(format!(
                    "no longer valid under this device's limits: {}",
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                if let Some(n) = self.live.get_mut(&row.owner) {
                    *n = n.saturating_sub(1);
                }
                let tx = self.store.tx()?;
                tx.set_state(sid, state.as_str(), reason.as_deref())?;
                tx.commit()?;
                Plan {
                    doc: doc.clone(),
                    zone: compile::Zone::Fixed(TimeZone::UTC),
                    tasks: Vec::new(),
                }
            }
            Err(_) => compile_stored(&doc, &Limits::unlimited(), accepted_at, &self.tz)
                // Not even that (a zone this system no longer has): the
                // stored state stands, with nothing to run.
                .unwrap_or_else(|_| Plan {
                    doc: doc.clone(),
                    zone: compile::Zone::Fixed(TimeZone::UTC),
                    tasks: Vec::new(),
                }),
        };
        let failed = state == ScheduleState::Failed || plan.tasks.len() != doc.tasks.len();
        self.used.push(sid);
        self.scheds.insert(
            sid,
            Sched {
                sid,
                owner: row.owner,
                id: row.id,
                state,
                reason,
                accepted_at,
                plan: std::sync::Arc::new(plan),
                tasks,
                state_dirty: false,
            },
        );
        if failed {
            for tidx in 0..doc.tasks.len() as u32 {
                self.index.forget((sid, tidx), &[], &[]);
            }
        }
        Ok(())
    }

    /// Warms every cold schedule (listing everything, clock and zone changes).
    pub(super) fn warm_all(&mut self) -> Result<(), EngineError> {
        let sids: Vec<i64> = self.cold.keys().copied().collect();
        for sid in sids {
            self.warm(sid)?;
        }
        Ok(())
    }
}
