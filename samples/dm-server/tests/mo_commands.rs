//! Every DM command kind fired from a schedule, end to end over HTTPS
//! (issue 18; 6.1.7.4 "any DM command is schedulable", 6.1.7.6 "with the
//! owner's rights"): the test server installs a schedule through the
//! Scheduling MO whose tasks run Add, Replace, Delete, Get (with `?list=`
//! and `?prop=`), Exec, Copy, Alert (1101, 1102, 1103, unattended with a
//! default, declined), Atomic (rolled back) and Sequence; offline, the
//! device runs them at their time; the tree shows every write, the next
//! session carries one result report per task with every command's status
//! and data.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use dmsched::dm::session::{UiKind, UiRequest, UiResponse, UserInteraction};
use dmsched::engine::EngineConfig;
use dmsched::tree::{ExecResult, TreeError, Uri};
use dmsched_dm_server::{Script, test_pki};

mod support;
use support::*;

/// A user who answers by the text shown, and remembers what was asked.
struct User {
    asked: Mutex<Vec<UiRequest>>,
}

impl UserInteraction for User {
    fn interact(&self, r: &UiRequest) -> UiResponse {
        self.asked.lock().unwrap().push(r.clone());
        match r.text.as_str() {
            "Install now?" => UiResponse::Yes,
            "Really erase?" => UiResponse::No,
            "Your name?" => UiResponse::Text("Ada".into()),
            "Which mode?" => UiResponse::Choices(vec![2]),
            // The device is locked: nothing is shown.
            "Night install?" => UiResponse::CannotShow,
            other => panic!("unexpected alert {other:?}"),
        }
    }
}

/// An Exec the tree ran: (server, data).
type Exec = (Option<String>, String);

/// The `<Cmd …>` lines of a result report, as (op, target, status, data).
fn cmds(report: &str) -> Vec<(String, String, u16, String)> {
    let attr = |s: &str, name: &str| {
        s.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    };
    report
        .split("<Cmd ")
        .skip(1)
        .map(|c| {
            let head = c.split('>').next().unwrap();
            let data = if head.ends_with('/') {
                String::new()
            } else {
                c.split_once('>')
                    .unwrap()
                    .1
                    .split("</Cmd>")
                    .next()
                    .unwrap()
                    .to_string()
            };
            (
                attr(head, "op"),
                attr(head, "target").replace("&amp;", "&"),
                attr(head, "status").parse().unwrap(),
                data,
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_kind_runs_from_a_schedule_and_is_reported_over_https() {
    let pki = test_pki(&["localhost"]);
    let at = r#"{"at": "2026-12-01T12:30:00Z"}"#;
    let doc = format!(
        r#"{{"tasks": [
        {{"id": "writes", "trigger": {at}, "policy": {{"report": "always"}}, "actions": [
            {{"op": "Add", "target": "./Vendor/New", "data": "n"}},
            {{"op": "Replace", "target": "./Vendor/A", "data": "a1"}},
            {{"op": "Delete", "target": "./Vendor/Gone"}},
            {{"op": "Copy", "target": "./Vendor/BCopy", "source": "./Vendor/B"}},
            {{"op": "Exec", "target": "./Vendor/Run", "data": "go"}},
            {{"op": "Get", "target": "./Vendor/Sub?list=Struct"}},
            {{"op": "Get", "target": "./Vendor/A?prop=Format"}},
            {{"op": "Replace", "target": "./Vendor/B?prop=Title", "data": "bee"}},
            {{"op": "Get", "target": "./Vendor/B?prop=Title"}}]}},
        {{"id": "asks", "trigger": {at}, "policy": {{"report": "always"}}, "actions": [
            {{"sequence": [
                {{"op": "Alert", "alert": 1101, "data": "Install now?", "options": "MAXDT=30"}},
                {{"op": "Add", "target": "./Vendor/Installed", "data": "1"}}]}},
            {{"op": "Alert", "alert": 1102, "data": "Your name?", "options": "MAXLEN=10&IT=A"}},
            {{"op": "Alert", "alert": 1103, "data": "Which mode?", "choices": ["eco", "normal", "max"]}}]}},
        {{"id": "atomic", "trigger": {at}, "policy": {{"report": "always"}}, "actions": [
            {{"atomic": [
                {{"op": "Replace", "target": "./Vendor/C", "data": "c1"}},
                {{"op": "Replace", "target": "./Vendor/Missing", "data": "m"}}]}}]}},
        {{"id": "declined", "trigger": {at}, "policy": {{"report": "always", "retry": {{"max": 2, "backoff": 60}}}}, "actions": [
            {{"sequence": [
                {{"op": "Alert", "alert": 1101, "data": "Really erase?"}},
                {{"op": "Delete", "target": "./Vendor/C"}}]}}]}},
        {{"id": "unattended", "trigger": {at}, "policy": {{"report": "always"}}, "actions": [
            {{"sequence": [
                {{"op": "Alert", "alert": 1101, "data": "Night install?", "options": "DR=1"}},
                {{"op": "Add", "target": "./Vendor/Night", "data": "1"}}]}}]}}
    ]}}"#
    );
    let install = format!(
        r#"{{"steps": [
            [{{"add": {{"target": "./Vendor", "format": "node"}}}},
             {{"replace": {{"target": "./Vendor?prop=ACL", "data": "Add=*&Delete=*&Exec=*&Get=*&Replace=*"}}}},
             {{"add": {{"target": "./Vendor/A", "data": "a0"}}}},
             {{"add": {{"target": "./Vendor/B", "data": "b0"}}}},
             {{"add": {{"target": "./Vendor/C", "data": "c0"}}}},
             {{"add": {{"target": "./Vendor/Gone", "data": "x"}}}},
             {{"add": {{"target": "./Vendor/Run", "data": ""}}}},
             {{"add": {{"target": "./Vendor/Sub", "format": "node"}}}},
             {{"add": {{"target": "./Vendor/Sub/L", "data": "1"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/K", "data": {}, "type": "application/json"}}}}]
        ]}}"#,
        json_str(&doc)
    );
    let srv = server(&pki, "srv-a", &install).await;
    let user = Arc::new(User {
        asked: Mutex::new(Vec::new()),
    });
    let dev = device_ui(
        &[account_file("srv-a", &srv.url())],
        EngineConfig {
            device_id: DEVICE.into(),
            ..EngineConfig::default()
        },
        None,
        Some(user.clone()),
    );
    let execs: Arc<Mutex<Vec<Exec>>> = Arc::default();
    let seen = execs.clone();
    let handler = move |server: Option<&str>, _: &Uri, data: Option<&[u8]>| {
        seen.lock().unwrap().push((
            server.map(str::to_string),
            String::from_utf8_lossy(data.unwrap_or_default()).into_owned(),
        ));
        Ok::<_, TreeError>(ExecResult::ok())
    };
    dev.tree
        .register_exec("./Vendor/Run", Arc::new(handler))
        .unwrap();
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let adds = srv.recorder().statuses_for("Add");
    assert!(adds.iter().all(|s| s.code == 200), "{adds:?}");
    assert_eq!(srv.recorder().statuses_for("Replace")[0].code, 200);

    // Offline, at 12:30: every task runs once.
    dev.now.store(T0 + 1800, Ordering::SeqCst);
    let fired = dev
        .mo
        .tick(jiff::Timestamp::from_second(T0 + 1800).unwrap())
        .unwrap();
    let outcomes: BTreeMap<&str, &str> = fired
        .iter()
        .map(|f| (f.task.as_str(), f.outcome.as_str()))
        .collect();
    assert_eq!(
        outcomes,
        BTreeMap::from([
            ("asks", "ran"),
            ("atomic", "failed"),
            // The user said no: skipped, not failed, and not retried.
            ("declined", "skipped"),
            ("unattended", "ran"),
            ("writes", "ran"),
        ]),
        "{fired:?}"
    );
    let declined = fired.iter().find(|f| f.task == "declined").unwrap();
    assert_eq!(
        declined.reason.as_deref(),
        Some("the user declined the Alert (status 304)")
    );
    assert!(dev.mo.next_wakeup().is_none(), "nothing retried");

    // The tree.
    let value = |uri: &str| dev.tree.device().get(uri).ok().map(|i| i[0].text());
    assert_eq!(value("./Vendor/New").as_deref(), Some("n"));
    assert_eq!(value("./Vendor/A").as_deref(), Some("a1"));
    assert_eq!(value("./Vendor/Gone"), None);
    assert_eq!(value("./Vendor/BCopy").as_deref(), Some("b0"));
    assert_eq!(value("./Vendor/B?prop=Title").as_deref(), Some("bee"));
    assert_eq!(value("./Vendor/Installed").as_deref(), Some("1"));
    assert_eq!(value("./Vendor/C").as_deref(), Some("c0"), "rolled back");
    assert_eq!(value("./Vendor/Night").as_deref(), Some("1"));
    assert_eq!(
        *execs.lock().unwrap(),
        [(Some("srv-a".to_string()), "go".to_string())],
        "Exec ran once, as the owner"
    );
    // Asked in the owner's name; the locked device was asked too (and said
    // it cannot show), the declined one once.
    {
        let asked = user.asked.lock().unwrap();
        assert!(asked.iter().all(|r| r.server_id == "srv-a"));
        assert_eq!(asked.len(), 5, "{asked:?}");
        let choice = asked.iter().find(|r| r.text == "Which mode?").unwrap();
        assert_eq!(
            choice.kind,
            UiKind::SingleChoice {
                choices: vec!["eco".into(), "normal".into(), "max".into()]
            }
        );
    }

    // The next session carries one result report per task.
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let reports: BTreeMap<String, String> = srv
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|x| x.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .map(|x| {
            let i = &x.items[0];
            (
                i.source
                    .clone()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
                i.data.clone().unwrap(),
            )
        })
        .collect();
    assert_eq!(reports.len(), 5, "{reports:?}");
    let c = |op: &str, target: &str, status: u16, data: &str| {
        (op.to_string(), target.to_string(), status, data.to_string())
    };
    let writes = cmds(&reports["writes"]);
    assert_eq!(writes.len(), 9);
    assert_eq!(
        writes[..5],
        [
            c("Add", "./Vendor/New", 200, ""),
            c("Replace", "./Vendor/A", 200, ""),
            c("Delete", "./Vendor/Gone", 200, ""),
            c("Copy", "./Vendor/BCopy", 200, ""),
            c("Exec", "./Vendor/Run", 200, ""),
        ]
    );
    assert_eq!(writes[5].0, "Get");
    assert_eq!(writes[5].1, "./Vendor/Sub?list=Struct");
    assert_eq!(writes[5].2, 200);
    assert!(writes[5].3.contains("./Vendor/Sub/L"), "{:?}", writes[5]);
    assert_eq!(writes[6], c("Get", "./Vendor/A?prop=Format", 200, "chr"));
    assert_eq!(writes[7], c("Replace", "./Vendor/B?prop=Title", 200, ""));
    assert_eq!(writes[8], c("Get", "./Vendor/B?prop=Title", 200, "bee"));
    assert_eq!(
        cmds(&reports["asks"]),
        [
            c("Alert", "", 200, ""),
            c("Add", "./Vendor/Installed", 200, ""),
            c("Alert", "", 200, "Ada"),
            c("Alert", "", 200, "2"),
        ]
    );
    assert_eq!(
        cmds(&reports["atomic"]),
        [
            c("Replace", "./Vendor/C", 216, ""),
            c("Replace", "./Vendor/Missing", 404, ""),
        ]
    );
    assert_eq!(
        cmds(&reports["declined"]),
        [c("Alert", "", 304, ""), c("Delete", "./Vendor/C", 215, "")]
    );
    assert!(reports["declined"].contains("<Outcome>skipped</Outcome>"));
    // Nobody could be asked: the default response (1, yes) stood in.
    assert_eq!(
        cmds(&reports["unattended"]),
        [
            c("Alert", "", 408, "1"),
            c("Add", "./Vendor/Night", 200, "")
        ]
    );
}
