//! Every occurrence the rule generates up to a task's end gets exactly one
//! final outcome, also when the tick that ends the task comes late (issue 13
//! item 3; 6.1.7.2 conditions, 6.1.7.3 persistence of what was promised).

mod common;

use std::collections::BTreeMap;

use common::{World, cfg, ts};
use dmsched::model::{Firing, Outcome};
use dmsched::store::Store;
use dmsched::{Engine, ScheduleState};
use jiff::Timestamp;

fn every_10s(id: &str, task_extra: &str, sched_extra: &str) -> String {
    format!(
        r#"{{"id": "{id}"{sched_extra}, "tasks": [{{"id": "t",
            "trigger": {{"every": {{"seconds": 10, "anchor": "2026-01-01T00:00:00Z"}}}},
            "actions": [{{"op": "Replace", "target": "./Vendor/{id}", "data": "1"}}],
            "policy": {{"misfire": "all", "misfire_cap": 100}}{task_extra}}}]}}"#
    )
}

/// Final outcomes per due instant; panics on a second final outcome for
/// the same occurrence.
fn by_due(firings: &[Firing]) -> BTreeMap<Timestamp, Outcome> {
    let mut out = BTreeMap::new();
    for f in firings.iter().filter(|f| f.outcome != Outcome::Deferred) {
        if let Some(prev) = out.insert(f.due, f.outcome) {
            panic!(
                "occurrence {} has two outcomes: {prev:?} and {:?}",
                f.due, f.outcome
            );
        }
    }
    out
}

fn dues(from: &str, to: &str) -> Vec<Timestamp> {
    let (mut t, end) = (ts(from), ts(to));
    let mut v = Vec::new();
    while t <= end {
        v.push(t);
        t = t.checked_add(jiff::SignedDuration::from_secs(10)).unwrap();
    }
    v
}

/// Issue 13 item 3, as reproduced: every 10 s with `until` 00:01:05, ticks
/// at 00:00:59 and 00:01:06 (inside the grace). The 00:01:00 occurrence
/// runs (it is before `until`), then the task ends "until reached"; 7 runs.
#[test]
fn the_last_occurrence_before_until_runs_on_a_late_tick() {
    let w = World::new();
    let mut e = Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    e.submit(
        "srv",
        &every_10s(
            "u",
            r#", "termination": {"until": "2026-01-01T00:01:05Z"}"#,
            "",
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let mut fired = e.tick(ts("2026-01-01T00:00:59Z")).unwrap();
    fired.extend(e.tick(ts("2026-01-01T00:01:06Z")).unwrap());
    let got = by_due(&fired);
    let want: BTreeMap<_, _> = dues("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z")
        .into_iter()
        .map(|d| (d, Outcome::Ran))
        .collect();
    assert_eq!(got, want);
    let info = e.list_all().unwrap().remove(0);
    assert_eq!(info.tasks[0].runs, 7);
    assert_eq!(info.state, ScheduleState::Completed, "{:?}", info.reason);
    assert_eq!(e.next_wakeup(), None);
}

/// The same with the schedule's `valid_until`: the 00:01:00 occurrence runs
/// before the schedule expires.
#[test]
fn the_last_occurrence_before_valid_until_runs_on_a_late_tick() {
    let w = World::new();
    let mut e = Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    e.submit(
        "srv",
        &every_10s("v", "", r#", "valid_until": "2026-01-01T00:01:05Z""#),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let mut fired = e.tick(ts("2026-01-01T00:00:59Z")).unwrap();
    fired.extend(e.tick(ts("2026-01-01T00:01:06Z")).unwrap());
    let got = by_due(&fired);
    assert_eq!(
        got.get(&ts("2026-01-01T00:01:00Z")),
        Some(&Outcome::Ran),
        "{got:?}"
    );
    assert_eq!(got.len(), 7, "{got:?}");
    let info = e.list_all().unwrap().remove(0);
    assert_eq!(info.state, ScheduleState::Expired, "{:?}", info.reason);
}

/// A tick long after `until` (the device was off): every occurrence before
/// `until` gets exactly one final outcome by the misfire policy (`all`,
/// within the cap: they run), none at or after `until`.
#[test]
fn a_tick_long_after_until_accounts_for_every_occurrence_before_it() {
    let w = World::new();
    let mut e = Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    e.submit(
        "srv",
        &every_10s(
            "g",
            r#", "termination": {"until": "2026-01-01T00:01:05Z"}"#,
            "",
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let mut fired = e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    fired.extend(e.tick(ts("2026-01-01T01:00:00Z")).unwrap());
    let got = by_due(&fired);
    let want: Vec<_> = dues("2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z");
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), want);
    assert!(got.values().all(|o| *o == Outcome::Ran), "{got:?}");
}

/// With `misfire: skip`, the same late tick reports the occurrences before
/// `until` as skipped (accounted for), and runs none of them.
#[test]
fn a_tick_long_after_until_with_misfire_skip_records_them_skipped() {
    let w = World::new();
    let mut e = Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    let doc = every_10s(
        "s",
        r#", "termination": {"until": "2026-01-01T00:01:05Z"}"#,
        "",
    )
    .replace(r#""misfire": "all""#, r#""misfire": "skip""#);
    e.submit("srv", &doc, ts("2026-01-01T00:00:00Z")).unwrap();
    let mut fired = e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    fired.extend(e.tick(ts("2026-01-01T01:00:00Z")).unwrap());
    let got = by_due(&fired);
    assert_eq!(got.get(&ts("2026-01-01T00:00:00Z")), Some(&Outcome::Ran));
    for d in dues("2026-01-01T00:00:10Z", "2026-01-01T00:01:00Z") {
        assert_eq!(got.get(&d), Some(&Outcome::Skipped), "{d}: {got:?}");
    }
    assert_eq!(got.len(), 7);
}

/// Issue 13 item 2: an at-least-once task (every second) is killed mid-run
/// at its 00:00:01 occurrence; the first tick after the restart comes at
/// 00:00:03, later than one period. The interrupted occurrence runs again
/// first, then 00:00:02 and 00:00:03, in order; none is missed.
#[test]
fn an_interrupted_at_least_once_run_runs_again_first_after_a_late_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let doc = r#"{"id": "alo", "tasks": [{"id": "t",
        "trigger": {"every": {"seconds": 1, "anchor": "2026-01-01T00:00:00Z"}},
        "actions": [{"op": "Replace", "target": "./Vendor/alo", "data": "1"}],
        "policy": {"delivery": "at_least_once", "misfire": "all"}}]}"#;
    {
        let mut e = common::engine_at(&w, &path);
        e.submit("srv", doc, ts("2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(e.tick(ts("2026-01-01T00:00:00Z")).unwrap().len(), 1);
        *w.panic_on_execute.lock().unwrap() = true;
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            e.tick(ts("2026-01-01T00:00:01Z"))
        }));
        assert!(r.is_err(), "the simulated crash happened");
        // Dropped mid-run, as a killed process would be.
    }
    *w.panic_on_execute.lock().unwrap() = false;
    w.runs.lock().unwrap().clear();
    let mut e = common::engine_at(&w, &path);
    let fired = e.tick(ts("2026-01-01T00:00:03Z")).unwrap();
    let got = by_due(&fired);
    assert_eq!(
        got,
        [
            (ts("2026-01-01T00:00:01Z"), Outcome::Ran),
            (ts("2026-01-01T00:00:02Z"), Outcome::Ran),
            (ts("2026-01-01T00:00:03Z"), Outcome::Ran),
        ]
        .into_iter()
        .collect()
    );
    let order: Vec<_> = w.runs.lock().unwrap().iter().map(|r| r.due).collect();
    assert_eq!(
        order,
        vec![
            ts("2026-01-01T00:00:01Z"),
            ts("2026-01-01T00:00:02Z"),
            ts("2026-01-01T00:00:03Z")
        ],
        "the interrupted run goes first, then the newer ones in order"
    );
}

/// Occurrences due while a schedule is suspended are not run, and each is
/// recorded skipped at the resume (one report for the run, with its count);
/// the one due at the resume instant runs.
#[test]
fn occurrences_due_while_suspended_are_recorded_skipped_at_resume() {
    let w = World::new();
    let mut e = Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    e.submit("srv", &every_10s("p", "", ""), ts("2026-01-01T00:00:00Z"))
        .unwrap();
    let mut fired = e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    e.suspend("srv", "srv", "p", ts("2026-01-01T00:00:05Z"))
        .unwrap();
    e.resume("srv", "srv", "p", ts("2026-01-01T00:01:00Z"))
        .unwrap();
    fired.extend(e.tick(ts("2026-01-01T00:01:00Z")).unwrap());
    let got = by_due(&fired);
    assert_eq!(got[&ts("2026-01-01T00:00:00Z")], Outcome::Ran);
    for d in dues("2026-01-01T00:00:10Z", "2026-01-01T00:00:50Z") {
        assert_eq!(got.get(&d), Some(&Outcome::Skipped), "{d}: {got:?}");
    }
    assert_eq!(got[&ts("2026-01-01T00:01:00Z")], Outcome::Ran);
    assert_eq!(w.run_count(), 2);
    let r = e.pending_reports(Some("srv"), 100).unwrap();
    let skipped: Vec<_> = r
        .reports
        .iter()
        .filter(|r| r.firing.outcome == Outcome::Skipped)
        .collect();
    assert_eq!(skipped.len(), 1, "one report for the run of skipped");
    let reason = skipped[0].firing.reason.as_deref().unwrap();
    assert!(
        reason.contains("suspended") && reason.contains("(5 occurrences"),
        "{reason}"
    );
}
