//! Submitting, modifying, suspending, resuming and terminating schedules,
//! with the owner checks between management authorities.

use super::*;

/// The longest owner (server id) a schedule may have.
pub const MAX_OWNER_BYTES: usize = crate::input::MAX_SHORT_TEXT_BYTES;

impl Engine {
    /// Initial state of the tasks of a newly (re)planned schedule.
    pub(super) fn initial_states(
        plan: &Plan,
        start: Timestamp,
        old: Option<(&Schedule, &[TaskState])>,
    ) -> Vec<TaskState> {
        let start = plan.doc.valid_from.map_or(start, |f| f.max(start));
        plan.tasks
            .iter()
            .zip(&plan.doc.tasks)
            .map(|(ct, t)| {
                let kept = old.and_then(|(doc, states)| {
                    let i = doc.tasks.iter().position(|o| o.id == t.id)?;
                    Some((&doc.tasks[i], states.get(i)?.clone()))
                });
                let same_trigger = kept.as_ref().is_some_and(|(ot, _)| ot.trigger == t.trigger)
                    && old.is_some_and(|(doc, _)| doc.valid_from == plan.doc.valid_from);
                // The first occurrence of the unchanged rule not handled yet
                // (after the modify's catch-up, or since a suspension).
                let kept_next = kept.as_ref().and_then(|(_, o)| o.next_due);
                let mut st = kept
                    .map(|(ot, o)| {
                        // A modify that keeps a becomes_true trigger as it
                        // was keeps its edge: a condition that is still
                        // true does not fire again.
                        let same_edge = ct.trigger.condition().is_some() && ot.trigger == t.trigger;
                        TaskState {
                            seq: o.seq,
                            runs: o.runs,
                            last_run: o.last_run,
                            last_outcome: o.last_outcome,
                            last_reason: o.last_reason,
                            // The task's history stays with it across a modify.
                            history: o.history,
                            history_rows: o.history_rows,
                            primed: same_edge && o.primed,
                            armed: same_edge && o.armed,
                            // A run the host is still completing (a long
                            // action) stays: it was started, it must end.
                            pending: o.pending.filter(|p| p.awaiting.is_some()),
                            ..TaskState::default()
                        }
                    })
                    .unwrap_or_default();
                // A kept task does not run again what it already ran: an
                // occurrence due at the instant of its last run is past.
                // Nor does a task whose trigger is unchanged: its
                // occurrences up to the modify instant were all handled
                // (the modify catches up first), so it goes on after it.
                let after = |t: Timestamp| {
                    t.checked_add(jiff::SignedDuration::from_nanos(1))
                        .unwrap_or(t)
                };
                let from = match st.last_run {
                    _ if same_trigger && plan.doc.valid_from.is_none_or(|f| f <= start) => {
                        after(start)
                    }
                    Some(last) if old.is_some() && last >= start => after(last),
                    _ => start,
                };
                st.next_due = match ct.trigger {
                    _ if same_trigger && ct.trigger.is_time() && kept_next.is_some() => kept_next,
                    // A one-off time already past when the schedule arrives
                    // is a misfire, not nothing: its policy decides.
                    CTrigger::At(at) if old.is_none() => {
                        plan.doc.valid_from.is_none_or(|f| at >= f).then_some(at)
                    }
                    _ if ct.trigger.is_time() => ct.trigger.first_at_or_after(from),
                    _ => None,
                };
                st
            })
            .collect()
    }

    pub(super) fn authorize(
        &self,
        requester: &str,
        s: &Sched,
        access: Access,
        action: &'static str,
    ) -> Result<(), EngineError> {
        if self.may(requester, &s.owner, &s.id, access) {
            Ok(())
        } else if access == Access::Read {
            // Do not reveal that another authority's schedule exists.
            Err(EngineError::NotFound {
                owner: s.owner.clone(),
                id: s.id.clone(),
            })
        } else {
            Err(EngineError::PermissionDenied {
                requester: requester.to_string(),
                owner: s.owner.clone(),
                id: s.id.clone(),
                action,
            })
        }
    }

    pub(super) fn state_of(&self, sid: i64) -> Option<ScheduleState> {
        self.scheds
            .get(&sid)
            .map(|s| s.state)
            .or_else(|| self.cold.get(&sid).copied())
    }

    /// Finds a schedule by owner and id and loads it.
    pub(super) fn find_warm(&mut self, owner: &str, id: &str) -> Result<i64, EngineError> {
        let sid = self.find(owner, id)?;
        self.warm(sid)?;
        Ok(sid)
    }

    /// The baseline of each `changes` trigger not primed yet: the node's
    /// value when the schedule is accepted, so that a write before the
    /// engine's next call (the same DM session, say) is a change from it.
    /// A read that fails leaves it to the first look, as before.
    pub(super) fn prime_changes(&self, owner: &str, plan: &Plan, tasks: &mut [TaskState]) {
        for (ct, st) in plan.tasks.iter().zip(tasks.iter_mut()) {
            if let CTrigger::Changes(uri) = &ct.trigger
                && !st.primed
                && let Ok(v) = self.host.tree.read(owner, uri)
            {
                st.primed = true;
                st.last_value = v.map(|v| serde_json::to_string(&v).unwrap_or_default());
            }
        }
    }

    pub(super) fn find(&self, owner: &str, id: &str) -> Result<i64, EngineError> {
        self.names
            .get(&name_key(owner, id))
            .copied()
            .ok_or_else(|| EngineError::NotFound {
                owner: owner.to_string(),
                id: id.to_string(),
            })
    }

    /// Verifies and stores a schedule for `owner` and activates it.
    ///
    /// The document is checked completely before anything is written; on
    /// success the schedule is durable when this returns (6.1.7.3). A
    /// terminated, expired or completed schedule with the same id is replaced.
    pub fn submit(
        &mut self,
        owner: &str,
        json: &str,
        now: Timestamp,
    ) -> Result<ScheduleInfo, EngineError> {
        if owner.is_empty() {
            return Err(EngineError::InvalidArgument(
                "owner must not be empty".into(),
            ));
        }
        // A server id is a DM account's ServerID: short text, no controls.
        if owner.len() > MAX_OWNER_BYTES || owner.chars().any(char::is_control) {
            return Err(EngineError::InvalidArgument(format!(
                "owner must be at most {MAX_OWNER_BYTES} bytes without control characters ({} bytes given)",
                owner.len()
            )));
        }
        let (mut doc, mut plan) =
            super::compile::parse_checked(json, &self.cfg.limits, now, &self.tz)
                .map_err(EngineError::Invalid)?;
        super::personal::refuse_server_choices(&doc)?;
        self.cfg.event_access.check(owner, &plan)?;
        let old = self.names.get(&name_key(owner, &doc.id)).copied();
        if let Some(sid) = old
            && self.state_of(sid).is_some_and(ScheduleState::is_live)
        {
            return Err(EngineError::Exists {
                owner: owner.into(),
                id: doc.id,
            });
        }
        let count = self.live.get(owner).copied().unwrap_or(0);
        if count >= self.cfg.limits.max_schedules_per_owner {
            return Err(EngineError::LimitExceeded(format!(
                "owner {owner:?} already has {count} schedules (limit {}: this device's Capabilities/MaxSchedulesPerServer)",
                self.cfg.limits.max_schedules_per_owner
            )));
        }
        // Personalisation: the user adjusts what the server allows.
        let mut stored = std::borrow::Cow::Borrowed(json);
        if self.ask_choices(owner, &mut doc, true, now) {
            plan = compile(&doc, &self.cfg.limits, now, &self.tz).map_err(EngineError::Invalid)?;
            stored = serde_json::to_string(&doc)
                .map_err(|e| EngineError::Decode(e.to_string()))?
                .into();
        }
        let mut tasks = Self::initial_states(&plan, now, None);
        self.prime_changes(owner, &plan, &mut tasks);
        let id = doc.id.clone();
        let mut sched = Sched {
            sid: 0,
            owner: owner.to_string(),
            id: id.clone(),
            state: ScheduleState::Active,
            reason: None,
            accepted_at: now,
            plan: std::sync::Arc::new(plan),
            tasks,
            state_dirty: false,
        };
        // The document is stored as received (it was fully verified
        // above), with the user's choices if any.
        let tx = self.store.tx()?;
        if let Some(sid) = old {
            tx.delete_schedule(sid)?;
        }
        sched.sid = tx.insert_schedule(
            owner,
            &id,
            &stored,
            ScheduleState::Active.as_str(),
            &now.to_string(),
        )?;
        for tidx in 0..sched.tasks.len() {
            write_task(&tx, &self.cfg, &self.tz, &sched, tidx, now)?;
        }
        tx.commit()?;
        if let Some(old) = old {
            self.disarm_schedule(old);
            self.scheds.remove(&old);
            self.cold.remove(&old);
        }
        let sid = sched.sid;
        self.scheds.insert(sid, sched);
        self.used.push(sid);
        self.names.insert(name_key(owner, &id), sid);
        *self.live.entry(owner.to_string()).or_default() += 1;
        tracing::info!(target: "dmsched::engine", owner, id = %self.scheds[&sid].id, "schedule accepted");
        self.arm_schedule(sid, now);
        Ok(self.info(sid, now))
    }

    /// Replaces a live schedule's document (re-verified). Tasks that keep
    /// their id keep their run count and last outcome; every timer is
    /// re-planned from `now`; an occurrence waiting for its constraints is
    /// skipped.
    pub fn modify(
        &mut self,
        requester: &str,
        owner: &str,
        json: &str,
        now: Timestamp,
    ) -> Result<ScheduleInfo, EngineError> {
        let doc = parse_document(json, &self.cfg.limits).map_err(|first| {
            EngineError::Invalid(super::compile::every_problem(
                json,
                first,
                &self.cfg.limits,
                now,
                &self.tz,
            ))
        })?;
        let sid = self.find_warm(owner, &doc.id)?;
        let s = &self.scheds[&sid];
        self.authorize(requester, s, Access::Change, "modify")?;
        if !s.state.is_live() {
            return Err(EngineError::InvalidState(format!(
                "schedule {:?} is {} and cannot be modified",
                s.id,
                s.state.as_str()
            )));
        }
        super::personal::refuse_server_choices(&doc)?;
        let mut doc = doc;
        // Personalisation: the user's choices stay where their parameter
        // still holds; the user is asked about parameters new in this
        // version.
        let mut stored = std::borrow::Cow::Borrowed(json);
        if let Some(newp) = doc.personalize.as_mut() {
            let oldp = s.plan.doc.personalize.as_deref();
            if let Some(oldp) = oldp {
                newp.choices = newp.carried(oldp);
            }
            let fresh = newp
                .params
                .iter()
                .any(|p| oldp.is_none_or(|o| o.param(&p.id).is_none()));
            let owner = s.owner.clone();
            self.ask_choices(&owner, &mut doc, fresh, now);
            if doc
                .personalize
                .as_ref()
                .is_some_and(|p| !p.choices.is_empty())
            {
                stored = serde_json::to_string(&doc)
                    .map_err(|e| EngineError::Decode(e.to_string()))?
                    .into();
            }
        }
        let s = &self.scheds[&sid];
        let plan = compile(&doc, &self.cfg.limits, s.accepted_at, &self.tz)
            .map_err(EngineError::Invalid)?;
        self.cfg.event_access.check(&s.owner, &plan)?;
        // What fell due under the old document and was not looked at yet
        // (a late tick) is handled first, as that tick would have.
        if s.state == ScheduleState::Active {
            let mut out = Vec::new();
            for tidx in 0..s.tasks.len() {
                if let Err(e) = self.process_one(sid, tidx, now, Cause::Time, &mut out) {
                    self.recovered.append(&mut out);
                    return Err(e);
                }
            }
            self.recovered.append(&mut out);
            if !self.scheds[&sid].state.is_live() {
                return Err(EngineError::InvalidState(format!(
                    "schedule {:?} ended ({}) before it could be modified",
                    doc.id,
                    self.scheds[&sid].state.as_str()
                )));
            }
        }
        let s = &self.scheds[&sid];
        let mut tasks = Self::initial_states(&plan, now, Some((&s.plan.doc, &s.tasks)));
        self.prime_changes(&s.owner, &plan, &mut tasks);
        let s = &self.scheds[&sid];
        // Skip what was waiting under the old document.
        let mut finals = Vec::new();
        let mut reports = Vec::new();
        for (tidx, st) in s.tasks.iter().enumerate() {
            if let Some(p) = st.pending.as_ref().filter(|p| !p.in_flight) {
                // Reported as finalize would (a skip counts as a failure).
                if s.plan.doc.tasks[tidx].policy.report != crate::model::ReportWhen::Never {
                    reports.push(finals.len());
                }
                finals.push(Firing {
                    owner: s.owner.clone(),
                    schedule: s.id.clone(),
                    task: s.plan.doc.tasks[tidx].id.clone(),
                    seq: p.seq,
                    due: p.due,
                    run_at: None,
                    outcome: Outcome::Skipped,
                    reason: Some("schedule modified".into()),
                    attempts: p.attempt,
                    results: Vec::new(),
                    cause: st
                        .cause
                        .as_ref()
                        .filter(|(n, _)| *n == p.seq)
                        .map(|(_, c)| c.clone()),
                });
            }
        }
        // What the modify skipped belongs to the run history of the task
        // that stays (by id).
        for f in &finals {
            if let Some(i) = plan.doc.tasks.iter().position(|t| t.id == f.task) {
                tasks[i].history.push(crate::model::RunRecord::of(f));
                tasks[i].history_unsaved = tasks[i].history_unsaved.saturating_add(1);
            }
        }
        let mut new = Sched {
            sid,
            owner: s.owner.clone(),
            id: s.id.clone(),
            state: s.state,
            reason: s.reason.clone(),
            accepted_at: s.accepted_at,
            plan: std::sync::Arc::new(plan),
            tasks,
            state_dirty: false,
        };
        let tx = self.store.tx()?;
        tx.update_doc(sid, &stored)?;
        tx.delete_tasks(sid)?;
        let kept: Vec<&str> = new.plan.doc.tasks.iter().map(|t| t.id.as_str()).collect();
        tx.keep_history_of(sid, &kept)?;
        for tidx in 0..new.tasks.len() {
            super::persist::save_history(&tx, self.cfg.history_len, &mut new, tidx)?;
            write_task(&tx, &self.cfg, &self.tz, &new, tidx, now)?;
        }
        for &i in &reports {
            let body = serde_json::to_string(&finals[i])
                .map_err(|e| EngineError::Decode(e.to_string()))?;
            tx.push_report(&new.owner, &body, self.cfg.outbox_capacity, now)?;
        }
        tx.commit()?;
        self.recovered.append(&mut finals);
        self.disarm_schedule(sid);
        self.scheds.insert(sid, new);
        self.used.push(sid);
        self.arm_schedule(sid, now);
        Ok(self.info(sid, now))
    }

    /// Suspends a schedule: nothing runs until [`Engine::resume`].
    pub fn suspend(
        &mut self,
        requester: &str,
        owner: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<ScheduleInfo, EngineError> {
        self.transition(requester, owner, id, now, ScheduleState::Suspended)
    }

    /// Resumes a suspended schedule. Occurrences that fell in the suspension
    /// are not run (they are not misfires): each is recorded `skipped`
    /// ("due while the schedule was suspended"; one report per task, as a
    /// misfire run); timers are re-planned from `now`.
    pub fn resume(
        &mut self,
        requester: &str,
        owner: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<ScheduleInfo, EngineError> {
        let sid = self.find_warm(owner, id)?;
        let s = &self.scheds[&sid];
        self.authorize(requester, s, Access::Change, "resume")?;
        if s.state != ScheduleState::Suspended {
            return Err(EngineError::InvalidState(format!(
                "schedule {id:?} is {}, not suspended",
                s.state.as_str()
            )));
        }
        let start = s.plan.doc.valid_from.map_or(now, |f| f.max(now));
        let plan = s.plan.clone();
        let s = self.scheds.get_mut(&sid).expect("warmed by find_warm");
        let saved = (s.state, s.reason.take(), s.tasks.clone());
        s.state = ScheduleState::Active;
        // Occurrences that fell due during the suspension are not run; each
        // is recorded skipped (reported once per task, as a misfire run).
        let mut finals: Vec<Vec<Final>> = Vec::with_capacity(plan.tasks.len());
        for (tidx, ct) in plan.tasks.iter().enumerate() {
            let mut f = Vec::new();
            if s.tasks[tidx].ended.is_none() && ct.trigger.is_time() {
                let t = &plan.doc.tasks[tidx];
                let end = [Some(start), t.termination.until, plan.doc.valid_until]
                    .into_iter()
                    .flatten()
                    .min()
                    .unwrap_or(start);
                skip_suspended(s, tidx, ct, end, self.cfg.max_misfire_records, &mut f);
                s.tasks[tidx].next_due = ct.trigger.first_at_or_after(start);
            }
            s.tasks[tidx].primed = false;
            s.tasks[tidx].armed = false;
            finals.push(f);
        }
        let mut out = Vec::new();
        let written = (|| {
            let mut cx = Self::cx(
                &self.cfg,
                &self.tz,
                &mut self.store,
                &self.host,
                &mut self.index,
                &mut out,
                &mut self.batch,
                now,
            );
            // Task rows (with their records) first: a crash before the
            // state row leaves the schedule suspended with nothing lost.
            for (tidx, f) in finals.iter_mut().enumerate() {
                persist(&mut cx, s, tidx, f, Journal::None)?;
            }
            let tx = cx.store.tx()?;
            tx.set_state(sid, ScheduleState::Active.as_str(), None)?;
            tx.commit()?;
            Ok::<(), EngineError>(())
        })();
        if let Err(e) = written {
            // The state row was not changed: put the suspended state back.
            (s.state, s.reason, s.tasks) = saved;
            return Err(e);
        }
        self.recovered.append(&mut out);
        self.arm_schedule(sid, now);
        Ok(self.info(sid, now))
    }

    /// Terminates a schedule. It stays visible (state `terminated`) until an
    /// id is reused by a new submission.
    pub fn terminate(
        &mut self,
        requester: &str,
        owner: &str,
        id: &str,
        now: Timestamp,
    ) -> Result<ScheduleInfo, EngineError> {
        self.transition(requester, owner, id, now, ScheduleState::Terminated)
    }

    pub(super) fn transition(
        &mut self,
        requester: &str,
        owner: &str,
        id: &str,
        now: Timestamp,
        to: ScheduleState,
    ) -> Result<ScheduleInfo, EngineError> {
        let sid = self.find_warm(owner, id)?;
        let s = &self.scheds[&sid];
        let (access, verb) = match to {
            ScheduleState::Terminated => (Access::End, "terminate"),
            _ => (Access::Change, "suspend"),
        };
        self.authorize(requester, s, access, verb)?;
        let ok = match to {
            ScheduleState::Suspended => s.state == ScheduleState::Active,
            _ => s.state.is_live(),
        };
        if !ok {
            return Err(EngineError::InvalidState(format!(
                "schedule {id:?} is {} and cannot be {}",
                s.state.as_str(),
                if to == ScheduleState::Suspended {
                    "suspended"
                } else {
                    "terminated"
                }
            )));
        }
        let reason = if to == ScheduleState::Suspended {
            format!("suspended by {requester}")
        } else {
            format!("terminated by {requester}")
        };
        let mut out = Vec::new();
        // What fell due before `now` and was not looked at yet (the host's
        // tick is late) is handled first, as that tick would have: every
        // occurrence due while the schedule was live gets its outcome.
        if s.state == ScheduleState::Active {
            for tidx in 0..s.tasks.len() {
                if let Err(e) = self.process_one(sid, tidx, now, Cause::Time, &mut out) {
                    self.recovered.append(&mut out);
                    return Err(e);
                }
            }
            if !self.scheds[&sid].state.is_live() {
                // It ended meanwhile (completed, expired): nothing to change.
                self.recovered.append(&mut out);
                return Ok(self.info(sid, now));
            }
        }
        {
            let s = self.scheds.get_mut(&sid).expect("found above");
            let mut cx = Self::cx(
                &self.cfg,
                &self.tz,
                &mut self.store,
                &self.host,
                &mut self.index,
                &mut out,
                &mut self.batch,
                now,
            );
            end_schedule(&mut cx, s, to, &reason, now)?;
        }
        self.note_liveness(owner, true, to.is_live());
        tracing::info!(target: "dmsched::engine", owner, id, requester, state = to.as_str(), "schedule changed state");
        self.recovered.append(&mut out);
        Ok(self.info(sid, now))
    }

    pub(super) fn may(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool {
        requester == owner
            || self
                .host
                .authorizer
                .as_ref()
                .is_some_and(|a| a.authorize(requester, owner, id, access))
    }
}
