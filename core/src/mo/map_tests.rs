//! Unit tests of the MO ⇄ model mapping.

use super::*;
use crate::model::{Action, Every, ReportWhen};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cx(limits: &Limits) -> BuildCx<'_> {
    BuildCx {
        limits,
        device_tz: "Europe/Berlin",
        now: ts("2026-12-01T12:00:00Z"),
    }
}

const CMDS: &str = "<SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Mode</LocURI></Target><Data>eco</Data></Item></Replace></SyncBody>";

fn put(n: &mut Nodes, path: &str, v: &str) {
    let mut prefix = String::new();
    let parts: Vec<&str> = path.split('/').collect();
    for p in &parts[..parts.len() - 1] {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(p);
        n.entry(prefix.clone()).or_insert(Node::Interior);
    }
    n.insert(path.into(), Node::chr(v));
}

/// 6.1.7.2, 6.1.7.5: triggers are OR-ed into one engine task each;
/// Base + RRule is a calendar rule whose DTSTART is Base in TZ; Base alone
/// is an `at`; a TreeValue becomes `becomes_true`, beside a Time trigger a
/// `require`; UI/Mode 3 asks before each run; Gating sets the report policy,
/// Delivery its delivery.
#[test]
fn mo_nodes_map_to_engine_tasks_one_per_trigger() {
    let mut n = Nodes::new();
    put(&mut n, "Name", "eco");
    put(&mut n, "Valid/From", "2026-12-01T00:00:00Z");
    put(&mut n, "UI/Mode", "3");
    put(&mut n, "Report/Gating", "3");
    put(&mut n, "Report/Delivery", "immediate");
    put(&mut n, "Tasks/T/Cmds", CMDS);
    put(
        &mut n,
        "Tasks/T/Triggers/G1/Time/Base",
        "2026-12-01T12:30:00Z",
    );
    put(&mut n, "Tasks/T/Triggers/G1/Time/RRule", "FREQ=DAILY");
    put(&mut n, "Tasks/T/Triggers/G1/Time/TZ", "Europe/Berlin");
    put(
        &mut n,
        "Tasks/T/Triggers/G1/TreeValue/URI",
        "./DevDetail/Ext/Battery/Level",
    );
    put(&mut n, "Tasks/T/Triggers/G1/TreeValue/Op", "ge");
    put(&mut n, "Tasks/T/Triggers/G1/TreeValue/Value", "30");
    put(&mut n, "Tasks/T/Triggers/G2/TreeValue/URI", "./Vendor/Net");
    put(&mut n, "Tasks/T/Triggers/G2/TreeValue/Op", "eq");
    put(&mut n, "Tasks/T/Triggers/G2/TreeValue/Value", "wifi");
    put(
        &mut n,
        "Tasks/T/Triggers/G3/Time/Base",
        "2026-12-24T18:00:00",
    );
    put(&mut n, "Tasks/T/Triggers/G3/Time/TZ", "Europe/Berlin");
    put(&mut n, "Tasks/T/Triggers/G4/Event/ID", "charger");
    put(
        &mut n,
        "Tasks/T/Triggers/G4/Event/Filter",
        "event.plugged == true",
    );
    let l = Limits::default();
    let b = build("S1", &n, &cx(&l)).unwrap();
    let d = &b.doc;
    assert_eq!(d.id, "S1");
    assert_eq!(d.name.as_deref(), Some("eco"));
    let ids: Vec<&str> = d.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["T.G1", "T.G2", "T.G3", "T.G4"]);
    let Trigger::Calendar(c) = &d.tasks[0].trigger else {
        panic!("{:?}", d.tasks[0].trigger)
    };
    assert_eq!(
        c.dtstart.unwrap().to_string(),
        "2026-12-01T13:30:00",
        "Base read in TZ"
    );
    assert_eq!(c.tz.as_deref(), Some("Europe/Berlin"));
    assert_eq!(
        d.tasks[0].constraints.require.as_deref(),
        Some("./DevDetail/Ext/Battery/Level >= 30")
    );
    assert_eq!(
        d.tasks[1].trigger,
        Trigger::BecomesTrue(Edge::plain("./Vendor/Net == \"wifi\""))
    );
    assert_eq!(d.tasks[2].trigger, Trigger::At(ts("2026-12-24T17:00:00Z")));
    assert!(matches!(&d.tasks[3].trigger, Trigger::Event(e) if e.name == "charger"));
    assert!(d.tasks.iter().all(|t| t.policy.confirm));
    assert!(
        d.tasks
            .iter()
            .all(|t| t.policy.report == ReportWhen::Always)
    );
    assert!(
        d.tasks
            .iter()
            .all(|t| t.policy.report_delivery == crate::model::ReportDelivery::Immediate),
        "Report/Delivery applies to every task"
    );
    let map = task_map(&n);
    assert_eq!(map["T.G2"], ("T".to_string(), "G2".to_string()));
}

#[test]
fn a_single_trigger_keeps_the_task_id() {
    let mut n = Nodes::new();
    put(&mut n, "Tasks/T/Cmds", CMDS);
    put(&mut n, "Tasks/T/Triggers/Only/Event/ID", "boot");
    let l = Limits::default();
    let b = build("S", &n, &cx(&l)).unwrap();
    assert_eq!(b.doc.tasks[0].id, "T");
    assert_eq!(task_map(&n)["T"], ("T".to_string(), "Only".to_string()));
}

/// 6.3.1.42: a schedule that is incomplete or inconsistent as a whole is
/// refused with the node it concerns.
#[test]
fn whole_schedule_problems_name_the_mo_node() {
    let l = Limits::default();
    let mut n = Nodes::new();
    put(&mut n, "Tasks/T/Triggers/G/Event/ID", "boot");
    let e = build("S", &n, &cx(&l)).unwrap_err();
    assert_eq!(e.status(), 400);
    assert!(e.to_string().contains("Tasks/T/Cmds is required"), "{e}");

    let mut n = Nodes::new();
    put(&mut n, "Tasks/T/Cmds", CMDS);
    put(
        &mut n,
        "Tasks/T/Triggers/G/Time/Base",
        "2026-12-01T00:00:00",
    );
    put(&mut n, "Tasks/T/Triggers/G/Time/RRule", "FREQ=SECONDLY");
    let e = build("S", &n, &cx(&l)).unwrap_err();
    assert!(e.to_string().contains("Tasks/T/Triggers/G/Time"), "{e}");

    let mut n = Nodes::new();
    put(&mut n, "Tasks/T/Cmds", CMDS);
    put(
        &mut n,
        "Tasks/T/Triggers/G/Time/Base",
        "2026-12-01T00:00:00Z",
    );
    put(&mut n, "Tasks/T/Triggers/G/Event/ID", "boot");
    assert_eq!(build("S", &n, &cx(&l)).unwrap_err().status(), 406);

    let mut n = Nodes::new();
    put(&mut n, "Valid/From", "2027-01-01T00:00:00Z");
    put(&mut n, "Valid/To", "2026-01-01T00:00:00Z");
    put(&mut n, "Tasks/T/Cmds", CMDS);
    put(&mut n, "Tasks/T/Triggers/G/Event/ID", "boot");
    let e = build("S", &n, &cx(&l)).unwrap_err();
    assert!(e.to_string().contains("Valid/To"), "{e}");
}

/// The reverse mapping: a JSON-installed schedule shown as MO nodes maps
/// back to the same document (every trigger but `every`, which is shown
/// as the equivalent FREQ=SECONDLY rule).
#[test]
fn engine_documents_map_to_mo_nodes_and_back() {
    let json = r#"{"id": "S", "name": "n", "description": "d", "tz": "Europe/Berlin",
      "valid_from": "2026-12-01T00:00:00Z", "valid_until": "2027-12-01T00:00:00Z",
      "tasks": [
        {"id": "a", "trigger": {"at": "2026-12-24T17:00:00Z"},
         "actions": [{"op": "Get", "target": "./DevInfo/Man"},
                     {"atomic": [{"op": "Replace", "target": "./X", "data": "1", "format": "int"}]}],
         "constraints": {"windows": [{"start": "01:00", "end": "05:00"}], "max_delay_seconds": 60},
         "termination": {"max_runs": 3},
         "policy": {"report": "always", "retry": {"max": 2, "backoff": 60}}},
        {"id": "c", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=3", "dtstart": "2026-12-01T03:00:00", "tz": "Europe/Berlin"}},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]},
        {"id": "e", "trigger": {"event": {"name": "network", "filter": "event.type == \"wifi\""}},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]},
        {"id": "b", "trigger": {"becomes_true": "./DevDetail/Ext/Battery/Level < 20"},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]},
        {"id": "x", "trigger": {"becomes_true": "exists(./A) && ./A > 3"},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]},
        {"id": "v", "trigger": {"changes": "./Vendor/Config/Mode"},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]},
        {"id": "h", "trigger": {"becomes_true": {"condition": "./DevDetail/Ext/Battery/Level < 20",
           "rearm_when": "./DevDetail/Ext/Battery/Level > 25", "for_seconds": 60}},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]}
      ]}"#;
    let doc: Schedule = serde_json::from_str(json).unwrap();
    let nodes = nodes_of(&doc, ts("2026-12-01T00:00:00Z"));
    assert_eq!(
        text_at(&nodes, "Tasks/b/Triggers/G1/TreeValue/Op"),
        Some("lt")
    );
    assert_eq!(
        text_at(&nodes, "Tasks/x/Triggers/G1/Condition"),
        Some("exists(./A) && ./A > 3")
    );
    // Issue 18 (B8): the hysteresis of a becomes_true edge.
    assert_eq!(
        text_at(&nodes, "Tasks/h/Triggers/G1/RearmWhen"),
        Some("./DevDetail/Ext/Battery/Level > 25")
    );
    assert_eq!(
        text_at(&nodes, "Tasks/h/Triggers/G1/ForSeconds"),
        Some("60")
    );
    // Issue 18: a value change is TreeValue Op changed, without a Value.
    assert_eq!(
        text_at(&nodes, "Tasks/v/Triggers/G1/TreeValue/Op"),
        Some("changed")
    );
    assert_eq!(text_at(&nodes, "Tasks/v/Triggers/G1/TreeValue/Value"), None);
    let l = Limits::default();
    let back = build("S", &nodes, &cx(&l)).unwrap().doc;
    // MO tasks come in node-name order.
    let mut sorted = doc.clone();
    sorted.tasks.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(back, sorted);

    let every = Schedule {
        tasks: vec![Task {
            trigger: Trigger::Every(Every {
                seconds: 3600,
                anchor: None,
            }),
            ..doc.tasks[1].clone()
        }],
        ..doc.clone()
    };
    let nodes = nodes_of(&every, ts("2026-12-01T00:30:00Z"));
    assert_eq!(
        text_at(&nodes, "Tasks/c/Triggers/G1/Time/RRule"),
        Some("FREQ=SECONDLY;INTERVAL=3600")
    );
    let back = build("S", &nodes, &cx(&l)).unwrap().doc;
    assert!(
        matches!(&back.tasks[0].trigger, Trigger::Calendar(c) if c.dtstart.is_some_and(|d| d.to_string() == "2026-12-01T00:30:00"))
    );
    assert!(matches!(&back.tasks[0].actions[0], Action::Command(_)));
}

#[test]
fn gating_bits_choose_the_report_policy() {
    assert_eq!(report_when(0b00001), ReportWhen::Always);
    assert_eq!(report_when(0b00010), ReportWhen::OnFailure);
    assert_eq!(report_when(0b01000), ReportWhen::OnFailure);
    assert_eq!(report_when(0b10000), ReportWhen::Never);
}

#[test]
fn tree_value_literals_are_typed() {
    assert_eq!(literal("30"), "30");
    assert_eq!(literal("-1.5"), "-1.5");
    assert_eq!(literal("true"), "true");
    assert_eq!(literal("wi\"fi"), "\"wi\\\"fi\"");
    assert_eq!(literal("1.2.3"), "\"1.2.3\"");
}

/// Issue 17: a calendar that inherits the schedule's zone and a default
/// start shows both in the MO, as the engine runs it.
#[test]
fn an_inherited_zone_and_default_start_show_in_the_mo() {
    let json = r#"{"id": "S", "tz": "Europe/Berlin", "tasks": [
        {"id": "w", "trigger": {"calendar": {"rrule": "FREQ=WEEKLY;BYDAY=MO;BYHOUR=3"}},
         "actions": [{"op": "Exec", "target": "./Vendor/Run"}]}]}"#;
    let doc: Schedule = serde_json::from_str(json).unwrap();
    let nodes = nodes_of(&doc, ts("2026-03-04T10:00:00Z"));
    assert_eq!(
        text_at(&nodes, "Tasks/w/Triggers/G1/Time/TZ"),
        Some("Europe/Berlin")
    );
    assert_eq!(
        text_at(&nodes, "Tasks/w/Triggers/G1/Time/Base"),
        Some("2026-03-04T00:00:00")
    );
    // RearmWhen/ForSeconds beside Time: refused, naming the node.
    let mut nodes = nodes;
    put(&mut nodes, "Tasks/w/Triggers/G1/ForSeconds", "60");
    let l = Limits::default();
    let err = build("S", &nodes, &cx(&l)).unwrap_err().to_string();
    assert!(
        err.contains("RearmWhen and ForSeconds belong to a TreeValue or Condition trigger alone"),
        "{err}"
    );
}

/// TreeValue Op `changed` (406 before issue 18) is a trigger of its own.
#[test]
fn tree_value_changed_is_a_trigger_of_its_own() {
    let l = Limits::default();
    let mut n = Nodes::new();
    put(
        &mut n,
        "Tasks/t/Cmds",
        "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Run</LocURI></Target></Item></Exec>",
    );
    put(
        &mut n,
        "Tasks/t/Triggers/G1/TreeValue/URI",
        "./Vendor/Config/Mode",
    );
    put(&mut n, "Tasks/t/Triggers/G1/TreeValue/Op", "changed");
    let doc = build("S", &n, &cx(&l)).unwrap().doc;
    assert_eq!(
        doc.tasks[0].trigger,
        Trigger::Changes("./Vendor/Config/Mode".into())
    );
    put(&mut n, "Tasks/t/Triggers/G1/Condition", "./A > 1");
    let err = build("S", &n, &cx(&l)).unwrap_err();
    assert!(
        err.to_string()
            .contains("Op changed is a trigger of its own"),
        "{err}"
    );
}

/// Task chaining (406 before issue 18): `<T>/DependsOn` is an `after`
/// trigger, both ways; with Triggers too, or to a task with several
/// triggers, 406.
#[test]
fn depends_on_chains_tasks_both_ways() {
    let l = Limits::default();
    let mut n = Nodes::new();
    let exec =
        "<Exec><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Run</LocURI></Target></Item></Exec>";
    put(&mut n, "Tasks/download/Cmds", exec);
    put(
        &mut n,
        "Tasks/download/Triggers/G1/Time/Base",
        "2026-12-24T17:00:00Z",
    );
    put(&mut n, "Tasks/install/Cmds", exec);
    put(&mut n, "Tasks/install/DependsOn", "download");
    put(&mut n, "Tasks/install/DependsOnOutcome", "ran,failed");
    let doc = build("S", &n, &cx(&l)).unwrap().doc;
    let install = doc.tasks.iter().find(|t| t.id == "install").unwrap();
    assert_eq!(
        install.trigger,
        Trigger::After(After {
            task: "download".into(),
            outcome: vec![crate::model::Outcome::Ran, crate::model::Outcome::Failed],
        })
    );
    let nodes = nodes_of(&doc, ts("2026-12-01T00:00:00Z"));
    assert_eq!(text_at(&nodes, "Tasks/install/DependsOn"), Some("download"));
    assert_eq!(
        text_at(&nodes, "Tasks/install/DependsOnOutcome"),
        Some("ran,failed")
    );
    assert!(!nodes.contains_key("Tasks/install/Triggers"));
    assert_eq!(build("S", &nodes, &cx(&l)).unwrap().doc, doc);
    // Both DependsOn and Triggers: 406.
    put(
        &mut n,
        "Tasks/install/Triggers/G1/Time/Base",
        "2026-12-24T17:00:00Z",
    );
    let err = build("S", &n, &cx(&l)).unwrap_err();
    assert_eq!(err.status(), 406, "{err}");
}
