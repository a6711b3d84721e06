//! Issue 18: task chaining (`after`, the MO's `DependsOn`, 406 before): a
//! task runs when another task of the same schedule finishes an
//! occurrence with one of the given outcomes — in the same call, with its
//! cause named; chains are acyclic.

mod common;

use common::*;
use jiff::Timestamp;

fn at(secs: i64) -> Timestamp {
    ts("2026-01-01T00:00:00Z")
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap()
}

const CHAIN: &str = r#"{"id": "update", "tasks": [
    {"id": "install", "trigger": {"after": {"task": "download"}},
     "actions": [{"op": "Exec", "target": "./FUMO/Install"}], "policy": {"report": "always"}},
    {"id": "download", "trigger": {"at": "2026-01-01T00:01:00Z"},
     "actions": [{"op": "Exec", "target": "./FUMO/Download"}]},
    {"id": "cleanup", "trigger": {"after": {"task": "download", "outcome": ["failed", "missed"]}},
     "actions": [{"op": "Exec", "target": "./FUMO/Cleanup"}]},
    {"id": "notify", "trigger": {"after": {"task": "install"}},
     "actions": [{"op": "Exec", "target": "./Vendor/Notify"}]}]}"#;

#[test]
fn a_finished_task_starts_its_followers_in_the_same_call() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit("srv", CHAIN, at(0)).unwrap();
    let fired = e.tick(at(60)).unwrap();
    let order: Vec<&str> = fired.iter().map(|f| f.task.as_str()).collect();
    assert_eq!(order, ["download", "install", "notify"], "{fired:?}");
    assert_eq!(fired[1].cause.as_deref(), Some("task download ran"));
    assert_eq!(fired[2].cause.as_deref(), Some("task install ran"));
    assert!(
        fired
            .iter()
            .all(|f| f.outcome == dmsched::model::Outcome::Ran)
    );
    // Nothing more: cleanup follows failures only.
    assert!(run_until(&mut e, at(3600)).is_empty());
}

#[test]
fn a_failure_starts_the_tasks_that_follow_failures() {
    let w = World::new();
    w.status
        .lock()
        .unwrap()
        .insert("./FUMO/Download".into(), 500);
    let mut e = engine(&w);
    e.submit("srv", CHAIN, at(0)).unwrap();
    let fired = e.tick(at(60)).unwrap();
    let order: Vec<(&str, &str)> = fired
        .iter()
        .map(|f| (f.task.as_str(), f.outcome.as_str()))
        .collect();
    assert_eq!(
        order,
        [("download", "failed"), ("cleanup", "ran")],
        "{fired:?}"
    );
    assert_eq!(fired[1].cause.as_deref(), Some("task download failed"));
}

#[test]
fn chains_are_checked_when_submitted() {
    let w = World::new();
    let mut e = engine(&w);
    for (doc, want) in [
        (
            r#"{"id": "c", "tasks": [
              {"id": "a", "trigger": {"after": {"task": "b"}}, "actions": [{"op": "Exec", "target": "./X"}]},
              {"id": "b", "trigger": {"after": {"task": "a"}}, "actions": [{"op": "Exec", "target": "./X"}]}]}"#,
            "comes back to this task (a cycle)",
        ),
        (
            r#"{"id": "c", "tasks": [{"id": "a", "trigger": {"after": {"task": "a"}}, "actions": [{"op": "Exec", "target": "./X"}]}]}"#,
            "cannot follow itself",
        ),
        (
            r#"{"id": "c", "tasks": [
              {"id": "download", "trigger": {"at": "2026-01-01T00:01:00Z"}, "actions": [{"op": "Exec", "target": "./X"}]},
              {"id": "b", "trigger": {"after": {"task": "dowload"}}, "actions": [{"op": "Exec", "target": "./X"}]}]}"#,
            r#"no task "dowload" in this schedule (did you mean "download"?)"#,
        ),
        (
            r#"{"id": "c", "tasks": [
              {"id": "a", "trigger": {"at": "2026-01-01T00:01:00Z"}, "actions": [{"op": "Exec", "target": "./X"}]},
              {"id": "b", "trigger": {"after": {"task": "a", "outcome": []}}, "actions": [{"op": "Exec", "target": "./X"}]}]}"#,
            "name at least one outcome",
        ),
    ] {
        let err = e.submit("srv", doc, at(0)).unwrap_err().to_string();
        assert!(err.contains(want), "expected {want:?} in {err}");
    }
}
