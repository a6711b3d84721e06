//! Run history and resync over HTTPS (issue 18, B10): the device keeps the
//! last outcomes of each task, readable through `<T>/History`; a server
//! that lost its state Execs `./Scheduling/Operations/Resync` and gets, in
//! that one session, every one of its schedules (state, document, each
//! task's diagnostics and history) and the ReportIDs of the reports
//! waiting for it — which reached it as Generic Alerts at the start of the
//! same session. Another server's schedules are not in it.

use std::sync::atomic::Ordering;

use dmsched_dm_server::{Script, test_pki};

mod support;
use support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_lost_its_state_gets_everything_back_in_one_session() {
    let pki = test_pki(&["localhost"]);
    let every = r#"{"every": {"seconds": 60, "anchor": "2026-12-01T12:00:00Z"}}"#;
    let a_doc = format!(
        r#"{{"tasks": [{{"id": "T", "trigger": {every},
            "actions": [{{"op": "Replace", "target": "./Vendor/Mode", "data": "eco"}}],
            "policy": {{"report": "always"}}}}]}}"#
    );
    let b_doc = r#"{"tasks": [{"id": "U", "trigger": {"at": "2027-01-01T00:00:00Z"},
        "actions": [{"op": "Get", "target": "./DevInfo/DevId"}]}]}"#;
    let install = format!(
        r#"{{"steps": [
            [{{"add": {{"target": "./Vendor", "format": "node"}}}},
             {{"add": {{"target": "./Vendor/Mode", "data": "off"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/A", "data": {}, "type": "application/json"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/B", "data": {}, "type": "application/json"}}}}]
        ]}}"#,
        json_str(&a_doc),
        json_str(b_doc)
    );
    let a = server(&pki, "srv-a", &install).await;
    let other = server(
        &pki,
        "srv-b",
        &format!(
            r#"{{"steps": [[{{"add": {{"target": "./Scheduling/Schedules/A", "data": {}, "type": "application/json"}}}}]]}}"#,
            json_str(b_doc)
        ),
    )
    .await;
    let dev = device(&[
        account_file("srv-a", &a.url()),
        account_file("srv-b", &other.url()),
    ]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    dev.client
        .run_session("srv-b", None, &t, None)
        .await
        .unwrap();
    assert!(
        a.recorder()
            .statuses_for("Add")
            .iter()
            .chain(other.recorder().statuses_for("Add").iter())
            .all(|s| s.code == 200)
    );

    // Offline: A's task runs three times (12:00, 12:01, 12:02).
    for m in 0..=2 {
        dev.now.store(T0 + 60 * m, Ordering::SeqCst);
        let fired = dev
            .mo
            .tick(jiff::Timestamp::from_second(T0 + 60 * m).unwrap())
            .unwrap();
        assert_eq!(fired.len(), 1, "{fired:?}");
    }

    // The server lost everything. One session: it reads a history and
    // asks for the rest.
    a.recorder().clear();
    a.set_script(
        Script::from_json(
            r#"{"steps": [[{"get": "./Scheduling/Schedules/A/Tasks/T/History"},
                           {"exec": {"target": "./Scheduling/Operations/Resync"}}]]}"#,
        )
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let results = a.recorder().results();
    assert_eq!(results.len(), 2, "{results:?}");

    let history: serde_json::Value = serde_json::from_str(&results[0].data).unwrap();
    let seqs: Vec<(u64, &str, u64)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["seq"].as_u64().unwrap(),
                r["outcome"].as_str().unwrap(),
                r["result"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seqs, [(0, "ran", 200), (1, "ran", 200), (2, "ran", 200)]);
    assert_eq!(history[2]["run_at"], "2026-12-01T12:02:00Z");

    let resync: serde_json::Value = serde_json::from_str(&results[1].data).unwrap();
    assert_eq!(resync["server"], "srv-a");
    let schedules = resync["schedules"].as_array().unwrap();
    let ids: Vec<&str> = schedules
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["A", "B"], "srv-b's A is not srv-a's");
    assert_eq!(schedules[0]["state"], "active");
    assert_eq!(schedules[0]["state_code"], 20);
    assert_eq!(schedules[0]["uri"], "./Scheduling/Schedules/A");
    assert_eq!(
        schedules[0]["document"]["tasks"][0]["actions"][0]["target"],
        "./Vendor/Mode"
    );
    let task = &schedules[0]["tasks"][0];
    assert_eq!(task["runs"], 3);
    assert_eq!(task["history"].as_array().unwrap().len(), 3);
    assert_eq!(task["next_run"], "2026-12-01T12:03:00Z");
    assert!(
        schedules
            .iter()
            .all(|s| s["owner"] == "srv-a" && s["document"].is_object())
    );

    // The three result reports reached it in this same session, and the
    // resync names each by its ReportID.
    let alerts: Vec<String> = a
        .recorder()
        .generic_alerts()
        .iter()
        .filter(|x| x.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .map(|x| {
            let d = x.items[0].data.clone().unwrap();
            d.split("<ReportID>")
                .nth(1)
                .and_then(|r| r.split("</ReportID>").next())
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(alerts.len(), 3);
    let listed: Vec<&str> = resync["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["type"] == "org.dmsched.scheduling.result")
        .map(|r| r["report_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        alerts.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(resync["more_reports"], false);

    assert_eq!(resync["next"], serde_json::Value::Null, "one page");

    // Paged: a page of one, then the rest after it; a bad request is 400.
    a.recorder().clear();
    a.set_script(
        Script::from_json(
            r#"{"steps": [[{"exec": {"target": "./Scheduling/Operations/Resync", "data": "{\"max\": 1}"}},
                           {"exec": {"target": "./Scheduling/Operations/Resync", "data": "{\"after\": \"A\", \"max\": 1}"}},
                           {"exec": {"target": "./Scheduling/Operations/Resync", "data": "{\"max\": 0}"}}]]}"#,
        )
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let pages: Vec<serde_json::Value> = a
        .recorder()
        .results()
        .iter()
        .map(|r| serde_json::from_str(&r.data).unwrap())
        .collect();
    assert_eq!(pages.len(), 2);
    let ids = |p: &serde_json::Value| -> Vec<String> {
        p["schedules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        (ids(&pages[0]), pages[0]["next"].clone()),
        (vec!["A".to_string()], "A".into())
    );
    assert_eq!(
        (ids(&pages[1]), pages[1]["next"].clone()),
        (vec!["B".to_string()], serde_json::Value::Null)
    );
    assert!(
        pages[1]["reports"].as_array().unwrap().is_empty(),
        "reports on the first page only"
    );
    assert_eq!(a.recorder().statuses_for("Exec").last().unwrap().code, 400);

    // Resync is executed, not written.
    a.set_script(
        Script::from_json(
            r#"{"steps": [[{"replace": {"target": "./Scheduling/Operations/Resync", "data": "x"}}]]}"#,
        )
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert_eq!(
        a.recorder().statuses_for("Replace").last().unwrap().code,
        405
    );
}
