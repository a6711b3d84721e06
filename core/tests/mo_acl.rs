//! Cross-authority access to the Scheduling MO (6.1.7.6, 6.2.5): a
//! schedule belongs to the server that installed it; another server reads,
//! changes or ends it only where the schedule's ACL (`<S>?prop=ACL`) grants
//! it, command by command, and what it does then runs through the engine
//! with the grant checked again there. Driven the way a DM session drives
//! the MO (command, then settle), over the real tree, engine and store.

mod mo_support;

use dmsched::engine::ScheduleState;
use dmsched::tree::{Format, Payload};
use mo_support::*;

const S: &str = "./Scheduling/Schedules/S1";

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
        run: |d| get_code(d.get(OTHER, &format!("{S}/State"))),
        took_effect: |_| true,
    },
    Case {
        name: "Get Tasks/T1/NextRun",
        needs: "Get",
        run: |d| get_code(d.get(OTHER, &format!("{S}/Tasks/T1/NextRun"))),
        took_effect: |_| true,
    },
    Case {
        name: "Get ?prop=ACL",
        needs: "Get",
        run: |d| get_code(d.get(OTHER, &format!("{S}?prop=ACL"))),
        took_effect: |_| true,
    },
    Case {
        name: "listing Schedules",
        needs: "Get",
        run: |d| {
            let list = d.get(OTHER, ROOT).unwrap();
            if list.split('/').any(|x| x == "S1") {
                200
            } else {
                425
            }
        },
        took_effect: |_| true,
    },
    Case {
        name: "Replace Name",
        needs: "Replace",
        run: |d| d.replace(OTHER, &format!("{S}/Name"), Payload::chr("renamed")),
        took_effect: |d| document(d).contains("renamed"),
    },
    Case {
        name: "Replace Document",
        needs: "Replace",
        run: |d| d.replace(OTHER, &format!("{S}/Document"), doc_json("whole")),
        took_effect: |d| document(d).contains("whole"),
    },
    Case {
        name: "Replace ?prop=ACL",
        needs: "Replace",
        run: |d| d.replace(OTHER, &format!("{S}?prop=ACL"), Payload::chr("Get=*")),
        took_effect: |d| d.get(SRV, &format!("{S}?prop=ACL")).unwrap() == "Get=*",
    },
    Case {
        name: "Add Description",
        needs: "Add",
        run: |d| d.add(OTHER, &format!("{S}/Description"), Payload::chr("added")),
        took_effect: |d| document(d).contains("added"),
    },
    Case {
        name: "Delete Name",
        needs: "Delete",
        run: |d| d.delete(OTHER, &format!("{S}/Name")),
        took_effect: |d| !document(d).contains("eco mode"),
    },
    Case {
        name: "Exec Suspend",
        needs: "Exec",
        run: |d| d.exec(OTHER, &format!("{S}/Operations/Suspend")),
        took_effect: |d| state(d) == ScheduleState::Suspended,
    },
    Case {
        name: "Delete the schedule",
        needs: "Delete",
        run: |d| d.delete(OTHER, S),
        took_effect: |d| state(d) == ScheduleState::Terminated,
    },
];

/// 6.1.7.6, 6.2.5, 6.3.4.36: the whole matrix of commands × grants for a
/// second server: each command succeeds (and takes effect) exactly when
/// the schedule's ACL grants its command to that server; otherwise 425 and
/// the schedule is as it was.
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
                assert_eq!(code, 425, "{} with grant {grant:?}", case.name);
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
            &format!("{S}?prop=ACL"),
            Payload::chr("Replace=srv-b")
        ),
        425
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
    assert_eq!(get_code(d.get(OTHER, &format!("{S}/State"))), 200);
    assert_eq!(d.delete(OTHER, S), 425);
    assert_eq!(state(&d), ScheduleState::Active);
}

/// A schedule id reused by another server after termination does not
/// inherit the old schedule's ACL: the new owner's alone.
#[test]
fn a_reused_schedule_id_starts_with_its_new_owners_acl() {
    let dir = tempfile::tempdir().unwrap();
    let d = installed(dir.path());
    assert_eq!(
        d.replace(
            SRV,
            &format!("{S}?prop=ACL"),
            Payload::chr("Get=*&Delete=*")
        ),
        200
    );
    assert_eq!(d.delete(OTHER, S), 200, "granted Delete: terminates");
    assert_eq!(state(&d), ScheduleState::Terminated);
    // (srv-b's own commands: it may not change srv-a's ./Vendor.)
    let own = r#"{"id": "S1", "tasks": [{"id": "T1", "trigger": {"every": {"seconds": 3600}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let p = Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(own)
    };
    assert_eq!(
        d.add(OTHER, S, doc_json("b's own")),
        425,
        "srv-b's schedule may not Replace srv-a's ./Vendor/Mode"
    );
    assert_eq!(d.add(OTHER, S, p), 200);
    assert_eq!(get_code(d.get(SRV, &format!("{S}/State"))), 425);
    assert_eq!(
        d.get(OTHER, &format!("{S}?prop=ACL")).unwrap(),
        format!("Add={OTHER}&Delete={OTHER}&Exec={OTHER}&Get={OTHER}&Replace={OTHER}")
    );
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
