//! The evaluator: deterministic, driven by the host.
//!
//! The engine never reads a clock or the tree by itself: the host passes
//! `now` into every call, and events and tree changes as they happen.
//! [`Engine::next_wakeup`] tells the host when to call [`Engine::tick`]
//! next, so that a mobile host can arm one OS alarm instead of keeping a
//! thread alive.
//!
//! Time semantics (the contract, see `docs/time.md`):
//! * instants are UTC; calendar rules are evaluated in their zone (DST per
//!   the task's `dst` policy); windows in the schedule's zone;
//! * an occurrence whose jittered time passed more than the misfire grace
//!   (the larger of `misfire_grace_seconds` and the task's
//!   `max_delay_seconds`) before `now` is a misfire and follows `misfire`;
//! * the wall clock going back never repeats an occurrence: calendar and
//!   `at` occurrences wait for their instant again, `every` tasks keep their
//!   remaining interval (their grid shifts by the jump); pending waits
//!   (jitter, backoff, postponement) shift with the clock;
//! * a change of the device zone re-plans every task that uses `local`.

mod compile;
mod error;
mod index;
mod info;
mod process;
mod state;

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

pub use compile::check_document;
pub use error::EngineError;
pub use info::{PendingInfo, ScheduleInfo, TaskInfo};
pub use process::Event;
pub use state::ScheduleState;

use compile::{CTrigger, Plan, compile, compile_stored};
use index::Index;
use process::{Cause, Cx, Sched, add_secs, end_schedule, process, rearm, write_task};
use state::TaskState;

use crate::host::{Access, Host};
use crate::model::{Firing, Limits, Outcome, Report, Schedule, Trigger, parse_document};
use crate::store::Store;
use crate::when;

/// Engine settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// This device's id: seeds the deterministic jitter.
    pub device_id: String,
    /// Limits every submitted schedule must respect.
    pub limits: Limits,
    /// How late an occurrence may run before it counts as a misfire, seconds.
    pub misfire_grace_seconds: u64,
    /// Most reports kept in the outbox; beyond, the oldest are evicted and counted.
    pub outbox_capacity: usize,
    /// The device's time zone (`local` in schedules), an IANA name or `UTC`.
    pub time_zone: String,
    /// Most skipped misfires recorded one by one in a catch-up; the rest are summarised.
    pub max_misfire_records: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            device_id: "device".into(),
            limits: Limits::default(),
            misfire_grace_seconds: 60,
            outbox_capacity: 1000,
            time_zone: "UTC".into(),
            max_misfire_records: 1000,
        }
    }
}

/// Reports waiting for a server.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReportBatch {
    /// Oldest first.
    pub reports: Vec<Report>,
    /// Reports of this owner evicted from the full outbox since its last acknowledgement.
    pub dropped: u64,
}

/// What [`Engine::inspect`] finds in a store.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// Every schedule, any state.
    pub schedules: Vec<ScheduleInfo>,
    /// Firings started and not finished (a crash interrupted them).
    pub in_flight: usize,
    /// Reports waiting in the outbox.
    pub outbox: u64,
    /// The latest `now` the engine saw.
    pub last_now: Option<Timestamp>,
}

fn inert_host() -> Host {
    struct Inert;
    impl crate::host::TreeAccess for Inert {
        fn read(
            &self,
            _: &str,
            _: &str,
        ) -> Result<Option<crate::expr::Value>, crate::host::HostError> {
            Err(crate::host::HostError("read-only inspection".into()))
        }
    }
    impl crate::host::ActionExecutor for Inert {
        fn execute(
            &self,
            _: &crate::host::RunContext,
            _: &[crate::model::Action],
        ) -> Result<Vec<crate::model::CommandResult>, crate::host::HostError> {
            Err(crate::host::HostError("read-only inspection".into()))
        }
    }
    let inert = std::sync::Arc::new(Inert);
    Host {
        tree: inert.clone(),
        executor: inert,
        prompt: None,
        reports: None,
        authorizer: None,
    }
}

/// The scheduling engine over a store and a host.
pub struct Engine {
    cfg: EngineConfig,
    tz: TimeZone,
    store: Store,
    host: Host,
    scheds: FxHashMap<i64, Sched>,
    /// `owner NUL id` → row id (ids never contain NUL).
    names: FxHashMap<String, i64>,
    index: Index,
    last_now: Option<Timestamp>,
    recovered: Vec<Firing>,
    /// Live (active or suspended) schedules per owner, for quotas.
    live: HashMap<String, usize>,
    /// Schedules restored but not yet loaded (see `recover`).
    cold: FxHashMap<i64, ScheduleState>,
    /// Opened by `inspect`: never writes.
    read_only: bool,
}

fn name_key(owner: &str, id: &str) -> String {
    let mut k = String::with_capacity(owner.len() + id.len() + 1);
    k.push_str(owner);
    k.push('\0');
    k.push_str(id);
    k
}

fn split_key(key: &str) -> (&str, &str) {
    key.rsplit_once('\0').unwrap_or((key, ""))
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("schedules", &self.scheds.len())
            .field("timers", &self.index.timer_count())
            .finish_non_exhaustive()
    }
}

pub(crate) const META_LAST_NOW: &str = "last_now";

impl Engine {
    /// Opens the engine on `store`: restores every schedule, its state and
    /// its next run, and settles firings a crash interrupted: at-most-once
    /// ones are recorded as `interrupted` (and reported), at-least-once ones
    /// run again at the next `tick`.
    pub fn open(store: Store, host: Host, cfg: EngineConfig) -> Result<Engine, EngineError> {
        let tz = when::zone(&cfg.time_zone).map_err(|e| {
            EngineError::Invalid(vec![crate::model::Problem::new("time_zone", e.to_string())])
        })?;
        let last_now = store
            .meta(META_LAST_NOW)?
            .and_then(|s| s.parse::<Timestamp>().ok());
        let mut engine = Engine {
            cfg,
            tz,
            store,
            host,
            scheds: FxHashMap::default(),
            names: FxHashMap::default(),
            index: Index::default(),
            last_now,
            recovered: Vec::new(),
            live: HashMap::new(),
            cold: FxHashMap::default(),
            read_only: false,
        };
        engine.recover(true)?;
        Ok(engine)
    }

    /// Reads a store without changing it: every schedule as `list_all`
    /// shows it, the number of firings a crash interrupted (settled only by
    /// [`Engine::open`]) and the outbox size.
    pub fn inspect(store: Store, cfg: EngineConfig) -> Result<Inspection, EngineError> {
        let tz = when::zone(&cfg.time_zone).unwrap_or(TimeZone::UTC);
        let last_now = store
            .meta(META_LAST_NOW)?
            .and_then(|s| s.parse::<Timestamp>().ok());
        let in_flight = store.in_flight()?.len();
        let outbox = store.outbox_len()?;
        let mut engine = Engine {
            cfg,
            tz,
            store,
            host: inert_host(),
            scheds: FxHashMap::default(),
            names: FxHashMap::default(),
            index: Index::default(),
            last_now,
            recovered: Vec::new(),
            live: HashMap::new(),
            cold: FxHashMap::default(),
            read_only: true,
        };
        engine.recover(false)?;
        Ok(Inspection {
            schedules: engine.list_all()?,
            in_flight,
            outbox,
            last_now,
        })
    }

    /// Restart: schedules come back "cold" (their head only) and their
    /// timers and watchers are armed from the stored wake-ups and watch
    /// lists, so that opening costs little per schedule. A schedule's
    /// document is read and compiled ("warmed") when it is first needed.
    fn recover(&mut self, settle: bool) -> Result<(), EngineError> {
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
                Some(p) if p.seq == inf.seq && at_least_once && st.ended.is_none() => {
                    p.in_flight = false;
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
                    };
                    if s.plan.doc.tasks[tidx].policy.report != crate::model::ReportWhen::Never {
                        report = Some(f.clone());
                    }
                    tracing::warn!(target: "dmsched::engine", owner = %s.owner, id = %s.id, seq = p.seq, "a run was interrupted by a restart; not repeated (at-most-once)");
                    self.recovered.push(f);
                }
                _ => {}
            }
            let tx = self.store.tx()?;
            write_task(&tx, &self.cfg, &self.tz, s, tidx, now)?;
            tx.journal_finish(inf.fid)?;
            if let Some(f) = report {
                let body =
                    serde_json::to_string(&f).map_err(|e| EngineError::Decode(e.to_string()))?;
                tx.push_report(&s.owner, &body, self.cfg.outbox_capacity)?;
            }
            tx.commit()?;
            self.arm_schedule(inf.sid, now);
        }
        Ok(())
    }

    /// Loads and compiles a cold schedule. A stored document that no longer
    /// compiles is kept, visibly `failed`, rather than lost.
    fn warm(&mut self, sid: i64) -> Result<(), EngineError> {
        let Some(cold_state) = self.cold.remove(&sid) else {
            return Ok(());
        };
        let (row, rows) = match self.store.load_schedule(sid) {
            Ok(x) => x,
            Err(e) => {
                self.cold.insert(sid, cold_state);
                return Err(e.into());
            }
        };
        let doc: Schedule = serde_json::from_str(&row.doc)
            .map_err(|e| EngineError::Decode(format!("schedule {}: {e}", row.id)))?;
        let mut tasks = vec![TaskState::default(); doc.tasks.len()];
        for (tidx, json) in rows {
            if let Some(slot) = tasks.get_mut(tidx as usize) {
                *slot =
                    serde_json::from_str(&json).map_err(|e| EngineError::Decode(e.to_string()))?;
            }
        }
        let accepted_at = row
            .accepted_at
            .parse::<Timestamp>()
            .map_err(|e| EngineError::Decode(format!("schedule {}: {e}", row.id)))?;
        let (mut state, mut reason) = (cold_state, row.reason);
        let plan = match compile_stored(&doc, &self.cfg.limits, accepted_at, &self.tz) {
            Ok(p) => p,
            Err(problems) => {
                state = ScheduleState::Failed;
                reason = Some(format!(
                    "no longer valid: {}",
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
                if cold_state.is_live()
                    && let Some(n) = self.live.get_mut(&row.owner)
                {
                    *n = n.saturating_sub(1);
                }
                if !self.read_only {
                    let tx = self.store.tx()?;
                    tx.set_state(sid, state.as_str(), reason.as_deref())?;
                    tx.commit()?;
                }
                Plan {
                    doc: doc.clone(),
                    zone: compile::Zone::Fixed(TimeZone::UTC),
                    tasks: Vec::new(),
                }
            }
        };
        let failed = state == ScheduleState::Failed;
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
    fn warm_all(&mut self) -> Result<(), EngineError> {
        let sids: Vec<i64> = self.cold.keys().copied().collect();
        for sid in sids {
            self.warm(sid)?;
        }
        Ok(())
    }

    fn cx<'a>(
        cfg: &'a EngineConfig,
        tz: &'a TimeZone,
        store: &'a mut Store,
        host: &'a Host,
        index: &'a mut Index,
        out: &'a mut Vec<Firing>,
        now: Timestamp,
    ) -> Cx<'a> {
        Cx {
            cfg,
            tz,
            store,
            host,
            index,
            out,
            now,
        }
    }

    /// Registers an active schedule's watchers and timers.
    fn arm_schedule(&mut self, sid: i64, now: Timestamp) {
        let Some(s) = self.scheds.get(&sid) else {
            return;
        };
        let mut out = Vec::new();
        let mut cx = Self::cx(
            &self.cfg,
            &self.tz,
            &mut self.store,
            &self.host,
            &mut self.index,
            &mut out,
            now,
        );
        for (tidx, ct) in s.plan.tasks.iter().enumerate() {
            let key = s.key(tidx as u32);
            if s.state == ScheduleState::Active && s.tasks[tidx].ended.is_none() {
                cx.index
                    .watch(key, &ct.watched_events(), &ct.watched_uris());
            } else {
                cx.index
                    .forget(key, &ct.watched_events(), &ct.watched_uris());
            }
            rearm(&mut cx, s, tidx, now);
        }
    }

    fn disarm_schedule(&mut self, sid: i64) {
        let Some(s) = self.scheds.get(&sid) else {
            return;
        };
        for (tidx, ct) in s.plan.tasks.iter().enumerate() {
            self.index
                .forget(s.key(tidx as u32), &ct.watched_events(), &ct.watched_uris());
        }
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
    }

    /// Initial state of the tasks of a newly (re)planned schedule.
    fn initial_states(
        plan: &Plan,
        start: Timestamp,
        old: Option<(&Schedule, &[TaskState])>,
    ) -> Vec<TaskState> {
        let start = plan.doc.valid_from.map_or(start, |f| f.max(start));
        plan.tasks
            .iter()
            .zip(&plan.doc.tasks)
            .map(|(ct, t)| {
                let mut st = old
                    .and_then(|(doc, states)| {
                        doc.tasks
                            .iter()
                            .position(|o| o.id == t.id)
                            .and_then(|i| states.get(i).cloned())
                    })
                    .map(|o| TaskState {
                        seq: o.seq,
                        runs: o.runs,
                        last_run: o.last_run,
                        last_outcome: o.last_outcome,
                        last_reason: o.last_reason,
                        ..TaskState::default()
                    })
                    .unwrap_or_default();
                st.next_due = match ct.trigger {
                    // A one-off time already past when the schedule arrives
                    // is a misfire, not nothing: its policy decides.
                    CTrigger::At(at) if old.is_none() => {
                        plan.doc.valid_from.is_none_or(|f| at >= f).then_some(at)
                    }
                    _ if ct.trigger.is_time() => ct.trigger.first_at_or_after(start),
                    _ => None,
                };
                st
            })
            .collect()
    }

    fn authorize(
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

    fn state_of(&self, sid: i64) -> Option<ScheduleState> {
        self.scheds
            .get(&sid)
            .map(|s| s.state)
            .or_else(|| self.cold.get(&sid).copied())
    }

    /// Finds a schedule by owner and id and loads it.
    fn find_warm(&mut self, owner: &str, id: &str) -> Result<i64, EngineError> {
        let sid = self.find(owner, id)?;
        self.warm(sid)?;
        Ok(sid)
    }

    fn find(&self, owner: &str, id: &str) -> Result<i64, EngineError> {
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
            return Err(EngineError::Invalid(vec![crate::model::Problem::new(
                "owner",
                "owner must not be empty",
            )]));
        }
        let doc =
            parse_document(json, &self.cfg.limits).map_err(|p| EngineError::Invalid(vec![p]))?;
        let plan = compile(&doc, &self.cfg.limits, now, &self.tz).map_err(EngineError::Invalid)?;
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
                "owner {owner:?} already has {count} schedules (limit {})",
                self.cfg.limits.max_schedules_per_owner
            )));
        }
        let tasks = Self::initial_states(&plan, now, None);
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
        // The document is stored as received (it was fully verified above).
        let tx = self.store.tx()?;
        if let Some(sid) = old {
            tx.delete_schedule(sid)?;
        }
        sched.sid = tx.insert_schedule(
            owner,
            &id,
            json,
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
        let doc =
            parse_document(json, &self.cfg.limits).map_err(|p| EngineError::Invalid(vec![p]))?;
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
        let plan = compile(&doc, &self.cfg.limits, s.accepted_at, &self.tz)
            .map_err(EngineError::Invalid)?;
        let tasks = Self::initial_states(&plan, now, Some((&s.plan.doc, &s.tasks)));
        // Skip what was waiting under the old document.
        let mut finals = Vec::new();
        for (tidx, st) in s.tasks.iter().enumerate() {
            if let Some(p) = st.pending.as_ref().filter(|p| !p.in_flight) {
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
                });
            }
        }
        let new = Sched {
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
        tx.update_doc(sid, json)?;
        tx.delete_tasks(sid)?;
        for tidx in 0..new.tasks.len() {
            write_task(&tx, &self.cfg, &self.tz, &new, tidx, now)?;
        }
        tx.commit()?;
        self.recovered.append(&mut finals);
        self.disarm_schedule(sid);
        self.scheds.insert(sid, new);
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
    /// are not run (they are not misfires); timers are re-planned from `now`.
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
        let mut states = s.tasks.clone();
        for (st, ct) in states.iter_mut().zip(&s.plan.tasks) {
            if st.ended.is_none() && ct.trigger.is_time() {
                st.next_due = ct.trigger.first_at_or_after(start);
            }
            st.primed = false;
            st.armed = false;
        }
        let s = self.scheds.get_mut(&sid).expect("warmed by find_warm");
        let saved = (
            s.state,
            s.reason.take(),
            std::mem::replace(&mut s.tasks, states),
        );
        s.state = ScheduleState::Active;
        let written = (|| {
            let tx = self.store.tx()?;
            tx.set_state(sid, ScheduleState::Active.as_str(), None)?;
            for tidx in 0..s.tasks.len() {
                write_task(&tx, &self.cfg, &self.tz, s, tidx, now)?;
            }
            tx.commit()?;
            Ok::<(), EngineError>(())
        })();
        if let Err(e) = written {
            // Nothing was stored: put the suspended state back.
            (s.state, s.reason, s.tasks) = saved;
            return Err(e);
        }
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

    fn transition(
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
        {
            let s = self.scheds.get_mut(&sid).expect("found above");
            let mut cx = Self::cx(
                &self.cfg,
                &self.tz,
                &mut self.store,
                &self.host,
                &mut self.index,
                &mut out,
                now,
            );
            end_schedule(&mut cx, s, to, &reason, now)?;
        }
        self.note_liveness(owner, true, to.is_live());
        tracing::info!(target: "dmsched::engine", owner, id, requester, state = to.as_str(), "schedule changed state");
        self.recovered.append(&mut out);
        Ok(self.info(sid, now))
    }

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

    fn may(&self, requester: &str, owner: &str, id: &str, access: Access) -> bool {
        requester == owner
            || self
                .host
                .authorizer
                .as_ref()
                .is_some_and(|a| a.authorize(requester, owner, id, access))
    }

    fn infos(&mut self, sids: Vec<i64>) -> Result<Vec<ScheduleInfo>, EngineError> {
        let now = self.last_now.unwrap_or(Timestamp::UNIX_EPOCH);
        let mut v = Vec::with_capacity(sids.len());
        for sid in sids {
            self.warm(sid)?;
            v.push(self.info(sid, now));
        }
        v.sort_by(|a, b| (&a.owner, &a.id).cmp(&(&b.owner, &b.id)));
        Ok(v)
    }

    fn info(&self, sid: i64, now: Timestamp) -> ScheduleInfo {
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

    /// The earliest instant at which something is due; `None` when nothing
    /// is scheduled by time (events and tree changes may still trigger).
    pub fn next_wakeup(&self) -> Option<Timestamp> {
        self.index.next_wakeup()
    }

    /// For inexact OS alarms: the earliest due instant and the latest
    /// instant by which the host must call `tick` so that no task is late
    /// beyond its `max_delay_seconds`. Wake-ups of tasks that tolerate delay
    /// can be coalesced anywhere in this window.
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
        let mut first_err = None;
        for (sid, tidx) in self.index.event_watchers(&event.name) {
            if let Err(e) = self.process_one(sid, tidx as usize, now, Cause::Event(event), &mut out)
            {
                first_err.get_or_insert(e);
            }
        }
        self.finish_call(now, out, first_err)
    }

    /// A tree node changed: wakes only the tasks whose conditions read it.
    pub fn on_tree_changed(
        &mut self,
        uri: &str,
        now: Timestamp,
    ) -> Result<Vec<Firing>, EngineError> {
        self.observe_clock(now)?;
        let mut out = std::mem::take(&mut self.recovered);
        let mut first_err = None;
        for (sid, tidx) in self.index.uri_watchers(uri) {
            if let Err(e) = self.process_one(sid, tidx as usize, now, Cause::Tree(uri), &mut out) {
                first_err.get_or_insert(e);
            }
        }
        self.finish_call(now, out, first_err)
    }

    fn finish_call(
        &mut self,
        now: Timestamp,
        out: Vec<Firing>,
        err: Option<EngineError>,
    ) -> Result<Vec<Firing>, EngineError> {
        for f in &out {
            tracing::debug!(target: "dmsched::engine", owner = %f.owner, schedule = %f.schedule, task = %f.task, seq = f.seq, outcome = f.outcome.as_str(), "occurrence finished");
        }
        self.last_now = Some(self.last_now.map_or(now, |l| l.max(now)));
        match err {
            Some(e) => {
                // Firings that did finish are stored; hand them out next time.
                self.recovered = out;
                Err(e)
            }
            None => Ok(out),
        }
    }

    fn process_one(
        &mut self,
        sid: i64,
        tidx: usize,
        now: Timestamp,
        cause: Cause<'_>,
        out: &mut Vec<Firing>,
    ) -> Result<(), EngineError> {
        self.warm(sid)?;
        let Some(s) = self.scheds.get_mut(&sid) else {
            self.index.set_timer((sid, tidx as u32), None);
            return Ok(());
        };
        let mut cx = Self::cx(
            &self.cfg,
            &self.tz,
            &mut self.store,
            &self.host,
            &mut self.index,
            out,
            now,
        );
        let was_live = s.state.is_live();
        let r = process(&mut cx, s, tidx, now, cause);
        if was_live && !s.state.is_live() {
            let owner = s.owner.clone();
            self.note_liveness(&owner, true, false);
        }
        r
    }

    fn note_liveness(&mut self, owner: &str, was: bool, is: bool) {
        if was
            && !is
            && let Some(n) = self.live.get_mut(owner)
        {
            *n = n.saturating_sub(1);
        }
    }

    /// Detects the wall clock going back and re-plans relative waits so
    /// that nothing repeats and intervals keep their length.
    fn observe_clock(&mut self, now: Timestamp) -> Result<(), EngineError> {
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
                if let (Some(d), Some(CTrigger::Every { .. })) =
                    (st.next_due, s.plan.tasks.get(tidx).map(|t| &t.trigger))
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

    fn save_now(&mut self, now: Timestamp) -> Result<(), EngineError> {
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
        let tz = when::zone(name).map_err(|e| {
            EngineError::Invalid(vec![crate::model::Problem::new("time_zone", e.to_string())])
        })?;
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
                if st.ended.is_none() && matches!(ct.trigger, CTrigger::Calendar { .. }) {
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
        let rows = self.store.pending_reports(owner, limit)?;
        let mut reports = Vec::with_capacity(rows.len());
        for (id, _, body) in rows {
            let firing: Firing =
                serde_json::from_str(&body).map_err(|e| EngineError::Decode(e.to_string()))?;
            reports.push(Report { id, firing });
        }
        let dropped = match owner {
            Some(o) => self.store.dropped_reports(o)?,
            None => 0,
        };
        Ok(ReportBatch { reports, dropped })
    }

    /// `owner`'s server received these reports: remove them. Returns how
    /// many were removed (ids of other owners are ignored).
    pub fn ack_reports(&mut self, owner: &str, ids: &[i64]) -> Result<usize, EngineError> {
        let tx = self.store.tx()?;
        let n = tx.ack_reports(owner, ids)?;
        tx.commit()?;
        Ok(n)
    }

    /// Number of schedules held (any state).
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when no schedule is held.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}
