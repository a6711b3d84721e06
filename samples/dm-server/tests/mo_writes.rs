//! A scheduled action's write wakes another schedule's condition, end to
//! end over HTTPS (issue 13 item 1; 6.1.7.2, 6.1.7.4): srv-a installs A (at
//! 12:30 Replace ./Vendor/Mode := eco) and B (becomes_true ./Vendor/Mode ==
//! "eco": Replace ./Vendor/Ack := 1) through the Scheduling MO; offline, the
//! device's tick at 12:30 runs A and then B; the next session carries both
//! results.

use std::sync::atomic::Ordering;

use dmsched_dm_server::{Script, test_pki};

mod support;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_write_wakes_another_schedule_over_https() {
    let pki = test_pki(&["localhost"]);
    let a_doc = r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T12:30:00Z"},
        "actions": [{"op": "Replace", "target": "./Vendor/Mode", "data": "eco"}],
        "policy": {"report": "always"}}]}"#;
    let b_doc = r#"{"tasks": [{"id": "T", "trigger": {"becomes_true": "./Vendor/Mode == \"eco\""},
        "actions": [{"op": "Replace", "target": "./Vendor/Ack", "data": "1"}],
        "policy": {"report": "always"}}]}"#;
    let install = format!(
        r#"{{"steps": [
            [{{"add": {{"target": "./Vendor", "format": "node"}}}},
             {{"add": {{"target": "./Vendor/Mode", "data": "off"}}}},
             {{"add": {{"target": "./Vendor/Ack", "data": "0"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/A", "data": {}, "type": "application/json"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/B", "data": {}, "type": "application/json"}}}}]
        ]}}"#,
        json_str(a_doc),
        json_str(b_doc)
    );
    let a = server(&pki, "srv-a", &install).await;
    let dev = device(&[account_file("srv-a", &a.url())]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert!(
        a.recorder()
            .statuses_for("Add")
            .iter()
            .all(|s| s.code == 200),
        "{:?}",
        a.recorder().statuses_for("Add")
    );

    dev.now.store(T0 + 1800, Ordering::SeqCst);
    let fired = dev
        .mo
        .tick(jiff::Timestamp::from_second(T0 + 1800).unwrap())
        .unwrap();
    let ran: Vec<(&str, &str)> = fired
        .iter()
        .map(|f| (f.schedule.as_str(), f.outcome.as_str()))
        .collect();
    assert_eq!(ran, [("A", "ran"), ("B", "ran")], "{fired:?}");
    assert_eq!(
        fired[1].cause.as_deref(),
        Some("./Vendor/Mode changed by srv-a")
    );
    assert_eq!(
        dev.tree.device().get("./Vendor/Ack").unwrap()[0].text(),
        "1"
    );

    a.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let sources: Vec<String> = a
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|x| x.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .filter_map(|x| x.items[0].source.clone())
        .collect();
    assert_eq!(
        sources,
        [
            "./Scheduling/Schedules/A/Tasks/T",
            "./Scheduling/Schedules/B/Tasks/T"
        ]
    );

    // A DM command of srv-a's session writes the node: B's condition wakes
    // in the session, and its occurrence reaches the host with the next
    // tick, naming srv-a as its cause.
    a.set_script(
        Script::from_json(
            r#"{"steps": [[{"replace": {"target": "./Vendor/Mode", "data": "off"}}],
                          [{"replace": {"target": "./Vendor/Mode", "data": "eco"}}]]}"#,
        )
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert!(dev.mo.next_wakeup().is_some());
    let fired = dev
        .mo
        .tick(jiff::Timestamp::from_second(T0 + 1900).unwrap())
        .unwrap();
    let b: Vec<_> = fired.iter().filter(|f| f.schedule == "B").collect();
    assert_eq!(b.len(), 1, "{fired:?}");
    assert_eq!(
        b[0].cause.as_deref(),
        Some("./Vendor/Mode changed by srv-a")
    );
}
