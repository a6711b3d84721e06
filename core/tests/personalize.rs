//! Personalisation (issue 18; use case step 4): the server declares what
//! the user may adjust — a task's daily window within bounds, a delay up
//! to a maximum, opting out of a task —; the device asks through the
//! host's prompt at install (and when a modify brings new parameters),
//! stores the choices with the schedule (across restarts; across a modify
//! where the parameter still holds), applies them, and lets the host change
//! them later (`Engine::personalize`). The MO side (nodes, the state
//! report to the owner) and HTTPS end to end: `mo_personalize` and
//! samples/dm-server/tests/mo_personalize.rs.

mod common;

use common::*;
use dmsched::Choices;
use dmsched::engine::check_document;
use dmsched::model::{Choice, Limits, Outcome};
use dmsched::store::Store;

const TASKS: &str = r#""tasks": [
  {"id": "night", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=22;BYMINUTE=0"}},
   "constraints": {"windows": [{"start": "22:00", "end": "23:00"}], "max_delay_seconds": 14400},
   "actions": [{"op": "Replace", "target": "./Vendor/night", "data": "1"}]},
  {"id": "update", "trigger": {"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}},
   "actions": [{"op": "Replace", "target": "./Vendor/update", "data": "1"}]},
  {"id": "stats", "trigger": {"every": {"seconds": 3600, "anchor": "2026-01-01T00:00:00Z"}},
   "actions": [{"op": "Replace", "target": "./Vendor/stats", "data": "1"}]}]"#;

fn doc(params: &str) -> String {
    format!(r#"{{"id": "p", "tz": "UTC", {TASKS}, "personalize": {{"params": [{params}]}}}}"#)
}

const HOURS: &str = r#"{"id": "hours", "task": "night", "label": "Maintenance hours",
    "window": {"within": {"start": "22:00", "end": "04:00"}, "min_minutes": 60}}"#;
const LATER: &str = r#"{"id": "later", "task": "update", "label": "Postpone updates", "delay": {"max_seconds": 1800}}"#;
const SHARE: &str =
    r#"{"id": "share", "task": "stats", "label": "Send usage statistics", "opt_out": true}"#;

fn choices(json: &str) -> Choices {
    serde_json::from_str(json).unwrap()
}

fn problems(json: &str) -> Vec<String> {
    match check_document(json, &Limits::default(), ts("2026-01-01T00:00:00Z")) {
        Ok(_) => Vec::new(),
        Err(v) => v.iter().map(ToString::to_string).collect(),
    }
}

/// Bad declarations are refused with a message naming the mistake; a
/// server cannot send choices (they are the user's).
#[test]
fn declarations_are_checked_and_servers_send_no_choices() {
    assert_eq!(
        problems(&doc(&format!("{HOURS}, {LATER}, {SHARE}"))),
        Vec::<String>::new()
    );
    let bad = [
        (
            r#"{"id": "x", "task": "nigth", "opt_out": true}"#,
            r#"no task "nigth" in this schedule (did you mean "night"?)"#,
        ),
        (
            r#"{"id": "x", "task": "night", "opt_out": true, "delay": {"max_seconds": 5}}"#,
            "exactly one of `window`, `delay` or `opt_out: true`",
        ),
        (
            r#"{"id": "x", "task": "night", "delay": {"max_seconds": 999999999}}"#,
            "a delay parameter offers 1 to 604800 seconds",
        ),
        (
            r#"{"id": "x", "task": "night", "window": {"within": {"start": "01:00", "end": "02:00"}, "min_minutes": 90}}"#,
            "90 minutes do not fit in 01:00-02:00",
        ),
        (
            r#"{"id": "a b", "task": "night", "opt_out": true}"#,
            "is not an id",
        ),
    ];
    for (param, want) in bad {
        let p = problems(&doc(param));
        assert!(p.iter().any(|m| m.contains(want)), "{param}: {p:?}");
    }
    let twice = problems(&doc(&format!("{SHARE}, {SHARE}")));
    assert!(
        twice.iter().any(|m| m.contains("declared twice")),
        "{twice:?}"
    );

    let w = World::new();
    let mut e = engine(&w);
    let sent = doc(SHARE).replace(
        r#""params": ["#,
        r#""choices": {"share": true}, "params": ["#,
    );
    let err = e
        .submit("srv", &sent, ts("2026-01-01T00:00:00Z"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("the choices are the user's"), "{err}");
}

/// Asked at install; the chosen window, delay and opt-out apply; the
/// choices survive a restart.
#[test]
fn the_users_choices_apply_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    let w = World::new();
    *w.choices.lock().unwrap() = Some(choices(
        r#"{"hours": {"start": "01:00", "end": "02:00"}, "later": 600, "share": true}"#,
    ));
    let open = || dmsched::Engine::open(Store::open(&path).unwrap(), w.host(), cfg()).unwrap();
    let mut fired = Vec::new();
    {
        let mut e = open();
        let info = e
            .submit(
                "srv",
                &doc(&format!("{HOURS}, {LATER}, {SHARE}")),
                ts("2026-01-01T00:00:00Z"),
            )
            .unwrap();
        let p = info.document.personalize.as_deref().unwrap();
        assert_eq!(p.choices.len(), 3);
        assert_eq!(
            *w.personalize_asked.lock().unwrap(),
            [(
                "p".to_string(),
                vec!["hours".into(), "later".into(), "share".into()],
                0
            )]
        );
        fired.extend(run_until(&mut e, ts("2026-01-01T12:00:00Z")));
    }
    // Restarted: the choices are still there and still apply.
    let mut e = open();
    let info = e.get("srv", "srv", "p").unwrap();
    assert_eq!(info.document.personalize.unwrap().choices.len(), 3);
    fired.extend(run_until(&mut e, ts("2026-01-02T03:00:00Z")));

    let runs = |task: &str| -> Vec<String> {
        w.runs
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.task == task)
            .map(|r| r.now.to_string())
            .collect()
    };
    // The delay: every update 10 minutes after its hour.
    let updates = runs("update");
    assert_eq!(updates.len(), 27, "{updates:?}");
    assert!(
        updates.iter().all(|t| t.ends_with(":10:00Z")),
        "{updates:?}"
    );
    // The window: the 22:00 occurrence waits for the user's 01:00–02:00.
    assert_eq!(runs("night"), ["2026-01-02T01:00:00Z"]);
    // The opt-out: never run, each occurrence skipped and said why.
    assert!(runs("stats").is_empty());
    let stats: Vec<_> = fired.iter().filter(|f| f.task == "stats").collect();
    assert!(stats.len() >= 27, "{}", stats.len());
    assert!(stats.iter().all(|f| f.outcome == Outcome::Skipped
        && f.reason.as_deref() == Some("the user opted out of this task")));
}

/// A modify keeps the choices whose parameter still holds (same kind and
/// task, the value within the new bounds), drops the others, and asks the
/// user only when it brings a new parameter; the host sets choices later,
/// checked against the bounds.
#[test]
fn choices_survive_a_modify_where_their_parameter_holds_and_change_later() {
    let w = World::new();
    *w.choices.lock().unwrap() = Some(choices(
        r#"{"hours": {"start": "01:00", "end": "02:00"}, "later": 600, "share": true}"#,
    ));
    let mut e = engine(&w);
    e.submit(
        "srv",
        &doc(&format!("{HOURS}, {LATER}, {SHARE}")),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap();
    // The same parameters again: nothing new, nobody asked.
    *w.choices.lock().unwrap() = None;
    e.modify(
        "srv",
        "srv",
        &doc(&format!("{HOURS}, {LATER}, {SHARE}")),
        ts("2026-01-01T00:01:00Z"),
    )
    .unwrap();
    assert_eq!(w.personalize_asked.lock().unwrap().len(), 1);
    let kept = |e: &mut dmsched::Engine| {
        e.get("srv", "srv", "p")
            .unwrap()
            .document
            .personalize
            .map(|p| p.choices)
            .unwrap_or_default()
    };
    assert_eq!(kept(&mut e).len(), 3);

    // New bounds: the window still fits, the delay no longer does, the
    // opt-out is gone, and a new parameter is asked about (with what is
    // still chosen).
    let hours2 = HOURS.replace(
        r#""start": "22:00", "end": "04:00""#,
        r#""start": "00:00", "end": "03:00""#,
    );
    let later2 = LATER.replace("1800", "300");
    let beta = r#"{"id": "beta", "task": "update", "opt_out": true}"#;
    *w.choices.lock().unwrap() = Some(choices(
        r#"{"hours": {"start": "01:00", "end": "02:00"}, "beta": false}"#,
    ));
    e.modify(
        "srv",
        "srv",
        &doc(&format!("{hours2}, {later2}, {beta}")),
        ts("2026-01-01T00:02:00Z"),
    )
    .unwrap();
    let asked = w.personalize_asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[1].2, 1, "asked with the one choice that still held");
    let now = kept(&mut e);
    assert_eq!(now.keys().collect::<Vec<_>>(), ["beta", "hours"], "{now:?}");

    // Later, from the host's settings: out of bounds is refused and
    // changes nothing; in bounds replaces every choice.
    let err = e
        .personalize(
            "srv",
            "p",
            &choices(r#"{"hours": {"start": "23:00", "end": "00:30"}}"#),
            ts("2026-01-01T00:03:00Z"),
        )
        .unwrap_err()
        .to_string();
    assert!(err.contains("is not inside 00:00-03:00"), "{err}");
    assert_eq!(kept(&mut e), now);
    let info = e
        .personalize(
            "srv",
            "p",
            &choices(r#"{"hours": {"start": "00:00", "end": "01:00"}}"#),
            ts("2026-01-01T00:04:00Z"),
        )
        .unwrap();
    let p = info.document.personalize.unwrap();
    assert_eq!(p.choices.len(), 1);
    assert!(matches!(p.choices["hours"], Choice::Window(_)));
    // A server's modify cannot set choices either.
    let sent = doc(&hours2).replace(
        r#""params": ["#,
        r#""choices": {"hours": {"start": "00:00", "end": "01:00"}}, "params": ["#,
    );
    assert!(
        e.modify("srv", "srv", &sent, ts("2026-01-01T00:05:00Z"))
            .is_err()
    );
    // A schedule without parameters cannot be personalised.
    e.submit(
        "srv",
        &format!(r#"{{"id": "plain", "tz": "UTC", {TASKS}}}"#),
        ts("2026-01-01T00:06:00Z"),
    )
    .unwrap();
    let err = e
        .personalize("srv", "plain", &Choices::new(), ts("2026-01-01T00:07:00Z"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("declares nothing the user may adjust"),
        "{err}"
    );
}

/// A prompt's answer out of bounds is ignored (the server's defaults
/// stay), not refused: the install goes through.
#[test]
fn an_answer_out_of_bounds_is_ignored_at_install() {
    let w = World::new();
    *w.choices.lock().unwrap() = Some(choices(r#"{"later": 99999, "nope": true}"#));
    let mut e = engine(&w);
    let info = e
        .submit("srv", &doc(LATER), ts("2026-01-01T00:00:00Z"))
        .unwrap();
    assert!(info.document.personalize.unwrap().choices.is_empty());
}
