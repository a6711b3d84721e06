//! Issue 17: `dmsched next` — each task's trigger as the engine reads it
//! and its next instants, local and UTC, DST adjustments named; the same
//! instants the engine runs.

mod common;

use common::*;
use dmsched::engine::preview;
use dmsched::model::Limits;

/// The preview of `doc` accepted at, and from, `from`; UTC device zone.
fn preview_at(
    doc: &str,
    from: jiff::Timestamp,
    n: usize,
) -> Result<Vec<dmsched::engine::TaskPreview>, Vec<dmsched::model::Problem>> {
    preview(
        doc,
        &Limits::default(),
        from,
        from,
        None,
        n,
        &jiff::tz::TimeZone::UTC,
    )
}

fn nightly(rule: &str, policy: &str) -> String {
    format!(
        r#"{{"id": "n", "tz": "America/New_York", "tasks": [{{"id": "t",
            "trigger": {{"calendar": {{"rrule": "{rule}", "dtstart": "2026-01-01T00:00:00"}}}},
            "actions": [{{"op": "Get", "target": "./A"}}]{policy}}}]}}"#
    )
}

#[test]
fn a_gap_shift_and_an_overlap_are_named() {
    let from = ts("2026-03-07T00:00:00Z");
    let p = preview_at(&nightly("freq=daily;byhour=2;byminute=30", ""), from, 3).unwrap();
    let t = &p[0];
    assert_eq!(
        t.rule,
        "RRULE:FREQ=DAILY;BYHOUR=2;BYMINUTE=30 from 2026-01-01T00:00:00 in America/New_York (the schedule's zone)"
    );
    let local: Vec<&str> = t.next.iter().map(|i| i.local.as_str()).collect();
    assert_eq!(
        local,
        [
            "2026-03-07T02:30:00-05:00",
            "2026-03-08T03:30:00-04:00",
            "2026-03-09T02:30:00-04:00"
        ]
    );
    assert_eq!(t.next[0].dst, None);
    assert_eq!(
        t.next[1].dst.as_deref(),
        Some("02:30 does not exist on 2026-03-08 (clocks go forward): runs at 03:30")
    );
    // Clocks go back on 2026-11-01: 01:30 happens twice.
    let from = ts("2026-11-01T00:00:00Z");
    for (policy, want) in [
        ("", vec!["first"]),
        (
            r#", "policy": {"dst": {"overlap": "both"}}"#,
            vec!["first", "second"],
        ),
    ] {
        let p = preview_at(&nightly("FREQ=DAILY;BYHOUR=1;BYMINUTE=30", policy), from, 4).unwrap();
        let notes: Vec<&str> = p[0].next.iter().filter_map(|i| i.dst.as_deref()).collect();
        assert_eq!(notes.len(), want.len(), "{policy}: {notes:?}");
        for (n, w) in notes.iter().zip(want) {
            assert!(
                n.starts_with("01:30 happens twice on 2026-11-01 (clocks go back)"),
                "{n}"
            );
            assert!(n.ends_with(&format!("this is the {w}")), "{n}");
        }
    }
}

/// The preview lists the instants the engine itself falls due at.
#[test]
fn the_preview_matches_the_engines_due_times() {
    let w = World::new();
    let mut e = engine(&w);
    let from = ts("2026-03-01T00:00:00Z");
    let doc = r#"{"id": "mix", "tz": "Europe/Berlin", "valid_until": "2026-04-20T00:00:00Z", "tasks": [
        {"id": "weekly", "trigger": {"calendar": {"rrule": "FREQ=WEEKLY;BYDAY=SU;BYHOUR=2;BYMINUTE=30"}}, "actions": [{"op": "Get", "target": "./A"}]},
        {"id": "every", "trigger": {"every": {"seconds": 432000, "anchor": "2026-03-01T06:00:00Z"}}, "actions": [{"op": "Get", "target": "./A"}]}]}"#;
    let p = preview_at(doc, from, 50).unwrap();
    e.submit("srv", doc, from).unwrap();
    let runs = run_until(&mut e, ts("2026-05-01T00:00:00Z"));
    for t in &p {
        let want: Vec<String> = t.next.iter().map(|i| i.at.to_string()).collect();
        let got: Vec<String> = runs
            .iter()
            .filter(|f| f.task == t.task)
            .map(|f| f.due.to_string())
            .collect();
        assert_eq!(got, want, "{}", t.task);
        assert!(!want.is_empty());
        assert!(
            t.notes.iter().any(|n| n.contains("2026-04-20T00:00:00Z")),
            "{:?}",
            t.notes
        );
    }
    // The spring-forward Sunday: 02:30 Berlin does not exist.
    let weekly = &p[0];
    assert!(
        weekly
            .next
            .iter()
            .any(|i| i.dst.as_deref().is_some_and(|d| d.contains("2026-03-29")))
    );
}

#[test]
fn a_document_with_problems_gets_them_all() {
    let from = ts("2026-03-01T00:00:00Z");
    let err = preview_at(r#"{"id": "x", "tasks": [{"id": "t", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=25;BYMINUT=3"}}, "actions": []}]}"#, from, 3)
    .unwrap_err();
    assert!(err.len() >= 2, "{err:?}");
}
