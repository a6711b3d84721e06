//! Issue 18 (B10): a bounded run history per task — the last
//! `EngineConfig::history_len` finished occurrences with their times,
//! outcomes and the status that decided them — kept with the task's state
//! (across restarts and a modify), and read through `TaskInfo::history`
//! and the Scheduling MO's `<T>/History`.

mod common;

use common::*;
use dmsched::engine::EngineConfig;
use dmsched::model::Outcome;
use dmsched::store::Store;

fn every_minute(extra: &str) -> String {
    doc(
        "h",
        r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#,
        extra,
    )
}

fn with_len(n: usize) -> EngineConfig {
    EngineConfig {
        history_len: n,
        ..cfg()
    }
}

/// The last 3 of 5 occurrences, oldest first, the failed one with the
/// status that failed it; the same after a restart, and after a modify
/// that keeps the task; a fourth run pushes the oldest out.
#[test]
fn the_last_n_outcomes_are_kept_across_restart_and_modify() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let w = World::new();
    let open =
        || dmsched::Engine::open(Store::open(&path).unwrap(), w.host(), with_len(3)).unwrap();
    {
        let mut e = open();
        e.submit("srv", &every_minute(""), ts("2026-01-01T00:00:00Z"))
            .unwrap();
        for (i, status) in [200, 200, 200, 500, 200].into_iter().enumerate() {
            w.status.lock().unwrap().insert("./Vendor/h".into(), status);
            let f = e.tick(ts(&format!("2026-01-01T00:0{i}:00Z"))).unwrap();
            assert_eq!(f.len(), 1, "{f:?}");
        }
    }
    let mut e = open();
    let h = e.get("srv", "srv", "h").unwrap().tasks[0].history.clone();
    let seen: Vec<(u64, Outcome, Option<u16>)> =
        h.iter().map(|r| (r.seq, r.outcome, r.status)).collect();
    assert_eq!(
        seen,
        [
            (2, Outcome::Ran, None),
            (3, Outcome::Failed, Some(500)),
            (4, Outcome::Ran, None)
        ]
    );
    assert_eq!(h[1].run_at, Some(ts("2026-01-01T00:03:00Z")));
    assert_eq!(h[1].attempts, 1);
    assert_eq!(
        h[1].reason.as_deref(),
        Some("Replace ./Vendor/h returned status 500")
    );
    // A modify that keeps the task keeps its history.
    e.modify(
        "srv",
        "srv",
        &every_minute(r#""policy": {"report": "always"}"#),
        ts("2026-01-01T00:04:30Z"),
    )
    .unwrap();
    let f = e.tick(ts("2026-01-01T00:05:00Z")).unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    let h = e.get("srv", "srv", "h").unwrap().tasks[0].history.clone();
    let seqs: Vec<u64> = h.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [3, 4, 5], "bounded: the oldest went");
}

/// `history_len: 0` keeps none; a skipped misfire is recorded like a run,
/// with no run time (the default keeps 10).
#[test]
fn no_history_when_none_is_wanted_and_misses_are_recorded() {
    let w = World::new();
    let mut e =
        dmsched::Engine::open(Store::open_in_memory().unwrap(), w.host(), with_len(0)).unwrap();
    e.submit("srv", &every_minute(""), ts("2026-01-01T00:00:00Z"))
        .unwrap();
    e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    assert!(
        e.get("srv", "srv", "h").unwrap().tasks[0]
            .history
            .is_empty()
    );

    let mut e = engine(&w);
    e.submit(
        "srv",
        &every_minute(r#""policy": {"misfire": "skip"}"#),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    // Ten minutes late: the occurrences in between are skipped misfires.
    e.tick(ts("2026-01-01T00:10:00Z")).unwrap();
    // 11 finished (0–8 skipped, 9 within the grace and 10 ran); the
    // default keeps the last 10.
    let h = e.get("srv", "srv", "h").unwrap().tasks[0].history.clone();
    assert_eq!(h.len(), 10, "{h:?}");
    assert_eq!(h[0].seq, 1);
    assert!(
        h[..8]
            .iter()
            .all(|r| r.outcome == Outcome::Skipped && r.run_at.is_none() && r.attempts == 0),
        "{h:?}"
    );
    assert!(h[8..].iter().all(|r| r.outcome == Outcome::Ran), "{h:?}");
}

/// The history lives in its own table, one row per finished occurrence
/// (a run does not rewrite the others): bounded to twice the length
/// however long the task runs, and a modify that removes a task removes
/// its history.
#[test]
fn the_stored_history_stays_bounded_and_goes_with_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let w = World::new();
    let mut e = dmsched::Engine::open(Store::open(&path).unwrap(), w.host(), with_len(3)).unwrap();
    e.submit("srv", &every_minute(""), ts("2026-01-01T00:00:00Z"))
        .unwrap();
    run_until(&mut e, ts("2026-01-01T00:50:00Z"));
    let rows = || -> i64 {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.query_row("SELECT count(*) FROM history", [], |r| r.get(0))
            .unwrap()
    };
    let n = rows();
    assert!((3..=6).contains(&n), "{n} rows");
    let h = e.get("srv", "srv", "h").unwrap().tasks[0].history.clone();
    assert_eq!(h.iter().map(|r| r.seq).collect::<Vec<_>>(), [48, 49, 50]);
    // The task's row does not carry the history.
    let c = rusqlite::Connection::open(&path).unwrap();
    let state: String = c
        .query_row("SELECT state FROM tasks", [], |r| r.get(0))
        .unwrap();
    assert!(!state.contains("history"), "{state}");
    drop(c);
    // A modify that replaces the task by another drops its history.
    let other = every_minute("").replace(r#""id": "t""#, r#""id": "u""#);
    e.modify("srv", "srv", &other, ts("2026-01-01T00:50:30Z"))
        .unwrap();
    assert_eq!(rows(), 0);
}

/// A run history longer than 1000 per task is refused at open (clear
/// error, nothing opened).
#[test]
fn an_unbounded_history_is_refused() {
    let w = World::new();
    let err = dmsched::Engine::open(
        Store::open_in_memory().unwrap(),
        w.host(),
        with_len(1_000_000),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(err.contains("history_len 1000000: at most 1000"), "{err}");
}

/// An occurrence a modify skips (it was waiting under the old document)
/// is in the history of the task that stays, after a restart too.
#[test]
fn an_occurrence_a_modify_skips_is_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let w = World::new();
    let open =
        || dmsched::Engine::open(Store::open(&path).unwrap(), w.host(), with_len(3)).unwrap();
    let waiting = every_minute(
        r#""constraints": {"windows": [{"start": "06:00", "end": "07:00"}], "max_delay_seconds": 86400}"#,
    );
    {
        let mut e = open();
        e.submit("srv", &waiting, ts("2026-01-01T00:00:00Z"))
            .unwrap();
        assert!(
            e.tick(ts("2026-01-01T00:00:00Z")).unwrap().is_empty(),
            "waits for 06:00"
        );
        e.modify("srv", "srv", &every_minute(""), ts("2026-01-01T00:00:30Z"))
            .unwrap();
        let h = e.get("srv", "srv", "h").unwrap().tasks[0].history.clone();
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(
            (h[0].seq, h[0].outcome, h[0].reason.as_deref()),
            (0, Outcome::Skipped, Some("schedule modified"))
        );
    }
    let mut e = open();
    let h = e.get("srv", "srv", "h").unwrap().tasks[0].history.clone();
    assert_eq!(h.len(), 1, "stored: {h:?}");
}
