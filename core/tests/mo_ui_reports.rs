//! The Scheduling MO's user interaction (`UI/Mode`), report gating
//! (`Report/Gating`) and OR-ed triggers mapped back to their MO task.

mod mo_support;

use std::collections::BTreeMap;

use dmsched::engine::Event;
use dmsched::host::PromptAnswer;
use dmsched::tree::{Format, Payload};
use mo_support::*;

fn ui(mode: &str) -> Vec<(&'static str, Payload)> {
    vec![
        ("/UI", Payload::interior()),
        ("/UI/Mode", Payload::leaf(Format::Int, mode)),
        ("/UI/Text", Payload::chr("Switch to eco mode every day?")),
    ]
}

/// 6.3.1.7, 6.3.1.8, 6.3.1.2.9: UI/Mode 2 asks the user when the install
/// is applied; a refusal installs nothing and is reported as a state
/// report "rejected by the user"; acceptance installs.
#[test]
fn ui_mode_2_asks_before_install_and_a_refusal_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), true);
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Refuse);
    let (_, commit) = d.atomic_adds(
        SRV,
        &schedule_adds("S1", "2026-12-01T12:30:00Z", "eco", &ui("2")),
    );
    commit.unwrap().unwrap();
    assert_eq!(
        d.prompt.asked.lock().unwrap().as_slice(),
        [(
            "S1".to_string(),
            "Switch to eco mode every day?".to_string()
        )]
    );
    assert_eq!(d.state_events(), ["rejected"]);
    assert!(
        d.states.lock().unwrap()[0]
            .data
            .contains("rejected by the user")
    );
    assert!(d.engine_ids().is_empty());
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1")), Err(404));

    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Accept);
    let (_, commit) = d.atomic_adds(
        SRV,
        &schedule_adds("S1", "2026-12-01T12:30:00Z", "eco", &ui("2")),
    );
    commit.unwrap().unwrap();
    assert_eq!(d.state_events(), ["rejected", "installed"]);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "20");
    // Mode 2 asks once, at install: the runs are not confirmed.
    assert_eq!(d.tick(T0 + 1800), 1);
    assert_eq!(d.prompt.asked.lock().unwrap().len(), 2);
}

/// A postponed install stays staged (State 10): the server may Activate
/// it again later.
#[test]
fn ui_mode_2_postponed_install_stays_staged() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), true);
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Postpone(600));
    let (_, commit) = d.atomic_adds(
        SRV,
        &schedule_adds("S1", "2026-12-01T12:30:00Z", "eco", &ui("2")),
    );
    commit.unwrap().unwrap();
    assert_eq!(d.state_events(), ["postponed"]);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "10");
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Accept);
    assert_eq!(d.exec(SRV, &format!("{ROOT}/S1/Operations/Activate")), 200);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "20");
}

/// 6.3.1.7: UI/Mode 3 confirms each run through the host prompt; UI/Mode
/// 1 (inform) and 0 (silent) never ask.
#[test]
fn ui_mode_3_confirms_each_run_and_modes_0_and_1_never_ask() {
    // UI/Mode 1 informs the user once the schedule is installed.
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), true);
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("S3", "2026-12-01T12:30:00Z", "eco", &ui("3")),
    );
    c.unwrap().unwrap();
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("S1", "2026-12-01T12:40:00Z", "one", &ui("1")),
    );
    c.unwrap().unwrap();
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("S0", "2026-12-01T12:50:00Z", "zero", &ui("0")),
    );
    c.unwrap().unwrap();
    assert!(
        d.prompt.asked.lock().unwrap().is_empty(),
        "no install confirmation"
    );
    assert_eq!(
        *d.prompt.informed.lock().unwrap(),
        [(
            "S1".to_string(),
            "Switch to eco mode every day?".to_string()
        )],
        "mode 1 informs (with UI/Text), modes 0 and 3 do not"
    );
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Refuse);
    assert_eq!(d.tick(T0 + 1800), 1);
    assert_eq!(
        d.prompt.asked.lock().unwrap().len(),
        1,
        "asked before the run"
    );
    assert_eq!(
        d.get(SRV, "./Vendor/Mode").unwrap(),
        "off",
        "refused: not run"
    );
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S3/Tasks/T1/LastOutcome"))
            .unwrap(),
        "skipped"
    );
    assert_eq!(d.tick(T0 + 3600), 2);
    assert_eq!(d.prompt.asked.lock().unwrap().len(), 1);
    assert_eq!(d.get(SRV, "./Vendor/Mode").unwrap(), "zero");
}

/// 6.3.1.2.9: Report/Gating chooses which outcomes are reported (bit 0
/// success, bit 1 error, bit 2 user cancel) and whether state changes are
/// (bit 4).
#[test]
fn report_gating_filters_results_and_state_reports() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), true);
    let gating = |g: &str| {
        let mut v = ui("3");
        v.push(("/Report", Payload::interior()));
        v.push(("/Report/Gating", Payload::leaf(Format::Int, g)));
        v
    };
    // Errors only, no state changes: the install is not reported, a
    // success is not, a user cancel is not.
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("E", "2026-12-01T12:30:00Z", "eco", &gating("2")),
    );
    c.unwrap().unwrap();
    // Success and user cancel and state changes.
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("A", "2026-12-01T12:30:00Z", "eco", &gating("21")),
    );
    c.unwrap().unwrap();
    assert_eq!(
        d.state_events(),
        ["installed"],
        "only A reports its install"
    );
    assert!(d.states.lock().unwrap()[0].source.ends_with("/A"));
    assert_eq!(d.tick(T0 + 1800), 2);
    let r = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].source, format!("{ROOT}/A/Tasks/T1"));
    assert!(r[0].data.contains("<Outcome>ran</Outcome>"));
    d.mo.ack_reports(SRV, &[r[0].id.unwrap()]).unwrap();
    // The next day the user refuses both runs: A reports the cancel, E
    // does not (bit 2 unset).
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Refuse);
    assert_eq!(d.tick(T0 + 1800 + 86_400), 2);
    let r = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert!(r[0].data.contains("refused by the user"));
    assert!(r[0].source.contains("/A/"));
    d.mo.ack_reports(SRV, &[r[0].id.unwrap()]).unwrap();
    assert!(
        d.mo.reports(SRV, 10).unwrap().is_empty(),
        "filtered reports are gone"
    );
}

/// 6.1.7.5: several triggers of one MO task are OR-ed (one engine task
/// each); diagnostics and reports are those of the MO task.
#[test]
fn several_triggers_are_ored_and_report_under_their_mo_task() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    assert_eq!(
        d.add(SRV, "./Vendor/Level", Payload::leaf(Format::Int, "1")),
        200
    );
    let base = format!("{ROOT}/S/Tasks/T/Triggers");
    let adds = vec![
        (format!("{ROOT}/S"), Payload::interior()),
        (
            format!("{ROOT}/S/Tasks/T/Cmds"),
            Payload::leaf(Format::Xml, cmds("eco")),
        ),
        (
            format!("{ROOT}/S/Tasks/T/Policy"),
            Payload::chr("{\"report\": \"always\"}").with_mime("application/json"),
        ),
        (format!("{base}/boot/Event/ID"), Payload::chr("boot")),
        (
            format!("{base}/level/TreeValue/URI"),
            Payload::chr("./Vendor/Level"),
        ),
        (format!("{base}/level/TreeValue/Op"), Payload::chr("ge")),
        (format!("{base}/level/TreeValue/Value"), Payload::chr("5")),
        (
            format!("{base}/level/TreeValue/Interval"),
            Payload::leaf(Format::Int, "60"),
        ),
    ];
    let (codes, c) = d.atomic_adds(SRV, &adds);
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    c.unwrap().unwrap();
    let mut ids: Vec<String> =
        d.mo.engine()
            .get(SRV, SRV, "S")
            .unwrap()
            .tasks
            .into_iter()
            .map(|t| t.id)
            .collect();
    ids.sort();
    assert_eq!(ids, ["T.boot", "T.level"]);
    let boot = Event {
        name: "boot".into(),
        fields: BTreeMap::new(),
    };
    assert_eq!(d.mo.engine().on_event(&boot, ts(T0 + 10)).unwrap().len(), 1);
    d.mo.refresh().unwrap();
    assert_eq!(d.get(SRV, &format!("{ROOT}/S/Tasks/T/Runs")).unwrap(), "1");
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S/Tasks/T/LastResult")).unwrap(),
        "200"
    );
    assert_eq!(
        d.get(
            SRV,
            &format!("{ROOT}/S/Tasks/T/Triggers/level/TreeValue/Op")
        )
        .unwrap(),
        "ge"
    );
    let r = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].source, format!("{ROOT}/S/Tasks/T"));
    assert!(
        r[0].data.contains("<Task>T</Task><Trigger>boot</Trigger>"),
        "{}",
        r[0].data
    );
}

/// 6.3.4.1.10, 6.1.7.4: the report queue is bounded; when it is full the
/// oldest reports are evicted and the owner is told how many, in a report
/// of its own (first, Mark warning) that stays until it is acknowledged.
#[test]
fn a_full_report_queue_evicts_the_oldest_and_reports_the_eviction() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dmsched::engine::EngineConfig {
        device_id: "IMEI:1".into(),
        outbox_capacity: 3,
        ..dmsched::engine::EngineConfig::default()
    };
    let d = Device::open_with(&dir.path().join("dmsched.db"), T0, false, None, cfg);
    let doc = r#"{"id": "R", "tasks": [{"id": "T", "trigger": {"every": {"seconds": 60, "anchor": "2026-12-01T12:00:00Z"}},
        "actions": [{"op": "Get", "target": "./DevInfo/Man"}], "policy": {"report": "always"}}]}"#;
    let p = Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(doc)
    };
    assert_eq!(d.add(SRV, &format!("{ROOT}/R"), p), 200);
    for i in 0..5 {
        assert_eq!(d.tick(T0 + 60 * i), 1);
    }
    let r = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(r.len(), 4, "the eviction report and the 3 newest: {r:?}");
    assert_eq!(r[0].evicted, 2);
    assert_eq!(r[0].mark, "warning");
    assert_eq!(r[0].source, ROOT);
    assert!(
        r[0].data
            .contains("<Event>reports-evicted</Event><Count>2</Count>")
    );
    // Issue 18 (B10): it names what was dropped, with the report ids.
    assert!(
        r[0].data.contains("<Dropped>R/T#0 ran, report ")
            && r[0].data.contains("<Dropped>R/T#1 ran, report "),
        "{}",
        r[0].data
    );
    assert!(
        r[1].data.contains("<Seq>2</Seq>"),
        "the oldest two went: {}",
        r[1].data
    );
    // The results acknowledged, the eviction report is still owed.
    let ids: Vec<i64> = r.iter().filter_map(|x| x.id).collect();
    assert_eq!(d.mo.ack_reports(SRV, &ids).unwrap(), 3);
    let r = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].evicted, 2);
    d.mo.ack_evicted(SRV).unwrap();
    assert!(d.mo.reports(SRV, 10).unwrap().is_empty());
    // Another server's queue is its own.
    assert!(d.mo.reports(OTHER, 10).unwrap().is_empty());
}

/// 6.1.7.2, 6.3.4.1.10: a schedule that ends by itself — its last run
/// done (completed) or its validity over (expired) — is reported to its
/// owner once, also when the device restarted in between; the report
/// stays until acknowledged.
#[test]
fn automatic_ends_are_reported_once_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let json = |doc: &str| Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(doc)
    };
    let db = dir.path().join("dmsched.db");
    {
        let d = Device::new(dir.path(), false);
        let once = r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T12:10:00Z"},
            "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
        let until = r#"{"valid_until": "2026-12-01T13:00:00Z", "tasks": [{"id": "T",
            "trigger": {"event": {"name": "never"}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
        assert_eq!(d.add(SRV, &format!("{ROOT}/Once"), json(once)), 200);
        assert_eq!(d.add(SRV, &format!("{ROOT}/Until"), json(until)), 200);
        assert_eq!(d.tick(T0 + 60), 0);
        assert!(d.mo.reports(SRV, 10).unwrap().is_empty());
    }
    // Restarted after both ended.
    let d = Device::open(&db, T0 + 7200, false, None);
    assert_eq!(d.tick(T0 + 7200), 1, "the one-off runs (misfire once)");
    let ends: Vec<(String, Option<i64>)> =
        d.mo.reports(SRV, 10)
            .unwrap()
            .into_iter()
            .filter(|r| r.type_ == "org.dmsched.scheduling.state")
            .map(|r| (r.data, r.stored))
            .collect();
    assert_eq!(ends.len(), 2, "{ends:?}");
    assert!(
        ends.iter()
            .any(|(d, _)| d.contains("<Schedule>Once</Schedule><Event>completed</Event>"))
    );
    assert!(
        ends.iter()
            .any(|(d, _)| d.contains("<Schedule>Until</Schedule><Event>expired</Event>"))
    );
    // Not again on the next refresh, nor after another restart.
    d.tick(T0 + 7300);
    drop(d);
    let d = Device::open(&db, T0 + 7400, false, None);
    d.tick(T0 + 7400);
    let again: Vec<_> =
        d.mo.reports(SRV, 10)
            .unwrap()
            .into_iter()
            .filter_map(|r| r.stored)
            .collect();
    assert_eq!(again.len(), 2, "still owed, not duplicated");
    assert_eq!(d.mo.ack_stored(SRV, &again).unwrap(), 2);
    assert_eq!(d.mo.ack_stored(OTHER, &again).unwrap(), 0);
    assert!(
        d.mo.reports(SRV, 10)
            .unwrap()
            .iter()
            .all(|r| r.stored.is_none())
    );
}

/// 6.3.1.20, 6.3.4.1.10: with `Report/Gating` bit 3 only, a run the user
/// postpones (UI/Mode 3) is reported — Mark warning, outcome deferred —
/// and its later successful run is not.
#[test]
fn gating_bit_3_reports_a_postponed_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), true);
    let mut extra = ui("3");
    extra.push(("/Report", Payload::interior()));
    extra.push(("/Report/Gating", Payload::leaf(Format::Int, "8")));
    let (_, c) = d.atomic_adds(
        SRV,
        &schedule_adds("P", "2026-12-01T12:30:00Z", "eco", &extra),
    );
    c.unwrap().unwrap();
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Postpone(300));
    assert_eq!(d.tick(T0 + 1800), 0, "postponed: nothing finished");
    let r = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0].source, format!("{ROOT}/P/Tasks/T1"));
    assert_eq!(r[0].mark, "warning");
    assert!(
        r[0].data.contains("<Outcome>deferred</Outcome>"),
        "{}",
        r[0].data
    );
    assert!(r[0].data.contains("postponed by the user"));
    d.mo.ack_reports(SRV, &[r[0].id.unwrap()]).unwrap();
    *d.prompt.answer.lock().unwrap() = Some(PromptAnswer::Accept);
    assert_eq!(d.tick(T0 + 2100), 1, "runs when asked again");
    assert!(
        d.mo.reports(SRV, 10).unwrap().is_empty(),
        "success is not gated in"
    );
}
