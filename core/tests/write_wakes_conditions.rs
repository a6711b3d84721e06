//! A scheduled action's write wakes the conditions that read the node, as a
//! DM command's write does (issue 13 item 1; 6.1.7.2 conditions on DM-tree
//! values, 6.1.7.4 any DM action).

mod common;

use common::{World, engine, ts};
use dmsched::model::Outcome;

fn sched(id: &str, trigger: &str, actions: &str) -> String {
    format!(
        r#"{{"id": "{id}", "tasks": [{{"id": "t", "trigger": {trigger}, "actions": [{actions}]}}]}}"#
    )
}

/// Issue 13 item 1, as reproduced: A Replaces ./Acceptance/Mode := eco at
/// install + 5 s; B waits for `./Acceptance/Mode == "eco"` to become true.
/// B runs in the same tick, right after A.
#[test]
fn a_scheduled_replace_wakes_another_schedules_condition() {
    let w = World::new();
    w.set(
        "./Acceptance/Mode",
        dmsched::expr::Value::Str("normal".into()),
    );
    let mut e = engine(&w);
    let t0 = ts("2026-01-01T00:00:00Z");
    e.submit(
        "srv",
        &sched(
            "a",
            r#"{"at": "2026-01-01T00:00:05Z"}"#,
            r#"{"op": "Replace", "target": "./Acceptance/Mode", "data": "eco"}"#,
        ),
        t0,
    )
    .unwrap();
    e.submit(
        "srv",
        &sched(
            "b",
            r#"{"becomes_true": "./Acceptance/Mode == \"eco\""}"#,
            r#"{"op": "Replace", "target": "./Vendor/b", "data": "1"}"#,
        ),
        t0,
    )
    .unwrap();
    e.tick(t0).unwrap();
    let fired = e.tick(ts("2026-01-01T00:00:05Z")).unwrap();
    let ran: Vec<_> = fired
        .iter()
        .filter(|f| f.outcome == Outcome::Ran)
        .map(|f| f.schedule.as_str())
        .collect();
    assert_eq!(ran, ["a", "b"], "{fired:?}");
    // B's occurrence names the write and its server as its cause.
    assert_eq!(
        fired[1].cause.as_deref(),
        Some("./Acceptance/Mode changed by srv"),
        "{fired:?}"
    );
    assert_eq!(fired[0].cause, None, "a time trigger has no cause");
}

/// A write through `on_tree_changed_by` (a DM command of a server's
/// session) names that server; the device's own change names the device;
/// an event names the event.
#[test]
fn causes_name_the_writing_server_the_device_or_the_event() {
    let w = World::new();
    w.set("./M", dmsched::expr::Value::Str("a".into()));
    let mut e = engine(&w);
    let t0 = ts("2026-01-01T00:00:00Z");
    e.submit(
        "srv",
        &sched(
            "m",
            r#"{"becomes_true": "./M == \"b\""}"#,
            r#"{"op": "Get", "target": "./M"}"#,
        ),
        t0,
    )
    .unwrap();
    e.submit(
        "srv",
        &sched(
            "ev",
            r#"{"event": {"name": "boot"}}"#,
            r#"{"op": "Get", "target": "./M"}"#,
        ),
        t0,
    )
    .unwrap();
    e.tick(t0).unwrap();
    w.set("./M", dmsched::expr::Value::Str("b".into()));
    let f = e
        .on_tree_changed_by("./M", Some("srv-x"), false, ts("2026-01-01T00:01:00Z"))
        .unwrap();
    assert_eq!(f[0].cause.as_deref(), Some("./M changed by srv-x"));
    w.set("./M", dmsched::expr::Value::Str("a".into()));
    e.on_tree_changed("./M", ts("2026-01-01T00:02:00Z"))
        .unwrap();
    w.set("./M", dmsched::expr::Value::Str("b".into()));
    let f = e
        .on_tree_changed("./M", ts("2026-01-01T00:03:00Z"))
        .unwrap();
    assert_eq!(f[0].cause.as_deref(), Some("./M changed by the device"));
    let boot = dmsched::Event {
        name: "boot".into(),
        fields: Default::default(),
    };
    let f = e.on_event(&boot, ts("2026-01-01T00:04:00Z")).unwrap();
    assert_eq!(f[0].cause.as_deref(), Some("event boot"));
}

/// A Delete of an interior node wakes the conditions on nodes below it.
#[test]
fn a_scheduled_delete_wakes_conditions_below_its_target() {
    let w = World::new();
    w.set("./Apps/Game/Installed", dmsched::expr::Value::Bool(true));
    let mut e = engine(&w);
    let t0 = ts("2026-01-01T00:00:00Z");
    e.submit(
        "srv",
        &sched(
            "del",
            r#"{"at": "2026-01-01T00:00:05Z"}"#,
            r#"{"op": "Delete", "target": "./Apps/Game"}"#,
        ),
        t0,
    )
    .unwrap();
    e.submit(
        "srv",
        &sched(
            "gone",
            r#"{"becomes_true": "!exists(./Apps/Game/Installed)"}"#,
            r#"{"op": "Replace", "target": "./Vendor/gone", "data": "1"}"#,
        ),
        t0,
    )
    .unwrap();
    e.tick(t0).unwrap();
    let fired = e.tick(ts("2026-01-01T00:00:05Z")).unwrap();
    assert!(
        fired
            .iter()
            .any(|f| f.schedule == "gone" && f.outcome == Outcome::Ran),
        "{fired:?}"
    );
}

/// A write that did not take effect (the command failed) wakes nothing.
#[test]
fn a_failed_write_wakes_nothing() {
    let w = World::new();
    w.set("./M", dmsched::expr::Value::Str("a".into()));
    w.status.lock().unwrap().insert("./M".into(), 405);
    let mut e = engine(&w);
    let t0 = ts("2026-01-01T00:00:00Z");
    e.submit(
        "srv",
        &sched(
            "w",
            r#"{"at": "2026-01-01T00:00:05Z"}"#,
            r#"{"op": "Replace", "target": "./M", "data": "b"}"#,
        ),
        t0,
    )
    .unwrap();
    e.submit(
        "srv",
        &sched(
            "r",
            r#"{"becomes_true": "./M == \"b\""}"#,
            r#"{"op": "Replace", "target": "./Vendor/r", "data": "1"}"#,
        ),
        t0,
    )
    .unwrap();
    e.tick(t0).unwrap();
    w.set("./M", dmsched::expr::Value::Str("b".into())); // changed behind the engine's back
    let fired = e.tick(ts("2026-01-01T00:00:05Z")).unwrap();
    assert!(fired.iter().all(|f| f.schedule != "r"), "{fired:?}");
}

/// Two schedules that flip one node back and forth (each runs when the
/// other's write makes its condition true) end: within one call each
/// (task, node) pair is woken at most once by action writes, so the call
/// returns with each having run once more, not forever.
#[test]
fn schedules_that_wake_each_other_do_not_loop() {
    let w = World::new();
    w.set("./L", dmsched::expr::Value::Int(5));
    let mut e = engine(&w);
    let t0 = ts("2026-01-01T00:00:00Z");
    e.submit(
        "srv",
        &sched(
            "to0",
            r#"{"becomes_true": "./L == 1"}"#,
            r#"{"op": "Replace", "target": "./L", "data": "0"}"#,
        ),
        t0,
    )
    .unwrap();
    e.submit(
        "srv",
        &sched(
            "to1",
            r#"{"becomes_true": "./L == 0"}"#,
            r#"{"op": "Replace", "target": "./L", "data": "1"}"#,
        ),
        t0,
    )
    .unwrap();
    e.submit(
        "srv",
        &sched(
            "start",
            r#"{"at": "2026-01-01T00:00:05Z"}"#,
            r#"{"op": "Replace", "target": "./L", "data": "0"}"#,
        ),
        t0,
    )
    .unwrap();
    e.tick(t0).unwrap();
    let fired = e.tick(ts("2026-01-01T00:00:05Z")).unwrap();
    let count = |id: &str| fired.iter().filter(|f| f.schedule == id).count();
    assert_eq!(count("start"), 1);
    assert_eq!(count("to1"), 1, "{fired:?}");
    assert_eq!(count("to0"), 1, "{fired:?}");
}

/// A condition on a node its own schedule's action writes is evaluated
/// after the run (the rule in scheduling-mo.md).
#[test]
fn a_condition_on_its_own_schedules_write_is_evaluated_after_the_run() {
    let w = World::new();
    w.set("./Own", dmsched::expr::Value::Int(0));
    let mut e = engine(&w);
    let t0 = ts("2026-01-01T00:00:00Z");
    let doc = r#"{"id": "own", "tasks": [
        {"id": "write", "trigger": {"at": "2026-01-01T00:00:05Z"},
         "actions": [{"op": "Replace", "target": "./Own", "data": "1"}]},
        {"id": "react", "trigger": {"becomes_true": "./Own == 1"},
         "actions": [{"op": "Replace", "target": "./Vendor/react", "data": "1"}]}]}"#;
    e.submit("srv", doc, t0).unwrap();
    e.tick(t0).unwrap();
    let fired = e.tick(ts("2026-01-01T00:00:05Z")).unwrap();
    let tasks: Vec<_> = fired.iter().map(|f| f.task.as_str()).collect();
    assert_eq!(tasks, ["write", "react"], "{fired:?}");
}
