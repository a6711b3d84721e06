//! Driving the engine: wake-ups, `tick`, events, tree changes, clock and
//! zone changes, reports.

use super::*;

impl Engine {
    /// How many schedules are in memory (loaded) and how many are only
    /// on disk (unloaded: after a restart, or idle per
    /// [`EngineConfig::keep_loaded_seconds`]); diagnostics.
    pub fn loaded_counts(&self) -> (usize, usize) {
        (self.scheds.len(), self.cold.len())
    }

    /// The earliest instant at which something is due; `None` when nothing
    /// is scheduled by time (events and tree changes may still trigger).
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.index.next_wakeup()
    }

    /// The instants `[from, until)` at which [`Engine::tick`] would do
    /// nothing at all: none due before `until` (`None`: nothing scheduled),
    /// no settled firings waiting to be handed out, and `now` not before the
    /// latest instant seen (`from`), so no clock change to react to. `None`
    /// when the next tick has work whatever `now` is, or no clock was seen
    /// yet. Used by [`Quiet`](super::Quiet) to answer idle ticks without a lock.
    pub fn quiet_span(&self) -> Option<(Timestamp, Option<Timestamp>)> {
        if !self.recovered.is_empty() || self.read_only {
            return None;
        }
        Some((self.last_now?, self.index.next_wakeup()))
    }

    /// Records a tick at `now` that the caller answered itself because `now`
    /// was inside [`Engine::quiet_span`]: the engine then judges later
    /// clock changes against it, exactly as if it had run that tick.
    pub fn note_quiet_tick(&mut self, now: Timestamp) {
        if let Some(last) = self.last_now
            && now > last
        {
            self.last_now = Some(now);
        }
    }

    /// For inexact OS alarms: the earliest due instant and the latest
    /// instant by which the host must call `tick` so that no task is late
    /// beyond its `max_delay_seconds`. Wake-ups of tasks that tolerate delay
    /// can be coalesced anywhere in this window.
    ///
    /// Each waiting occurrence counts with the first stretch of its run
    /// interval (due + jitter to its deadline) that lies inside its daily
    /// windows, up to a second before the window closes; so a host that
    /// always wakes at the latest instant runs every task (whose
    /// constraints hold) and needs the fewest wake-ups: that is choosing
    /// points greedily by interval end (tests/wakeup_window.rs checks it
    /// against an independent optimum).
    pub fn wakeup_window(&self) -> Option<(Timestamp, Timestamp)> {
        Some((self.index.next_wakeup()?, self.index.latest_wakeup()?))
    }

    /// Runs everything due at `now`, in a stable order (time, then schedule
    /// acceptance order, then task order). Returns the occurrences that
    /// finished (and, after a restart or a lifecycle change, the ones those
    /// settled).
    pub fn tick(&mut self, now: Timestamp) -> Result<Vec<Firing>, EngineError> {
        self.observe_clock(now)?;
        let due = self.index.due(now);
        let mut out = std::mem::take(&mut self.recovered);
        // An idle tick writes nothing: no batch to open (or flush).
        if !(due.is_empty() && out.is_empty() && self.used.is_empty()) {
            self.begin_batch(&out);
        }
        let mut first_err = None;
        for (sid, tidx) in due {
            if let Err(e) = self.process_one(sid, tidx as usize, now, Cause::Time, &mut out) {
                first_err.get_or_insert(e);
            }
        }
        self.finish_call(now, out, first_err)
    }

    /// A device event: wakes only the tasks that watch its name.
    pub fn on_event(&mut self, event: &Event, now: Timestamp) -> Result<Vec<Firing>, EngineError> {
        self.observe_clock(now)?;
        let mut out = std::mem::take(&mut self.recovered);
        self.begin_batch(&out);
        let mut first_err = None;
        for (sid, tidx) in self.index.event_watchers(&event.name) {
            // The host may have restricted the event since the install.
            let allowed = self.warm(sid).map(|()| {
                self.scheds
                    .get(&sid)
                    .is_some_and(|s| self.cfg.event_access.allows(&s.owner, &event.name))
            });
            match allowed {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    first_err.get_or_insert(e);
                    continue;
                }
            }
            if let Err(e) = self.process_one(sid, tidx as usize, now, Cause::Event(event), &mut out)
            {
                first_err.get_or_insert(e);
            }
        }
        self.finish_call(now, out, first_err)
    }

    /// The nodes that the actions run in this call wrote wake the tasks
    /// whose conditions read them, as a DM command's write does
    /// (docs/scheduling-mo.md, "Conditions and writes"): after each run,
    /// in the same call, breadth first (the writes of runs so caused are
    /// looked at in turn). A Delete wakes the watchers of every node below
    /// its target. Loops end: a task that finished an occurrence because
    /// of such a write is not woken again by writes in the same call (every
    /// round needs a task that has not run yet). In the same rounds, a task
    /// that finished an occurrence starts the tasks that follow it
    /// (`after`, task chaining; chains are acyclic, so they end).
    fn cascade_writes(
        &mut self,
        now: Timestamp,
        out: &mut Vec<Firing>,
        err: &mut Option<EngineError>,
    ) {
        // Tasks that finished an occurrence because of a cascaded write.
        let mut spent: std::collections::HashSet<(i64, u32)> = Default::default();
        // The firings a failed call handed on were cascaded by that call.
        let mut from = std::mem::take(&mut self.recovered_cascaded).min(out.len());
        while from < out.len() {
            // Task chaining: the tasks that follow a task just finished
            // (`after`; chains are acyclic, so they end).
            let finished: Vec<(String, String, String, crate::model::Outcome)> = out[from..]
                .iter()
                .map(|f| {
                    (
                        f.owner.clone(),
                        f.schedule.clone(),
                        f.task.clone(),
                        f.outcome,
                    )
                })
                .collect();
            // (URI, subtree, the writer: the owner of the run that wrote it)
            let mut changed: Vec<(String, bool, Option<String>)> = Vec::new();
            for f in &out[from..] {
                for r in &f.results {
                    if written(r) {
                        let uri = watched_form(&r.target);
                        // A rename (`?prop=Name`) moves the whole subtree.
                        let subtree =
                            r.op == crate::model::Op::Delete || r.target.ends_with("?prop=Name");
                        let entry = (uri, subtree, Some(f.owner.clone()));
                        if !changed.contains(&entry) {
                            changed.push(entry);
                        }
                    }
                }
            }
            from = out.len();
            for (owner, schedule, task, outcome) in &finished {
                let Some(&sid) = self.names.get(&super::name_key(owner, schedule)) else {
                    continue;
                };
                if let Err(e) = self.warm(sid) {
                    err.get_or_insert(e);
                    continue;
                }
                let followers: Vec<u32> = self.scheds.get(&sid).map_or_else(Vec::new, |s| {
                    s.plan
                        .tasks
                        .iter()
                        .enumerate()
                        .filter(|(_, ct)| {
                            matches!(&ct.trigger, super::trigger::CTrigger::After { task: t, outcomes } if t == task && outcomes.contains(outcome))
                        })
                        .map(|(i, _)| i as u32)
                        .collect()
                });
                for tidx in followers {
                    let cause = Cause::After(task.as_str(), *outcome);
                    if let Err(e) = self.process_one(sid, tidx as usize, now, cause, out) {
                        err.get_or_insert(e);
                    }
                }
            }
            for (uri, subtree, writer) in changed {
                for (key, watched) in self.index.uri_watchers_under(&uri, subtree) {
                    if spent.contains(&key) {
                        continue;
                    }
                    let before = out.len();
                    let cause = Cause::Tree(&watched, writer.as_deref());
                    if let Err(e) = self.process_one(key.0, key.1 as usize, now, cause, out) {
                        err.get_or_insert(e);
                    }
                    if out.len() > before {
                        spent.insert(key);
                    }
                }
            }
        }
    }

    /// A tree node changed: wakes only the tasks whose conditions read it.
    pub fn on_tree_changed(
        &mut self,
        uri: &str,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        self.on_tree_changed_by(uri, None, false, now)
    }

    /// A tree node changed, written by server `writer` (a DM command of its
    /// session; `None`: the device); with `subtree` (a Delete) every node
    /// below it changed too. As [`Engine::on_tree_changed`], and the
    /// occurrences it starts name the writer as their cause.
    pub fn on_tree_changed_by(
        &mut self,
        uri: &str,
        writer: Option<&str>,
        subtree: bool,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        self.observe_clock(now)?;
        let mut out = std::mem::take(&mut self.recovered);
        self.begin_batch(&out);
        let mut first_err = None;
        for ((sid, tidx), watched) in self.index.uri_watchers_under(uri, subtree) {
            let cause = Cause::Tree(&watched, writer);
            if let Err(e) = self.process_one(sid, tidx as usize, now, cause, &mut out) {
                first_err.get_or_insert(e);
            }
        }
        self.finish_call(now, out, first_err)
    }

    /// The host completed run `run_id` — one its executor left running
    /// ([`crate::Execution::Pending`]) — with `results`, one per command
    /// run: the attempt ends as if the executor had returned them (retried
    /// after its backoff if one failed, else the occurrence ran or failed,
    /// reported per its policy). Returns the occurrences that finished.
    /// A run that is not waiting (finished, timed out, never started, or
    /// completed already) is `InvalidState`, and nothing changes.
    pub fn complete(
        &mut self,
        run_id: i64,
        results: Vec<crate::model::CommandResult>,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        let not_waiting = || {
            EngineError::InvalidState(format!(
                "run {run_id} is not waiting for completion (it finished, timed out, or never started)"
            ))
        };
        let inf = self
            .store
            .in_flight()?
            .into_iter()
            .find(|i| i.fid == run_id)
            .ok_or_else(not_waiting)?;
        self.warm(inf.sid)?;
        let tidx = inf.tidx as usize;
        let awaited = self
            .scheds
            .get(&inf.sid)
            .and_then(|s| s.tasks.get(tidx))
            .and_then(|t| t.pending.as_ref())
            .and_then(|p| p.awaiting.as_ref())
            .is_some_and(|a| a.run_id == run_id);
        if !awaited {
            return Err(not_waiting());
        }
        self.observe_clock(now)?;
        let mut out = std::mem::take(&mut self.recovered);
        self.begin_batch(&out);
        let r = self.on_schedule(inf.sid, now, &mut out, |cx, s| {
            let mut finals = Vec::new();
            super::process::complete_run(cx, s, tidx, run_id, results, now, &mut finals)
        });
        let r = r.unwrap_or_else(|| Err(not_waiting()));
        self.finish_call(now, out, r.err())
    }

    /// Starts a call's batch: its writes share one transaction, flushed
    /// before each run and at [`Engine::finish_call`] (`out`: the firings
    /// the call starts with, durable already).
    fn begin_batch(&mut self, out: &[Firing]) {
        self.unload_idle();
        self.store.begin_batch();
        self.batch.durable = out.len();
        self.batch.failed = false;
        self.batch.now_saved = false;
    }

    /// Ends the call's batch: flushes it and tells the host of the reports
    /// it queued. If a flush failed, what was not flushed is dropped (its
    /// firings from `out`, its reports) and the engine, whose memory is
    /// ahead of the store, reloads from it: what was lost is worked out
    /// again by the next call, as after a restart.
    fn end_batch(&mut self, out: &mut Vec<Firing>) -> Result<(), EngineError> {
        let failed = std::mem::take(&mut self.batch.failed);
        let r = if failed {
            self.store.abort_batch();
            Ok(())
        } else {
            self.store.end_batch().map_err(EngineError::from)
        };
        if failed || r.is_err() {
            out.truncate(self.batch.durable);
            self.batch.notices.clear();
            self.reload()?;
            return r;
        }
        if let Some(sink) = &self.host.reports {
            for n in self.batch.notices.drain(..) {
                sink.report_ready(&n);
            }
        }
        Ok(())
    }

    /// Unloads the schedules the last call used that are idle now: nothing
    /// waiting or running, no task due within `keep_loaded_seconds` (see
    /// [`EngineConfig::keep_loaded_seconds`]). Their state is on disk (each
    /// change was flushed), their timers and watchers stay armed, and the
    /// next use loads them back (`warm`), as after a restart.
    fn unload_idle(&mut self) {
        let used = std::mem::take(&mut self.used);
        let (Some(keep), Some(now)) = (self.cfg.keep_loaded_seconds, self.last_now) else {
            return;
        };
        let soon = add_secs(now, keep);
        for sid in used {
            let Some(s) = self.scheds.get(&sid) else {
                continue;
            };
            let idle = !s.state_dirty
                && s.tasks.iter().enumerate().all(|(tidx, t)| {
                    t.pending.is_none()
                        && self
                            .index
                            .timer(s.key(tidx as u32))
                            .is_none_or(|w| w > soon)
                });
            if idle && let Some(s) = self.scheds.remove(&sid) {
                self.cold.insert(sid, s.state);
            }
        }
    }

    /// Drops every schedule from memory and restores them from the store
    /// as a restart does: cold, and a run whose end was not flushed is
    /// settled as interrupted (at-most-once) or runs again (at-least-once).
    fn reload(&mut self) -> Result<(), EngineError> {
        tracing::warn!(target: "dmsched::engine", "a write failed: reloading the schedules from the store");
        self.scheds.clear();
        self.cold.clear();
        self.names.clear();
        self.index = super::index::Index::default();
        self.recover(true)
    }

    pub(super) fn finish_call(
        &mut self,
        now: Timestamp,
        mut out: Vec<Firing>,
        mut err: Option<EngineError>,
    ) -> Result<Vec<Firing>, EngineError> {
        self.cascade_writes(now, &mut out, &mut err);
        if let Err(e) = self.end_batch(&mut out) {
            err.get_or_insert(e);
        }
        for f in &out {
            tracing::debug!(target: "dmsched::engine", owner = %f.owner, schedule = %f.schedule, task = %f.task, seq = f.seq, outcome = f.outcome.as_str(), "occurrence finished");
        }
        self.last_now = Some(self.last_now.map_or(now, |l| l.max(now)));
        match err {
            Some(e) => {
                // Firings that did finish are stored; hand them out next
                // time (before those a reload settled).
                // All of `out` was cascaded above; what a reload settled
                // (appended after it) was not.
                self.recovered_cascaded = out.len();
                out.append(&mut self.recovered);
                self.recovered = out;
                Err(e)
            }
            None => {
                // A reload that settled runs with nothing else failing
                // cannot happen (a reload follows a failure), but what it
                // settled is never dropped.
                out.append(&mut self.recovered);
                Ok(out)
            }
        }
    }

    pub(super) fn process_one(
        &mut self,
        sid: i64,
        tidx: usize,
        now: Timestamp,
        cause: Cause<'_>,
        out: &mut Vec<Firing>,
    ) -> Result<(), EngineError> {
        self.warm(sid)?;
        self.used.push(sid);
        self.on_schedule(sid, now, out, |cx, s| process(cx, s, tidx, now, cause))
            .unwrap_or_else(|| {
                self.index.set_timer((sid, tidx as u32), None);
                Ok(())
            })
    }

    /// Runs `f` on loaded schedule `sid` with a processing context, and
    /// keeps the per-owner count of live schedules when `f` ends it.
    /// `None`: no such schedule is loaded.
    fn on_schedule<R>(
        &mut self,
        sid: i64,
        now: Timestamp,
        out: &mut Vec<Firing>,
        f: impl FnOnce(&mut super::Cx<'_>, &mut Sched) -> R,
    ) -> Option<R> {
        let s = self.scheds.get_mut(&sid)?;
        let mut cx = Self::cx(
            &self.cfg,
            &self.tz,
            &mut self.store,
            &self.host,
            &mut self.index,
            out,
            &mut self.batch,
            now,
        );
        let was_live = s.state.is_live();
        let r = f(&mut cx, s);
        if was_live && !s.state.is_live() {
            let owner = s.owner.clone();
            self.note_liveness(&owner, true, false);
        }
        Some(r)
    }

    pub(super) fn note_liveness(&mut self, owner: &str, was: bool, is: bool) {
        if was
            && !is
            && let Some(n) = self.live.get_mut(owner)
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Detects the wall clock going back and re-plans relative waits so
    /// that nothing repeats and intervals keep their length.
    pub(super) fn observe_clock(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let Some(last) = self.last_now else {
            return self.save_now(now);
        };
        let back = last.duration_since(now);
        if back <= jiff::SignedDuration::from_secs(1) {
            return Ok(());
        }
        // Rare: every schedule is looked at.
        self.warm_all()?;
        let mut touched = Vec::new();
        for s in self.scheds.values_mut() {
            for (tidx, st) in s.tasks.iter_mut().enumerate() {
                let mut changed = false;
                if let Some(d) = st.next_due
                    && s.plan
                        .tasks
                        .get(tidx)
                        .is_some_and(|t| t.trigger.follows_clock_jumps())
                {
                    st.next_due = Some(d.checked_sub(back).unwrap_or(d).max(now));
                    changed = true;
                }
                if let Some(p) = st.pending.as_mut() {
                    p.not_before = p.not_before.checked_sub(back).unwrap_or(p.not_before);
                    p.deadline = p.deadline.checked_sub(back).unwrap_or(p.deadline);
                    changed = true;
                }
                if changed {
                    touched.push((s.sid, tidx));
                }
            }
        }
        let tx = self.store.tx()?;
        for (sid, tidx) in &touched {
            write_task(&tx, &self.cfg, &self.tz, &self.scheds[sid], *tidx, now)?;
        }
        tx.set_meta(META_LAST_NOW, &now.to_string())?;
        tx.commit()?;
        tracing::info!(target: "dmsched::engine", back_seconds = back.as_secs(), "wall clock went back; re-planned");
        self.last_now = Some(now);
        let mut sids: Vec<i64> = touched.into_iter().map(|(sid, _)| sid).collect();
        sids.dedup();
        for sid in sids {
            self.arm_schedule(sid, now);
        }
        Ok(())
    }

    pub(super) fn save_now(&mut self, now: Timestamp) -> Result<(), EngineError> {
        let tx = self.store.tx()?;
        tx.set_meta(META_LAST_NOW, &now.to_string())?;
        tx.commit()?;
        self.last_now = Some(now);
        Ok(())
    }

    /// The device changed time zone: every task using `local` is re-planned
    /// from `now` (an occurrence whose local time has not yet come in the new
    /// zone runs, even if that local time already passed in the old one).
    pub fn set_time_zone(&mut self, name: &str, now: Timestamp) -> Result<(), EngineError> {
        let tz = when::zone(name)
            .map_err(|e| EngineError::InvalidArgument(format!("time_zone: {e}")))?;
        self.tz = tz;
        self.cfg.time_zone = name.to_string();
        // Rare: every schedule is looked at.
        self.warm_all()?;
        let sids: Vec<i64> = self
            .scheds
            .values()
            .filter(|s| s.plan.uses_local_zone())
            .map(|s| s.sid)
            .collect();
        for sid in sids {
            let s = self.scheds.get_mut(&sid).expect("listed above");
            let Ok(plan) = compile_stored(&s.plan.doc, &self.cfg.limits, s.accepted_at, &self.tz)
            else {
                continue;
            };
            for (st, ct) in s.tasks.iter_mut().zip(&plan.tasks) {
                if st.ended.is_none() && ct.trigger.follows_zone() {
                    st.next_due = ct.trigger.first_at_or_after(now);
                }
            }
            s.plan = std::sync::Arc::new(plan);
            let tx = self.store.tx()?;
            for tidx in 0..s.tasks.len() {
                write_task(&tx, &self.cfg, &self.tz, s, tidx, now)?;
            }
            tx.commit()?;
            self.arm_schedule(sid, now);
        }
        Ok(())
    }

    /// Reports waiting in the outbox for `owner` (every owner when `None`), oldest first.
    pub fn pending_reports(
        &self,
        owner: Option<&str>,
        limit: usize,
    ) -> Result<ReportBatch, EngineError> {
        let created = |t: &str| {
            t.parse::<Timestamp>()
                .map_err(|e| EngineError::Decode(format!("report creation time {t:?}: {e}")))
        };
        let rows = self.store.pending_reports(owner, limit)?;
        let mut reports = Vec::with_capacity(rows.len());
        for row in rows {
            let firing: Firing =
                serde_json::from_str(&row.body).map_err(|e| EngineError::Decode(e.to_string()))?;
            reports.push(Report {
                id: row.rid,
                report_id: row.report_id,
                created: created(&row.created)?,
                firing,
            });
        }
        let dropped = match owner {
            Some(o) => self.store.dropped(o)?,
            None => None,
        };
        Ok(match dropped {
            Some(d) => ReportBatch {
                reports,
                dropped: d.count,
                dropped_created: Some(created(&d.created)?),
                dropped_report_id: Some(d.report_id),
                dropped_names: d.names,
            },
            None => ReportBatch {
                reports,
                ..ReportBatch::default()
            },
        })
    }

    /// `owner`'s server received these reports: remove them, and reset
    /// its count of evicted reports (the batch told it). Returns how many
    /// were removed (ids of other owners are ignored).
    pub fn ack_reports(&mut self, owner: &str, ids: &[i64]) -> Result<usize, EngineError> {
        let tx = self.store.tx()?;
        let n = tx.ack_reports(owner, ids)?;
        tx.commit()?;
        Ok(n)
    }

    /// Removes these reports of `owner` (delivered, or not to be sent)
    /// and keeps its count of evicted reports, for a host that tells the
    /// server about evictions separately ([`Engine::ack_evicted`]).
    pub fn remove_reports(&mut self, owner: &str, ids: &[i64]) -> Result<usize, EngineError> {
        let tx = self.store.tx()?;
        let n = tx.remove_reports(owner, ids)?;
        tx.commit()?;
        Ok(n)
    }

    /// `owner`'s server was told how many of its reports were evicted
    /// ([`ReportBatch::dropped`]): the count starts again from zero.
    pub fn ack_evicted(&mut self, owner: &str) -> Result<(), EngineError> {
        let tx = self.store.tx()?;
        tx.reset_dropped(owner)?;
        tx.commit()?;
        Ok(())
    }
}

/// Whether a command result is a write that took effect: Add, Replace,
/// Delete or Copy with a 2xx status other than 215 (not executed) and 216
/// (rolled back).
fn written(r: &crate::model::CommandResult) -> bool {
    use crate::model::Op;
    matches!(r.op, Op::Add | Op::Replace | Op::Delete | Op::Copy)
        && r.is_success()
        && !matches!(r.status, 215 | 216)
}

/// A command target in the form conditions name nodes in: `./`-rooted,
/// no trailing `/`.
fn watched_form(target: &str) -> String {
    // A property write (`?prop=…`) is a change of its node.
    let t = target.split('?').next().unwrap_or(target);
    let t = t.trim().trim_end_matches('/');
    if t.starts_with("./") || t == "." {
        t.to_string()
    } else {
        format!("./{}", t.trim_start_matches('/'))
    }
}
