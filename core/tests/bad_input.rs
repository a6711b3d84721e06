//! Bad input gets a clear error naming the JSON path, and the store is
//! left exactly as it was.

mod common;

use common::*;
use dmsched::EngineError;
use dmsched::store::Store;

fn problems_of(e: EngineError) -> Vec<String> {
    match e {
        EngineError::Invalid(p) => p.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected Invalid, got {other}"),
    }
}

const GOOD: &str = r#"{"id": "ok", "tasks": [{"id": "t", "trigger": {"every": {"seconds": 60}}, "actions": [{"op": "Get", "target": "./DevInfo/Mod"}]}]}"#;

fn bad_documents() -> Vec<(&'static str, String, &'static str)> {
    let task = |trigger: &str, extra: &str| {
        format!(
            r#"{{"id": "x", "tasks": [{{"id": "t", "trigger": {trigger}, "actions": [{{"op": "Get", "target": "./A"}}]{extra}}}]}}"#
        )
    };
    let bomb_paren = format!("{}./A{}", "(".repeat(5000), ")".repeat(5000));
    let bomb_not = format!("{}true", "!".repeat(3000));
    vec![
        ("malformed JSON", r#"{"id": "x", "tasks": [}"#.to_string(), "$"),
        ("unknown top-level field", r#"{"id": "x", "tasks": [], "colour": 1}"#.to_string(), "unknown key \"colour\""),
        ("unknown task field", task(r#"{"at": "2026-01-01T00:00:00Z"}"#, r#", "priority": 1"#), "$.tasks[0]"),
        ("two triggers", task(r#"{"at": "2026-01-01T00:00:00Z", "every": {"seconds": 60}}"#, ""), "$.tasks[0].trigger"),
        ("invalid RRULE", task(r#"{"calendar": {"rrule": "FREQ=DAILY;BYMONTHDAY=32", "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}"#, ""), "$.tasks[0].trigger.calendar.rrule"),
        ("RRULE without FREQ", task(r#"{"calendar": {"rrule": "BYHOUR=3", "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}"#, ""), "$.tasks[0].trigger.calendar.rrule"),
        ("unknown zone", task(r#"{"calendar": {"rrule": "FREQ=DAILY", "dtstart": "2026-01-01T00:00:00", "tz": "Mars/Olympus_Mons"}}"#, ""), "$.tasks[0].trigger.calendar.tz"),
        ("bad instant", task(r#"{"at": "tomorrow"}"#, ""), "$.tasks[0].trigger.at"),
        ("interval below minimum", task(r#"{"every": {"seconds": 10}}"#, ""), "$.tasks[0].trigger.every.seconds"),
        ("calendar too frequent", task(r#"{"calendar": {"rrule": "FREQ=SECONDLY;INTERVAL=5", "dtstart": "2026-01-01T00:00:00", "tz": "UTC"}}"#, ""), "below the minimum interval"),
        ("expression syntax", task(r#"{"becomes_true": "./A >"}"#, ""), "$.tasks[0].trigger.becomes_true"),
        ("expression depth bomb (parens)", task(&format!(r#"{{"becomes_true": "{bomb_paren}"}}"#), ""), "$.tasks[0].trigger.becomes_true"),
        ("expression depth bomb (not)", task(r#"{"event": {"name": "boot"}}"#, &format!(r#", "constraints": {{"require": "{bomb_not}"}}"#)), "$.tasks[0].constraints.require"),
        ("missing op", task(r#"{"at": "2026-01-01T00:00:00Z"}"#, "").replace(r#""op": "Get", "#, ""), "missing required key \"op\" (Add, Replace"),
        ("bad target", task(r#"{"at": "2026-01-01T00:00:00Z"}"#, "").replace("./A", "A/B"), "$.tasks[0].actions[0].target"),
        ("bad id", GOOD.replace(r#""id": "ok""#, r#""id": "../etc""#), "$.id"),
        ("oversized document", format!(r#"{{"id": "x", "description": "{}", "tasks": []}}"#, "x".repeat(300 * 1024)), "more than the limit"),
        ("JSON nesting bomb", format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)), "$"),
        ("valid_until before valid_from", GOOD.replace(r#""tasks""#, r#""valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z", "tasks""#), "$.valid_until"),
    ]
}

#[test]
fn bad_documents_get_clear_errors_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let w = World::new();
    let mut c = cfg();
    c.limits.min_interval_seconds = 60;
    let mut e = dmsched::Engine::open(Store::open(&path).unwrap(), w.host(), c).unwrap();
    let now = ts("2026-01-01T00:00:00Z");
    e.submit("srv", GOOD, now).unwrap();
    let before = e.list_all().unwrap();
    let dump = |p: &std::path::Path| {
        let s = Store::open_read_only(p).unwrap().snapshot().unwrap();
        (
            s.schedules
                .iter()
                .map(|s| {
                    (
                        s.owner.clone(),
                        s.id.clone(),
                        s.doc.clone(),
                        s.state.clone(),
                    )
                })
                .collect::<Vec<_>>(),
            s.tasks.iter().map(|t| t.state.clone()).collect::<Vec<_>>(),
        )
    };
    let stored = dump(&path);
    for (name, json, expect) in bad_documents() {
        let err = e.submit("srv", &json, now).expect_err(name);
        let problems = problems_of(err);
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "{name}: expected {expect:?} in {problems:?}"
        );
        // A modification with the same bad document is refused too.
        assert!(e.modify("srv", "srv", &json, now).is_err(), "{name}");
    }
    assert_eq!(e.list_all().unwrap(), before);
    assert_eq!(dump(&path), stored);
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let json = r#"{"id": "x", "tasks": [
        {"id": "a", "trigger": {"every": {"seconds": 1}}, "actions": [{"op": "Get", "target": "bad"}]},
        {"id": "a", "trigger": {"becomes_true": "1 <"}, "actions": []}
    ]}"#;
    let problems = dmsched::engine::check_document(
        json,
        &dmsched::model::Limits::default(),
        ts("2026-01-01T00:00:00Z"),
    )
    .unwrap_err();
    let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
    for want in [
        "$.tasks[0].trigger.every.seconds",
        "$.tasks[0].actions[0].target",
        "$.tasks[1].id",
        "$.tasks[1].actions",
        "$.tasks[1].trigger.becomes_true",
    ] {
        assert!(paths.contains(&want), "{want} missing from {paths:?}");
    }
}

#[test]
fn quota_per_owner_is_enforced() {
    let w = World::new();
    let mut c = cfg();
    c.limits.max_schedules_per_owner = 2;
    let mut e = dmsched::Engine::open(Store::open_in_memory().unwrap(), w.host(), c).unwrap();
    let now = ts("2026-01-01T00:00:00Z");
    for id in ["a", "b"] {
        e.submit(
            "srv",
            &GOOD.replace(r#""id": "ok""#, &format!(r#""id": "{id}""#)),
            now,
        )
        .unwrap();
    }
    assert!(matches!(
        e.submit("srv", GOOD, now),
        Err(EngineError::LimitExceeded(_))
    ));
    e.submit("other", GOOD, now).unwrap();
}

#[test]
fn an_empty_owner_is_an_argument_error_not_a_schedule_problem() {
    let w = World::new();
    let mut e = engine(&w);
    assert!(matches!(
        e.submit("", GOOD, ts("2026-01-01T00:00:00Z")),
        Err(EngineError::InvalidArgument(_))
    ));
    assert!(e.list_all().unwrap().is_empty());
}

/// Issue 14 item 7: a 10 MB owner id was stored; an owner is a server id:
/// at most 256 bytes, no control characters.
#[test]
fn oversized_or_control_owner_ids_are_refused() {
    let w = World::new();
    let mut e = dmsched::Engine::open(Store::open_in_memory().unwrap(), w.host(), cfg()).unwrap();
    let now = ts("2026-01-01T00:00:00Z");
    for owner in [
        "x".repeat(10 * 1024 * 1024),
        "x".repeat(257),
        "srv\n2".to_string(),
    ] {
        let err = e.submit(&owner, GOOD, now).unwrap_err();
        assert!(
            matches!(err, dmsched::EngineError::InvalidArgument(_)),
            "{err}"
        );
    }
    e.submit(&"s".repeat(256), GOOD, now).unwrap();
    assert_eq!(e.list_all().unwrap().len(), 1);
}

/// Issue 14 item 7: host settings must be a JSON object; `[]` was read as
/// the defaults.
#[test]
fn engine_settings_json_must_be_an_object() {
    for bad in [
        "[]",
        "null",
        "3",
        "\"x\"",
        "{\"misfire_grace_seconds\": \"x\"}",
    ] {
        assert!(dmsched::EngineConfig::from_json(bad).is_err(), "{bad}");
    }
    let c = dmsched::EngineConfig::from_json(r#"{"misfire_grace_seconds": 5}"#).unwrap();
    assert_eq!(c.misfire_grace_seconds, 5);
}
