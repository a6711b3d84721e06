//! Report identity (issue 14; 6.1.2.1, 6.1.3.2, 6.1.3.3, 6.3.1.2.9, 6.3.4.1.10): every
//! report the Scheduling MO hands the DM client — results, state reports
//! made by a command or by the schedule itself, the eviction report —
//! begins its Data with `<ReportID>` (stable, unique per device) and
//! `<Created>` (RFC 3339, UTC). The tests read them from the Data, as a
//! server does.

mod mo_support;

use std::collections::BTreeSet;

use dmsched::host::PromptAnswer;
use dmsched::mo::MoReport;
use dmsched::tree::{Format, Payload};
use mo_support::*;

/// `(ReportID, Created)` opening a report's Data; panics naming the Data
/// when they are missing.
fn identity(data: &str) -> (String, String) {
    let field = |tag: &str| {
        let open = format!("<{tag}>");
        let start = data
            .find(&open)
            .unwrap_or_else(|| panic!("no {open} in {data}"))
            + open.len();
        let end = start + data[start..].find(&format!("</{tag}>")).unwrap();
        data[start..end].to_string()
    };
    let (id, created) = (field("ReportID"), field("Created"));
    let head = format!("<ReportID>{id}</ReportID><Created>{created}</Created>");
    assert!(
        data.starts_with(&format!("<State>{head}")) || data.starts_with(&format!("<Result>{head}")),
        "the identity opens the Data: {data}"
    );
    assert!(
        id.len() == 32 && id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "{id}"
    );
    assert!(
        created.parse::<jiff::Timestamp>().is_ok() && created.ends_with('Z'),
        "RFC 3339 UTC: {created}"
    );
    (id, created)
}

/// The reports waiting for [`SRV`].
fn pending(d: &Device) -> Vec<MoReport> {
    d.mo.reports(SRV, 10).unwrap()
}

fn iso(s: i64) -> String {
    ts(s).to_string()
}

fn json(doc: &str) -> Payload {
    Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(doc)
    }
}

const EVERY_MINUTE: &str = r#"{"tasks": [{"id": "T", "trigger": {"every": {"seconds": 60, "anchor": "2026-12-01T12:00:00Z"}},
    "actions": [{"op": "Get", "target": "./DevInfo/Man"}], "policy": {"report": "always"}}]}"#;

/// 6.1.3.3: a deferred report (the user postponed the run) and the final report of
/// the same occurrence share `<Seq>` but not their identifier; each has
/// its own creation time.
#[test]
fn a_deferred_and_the_final_report_of_one_occurrence_differ_in_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), true);
    let extra = vec![
        ("/UI", Payload::interior()),
        ("/UI/Mode", Payload::leaf(Format::Int, "3")),
        ("/UI/Text", Payload::chr("Eco mode now?")),
        ("/Report", Payload::interior()),
        ("/Report/Gating", Payload::leaf(Format::Int, "31")),
    ];
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("P", "2026-12-01T12:30:00Z", "eco", &extra),
    );
    c.unwrap().unwrap();
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Postpone(300));
    assert_eq!(d.tick(T0 + 1800), 0, "postponed");
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Accept);
    assert_eq!(d.tick(T0 + 2100), 1, "runs when asked again");
    let r = pending(&d);
    assert_eq!(r.len(), 2, "{r:?}");
    assert!(
        r[0].data.contains("<Outcome>deferred</Outcome>"),
        "{}",
        r[0].data
    );
    assert!(
        r[1].data.contains("<Outcome>ran</Outcome>"),
        "{}",
        r[1].data
    );
    let seq = |m: &MoReport| {
        m.data
            .split("<Seq>")
            .nth(1)
            .unwrap()
            .split('<')
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(seq(&r[0]), seq(&r[1]), "one occurrence");
    let (deferred, final_) = (identity(&r[0].data), identity(&r[1].data));
    assert_ne!(deferred.0, final_.0, "a deferred and a final report differ");
    assert_eq!(deferred.1, iso(T0 + 1800));
    assert_eq!(final_.1, iso(T0 + 2100));
}

/// 6.1.3.3, 6.1.7.3: ids differ between reports; a restart (every object reopened on the
/// same file) keeps each report's id and creation time; a store deleted
/// and created again numbers its outbox from 1 again, yet its reports get
/// ids no earlier report had.
#[test]
fn report_ids_differ_survive_a_restart_and_are_new_after_the_store_is_recreated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    let run = || {
        let d = Device::new(dir.path(), false);
        assert_eq!(d.add(SRV, &format!("{ROOT}/R"), json(EVERY_MINUTE)), 200);
        for i in 0..3 {
            assert_eq!(d.tick(T0 + 60 * i), 1);
        }
        let r: Vec<MoReport> = pending(&d);
        assert_eq!(r.len(), 3, "{r:?}");
        r
    };
    let before = run();
    let ids: Vec<(String, String)> = before.iter().map(|r| identity(&r.data)).collect();
    let created: Vec<&str> = ids.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(created, [iso(T0), iso(T0 + 60), iso(T0 + 120)]);
    let distinct: BTreeSet<&String> = ids.iter().map(|(i, _)| i).collect();
    assert_eq!(distinct.len(), 3, "{ids:?}");

    // Restart: the same reports, byte for byte.
    let d = Device::open(&db, T0 + 130, false, None);
    let after: Vec<String> = pending(&d).into_iter().map(|r| r.data).collect();
    let before_data: Vec<String> = before.iter().map(|r| r.data.clone()).collect();
    assert_eq!(after, before_data);
    drop(d);

    // The store deleted and created again: the outbox ids repeat, the
    // report ids do not.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("dmsched.db{suffix}")));
    }
    let again = run();
    assert_eq!(
        again.iter().map(|r| r.id).collect::<Vec<_>>(),
        before.iter().map(|r| r.id).collect::<Vec<_>>(),
        "a new store numbers its outbox anew"
    );
    for r in &again {
        let (id, _) = identity(&r.data);
        assert!(
            !distinct.contains(&id),
            "{id} was used by the deleted store"
        );
    }
}

/// 6.1.3.2, 6.3.1.2.9: state reports carry an id and a creation time: made by a command
/// (installed, suspended), by the schedule itself (completed, kept in the
/// MO's queue: the same id after a restart), and the eviction report
/// (the same id while it is owed, a new one for the next eviction).
#[test]
fn state_reports_have_ids_and_creation_times() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    let cfg = dmsched::engine::EngineConfig {
        device_id: "IMEI:1".into(),
        outbox_capacity: 2,
        ..dmsched::engine::EngineConfig::default()
    };
    let mut seen = BTreeSet::new();
    let completed = {
        let d = Device::open_with(&db, T0, false, None, cfg.clone());
        let once = r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T12:10:00Z"},
            "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
        assert_eq!(d.add(SRV, &format!("{ROOT}/Once"), json(once)), 200);
        d.now.store(T0 + 30, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(d.exec(SRV, &format!("{ROOT}/Once/Operations/Suspend")), 200);
        assert_eq!(
            d.exec(SRV, &format!("{ROOT}/Once/Operations/Activate")),
            200
        );
        assert_eq!(d.state_events(), ["installed", "suspended", "activated"]);
        let made: Vec<(String, String)> = d
            .states
            .lock()
            .unwrap()
            .iter()
            .map(|r| identity(&r.data))
            .collect();
        assert_eq!(made[0].1, iso(T0));
        assert_eq!(made[1].1, iso(T0 + 30));
        seen.extend(made.into_iter().map(|(id, _)| id));
        assert_eq!(seen.len(), 3, "every state report its own id");
        assert_eq!(d.tick(T0 + 600), 1);
        let ends: Vec<MoReport> = pending(&d)
            .into_iter()
            .filter(|r| r.stored.is_some())
            .collect();
        assert_eq!(ends.len(), 1);
        assert!(
            ends[0].data.contains("<Event>completed</Event>"),
            "{}",
            ends[0].data
        );
        let (id, created) = identity(&ends[0].data);
        assert_eq!(created, iso(T0 + 600));
        assert!(seen.insert(id.clone()));
        (id, created)
    };
    // Restarted: the automatic end keeps its identity.
    let d = Device::open_with(&db, T0 + 900, false, None, cfg);
    let ends: Vec<MoReport> = pending(&d)
        .into_iter()
        .filter(|r| r.stored.is_some())
        .collect();
    assert_eq!(identity(&ends[0].data), completed);

    // Evictions: the report telling them keeps its id while it is owed
    // (its Count grows), and the next one after its acknowledgement is new.
    let owed: Vec<i64> = pending(&d).iter().filter_map(|r| r.id).collect();
    d.mo.ack_reports(SRV, &owed).unwrap();
    assert_eq!(d.add(SRV, &format!("{ROOT}/R"), json(EVERY_MINUTE)), 200);
    let eviction = |d: &Device| {
        let r = pending(d);
        let e: Vec<&MoReport> = r.iter().filter(|x| x.evicted > 0).collect();
        assert_eq!(e.len(), 1, "{r:?}");
        (e[0].evicted, identity(&e[0].data))
    };
    for i in 0..3 {
        assert_eq!(d.tick(T0 + 900 + 60 * i), 1);
    }
    let (n1, first) = eviction(&d);
    assert_eq!(n1, 1);
    assert_eq!(first.1, iso(T0 + 1020), "when the first eviction happened");
    assert_eq!(d.tick(T0 + 1080), 1);
    let (n2, again) = eviction(&d);
    assert_eq!((n2, &again), (2, &first), "the same report, a larger Count");
    assert!(seen.insert(first.0.clone()));
    d.mo.ack_evicted(SRV).unwrap();
    assert_eq!(d.tick(T0 + 1140), 1);
    let (n3, next) = eviction(&d);
    assert_eq!(n3, 1);
    assert_eq!(next.1, iso(T0 + 1140));
    assert!(seen.insert(next.0), "a new eviction report, a new id");
}
