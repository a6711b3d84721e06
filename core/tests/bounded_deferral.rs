//! Deferral is bounded: a user who postpones every time does not keep an
//! occurrence waiting forever (issue 13 item 7; 6.1.7.5 user interaction).

mod common;

use common::{World, engine, ts};
use dmsched::PromptAnswer;
use dmsched::model::Outcome;
use jiff::Timestamp;

fn confirm_doc(policy_extra: &str) -> String {
    format!(
        r#"{{"id": "c", "tasks": [{{"id": "t", "trigger": {{"at": "2026-01-01T00:00:00Z"}},
            "constraints": {{"max_delay_seconds": 600}},
            "actions": [{{"op": "Replace", "target": "./Vendor/c", "data": "1"}}],
            "policy": {{"confirm": true, "report": "always"{policy_extra}}}}}]}}"#
    )
}

/// Ticks at every wake-up (as a host does) while the user postpones each
/// time by 1 hour; returns the final firing and how many prompts were shown.
fn postpone_forever(e: &mut dmsched::Engine, w: &World) -> (dmsched::model::Firing, u32) {
    *w.prompt_answer.lock().unwrap() = Some(PromptAnswer::Postpone(3600));
    let end: Timestamp = ts("2026-01-20T00:00:00Z");
    let mut guard = 0;
    loop {
        let Some(at) = e.next_wakeup() else {
            panic!("nothing scheduled and no final outcome");
        };
        assert!(
            at < end,
            "still waiting after {guard} prompts: deferral is unbounded"
        );
        let fired = e.tick(at).unwrap();
        if let Some(f) = fired.into_iter().find(|f| f.outcome != Outcome::Deferred) {
            return (f, *w.prompts.lock().unwrap());
        }
        guard += 1;
        assert!(guard < 1000);
    }
}

/// Issue 13 item 7, as reproduced (200 postponements over 8 days with
/// max_delay_seconds 600 left the task waiting forever): with the default
/// limit the occurrence ends `skipped` after 3 postponements, naming it.
#[test]
fn the_default_limit_ends_an_occurrence_postponed_again_and_again() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit("srv", &confirm_doc(""), ts("2025-12-31T23:59:00Z"))
        .unwrap();
    let (f, prompts) = postpone_forever(&mut e, &w);
    assert_eq!(f.outcome, Outcome::Skipped, "{f:?}");
    let reason = f.reason.unwrap();
    assert!(reason.contains("max_postpones"), "{reason}");
    assert_eq!(prompts, 4, "3 postponements granted, the 4th ends it");
    let r = e.pending_reports(Some("srv"), 100).unwrap();
    assert!(
        r.reports
            .iter()
            .any(|r| r.firing.outcome == Outcome::Skipped),
        "the end is reported"
    );
}

/// The horizon: postponing never moves the occurrence past
/// `postpone_horizon_seconds` after it was due; at the horizon the next
/// postponement ends it.
#[test]
fn the_horizon_caps_how_far_an_occurrence_can_be_postponed() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &confirm_doc(r#", "max_postpones": 100, "postpone_horizon_seconds": 7200"#),
        ts("2025-12-31T23:59:00Z"),
    )
    .unwrap();
    let (f, prompts) = postpone_forever(&mut e, &w);
    assert_eq!(f.outcome, Outcome::Skipped, "{f:?}");
    assert!(
        f.reason
            .as_deref()
            .unwrap()
            .contains("postpone_horizon_seconds"),
        "{f:?}"
    );
    // Asked at 00:00, 01:00, 02:00 (the horizon): two postponements granted.
    assert_eq!(prompts, 3);
}

/// `max_postpones: 0` asks once: a postponement is a refusal.
#[test]
fn zero_postponements_allowed_ends_at_the_first() {
    let w = World::new();
    let mut e = engine(&w);
    e.submit(
        "srv",
        &confirm_doc(r#", "max_postpones": 0"#),
        ts("2025-12-31T23:59:00Z"),
    )
    .unwrap();
    let (f, prompts) = postpone_forever(&mut e, &w);
    assert_eq!(f.outcome, Outcome::Skipped);
    assert_eq!(prompts, 1);
}
