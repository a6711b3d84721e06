//! Terminal schedules are history: a restart under other limits never
//! rewrites them, inspection shows what is stored, and a live schedule that
//! no longer fits tightened limits follows the one documented policy
//! (issue 13 item 4; persistence 6.1.7.3).

mod common;

use std::path::Path;

use common::{World, doc, ts};

use dmsched::store::Store;
use dmsched::{Engine, EngineConfig, ScheduleState};

const EVERY_10S: &str = r#"{"every": {"seconds": 10, "anchor": "2026-01-01T00:00:00Z"}}"#;

fn loose() -> EngineConfig {
    let mut c = EngineConfig::default();
    c.limits.min_interval_seconds = 10;
    c
}

/// Schedule rows (owner, id, doc, state, reason) and task-state rows.
type Rows = (
    Vec<(String, String, String, String, Option<String>)>,
    Vec<String>,
);

/// What is stored: every schedule row and every task row, read without a
/// lock.
fn rows(path: &Path) -> Rows {
    let s = Store::open_read_only(path).unwrap().snapshot().unwrap();
    (
        s.schedules
            .into_iter()
            .map(|r| (r.owner, r.id, r.doc, r.state, r.reason))
            .collect(),
        s.tasks.into_iter().map(|t| t.state).collect(),
    )
}

/// Issue 13 item 4: submitted under `min_interval_seconds: 10`, terminated,
/// reopened with the default limits (60 s): still `terminated` with its
/// reason, and neither its row nor its task rows were rewritten.
#[test]
fn a_terminated_schedule_is_not_rewritten_by_a_restart_under_tighter_limits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let t0 = ts("2026-01-01T00:00:00Z");
    let runs = {
        let mut e = Engine::open(Store::open(&path).unwrap(), w.host(), loose()).unwrap();
        e.submit("srv", &doc("fast", EVERY_10S, ""), t0).unwrap();
        e.tick(ts("2026-01-01T00:00:10Z")).unwrap();
        e.terminate("srv", "srv", "fast", ts("2026-01-01T00:00:15Z"))
            .unwrap();
        e.list_all().unwrap()[0].tasks[0].runs
    };
    let before = rows(&path);
    assert_eq!(before.0[0].3, "terminated");

    let mut e = Engine::open(
        Store::open(&path).unwrap(),
        w.host(),
        EngineConfig::default(),
    )
    .unwrap();
    let all = e.list_all().unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(
        all[0].state,
        ScheduleState::Terminated,
        "{:?}",
        all[0].reason
    );
    assert!(runs > 0);
    assert_eq!(all[0].tasks[0].runs, runs, "its history is still readable");
    e.tick(ts("2026-01-01T00:10:00Z")).unwrap();
    drop(e);
    assert_eq!(
        rows(&path),
        before,
        "a terminal schedule's rows were rewritten"
    );
}

/// The same for the other terminal states that a restart used to re-judge:
/// a completed schedule (its `at` ran) stays `completed`.
#[test]
fn a_completed_schedule_is_not_rewritten_either() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let at = r#"{"at": "2026-01-01T00:00:05Z"}"#;
    // Re-judged with max_tasks 0, its one task no longer fits.
    let body = doc("once", at, "");
    {
        let mut e = Engine::open(Store::open(&path).unwrap(), w.host(), loose()).unwrap();
        e.submit("srv", &body, ts("2026-01-01T00:00:00Z")).unwrap();
        e.tick(ts("2026-01-01T00:00:05Z")).unwrap();
        assert_eq!(e.list_all().unwrap()[0].state, ScheduleState::Completed);
    }
    let before = rows(&path);
    let mut tight = EngineConfig::default();
    tight.limits.max_tasks = 0;
    let mut e = Engine::open(Store::open(&path).unwrap(), w.host(), tight).unwrap();
    assert_eq!(e.list_all().unwrap()[0].state, ScheduleState::Completed);
    drop(e);
    assert_eq!(rows(&path), before);
}

/// `inspect` (what `dmsched inspect` runs, with the default limits) shows
/// what is stored: a live 10 s schedule accepted under looser limits is
/// `active`, a terminated one `terminated`; nothing is written.
#[test]
fn inspection_shows_what_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let t0 = ts("2026-01-01T00:00:00Z");
    {
        let mut e = Engine::open(Store::open(&path).unwrap(), w.host(), loose()).unwrap();
        e.submit("srv", &doc("live", EVERY_10S, ""), t0).unwrap();
        e.submit("srv", &doc("gone", EVERY_10S, ""), t0).unwrap();
        e.terminate("srv", "srv", "gone", t0).unwrap();
    }
    let before = rows(&path);
    let ins = Engine::inspect(
        Store::open_read_only(&path).unwrap(),
        EngineConfig::default(),
    )
    .unwrap();
    let state = |id: &str| {
        ins.schedules
            .iter()
            .find(|s| s.id == id)
            .map(|s| (s.state, s.reason.clone()))
            .unwrap()
    };
    assert_eq!(
        state("live").0,
        ScheduleState::Active,
        "{:?}",
        state("live").1
    );
    assert_eq!(state("gone").0, ScheduleState::Terminated);
    assert_eq!(rows(&path), before);
}

/// The documented policy for a live schedule that no longer fits the
/// device's limits after a restart: it ends `failed`, the reason names the
/// limit, the change is stored (and the MO reports it to the owner), and a
/// second restart leaves that failed row as it is.
#[test]
fn a_live_schedule_that_no_longer_fits_ends_failed_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    {
        let mut e = Engine::open(Store::open(&path).unwrap(), w.host(), loose()).unwrap();
        e.submit(
            "srv",
            &doc("fast", EVERY_10S, ""),
            ts("2026-01-01T00:00:00Z"),
        )
        .unwrap();
    }
    let mut e = Engine::open(
        Store::open(&path).unwrap(),
        w.host(),
        EngineConfig::default(),
    )
    .unwrap();
    let info = e.list_all().unwrap().remove(0);
    assert_eq!(info.state, ScheduleState::Failed);
    let reason = info.reason.unwrap();
    assert!(
        reason.contains("no longer valid under this device's limits"),
        "{reason}"
    );
    assert!(
        reason.contains("60"),
        "the reason names the limit: {reason}"
    );
    assert_eq!(e.next_wakeup(), None);
    drop(e);
    let failed = rows(&path);
    assert_eq!(failed.0[0].3, "failed");
    drop(
        Engine::open(Store::open(&path).unwrap(), w.host(), loose())
            .unwrap()
            .list_all(),
    );
    assert_eq!(rows(&path), failed, "a failed schedule is history too");
}
