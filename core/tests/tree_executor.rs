//! The tree as the engine's ActionExecutor: scheduled DM commands run with
//! the owner's rights (6.1.7.6), Atomic and Sequence as in SyncML RepPro
//! 1.2 §6.6.3 / §6.6.13.

use dmsched::model::{Action, Command, Op};
use dmsched::tree::{DeviceInfo, Tree, TreeConfig};
use dmsched::{ActionExecutor, RunContext};
use jiff::Timestamp;

fn now() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn tree() -> Tree {
    Tree::open_in_memory(TreeConfig::new(DeviceInfo::default()), now()).unwrap()
}

fn ctx(owner: &str) -> RunContext {
    RunContext {
        owner: owner.into(),
        schedule: "s".into(),
        task: "t".into(),
        seq: 0,
        attempt: 0,
        due: now(),
        now: "2026-03-01T12:30:00Z".parse().unwrap(),
        run_id: 1,
    }
}

fn cmd(op: Op, target: &str, data: Option<&str>, format: Option<&str>) -> Action {
    Action::Command(Command {
        op,
        target: target.into(),
        source: None,
        data: data.map(str::to_string),
        format: format.map(str::to_string),
        mime: None,
        alert: None,
    })
}

fn add_node(target: &str) -> Action {
    cmd(Op::Add, target, None, Some("node"))
}

fn add_chr(target: &str, v: &str) -> Action {
    cmd(Op::Add, target, Some(v), None)
}

fn statuses(t: &Tree, owner: &str, actions: &[Action]) -> Vec<u16> {
    t.execute(&ctx(owner), actions)
        .unwrap()
        .iter()
        .map(|r| r.status)
        .collect()
}

/// RepPro 1.2 §6.6.3 Atomic: on a failure everything is rolled back; the
/// failing command keeps its status, those that had succeeded get 216 and
/// those not run 215.
#[test]
fn atomic_failure_rolls_back_with_216() {
    let t = tree();
    let actions = [Action::Atomic(vec![
        add_node("./A"),
        add_chr("./A/x", "1"),
        cmd(Op::Replace, "./Missing", Some("v"), None),
        add_chr("./A/y", "2"),
    ])];
    assert_eq!(statuses(&t, "srv1", &actions), [216, 216, 404, 215]);
    assert_eq!(t.get("srv1", "./A").unwrap_err().status(), 404);
    assert!(!t.in_atomic());
    // A successful Atomic commits.
    let actions = [Action::Atomic(vec![add_node("./B"), add_chr("./B/x", "1")])];
    assert_eq!(statuses(&t, "srv1", &actions), [200, 200]);
    assert_eq!(t.get("srv1", "./B/x").unwrap()[0].text(), "1");
}

/// RepPro 1.2 §6.6.13 Sequence: stops at the first failure; the rest are
/// 215 (not executed); what ran stays.
#[test]
fn sequence_stops_at_the_first_failure_with_215() {
    let t = tree();
    let actions = [
        Action::Sequence(vec![
            add_node("./S"),
            cmd(Op::Get, "./Nope", None, None),
            add_chr("./S/x", "1"),
            Action::Atomic(vec![add_chr("./S/y", "1")]),
        ]),
        // Top-level commands are independent of each other.
        cmd(Op::Get, "./DevInfo/DmV", None, None),
    ];
    let r = t.execute(&ctx("srv1"), &actions).unwrap();
    let s: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert_eq!(s, [200, 404, 215, 215, 200]);
    assert_eq!(r[4].data.as_deref(), Some("1.2"));
    assert_eq!(r[1].op, Op::Get);
    assert_eq!(r[1].target, "./Nope");
    assert!(t.get("srv1", "./S").is_ok());
    assert_eq!(t.get("srv1", "./S/x").unwrap_err().status(), 404);
}

/// 6.1.7.6: actions run with the owner's rights, not the device's.
#[test]
fn actions_run_with_the_owners_rights() {
    let t = tree();
    assert_eq!(statuses(&t, "srv1", &[add_node("./Mine")]), [200]);
    let theirs = [
        cmd(Op::Get, "./Mine", None, None),
        cmd(Op::Replace, "./DevInfo/Man", Some("x"), None),
        cmd(Op::Delete, "./Mine", None, None),
    ];
    assert_eq!(statuses(&t, "srv2", &theirs), [425, 425, 425]);
    assert_eq!(
        statuses(&t, "srv1", &[cmd(Op::Delete, "./Mine", None, None)]),
        [200]
    );
}

/// Bad commands are statuses, not errors: an unknown format is 415, a Copy
/// without a source 400, a Get of a listing gives one line per node.
#[test]
fn bad_commands_become_statuses() {
    let t = tree();
    let actions = [
        cmd(Op::Add, "./X", Some("{}"), Some("json")),
        cmd(Op::Copy, "./Y", None, None),
        cmd(Op::Add, "./N", Some("99999999999"), Some("int")),
        cmd(Op::Exec, "./DevInfo", None, None),
        cmd(Op::Get, "./DevInfo?list=Struct", None, None),
    ];
    let r = t.execute(&ctx("srv1"), &actions).unwrap();
    let s: Vec<u16> = r.iter().map(|r| r.status).collect();
    assert_eq!(s, [415, 400, 400, 425, 200]);
    let listing = r[4].data.as_deref().unwrap();
    assert!(listing.lines().any(|l| l == "./DevInfo/DmV"), "{listing}");
    let mut copy = Command {
        op: Op::Copy,
        target: "./Z".into(),
        source: Some("./DevDetail/FwV".into()),
        data: None,
        format: None,
        mime: None,
        alert: None,
    };
    assert_eq!(
        statuses(&t, "srv1", &[Action::Command(copy.clone())]),
        [405],
        "DDF: FwV is Get only"
    );
    t.add("srv1", "./Src", &dmsched::tree::Payload::chr("v"), now())
        .unwrap();
    copy.source = Some("./Src".into());
    assert_eq!(statuses(&t, "srv1", &[Action::Command(copy)]), [200]);
    assert_eq!(t.get("srv1", "./Z").unwrap()[0].text(), "v");
}

/// TND 1.2 §7.11: scheduled changes carry the run's `now` as TStamp.
#[test]
fn executed_changes_are_stamped_with_the_run_time() {
    let t = tree();
    assert_eq!(statuses(&t, "srv1", &[add_chr("./T", "1")]), [200]);
    assert_eq!(
        t.get("srv1", "./T?prop=TStamp").unwrap()[0].text(),
        "20260301T123000Z"
    );
}
