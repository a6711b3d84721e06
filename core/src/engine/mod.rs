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

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

pub use compile::check_document;
pub use error::EngineError;
pub use info::{PendingInfo, ScheduleInfo, TaskInfo};
pub use process::Event;
pub use state::ScheduleState;

use compile::{CTrigger, Plan, compile};
use index::Index;
use process::{Cause, Cx, Sched, add_secs, end_schedule, process, rearm};
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
    scheds: HashMap<i64, Sched>,
    names: HashMap<(String, String), i64>,
    index: Index,
    last_now: Option<Timestamp>,
    recovered: Vec<Firing>,
    /// Live (active or suspended) schedules per owner, for quotas.
    live: HashMap<String, usize>,
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
            scheds: HashMap::new(),
            names: HashMap::new(),
            index: Index::default(),
            last_now,
            recovered: Vec::new(),
            live: HashMap::new(),
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
        let in_flight = store.snapshot()?.in_flight.len();
        let outbox = store.outbox_len()?;
        let mut engine = Engine {
            cfg,
            tz,
            store,
            host: inert_host(),
            scheds: HashMap::new(),
            names: HashMap::new(),
            index: Index::default(),
            last_now,
            recovered: Vec::new(),
            live: HashMap::new(),
        };
        engine.recover(false)?;
        Ok(Inspection {
            schedules: engine.list_all(),
            in_flight,
            outbox,
            last_now,
        })
    }

    fn recover(&mut self, settle: bool) -> Result<(), EngineError> {
        let snap = self.store.snapshot()?;
        let mut tasks: HashMap<i64, Vec<TaskState>> = HashMap::new();
        for t in snap.tasks {
            let st: TaskState =
                serde_json::from_str(&t.state).map_err(|e| EngineError::Decode(e.to_string()))?;
            let v = tasks.entry(t.sid).or_default();
            let i = t.tidx as usize;
            if v.len() <= i {
                v.resize(i + 1, TaskState::default());
            }
            v[i] = st;
        }
        let mut failed = Vec::new();
        for row in snap.schedules {
            let accepted_at = row
                .accepted_at
                .parse::<Timestamp>()
                .map_err(|e| EngineError::Decode(e.to_string()))?;
            let mut state = ScheduleState::parse(&row.state)
                .ok_or_else(|| EngineError::Decode(format!("unknown state {}", row.state)))?;
            let mut reason = row.reason;
            let doc: Schedule = match serde_json::from_str(&row.doc) {
                Ok(d) => d,
                Err(e) => return Err(EngineError::Decode(format!("schedule {}: {e}", row.id))),
            };
            let plan = match compile(&doc, &self.cfg.limits, accepted_at, &self.tz) {
                Ok(p) => p,
                Err(problems) => {
                    // Keep it, visibly failed, rather than lose it.
                    state = ScheduleState::Failed;
                    reason = Some(format!(
                        "no longer valid: {}",
                        problems
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ));
                    failed.push(row.sid);
                    Plan {
                        doc: doc.clone(),
                        zone: compile::Zone::Fixed(TimeZone::UTC),
                        tasks: Vec::new(),
                    }
                }
            };
            let mut ts = tasks.remove(&row.sid).unwrap_or_default();
            ts.resize(doc.tasks.len(), TaskState::default());
            let s = Sched {
                sid: row.sid,
                owner: row.owner.clone(),
                id: row.id.clone(),
                state,
                reason,
                accepted_at,
                plan: std::sync::Arc::new(plan),
                tasks: ts,
                state_dirty: false,
            };
            if s.state.is_live() {
                *self.live.entry(row.owner.clone()).or_default() += 1;
            }
            self.names.insert((row.owner, row.id), row.sid);
            self.scheds.insert(row.sid, s);
        }
        if !settle {
            return Ok(());
        }
        for sid in failed {
            if let Some(s) = self.scheds.get(&sid) {
                let tx = self.store.tx()?;
                tx.set_state(sid, s.state.as_str(), s.reason.as_deref())?;
                tx.commit()?;
            }
        }
        // Settle interrupted firings.
        for inf in snap.in_flight {
            let Some(s) = self.scheds.get_mut(&inf.sid) else {
                let tx = self.store.tx()?;
                tx.journal_finish(inf.fid)?;
                tx.commit()?;
                continue;
            };
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
                    self.recovered.push(f);
                }
                _ => {}
            }
            let json = serde_json::to_string(&s.tasks[tidx])
                .map_err(|e| EngineError::Decode(e.to_string()))?;
            let tx = self.store.tx()?;
            tx.put_task(s.sid, inf.tidx, &json)?;
            tx.journal_finish(inf.fid)?;
            if let Some(f) = report {
                let body =
                    serde_json::to_string(&f).map_err(|e| EngineError::Decode(e.to_string()))?;
                tx.push_report(&s.owner, &body, self.cfg.outbox_capacity)?;
            }
            tx.commit()?;
        }
        let now = self.last_now.unwrap_or(Timestamp::UNIX_EPOCH);
        let sids: Vec<i64> = self.scheds.keys().copied().collect();
        for sid in sids {
            self.arm_schedule(sid, now);
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
        if requester == s.owner
            || self
                .host
                .authorizer
                .as_ref()
                .is_some_and(|a| a.authorize(requester, &s.owner, &s.id, access))
        {
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

    fn find(&self, owner: &str, id: &str) -> Result<i64, EngineError> {
        self.names
            .get(&(owner.to_string(), id.to_string()))
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
        let old = self
            .names
            .get(&(owner.to_string(), doc.id.clone()))
            .copied();
        if let Some(sid) = old
            && self.scheds.get(&sid).is_some_and(|s| s.state.is_live())
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
        let doc_json =
            serde_json::to_string(&doc).map_err(|e| EngineError::Decode(e.to_string()))?;
        let tx = self.store.tx()?;
        if let Some(sid) = old {
            tx.delete_schedule(sid)?;
        }
        let sid = tx.insert_schedule(
            owner,
            &doc.id,
            &doc_json,
            ScheduleState::Active.as_str(),
            &now.to_string(),
        )?;
        for (i, st) in tasks.iter().enumerate() {
            let json = serde_json::to_string(st).map_err(|e| EngineError::Decode(e.to_string()))?;
            tx.put_task(sid, i as u32, &json)?;
        }
        tx.commit()?;
        if let Some(old) = old {
            self.disarm_schedule(old);
            self.scheds.remove(&old);
        }
        let id = doc.id.clone();
        self.scheds.insert(
            sid,
            Sched {
                sid,
                owner: owner.to_string(),
                id: id.clone(),
                state: ScheduleState::Active,
                reason: None,
                accepted_at: now,
                plan: std::sync::Arc::new(plan),
                tasks,
                state_dirty: false,
            },
        );
        self.names.insert((owner.to_string(), id), sid);
        *self.live.entry(owner.to_string()).or_default() += 1;
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
        let sid = self.find(owner, &doc.id)?;
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
        let doc_json =
            serde_json::to_string(&doc).map_err(|e| EngineError::Decode(e.to_string()))?;
        // Skip what was waiting under the old document.
        let mut out = Vec::new();
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
        let tx = self.store.tx()?;
        tx.update_doc(sid, &doc_json)?;
        tx.delete_tasks(sid)?;
        for (i, st) in tasks.iter().enumerate() {
            let json = serde_json::to_string(st).map_err(|e| EngineError::Decode(e.to_string()))?;
            tx.put_task(sid, i as u32, &json)?;
        }
        tx.commit()?;
        out.append(&mut finals);
        self.recovered.append(&mut out);
        self.disarm_schedule(sid);
        if let Some(s) = self.scheds.get_mut(&sid) {
            s.plan = std::sync::Arc::new(plan);
            s.tasks = tasks;
        }
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
        let sid = self.find(owner, id)?;
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
        let tx = self.store.tx()?;
        tx.set_state(sid, ScheduleState::Active.as_str(), None)?;
        for (i, st) in states.iter().enumerate() {
            let json = serde_json::to_string(st).map_err(|e| EngineError::Decode(e.to_string()))?;
            tx.put_task(sid, i as u32, &json)?;
        }
        tx.commit()?;
        if let Some(s) = self.scheds.get_mut(&sid) {
            s.state = ScheduleState::Active;
            s.reason = None;
            s.tasks = states;
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
        let sid = self.find(owner, id)?;
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
        self.recovered.append(&mut out);
        Ok(self.info(sid, now))
    }

    /// A schedule, if `requester` may read it.
    pub fn get(&self, requester: &str, owner: &str, id: &str) -> Result<ScheduleInfo, EngineError> {
        let sid = self.find(owner, id)?;
        self.authorize(requester, &self.scheds[&sid], Access::Read, "read")?;
        Ok(self.info(sid, self.last_now.unwrap_or(Timestamp::UNIX_EPOCH)))
    }

    /// The schedules `requester` owns or may read, by owner then id.
    pub fn list(&self, requester: &str) -> Vec<ScheduleInfo> {
        self.list_where(|s| self.authorize(requester, s, Access::Read, "read").is_ok())
    }

    /// Every schedule of every owner (the device's own view, e.g. `dmsched inspect`).
    pub fn list_all(&self) -> Vec<ScheduleInfo> {
        self.list_where(|_| true)
    }

    fn list_where(&self, keep: impl Fn(&Sched) -> bool) -> Vec<ScheduleInfo> {
        let now = self.last_now.unwrap_or(Timestamp::UNIX_EPOCH);
        let mut v: Vec<_> = self
            .scheds
            .values()
            .filter(|s| keep(s))
            .map(|s| self.info(s.sid, now))
            .collect();
        v.sort_by(|a, b| (&a.owner, &a.id).cmp(&(&b.owner, &b.id)));
        v
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
        let tx = self.store.tx()?;
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
                    let json = serde_json::to_string(st)
                        .map_err(|e| EngineError::Decode(e.to_string()))?;
                    tx.put_task(s.sid, tidx as u32, &json)?;
                    touched.push(s.sid);
                }
            }
        }
        tx.set_meta(META_LAST_NOW, &now.to_string())?;
        tx.commit()?;
        tracing::info!(target: "dmsched::engine", back_seconds = back.as_secs(), "wall clock went back; re-planned");
        self.last_now = Some(now);
        touched.dedup();
        for sid in touched {
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
        let sids: Vec<i64> = self
            .scheds
            .values()
            .filter(|s| s.plan.uses_local_zone())
            .map(|s| s.sid)
            .collect();
        for sid in sids {
            let s = self.scheds.get_mut(&sid).expect("listed above");
            let Ok(plan) = compile(&s.plan.doc, &self.cfg.limits, s.accepted_at, &self.tz) else {
                continue;
            };
            let tx = self.store.tx()?;
            for (tidx, (st, ct)) in s.tasks.iter_mut().zip(&plan.tasks).enumerate() {
                if st.ended.is_none() && matches!(ct.trigger, CTrigger::Calendar { .. }) {
                    st.next_due = ct.trigger.first_at_or_after(now);
                    let json = serde_json::to_string(st)
                        .map_err(|e| EngineError::Decode(e.to_string()))?;
                    tx.put_task(sid, tidx as u32, &json)?;
                }
            }
            tx.commit()?;
            s.plan = std::sync::Arc::new(plan);
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
        self.scheds.len()
    }

    /// True when no schedule is held.
    pub fn is_empty(&self) -> bool {
        self.scheds.is_empty()
    }
}
