//! The wake-up window is exact: a host that always wakes at the latest
//! instant `wakeup_window` allows runs every task, and needs no more
//! wake-ups than the optimum (issue 13 item 8; 6.1.7.1 time conditions,
//! 6.1.7.5 resource use).
//!
//! The optimum is computed here independently: each task's run interval is
//! [due, due + max_delay] cut to its daily window (end exclusive, so the
//! last instant is a second before it closes); the minimum number of points
//! that stab every interval is found greedily by interval end.

mod common;

use common::{World, cfg, ts};
use dmsched::Engine;
use dmsched::model::Outcome;
use dmsched::store::Store;
use jiff::{SignedDuration, Timestamp};
use rand::{RngExt, SeedableRng, rngs::StdRng};

const DAY: &str = "2026-01-05T00:00:00Z";

struct Task {
    due: i64,
    max_delay: i64,
    window: Option<(i64, i64)>,
}

fn hms(sod: i64) -> String {
    format!("{:02}:{:02}:{:02}", sod / 3600, sod / 60 % 60, sod % 60)
}

fn random_day(seed: u64, windowed_share: f64) -> Vec<Task> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..1000)
        .map(|_| {
            let due = rng.random_range(0..(86_400 - 4 * 3600));
            let max_delay = rng.random_range(0..=3 * 3600);
            let window = (rng.random::<f64>() < windowed_share).then(|| {
                // A window that meets [due, due + max_delay] and ends after due.
                let start = rng.random_range((due - 2 * 3600).max(0)..=due + max_delay);
                let len = rng.random_range(900..=4 * 3600);
                let end = (start + len).max(due + 2).min(86_399);
                (start, end)
            });
            Task {
                due,
                max_delay,
                window,
            }
        })
        .collect()
}

fn doc(i: usize, t: &Task, day: Timestamp) -> String {
    let due = day + SignedDuration::from_secs(t.due);
    let windows = match t.window {
        Some((s, e)) => format!(
            r#", "windows": [{{"start": "{}", "end": "{}"}}]"#,
            hms(s),
            hms(e)
        ),
        None => String::new(),
    };
    format!(
        r#"{{"id": "t{i}", "tasks": [{{"id": "t", "trigger": {{"at": "{due}"}},
            "constraints": {{"max_delay_seconds": {}{windows}}},
            "actions": [{{"op": "Replace", "target": "./Vendor/t{i}", "data": "1"}}]}}]}}"#,
        t.max_delay
    )
}

/// Minimum number of points stabbing every interval: greedy by end.
fn optimum(tasks: &[Task]) -> usize {
    let mut iv: Vec<(i64, i64)> = tasks
        .iter()
        .map(|t| {
            let (mut s, mut e) = (t.due, t.due + t.max_delay);
            if let Some((ws, we)) = t.window {
                s = s.max(ws);
                e = e.min(we - 1);
            }
            assert!(s <= e, "generator made an empty interval");
            (s, e)
        })
        .collect();
    iv.sort_by_key(|x| x.1);
    let mut points = 0;
    let mut last: Option<i64> = None;
    for (s, e) in iv {
        if last.is_none_or(|p| p < s) {
            points += 1;
            last = Some(e);
        }
    }
    points
}

fn run_latest_waking_host(tasks: &[Task]) -> (usize, usize, usize) {
    let day = ts(DAY);
    let w = World::new();
    let mut e = Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    for (i, t) in tasks.iter().enumerate() {
        e.submit("srv", &doc(i, t, day), day - SignedDuration::from_hours(1))
            .unwrap();
    }
    let (mut wakes, mut ran, mut missed) = (0, 0, 0);
    while let Some((_, latest)) = e.wakeup_window() {
        for f in e.tick(latest).unwrap() {
            match f.outcome {
                Outcome::Ran => ran += 1,
                _ => missed += 1,
            }
        }
        wakes += 1;
        assert!(wakes <= 5000, "the host never settles");
    }
    (wakes, ran, missed)
}

fn check(seed: u64, windowed_share: f64) {
    let tasks = random_day(seed, windowed_share);
    let best = optimum(&tasks);
    let (wakes, ran, missed) = run_latest_waking_host(&tasks);
    assert_eq!(
        (ran, missed),
        (1000, 0),
        "seed {seed}, windows {windowed_share}"
    );
    assert_eq!(
        wakes, best,
        "seed {seed}, windows {windowed_share}: {wakes} wake-ups, optimum {best}"
    );
}

/// No windows: each interval is [due, due + max_delay].
#[test]
fn latest_waking_host_is_optimal_without_windows() {
    check(1, 0.0);
}

/// Issue 13 item 8, as reproduced: 20 % of the tasks with daily windows
/// (8–23 missed and 2.5–3.0× the optimum before).
#[test]
fn latest_waking_host_is_optimal_with_some_windows() {
    check(2, 0.2);
    check(3, 0.2);
}

/// Every task with a window.
#[test]
fn latest_waking_host_is_optimal_with_windows_everywhere() {
    check(4, 1.0);
}
