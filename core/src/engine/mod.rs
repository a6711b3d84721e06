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

#[cfg(test)]
mod batch_tests;
mod compile;
mod error;
mod index;
mod info;
mod lifecycle;
mod persist;
mod personal;
mod preview;
mod process;
mod query;
mod quiet;
mod restore;
mod run;
mod state;
mod trigger;

use std::collections::HashMap;

use rustc_hash::FxHashMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

pub(crate) use compile::MAX_DWELL_SECONDS;
pub use compile::{check_document, lint_document};
pub use error::EngineError;
pub use info::{PendingInfo, ScheduleInfo, TaskInfo};
pub use preview::{PreviewInstant, TaskPreview, preview};
pub use process::Event;
pub use quiet::Quiet;
pub use state::ScheduleState;

use compile::{CTrigger, Plan, compile, compile_stored};
use index::Index;
use persist::{Final, Journal, end_schedule, persist, rearm, write_task};
use process::{Cause, Cx, Sched, add_secs, process, skip_suspended};
use state::TaskState;

use crate::host::{Access, Host};
use crate::model::{Firing, Limits, Outcome, Report, Schedule, Trigger, parse_document};
use crate::store::Store;
use crate::when;

/// The longest run history a task may keep (`EngineConfig::history_len`).
pub const MAX_HISTORY_LEN: usize = 1000;

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
    /// Which servers may use which device events in their schedules.
    pub event_access: EventAccess,
    /// Memory: a schedule in memory none of whose tasks is due within this
    /// many seconds, with no occurrence waiting or running, is unloaded at
    /// the start of the next call after its last use (its state is on
    /// disk; its next use reloads it as a restart does, about 7 µs, which
    /// is why one due sooner stays). An unloaded schedule costs ~0.25 KB,
    /// a loaded one ~2.3 KB (docs/performance.md). `null`: never unload.
    pub keep_loaded_seconds: Option<u64>,
    /// How many finished occurrences each task keeps in its run history
    /// (`TaskInfo::history`, the MO's `<T>/History`); 0 keeps none, at
    /// most [`MAX_HISTORY_LEN`]. Each is a row of about 100 bytes in the
    /// store (and in memory while the schedule is loaded).
    pub history_len: usize,
}

/// Which servers may trigger (or end) their tasks on which device events
/// (6.1.7.6): event name → the ServerIDs allowed (`"*"`: every server; an
/// empty list: none). An event that is not listed is open to every server:
/// device events such as `boot` or `network` carry no other authority's
/// data, so they are readable by all unless the host restricts them here
/// (say, `sim_change` or an app event that tells what the user does).
/// Checked when a schedule is installed or modified (refused, naming the
/// event) and again when an event arrives (a task whose owner lost the
/// right is not woken).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventAccess(pub std::collections::BTreeMap<String, Vec<String>>);

impl EventAccess {
    /// True if `owner` may use the event `name`.
    pub fn allows(&self, owner: &str, name: &str) -> bool {
        self.0
            .get(name)
            .is_none_or(|who| who.iter().any(|s| s == "*" || s == owner))
    }

    /// The first event task `t` of `plan` uses that `owner` may not.
    pub(crate) fn refused(&self, owner: &str, plan: &Plan) -> Option<(usize, String)> {
        plan.tasks.iter().enumerate().find_map(|(i, t)| {
            t.watched_events()
                .into_iter()
                .find(|e| !self.allows(owner, e))
                .map(|e| (i, e))
        })
    }

    /// The refusal as an engine error.
    pub(crate) fn check(&self, owner: &str, plan: &Plan) -> Result<(), EngineError> {
        match self.refused(owner, plan) {
            None => Ok(()),
            Some((i, e)) => Err(EngineError::Invalid(vec![crate::model::Problem::new(
                format!("$.tasks[{i}]"),
                format!(
                    "server {owner:?} may not use the device event {e:?} (the device's event_access restricts it)"
                ),
            )])),
        }
    }
}

impl EngineConfig {
    /// Settings given as JSON by a host (C `options_json`, Kotlin/Swift
    /// `optionsJson`): a JSON object whose keys override the defaults.
    /// Anything else (`[]`, `null`, a number), unknown types or bad values
    /// are refused with a message, never taken as the defaults.
    pub fn from_json(json: &str) -> Result<EngineConfig, String> {
        let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
        if !v.is_object() {
            return Err("must be a JSON object".into());
        }
        serde_json::from_value(v).map_err(|e| e.to_string())
    }
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
            event_access: EventAccess::default(),
            keep_loaded_seconds: Some(900),
            history_len: 10,
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
    /// When `dropped` > 0: the stable identifier of the report that tells
    /// the owner (the same until it is acknowledged, while the count grows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_report_id: Option<String>,
    /// When `dropped` > 0: when the first of these evictions happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dropped_created: Option<Timestamp>,
    /// When `dropped` > 0: what was dropped, oldest first (the last 32):
    /// `schedule/task#seq outcome, report <id>`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped_names: Vec<String>,
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
    /// How many of the first `recovered` firings the call that produced
    /// them already cascaded (writes woken, followers started): a call
    /// that failed hands its firings out next time, and they must not
    /// start their followers twice.
    recovered_cascaded: usize,
    /// The open batch of a call (see `process::Batch`).
    batch: process::Batch,
    /// Schedules used by the last call: unloaded at the next one if idle
    /// (`EngineConfig::keep_loaded_seconds`).
    used: Vec<i64>,
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
        let tz = when::zone(&cfg.time_zone)
            .map_err(|e| EngineError::InvalidArgument(format!("time_zone: {e}")))?;
        if cfg.history_len > MAX_HISTORY_LEN {
            return Err(EngineError::InvalidArgument(format!(
                "history_len {}: at most {MAX_HISTORY_LEN} finished occurrences per task",
                cfg.history_len
            )));
        }
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
            recovered_cascaded: 0,
            batch: Default::default(),
            used: Vec::new(),
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
            recovered_cascaded: 0,
            batch: Default::default(),
            used: Vec::new(),
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

    // One argument per engine field it borrows (split borrows).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn cx<'a>(
        cfg: &'a EngineConfig,
        tz: &'a TimeZone,
        store: &'a mut Store,
        host: &'a Host,
        index: &'a mut Index,
        out: &'a mut Vec<Firing>,
        batch: &'a mut process::Batch,
        now: Timestamp,
    ) -> Cx<'a> {
        Cx {
            cfg,
            tz,
            store,
            host,
            index,
            out,
            batch,
            now,
        }
    }

    /// Registers an active schedule's watchers and timers.
    pub(super) fn arm_schedule(&mut self, sid: i64, now: Timestamp) {
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
            &mut self.batch,
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

    pub(super) fn disarm_schedule(&mut self, sid: i64) {
        let Some(s) = self.scheds.get(&sid) else {
            return;
        };
        for (tidx, ct) in s.plan.tasks.iter().enumerate() {
            self.index
                .forget(s.key(tidx as u32), &ct.watched_events(), &ct.watched_uris());
        }
    }

    /// Replaces the authorizer that decides cross-authority access (see
    /// [`Host::authorizer`]) and returns the previous one. The Scheduling
    /// MO installs its own, which consults the schedules' ACLs first.
    pub fn set_authorizer(
        &mut self,
        authorizer: Option<std::sync::Arc<dyn crate::host::Authorizer>>,
    ) -> Option<std::sync::Arc<dyn crate::host::Authorizer>> {
        std::mem::replace(&mut self.host.authorizer, authorizer)
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.cfg
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
