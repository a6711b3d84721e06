//! Issue 15 (long actions completed later), 6.1.7.4: an executor may answer
//! `Execution::Pending` (a firmware-update Exec that outlives an Android
//! receiver or an iOS background task); the run stays open in the journal,
//! across restarts, until the host calls `Engine::complete(run_id, …)` —
//! then it ends as if the executor had returned the results (reported, or
//! retried) — or until `completion_timeout_seconds` pass (a failed attempt).
//! A run that is not waiting cannot be completed, and nothing changes.

mod common;

use std::sync::{Arc, Mutex};

use common::{World, cfg, ts};
use dmsched::model::{Action, CommandResult, Op, Outcome};
use dmsched::store::Store;
use dmsched::{ActionExecutor, Engine, ErrorKind, Execution, Host, HostError, RunContext};
use jiff::Timestamp;

/// An executor that leaves every run to finish later (or, when `done` is
/// set, runs it at once), recording what it was asked.
#[derive(Default)]
struct Later {
    started: Mutex<Vec<RunContext>>,
    done: Mutex<bool>,
}

impl ActionExecutor for Later {
    fn execute(&self, _: &RunContext, _: &[Action]) -> Result<Vec<CommandResult>, HostError> {
        Err(HostError("start() is what the engine calls".into()))
    }

    fn start(&self, ctx: &RunContext, _: &[Action]) -> Result<Execution, HostError> {
        self.started.lock().unwrap().push(ctx.clone());
        if *self.done.lock().unwrap() {
            return Ok(Execution::Done(vec![ok()]));
        }
        Ok(Execution::Pending)
    }
}

fn ok() -> CommandResult {
    CommandResult {
        op: Op::Exec,
        target: "./FwUpdate/Pkg/DownloadAndUpdate".into(),
        status: 200,
        data: None,
    }
}

fn failed() -> CommandResult {
    CommandResult {
        status: 500,
        ..ok()
    }
}

fn host(w: &Arc<World>, exec: &Arc<Later>) -> Host {
    Host {
        executor: exec.clone(),
        ..w.host()
    }
}

const T0: &str = "2026-03-01T10:00:00Z";

/// Hourly from 10:00, a firmware update that takes long; reports always;
/// `extra` adds policy fields.
fn update_doc(policy_extra: &str) -> String {
    format!(
        r#"{{"id": "fw", "tasks": [{{"id": "update",
          "trigger": {{"every": {{"seconds": 3600, "anchor": "2026-03-01T10:00:00Z"}}}},
          "actions": [{{"op": "Exec", "target": "./FwUpdate/Pkg/DownloadAndUpdate"}}],
          "policy": {{"report": "always", "completion_timeout_seconds": 1800{policy_extra}}}}}]}}"#
    )
}

fn at(s: &str) -> Timestamp {
    ts(s)
}

#[test]
fn a_pending_run_completes_later_and_is_reported_once() {
    let w = World::new();
    let exec = Arc::new(Later::default());
    let mut e = Engine::open(Store::open_in_memory().unwrap(), host(&w, &exec), cfg()).unwrap();
    e.submit("srv", &update_doc(""), at("2026-03-01T09:59:00Z"))
        .unwrap();
    assert!(e.tick(at(T0)).unwrap().is_empty(), "started, not finished");
    let run = exec.started.lock().unwrap()[0].clone();
    assert!(run.run_id > 0, "the run has an id: {run:?}");
    // It stays open: nothing reruns it, and the engine wakes at its timeout.
    assert!(e.tick(at("2026-03-01T10:10:00Z")).unwrap().is_empty());
    assert_eq!(exec.started.lock().unwrap().len(), 1);
    assert_eq!(e.next_wakeup(), Some(at("2026-03-01T10:30:00Z")));

    let done = e
        .complete(run.run_id, vec![ok()], at("2026-03-01T10:20:00Z"))
        .unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(done[0].outcome, Outcome::Ran);
    assert_eq!(done[0].results, vec![ok()]);
    assert_eq!(done[0].seq, run.seq);
    assert_eq!(e.pending_reports(Some("srv"), 10).unwrap().reports.len(), 1);
    // Completing it again, or a run that never was: InvalidState, nothing changes.
    let again = e
        .complete(run.run_id, vec![ok()], at("2026-03-01T10:21:00Z"))
        .unwrap_err();
    assert_eq!(again.kind(), ErrorKind::InvalidState, "{again}");
    assert_eq!(
        e.complete(987_654, vec![], at("2026-03-01T10:21:00Z"))
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidState
    );
    assert_eq!(e.pending_reports(Some("srv"), 10).unwrap().reports.len(), 1);
    // The next occurrence starts at 11:00 as usual.
    assert_eq!(e.next_wakeup(), Some(at("2026-03-01T11:00:00Z")));
}

#[test]
fn a_run_not_completed_in_time_fails_and_is_retried_by_its_policy() {
    let w = World::new();
    let exec = Arc::new(Later::default());
    let mut e = Engine::open(Store::open_in_memory().unwrap(), host(&w, &exec), cfg()).unwrap();
    e.submit(
        "srv",
        &update_doc(r#", "retry": {"max": 1, "backoff": 60}"#),
        at("2026-03-01T09:59:00Z"),
    )
    .unwrap();
    e.tick(at(T0)).unwrap();
    let first = exec.started.lock().unwrap()[0].clone();
    // Its time runs out at 10:30: a failed attempt, retried after 60 s.
    assert!(e.tick(at("2026-03-01T10:30:00Z")).unwrap().is_empty());
    let late = e
        .complete(first.run_id, vec![ok()], at("2026-03-01T10:30:30Z"))
        .unwrap_err();
    assert_eq!(late.kind(), ErrorKind::InvalidState, "too late: {late}");
    *exec.done.lock().unwrap() = true;
    let f = e.tick(at("2026-03-01T10:31:00Z")).unwrap();
    let starts = exec.started.lock().unwrap().clone();
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[1].attempt, 1, "the retry");
    assert_ne!(starts[1].run_id, first.run_id, "a new run");
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, Outcome::Ran);
    assert_eq!(f[0].attempts, 2);

    // Without retries the timeout is the occurrence's end, with its reason.
    let w = World::new();
    let exec = Arc::new(Later::default());
    let mut e = Engine::open(Store::open_in_memory().unwrap(), host(&w, &exec), cfg()).unwrap();
    e.submit("srv", &update_doc(""), at("2026-03-01T09:59:00Z"))
        .unwrap();
    e.tick(at(T0)).unwrap();
    let f = e.tick(at("2026-03-01T10:30:00Z")).unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].outcome, Outcome::Failed);
    let reason = f[0].reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("did not complete run") && reason.contains("completion_timeout_seconds"),
        "{reason}"
    );
}

#[test]
fn a_pending_run_survives_a_restart_and_completes_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let exec = Arc::new(Later::default());
    let run = {
        let mut e = Engine::open(Store::open(&path).unwrap(), host(&w, &exec), cfg()).unwrap();
        e.submit("srv", &update_doc(""), at("2026-03-01T09:59:00Z"))
            .unwrap();
        e.tick(at(T0)).unwrap();
        exec.started.lock().unwrap()[0].clone()
    };
    // Reopened (the process restarted while the update ran): not settled as
    // interrupted, not run again, still waiting for its completion.
    let exec2 = Arc::new(Later::default());
    let mut e = Engine::open(Store::open(&path).unwrap(), host(&w, &exec2), cfg()).unwrap();
    assert!(e.tick(at("2026-03-01T10:05:00Z")).unwrap().is_empty());
    assert!(exec2.started.lock().unwrap().is_empty(), "not run again");
    assert_eq!(e.next_wakeup(), Some(at("2026-03-01T10:30:00Z")));
    let f = e
        .complete(run.run_id, vec![failed()], at("2026-03-01T10:06:00Z"))
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, Outcome::Failed, "the results decide: {f:?}");
    assert!(
        f[0].reason
            .as_deref()
            .unwrap_or_default()
            .contains("status 500"),
        "{:?}",
        f[0].reason
    );
}

/// An occurrence that falls due while the previous run is still pending
/// does not replace it (nor start a second run): it is skipped, with the
/// reason; the pending run completes normally, and the task goes on.
#[test]
fn a_newer_occurrence_does_not_replace_a_pending_run() {
    let w = World::new();
    let exec = Arc::new(Later::default());
    let mut e = Engine::open(Store::open_in_memory().unwrap(), host(&w, &exec), cfg()).unwrap();
    let doc = update_doc("").replace(
        r#""completion_timeout_seconds": 1800"#,
        r#""completion_timeout_seconds": 10800"#,
    );
    e.submit("srv", &doc, at("2026-03-01T09:59:00Z")).unwrap();
    e.tick(at(T0)).unwrap();
    let first = exec.started.lock().unwrap()[0].clone();
    // 11:00 and 12:00 come while the 10:00 run is still running.
    let during = e.tick(at("2026-03-01T12:00:30Z")).unwrap();
    assert_eq!(
        exec.started.lock().unwrap().len(),
        1,
        "nothing else started: {during:?}"
    );
    assert!(
        !during.is_empty()
            && during.iter().all(|f| f.outcome == Outcome::Skipped
                && f.reason
                    .as_deref()
                    .unwrap_or_default()
                    .contains("still running")),
        "{during:?}"
    );
    let done = e
        .complete(first.run_id, vec![ok()], at("2026-03-01T12:01:00Z"))
        .unwrap();
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!((done[0].seq, done[0].outcome), (first.seq, Outcome::Ran));
    // The task goes on: 13:00 starts a new run.
    *exec.done.lock().unwrap() = true;
    let next = e.tick(at("2026-03-01T13:00:00Z")).unwrap();
    assert_eq!(exec.started.lock().unwrap().len(), 2);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].outcome, Outcome::Ran);
}

/// A schedule modified or terminated while a run is pending: the run still
/// completes (its result is reported; nothing is lost or run twice).
#[test]
fn a_pending_run_completes_after_its_schedule_is_modified_or_terminated() {
    for change in ["modify", "terminate"] {
        let w = World::new();
        let exec = Arc::new(Later::default());
        let mut e = Engine::open(Store::open_in_memory().unwrap(), host(&w, &exec), cfg()).unwrap();
        e.submit("srv", &update_doc(""), at("2026-03-01T09:59:00Z"))
            .unwrap();
        e.tick(at(T0)).unwrap();
        let run = exec.started.lock().unwrap()[0].clone();
        let when = at("2026-03-01T10:05:00Z");
        match change {
            "modify" => {
                e.modify("srv", "srv", &update_doc(r#", "jitter_seconds": 0"#), when)
                    .unwrap();
            }
            _ => {
                e.terminate("srv", "srv", "fw", when).unwrap();
            }
        }
        let done = e
            .complete(run.run_id, vec![ok()], at("2026-03-01T10:10:00Z"))
            .unwrap_or_else(|err| panic!("{change}: {err}"));
        assert!(
            done.iter()
                .any(|f| f.seq == run.seq && f.outcome == Outcome::Ran),
            "{change}: {done:?}"
        );
        assert_eq!(
            exec.started.lock().unwrap().len(),
            1,
            "{change}: not run again"
        );
    }
}

/// Bounds of `completion_timeout_seconds`: 0 times out at the next look, a
/// huge value never overflows (the run simply waits for its completion).
#[test]
fn completion_timeouts_at_the_bounds() {
    for (timeout, completes) in [("0", false), ("18446744073709551615", true)] {
        let w = World::new();
        let exec = Arc::new(Later::default());
        let mut e = Engine::open(Store::open_in_memory().unwrap(), host(&w, &exec), cfg()).unwrap();
        let doc = update_doc("").replace(
            r#""completion_timeout_seconds": 1800"#,
            &format!(r#""completion_timeout_seconds": {timeout}"#),
        );
        e.submit("srv", &doc, at("2026-03-01T09:59:00Z")).unwrap();
        e.tick(at(T0)).unwrap();
        let run = exec.started.lock().unwrap()[0].clone();
        let later = e.tick(at("2026-03-01T10:00:01Z")).unwrap();
        let r = e.complete(run.run_id, vec![ok()], at("2026-03-01T10:00:02Z"));
        assert_eq!(r.is_ok(), completes, "timeout {timeout}: {later:?} {r:?}");
        assert!(e.next_wakeup().is_some());
    }
}
