//! Two management authorities over loopback HTTPS (6.1.7.6, 6.2.5): a
//! schedule is its installing server's; the other server can neither see,
//! read, change, suspend, end it nor widen its ACL until the owner grants
//! it through `<S>?prop=ACL`, and then exactly as far as granted. Reports
//! of what the other server did go to the owner. Each server's own
//! schedule stays out of the other's reach.

use dmsched::dm::transport::HttpTransport;
use dmsched::engine::ScheduleState;
use dmsched_dm_server::{RunningServer, Script, test_pki};

mod support;
use support::*;

/// Runs one session of `server_id` with `script`; returns the device's
/// statuses for the script's commands, in order, as `(cmd, code)`.
async fn session(
    dev: &Device,
    t: &HttpTransport,
    srv: &RunningServer,
    server_id: &str,
    script: &str,
) -> Vec<(String, u16)> {
    srv.set_script(Script::from_json(script).unwrap());
    srv.recorder().clear();
    dev.client
        .run_session(server_id, None, t, None)
        .await
        .unwrap();
    srv.recorder()
        .statuses()
        .into_iter()
        .filter(|s| s.cmd != "SyncHdr")
        .map(|s| (s.cmd, s.code))
        .collect()
}

fn codes(v: &[(String, u16)]) -> Vec<u16> {
    v.iter().map(|(_, c)| *c).collect()
}

fn state(dev: &Device, owner: &str, id: &str) -> ScheduleState {
    dev.mo.engine().get(owner, owner, id).unwrap().state
}

/// srv-a's A as srv-a names it (its own namespace).
const A: &str = "./Scheduling/Schedules/A";
/// srv-a's A as another server names it.
const AS: &str = "./Scheduling/Servers/srv-a/Schedules/A";

/// 6.1.7.6, 6.2.5, 6.3.1.5, 6.3.4.36: the two-server matrix over HTTPS:
/// each server has its own namespace; another server reaches a schedule
/// only through `Servers/<owner>/Schedules/<S>` and only as far as its ACL
/// grants; without a Get grant it answers as a missing one (404).
#[tokio::test(flavor = "current_thread")]
async fn another_authority_acts_on_a_schedule_only_as_far_as_its_acl_grants() {
    let doc = r#"{"name": "a's", "tasks": [{"id": "T", "trigger": {"every": {"seconds": 3600}},
        "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let pki = test_pki(&["localhost"]);
    let a = server(&pki, "srv-a", r#"{"steps": []}"#).await;
    let b = server(&pki, "srv-b", r#"{"steps": []}"#).await;
    let t = https(&pki);
    let dev = device(&[
        account_file("srv-a", &a.url()),
        account_file("srv-b", &b.url()),
    ]);
    let add = |id: &str| {
        format!(
            r#"{{"add": {{"target": "./Scheduling/Schedules/{id}", "data": {}, "type": "application/json"}}}}"#,
            json_str(doc)
        )
    };
    // Each server installs its own.
    let r = session(
        &dev,
        &t,
        &a,
        "srv-a",
        &format!(r#"{{"steps": [[{}]]}}"#, add("A")),
    )
    .await;
    assert_eq!(codes(&r), [200]);
    let r = session(
        &dev,
        &t,
        &b,
        "srv-b",
        &format!(r#"{{"steps": [[{}]]}}"#, add("B")),
    )
    .await;
    assert_eq!(codes(&r), [200]);

    // No grant: srv-b can do nothing to A, and learns nothing of it: A
    // answers as a missing schedule does, on either path.
    let everything = format!(
        r#"{{"steps": [[
            {{"get": "{AS}/State"}},
            {{"get": "{AS}?prop=ACL"}},
            {{"replace": {{"target": "{AS}/Name", "data": "b was here"}}}},
            {{"replace": {{"target": "{AS}/Document", "data": {doc}, "type": "application/json"}}}},
            {{"replace": {{"target": "{AS}?prop=ACL", "data": "Add=*&Delete=*&Exec=*&Get=*&Replace=*"}}}},
            {{"add": {{"target": "{AS}/Description", "data": "b was here"}}}},
            {{"exec": {{"target": "{AS}/Operations/Suspend"}}}},
            {{"delete": "{AS}/Name"}},
            {{"delete": "{AS}"}},
            {{"get": "./Scheduling/Schedules"}}
        ]]}}"#,
        doc = json_str(doc)
    );
    let r = session(&dev, &t, &b, "srv-b", &everything).await;
    assert_eq!(
        codes(&r),
        [404, 404, 404, 404, 404, 404, 404, 404, 404, 200],
        "{r:?}"
    );
    let listed = b.recorder().results();
    assert_eq!(listed.last().unwrap().data, "B", "srv-b sees only its own");
    let probe = format!(
        r#"{{"steps": [[
            {{"get": "{A}/State"}},
            {{"get": "./Scheduling/Schedules/Nope/State"}},
            {{"get": "./Scheduling/Servers/srv-a/Schedules/Nope/State"}},
            {{"get": "./Scheduling/Servers"}}
        ]]}}"#
    );
    let r = session(&dev, &t, &b, "srv-b", &probe).await;
    assert_eq!(codes(&r), [404, 404, 404, 200], "{r:?}");
    assert_eq!(
        b.recorder().results().last().unwrap().data,
        "srv-b",
        "srv-b sees only itself under Servers"
    );
    assert_eq!(state(&dev, "srv-a", "A"), ScheduleState::Active);
    let a_doc =
        serde_json::to_string(&dev.mo.engine().get("srv-a", "srv-a", "A").unwrap().document)
            .unwrap();
    assert!(!a_doc.contains("b was here"));

    // The owner grants Get and Exec; srv-a itself cannot reach B.
    let grant = format!(
        r#"{{"steps": [[
            {{"replace": {{"target": "{A}?prop=ACL", "data": "Get=srv-a+srv-b&Exec=srv-a+srv-b&Replace=srv-a&Delete=srv-a&Add=srv-a"}}}},
            {{"get": "{A}?prop=ACL"}},
            {{"get": "./Scheduling/Schedules/B/State"}},
            {{"delete": "./Scheduling/Servers/srv-b/Schedules/B"}}
        ]]}}"#
    );
    let r = session(&dev, &t, &a, "srv-a", &grant).await;
    assert_eq!(codes(&r), [200, 200, 404, 404], "{r:?}");
    assert_eq!(
        a.recorder().results()[0].data,
        "Add=srv-a&Delete=srv-a&Exec=srv-a+srv-b&Get=srv-a+srv-b&Replace=srv-a",
        "shown in canonical order"
    );
    assert_eq!(state(&dev, "srv-b", "B"), ScheduleState::Active);

    // srv-b now reads and suspends A, and still cannot change or end it.
    let r = session(&dev, &t, &b, "srv-b", &everything).await;
    assert_eq!(
        codes(&r),
        [200, 200, 425, 425, 425, 425, 200, 425, 425, 200],
        "{r:?}"
    );
    let res = b.recorder().results();
    assert_eq!(res[0].data, "20", "read before the Exec");
    assert_eq!(
        res.last().unwrap().data,
        "B",
        "its own namespace holds B only"
    );
    assert_eq!(state(&dev, "srv-a", "A"), ScheduleState::Suspended);

    // The owner hears of it (state report to srv-a, not srv-b), and grants Delete.
    let r = session(
        &dev,
        &t,
        &a,
        "srv-a",
        &format!(
            r#"{{"steps": [[{{"replace": {{"target": "{A}?prop=ACL", "data": "Get=srv-b&Delete=srv-b"}}}}]]}}"#
        ),
    )
    .await;
    assert_eq!(codes(&r), [200]);
    let states: Vec<String> = a
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter_map(|g| g.items[0].data.clone())
        .collect();
    assert!(
        states
            .iter()
            .any(|d| d.contains("<Event>suspended</Event>")),
        "{states:?}"
    );
    assert!(
        b.recorder()
            .generic_alerts()
            .iter()
            .all(|g| g.items[0].source.as_deref() != Some(A)),
        "srv-b gets no report of A"
    );

    // srv-b installs its own A while srv-a's is live (6.3.1.5: no 418),
    // then ends srv-a's A as granted; its own A and B are untouched, and
    // srv-a's grants do not reach srv-b's A.
    let r = session(
        &dev,
        &t,
        &b,
        "srv-b",
        &format!(r#"{{"steps": [[{}, {{"delete": "{AS}"}}]]}}"#, add("A")),
    )
    .await;
    assert_eq!(codes(&r), [200, 200], "{r:?}");
    assert_eq!(state(&dev, "srv-b", "A"), ScheduleState::Active);
    assert_eq!(state(&dev, "srv-b", "B"), ScheduleState::Active);
    assert_eq!(state(&dev, "srv-a", "A"), ScheduleState::Terminated);
    let r = session(
        &dev,
        &t,
        &a,
        "srv-a",
        &format!(
            r#"{{"steps": [[{{"get": "{A}/State"}}, {{"delete": "{A}"}}, {{"get": "./Scheduling/Servers/srv-b/Schedules/A/State"}}]]}}"#
        ),
    )
    .await;
    assert_eq!(codes(&r), [200, 404, 404], "{r:?}");
    assert_eq!(
        a.recorder().results()[0].data,
        "80",
        "srv-a's own A, terminated"
    );
    let terminated = a
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter_map(|g| g.items[0].data.clone())
        .any(|d| d.contains("<Event>terminated</Event>"));
    assert!(terminated, "srv-a is told its schedule was ended");
}
