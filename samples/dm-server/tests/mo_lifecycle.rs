//! The rest of the lifecycle over loopback HTTPS (issue 6, seed use case
//! steps 5–8): a modification by node Replace, and the automatic ends —
//! `max_runs`, an ending event, an ending expression, the validity window
//! (nothing before `valid_from`, expired at `valid_until`). Each end
//! reaches the owner as a state report (Generic Alert 1226), once (no
//! answer is lost here; a report sent again would keep its `ReportID`),
//! and the server reads the states it left behind.

use std::sync::atomic::Ordering;

use dmsched::engine::{Event, ScheduleState};
use dmsched_dm_server::{RunningServer, Script, test_pki};

mod support;
use support::*;

fn ts(s: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(s).unwrap()
}

/// The state reports `srv` received so far, as `schedule event` strings.
fn state_events(srv: &RunningServer) -> Vec<String> {
    srv.recorder()
        .generic_alerts()
        .into_iter()
        .filter(|g| g.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.state"))
        .filter_map(|g| {
            let d = g.items[0].data.clone()?;
            let field = |tag: &str| {
                d.split(&format!("<{tag}>"))
                    .nth(1)
                    .and_then(|x| x.split(&format!("</{tag}>")).next())
                    .unwrap_or("")
                    .to_string()
            };
            Some(format!("{} {}", field("Schedule"), field("Event")))
        })
        .collect()
}

/// 6.1.7.2, 6.3.1.41, 6.3.4.35, 6.3.4.1.10: modify by Replace; automatic
/// termination by max_runs, event, expression and the validity window;
/// every end reported to the owner once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_ends_and_a_modification_reach_the_server_once() {
    let pki = test_pki(&["localhost"]);
    let every = r#""trigger": {"every": {"seconds": 60, "anchor": "2026-12-01T12:00:00Z"}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]"#;
    let docs = [
        (
            "Max",
            format!(r#"{{"tasks": [{{"id": "T", {every}, "termination": {{"max_runs": 2}}}}]}}"#),
        ),
        (
            "OnEv",
            format!(
                r#"{{"tasks": [{{"id": "T", {every}, "termination": {{"on_event": {{"name": "stop"}}}}}}]}}"#
            ),
        ),
        (
            "When",
            format!(
                r#"{{"tasks": [{{"id": "T", {every}, "termination": {{"when": "./Vendor/Stop == \"yes\""}}}}]}}"#
            ),
        ),
        (
            "Window",
            format!(
                r#"{{"valid_from": "2026-12-01T12:10:00Z", "valid_until": "2026-12-01T12:15:00Z", "tasks": [{{"id": "T", {every}, "policy": {{"report": "always"}}}}]}}"#
            ),
        ),
    ];
    let mut install = vec![
        r#"{"add": {"target": "./Vendor", "format": "node"}}"#.to_string(),
        r#"{"add": {"target": "./Vendor/Stop", "data": "no"}}"#.to_string(),
    ];
    for (id, doc) in &docs {
        install.push(format!(
            r#"{{"add": {{"target": "./Scheduling/Schedules/{id}", "data": {}, "type": "application/json"}}}}"#,
            json_str(doc)
        ));
    }
    let srv = server(
        &pki,
        "srv-a",
        &format!(r#"{{"steps": [[{}]]}}"#, install.join(",")),
    )
    .await;
    let dev = device(&[account_file("srv-a", &srv.url())]);
    let t = https(&pki);
    let session = |script: &str| {
        srv.set_script(Script::from_json(script).unwrap());
        dev.client.run_session("srv-a", None, &t, None)
    };
    session(&format!(r#"{{"steps": [[{}]]}}"#, install.join(",")))
        .await
        .unwrap();
    let adds: Vec<u16> = srv
        .recorder()
        .statuses_for("Add")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(adds, [200; 6]);
    let state = |id: &str| dev.mo.engine().get("srv-a", "srv-a", id).unwrap();
    let tick = |at: i64| {
        dev.now.store(at, Ordering::SeqCst);
        dev.mo.tick(ts(at)).unwrap()
    };

    // Max runs at T0 and T0 + 60, then completes.
    tick(T0);
    tick(T0 + 60);
    assert_eq!(state("Max").state, ScheduleState::Completed);
    assert_eq!(state("Max").tasks[0].runs, 2);
    assert_eq!(state("Window").tasks[0].runs, 0, "not before valid_from");

    // The server names OnEv, then renames it (modifications by Add and
    // Replace of a node), sets the value
    // that ends When, and reads Max's state; Max's end reaches it.
    dev.now.store(T0 + 90, Ordering::SeqCst);
    let (st0, res0) = (
        srv.recorder().statuses().len(),
        srv.recorder().results().len(),
    );
    session(
        r#"{"steps": [[
            {"add": {"target": "./Scheduling/Schedules/OnEv/Name", "data": "named"}},
            {"replace": {"target": "./Scheduling/Schedules/OnEv/Name", "data": "renamed"}},
            {"replace": {"target": "./Vendor/Stop", "data": "yes"}},
            {"get": "./Scheduling/Schedules/Max/State"},
            {"get": "./Scheduling/Schedules/OnEv/Tasks/T/NextRun"}
        ]]}"#,
    )
    .await
    .unwrap();
    let codes: Vec<u16> = srv
        .recorder()
        .statuses()
        .iter()
        .skip(st0)
        .filter(|s| s.cmd != "SyncHdr")
        .map(|s| s.code)
        .collect();
    assert_eq!(codes, [200, 200, 200, 200, 200]);
    let results = srv.recorder().results()[res0..].to_vec();
    assert_eq!(results[0].data, "50", "Max is completed");
    assert_eq!(results[1].data, "2026-12-01T12:02:00Z");
    assert_eq!(state("OnEv").document.name.as_deref(), Some("renamed"));
    assert_eq!(
        state("OnEv").tasks[0].runs,
        2,
        "a modify keeps the counters"
    );

    // The event ends OnEv; the next run of When sees the expression true.
    dev.mo
        .engine()
        .on_event(
            &Event {
                name: "stop".into(),
                fields: Default::default(),
            },
            ts(T0 + 100),
        )
        .unwrap();
    dev.mo.refresh().unwrap();
    assert_eq!(state("OnEv").state, ScheduleState::Completed);
    for m in 2..=16 {
        tick(T0 + 60 * m);
    }
    assert_eq!(state("When").state, ScheduleState::Completed);
    let w = state("Window");
    assert_eq!(w.state, ScheduleState::Expired);
    assert_eq!(w.tasks[0].runs, 5, "12:10 to 12:14 only");

    // Everything reaches the server once, over two more sessions.
    dev.now.store(T0 + 1000, Ordering::SeqCst);
    session(r#"{"steps": [[{"get": "./Scheduling/Schedules/Window/State"}]]}"#)
        .await
        .unwrap();
    assert_eq!(srv.recorder().results().last().unwrap().data, "60");
    session(r#"{"steps": []}"#).await.unwrap();
    let mut events = state_events(&srv);
    events.sort();
    assert_eq!(
        events,
        [
            "Max completed",
            "Max installed",
            "OnEv completed",
            "OnEv installed",
            "OnEv modified",
            "OnEv modified",
            "When completed",
            "When installed",
            "Window expired",
            "Window installed",
        ]
    );
    let window_results = srv
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|g| g.items[0].source.as_deref() == Some("./Scheduling/Schedules/Window/Tasks/T"))
        .count();
    assert_eq!(window_results, 5);
}

/// A user who refuses schedule `No` and accepts the others; records the
/// titles asked.
struct User(std::sync::Mutex<Vec<String>>);

impl dmsched::host::UserPrompt for User {
    fn confirm(
        &self,
        ctx: &dmsched::host::RunContext,
        title: &str,
    ) -> Result<dmsched::host::PromptAnswer, dmsched::host::HostError> {
        self.0.lock().unwrap().push(title.to_string());
        Ok(if ctx.schedule == "No" {
            dmsched::host::PromptAnswer::Refuse
        } else {
            dmsched::host::PromptAnswer::Accept
        })
    }
}

/// 6.3.1.41, 6.3.1.7, 6.3.1.2.9: one TNDS object over HTTPS installs two
/// schedules that ask the user first (UI/Mode 2): the user refuses one
/// (not installed; the server gets a `rejected` state report, Mark
/// critical) and accepts the other (installed, `installed` report).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tnds_install_asks_the_user_and_reports_the_answer() {
    let pki = test_pki(&["localhost"]);
    let sched = |id: &str| {
        format!(
            r#"<Node><NodeName>{id}</NodeName><RTProperties><Format><node/></Format></RTProperties>
            <Node><NodeName>Name</NodeName><Value>night mode {id}</Value></Node>
            <Node><NodeName>UI</NodeName><Node><NodeName>Mode</NodeName><RTProperties><Format><int/></Format></RTProperties><Value>2</Value></Node></Node>
            <Node><NodeName>Tasks</NodeName><Node><NodeName>T1</NodeName>
              <Node><NodeName>Cmds</NodeName><RTProperties><Format><xml/></Format></RTProperties>
                <Value><![CDATA[<Get><CmdID>1</CmdID><Item><Target><LocURI>./DevInfo/Man</LocURI></Target></Item></Get>]]></Value></Node>
              <Node><NodeName>Triggers</NodeName><Node><NodeName>G</NodeName><Node><NodeName>Time</NodeName>
                <Node><NodeName>Base</NodeName><Value>2026-12-01T22:00:00Z</Value></Node>
                <Node><NodeName>RRule</NodeName><Value>FREQ=DAILY</Value></Node>
              </Node></Node></Node>
            </Node></Node></Node>"#
        )
    };
    let tnds = format!(
        r#"<MgmtTree xmlns="syncml:dmddf1.2"><VerDTD>1.2</VerDTD>{}{}</MgmtTree>"#,
        sched("Yes"),
        sched("No")
    );
    let script = format!(
        r#"{{"steps": [[{{"add": {{"target": "./Scheduling/Schedules", "data": {}, "format": "xml", "type": "application/vnd.syncml.dmtnds+xml"}}}}]]}}"#,
        json_str(&tnds)
    );
    let srv = server(&pki, "srv-a", &script).await;
    let user = std::sync::Arc::new(User(std::sync::Mutex::new(Vec::new())));
    let dev = device_full(
        &[account_file("srv-a", &srv.url())],
        dmsched::engine::EngineConfig {
            device_id: DEVICE.into(),
            ..dmsched::engine::EngineConfig::default()
        },
        Some(user.clone()),
    );
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert_eq!(srv.recorder().statuses_for("Add")[0].code, 200);
    let mut asked = user.0.lock().unwrap().clone();
    asked.sort();
    assert_eq!(
        asked,
        ["night mode No", "night mode Yes"],
        "asked for each, by Name"
    );
    let ids: Vec<String> = dev
        .mo
        .engine()
        .list_all()
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["Yes"]);
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let states: Vec<(String, Option<String>)> = srv
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|g| g.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.state"))
        .map(|g| {
            (
                g.items[0].data.clone().unwrap_or_default(),
                g.items[0].mark.clone(),
            )
        })
        .collect();
    assert_eq!(states.len(), 2, "{states:?}");
    assert!(states.iter().any(
        |(d, m)| d.contains("<Schedule>No</Schedule><Event>rejected</Event>")
            && d.contains("rejected by the user")
            && m.as_deref() == Some("critical")
    ));
    assert!(
        states
            .iter()
            .any(|(d, _)| d.contains("<Schedule>Yes</Schedule><Event>installed</Event>"))
    );
}
