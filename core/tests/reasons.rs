//! Reasons name the cause: the blocking constraint, the failing
//! sub-expression and the values read; evaluation errors are recorded in the
//! task's diagnostic (issue 13 item 9; 6.1.7.2 conditions, 6.3.1.3 results).

mod common;

use common::{World, doc, engine, run_until, ts};
use dmsched::expr::Value;
use dmsched::model::Outcome;

/// Issue 13 item 9, as reproduced: Wi-Fi (a `require`) blocked the run for
/// the whole daily window; the occurrence is missed after the window
/// closed. The reason names the constraint, the false part and the values,
/// not "outside its time window".
#[test]
fn a_constraint_that_blocked_a_window_is_named_not_the_window() {
    let w = World::new();
    w.set("./Net/Wifi", Value::Bool(false));
    w.set("./Bat", Value::Int(80));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "win",
            r#"{"at": "2026-01-01T01:00:00Z"}"#,
            r#""constraints": {"require": "./Bat > 20 && ./Net/Wifi == true",
                "windows": [{"start": "02:00", "end": "03:00"}], "max_delay_seconds": 7200}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let f = run_until(&mut e, ts("2026-01-02T00:00:00Z"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].outcome, Outcome::Missed);
    let reason = f[0].reason.clone().unwrap();
    assert!(
        reason.contains("./Net/Wifi == true is false (./Net/Wifi = false)"),
        "{reason}"
    );
    assert!(
        !reason.contains("./Bat > 20 is false"),
        "only the false part: {reason}"
    );
    assert!(reason.contains("window"), "{reason}");
    assert!(!reason.starts_with("outside its time window"), "{reason}");
    assert_eq!(w.run_count(), 0);
}

/// A node that is missing is named as missing; `||` names each side.
#[test]
fn missing_nodes_and_both_sides_of_an_or_are_named() {
    let w = World::new();
    w.set("./A", Value::Int(1));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "or",
            r#"{"at": "2026-01-01T01:00:00Z"}"#,
            r#""constraints": {"require": "./A > 5 || exists(./B)", "max_delay_seconds": 60}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let f = run_until(&mut e, ts("2026-01-02T00:00:00Z"));
    let reason = f[0].reason.clone().unwrap();
    assert!(reason.contains("./A > 5 is false (./A = 1)"), "{reason}");
    assert!(
        reason.contains("exists(./B) is false (./B does not exist)"),
        "{reason}"
    );
}

/// Issue 13 item 9: a `becomes_true` that cannot be evaluated (a string
/// compared with a number) was dropped silently; it now counts as false
/// and the task's diagnostic says why and when.
#[test]
fn an_evaluation_error_is_recorded_in_the_task_diagnostic() {
    let w = World::new();
    w.set("./Level", Value::Int(1));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc("bt", r#"{"becomes_true": "./Level > 3"}"#, ""),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    w.set("./Level", Value::Str("high".into()));
    let f = e
        .on_tree_changed("./Level", ts("2026-01-01T00:05:00Z"))
        .unwrap();
    assert!(f.is_empty());
    let task = &e.list_all().unwrap()[0].tasks[0];
    let d = task.diagnostic.clone().expect("a diagnostic");
    assert!(
        d.contains("becomes_true condition `./Level > 3` not evaluable"),
        "{d}"
    );
    assert!(d.contains("2026-01-01T00:05:00Z"), "{d}");
}

/// The same for an event trigger's filter.
#[test]
fn an_event_filter_error_is_recorded_too() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "ev",
            r#"{"event": {"name": "battery", "filter": "event.level < 20"}}"#,
            "",
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let ev = dmsched::Event {
        name: "battery".into(),
        fields: [("level".to_string(), Value::Str("low".into()))]
            .into_iter()
            .collect(),
    };
    assert!(
        e.on_event(&ev, ts("2026-01-01T00:01:00Z"))
            .unwrap()
            .is_empty()
    );
    let task = &e.list_all().unwrap()[0].tasks[0];
    assert!(
        task.diagnostic
            .as_deref()
            .is_some_and(|d| d.contains("event filter `event.level < 20` not evaluable")),
        "{task:?}"
    );
}
