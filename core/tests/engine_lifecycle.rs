//! Engine lifecycle, triggers, constraints, termination, authorities,
//! retries, reports and persistence.

mod common;

use common::*;
use dmsched::expr::Value;
use dmsched::model::Outcome;
use dmsched::{Access, EngineError, Event, PromptAnswer, ScheduleState};

/// 6.1.7.1, 6.1.7.3: a schedule is stored, survives a reopen with its
/// state and next run, and runs there without the server.
#[test]
fn reopened_store_restores_schedule_state_and_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let before;
    {
        let mut e = engine_at(&w, &path);
        e.submit(
            "srv",
            &doc(
                "a",
                r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#,
                "",
            ),
            ts("2026-01-01T00:00:30Z"),
        )
        .unwrap();
        let f = e.tick(ts("2026-01-01T00:01:00Z")).unwrap();
        assert_eq!(f.len(), 1);
        before = e.get("srv", "srv", "a").unwrap();
        assert_eq!(before.tasks[0].next_run, Some(ts("2026-01-01T00:02:00Z")));
    }
    let mut e = engine_at(&w, &path);
    let after = e.get("srv", "srv", "a").unwrap();
    assert_eq!(after.tasks[0].next_run, before.tasks[0].next_run);
    assert_eq!(after.tasks[0].runs, 1);
    assert_eq!(after.tasks[0].last_outcome, Some(Outcome::Ran));
    assert_eq!(e.next_wakeup(), Some(ts("2026-01-01T00:02:00Z")));
}

#[test]
fn at_trigger_runs_once_and_the_schedule_completes() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc("a", r#"{"at": "2026-01-01T10:00:00Z"}"#, ""),
        ts("2026-01-01T09:00:00Z"),
    )
    .unwrap();
    assert_eq!(e.next_wakeup(), Some(ts("2026-01-01T10:00:00Z")));
    let f = run_until(&mut e, ts("2026-01-02T00:00:00Z"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, Outcome::Ran);
    assert_eq!(f[0].run_at, Some(ts("2026-01-01T10:00:00Z")));
    let info = e.get("srv", "srv", "a").unwrap();
    assert_eq!(info.state, ScheduleState::Completed);
    assert_eq!(e.next_wakeup(), None);
}

#[test]
fn every_trigger_runs_on_its_anchor_grid() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"every": {"seconds": 3600, "anchor": "2026-01-01T00:15:00Z"}}"#,
            "",
        ),
        ts("2026-01-01T01:00:00Z"),
    )
    .unwrap();
    run_until(&mut e, ts("2026-01-01T04:00:00Z"));
    assert_eq!(
        w.run_times(),
        vec![
            ts("2026-01-01T01:15:00Z"),
            ts("2026-01-01T02:15:00Z"),
            ts("2026-01-01T03:15:00Z")
        ]
    );
}

/// 6.1.7.5: a schedule based on DM-tree information: a constraint that
/// fails makes the occurrence wait; the tree change lets it run.
#[test]
fn unmet_constraint_waits_for_tree_change_then_runs() {
    let w = World::new();
    w.set("./Bat", Value::Int(10));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"at": "2026-01-01T10:00:00Z"}"#,
            r#""constraints": {"require": "./Bat >= 30", "max_delay_seconds": 3600}"#,
        ),
        ts("2026-01-01T09:00:00Z"),
    )
    .unwrap();
    assert!(e.tick(ts("2026-01-01T10:00:00Z")).unwrap().is_empty());
    let info = e.get("srv", "srv", "a").unwrap();
    assert!(
        info.tasks[0]
            .waiting
            .as_deref()
            .unwrap()
            .contains("./Bat >= 30")
    );
    assert_eq!(w.run_count(), 0);
    w.set("./Bat", Value::Int(50));
    let f = e
        .on_tree_changed("./Bat", ts("2026-01-01T10:20:00Z"))
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, Outcome::Ran);
    assert_eq!(f[0].run_at, Some(ts("2026-01-01T10:20:00Z")));
}

#[test]
fn constraint_unmet_past_max_delay_is_missed_with_reason() {
    let w = World::new();
    w.set("./Bat", Value::Int(10));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"at": "2026-01-01T10:00:00Z"}"#,
            r#""constraints": {"require": "./Bat >= 30", "max_delay_seconds": 600}"#,
        ),
        ts("2026-01-01T09:00:00Z"),
    )
    .unwrap();
    let f = run_until(&mut e, ts("2026-01-01T12:00:00Z"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, Outcome::Missed);
    assert!(
        f[0].reason
            .as_deref()
            .unwrap()
            .contains("constraint `./Bat >= 30` not met: ./Bat >= 30 is false (./Bat = 10)"),
        "{:?}",
        f[0].reason
    );
    assert_eq!(w.run_count(), 0);
}

#[test]
fn occurrence_outside_window_waits_for_the_window_to_open() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"at": "2026-01-01T12:00:00Z"}"#,
            r#""constraints": {"windows": [{"start": "22:00", "end": "06:00"}], "max_delay_seconds": 86400}"#,
        ),
        ts("2026-01-01T09:00:00Z"),
    )
    .unwrap();
    run_until(&mut e, ts("2026-01-02T12:00:00Z"));
    assert_eq!(w.run_times(), vec![ts("2026-01-01T22:00:00Z")]);
}

/// becomes_true fires on the false→true edge and re-arms only after the
/// condition was false again (hysteresis).
#[test]
fn becomes_true_fires_on_edges_only() {
    let w = World::new();
    w.set("./Bat", Value::Int(50));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc("a", r#"{"becomes_true": "./Bat < 20"}"#, ""),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    let mut t = ts("2026-01-01T00:00:00Z");
    let mut step = |v: i64, e: &mut dmsched::Engine| {
        t = t.checked_add(jiff::SignedDuration::from_mins(1)).unwrap();
        w.set("./Bat", Value::Int(v));
        e.on_tree_changed("./Bat", t).unwrap().len()
    };
    assert_eq!(step(19, &mut e), 1, "false→true fires");
    assert_eq!(step(15, &mut e), 0, "still true: no new edge");
    assert_eq!(step(10, &mut e), 0);
    assert_eq!(step(25, &mut e), 0, "false re-arms");
    assert_eq!(step(18, &mut e), 1, "true again fires");
    assert_eq!(w.run_count(), 2);
}

#[test]
fn becomes_true_already_true_at_activation_fires_once() {
    let w = World::new();
    w.set("./Bat", Value::Int(5));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc("a", r#"{"becomes_true": "./Bat < 20"}"#, ""),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    assert_eq!(e.next_wakeup(), Some(ts("2026-01-01T00:00:00Z")));
    let f = e.tick(ts("2026-01-01T00:00:00Z")).unwrap();
    assert_eq!(f.len(), 1);
    w.set("./Bat", Value::Int(4));
    assert!(
        e.on_tree_changed("./Bat", ts("2026-01-01T00:01:00Z"))
            .unwrap()
            .is_empty()
    );
}

/// 6.1.7.2: a modify that keeps a becomes_true trigger keeps its edge: a
/// condition still true does not fire again (the run it caused is not
/// repeated); a modify that changes the condition evaluates it afresh.
#[test]
fn modify_keeps_the_edge_of_an_unchanged_becomes_true_trigger() {
    let w = World::new();
    w.set("./Bat", Value::Int(5));
    let mut e = engine(&w);
    let bt = r#"{"becomes_true": "./Bat < 20"}"#;
    let t0 = ts("2026-01-01T00:00:00Z");
    e.submit("srv", &doc("a", bt, ""), t0).unwrap();
    assert_eq!(e.tick(t0).unwrap().len(), 1, "true at activation fires");
    let t1 = ts("2026-01-01T00:01:00Z");
    e.modify(
        "srv",
        "srv",
        &doc(
            "a",
            bt,
            r#""policy": {"retry": {"max": 2, "backoff": 300}}"#,
        ),
        t1,
    )
    .unwrap();
    assert!(
        e.tick(t1).unwrap().is_empty(),
        "the same edge does not fire again"
    );
    w.set("./Bat", Value::Int(4));
    assert!(e.on_tree_changed("./Bat", t1).unwrap().is_empty());
    assert_eq!(w.run_count(), 1);
    // Still re-arms and fires on the next false→true edge.
    w.set("./Bat", Value::Int(50));
    assert!(e.on_tree_changed("./Bat", t1).unwrap().is_empty());
    w.set("./Bat", Value::Int(10));
    assert_eq!(e.on_tree_changed("./Bat", t1).unwrap().len(), 1);
    // A changed condition is a new trigger: true now, it fires.
    let t2 = ts("2026-01-01T00:02:00Z");
    e.modify(
        "srv",
        "srv",
        &doc("a", r#"{"becomes_true": "./Bat < 30"}"#, ""),
        t2,
    )
    .unwrap();
    assert_eq!(e.tick(t2).unwrap().len(), 1);
    assert_eq!(w.run_count(), 3);
}

#[test]
fn event_trigger_with_filter_runs_only_matching_events() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"event": {"name": "network", "filter": "event.type == \"wifi\""}}"#,
            "",
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let mut ev = Event {
        name: "network".into(),
        ..Event::default()
    };
    ev.fields
        .insert("type".into(), Value::Str("cellular".into()));
    assert!(
        e.on_event(&ev, ts("2026-01-01T01:00:00Z"))
            .unwrap()
            .is_empty()
    );
    ev.fields.insert("type".into(), Value::Str("wifi".into()));
    let f = e.on_event(&ev, ts("2026-01-01T02:00:00Z")).unwrap();
    assert_eq!(f.len(), 1);
    let other = Event {
        name: "boot".into(),
        ..Event::default()
    };
    assert!(
        e.on_event(&other, ts("2026-01-01T03:00:00Z"))
            .unwrap()
            .is_empty()
    );
    assert_eq!(w.run_count(), 1);
}

#[test]
fn termination_after_max_runs_ends_the_task() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#,
            r#""termination": {"max_runs": 3}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    run_until(&mut e, ts("2026-01-01T01:00:00Z"));
    assert_eq!(w.run_count(), 3);
    let info = e.get("srv", "srv", "a").unwrap();
    assert_eq!(info.tasks[0].ended.as_deref(), Some("max_runs reached"));
    assert_eq!(info.state, ScheduleState::Completed);
}

#[test]
fn termination_until_event_and_condition() {
    let w = World::new();
    w.set("./Stop", Value::Bool(false));
    let mut e = engine(&w);
    let every = r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#;
    e.submit(
        "srv",
        &doc(
            "u",
            every,
            r#""termination": {"until": "2026-01-01T00:03:00Z"}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    e.submit(
        "srv",
        &doc(
            "e",
            every,
            r#""termination": {"on_event": {"name": "sim_change"}}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    e.submit(
        "srv",
        &doc("w", every, r#""termination": {"when": "./Stop == true"}"#),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    run_until(&mut e, ts("2026-01-01T00:04:30Z"));
    e.on_event(
        &Event {
            name: "sim_change".into(),
            ..Event::default()
        },
        ts("2026-01-01T00:04:30Z"),
    )
    .unwrap();
    w.set("./Stop", Value::Bool(true));
    e.on_tree_changed("./Stop", ts("2026-01-01T00:04:40Z"))
        .unwrap();
    run_until(&mut e, ts("2026-01-01T00:10:00Z"));
    let mut runs = |id: &str| e.get("srv", "srv", id).unwrap().tasks[0].runs;
    assert_eq!(runs("u"), 3, "00:00, 00:01, 00:02 — not at until");
    assert_eq!(runs("e"), 5);
    assert_eq!(runs("w"), 5);
    for id in ["u", "e", "w"] {
        assert_eq!(
            e.get("srv", "srv", id).unwrap().state,
            ScheduleState::Completed,
            "{id}"
        );
    }
    assert_eq!(e.next_wakeup(), None);
}

/// 6.1.7.2: the server activates, suspends, modifies and terminates.
#[test]
fn suspend_resume_modify_terminate() {
    let w = World::new();
    let mut e = engine(&w);
    let every = r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#;
    e.submit("srv", &doc("a", every, ""), ts("2026-01-01T00:00:30Z"))
        .unwrap();
    run_until(&mut e, ts("2026-01-01T00:02:30Z"));
    assert_eq!(w.run_count(), 2);
    let s = e
        .suspend("srv", "srv", "a", ts("2026-01-01T00:02:30Z"))
        .unwrap();
    assert_eq!(s.state, ScheduleState::Suspended);
    assert_eq!(s.tasks[0].waiting.as_deref(), Some("schedule suspended"));
    assert_eq!(e.next_wakeup(), None);
    assert!(matches!(
        e.suspend("srv", "srv", "a", ts("2026-01-01T00:03:00Z")),
        Err(EngineError::InvalidState(_))
    ));
    // Nothing runs while suspended, and nothing is caught up on resume.
    let s = e
        .resume("srv", "srv", "a", ts("2026-01-01T00:10:30Z"))
        .unwrap();
    assert_eq!(s.tasks[0].next_run, Some(ts("2026-01-01T00:11:00Z")));
    run_until(&mut e, ts("2026-01-01T00:11:30Z"));
    assert_eq!(w.run_count(), 3);
    // Modify: a new interval; run count is kept.
    let m = e
        .modify(
            "srv",
            "srv",
            &doc(
                "a",
                r#"{"every": {"seconds": 600, "anchor": "2026-01-01T00:00:00Z"}}"#,
                "",
            ),
            ts("2026-01-01T00:11:30Z"),
        )
        .unwrap();
    assert_eq!(m.tasks[0].runs, 3);
    assert_eq!(m.tasks[0].next_run, Some(ts("2026-01-01T00:20:00Z")));
    let t = e
        .terminate("srv", "srv", "a", ts("2026-01-01T00:12:00Z"))
        .unwrap();
    assert_eq!(t.state, ScheduleState::Terminated);
    assert_eq!(e.next_wakeup(), None);
    assert!(matches!(
        e.resume("srv", "srv", "a", ts("2026-01-01T00:13:00Z")),
        Err(EngineError::InvalidState(_))
    ));
    // The id can be reused after termination.
    e.submit("srv", &doc("a", every, ""), ts("2026-01-01T00:14:00Z"))
        .unwrap();
    assert!(matches!(
        e.submit("srv", &doc("a", every, ""), ts("2026-01-01T00:14:00Z")),
        Err(EngineError::Exists { .. })
    ));
}

/// 6.1.7.2: a modification at the very instant an occurrence ran does not
/// run that occurrence again.
#[test]
fn modify_right_after_a_run_does_not_repeat_it() {
    let w = World::new();
    let mut e = engine(&w);
    let every =
        |s: u32| format!(r#"{{"every": {{"seconds": {s}, "anchor": "2026-01-01T00:00:00Z"}}}}"#);
    e.submit(
        "srv",
        &doc("a", &every(3600), ""),
        ts("2025-12-31T23:30:00Z"),
    )
    .unwrap();
    let t = ts("2026-01-01T00:00:00Z");
    assert_eq!(e.tick(t).unwrap().len(), 1);
    let m = e
        .modify("srv", "srv", &doc("a", &every(1800), ""), t)
        .unwrap();
    assert_eq!(m.tasks[0].next_run, Some(ts("2026-01-01T00:30:00Z")));
    assert!(e.tick(t).unwrap().is_empty(), "00:00 is not run again");
    assert_eq!(w.run_count(), 1);
}

/// 6.1.7.6, 6.2.5: one management authority never reads, changes or ends
/// another's schedules unless authorised.
#[test]
fn foreign_authority_is_refused_unless_authorised() {
    let w = World::new();
    let mut e = engine(&w);
    let now = ts("2026-01-01T00:00:00Z");
    let every = r#"{"every": {"seconds": 60}}"#;
    e.submit("alpha", &doc("a", every, ""), now).unwrap();
    e.submit("beta", &doc("a", every, ""), now).unwrap();
    assert_eq!(e.list("alpha").unwrap().len(), 1);
    assert!(matches!(
        e.get("beta", "alpha", "a"),
        Err(EngineError::NotFound { .. })
    ));
    assert!(matches!(
        e.suspend("beta", "alpha", "a", now),
        Err(EngineError::PermissionDenied { .. })
    ));
    assert!(matches!(
        e.terminate("beta", "alpha", "a", now),
        Err(EngineError::PermissionDenied { .. })
    ));
    assert!(matches!(
        e.modify("beta", "alpha", &doc("a", every, ""), now),
        Err(EngineError::PermissionDenied { .. })
    ));
    assert_eq!(
        e.get("alpha", "alpha", "a").unwrap().state,
        ScheduleState::Active
    );
    // Grants are per access kind.
    w.grants
        .lock()
        .unwrap()
        .push(("beta".into(), "alpha".into(), Access::Read));
    assert_eq!(e.list("beta").unwrap().len(), 2);
    assert!(matches!(
        e.terminate("beta", "alpha", "a", now),
        Err(EngineError::PermissionDenied { .. })
    ));
    w.grants
        .lock()
        .unwrap()
        .push(("beta".into(), "alpha".into(), Access::End));
    assert_eq!(
        e.terminate("beta", "alpha", "a", now).unwrap().state,
        ScheduleState::Terminated
    );
}

/// 6.1.7.6: actions and condition reads name the owning server.
#[test]
fn actions_and_reads_run_with_the_owners_identity() {
    let w = World::new();
    w.set("./Bat", Value::Int(50));
    w.denied
        .lock()
        .unwrap()
        .push(("beta".into(), "./Bat".into()));
    let mut e = engine(&w);
    let now = ts("2026-01-01T00:00:00Z");
    let d = |id| {
        doc(
            id,
            r#"{"at": "2026-01-01T00:01:00Z"}"#,
            r#""constraints": {"require": "./Bat > 10"}"#,
        )
    };
    e.submit("alpha", &d("a"), now).unwrap();
    e.submit("beta", &d("b"), now).unwrap();
    let f = run_until(&mut e, ts("2026-01-01T01:00:00Z"));
    let by = |o: &str| f.iter().find(|x| x.owner == o).unwrap().clone();
    assert_eq!(by("alpha").outcome, Outcome::Ran);
    assert_eq!(by("beta").outcome, Outcome::Missed);
    assert!(
        by("beta")
            .reason
            .unwrap()
            .contains("beta may not read ./Bat")
    );
    let runs = w.runs.lock().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].owner, "alpha");
}

#[test]
fn failed_run_retries_with_doubling_backoff_then_fails_and_reports() {
    let w = World::new();
    w.status.lock().unwrap().insert("./Vendor/a".into(), 500);
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"at": "2026-01-01T00:00:00Z"}"#,
            r#""policy": {"retry": {"max": 2, "backoff": 60}}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    let f = run_until(&mut e, ts("2026-01-01T01:00:00Z"));
    assert_eq!(
        w.run_times(),
        vec![
            ts("2026-01-01T00:00:00Z"),
            ts("2026-01-01T00:01:00Z"),
            ts("2026-01-01T00:03:00Z")
        ]
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].outcome, Outcome::Failed);
    assert_eq!(f[0].attempts, 3);
    assert!(f[0].reason.as_deref().unwrap().contains("status 500"));
    let batch = e.pending_reports(Some("srv"), 10).unwrap();
    assert_eq!(batch.reports.len(), 1, "on_failure reports the failure");
    assert_eq!(w.reports.lock().unwrap().len(), 1, "the sink was told");
    assert_eq!(e.ack_reports("srv", &[batch.reports[0].id]).unwrap(), 1);
    assert!(
        e.pending_reports(Some("srv"), 10)
            .unwrap()
            .reports
            .is_empty()
    );
}

#[test]
fn report_policy_never_on_failure_always() {
    let w = World::new();
    let mut e = engine(&w);
    let now = ts("2026-01-01T00:00:00Z");
    for (id, p) in [("n", "never"), ("f", "on_failure"), ("a", "always")] {
        e.submit(
            "srv",
            &doc(
                id,
                r#"{"at": "2026-01-01T00:00:00Z"}"#,
                &format!(r#""policy": {{"report": "{p}"}}"#),
            ),
            now,
        )
        .unwrap();
    }
    run_until(&mut e, ts("2026-01-01T01:00:00Z"));
    let r = e.pending_reports(Some("srv"), 10).unwrap();
    let ids: Vec<_> = r
        .reports
        .iter()
        .map(|r| r.firing.schedule.as_str())
        .collect();
    assert_eq!(ids, ["a"]);
}

#[test]
fn user_prompt_accept_refuse_postpone() {
    let w = World::new();
    let mut e = engine(&w);
    let now = ts("2026-01-01T00:30:00Z");
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"every": {"seconds": 3600, "anchor": "2026-01-01T01:00:00Z"}}"#,
            r#""policy": {"confirm": true}, "constraints": {"max_delay_seconds": 1800}"#,
        ),
        now,
    )
    .unwrap();
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Postpone(600));
    assert!(e.tick(ts("2026-01-01T01:00:00Z")).unwrap().is_empty());
    assert_eq!(e.next_wakeup(), Some(ts("2026-01-01T01:10:00Z")));
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Accept);
    let f = e.tick(ts("2026-01-01T01:10:00Z")).unwrap();
    assert_eq!(f[0].outcome, Outcome::Ran);
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Refuse);
    let f = e.tick(ts("2026-01-01T02:00:00Z")).unwrap();
    assert_eq!(f[0].outcome, Outcome::Skipped);
    assert_eq!(f[0].reason.as_deref(), Some("refused by the user"));
    assert_eq!(*w.prompts.lock().unwrap(), 3);
}

/// 6.3.1.20, 6.3.4.1.10: a run the user postpones is reported (outcome
/// deferred, not handed out as a firing: it still waits) where the policy
/// reports anything; it runs later and is reported again.
#[test]
fn a_postponed_run_is_reported_and_keeps_waiting() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"at": "2026-01-01T01:00:00Z"}"#,
            r#""policy": {"confirm": true, "report": "always"}, "constraints": {"max_delay_seconds": 3600}"#,
        ),
        ts("2026-01-01T00:30:00Z"),
    )
    .unwrap();
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Postpone(600));
    assert!(e.tick(ts("2026-01-01T01:00:00Z")).unwrap().is_empty());
    let b = e.pending_reports(Some("srv"), 10).unwrap();
    assert_eq!(b.reports.len(), 1);
    let f = &b.reports[0].firing;
    assert_eq!(f.outcome, Outcome::Deferred);
    assert_eq!(
        f.reason.as_deref(),
        Some("postponed by the user until 2026-01-01T01:10:00Z")
    );
    assert_eq!(
        e.get("srv", "srv", "a").unwrap().tasks[0].last_outcome,
        None
    );
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Accept);
    let f = e.tick(ts("2026-01-01T01:10:00Z")).unwrap();
    assert_eq!(f[0].outcome, Outcome::Ran);
    assert_eq!(e.pending_reports(Some("srv"), 10).unwrap().reports.len(), 2);
    // With report "never" nothing is queued.
    e.submit(
        "srv",
        &doc(
            "quiet",
            r#"{"at": "2026-01-01T02:00:00Z"}"#,
            r#""policy": {"confirm": true, "report": "never"}, "constraints": {"max_delay_seconds": 3600}"#,
        ),
        ts("2026-01-01T01:30:00Z"),
    )
    .unwrap();
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Postpone(600));
    assert!(e.tick(ts("2026-01-01T02:00:00Z")).unwrap().is_empty());
    assert_eq!(e.pending_reports(Some("srv"), 10).unwrap().reports.len(), 2);
}

#[test]
fn outbox_is_bounded_and_evictions_are_counted() {
    let w = World::new();
    let mut c = cfg();
    c.outbox_capacity = 3;
    let mut e = dmsched::Engine::open(
        dmsched::store::Store::open_in_memory().unwrap(),
        w.host(),
        c,
    )
    .unwrap();
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"every": {"seconds": 60, "anchor": "2026-01-01T00:00:00Z"}}"#,
            r#""policy": {"report": "always"}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    run_until(&mut e, ts("2026-01-01T00:04:00Z"));
    let b = e.pending_reports(Some("srv"), 10).unwrap();
    assert_eq!(b.reports.len(), 3);
    assert_eq!(b.dropped, 2);
    assert_eq!(b.reports[0].firing.seq, 2, "the oldest were evicted");
    // Issue 18 (B10): the eviction names what was dropped.
    assert_eq!(b.dropped_names.len(), 2, "{:?}", b.dropped_names);
    assert!(
        b.dropped_names[0].starts_with("a/t#0 ran, report "),
        "{:?}",
        b.dropped_names
    );
    assert!(
        b.dropped_names[1].starts_with("a/t#1 ran, report "),
        "{:?}",
        b.dropped_names
    );
}

/// A run interrupted by a crash: at-most-once is not repeated and is
/// reported as interrupted; at-least-once runs again after restart.
#[test]
fn restart_settles_interrupted_firings_by_delivery_policy() {
    for (delivery, expect_rerun) in [("at_most_once", false), ("at_least_once", true)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let w = World::new();
        {
            let mut e = engine_at(&w, &path);
            e.submit(
                "srv",
                &doc(
                    "a",
                    r#"{"at": "2026-01-01T00:00:00Z"}"#,
                    &format!(r#""policy": {{"delivery": "{delivery}"}}"#),
                ),
                ts("2026-01-01T00:00:00Z"),
            )
            .unwrap();
            *w.panic_on_execute.lock().unwrap() = true;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                e.tick(ts("2026-01-01T00:00:00Z"))
            }));
            assert!(r.is_err(), "the simulated crash happened");
            // The engine is dropped mid-run, as a killed process would be.
        }
        *w.panic_on_execute.lock().unwrap() = false;
        let mut e = engine_at(&w, &path);
        let f = e.tick(ts("2026-01-01T00:05:00Z")).unwrap();
        assert_eq!(
            w.run_count(),
            if expect_rerun { 2 } else { 1 },
            "{delivery}"
        );
        let outcome = f.iter().find(|f| f.seq == 0).unwrap().outcome;
        assert_eq!(
            outcome,
            if expect_rerun {
                Outcome::Ran
            } else {
                Outcome::Interrupted
            },
            "{delivery}"
        );
        if !expect_rerun {
            let r = e.pending_reports(Some("srv"), 10).unwrap();
            assert_eq!(r.reports[0].firing.outcome, Outcome::Interrupted);
        }
    }
}

#[test]
fn jitter_is_deterministic_and_bounded() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}}"#,
            r#""policy": {"jitter_seconds": 900}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    run_until(&mut e, ts("2026-01-02T00:00:00Z"));
    let times = w.run_times();
    assert_eq!(times.len(), 24);
    let offsets: Vec<i64> = times.iter().map(|t| t.as_second() % 3600).collect();
    assert!(offsets.iter().all(|o| (0..=900).contains(o)), "{offsets:?}");
    assert!(
        offsets.iter().any(|o| *o != offsets[0]),
        "jitter varies per occurrence"
    );
    // The same device sees the same jitter again.
    let w2 = World::new();
    let mut e2 = engine(&w2);
    e2.submit(
        "srv",
        &doc(
            "a",
            r#"{"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}}"#,
            r#""policy": {"jitter_seconds": 900}"#,
        ),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    run_until(&mut e2, ts("2026-01-02T00:00:00Z"));
    assert_eq!(w2.run_times(), times);
}

#[test]
fn wakeup_window_allows_coalescing_within_max_delay() {
    let w = World::new();
    let mut e = engine(&w);
    let now = ts("2026-01-01T00:00:00Z");
    e.submit(
        "srv",
        &doc(
            "a",
            r#"{"at": "2026-01-01T01:00:00Z"}"#,
            r#""constraints": {"max_delay_seconds": 1800}"#,
        ),
        now,
    )
    .unwrap();
    e.submit(
        "srv",
        &doc(
            "b",
            r#"{"at": "2026-01-01T01:20:00Z"}"#,
            r#""constraints": {"max_delay_seconds": 600}"#,
        ),
        now,
    )
    .unwrap();
    assert_eq!(
        e.wakeup_window(),
        Some((ts("2026-01-01T01:00:00Z"), ts("2026-01-01T01:30:00Z")))
    );
    // One wake-up at 01:20 serves both.
    let f = e.tick(ts("2026-01-01T01:20:00Z")).unwrap();
    assert_eq!(f.iter().filter(|f| f.outcome == Outcome::Ran).count(), 2);
}

/// After a restart, timers and watchers come back from the store without
/// loading documents; a schedule is loaded when something touches it.
#[test]
fn restart_arms_timers_and_watchers_before_loading_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    w.set("./Bat", Value::Int(50));
    {
        let mut e = engine_at(&w, &path);
        let now = ts("2026-01-01T00:00:00Z");
        e.submit(
            "srv",
            &doc("t", r#"{"at": "2026-01-01T05:00:00Z"}"#, ""),
            now,
        )
        .unwrap();
        e.submit("srv", &doc("ev", r#"{"event": {"name": "boot"}}"#, ""), now)
            .unwrap();
        e.submit(
            "srv",
            &doc("bt", r#"{"becomes_true": "./Bat < 20"}"#, ""),
            now,
        )
        .unwrap();
        e.tick(now).unwrap(); // primes becomes_true (false: armed)
    }
    let mut e = engine_at(&w, &path);
    assert_eq!(e.next_wakeup(), Some(ts("2026-01-01T05:00:00Z")));
    assert_eq!(e.len(), 3);
    let f = e
        .on_event(
            &Event {
                name: "boot".into(),
                ..Event::default()
            },
            ts("2026-01-01T01:00:00Z"),
        )
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].schedule, "ev");
    w.set("./Bat", Value::Int(10));
    let f = e
        .on_tree_changed("./Bat", ts("2026-01-01T02:00:00Z"))
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].schedule, "bt");
    let f = e.tick(ts("2026-01-01T05:00:00Z")).unwrap();
    assert_eq!(f[0].schedule, "t");
    assert_eq!(e.list_all().unwrap().len(), 3);
}
