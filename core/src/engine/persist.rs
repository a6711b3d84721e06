//! Recording what happened: finished occurrences and their reports, task
//! state with its next wake-up and watch list, the firing journal, and the
//! end of tasks and schedules. One transaction per change.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::process::{Cx, Sched, add_secs, jitter_of, sub_secs};
use super::state::ScheduleState;
use super::{EngineConfig, EngineError};
use crate::model::{Firing, Outcome, Report, ReportWhen};
use crate::store::Tx;
use crate::when;

/// A finished occurrence on its way to the outbox.
pub(crate) struct Final {
    pub firing: Firing,
    pub report: bool,
    /// Not finished: a report only (the user postponed the run), not handed
    /// out as a firing.
    pub interim: bool,
}

pub(crate) enum Journal {
    None,
    Start(u64, u32),
    Finish(i64),
}

pub(crate) fn firing(s: &Sched, tidx: usize, seq: u64, due: Timestamp, outcome: Outcome) -> Firing {
    Firing {
        owner: s.owner.clone(),
        schedule: s.id.clone(),
        task: s.plan.doc.tasks[tidx].id.clone(),
        seq,
        due,
        run_at: None,
        outcome,
        reason: None,
        attempts: 0,
        results: Vec::new(),
        cause: s.tasks[tidx]
            .cause
            .as_ref()
            .filter(|(n, _)| *n == seq)
            .map(|(_, c)| c.clone()),
    }
}

pub(crate) fn finalize(s: &mut Sched, tidx: usize, f: Firing, finals: &mut Vec<Final>) {
    let st = &mut s.tasks[tidx];
    st.last_outcome = Some(f.outcome);
    st.last_reason = f.reason.clone();
    st.history.push(crate::model::RunRecord::of(&f));
    st.history_unsaved = st.history_unsaved.saturating_add(1);
    let report = match s.plan.doc.tasks[tidx].policy.report {
        ReportWhen::Never => false,
        ReportWhen::OnFailure => f.outcome.is_failure(),
        ReportWhen::Always => true,
    };
    finals.push(Final {
        firing: f,
        report,
        interim: false,
    });
}

/// The user postponed occurrence `f` (outcome `deferred`): a report for
/// the owner where the policy reports more than nothing (a postponement
/// is not a failure, but a server asking for failures wants to hear it),
/// while the occurrence keeps waiting.
pub(crate) fn postponed(s: &Sched, tidx: usize, f: Firing, finals: &mut Vec<Final>) {
    let report = s.plan.doc.tasks[tidx].policy.report != ReportWhen::Never;
    if report {
        finals.push(Final {
            firing: f,
            report,
            interim: true,
        });
    }
}

/// Writes the task's state, its finished occurrences' reports and the
/// journal change in one transaction, then hands the firings out.
pub(crate) fn persist(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    finals: &mut Vec<Final>,
    journal: Journal,
) -> Result<Option<i64>, EngineError> {
    let mut reports = Vec::new();
    let fid;
    let batching = cx.store.batching();
    {
        let tx = cx.store.tx()?;
        save_history(&tx, cx.cfg.history_len, s, tidx)?;
        write_task(&tx, cx.cfg, cx.tz, s, tidx, cx.now)?;
        // The call's instant, once per call when batched (once per
        // change otherwise).
        if !batching || !cx.batch.now_saved {
            tx.set_meta(super::META_LAST_NOW, &cx.now.to_string())?;
            cx.batch.now_saved = batching;
        }
        if s.state_dirty {
            tx.set_state(s.sid, s.state.as_str(), s.reason.as_deref())?;
        }
        for f in finals.iter().filter(|f| f.report) {
            let body =
                serde_json::to_string(&f.firing).map_err(|e| EngineError::Decode(e.to_string()))?;
            let q = tx.push_report(&s.owner, &body, cx.cfg.outbox_capacity, cx.now)?;
            reports.push(Report {
                id: q.rid,
                report_id: q.report_id,
                created: cx.now,
                firing: f.firing.clone(),
            });
        }
        fid = match journal {
            Journal::None => None,
            Journal::Start(seq, attempt) => {
                let now = s.tasks[tidx]
                    .pending
                    .as_ref()
                    .map(|p| p.not_before.to_string())
                    .unwrap_or_default();
                Some(tx.journal_start(s.sid, tidx as u32, seq, attempt, &now)?)
            }
            Journal::Finish(fid) => {
                tx.journal_finish(fid)?;
                None
            }
        };
        tx.commit()?;
    }
    s.state_dirty = false;
    cx.out
        .extend(finals.drain(..).filter(|f| !f.interim).map(|f| f.firing));
    notify(cx, reports);
    Ok(fid)
}

/// Tells the host of queued reports: now, or in a batch once it is flushed.
pub(crate) fn notify(cx: &mut Cx<'_>, reports: Vec<Report>) {
    if cx.store.batching() {
        cx.batch.notices.extend(reports);
    } else if let Some(sink) = &cx.host.reports {
        for r in &reports {
            sink.report_ready(r);
        }
    }
}

/// Ends a task: no more occurrences; one still waiting is skipped.
pub(crate) fn end_task(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    tidx: usize,
    reason: &str,
    finals: &mut Vec<Final>,
) {
    let st = &mut s.tasks[tidx];
    st.ended = Some(reason.to_string());
    st.next_due = None;
    if let Some(p) = st.pending.take_if(|p| !p.in_flight) {
        let mut f = firing(s, tidx, p.seq, p.due, Outcome::Skipped);
        f.reason = Some(format!("task ended: {reason}"));
        f.attempts = p.attempt;
        finalize(s, tidx, f, finals);
    }
    let ct = &s.plan.tasks[tidx];
    cx.index
        .forget(s.key(tidx as u32), &ct.watched_events(), &ct.watched_uris());
}

/// Ends a whole schedule (terminated, expired, suspended): waiting
/// occurrences are skipped, indexes dropped, all in one transaction.
pub(crate) fn end_schedule(
    cx: &mut Cx<'_>,
    s: &mut Sched,
    state: ScheduleState,
    reason: &str,
    _now: Timestamp,
) -> Result<(), EngineError> {
    let mut finals = Vec::new();
    for tidx in 0..s.tasks.len() {
        if let Some(p) = s.tasks[tidx].pending.take_if(|p| !p.in_flight) {
            let mut f = firing(s, tidx, p.seq, p.due, Outcome::Skipped);
            f.reason = Some(format!("schedule {}: {reason}", state.as_str()));
            f.attempts = p.attempt;
            finalize(s, tidx, f, &mut finals);
        }
        let ct = &s.plan.tasks[tidx];
        cx.index
            .forget(s.key(tidx as u32), &ct.watched_events(), &ct.watched_uris());
    }
    s.state = state;
    s.reason = Some(reason.to_string());
    s.state_dirty = true;
    let mut reports = Vec::new();
    {
        let tx = cx.store.tx()?;
        tx.set_state(s.sid, state.as_str(), Some(reason))?;
        for tidx in 0..s.tasks.len() {
            save_history(&tx, cx.cfg.history_len, s, tidx)?;
            write_task(&tx, cx.cfg, cx.tz, s, tidx, cx.now)?;
        }
        for f in finals.iter().filter(|f| f.report) {
            let body =
                serde_json::to_string(&f.firing).map_err(|e| EngineError::Decode(e.to_string()))?;
            let q = tx.push_report(&s.owner, &body, cx.cfg.outbox_capacity, cx.now)?;
            reports.push(Report {
                id: q.rid,
                report_id: q.report_id,
                created: cx.now,
                firing: f.firing.clone(),
            });
        }
        tx.commit()?;
    }
    s.state_dirty = false;
    cx.out.extend(finals.into_iter().map(|f| f.firing));
    notify(cx, reports);
    Ok(())
}

/// When the task next needs attention, and how late that may be.
pub(crate) fn wake_of(
    cfg: &EngineConfig,
    tz: &TimeZone,
    s: &Sched,
    tidx: usize,
    now: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    // A run the host completes later times out at its own instant, whatever
    // the schedule's state (it was started; it must end).
    let awaiting = s.tasks[tidx]
        .pending
        .as_ref()
        .and_then(|p| p.awaiting.as_ref())
        .map(|a| (a.until, a.until));
    let plan = wake_of_plan(cfg, tz, s, tidx, now);
    match (awaiting, plan) {
        (Some(a), Some(p)) => Some((a.0.min(p.0), a.1.min(p.1))),
        (a, p) => a.or(p),
    }
}

fn wake_of_plan(
    cfg: &EngineConfig,
    tz: &TimeZone,
    s: &Sched,
    tidx: usize,
    now: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    if s.state != ScheduleState::Active {
        return None;
    }
    let st = &s.tasks[tidx];
    if st.ended.is_some() {
        return None;
    }
    let t = &s.plan.doc.tasks[tidx];
    let ct = &s.plan.tasks[tidx];
    let slack = t.constraints.max_delay_seconds.unwrap_or(0);
    let zone = s.plan.zone.resolve(tz);
    let mut best: Option<(Timestamp, Timestamp)> = None;
    let mut offer = |w: Timestamp, latest: Timestamp| {
        best = Some(match best {
            None => (w, latest),
            Some(b) => (b.0.min(w), b.1.min(latest)),
        });
    };
    // An occurrence can run from `from` to its deadline, inside its daily
    // windows: the first such stretch is what a host must hit. When there
    // is none before the deadline, the engine looks at the deadline (and
    // records the occurrence missed).
    let mut offer_run =
        |from: Timestamp, deadline: Timestamp| match run_stretch(&ct.windows, zone, from, deadline)
        {
            Some((start, latest)) => offer(start, latest),
            None => offer(deadline, deadline),
        };
    if let Some(d) = st.next_due {
        let nb = add_secs(d, jitter_of(cfg, s, t, st.seq));
        offer_run(nb, add_secs(nb, slack));
    }
    if let Some(p) = &st.pending
        && !p.in_flight
    {
        if now < p.not_before {
            offer_run(p.not_before, p.deadline);
        } else {
            // Tried now and still waiting: inside a window a constraint
            // blocks it (a tree change wakes it; else the deadline records
            // it missed); outside, the next window that opens in time.
            match when::next_window_open(&ct.windows, zone, now) {
                Some(o) if o > now && o <= p.deadline => offer_run(o, p.deadline),
                _ => {
                    let d = p.deadline.max(now);
                    offer_run(d, d);
                }
            }
        }
    }
    let mut offer = |w: Timestamp, slack: u64| {
        let cand = (w, add_secs(w, slack));
        best = Some(match best {
            None => cand,
            Some(b) => (b.0.min(cand.0), b.1.min(cand.1)),
        });
    };
    if ct.trigger.is_time() && st.next_due.is_none() && st.pending.is_none() {
        // Nothing more will come: look once more so that the task ends.
        offer(now, 0);
    }
    if (ct.trigger.condition().is_some() || ct.trigger.changed_node().is_some()) && !st.primed {
        offer(now, 0);
    }
    // The end of a becomes_true dwell: fires then if the condition still
    // holds.
    if let Some(since) = st.true_since {
        offer(add_secs(since, ct.dwell), 0);
    }
    if let Some(u) = t.termination.until {
        offer(u, 0);
    }
    if let Some(u) = s.plan.doc.valid_until {
        offer(u, 0);
    }
    best
}

/// The first stretch of `[from, deadline]` inside `windows` (all of it with
/// no windows): its first instant and the last at which a run is still
/// inside a window (a second before the window closes) and not past the
/// deadline. `None` when no window opens by the deadline.
fn run_stretch(
    windows: &[crate::when::Window],
    tz: &TimeZone,
    from: Timestamp,
    deadline: Timestamp,
) -> Option<(Timestamp, Timestamp)> {
    if windows.is_empty() {
        return Some((from, deadline.max(from)));
    }
    let start = when::next_window_open(windows, tz, from).filter(|s| *s <= deadline)?;
    let latest = match when::window_stretch_end(windows, tz, start) {
        Some(end) => deadline.min(sub_secs(end, 1).max(start)),
        None => deadline,
    };
    Some((start, latest))
}

pub(crate) fn rearm(cx: &mut Cx<'_>, s: &Sched, tidx: usize, now: Timestamp) {
    let w = wake_of(cx.cfg, cx.tz, s, tidx, now);
    cx.index.set_timer(s.key(tidx as u32), w);
}

pub(crate) fn nanos(t: Timestamp) -> i64 {
    let n = t.as_nanosecond();
    i64::try_from(n).unwrap_or(if n < 0 { i64::MIN } else { i64::MAX })
}

/// The watch list stored with a task: `e<TAB>event` and `u<TAB>uri` lines;
/// empty unless the schedule is active and the task has not ended.
pub(crate) fn watch_line(s: &Sched, tidx: usize) -> String {
    if s.state != ScheduleState::Active || s.tasks[tidx].ended.is_some() {
        return String::new();
    }
    let ct = &s.plan.tasks[tidx];
    let mut out = String::new();
    for e in ct.watched_events() {
        out.push_str("e\t");
        out.push_str(&e);
        out.push('\n');
    }
    for u in ct.watched_uris() {
        out.push_str("u\t");
        out.push_str(&u);
        out.push('\n');
    }
    out
}

/// Writes a task's state with its next wake-up and watch list, so that a
/// restart can arm it without reading the document.
/// Writes the task's new run-history records (one row each) and keeps the
/// last `n` in memory; the table's rows of the task are trimmed once they
/// pass `2n` (one delete per `n` runs, not one per run).
pub(crate) fn save_history(
    tx: &Tx<'_>,
    n: usize,
    s: &mut Sched,
    tidx: usize,
) -> Result<(), EngineError> {
    let sid = s.sid;
    let task = &s.plan.doc.tasks[tidx].id;
    let st = &mut s.tasks[tidx];
    let fresh = (std::mem::take(&mut st.history_unsaved) as usize).min(st.history.len());
    if n == 0 {
        st.history.clear();
        return Ok(());
    }
    let from = st.history.len() - fresh;
    for r in &st.history[from.max(st.history.len().saturating_sub(n))..] {
        let rec = serde_json::to_string(r).map_err(|e| EngineError::Decode(e.to_string()))?;
        tx.put_history(sid, task, r.seq, &rec)?;
        st.history_rows = st.history_rows.saturating_add(1);
    }
    if st.history.len() > n {
        let extra = st.history.len() - n;
        st.history.drain(..extra);
    }
    if st.history_rows as usize > 2 * n
        && let Some(first) = st.history.first()
    {
        tx.trim_history(sid, task, first.seq)?;
        st.history_rows = st.history.len() as u32;
    }
    Ok(())
}

pub(crate) fn write_task(
    tx: &Tx<'_>,
    cfg: &EngineConfig,
    tz: &TimeZone,
    s: &Sched,
    tidx: usize,
    now: Timestamp,
) -> Result<(), EngineError> {
    let state =
        serde_json::to_string(&s.tasks[tidx]).map_err(|e| EngineError::Decode(e.to_string()))?;
    let wake = wake_of(cfg, tz, s, tidx, now).map(|(w, l)| (nanos(w), nanos(l)));
    tx.put_task(s.sid, tidx as u32, &state, wake, &watch_line(s, tidx))?;
    Ok(())
}
