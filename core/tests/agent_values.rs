//! `Agent::set_value` (full-client mode, issue 6): values the device sets
//! create their missing parents, also when threads race to create them.

use std::sync::Arc;

use dmsched::agent::{Agent, AgentConfig, AgentHost};
use dmsched::expr::Value;
use dmsched::tree::DeviceInfo;

fn agent(dir: &std::path::Path) -> Agent {
    let device = DeviceInfo {
        dev_id: "IMEI:1".into(),
        man: "dmsched".into(),
        model: "t".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    Agent::open(
        AgentConfig::new(dir, device),
        AgentHost::default(),
        "2026-12-01T10:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

/// Two threads setting sibling leaves under the same missing parents both
/// succeed (the second creator of a parent sees 418 and carries on).
#[test]
fn concurrent_values_under_new_parents_all_succeed() {
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let a = Arc::new(agent(dir.path()));
        let now = "2026-12-01T10:00:01Z".parse().unwrap();
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let a = a.clone();
                std::thread::spawn(move || {
                    a.set_value(&format!("./Ext/Sensors/S{i}"), &Value::Int(i), now)
                })
            })
            .collect();
        for t in threads {
            t.join()
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        for i in 0..4 {
            assert_eq!(
                a.tree()
                    .device()
                    .get(&format!("./Ext/Sensors/S{i}"))
                    .unwrap()[0]
                    .text(),
                i.to_string()
            );
        }
    }
}

/// The value's type becomes the leaf's format, so conditions compare numbers.
#[test]
fn values_keep_their_type() {
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path());
    let now = "2026-12-01T10:00:01Z".parse().unwrap();
    a.set_value("./Ext/Battery/Level", &Value::Int(15), now)
        .unwrap();
    a.set_value("./Ext/Battery/Charging", &Value::Bool(true), now)
        .unwrap();
    let level = &a.tree().device().get("./Ext/Battery/Level").unwrap()[0];
    assert_eq!(
        (level.format.as_str(), level.text().as_str()),
        ("int", "15")
    );
    assert_eq!(
        a.tree().device().get("./Ext/Battery/Charging").unwrap()[0]
            .format
            .as_str(),
        "bool"
    );
}

/// Issue 13 item 1 through the agent's own tree: schedule A's Atomic
/// Replaces a node, schedule B waits for that node's value; B runs in the same tick
/// as A (the tree executor's write wakes B's condition), and B's own
/// Sequence Replace wakes schedule C in turn.
#[test]
fn writes_of_scheduled_actions_on_the_agents_tree_wake_conditions() {
    use dmsched::model::Outcome;
    use dmsched::tree::Payload;
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path());
    let t0: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    a.set_value("./Vendor/Acc/Mode", &Value::Str("normal".into()), t0)
        .unwrap();
    a.set_value("./Vendor/Acc/Ack", &Value::Int(0), t0).unwrap();
    a.tree()
        .device()
        .replace(
            "./Vendor/Acc?prop=ACL",
            &Payload::chr("Get=*&Replace=srv-a"),
            t0,
        )
        .unwrap();
    let install = |id: &str, doc: &str| {
        a.tree()
            .add(
                "srv-a",
                &format!("./Scheduling/Schedules/{id}"),
                &Payload {
                    mime: Some("application/json".into()),
                    ..Payload::chr(doc)
                },
                t0,
            )
            .unwrap();
        a.scheduling().settle();
    };
    install(
        "A",
        r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T10:05:00Z"},
            "actions": [{"atomic": [{"op": "Replace", "target": "./Vendor/Acc/Mode", "data": "eco"}]}]}]}"#,
    );
    install(
        "B",
        r#"{"tasks": [{"id": "T", "trigger": {"becomes_true": "./Vendor/Acc/Mode == \"eco\""},
            "actions": [{"sequence": [{"op": "Replace", "target": "./Vendor/Acc/Ack", "data": "1", "format": "int"}]}]}]}"#,
    );
    install(
        "C",
        r#"{"tasks": [{"id": "T", "trigger": {"becomes_true": "./Vendor/Acc/Ack == 1"},
            "actions": [{"op": "Get", "target": "./Vendor/Acc/Mode"}]}]}"#,
    );
    assert_eq!(a.schedules().unwrap().len(), 3);
    a.tick(t0).unwrap();
    let fired = a.tick("2026-12-01T10:05:00Z".parse().unwrap()).unwrap();
    let ran: Vec<_> = fired
        .iter()
        .map(|f| (f.schedule.as_str(), f.outcome))
        .collect();
    assert_eq!(
        ran,
        [
            ("A", Outcome::Ran),
            ("B", Outcome::Ran),
            ("C", Outcome::Ran)
        ],
        "{fired:?}"
    );
}

/// The agent's wake-up window is the MO's (runs with their delay) and is
/// what `next_wakeup` says at its start (issue 13: the MO's façade; issue
/// 15: the UniFFI agent used the bare engine's window).
#[test]
fn the_agents_wakeup_window_spans_the_tasks_delay() {
    use dmsched::tree::Payload;
    let dir = tempfile::tempdir().unwrap();
    let a = agent(dir.path());
    let t0: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
    assert_eq!(a.wakeup_window(), None);
    a.tree()
        .add(
            "srv-a",
            "./Scheduling/Schedules/W",
            &Payload {
                mime: Some("application/json".into()),
                ..Payload::chr(
                    r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T10:05:00Z"},
                        "constraints": {"max_delay_seconds": 600},
                        "actions": [{"op": "Get", "target": "./DevInfo/DevId"}]}]}"#,
                )
            },
            t0,
        )
        .unwrap();
    a.scheduling().settle();
    let (from, latest) = a.wakeup_window().unwrap();
    assert_eq!(from, "2026-12-01T10:05:00Z".parse().unwrap());
    assert_eq!(latest, "2026-12-01T10:15:00Z".parse().unwrap());
    assert_eq!(a.next_wakeup(), Some(from));
    let fired = a.tick(latest).unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(a.wakeup_window(), None);
}
