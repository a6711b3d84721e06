//! Issue 17: warnings for what a schedule may say but almost surely does
//! not mean (conditions that can never be true, events nobody posts), and
//! one event catalogue shared by the validator and the platform glue.

use dmsched::engine::{check_document, lint_document};
use dmsched::model::Limits;
use dmsched::model::events::EVENTS;

fn warnings(doc: &str) -> Vec<String> {
    let s = check_document(
        doc,
        &Limits::default(),
        "2026-01-01T00:00:00Z".parse().unwrap(),
    )
    .expect("valid: warnings never refuse a document");
    lint_document(&s).iter().map(ToString::to_string).collect()
}

fn task(trigger: &str, extra: &str) -> String {
    format!(
        r#"{{"id": "s", "tasks": [{{"id": "t", "trigger": {trigger}, "actions": [{{"op": "Get", "target": "./A"}}]{extra}}}]}}"#
    )
}

#[test]
fn conditions_that_can_never_be_true_are_warned_about() {
    let cases = [
        (
            r#", "constraints": {"require": "\"x\" < 3"}"#,
            "can never be true: cannot compare string",
        ),
        (
            r#", "constraints": {"require": "1 < 2 && ./A > 1"}"#,
            "compares two constants: always true",
        ),
        (
            r#", "constraints": {"require": "./Charging >= false"}"#,
            "a boolean cannot be ordered",
        ),
        (
            r#", "constraints": {"require": "./Level < \"20\""}"#,
            "write 20 without quotes",
        ),
        (
            r#", "termination": {"when": "./A == 1 || 3 == \"3\""}"#,
            "can never be true",
        ),
    ];
    for (extra, want) in cases {
        let w = warnings(&task(r#"{"at": "2026-02-01T00:00:00Z"}"#, extra));
        assert!(
            w.iter().any(|w| w.contains(want)),
            "{extra}: expected {want:?} in {w:?}"
        );
    }
    // Ordinary conditions: no warning.
    for extra in [
        r#", "constraints": {"require": "./Level >= 20 && ./Charging == true"}"#,
        r#", "constraints": {"require": "./Name == \"abc\" || ./Name < \"b\""}"#,
    ] {
        let w = warnings(&task(r#"{"at": "2026-02-01T00:00:00Z"}"#, extra));
        assert!(w.is_empty(), "{extra}: {w:?}");
    }
}

#[test]
fn unknown_event_names_and_fields_are_warned_about_with_suggestions() {
    let w = warnings(&task(r#"{"event": {"name": "netwrok"}}"#, ""));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].starts_with("$.tasks[0].trigger.event.name: "), "{w:?}");
    assert!(w[0].contains(r#"(did you mean "network"?)"#), "{w:?}");
    let w = warnings(&task(
        r#"{"event": {"name": "network", "filter": "event.typ == 'wifi'"}}"#,
        r#", "termination": {"on_event": {"name": "charger", "filter": "event.plugged == true"}}"#,
    ));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("did you mean event.type?"), "{w:?}");
    // Every catalogued event with its own fields: silent.
    for e in EVENTS {
        let filter = e
            .fields
            .iter()
            .map(|f| format!("exists(./X) || event.{f} == 1"))
            .collect::<Vec<_>>()
            .join(" || ");
        let trigger = if filter.is_empty() {
            format!(r#"{{"event": {{"name": "{}"}}}}"#, e.name)
        } else {
            format!(
                r#"{{"event": {{"name": "{}", "filter": "{filter}"}}}}"#,
                e.name
            )
        };
        assert!(warnings(&task(&trigger, "")).is_empty(), "{}", e.name);
    }
}

/// The Android facade posts exactly the catalogue: every `EngineEvent`
/// it builds names a catalogued event with catalogued fields, and every
/// catalogued event is posted.
#[test]
fn the_android_glue_posts_exactly_the_event_catalogue() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../android/dmsched/src/main/kotlin/org/dmsched/android/core/PlatformEvent.kt"
    ))
    .unwrap();
    let body = src
        .split("fun engineEvent(")
        .nth(1)
        .expect("PlatformEvent.engineEvent")
        .split("\n    }\n")
        .next()
        .unwrap();
    let mut posted = Vec::new();
    for call in body.split("EngineEvent(").skip(1) {
        let Some(name) = call
            .trim_start()
            .strip_prefix('"')
            .and_then(|c| c.split('"').next())
        else {
            continue; // EngineEvent(event.name, …): a host's own event
        };
        // Each field is the string right before a ` to ` (up to the next
        // EngineEvent).
        let pieces: Vec<&str> = call.split(" to ").collect();
        let fields: Vec<&str> = pieces[..pieces.len() - 1]
            .iter()
            .filter_map(|s| s.rsplit('"').nth(1))
            .collect();
        let kind = dmsched::model::events::event_kind(name)
            .unwrap_or_else(|| panic!("{name} is posted but not in the catalogue"));
        for f in &fields {
            assert!(
                kind.fields.contains(f),
                "{name}.{f} is posted but not catalogued"
            );
        }
        assert_eq!(fields.len(), kind.fields.len(), "{name}: posted {fields:?}");
        posted.push(name.to_string());
    }
    for e in EVENTS {
        assert!(
            posted.iter().any(|p| p == e.name),
            "{} is catalogued but never posted",
            e.name
        );
    }
}

/// The iOS kit posts catalogued events with catalogued fields too.
#[test]
fn the_ios_kit_posts_only_catalogued_events_and_fields() {
    let src = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ios/Sources/DmschedKit/DeviceEvents.swift"
    ))
    .unwrap();
    let mut names = Vec::new();
    for call in src.split("postEvent(name: \"").skip(1) {
        let name = call.split('"').next().unwrap();
        assert!(
            dmsched::model::events::event_kind(name).is_some(),
            "{name} is posted but not in the catalogue"
        );
        names.push(name);
    }
    assert!(
        names.contains(&"network") && names.contains(&"charger"),
        "{names:?}"
    );
    let fields_of = |name: &str| dmsched::model::events::event_kind(name).unwrap().fields;
    // The fields the kit builds: `fields["k"] =` and `["k": …]`.
    let mut keys = Vec::new();
    for piece in src.split("fields[\"").skip(1) {
        keys.push(piece.split('"').next().unwrap());
    }
    for piece in src.split("[String: Any] = [\"").skip(1) {
        keys.push(piece.split('"').next().unwrap());
    }
    assert!(keys.len() >= 5, "{keys:?}");
    for k in keys {
        assert!(
            names.iter().any(|n| fields_of(n).contains(&k)),
            "field {k} is posted but not catalogued"
        );
    }
}
