//! Processing one task: termination, new occurrences (with misfire
//! handling), constraints, confirmation, the journaled run, retries and
//! reports. Every state change is persisted in one transaction before the
//! engine acts on it.

use std::collections::BTreeMap;

use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

use super::compile::{CTask, CTrigger, Plan};
use super::index::{Index, TaskKey};
use super::state::{Awaiting, Pending, ScheduleState, TaskState};
use super::{EngineConfig, EngineError};
use crate::expr::{Env, Expr, Value};
use crate::host::{Execution, Host, PromptAnswer, RunContext, TreeAccess};
use crate::model::{CommandResult, Firing, Misfire, Outcome, Task};
use crate::store::Store;

use super::persist::{
    Final, Journal, end_schedule, end_task, finalize, firing, persist, postponed, rearm,
};
use crate::when;

/// A device event: a name and typed fields.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Event name (`boot`, `network`, `charger`, `sim_change`, `app_installed`, custom).
    pub name: String,
    /// Fields, readable in filters as `event.<field>`.
    #[serde(default)]
    pub fields: BTreeMap<String, Value>,
}

/// A schedule held by the engine.
#[derive(Debug)]
pub(crate) struct Sched {
    pub sid: i64,
    pub owner: String,
    pub id: String,
    pub state: ScheduleState,
    pub reason: Option<String>,
    pub accepted_at: Timestamp,
    pub plan: std::sync::Arc<Plan>,
    pub tasks: Vec<TaskState>,
    /// The lifecycle state changed and must be written.
    pub state_dirty: bool,
}

impl Sched {
    pub(crate) fn key(&self, tidx: u32) -> TaskKey {
        (self.sid, tidx)
    }

    pub(crate) fn jitter_name(&self) -> String {
        format!("{}/{}", self.owner, self.id)
    }
}

/// Why a task is looked at.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cause<'a> {
    Time,
    Event(&'a Event),
    /// A tree node changed, and who wrote it (`None`: the device).
    Tree(&'a str, Option<&'a str>),
    /// A task of the same schedule finished an occurrence so.
    After(&'a str, crate::model::Outcome),
}

/// What processing needs from the engine, borrowed apart from the schedules.
pub(crate) struct Cx<'a> {
    pub cfg: &'a EngineConfig,
    pub tz: &'a TimeZone,
    pub store: &'a mut Store,
    pub host: &'a Host,
    pub index: &'a mut Index,
    pub out: &'a mut Vec<Firing>,
    /// What a batched call has written but not yet flushed.
    pub batch: &'a mut Batch,
    /// The `now` of the call, saved with every change.
    pub now: Timestamp,
}

/// A call's writes share one transaction (`Store::begin_batch`), flushed
/// before each run's actions execute and at the end of the call: what it
/// keeps until a flush makes it durable.
#[derive(Default)]
pub(crate) struct Batch {
    /// Reports queued since the last flush: the host hears of them once
    /// they are durable.
    pub notices: Vec<crate::model::Report>,
    /// How many of the call's firings were durable at the last flush.
    pub durable: usize,
    /// A flush failed: nothing more runs in this call, and at its end what
    /// was not flushed is dropped and the engine reloads from the store.
    pub failed: bool,
    /// The call's `now` is written in the batch already.
    pub now_saved: bool,
}

/// Makes the call's writes so far durable, then tells the host of the
/// reports they queued.
pub(crate) fn flush(cx: &mut Cx<'_>) -> Result<(), EngineError> {
    if cx.batch.failed {
        return Err(EngineError::Storage(crate::store::StoreError::Batch));
    }
    if let Err(e) = cx.store.flush() {
        cx.batch.failed = true;
        return Err(e.into());
    }
    cx.batch.durable = cx.out.len();
    if let Some(sink) = &cx.host.reports {
        for r in cx.batch.notices.drain(..) {
            sink.report_ready(&r);
        }
    }
    Ok(())
}

pub(crate) fn add_secs(t: Timestamp, secs: u64) -> Timestamp {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    t.checked_add(SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MAX)
}

pub(crate) fn sub_secs(t: Timestamp, secs: u64) -> Timestamp {
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    t.checked_sub(SignedDuration::from_secs(secs))
        .unwrap_or(Timestamp::MIN)
}

struct EvalEnv<'a> {
    tree: &'a dyn TreeAccess,
    owner: &'a str,
    changed: Option<&'a str>,
    event: Option<&'a Event>,
}

impl Env for EvalEnv<'_> {
    fn node(&self, uri: &str) -> Result<Option<Value>, String> {
        self.tree.read(self.owner, uri).map_err(|e| e.0)
    }
    fn changed(&self, uri: &str) -> bool {
        self.changed == Some(uri)
    }
    fn event_field(&self, name: &str) -> Option<Value> {
        let ev = self.event?;
        match ev.fields.get(name) {
            Some(v) => Some(v.clone()),
            None if name == "name" || name == "type" => Some(Value::Str(ev.name.clone())),
            None => None,
        }
    }
}

fn env<'a>(cx: &'a Cx<'_>, owner: &'a str, cause: Cause<'a>) -> EvalEnv<'a> {
    EvalEnv {
        tree: cx.host.tree.as_ref(),
        owner,
        changed: match cause {
            Cause::Tree(u, _) => Some(u),
            _ => None,
        },
        event: match cause {
            Cause::Event(e) => Some(e),
            _ => None,
        },
    }
}

fn eval(cx: &Cx<'_>, owner: &str, e: &Expr, cause: Cause<'_>) -> Result<bool, String> {
    e.eval_bool(&env(cx, owner, cause))
        .map_err(|e| e.to_string())
}

/// Evaluates a task's condition; an evaluation error counts as false and
/// is recorded in the task's diagnostic (and logged).
fn eval_noted(
    cx: &Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    e: &Expr,
    cause: Cause<'_>,
    what: &str,
) -> Option<bool> {
    match eval(cx, &s.owner, e, cause) {
        Ok(v) => Some(v),
        Err(err) => {
            tracing::warn!(target: "dmsched::engine", owner = %s.owner, id = %s.id, task = tidx, "{what} `{}` not evaluable: {err}", e.source());
            s.tasks[tidx].diagnostic = Some(format!(
                "{}: {what} `{}` not evaluable (counts as false): {err}",
                cx.now,
                e.source()
            ));
            None
        }
    }
}

fn jitter(cx: &Cx<'_>, s: &Sched, t: &Task, seq: u64) -> u64 {
    jitter_of(cx.cfg, s, t, seq)
}

/// How long after its due time occurrence `seq` of `t` may start: its
/// jitter, plus the delay the user chose (personalisation).
pub(crate) fn jitter_of(cfg: &EngineConfig, s: &Sched, t: &Task, seq: u64) -> u64 {
    let delay = match &s.plan.doc.personalize {
        None => 0,
        Some(_) => s
            .plan
            .doc
            .tasks
            .iter()
            .position(|x| x.id == t.id)
            .map_or(0, |i| s.plan.tasks[i].delay),
    };
    u64::from(when::jitter_seconds(
        &cfg.device_id,
        &s.jitter_name(),
        &t.id,
        seq,
        t.policy.jitter_seconds,
    ))
    .saturating_add(delay)
}

/// Processes one task and persists what changed (restoring the task's
/// state when that fails). `bound`: the schedule ends at this instant
/// (valid_until); occurrences at or after it are not generated.
fn settle_task(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    now: Timestamp,
    cause: Cause<'_>,
    bound: Option<Timestamp>,
) -> Result<(), EngineError> {
    let backup = s.tasks[tidx].clone();
    let mut finals = Vec::new();
    let r = process_inner(cx, s, tidx, now, cause, bound, &mut finals).and_then(|()| {
        // Nothing changed: nothing to write.
        if finals.is_empty() && !s.state_dirty && s.tasks[tidx] == backup {
            return Ok(());
        }
        persist(cx, s, tidx, &mut finals, Journal::None).map(|_| ())
    });
    if r.is_err() {
        s.tasks[tidx] = backup;
    }
    r
}

/// Looks at one task because of `cause`, does what is due, persists, re-arms.
pub(crate) fn process(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    now: Timestamp,
    cause: Cause<'_>,
) -> Result<(), EngineError> {
    if s.state != ScheduleState::Active || s.tasks[tidx].ended.is_some() {
        cx.index.set_timer(s.key(tidx as u32), None);
        return Ok(());
    }
    if let Some(u) = s.plan.doc.valid_until.filter(|u| *u <= now) {
        // Every occurrence before valid_until is accounted for (run or
        // recorded by the misfire policy) before the schedule expires.
        for j in 0..s.tasks.len() {
            if s.tasks[j].ended.is_none() {
                let c = if j == tidx { cause } else { Cause::Time };
                settle_task(cx, s, j, now, c, Some(u))?;
            }
        }
        return end_schedule(cx, s, ScheduleState::Expired, "valid_until reached", now);
    }
    let r = settle_task(cx, s, tidx, now, cause, None);
    if s.tasks.iter().all(|t| t.ended.is_some()) && s.state == ScheduleState::Active {
        s.state = ScheduleState::Completed;
        s.reason = Some("every task ended".into());
        s.state_dirty = true;
        let tx = cx.store.tx()?;
        tx.set_state(s.sid, s.state.as_str(), s.reason.as_deref())?;
        tx.commit()?;
        s.state_dirty = false;
    }
    rearm(cx, s, tidx, now);
    r
}

fn process_inner(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    now: Timestamp,
    cause: Cause<'_>,
    bound: Option<Timestamp>,
    finals: &mut Vec<Final>,
) -> Result<(), EngineError> {
    let plan = s.plan.clone();
    let ct = &plan.tasks[tidx];
    let t = &plan.doc.tasks[tidx];
    // An at-least-once run interrupted by a restart runs again first,
    // before a newer occurrence (or the task's end) could replace it.
    if s.tasks[tidx]
        .pending
        .as_ref()
        .is_some_and(|p| p.owed && !p.in_flight)
    {
        try_run(cx, s, tidx, ct, t, now, finals)?;
    }
    // The end of the task (until) or of the schedule (valid_until) has
    // passed: the occurrences due before it are still generated and run or
    // recorded by the misfire policy, so that each has an outcome; then
    // nothing new starts (the caller ends the schedule at valid_until).
    let until = t.termination.until.filter(|u| now >= *u);
    if let Some(end) = [until, bound].into_iter().flatten().min() {
        if ct.trigger.is_time() {
            generate(cx, s, tidx, ct, t, now, Some(end), finals)?;
        }
        try_run(cx, s, tidx, ct, t, now, finals)?;
        if until.is_some() {
            end_task(cx, s, tidx, "until reached", finals);
        }
        return Ok(());
    }
    if let (Cause::Event(ev), Some((name, filter))) = (cause, &ct.term_event)
        && &ev.name == name
        && filter.as_ref().is_none_or(|f| {
            eval_noted(cx, s, tidx, f, cause, "termination event filter").unwrap_or(false)
        })
    {
        end_task(cx, s, tidx, &format!("ended by event {name}"), finals);
        return Ok(());
    }
    if let (Cause::Tree(uri, _), Some(w)) = (cause, &ct.term_when)
        && w.uris().iter().any(|u| u == uri)
        && eval_noted(cx, s, tidx, w, cause, "termination condition").unwrap_or(false)
    {
        end_task(cx, s, tidx, "termination condition became true", finals);
        return Ok(());
    }
    let valid = s.plan.doc.valid_from.is_none_or(|f| f <= now);
    match &ct.trigger {
        CTrigger::At(_) | CTrigger::Every { .. } | CTrigger::Calendar { .. } => {
            generate(cx, s, tidx, ct, t, now, None, finals)?;
        }
        CTrigger::Event { name, filter } => {
            if let Cause::Event(ev) = cause
                && &ev.name == name
                && filter.as_ref().is_none_or(|f| {
                    eval_noted(cx, s, tidx, f, cause, "event filter").unwrap_or(false)
                })
            {
                let before = || "event arrived before valid_from".to_string();
                start_or_skip(cx, s, tidx, t, now, valid, cause, before, finals);
            }
        }
        CTrigger::After { task, outcomes } => {
            if let Cause::After(done, outcome) = cause
                && done == task
                && outcomes.contains(&outcome)
            {
                let before = || format!("task {done} {} before valid_from", outcome.as_str());
                start_or_skip(cx, s, tidx, t, now, valid, cause, before, finals);
            }
        }
        CTrigger::Changes(uri) => {
            let relevant = matches!(cause, Cause::Tree(u, _) if u == uri);
            if relevant || !s.tasks[tidx].primed {
                let first = !s.tasks[tidx].primed;
                match cx.host.tree.read(&s.owner, uri) {
                    Ok(v) => {
                        let seen = v.map(|v| serde_json::to_string(&v).unwrap_or_default());
                        let st = &mut s.tasks[tidx];
                        st.primed = true;
                        let changed = !first && st.last_value != seen;
                        st.last_value = seen;
                        if changed && valid {
                            new_occurrence(cx, s, tidx, t, now, now, false, finals);
                            note_cause(s, tidx, cause);
                        }
                    }
                    Err(e) => {
                        s.tasks[tidx].primed = true;
                        s.tasks[tidx].diagnostic =
                            Some(format!("{}: reading {uri} failed: {}", cx.now, e.0));
                    }
                }
            }
        }
        CTrigger::BecomesTrue(e) => {
            let dwell_due = s.tasks[tidx]
                .true_since
                .is_some_and(|since| add_secs(since, ct.dwell) <= now);
            let relevant = match cause {
                Cause::Tree(uri, _) => {
                    e.uris().iter().any(|u| u == uri)
                        || ct
                            .rearm
                            .as_ref()
                            .is_some_and(|r| r.uris().iter().any(|u| u == uri))
                }
                // The end of a dwell is a timer.
                Cause::Time => dwell_due,
                Cause::Event(_) | Cause::After(..) => false,
            };
            if relevant || !s.tasks[tidx].primed {
                let first = !s.tasks[tidx].primed;
                match eval_noted(cx, s, tidx, e, cause, "becomes_true condition") {
                    Some(v) => {
                        // Re-armed: at activation; after a firing, when the
                        // re-arm condition holds (else when the condition
                        // is false: plain edge triggering).
                        let rearmed = first
                            || match &ct.rearm {
                                Some(r) => eval_noted(cx, s, tidx, r, cause, "re-arm condition")
                                    .unwrap_or(false),
                                None => !v,
                            };
                        let st = &mut s.tasks[tidx];
                        st.primed = true;
                        if rearmed {
                            st.armed = true;
                        }
                        if !v {
                            st.true_since = None;
                        } else if st.armed {
                            let since = *st.true_since.get_or_insert(now);
                            if add_secs(since, ct.dwell) <= now {
                                st.armed = false;
                                st.true_since = None;
                                if valid {
                                    new_occurrence(cx, s, tidx, t, now, now, false, finals);
                                    note_cause(s, tidx, cause);
                                }
                            }
                        }
                    }
                    None => s.tasks[tidx].primed = true,
                }
            }
        }
    }
    try_run(cx, s, tidx, ct, t, now, finals)?;
    let st = &s.tasks[tidx];
    if ct.trigger.is_time() && st.next_due.is_none() && st.pending.is_none() && st.ended.is_none() {
        end_task(cx, s, tidx, "no more occurrences", finals);
    }
    Ok(())
}

/// An event or a chained task starts an occurrence now; before the
/// schedule's `valid_from` the occurrence is skipped (reported, `why`).
#[allow(clippy::too_many_arguments)]
fn start_or_skip(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    t: &Task,
    now: Timestamp,
    valid: bool,
    cause: Cause<'_>,
    why: impl FnOnce() -> String,
    finals: &mut Vec<Final>,
) {
    if valid {
        new_occurrence(cx, s, tidx, t, now, now, false, finals);
        note_cause(s, tidx, cause);
    } else {
        let seq = bump_seq(s, tidx);
        let mut f = firing(s, tidx, seq, now, Outcome::Skipped);
        f.reason = Some(why());
        finalize(s, tidx, f, finals);
    }
}

/// Records why the occurrence just created exists (a tree change and its
/// writer, an event), for its firing and report.
fn note_cause(s: &mut Sched, tidx: usize, cause: Cause<'_>) {
    let text = match cause {
        Cause::Tree(uri, Some(by)) => format!("{uri} changed by {by}"),
        Cause::Tree(uri, None) => format!("{uri} changed by the device"),
        Cause::Event(ev) => format!("event {}", ev.name),
        Cause::After(task, outcome) => format!("task {task} {}", outcome.as_str()),
        Cause::Time => return,
    };
    if let Some(p) = &s.tasks[tidx].pending {
        s.tasks[tidx].cause = Some((p.seq, text));
    }
}

fn bump_seq(s: &mut Sched, tidx: usize) -> u64 {
    let st = &mut s.tasks[tidx];
    let seq = st.seq;
    st.seq += 1;
    seq
}

/// Creates the occurrences of a time trigger that are due, applying the
/// misfire policy to those whose time passed more than the grace ago.
/// A run of skipped occurrences is reported once (the last, with a count).
/// None at or after `before` (the task's or schedule's end) is generated.
#[allow(clippy::too_many_arguments)]
fn generate(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    ct: &CTask,
    t: &Task,
    now: Timestamp,
    before: Option<Timestamp>,
    finals: &mut Vec<Final>,
) -> Result<(), EngineError> {
    let max_delay = t.constraints.max_delay_seconds.unwrap_or(0);
    let grace = max_delay.max(cx.cfg.misfire_grace_seconds);
    let mut caught_up = 0u32;
    let mut batch: Vec<Firing> = Vec::new();
    let mut in_batch = 0u64;
    while let Some(d) = s.tasks[tidx].next_due {
        if d > now || before.is_some_and(|b| d >= b) {
            break;
        }
        let seq = s.tasks[tidx].seq;
        let nb = add_secs(d, jitter(cx, s, t, seq));
        let next = ct.trigger.next_after(d);
        s.tasks[tidx].next_due = next;
        let late = now > add_secs(nb, grace);
        let next_late =
            next.is_some_and(|n| now > add_secs(add_secs(n, jitter(cx, s, t, seq + 1)), grace));
        let (run, why) = match t.policy.misfire {
            _ if !late => (true, ""),
            Misfire::Skip => (false, "missed while the device was off (misfire: skip)"),
            Misfire::Once => (
                !next_late,
                "missed while the device was off; only the latest runs (misfire: once)",
            ),
            Misfire::All => (
                caught_up < t.policy.misfire_cap,
                "missed while the device was off; misfire_cap reached",
            ),
        };
        if run {
            flush_skipped(s, tidx, &mut batch, finals);
            if late {
                caught_up += 1;
            }
            new_occurrence(cx, s, tidx, t, d, now, late, finals);
            try_run(cx, s, tidx, ct, t, now, finals)?;
            continue;
        }
        let seq = bump_seq(s, tidx);
        let mut f = firing(s, tidx, seq, d, Outcome::Skipped);
        f.reason = Some(why.into());
        batch.push(f);
        in_batch += 1;
        if in_batch >= cx.cfg.max_misfire_records {
            // Jump over the rest without recording each one.
            let resume = sub_secs(now, grace + u64::from(t.policy.jitter_seconds));
            let jump_to = ct.trigger.next_after(resume);
            if jump_to.is_none_or(|j| j > d) {
                let seq = bump_seq(s, tidx);
                let mut f = firing(s, tidx, seq, d, Outcome::Skipped);
                f.reason = Some(format!(
                    "{why}; further occurrences up to {resume} skipped without a record each"
                ));
                batch.push(f);
                s.tasks[tidx].next_due = jump_to;
            }
            in_batch = 0;
        }
    }
    flush_skipped(s, tidx, &mut batch, finals);
    Ok(())
}

/// Records the occurrences of a time task that fell due while its schedule
/// was suspended (from its `next_due` up to `end`, exclusive) as skipped,
/// up to `max_records` of them (the last record then says that the rest
/// were skipped without a record each); reported once, as a misfire run is.
pub(crate) fn skip_suspended(
    s: &mut Sched,
    tidx: usize,
    ct: &CTask,
    end: Timestamp,
    max_records: u64,
    finals: &mut Vec<Final>,
) {
    let mut batch = Vec::new();
    while let Some(d) = s.tasks[tidx].next_due {
        if d >= end {
            break;
        }
        s.tasks[tidx].next_due = ct.trigger.next_after(d);
        let seq = bump_seq(s, tidx);
        let mut f = firing(s, tidx, seq, d, Outcome::Skipped);
        f.reason = Some("due while the schedule was suspended".into());
        batch.push(f);
        if batch.len() as u64 >= max_records.max(1)
            && s.tasks[tidx].next_due.is_some_and(|n| n < end)
        {
            if let Some(last) = batch.last_mut() {
                last.reason = Some(format!(
                    "due while the schedule was suspended; further occurrences up to {end} skipped without a record each"
                ));
            }
            break;
        }
    }
    flush_skipped(s, tidx, &mut batch, finals);
}

/// Moves a run of skipped misfires into `finals`; only the last is reported.
fn flush_skipped(s: &mut Sched, tidx: usize, batch: &mut Vec<Firing>, finals: &mut Vec<Final>) {
    let n = batch.len();
    for (i, mut f) in batch.drain(..).enumerate() {
        let last = i + 1 == n;
        if last && n > 1 {
            f.reason = Some(format!(
                "{} ({n} occurrences skipped in this catch-up)",
                f.reason.as_deref().unwrap_or("skipped")
            ));
        }
        finalize(s, tidx, f, finals);
        if !last && let Some(fl) = finals.last_mut() {
            fl.report = false;
        }
    }
}

/// A new occurrence becomes pending; an older one still waiting is missed.
#[allow(clippy::too_many_arguments)]
fn new_occurrence(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    t: &Task,
    due: Timestamp,
    now: Timestamp,
    catch_up: bool,
    finals: &mut Vec<Final>,
) {
    // A run the host is still completing (a long action) is never replaced:
    // the newer occurrence is skipped, and the task goes on after it.
    if let Some(run) = s.tasks[tidx]
        .pending
        .as_ref()
        .and_then(|p| p.awaiting.as_ref())
        .map(|a| a.run_id)
    {
        let seq = bump_seq(s, tidx);
        let mut f = firing(s, tidx, seq, due, Outcome::Skipped);
        f.reason = Some(format!(
            "the task's run {run} was still running (a long action the host completes later)"
        ));
        finalize(s, tidx, f, finals);
        return;
    }
    if let Some(old) = s.tasks[tidx].pending.take() {
        let mut f = firing(s, tidx, old.seq, old.due, Outcome::Missed);
        f.reason = Some(format!(
            "replaced by a newer occurrence while {}",
            old.waiting.as_deref().unwrap_or("waiting")
        ));
        f.attempts = old.attempt;
        finalize(s, tidx, f, finals);
    }
    let seq = bump_seq(s, tidx);
    let max_delay = t.constraints.max_delay_seconds.unwrap_or(0);
    let not_before = add_secs(due, jitter(cx, s, t, seq));
    let deadline = if catch_up {
        add_secs(now.max(not_before), max_delay)
    } else {
        add_secs(not_before, max_delay)
    };
    s.tasks[tidx].pending = Some(Pending {
        seq,
        due,
        not_before,
        deadline,
        attempt: 0,
        in_flight: false,
        waiting: None,
        owed: false,
        postponed: 0,
        awaiting: None,
    });
}

/// Runs the pending occurrence if its time has come and its constraints hold.
#[allow(clippy::too_many_arguments)]
fn try_run(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    ct: &CTask,
    t: &Task,
    now: Timestamp,
    finals: &mut Vec<Final>,
) -> Result<(), EngineError> {
    let Some(p) = s.tasks[tidx].pending.clone() else {
        return Ok(());
    };
    if p.in_flight {
        // A run the host completes later: failed once its time is up.
        if let Some(a) = p.awaiting.as_ref().filter(|a| now >= a.until) {
            let why = format!(
                "the host did not complete run {} within {} s (completion_timeout_seconds)",
                a.run_id, t.policy.completion_timeout_seconds
            );
            return finish_attempt(
                cx,
                s,
                tidx,
                ct,
                t,
                a.run_id,
                now,
                Vec::new(),
                Some(why),
                finals,
            );
        }
        return Ok(());
    }
    if now < p.not_before {
        return Ok(());
    }
    // Personalisation: the user opted out of this task.
    if ct.opted_out {
        s.tasks[tidx].pending = None;
        let mut f = firing(s, tidx, p.seq, p.due, Outcome::Skipped);
        f.reason = Some("the user opted out of this task".into());
        f.attempts = p.attempt;
        finalize(s, tidx, f, finals);
        return Ok(());
    }
    let tz = s.plan.zone.resolve(cx.tz).clone();
    let mut unmet = None;
    let window_closed = !ct.windows.is_empty() && !when::in_windows(&ct.windows, &tz, now);
    if window_closed {
        unmet = Some("outside its time window".to_string());
    } else if let Some(req) = &ct.require {
        // Constraints are levels: they never see the event or the change.
        match eval(cx, &s.owner, req, Cause::Time) {
            Ok(true) => {}
            Ok(false) => {
                let why = req.explain_false(&env(cx, &s.owner, Cause::Time));
                unmet = Some(format!("constraint `{}` not met: {why}", req.source()));
            }
            Err(e) => unmet = Some(format!("constraint `{}` not evaluable: {e}", req.source())),
        }
    }
    if let Some(mut reason) = unmet {
        // A constraint that blocked the run while its window was open is
        // the cause, not the window that closed afterwards.
        if window_closed
            && let Some(prev) = p.waiting.as_deref().filter(|w| w.starts_with("constraint"))
        {
            reason = if prev.contains("while its time window was open") {
                prev.to_string()
            } else {
                format!("{prev} (while its time window was open; then the window closed)")
            };
        }
        if now >= p.deadline {
            s.tasks[tidx].pending = None;
            let mut f = firing(s, tidx, p.seq, p.due, Outcome::Missed);
            f.reason = Some(reason);
            f.attempts = p.attempt;
            finalize(s, tidx, f, finals);
        } else if let Some(pp) = s.tasks[tidx].pending.as_mut() {
            pp.waiting = Some(reason);
        }
        return Ok(());
    }
    let ctx = RunContext {
        owner: s.owner.clone(),
        schedule: s.id.clone(),
        task: t.id.clone(),
        seq: p.seq,
        attempt: p.attempt,
        due: p.due,
        now,
        run_id: 0,
    };
    if t.policy.confirm {
        let title = s.plan.doc.name.clone().unwrap_or_else(|| s.id.clone());
        let answer = match &cx.host.prompt {
            Some(prompt) => prompt.confirm(&ctx, &title).map_err(|e| e.0),
            None => Err("confirmation required but the host has no user prompt".into()),
        };
        match answer {
            Ok(PromptAnswer::Accept) => {}
            Ok(PromptAnswer::Postpone(secs)) => {
                // Deferral is bounded: by count, and by a horizon after the
                // occurrence's time; past either the occurrence ends.
                let horizon = add_secs(
                    add_secs(p.due, jitter(cx, s, t, p.seq)),
                    t.policy.postpone_horizon_seconds,
                );
                let limit = if p.postponed >= t.policy.max_postpones {
                    Some(format!(
                        "postponed {} times by the user: no more (max_postpones {})",
                        p.postponed, t.policy.max_postpones
                    ))
                } else if now >= horizon {
                    Some(format!(
                        "postponed by the user up to {horizon}: no further \
                         (postpone_horizon_seconds {})",
                        t.policy.postpone_horizon_seconds
                    ))
                } else {
                    None
                };
                if let Some(reason) = limit {
                    s.tasks[tidx].pending = None;
                    let mut f = firing(s, tidx, p.seq, p.due, Outcome::Skipped);
                    f.reason = Some(reason);
                    f.attempts = p.attempt;
                    finalize(s, tidx, f, finals);
                    return Ok(());
                }
                let again = add_secs(now, secs.max(1)).min(horizon);
                if let Some(pp) = s.tasks[tidx].pending.as_mut() {
                    pp.not_before = again;
                    pp.deadline = pp.deadline.max(pp.not_before);
                    pp.waiting = Some("postponed by the user".into());
                    pp.postponed += 1;
                }
                let mut f = firing(s, tidx, p.seq, p.due, Outcome::Deferred);
                f.reason = Some(format!("postponed by the user until {again}"));
                f.attempts = p.attempt;
                postponed(s, tidx, f, finals);
                return Ok(());
            }
            Ok(PromptAnswer::Refuse) | Err(_) => {
                s.tasks[tidx].pending = None;
                let mut f = firing(s, tidx, p.seq, p.due, Outcome::Skipped);
                f.reason = Some(match answer {
                    Err(e) => e,
                    _ => "refused by the user".into(),
                });
                finalize(s, tidx, f, finals);
                return Ok(());
            }
        }
    }
    // Journal the start before anything runs.
    if let Some(pp) = s.tasks[tidx].pending.as_mut() {
        pp.in_flight = true;
        pp.waiting = None;
    }
    let fid = persist(cx, s, tidx, finals, Journal::Start(p.seq, p.attempt))?
        .ok_or_else(|| EngineError::Decode("journal start returned no id".into()))?;
    let ctx = RunContext { run_id: fid, ..ctx };
    // The start is on disk before anything runs (with what the call wrote
    // before it: one flush per run, not two).
    flush(cx)?;
    let (results, host_err) = match cx.host.executor.start(&ctx, &t.actions) {
        Ok(Execution::Done(r)) => (r, None),
        Ok(Execution::Pending) => {
            // The run stays open (journaled, in flight) until the host
            // completes it or its time is up.
            let until = add_secs(now, t.policy.completion_timeout_seconds);
            if let Some(pp) = s.tasks[tidx].pending.as_mut() {
                pp.awaiting = Some(Awaiting { run_id: fid, until });
                pp.waiting = Some(format!("running: the host completes run {fid} later"));
            }
            persist(cx, s, tidx, finals, Journal::None)?;
            return Ok(());
        }
        Err(e) => (Vec::new(), Some(e.0)),
    };
    finish_attempt(cx, s, tidx, ct, t, fid, now, results, host_err, finals)
}

/// The host completed run `run_id` of task `tidx` (which awaits it) with
/// `results`: the attempt ends as if the executor had returned them.
pub(crate) fn complete_run(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    run_id: i64,
    results: Vec<CommandResult>,
    now: Timestamp,
    finals: &mut Vec<Final>,
) -> Result<(), EngineError> {
    let plan = s.plan.clone();
    let (ct, t) = (&plan.tasks[tidx], &plan.doc.tasks[tidx]);
    let r = finish_attempt(cx, s, tidx, ct, t, run_id, now, results, None, finals);
    if s.tasks.iter().all(|t| t.ended.is_some()) && s.state == ScheduleState::Active {
        s.state = ScheduleState::Completed;
        s.reason = Some("every task ended".into());
        let tx = cx.store.tx()?;
        tx.set_state(s.sid, s.state.as_str(), s.reason.as_deref())?;
        tx.commit()?;
    }
    rearm(cx, s, tidx, now);
    r
}

/// The end of an attempt whose commands ran (or failed to): a retry after
/// the backoff, or the occurrence's outcome, then the journal entry `fid`
/// closed — all in one transaction.
#[allow(clippy::too_many_arguments)]
fn finish_attempt(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    ct: &CTask,
    t: &Task,
    fid: i64,
    now: Timestamp,
    results: Vec<CommandResult>,
    host_err: Option<String>,
    finals: &mut Vec<Final>,
) -> Result<(), EngineError> {
    let Some(p) = s.tasks[tidx].pending.clone() else {
        return Ok(());
    };
    let failed = results.iter().find(|r| !r.is_success());
    let ok = host_err.is_none() && failed.is_none();
    // The user said no to a scheduled Alert (6.1.7.4): a decision, not a
    // failure — the occurrence is skipped and not retried.
    let declined = host_err.is_none() && failed.is_some_and(|r| r.is_declined());
    let why = host_err.or_else(|| {
        failed.map(|r| match r.op {
            crate::model::Op::Alert => format!(
                "the user {} the Alert (status {})",
                if r.is_declined() {
                    "declined"
                } else {
                    "could not be asked"
                },
                r.status
            ),
            _ => format!(
                "{} {} returned status {}",
                r.op.as_str(),
                r.target,
                r.status
            ),
        })
    });
    if !ok && !declined && p.attempt < t.policy.retry.max {
        let backoff = t
            .policy
            .retry
            .backoff
            .saturating_mul(1u64 << p.attempt.min(32));
        let max_delay = t.constraints.max_delay_seconds.unwrap_or(0);
        if let Some(pp) = s.tasks[tidx].pending.as_mut() {
            pp.in_flight = false;
            pp.awaiting = None;
            pp.attempt += 1;
            pp.not_before = add_secs(now, backoff);
            pp.deadline = add_secs(pp.not_before, max_delay);
            pp.waiting = Some(format!(
                "retry {} of {} after failure: {}",
                pp.attempt,
                t.policy.retry.max,
                why.as_deref().unwrap_or("failed")
            ));
        }
        persist(cx, s, tidx, finals, Journal::Finish(fid))?;
        return Ok(());
    }
    let st = &mut s.tasks[tidx];
    st.pending = None;
    st.runs = st.runs.saturating_add(1);
    st.last_run = Some(now);
    let mut f = firing(
        s,
        tidx,
        p.seq,
        p.due,
        if ok {
            Outcome::Ran
        } else if declined {
            Outcome::Skipped
        } else {
            Outcome::Failed
        },
    );
    f.run_at = Some(now);
    f.reason = why;
    f.attempts = p.attempt + 1;
    f.results = results;
    finalize(s, tidx, f, finals);
    if t.termination
        .max_runs
        .is_some_and(|m| s.tasks[tidx].runs >= m)
    {
        end_task(cx, s, tidx, "max_runs reached", finals);
    } else if let Some(w) = &ct.term_when
        && eval(cx, &s.owner, w, Cause::Time).unwrap_or(false)
    {
        end_task(cx, s, tidx, "termination condition became true", finals);
    }
    persist(cx, s, tidx, finals, Journal::Finish(fid))?;
    Ok(())
}
