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

const A: &str = "./Scheduling/Schedules/A";

/// 6.1.7.6, 6.2.5, 6.3.4.36: the two-server matrix over HTTPS.
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

    // No grant: srv-b can do nothing to A, and does not see it listed.
    let everything = format!(
        r#"{{"steps": [[
            {{"get": "{A}/State"}},
            {{"get": "{A}?prop=ACL"}},
            {{"replace": {{"target": "{A}/Name", "data": "b was here"}}}},
            {{"replace": {{"target": "{A}/Document", "data": {doc}, "type": "application/json"}}}},
            {{"replace": {{"target": "{A}?prop=ACL", "data": "Add=*&Delete=*&Exec=*&Get=*&Replace=*"}}}},
            {{"add": {{"target": "{A}/Description", "data": "b was here"}}}},
            {{"exec": {{"target": "{A}/Operations/Suspend"}}}},
            {{"delete": "{A}/Name"}},
            {{"delete": "{A}"}},
            {{"get": "./Scheduling/Schedules"}}
        ]]}}"#,
        doc = json_str(doc)
    );
    let r = session(&dev, &t, &b, "srv-b", &everything).await;
    assert_eq!(
        codes(&r),
        [425, 425, 425, 425, 425, 425, 425, 425, 425, 200],
        "{r:?}"
    );
    let listed = b.recorder().results();
    assert_eq!(listed.last().unwrap().data, "B", "srv-b sees only its own");
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
            {{"delete": "./Scheduling/Schedules/B"}}
        ]]}}"#
    );
    let r = session(&dev, &t, &a, "srv-a", &grant).await;
    assert_eq!(codes(&r), [200, 200, 425, 425], "{r:?}");
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
    assert_eq!(res.last().unwrap().data, "A/B");
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

    // srv-b ends A; B is untouched; the id is free for srv-b to reuse,
    // and srv-a's grants do not follow it.
    let r = session(
        &dev,
        &t,
        &b,
        "srv-b",
        &format!(r#"{{"steps": [[{{"delete": "{A}"}}, {}]]}}"#, add("A")),
    )
    .await;
    assert_eq!(codes(&r), [200, 200], "{r:?}");
    assert_eq!(state(&dev, "srv-b", "A"), ScheduleState::Active);
    assert_eq!(state(&dev, "srv-b", "B"), ScheduleState::Active);
    let r = session(
        &dev,
        &t,
        &a,
        "srv-a",
        &format!(r#"{{"steps": [[{{"get": "{A}/State"}}, {{"delete": "{A}"}}]]}}"#),
    )
    .await;
    assert_eq!(codes(&r), [425, 425], "{r:?}");
    let terminated = a
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter_map(|g| g.items[0].data.clone())
        .any(|d| d.contains("<Event>terminated</Event>"));
    assert!(terminated, "srv-a is told its schedule was ended");
}
