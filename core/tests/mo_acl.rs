//! Cross-authority access to the Scheduling MO (6.1.7.6, 6.2.5, 6.3.1.5): a
//! schedule belongs to the server that installed it, in that server's own
//! namespace (`./Scheduling/Schedules/<S>` is always the requester's own
//! `<S>`); another server reaches it only through
//! `./Scheduling/Servers/<owner>/Schedules/<S>` and only where the
//! schedule's ACL (`<S>?prop=ACL`) grants it, command by command; without a
//! Get grant the schedule answers exactly as a missing one. What it does
//! then runs through the engine with the grant checked again there. Driven
//! the way a DM session drives the MO (command, then settle), over the real
//! tree, engine and store.

mod mo_support;

use dmsched::engine::ScheduleState;
use dmsched::tree::{Format, Payload};
use mo_support::*;

/// srv-a's S1 as srv-a names it.
const S: &str = "./Scheduling/Schedules/S1";
/// srv-a's S1 as another server names it.
const SHARED: &str = "./Scheduling/Servers/srv-a/Schedules/S1";

fn installed(dir: &std::path::Path) -> Device {
    let d = Device::new(dir, false);
    let (codes, commit) = d.atomic_adds(SRV, &schedule_adds("S1", "20261201T130000Z", "eco", &[]));
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    assert!(matches!(commit, Some(Ok(()))));
    assert_eq!(d.engine_ids(), ["S1"]);
    d
}

fn state(d: &Device) -> ScheduleState {
    d.mo.engine().get(SRV, SRV, "S1").unwrap().state
}

fn document(d: &Device) -> String {
    serde_json::to_string(&d.mo.engine().get(SRV, SRV, "S1").unwrap().document).unwrap()
}

fn doc_json(name: &str) -> Payload {
    let doc = format!(
        r#"{{"id": "S1", "name": "{name}", "tasks": [{{"id": "T1", "trigger": {{"every": {{"seconds": 3600}}}}, "actions": [{{"op": "Replace", "target": "./Vendor/Mode", "data": "x"}}]}}]}}"#
    );
    Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(&doc)
    }
}

/// One command another server may try, the ACL command it needs, and a
/// check that it had its effect.
struct Case {
    name: &'static str,
    needs: &'static str,
    run: fn(&Device) -> u16,
    took_effect: fn(&Device) -> bool,
}

fn get_code(r: Result<String, u16>) -> u16 {
    r.map(|_| 200).unwrap_or_else(|c| c)
}

const CASES: &[Case] = &[
    Case {
        name: "Get State",
        needs: "Get",
        run: |d| get_code(d.get(OTHER, &format!("{SHARED}/State"))),
        took_effect: |_| true,
    },
    Case {
        name: "Get Tasks/T1/NextRun",
        needs: "Get",
        run: |d| get_code(d.get(OTHER, &format!("{SHARED}/Tasks/T1/NextRun"))),
        took_effect: |_| true,
    },
    Case {
        name: "Get ?prop=ACL",
        needs: "Get",
        run: |d| get_code(d.get(OTHER, &format!("{SHARED}?prop=ACL"))),
        took_effect: |_| true,
    },
    Case {
        name: "listing Schedules",
        needs: "Get",
        run: |d| {
            // Never in srv-b's own namespace; under srv-a's when granted.
            let own = d.get(OTHER, ROOT).unwrap();
            assert!(!own.split('/').any(|x| x == "S1"), "{own}");
            match d.get(OTHER, "./Scheduling/Servers/srv-a/Schedules") {
                Ok(list) if list.split('/').any(|x| x == "S1") => 200,
                Ok(list) => panic!("srv-a's node shown without S1: {list}"),
                Err(c) => c,
            }
        },
        took_effect: |_| true,
    },
    Case {
        name: "Replace Name",
        needs: "Replace",
        run: |d| d.replace(OTHER, &format!("{SHARED}/Name"), Payload::chr("renamed")),
        took_effect: |d| document(d).contains("renamed"),
    },
    Case {
        name: "Replace Document",
        needs: "Replace",
        run: |d| d.replace(OTHER, &format!("{SHARED}/Document"), doc_json("whole")),
        took_effect: |d| document(d).contains("whole"),
    },
    Case {
        name: "Replace ?prop=ACL",
        needs: "Replace",
        run: |d| d.replace(OTHER, &format!("{SHARED}?prop=ACL"), Payload::chr("Get=*")),
        took_effect: |d| d.get(SRV, &format!("{S}?prop=ACL")).unwrap() == "Get=*",
    },
    Case {
        name: "Add Description",
        needs: "Add",
        run: |d| {
            d.add(
                OTHER,
                &format!("{SHARED}/Description"),
                Payload::chr("added"),
            )
        },
        took_effect: |d| document(d).contains("added"),
    },
    Case {
        name: "Delete Name",
        needs: "Delete",
        run: |d| d.delete(OTHER, &format!("{SHARED}/Name")),
        took_effect: |d| !document(d).contains("eco mode"),
    },
    Case {
        name: "Exec Suspend",
        needs: "Exec",
        run: |d| d.exec(OTHER, &format!("{SHARED}/Operations/Suspend")),
        took_effect: |d| state(d) == ScheduleState::Suspended,
    },
    Case {
        name: "Delete the schedule",
        needs: "Delete",
        run: |d| d.delete(OTHER, SHARED),
        took_effect: |d| state(d) == ScheduleState::Terminated,
    },
];

/// 6.1.7.6, 6.2.5, 6.3.1.5, 6.3.4.36: the whole matrix of commands ×
/// grants for a second server: each command succeeds (and takes effect)
/// exactly when the schedule's ACL grants its command to that server;
/// otherwise 425 if the ACL lets it read the schedule, else 404 as for a
/// schedule that does not exist; the schedule is as it was.
#[test]
fn another_server_acts_on_a_schedule_exactly_as_far_as_its_acl_grants() {
    let grants = ["", "Get", "Replace", "Add", "Delete", "Exec", "*"];
    for grant in grants {
        for case in CASES {
            let dir = tempfile::tempdir().unwrap();
            let d = installed(dir.path());
            if !grant.is_empty() {
                let acl = if grant == "*" {
                    format!("Add={OTHER}&Delete={OTHER}&Exec={OTHER}&Get={OTHER}&Replace={OTHER}")
                } else {
                    format!("{grant}={SRV}+{OTHER}")
                };
                let c = d.replace(SRV, &format!("{S}?prop=ACL"), Payload::chr(&acl));
                assert_eq!(c, 200, "the owner sets the ACL {acl}");
            }
            let before = (document(&d), state(&d));
            let allowed = grant == "*" || grant == case.needs;
            let code = (case.run)(&d);
            if allowed {
                assert_eq!(code, 200, "{} with grant {grant:?}", case.name);
                assert!((case.took_effect)(&d), "{} with grant {grant:?}", case.name);
            } else {
                let sees = grant == "Get";
                let want = if sees { 425 } else { 404 };
                assert_eq!(code, want, "{} with grant {grant:?}", case.name);
                assert_eq!((document(&d), state(&d)), before, "{} changed", case.name);
            }
            assert!(
                d.state_events().iter().all(|e| e != "rejected"),
                "the engine agreed with the MO: {:?}",
                d.state_events()
            );
        }
    }
}

/// The owner always keeps every right whatever the ACL says; the ACL of a
/// schedule is shown as set (default: its owner's alone); ACLs below a
/// schedule are inherited and cannot be set.
#[test]
fn the_owner_keeps_its_rights_and_acls_are_kept_per_schedule() {
    let dir = tempfile::tempdir().unwrap();
    let d = installed(dir.path());
    assert_eq!(
        d.get(SRV, &format!("{S}?prop=ACL")).unwrap(),
        format!("Add={SRV}&Delete={SRV}&Exec={SRV}&Get={SRV}&Replace={SRV}")
    );
    assert_eq!(
        d.replace(SRV, &format!("{S}?prop=ACL"), Payload::chr("Get=srv-b")),
        200
    );
    assert_eq!(d.get(SRV, &format!("{S}?prop=ACL")).unwrap(), "Get=srv-b");
    assert_eq!(d.exec(SRV, &format!("{S}/Operations/Suspend")), 200);
    assert_eq!(state(&d), ScheduleState::Suspended);
    assert_eq!(d.get(SRV, &format!("{S}/Name?prop=ACL")).unwrap(), "");
    assert_eq!(
        d.replace(SRV, &format!("{S}/Name?prop=ACL"), Payload::chr("Get=*")),
        405
    );
    assert_eq!(
        d.replace(SRV, &format!("{S}?prop=ACL"), Payload::chr("Get=a b")),
        400,
        "a malformed ACL"
    );
    // srv-b may read but not give itself more.
    assert_eq!(
        d.replace(
            OTHER,
            &format!("{SHARED}?prop=ACL"),
            Payload::chr("Replace=srv-b")
        ),
        425
    );
    // Its own S1 does not exist.
    assert_eq!(
        d.replace(
            OTHER,
            &format!("{S}?prop=ACL"),
            Payload::chr("Replace=srv-b")
        ),
        404
    );
    assert_eq!(d.get(SRV, &format!("{S}?prop=ACL")).unwrap(), "Get=srv-b");
}

/// 6.1.7.3: a granted ACL survives a restart; an ACL change inside an
/// Atomic that fails is undone with it.
#[test]
fn schedule_acls_survive_a_restart_and_roll_back_with_an_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let db;
    {
        let d = installed(dir.path());
        db = d.db.clone();
        assert_eq!(
            d.replace(SRV, &format!("{S}?prop=ACL"), Payload::chr("Get=srv-b")),
            200
        );
        // An Atomic that widens the ACL, then fails.
        d.tree.begin().unwrap();
        let c = d.tree.replace(
            SRV,
            &format!("{S}?prop=ACL"),
            &Payload::chr("Get=*&Delete=*"),
            d.clock(),
        );
        assert!(c.is_ok());
        assert!(
            d.tree
                .add(
                    SRV,
                    "./Nowhere/X",
                    &Payload::leaf(Format::Chr, "x"),
                    d.clock()
                )
                .is_err()
        );
        d.tree.rollback().unwrap();
        d.settle();
        assert_eq!(d.get(SRV, &format!("{S}?prop=ACL")).unwrap(), "Get=srv-b");
    }
    let d = Device::open(&db, T0 + 60, false, None);
    assert_eq!(d.get(SRV, &format!("{S}?prop=ACL")).unwrap(), "Get=srv-b");
    assert_eq!(get_code(d.get(OTHER, &format!("{SHARED}/State"))), 200);
    assert_eq!(d.delete(OTHER, SHARED), 425);
    assert_eq!(state(&d), ScheduleState::Active);
}

/// 6.3.1.5: each authority has its own namespace: srv-b installs its own
/// S1 while srv-a's S1 is live (no 418), the two are independent (each
/// server's `Schedules/S1` is its own, each ACL its own, ending one leaves
/// the other), and srv-a's grant on its S1 says nothing about srv-b's.
#[test]
fn two_authorities_each_have_their_own_schedule_of_the_same_id() {
    let dir = tempfile::tempdir().unwrap();
    let d = installed(dir.path());
    assert_eq!(
        d.replace(SRV, &format!("{S}?prop=ACL"), Payload::chr("Get=*")),
        200
    );
    // (srv-b's own commands: it may not change srv-a's ./Vendor.)
    let own = r#"{"id": "S1", "name": "b's own", "tasks": [{"id": "T1", "trigger": {"every": {"seconds": 3600}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let p = Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(own)
    };
    assert_eq!(
        d.add(OTHER, S, doc_json("b's own")),
        425,
        "srv-b's schedule may not Replace srv-a's ./Vendor/Mode"
    );
    assert_eq!(d.add(OTHER, S, p), 200, "srv-a's S1 does not block srv-b's");
    let again = Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(own)
    };
    assert_eq!(d.add(OTHER, S, again), 418, "srv-b's own S1 does");
    let b = d.mo.engine().get(OTHER, OTHER, "S1").unwrap();
    assert_eq!(b.state, ScheduleState::Active);
    assert_eq!(state(&d), ScheduleState::Active);
    // Each server's Schedules/S1 is its own.
    assert!(
        d.get(OTHER, &format!("{S}/Document"))
            .unwrap()
            .contains("b's own")
    );
    assert!(
        !d.get(SRV, &format!("{S}/Document"))
            .unwrap()
            .contains("b's own")
    );
    assert_eq!(d.get(OTHER, &format!("{S}/ServerID")).unwrap(), OTHER);
    assert_eq!(d.get(SRV, &format!("{S}/ServerID")).unwrap(), SRV);
    // srv-b's S1 has its owner's ACL alone; srv-a cannot see it.
    assert_eq!(
        d.get(OTHER, &format!("{S}?prop=ACL")).unwrap(),
        format!("Add={OTHER}&Delete={OTHER}&Exec={OTHER}&Get={OTHER}&Replace={OTHER}")
    );
    let b_path = "./Scheduling/Servers/srv-b/Schedules/S1";
    assert_eq!(get_code(d.get(SRV, &format!("{b_path}/State"))), 404);
    assert_eq!(get_code(d.get(OTHER, &format!("{SHARED}/State"))), 200);
    // Ending srv-b's leaves srv-a's.
    assert_eq!(d.delete(OTHER, S), 200);
    assert_eq!(
        d.mo.engine().get(OTHER, OTHER, "S1").unwrap().state,
        ScheduleState::Terminated
    );
    assert_eq!(state(&d), ScheduleState::Active);
}

/// 6.3.1.5: another authority's schedule that it may not read answers
/// exactly as a missing one: the same status and the same message, under
/// its own `Schedules` and under the owner's `Servers/<owner>` path, for
/// every command; nothing of it is listed.
#[test]
fn a_foreign_schedule_answers_exactly_as_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = installed(dir.path());
    let missing = "./Scheduling/Servers/srv-a/Schedules/NOPE";
    let hidden = SHARED;
    let tree_answer = |uri: &str| {
        let get = d
            .tree
            .get(OTHER, uri)
            .err()
            .map(|e| (e.status(), e.to_string()));
        let del = d
            .tree
            .delete(OTHER, uri, d.clock())
            .err()
            .map(|e| (e.status(), e.to_string()));
        let exec = d
            .tree
            .exec(OTHER, &format!("{uri}/Operations/Suspend"), None, None)
            .err()
            .map(|e| (e.status(), e.to_string()));
        let rep = d
            .tree
            .replace(OTHER, &format!("{uri}/Name"), &Payload::chr("x"), d.clock())
            .err()
            .map(|e| (e.status(), e.to_string()));
        (get, del, exec, rep)
    };
    let strip = |x: Option<(u16, String)>| x.map(|(c, m)| (c, m.replace("NOPE", "S1")));
    for (hidden, missing) in [(hidden, missing), (S, "./Scheduling/Schedules/NOPE")] {
        let (a, b) = (tree_answer(hidden), tree_answer(missing));
        assert_eq!(a.0.as_ref().map(|x| x.0), Some(404), "{hidden}: {a:?}");
        assert_eq!(strip(b.0), a.0, "{hidden}");
        assert_eq!(strip(b.1), a.1, "{hidden}");
        assert_eq!(strip(b.2), a.2, "{hidden}");
        assert_eq!(strip(b.3), a.3, "{hidden}");
    }
    assert_eq!(get_code(d.get(OTHER, "./Scheduling/Servers/srv-a")), 404);
    assert_eq!(d.get(OTHER, "./Scheduling/Servers").unwrap(), "");
    assert_eq!(d.get(OTHER, ROOT).unwrap(), "");
    assert_eq!(state(&d), ScheduleState::Active);
}

/// 6.1.7.6, 6.3.1.42: a schedule's commands are checked against its
/// owner's rights when it is installed, where the tree knows them: srv-b
/// may not schedule a Replace of srv-a's ./Vendor/Mode — not node by node
/// in an Atomic (the commit fails with 425), not staged and activated
/// (425) — and nothing is installed; a target that does not exist yet is
/// left to run time.
#[test]
fn commands_the_owner_may_not_run_are_refused_at_install() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let (codes, commit) =
        d.atomic_adds(OTHER, &schedule_adds("B1", "20261201T130000Z", "eco", &[]));
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    let e = commit.unwrap().unwrap_err();
    assert_eq!(e.status(), 425, "{e}");
    assert!(e.to_string().contains("./Vendor/Mode"), "{e}");
    assert!(d.engine_ids().is_empty());
    // Staged outside an Atomic, then activated.
    for (uri, p) in schedule_adds("B2", "20261201T130000Z", "eco", &[]) {
        assert_eq!(d.add(OTHER, &uri, p), 200, "{uri}");
    }
    assert_eq!(
        d.exec(OTHER, &format!("{ROOT}/B2/Operations/Activate")),
        425
    );
    assert!(d.engine_ids().is_empty());
    // Its own node: fine; a node that does not exist yet: left to run time.
    d.tree
        .add(OTHER, "./BVendor", &Payload::interior(), d.clock())
        .unwrap();
    let mine = r#"{"id": "B3", "tasks": [{"id": "T", "trigger": {"every": {"seconds": 3600}}, "actions": [
        {"op": "Add", "target": "./BVendor/Mode", "data": "x"},
        {"op": "Replace", "target": "./Vendor/Later/Mode", "data": "x"}]}]}"#;
    let p = Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(mine)
    };
    assert_eq!(d.add(OTHER, &format!("{ROOT}/B3"), p), 200);
    assert_eq!(d.engine_ids(), ["B3"]);
}

/// 6.1.7.6, 6.2.5: a condition is read with its owner's rights, so a
/// schedule whose condition reads a node its owner may not Get is refused
/// at install with 425, whichever condition it is (becomes_true, an event
/// filter, require, termination.when, the TreeValue of a node-by-node
/// install); reading a node the owner may Get is fine.
#[test]
fn conditions_reading_nodes_the_owner_may_not_get_are_refused_at_install() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    d.tree
        .device()
        .replace(
            "./Vendor/Mode?prop=ACL",
            &Payload::chr("Get=srv-a&Replace=srv-a"),
            d.clock(),
        )
        .unwrap();
    let action = r#"[{"op": "Get", "target": "./DevInfo/Man"}]"#;
    let every = r#"{"every": {"seconds": 3600}}"#;
    let cases = [
        (
            r#"{"becomes_true": "./Vendor/Mode == \"on\""}"#.to_string(),
            String::new(),
        ),
        (
            r#"{"event": {"name": "boot", "filter": "./Vendor/Mode == \"on\""}}"#.to_string(),
            String::new(),
        ),
        (
            every.to_string(),
            r#", "constraints": {"require": "./Vendor/Mode != \"off\""}"#.to_string(),
        ),
        (
            every.to_string(),
            r#", "termination": {"when": "exists(./Vendor/Mode)"}"#.to_string(),
        ),
    ];
    for (i, (trigger, extra)) in cases.iter().enumerate() {
        let doc = format!(
            r#"{{"tasks": [{{"id": "T1", "trigger": {trigger}{extra}, "actions": {action}}}]}}"#
        );
        let p = Payload {
            mime: Some("application/json".into()),
            ..Payload::chr(&doc)
        };
        let uri = format!("{ROOT}/C{i}");
        assert_eq!(d.add(OTHER, &uri, p.clone()), 425, "srv-b: {doc}");
        assert_eq!(d.add(SRV, &uri, p), 200, "srv-a may read it: {doc}");
    }
    // Node by node, a TreeValue trigger: refused at the Atomic's commit.
    let mut adds = schedule_adds("TV", "20261201T130000Z", "eco", &[]);
    adds.retain(|(u, _)| !u.contains("/Time"));
    adds.retain(|(u, _)| !u.ends_with("/Cmds"));
    adds.push((
        format!("{ROOT}/TV/Tasks/T1/Cmds"),
        Payload::leaf(
            dmsched::tree::Format::Xml,
            "<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Get>",
        ),
    ));
    for (leaf, v) in [("URI", "./Vendor/Mode"), ("Op", "eq"), ("Value", "on")] {
        adds.push((
            format!("{ROOT}/TV/Tasks/T1/Triggers/G1/TreeValue/{leaf}"),
            Payload::chr(v),
        ));
    }
    let (_, commit) = d.atomic_adds(OTHER, &adds);
    let e = commit.expect("the commit ran").expect_err("refused");
    assert_eq!(e.status(), 425, "{e}");
    assert!(e.to_string().contains("./Vendor/Mode"), "{e}");
    let (_, commit) = d.atomic_adds(SRV, &adds);
    assert!(matches!(commit, Some(Ok(()))), "{commit:?}");
}
