//! The Scheduling MO installed node by node (issue 6, facts §1): inside an
//! Atomic (verified as a whole at commit), outside one (staged, durable,
//! installed by Exec Activate), per-node statuses, Replace of a node, and
//! Delete.

mod mo_support;

use dmsched::tree::{Format, Payload};
use mo_support::*;

/// 6.1.7.1, 6.1.7.2, 6.3.1.41: a server installs a schedule node by node
/// inside an Atomic; it is verified and installed at commit, shows its MO
/// nodes and diagnostics, runs offline with the owner's rights, and its
/// report names the MO task.
#[test]
fn atomic_node_by_node_install_is_verified_at_commit_and_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let adds = schedule_adds(
        "S1",
        "2026-12-01T12:30:00Z",
        "eco",
        &[
            ("/Report", Payload::interior()),
            ("/Report/Gating", Payload::leaf(Format::Int, "19")),
        ],
    );
    let (codes, commit) = d.atomic_adds(SRV, &adds);
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    commit.unwrap().unwrap();
    assert_eq!(d.state_events(), ["installed"]);
    assert_eq!(d.engine_ids(), ["S1"]);
    let s = |p: &str| d.get(SRV, &format!("{ROOT}/S1{p}")).unwrap();
    assert_eq!(s("/State"), "20");
    assert_eq!(s("/ServerID"), SRV);
    assert_eq!(s("/Name"), "eco mode");
    assert_eq!(s("/Tasks/T1/Triggers/G1/Time/RRule"), "FREQ=DAILY");
    assert_eq!(s("/Tasks/T1/NextRun"), "2026-12-01T12:30:00Z");
    assert_eq!(s("/Tasks/T1/LastResult"), "0");
    assert!(s("/Document").contains("\"FREQ=DAILY\""));
    let top = s("");
    for n in [
        "Name",
        "Operations",
        "Report",
        "ServerID",
        "State",
        "Tasks",
        "Document",
    ] {
        assert!(top.split('/').any(|x| x == n), "{n} in {top}");
    }
    assert!(s("/Tasks/T1").split('/').any(|x| x == "NextRun"));

    assert_eq!(d.tick(T0 + 1800), 1);
    assert_eq!(d.get(SRV, "./Vendor/Mode").unwrap(), "eco");
    assert_eq!(s("/Tasks/T1/LastResult"), "200");
    assert_eq!(s("/Tasks/T1/LastOutcome"), "ran");
    assert_eq!(s("/Tasks/T1/Runs"), "1");
    let reports = d.mo.reports(SRV, 10).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].source, format!("{ROOT}/S1/Tasks/T1"));
    assert!(reports[0].data.contains("<Outcome>ran</Outcome>"));
}

/// 6.3.1.42: an Atomic whose nodes are each fine but whose schedule is
/// not (no Cmds) fails at commit; the session then answers 507/216, and
/// nothing is installed or left staged.
#[test]
fn atomic_install_that_fails_as_a_whole_installs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let adds: Vec<(String, Payload)> = schedule_adds("S2", "2026-12-01T12:30:00Z", "eco", &[])
        .into_iter()
        .filter(|(u, _)| !u.ends_with("/Cmds"))
        .collect();
    let (codes, commit) = d.atomic_adds(SRV, &adds);
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    let err = commit.unwrap().unwrap_err();
    assert_eq!(err.status(), 400);
    assert!(
        err.to_string().contains("Tasks/T1/Cmds is required"),
        "{err}"
    );
    assert!(d.engine_ids().is_empty());
    assert_eq!(d.get(SRV, &format!("{ROOT}/S2")), Err(404));
    assert_eq!(d.get(SRV, ROOT).unwrap(), "");
    assert!(d.state_events().is_empty());
    // The id is free again.
    let (codes, commit) = d.atomic_adds(
        SRV,
        &schedule_adds("S2", "2026-12-01T12:30:00Z", "eco", &[]),
    );
    assert!(codes.iter().all(|c| *c == 200));
    commit.unwrap().unwrap();
    assert_eq!(d.engine_ids(), ["S2"]);
}

/// 6.3.1.42: a command that fails inside the Atomic rolls back the nodes
/// Added before it.
#[test]
fn a_failed_command_in_the_atomic_rolls_the_staged_nodes_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let mut adds = schedule_adds("S3", "2026-12-01T12:30:00Z", "eco", &[]);
    adds.push((
        format!("{ROOT}/S3/Tasks/T1/Triggers/G1/Time/RRule"),
        Payload::chr("FREQ=DAILY"),
    ));
    let (codes, commit) = d.atomic_adds(SRV, &adds);
    assert_eq!(*codes.last().unwrap(), 418);
    assert!(commit.is_none());
    assert_eq!(d.get(SRV, &format!("{ROOT}/S3")), Err(404));
    assert!(d.engine_ids().is_empty());
}

/// 6.1.7.3, 6.1.7.2: Adds outside an Atomic are staged (State 10) and
/// durable once acknowledged: after every object is reopened from the same
/// file, Exec Activate installs the schedule, which then runs.
#[test]
fn staged_install_survives_a_reopen_and_is_activated() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("dmsched.db");
    {
        let d = Device::new(dir.path(), false);
        for (uri, p) in schedule_adds("S1", "2026-12-01T12:30:00Z", "eco", &[]) {
            assert_eq!(d.add(SRV, &uri, p), 200, "{uri}");
        }
        assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "10");
        assert!(d.engine_ids().is_empty(), "staged, not submitted");
        // Suspend of a staged schedule: already inactive.
        assert_eq!(d.exec(SRV, &format!("{ROOT}/S1/Operations/Suspend")), 200);
    }
    let d = Device::open(&db, T0 + 60, false, None);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "10");
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/Name")).unwrap(), "eco mode");
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/ServerID")).unwrap(), SRV);
    assert_eq!(d.exec(SRV, &format!("{ROOT}/S1/Operations/Activate")), 200);
    assert_eq!(d.state_events(), ["installed"]);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "20");
    assert_eq!(d.tick(T0 + 1800), 1);
    assert_eq!(d.get(SRV, "./Vendor/Mode").unwrap(), "eco");
    drop(d);
    // Installed nodes are kept too.
    let d = Device::open(&db, T0 + 1900, false, None);
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S1/Tasks/T1/Triggers/G1/Time/TZ"))
            .unwrap(),
        "UTC"
    );
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S1/Tasks/T1/Runs")).unwrap(),
        "1"
    );
}

/// An incomplete staged schedule is refused at Activate with the reason
/// and stays staged.
#[test]
fn activate_of_an_incomplete_staged_schedule_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    assert_eq!(d.add(SRV, &format!("{ROOT}/S"), Payload::interior()), 200);
    assert_eq!(
        d.add(
            SRV,
            &format!("{ROOT}/S/Tasks/T/Cmds"),
            Payload::leaf(Format::Xml, cmds("x"))
        ),
        200
    );
    assert_eq!(d.exec(SRV, &format!("{ROOT}/S/Operations/Activate")), 400);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S/State")).unwrap(), "10");
    assert_eq!(
        d.add(
            SRV,
            &format!("{ROOT}/S/Tasks/T/Triggers/G/Event/ID"),
            Payload::chr("boot")
        ),
        200
    );
    assert_eq!(d.exec(SRV, &format!("{ROOT}/S/Operations/Activate")), 200);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S/State")).unwrap(), "20");
}

/// 6.3.1.26, 6.3.1.42: each node check that can be made at Add time
/// answers its own status.
#[test]
fn bad_nodes_get_their_own_status() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    assert_eq!(d.add(SRV, &format!("{ROOT}/S"), Payload::interior()), 200);
    let g = "/Tasks/T/Triggers/G";
    let cases: Vec<(&str, Payload, u16, &str)> = vec![
        (
            "/Tasks/T/Triggers/G/Time/RRule",
            Payload::chr("FREQ=DAILY;BYHOUR=25"),
            400,
            "RRULE that does not parse",
        ),
        (
            "/Tasks/T/Triggers/G/Time/Base",
            Payload::chr("soon"),
            400,
            "Base not ISO 8601",
        ),
        (
            "/Tasks/T/Triggers/G/Time/TZ",
            Payload::chr("Mars/Olympus"),
            400,
            "unknown zone",
        ),
        (
            "/UI/Mode",
            Payload::leaf(Format::Int, "x"),
            400,
            "int that is not one",
        ),
        (
            "/UI/Mode",
            Payload::leaf(Format::Int, "7"),
            400,
            "UI/Mode out of range",
        ),
        (
            "/UI/Mode",
            Payload::leaf(Format::Int, "2"),
            406,
            "confirm before install without a prompt",
        ),
        ("/UI/Mode", Payload::chr("1"), 415, "int node sent as chr"),
        (
            "/Name",
            Payload::chr("n").with_mime("image/png"),
            415,
            "wrong Type",
        ),
        (
            "/Tasks/T/Cmds",
            Payload::leaf(
                Format::Xml,
                "<Alert><CmdID>1</CmdID><Data>1226</Data></Alert>",
            ),
            406,
            "unschedulable command",
        ),
        (
            "/Tasks/T/Cmds",
            Payload::leaf(Format::Xml, "<Replace><CmdID>1"),
            400,
            "malformed Cmds",
        ),
        (
            "/Tasks/T/Triggers/G/TreeValue/Interval",
            Payload::leaf(Format::Int, "-5"),
            400,
            "negative Interval",
        ),
        (
            "/Tasks/T/Policy",
            Payload::chr("{\"retry\": 3}"),
            400,
            "Policy not of the schedule format",
        ),
        (
            "/Tasks/T/DependsOn",
            Payload::chr("not a/name"),
            400,
            "DependsOn that is not a task name",
        ),
        ("/ServerID", Payload::chr("me"), 405, "read-only node"),
        (
            "/Tasks/T/NextRun",
            Payload::chr("x"),
            405,
            "diagnostics are read-only",
        ),
        ("/Bogus", Payload::chr("x"), 405, "not a node of the MO"),
        (
            "/Name",
            Payload::chr(&"x".repeat(70 * 1024)),
            413,
            "too large",
        ),
        (
            "/Tasks/bad%20name",
            Payload::interior(),
            400,
            "task name that is not an id",
        ),
    ];
    for (p, payload, want, why) in cases {
        assert_eq!(
            d.add(SRV, &format!("{ROOT}/S{p}"), payload),
            want,
            "{why}: {p}"
        );
    }
    assert_eq!(
        d.add(
            SRV,
            &format!("{ROOT}/S{g}/Time/Base"),
            Payload::chr("2026-12-02T00:00:00Z")
        ),
        200
    );
    assert_eq!(
        d.add(
            SRV,
            &format!("{ROOT}/S{g}/Time/Base"),
            Payload::chr("2026-12-02T00:00:00Z")
        ),
        418,
        "exists"
    );
    assert_eq!(
        d.add(SRV, &format!("{ROOT}/S{g}/Event/ID"), Payload::chr("boot")),
        406,
        "Time and Event in one trigger"
    );
    assert_eq!(
        d.add(OTHER, &format!("{ROOT}/S/Name"), Payload::chr("mine")),
        404,
        "not the owner: its own S does not exist (6.3.1.5)"
    );
    assert_eq!(
        d.add(SRV, &format!("{ROOT}/Nope/Name"), Payload::chr("x")),
        404,
        "no such schedule"
    );
    assert_eq!(
        d.add(SRV, &format!("{ROOT}/S"), Payload::interior()),
        418,
        "schedule exists"
    );
    assert_eq!(
        d.add(SRV, &format!("{ROOT}/X"), Payload::chr("x")),
        415,
        "<S> is interior"
    );
    assert_eq!(
        d.replace(SRV, &format!("{ROOT}/S/Description"), Payload::chr("x")),
        404,
        "Replace of an absent node"
    );
    assert_eq!(
        d.replace(
            SRV,
            &format!("{ROOT}/S{g}/Time/Base"),
            Payload::chr("later")
        ),
        400
    );
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/S{g}/Time/Base")).unwrap(),
        "2026-12-02T00:00:00Z",
        "a refused Replace changes nothing"
    );
}

/// 6.1.7.2: Replace of a node of an installed schedule re-verifies the
/// whole schedule and modifies it; a Replace that breaks it is refused and
/// changes nothing.
#[test]
fn replace_of_a_node_reverifies_and_modifies_the_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let (_, commit) = d.atomic_adds(
        SRV,
        &schedule_adds(
            "S1",
            "2026-12-01T12:30:00Z",
            "eco",
            &[("/Valid/From", Payload::chr("2026-12-01T00:00:00Z"))],
        ),
    );
    commit.unwrap().unwrap();
    let u = |p: &str| format!("{ROOT}/S1{p}");
    assert_eq!(
        d.replace(
            SRV,
            &u("/Tasks/T1/Triggers/G1/Time/RRule"),
            Payload::chr("FREQ=DAILY;BYHOUR=99")
        ),
        400
    );
    assert_eq!(
        d.add(SRV, &u("/Valid/To"), Payload::chr("2026-11-01T00:00:00Z")),
        400,
        "To before From"
    );
    assert_eq!(
        d.delete(SRV, &u("/Tasks/T1/Cmds")),
        400,
        "the task needs its Cmds"
    );
    assert_eq!(
        d.get(SRV, &u("/Tasks/T1/Cmds")).map(|c| c.contains("eco")),
        Ok(true)
    );
    assert_eq!(d.state_events(), ["installed"]);

    assert_eq!(
        d.replace(
            SRV,
            &u("/Tasks/T1/Triggers/G1/Time/Base"),
            Payload::chr("2026-12-01T14:00:00Z")
        ),
        200
    );
    assert_eq!(d.state_events(), ["installed", "modified"]);
    assert_eq!(
        d.get(SRV, &u("/Tasks/T1/NextRun")).unwrap(),
        "2026-12-01T14:00:00Z"
    );
    assert_eq!(
        d.get(SRV, &u("/Tasks/T1/Triggers/G1/Time/Base")).unwrap(),
        "2026-12-01T14:00:00Z"
    );
    assert!(
        d.get(SRV, &u("/Document"))
            .unwrap()
            .contains("2026-12-01T14:00:00")
    );
    assert_eq!(d.replace(OTHER, &u("/Name"), Payload::chr("x")), 404);
    assert_eq!(
        d.replace(SRV, &u("/State"), Payload::leaf(Format::Int, "40")),
        405
    );
}

/// 6.1.7.2, 6.1.7.6: Delete of a staged schedule discards it; of an
/// installed one terminates it (State 80, its nodes still shown); another
/// server neither sees nor touches either.
#[test]
fn delete_discards_a_staged_schedule_and_terminates_an_installed_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    assert_eq!(d.add(SRV, &format!("{ROOT}/St"), Payload::interior()), 200);
    assert_eq!(
        d.add(SRV, &format!("{ROOT}/St/Name"), Payload::chr("n")),
        200
    );
    assert_eq!(d.get(OTHER, &format!("{ROOT}/St/Name")), Err(404));
    assert_eq!(d.get(OTHER, ROOT).unwrap(), "", "the listing hides it");
    assert_eq!(
        d.exec(OTHER, &format!("{ROOT}/St/Operations/Activate")),
        404
    );
    assert_eq!(d.delete(OTHER, &format!("{ROOT}/St")), 404);
    assert_eq!(d.delete(SRV, &format!("{ROOT}/St/Name")), 200);
    assert_eq!(d.get(SRV, &format!("{ROOT}/St/Name")), Err(404));
    assert_eq!(d.delete(SRV, &format!("{ROOT}/St")), 200);
    assert_eq!(d.get(SRV, &format!("{ROOT}/St")), Err(404));

    let (_, commit) = d.atomic_adds(
        SRV,
        &schedule_adds("S1", "2026-12-01T12:30:00Z", "eco", &[]),
    );
    commit.unwrap().unwrap();
    assert_eq!(d.delete(SRV, &format!("{ROOT}/S1")), 200);
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "80");
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/Name")).unwrap(), "eco mode");
    assert_eq!(d.tick(T0 + 1800), 0, "a terminated schedule does not run");
    assert_eq!(d.state_events(), ["installed", "terminated"]);
    // A new schedule may take the id of a terminated one.
    let (_, commit) = d.atomic_adds(SRV, &schedule_adds("S1", "2026-12-02T12:30:00Z", "on", &[]));
    commit.unwrap().unwrap();
    assert_eq!(d.get(SRV, &format!("{ROOT}/S1/State")).unwrap(), "20");
}

/// 6.1.7.2: a schedule that has ended (completed here) is not modified: a
/// Replace of its Document or of one of its nodes is refused at once
/// (405, naming its state), not answered 200 and then reported `rejected`.
#[test]
fn an_ended_schedule_refuses_replaces_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let doc = r#"{"id": "Once", "tasks": [{"id": "T", "trigger": {"at": "2026-12-01T12:30:00Z"},
        "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let p = |v: &str| Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(v)
    };
    assert_eq!(d.add(SRV, &format!("{ROOT}/Once"), p(doc)), 200);
    assert_eq!(d.tick(T0 + 1800), 1);
    assert_eq!(d.get(SRV, &format!("{ROOT}/Once/State")).unwrap(), "50");
    let err = d
        .tree
        .replace(SRV, &format!("{ROOT}/Once/Document"), &p(doc), d.clock())
        .unwrap_err();
    assert_eq!(err.status(), 405);
    assert!(err.message().contains("is completed"), "{}", err.message());
    assert_eq!(
        d.replace(SRV, &format!("{ROOT}/Once/Name"), Payload::chr("again")),
        405
    );
    d.settle();
    assert!(
        !d.state_events().iter().any(|e| e == "rejected"),
        "{:?}",
        d.state_events()
    );
}
