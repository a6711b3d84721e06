//! Report identity over HTTPS (issue 14; 6.1.2.1, 6.1.3.3, 6.3.4.1.10): every
//! Generic Alert 1226 the device sends — result and state reports — begins
//! its Data with `<ReportID>` and `<Created>`. Delivery is at least once:
//! when the server read the message with the reports but its answer was
//! lost (the connection closed before the device got it), the next session
//! carries the same reports again with the same identifiers and creation
//! times, so the server can process each report exactly once.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use dmsched_dm_server::{RecordedAlert, RunningServer, Script, test_pki};

mod support;
use support::*;

/// `(ReportID, Created)` opening a report's Data (as a server reads
/// them); panics naming the Data when it has none.
fn identity(data: &str) -> (String, String) {
    let body = data
        .strip_prefix("<State><ReportID>")
        .or_else(|| data.strip_prefix("<Result><ReportID>"))
        .unwrap_or_else(|| panic!("the Data does not open with a ReportID: {data}"));
    let (id, rest) = body.split_once("</ReportID><Created>").unwrap();
    let (created, _) = rest.split_once("</Created>").unwrap();
    assert!(
        id.len() == 32 && id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
        "{id}"
    );
    (id.to_string(), created.to_string())
}

fn reports(srv: &RunningServer) -> Vec<(String, String)> {
    srv.recorder()
        .generic_alerts()
        .into_iter()
        .map(|g: RecordedAlert| {
            (
                g.items[0].meta_type.clone().unwrap_or_default(),
                g.items[0].data.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// 6.1.3.3, 6.3.4.1.10, at-least-once delivery. The lost acknowledgement:
/// the server reads the message carrying every kind of report the device
/// queues — state reports made in a session
/// (installed, in the DM client's alert queue), an automatic end
/// (completed, in the MO's queue) and a result (in the engine's outbox) —,
/// then the connection is closed before the device gets the answer. The
/// next session delivers them again with the same identifiers and
/// creation times (byte-identical Data); after that acknowledgement
/// nothing is sent again. A later state report (terminated) has an
/// identifier of its own and its creation time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_whose_acknowledgement_is_lost_comes_again_with_the_same_id() {
    let pki = test_pki(&["localhost"]);
    let once = r#"{"tasks": [{"id": "T1", "trigger": {"at": "2026-12-01T12:10:00Z"},
        "actions": [{"op": "Get", "target": "./DevInfo/Man"}],
        "policy": {"report": "always"}}]}"#;
    let idle = r#"{"tasks": [{"id": "T1", "trigger": {"event": {"name": "never"}},
        "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let install = format!(
        r#"{{"steps": [[{{"add": {{"target": "./Scheduling/Schedules/S1", "data": {}, "type": "application/json"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/S2", "data": {}, "type": "application/json"}}}}]]}}"#,
        json_str(once),
        json_str(idle)
    );
    let srv = server(&pki, "srv-a", &install).await;
    let dev = device(&[account_file("srv-a", &srv.url())]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert!(reports(&srv).is_empty());
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());

    // Offline at 12:10 S1 runs and completes: a result and an end.
    dev.now.store(T0 + 600, Ordering::SeqCst);
    let at = jiff::Timestamp::from_second(T0 + 600).unwrap();
    assert_eq!(dev.mo.tick(at).unwrap().len(), 1);

    // The server reads the reports; its answer is lost.
    srv.lose_answers_to_reports(1);
    let lost = dev.client.run_session("srv-a", None, &t, None).await;
    assert!(lost.is_err(), "the device got no answer: {lost:?}");
    let first = reports(&srv);
    let kinds: BTreeMap<String, (String, String)> = first
        .iter()
        .map(|(ty, d)| {
            let what = match d.split("<Event>").nth(1) {
                Some(e) => format!("{} {}", e.split('<').next().unwrap(), schedule(d)),
                None => ty.clone(),
            };
            (what, identity(d))
        })
        .collect();
    let created = |k: &str| kinds[k].1.as_str();
    assert_eq!(
        kinds.keys().collect::<Vec<_>>(),
        [
            "completed S1",
            "installed S1",
            "installed S2",
            "org.dmsched.scheduling.result"
        ],
        "{first:?}"
    );
    assert_eq!(created("installed S1"), "2026-12-01T12:00:00Z");
    assert_eq!(created("completed S1"), "2026-12-01T12:10:00Z");
    assert_eq!(
        created("org.dmsched.scheduling.result"),
        "2026-12-01T12:10:00Z"
    );
    let distinct: std::collections::BTreeSet<&String> = kinds.values().map(|(id, _)| id).collect();
    assert_eq!(distinct.len(), 4, "every report its own id: {kinds:?}");

    // Next session: the same reports again, same ids, same times.
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let all = reports(&srv);
    assert_eq!(all.len(), 8, "{all:?}");
    let sorted = |v: &[(String, String)]| {
        let mut v = v.to_vec();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&all[4..]),
        sorted(&first),
        "re-delivered with the same identifiers and creation times"
    );
    // Acknowledged now: nothing goes again.
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert_eq!(reports(&srv).len(), 8);
    assert!(dev.mo.reports("srv-a", 10).unwrap().is_empty());

    // A state report made later (terminated) has its own id and time.
    dev.now.store(T0 + 700, Ordering::SeqCst);
    srv.set_script(
        Script::from_json(r#"{"steps": [[{"delete": "./Scheduling/Schedules/S2"}]]}"#).unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let all = reports(&srv);
    assert_eq!(all.len(), 9, "{all:?}");
    assert!(all[8].1.contains("<Event>terminated</Event>"), "{all:?}");
    let (id, created) = identity(&all[8].1);
    assert_eq!(created, "2026-12-01T12:11:40Z");
    assert!(!distinct.contains(&id));
}

fn schedule(data: &str) -> &str {
    data.split("<Schedule>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or("")
}
