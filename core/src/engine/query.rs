//! Reading schedules: `get`, `list`, `list_all`.

use super::*;

impl Engine {
    /// A schedule, if `requester` may read it.
    pub fn get(
        &mut self,
        requester: &str,
        owner: &str,
        id: &str,
    ) -> Result<ScheduleInfo, EngineError> {
        let sid = self.find(owner, id)?;
        if !self.may(requester, owner, id, Access::Read) {
            return Err(EngineError::NotFound {
                owner: owner.to_string(),
                id: id.to_string(),
            });
        }
        self.warm(sid)?;
        Ok(self.info(sid, self.last_now.unwrap_or(Timestamp::UNIX_EPOCH)))
    }

    /// The schedules `requester` owns or may read, by owner then id.
    pub fn list(&mut self, requester: &str) -> Result<Vec<ScheduleInfo>, EngineError> {
        let sids: Vec<i64> = self
            .names
            .iter()
            .filter(|(key, _)| {
                let (owner, id) = split_key(key);
                self.may(requester, owner, id, Access::Read)
            })
            .map(|(_, sid)| *sid)
            .collect();
        self.infos(sids)
    }

    /// Every schedule of every owner (the device's own view, e.g. `dmsched inspect`).
    pub fn list_all(&mut self) -> Result<Vec<ScheduleInfo>, EngineError> {
        let sids: Vec<i64> = self.names.values().copied().collect();
        self.infos(sids)
    }

    /// Every schedule (any owner) whose document, state or task state was
    /// written since the last call, for one view that keeps itself current
    /// without reading every schedule after each tick (the Scheduling MO).
    /// The engine records writes only from the first call on (which
    /// returns nothing): read everything once after it.
    pub fn take_changed(&mut self) -> Result<Vec<ScheduleInfo>, EngineError> {
        let touched = self.store.take_touched();
        let sids: Vec<i64> = touched
            .into_iter()
            // Loaded or unloaded (idle since), not deleted.
            .filter(|sid| self.scheds.contains_key(sid) || self.cold.contains_key(sid))
            .collect();
        self.infos(sids)
    }

    pub(super) fn infos(&mut self, sids: Vec<i64>) -> Result<Vec<ScheduleInfo>, EngineError> {
        let now = self.last_now.unwrap_or(Timestamp::UNIX_EPOCH);
        let mut v = Vec::with_capacity(sids.len());
        for sid in sids {
            self.warm(sid)?;
            v.push(self.info(sid, now));
        }
        v.sort_by(|a, b| (&a.owner, &a.id).cmp(&(&b.owner, &b.id)));
        Ok(v)
    }

    pub(super) fn info(&self, sid: i64, now: Timestamp) -> ScheduleInfo {
        let s = &self.scheds[&sid];
        let out_cfg = &self.cfg;
        let tasks: Vec<TaskInfo> = s
            .plan
            .doc
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let st = &s.tasks[i];
                let next_run = if s.state == ScheduleState::Active && st.ended.is_none() {
                    match &st.pending {
                        Some(p) => Some(p.not_before.max(now)),
                        None => st.next_due.map(|d| {
                            add_secs(
                                d,
                                u64::from(when::jitter_seconds(
                                    &out_cfg.device_id,
                                    &s.jitter_name(),
                                    &t.id,
                                    st.seq,
                                    t.policy.jitter_seconds,
                                )),
                            )
                        }),
                    }
                } else {
                    None
                };
                let waiting = match s.state {
                    ScheduleState::Suspended => Some("schedule suspended".to_string()),
                    ScheduleState::Active if st.ended.is_none() => match &st.pending {
                        Some(p) => p.waiting.clone(),
                        None => s
                            .plan
                            .doc
                            .valid_from
                            .filter(|f| *f > now)
                            .map(|f| format!("not valid before {f}")),
                    },
                    ScheduleState::Active => None,
                    other => Some(format!("schedule {}", other.as_str())),
                };
                TaskInfo {
                    id: t.id.clone(),
                    trigger: match &t.trigger {
                        Trigger::At(_) => "at",
                        Trigger::Every(_) => "every",
                        Trigger::Calendar(_) => "calendar",
                        Trigger::Event(_) => "event",
                        Trigger::BecomesTrue(_) => "becomes_true",
                        Trigger::Changes(_) => "changes",
                        Trigger::After(_) => "after",
                    }
                    .to_string(),
                    next_run,
                    runs: st.runs,
                    last_run: st.last_run,
                    last_outcome: st.last_outcome,
                    last_reason: st.last_reason.clone(),
                    waiting,
                    pending: st.pending.as_ref().map(|p| PendingInfo {
                        seq: p.seq,
                        due: p.due,
                        not_before: p.not_before,
                        deadline: p.deadline,
                        attempt: p.attempt,
                    }),
                    ended: st.ended.clone(),
                    diagnostic: st.diagnostic.clone(),
                    history: st.history.clone(),
                }
            })
            .collect();
        ScheduleInfo {
            owner: s.owner.clone(),
            id: s.id.clone(),
            state: s.state,
            reason: s.reason.clone(),
            accepted_at: s.accepted_at,
            next_run: tasks.iter().filter_map(|t| t.next_run).min(),
            tasks,
            document: s.plan.doc.clone(),
        }
    }
}
