//! Hand-off mode of the agent (issue 6, "Execution"): with a host executor
//! the DM commands of a schedule installed through the Scheduling MO are
//! run by the host — with the owning server's identity — instead of the
//! agent's own tree; results and reports are the host's statuses.

use std::sync::{Arc, Mutex};

use dmsched::agent::{Agent, AgentConfig, AgentHost};
use dmsched::host::{ActionExecutor, HostError, RunContext};
use dmsched::model::{Action, CommandResult, Outcome};
use dmsched::tree::{DeviceInfo, Payload};
use jiff::Timestamp;

#[derive(Default)]
struct HostStack {
    ran: Mutex<Vec<(String, String, String)>>,
}

impl ActionExecutor for HostStack {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        let mut out = Vec::new();
        for a in actions {
            let Action::Command(c) = a else {
                return Err(HostError("groups are not expected here".into()));
            };
            self.ran.lock().unwrap().push((
                ctx.owner.clone(),
                c.op.as_str().to_string(),
                c.target.clone(),
            ));
            out.push(CommandResult {
                op: c.op,
                target: c.target.clone(),
                status: 202,
                data: None,
            });
        }
        Ok(out)
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// An agent in hand-off mode with `executor`, opened at 10:00.
fn hand_off_agent(dir: &std::path::Path, executor: Arc<dyn ActionExecutor>) -> Agent {
    let device = DeviceInfo {
        dev_id: "IMEI:1".into(),
        man: "dmsched".into(),
        model: "t".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    Agent::open(
        AgentConfig::new(dir, device),
        AgentHost {
            executor: Some(executor),
            ..AgentHost::default()
        },
        at("2026-12-01T10:00:00Z"),
    )
    .unwrap()
}

/// Installs schedule `id` as a DM session of srv-a does: the command, then
/// settle.
fn install(agent: &Agent, id: &str, doc: &str) {
    agent
        .tree()
        .add(
            "srv-a",
            &format!("./Scheduling/Schedules/{id}"),
            &Payload {
                mime: Some("application/json".into()),
                ..Payload::chr(doc)
            },
            at("2026-12-01T10:00:00Z"),
        )
        .unwrap();
    agent.scheduling().settle();
}

/// 6.1.7.4, 6.1.7.6: the host runs the commands as the owner; the agent's
/// tree is not touched; the report carries the host's status.
#[test]
fn a_host_executor_runs_the_scheduled_commands_as_the_owner() {
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(HostStack::default());
    let agent = hand_off_agent(dir.path(), host.clone());
    install(
        &agent,
        "S",
        r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T10:05:00Z"},
        "actions": [{"op": "Replace", "target": "./Vendor/Mode", "data": "eco"}],
        "policy": {"report": "always"}}]}"#,
    );
    assert_eq!(agent.schedules().unwrap().len(), 1);
    let fired = agent.tick(at("2026-12-01T10:05:00Z")).unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].outcome, Outcome::Ran);
    assert_eq!(fired[0].results[0].status, 202);
    assert_eq!(
        *host.ran.lock().unwrap(),
        [(
            "srv-a".to_string(),
            "Replace".to_string(),
            "./Vendor/Mode".to_string()
        )]
    );
    assert!(
        agent.tree().device().get("./Vendor/Mode").is_err(),
        "the agent's tree is not the one changed"
    );
    let r = agent.pending_reports("srv-a").unwrap();
    let result = r.iter().find(|r| r.id.is_some()).unwrap();
    assert!(result.data.contains("status=\"202\""), "{}", result.data);
}

/// A host stack whose runs wait until the test lets them finish.
struct SlowStack {
    log: Arc<Mutex<Vec<String>>>,
    go: Mutex<std::sync::mpsc::Receiver<()>>,
    started: Mutex<std::sync::mpsc::Sender<()>>,
}

impl ActionExecutor for SlowStack {
    fn execute(&self, _: &RunContext, actions: &[Action]) -> Result<Vec<CommandResult>, HostError> {
        let c = actions[0].commands()[0].clone();
        self.log
            .lock()
            .unwrap()
            .push(format!("run {} starts", c.target));
        self.started.lock().unwrap().send(()).unwrap();
        self.go.lock().unwrap().recv().unwrap();
        self.log
            .lock()
            .unwrap()
            .push(format!("run {} ends", c.target));
        Ok(vec![CommandResult {
            op: c.op,
            target: c.target.clone(),
            status: 200,
            data: None,
        }])
    }
}

/// 6.1.7.2: a modification that arrives while a run is in progress waits
/// for it: the run finishes with the old commands, and the new document
/// applies from then on.
#[test]
fn a_modification_waits_for_the_run_in_progress() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Mutex::new(Vec::new()));
    let (go_tx, go_rx) = std::sync::mpsc::channel();
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let stack = Arc::new(SlowStack {
        log: log.clone(),
        go: Mutex::new(go_rx),
        started: Mutex::new(started_tx),
    });
    let device = DeviceInfo {
        dev_id: "IMEI:1".into(),
        man: "dmsched".into(),
        model: "t".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    let agent = Arc::new(
        Agent::open(
            AgentConfig::new(dir.path(), device),
            AgentHost {
                executor: Some(stack),
                ..AgentHost::default()
            },
            at("2026-12-01T10:00:00Z"),
        )
        .unwrap(),
    );
    let doc = |target: &str| Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(&format!(
            r#"{{"tasks": [{{"id": "T", "trigger": {{"every": {{"seconds": 3600, "anchor": "2026-12-01T10:30:00Z"}}}},
                "actions": [{{"op": "Replace", "target": "{target}", "data": "x"}}]}}]}}"#
        ))
    };
    agent
        .tree()
        .add(
            "srv-a",
            "./Scheduling/Schedules/S",
            &doc("./Old"),
            at("2026-12-01T10:00:00Z"),
        )
        .unwrap();
    agent.scheduling().settle();
    let runner = {
        let agent = agent.clone();
        std::thread::spawn(move || agent.tick(at("2026-12-01T10:30:00Z")).unwrap())
    };
    started_rx.recv().unwrap();
    // The server's Replace is answered at once; applying it waits.
    agent
        .tree()
        .replace(
            "srv-a",
            "./Scheduling/Schedules/S/Document",
            &doc("./New"),
            at("2026-12-01T10:30:00Z"),
        )
        .unwrap();
    let modifier = {
        let agent = agent.clone();
        let log = log.clone();
        std::thread::spawn(move || {
            agent.scheduling().settle();
            log.lock().unwrap().push("modified".into());
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    log.lock().unwrap().push("run released".into());
    go_tx.send(()).unwrap();
    let fired = runner.join().unwrap();
    modifier.join().unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].results[0].target, "./Old");
    assert_eq!(
        *log.lock().unwrap(),
        [
            "run ./Old starts",
            "run released",
            "run ./Old ends",
            "modified"
        ]
    );
    go_tx.send(()).unwrap();
    let next = agent.tick(at("2026-12-01T11:30:00Z")).unwrap();
    assert_eq!(next[0].results[0].target, "./New");
}

/// A host stack that leaves every run to finish later (a long action).
#[derive(Default)]
struct LaterStack {
    runs: Mutex<Vec<RunContext>>,
}

impl ActionExecutor for LaterStack {
    fn execute(&self, _: &RunContext, _: &[Action]) -> Result<Vec<CommandResult>, HostError> {
        Err(HostError("start() is what the engine calls".into()))
    }

    fn start(&self, ctx: &RunContext, _: &[Action]) -> Result<dmsched::Execution, HostError> {
        self.runs.lock().unwrap().push(ctx.clone());
        Ok(dmsched::Execution::Pending)
    }
}

/// Issue 15, long actions in hand-off mode: the host's stack leaves the run
/// running; `Agent::complete` finishes it with the host's statuses, and the
/// result report (with that status) waits for the owner's next session.
#[test]
fn a_long_action_completes_through_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let host = Arc::new(LaterStack::default());
    let agent = hand_off_agent(dir.path(), host.clone());
    install(
        &agent,
        "F",
        r#"{"tasks": [{"id": "T", "trigger": {"at": "2026-12-01T10:05:00Z"},
        "actions": [{"op": "Exec", "target": "./FwUpdate/Pkg/DownloadAndUpdate"}],
        "policy": {"report": "always"}}]}"#,
    );
    assert!(agent.tick(at("2026-12-01T10:05:00Z")).unwrap().is_empty());
    let run = host.runs.lock().unwrap()[0].clone();
    assert_eq!(run.owner, "srv-a");
    assert!(
        agent
            .pending_reports("srv-a")
            .unwrap()
            .iter()
            .all(|r| r.id.is_none()),
        "no result yet"
    );
    let done = agent
        .complete(
            run.run_id,
            vec![CommandResult {
                op: dmsched::model::Op::Exec,
                target: "./FwUpdate/Pkg/DownloadAndUpdate".into(),
                status: 200,
                data: None,
            }],
            at("2026-12-01T10:20:00Z"),
        )
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].outcome, Outcome::Ran);
    let r = agent.pending_reports("srv-a").unwrap();
    let result = r.iter().find(|r| r.id.is_some()).unwrap();
    assert!(result.data.contains("status=\"200\""), "{}", result.data);
    let again = agent
        .complete(run.run_id, vec![], at("2026-12-01T10:21:00Z"))
        .unwrap_err();
    assert_eq!(again.kind(), dmsched::ErrorKind::InvalidState);
}
