//! Issue 18: a trigger on a node's value changing (`changes`, the MO's
//! TreeValue Op `changed`, answered 406 before): every change of value
//! fires, a write of the same value does not, appearing and disappearing
//! do; the last value seen survives a restart.

mod common;

use common::*;
use dmsched::expr::Value;
use jiff::Timestamp;

const MODE: &str = "./Vendor/Config/Mode";

fn at(secs: i64) -> Timestamp {
    ts("2026-01-01T00:00:00Z")
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap()
}

fn doc() -> String {
    format!(
        r#"{{"id": "watch", "tasks": [{{"id": "t", "trigger": {{"changes": "{MODE}"}},
            "actions": [{{"op": "Get", "target": "{MODE}"}}], "policy": {{"report": "always"}}}}]}}"#
    )
}

fn write(e: &mut dmsched::Engine, w: &World, v: Option<Value>, secs: i64) -> usize {
    run_until(e, at(secs));
    match v {
        Some(v) => w.set(MODE, v),
        None => {
            w.tree.lock().unwrap().remove(MODE);
        }
    }
    e.on_tree_changed(MODE, at(secs)).unwrap().len()
}

#[test]
fn every_change_of_value_fires_and_a_rewrite_of_the_same_value_does_not() {
    let w = World::new();
    w.set(MODE, Value::Str("eco".into()));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut e = engine_at(&w, &path);
    e.submit("srv", &doc(), at(0)).unwrap();
    // Activation records the value; nothing fires.
    run_until(&mut e, at(5));
    assert_eq!(w.run_count(), 0);
    assert_eq!(
        write(&mut e, &w, Some(Value::Str("eco".into())), 10),
        0,
        "same value"
    );
    assert_eq!(write(&mut e, &w, Some(Value::Str("turbo".into())), 20), 1);
    assert_eq!(write(&mut e, &w, Some(Value::Str("turbo".into())), 30), 0);
    // The last value seen survives a restart.
    drop(e);
    let mut e = engine_at(&w, &path);
    assert_eq!(write(&mut e, &w, Some(Value::Str("turbo".into())), 40), 0);
    assert_eq!(
        write(&mut e, &w, Some(Value::Int(3)), 50),
        1,
        "a type change is a change"
    );
    assert_eq!(write(&mut e, &w, None, 60), 1, "disappearing is a change");
    assert_eq!(
        write(&mut e, &w, Some(Value::Int(3)), 70),
        1,
        "appearing is a change"
    );
    assert_eq!(w.run_count(), 4);
    // Other nodes do not wake it.
    w.set("./Vendor/Other", Value::Int(1));
    assert!(
        e.on_tree_changed("./Vendor/Other", at(80))
            .unwrap()
            .is_empty()
    );
}

/// A scheduled action's write is a change too (the cascade of writes).
#[test]
fn a_write_by_another_schedule_fires_it_in_the_same_call() {
    let w = World::new();
    w.set(MODE, Value::Str("eco".into()));
    let mut e = engine(&w);
    e.submit("srv", &doc(), at(0)).unwrap();
    let writer = format!(
        r#"{{"id": "writer", "tasks": [{{"id": "t", "trigger": {{"at": "2026-01-01T00:01:00Z"}},
            "actions": [{{"op": "Replace", "target": "{MODE}", "data": "turbo"}}]}}]}}"#
    );
    e.submit("srv", &writer, at(0)).unwrap();
    let fired = run_until(&mut e, at(120));
    let tasks: Vec<String> = fired
        .iter()
        .map(|f| format!("{}/{}", f.schedule, f.task))
        .collect();
    assert_eq!(tasks, ["writer/t", "watch/t"], "{fired:?}");
    assert_eq!(
        fired[1].cause.as_deref(),
        Some("./Vendor/Config/Mode changed by srv")
    );
}

#[test]
fn a_changes_trigger_needs_a_node_uri() {
    let w = World::new();
    let mut e = engine(&w);
    let bad = doc().replace(MODE, "Vendor/Mode");
    let err = e.submit("srv", &bad, at(0)).unwrap_err().to_string();
    assert!(err.contains("$.tasks[0].trigger.changes"), "{err}");
}

/// The baseline is taken when the schedule is accepted: a write before the
/// engine's first call after it (in the same DM session that installed
/// it, say) is a change (found by the HTTPS test `mo_triggers`).
#[test]
fn a_write_before_the_first_tick_after_install_is_a_change() {
    let w = World::new();
    w.set(MODE, Value::Str("normal".into()));
    let mut e = engine(&w);
    e.submit("srv", &doc(), at(0)).unwrap();
    w.set(MODE, Value::Str("eco".into()));
    assert_eq!(e.on_tree_changed(MODE, at(1)).unwrap().len(), 1);
    // And after a modify that brings the trigger in, likewise.
    let plain = doc().replace(
        &format!(r#"{{"changes": "{MODE}"}}"#),
        r#"{"at": "2027-01-01T00:00:00Z"}"#,
    );
    let mut e = engine(&w);
    e.submit("srv", &plain, at(0)).unwrap();
    e.modify("srv", "srv", &doc(), at(2)).unwrap();
    w.set(MODE, Value::Str("turbo".into()));
    assert_eq!(e.on_tree_changed(MODE, at(3)).unwrap().len(), 1);
}
