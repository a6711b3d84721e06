//! `dmsched demo`: the main job, end to end on this machine. A test DM
//! server (samples/dm-server) listens on loopback HTTPS; a device in
//! full-client mode (`dmsched::agent::Agent`) with its own state directory
//! is woken by a package #0, receives a schedule through the Scheduling
//! MO, runs it offline — a time trigger, a battery-level trigger and a
//! charger event — and contacts the server only to report; the server then
//! modifies and terminates the schedule. Prints a narrative with
//! timestamps; `--svg` writes the timeline.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dmsched::agent::{Agent, AgentConfig, AgentHost};
use dmsched::dm::notification::UiMode;
use dmsched::engine::Event;
use dmsched::expr::Value;
use dmsched::host::{HostError, PromptAnswer, RunContext, UserPrompt};
use dmsched::model::Firing;
use dmsched::tree::DeviceInfo;
use dmsched_dm_server::{
    Account, ClientAuth, RunningServer, Script, ServerAuth, ServerConfig, start, test_pki,
};
use jiff::Timestamp;

use crate::simulate::Row;

const SERVER: &str = "demo.dms.example";
const DEVICE: &str = "IMEI:358240051111110";

/// Arguments of `dmsched demo`.
#[derive(clap::Args)]
pub struct DemoArgs {
    /// The device's state directory (emptied first).
    #[arg(long, default_value = "target/demo-device")]
    state: PathBuf,
    /// Write the timeline picture here.
    #[arg(long)]
    svg: Option<PathBuf>,
    /// Seconds of offline running between sessions (the demo takes about 3× this).
    #[arg(long, default_value_t = 10)]
    phase: u64,
}

struct Narrator {
    start: Instant,
    /// DM sessions and report deliveries, for the timeline picture.
    sessions: std::cell::RefCell<Vec<(Timestamp, String)>>,
    deliveries: std::cell::RefCell<Vec<(Timestamp, String)>>,
}

impl Narrator {
    fn say(&self, who: &str, what: impl AsRef<str>) {
        let t = self.start.elapsed().as_secs_f64();
        let now = Timestamp::now().strftime("%H:%M:%S");
        println!("[{now} +{t:5.1}s] {who:<7} {}", what.as_ref());
    }
}

/// The user in front of the device: accepts, and says so.
struct DemoUser;

impl UserPrompt for DemoUser {
    fn confirm(&self, ctx: &RunContext, title: &str) -> Result<PromptAnswer, HostError> {
        println!(
            "{:>24} user    asked to confirm \"{title}\" ({}) → accepts",
            "", ctx.task
        );
        Ok(PromptAnswer::Accept)
    }
}

const DOCUMENT: &str = r#"{
  "name": "Fleet care",
  "tasks": [
    {"id": "heartbeat", "trigger": {"every": {"seconds": 5}},
     "actions": [{"op": "Get", "target": "./DevDetail/Ext/Battery/Level"}],
     "policy": {"report": "always"}},
    {"id": "power-saver", "trigger": {"becomes_true": "./DevDetail/Ext/Battery/Level < 20"},
     "actions": [{"op": "Replace", "target": "./Vendor/PowerMode", "data": "eco"}],
     "policy": {"report": "always", "report_delivery": "immediate"}},
    {"id": "on-charger", "trigger": {"event": {"name": "charger", "filter": "event.plugged == true"}},
     "actions": [{"op": "Replace", "target": "./Vendor/PowerMode", "data": "normal"}],
     "policy": {"report": "always", "confirm": true}}
  ]
}"#;

fn script(steps: &[String]) -> Result<Script> {
    Script::from_json(&format!(r#"{{"steps": [{}]}}"#, steps.join(",")))
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// Runs `dmsched demo`.
pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let n = Narrator {
        start: Instant::now(),
        sessions: Default::default(),
        deliveries: Default::default(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let pki = test_pki(&["localhost"]);
    let account = Account::new(
        SERVER,
        DEVICE,
        "device-358",
        "dev-secret",
        ClientAuth::Md5,
        "srv-secret",
    )
    .with_server_auth(ServerAuth::Md5)
    .with_nonces(b"first-client-nonce", b"first-server-nonce");
    let install = script(&[
        r#"[{"add": {"target": "./Vendor", "format": "node"}}, {"add": {"target": "./Vendor/PowerMode", "data": "normal"}}]"#.into(),
        format!(
            r#"[{{"add": {{"target": "./Scheduling/Schedules/fleet-care", "data": {}, "type": "application/json"}}}}]"#,
            json_str(DOCUMENT)
        ),
        r#"[{"get": "./Scheduling/Schedules/fleet-care/State"}, {"get": "./Scheduling/Schedules/fleet-care/Tasks/heartbeat/NextRun"}]"#.into(),
    ])?;
    let server: RunningServer = rt.block_on(start(
        ServerConfig::new(vec![account], install).with_tls(pki.identity()),
    ))?;
    n.say(
        "server",
        format!("DM server listening on {} (TLS, test CA)", server.url()),
    );

    // The device: fresh state directory, its own tree, engine and DM client.
    if args.state.exists() {
        std::fs::remove_dir_all(&args.state)
            .with_context(|| format!("emptying {}", args.state.display()))?;
    }
    let device = DeviceInfo {
        dev_id: DEVICE.into(),
        man: "dmsched".into(),
        model: "demo-phone".into(),
        lang: "en-US".into(),
        dev_typ: "smartphone".into(),
        oem: "dmsched".into(),
        fw_v: "1.0".into(),
        sw_v: env!("CARGO_PKG_VERSION").into(),
        hw_v: "1".into(),
        lrg_obj: true,
    };
    let mut cfg = AgentConfig::new(&args.state, device);
    cfg.engine.limits.min_interval_seconds = 5;
    let host = AgentHost {
        prompt: Some(Arc::new(DemoUser)),
        ..AgentHost::default()
    };
    let agent = Agent::open(cfg, host, Timestamp::now())?;
    let account_file = format!(
        r#"{{"server_id": "{SERVER}", "server_url": "{}", "client": {{"auth": "DIGEST", "name": "device-358", "secret": "dev-secret", "nonce": "{}"}},
            "server": {{"auth": "DIGEST", "secret": "srv-secret", "nonce": "{}"}}}}"#,
        server.url(),
        b64(b"first-client-nonce"),
        b64(b"first-server-nonce")
    );
    agent.provision(&account_file, Some(&pki.ca_pem), None, Timestamp::now())?;
    agent.set_value(
        "./DevDetail/Ext/Battery/Level",
        &Value::Int(64),
        Timestamp::now(),
    )?;
    n.say(
        "device",
        format!(
            "state in {}; DM account for {SERVER} provisioned; battery 64 %",
            args.state.display()
        ),
    );

    // 1. The server wakes the device with a package #0; the session installs the schedule.
    let pkg0 = server.trigger(DEVICE, UiMode::Background)?;
    n.say(
        "server",
        format!(
            "sends package #0 ({} bytes, digest over the server nonce)",
            pkg0.len()
        ),
    );
    let accepted = agent.accept_notification(&pkg0, Timestamp::now())?;
    n.say(
        "device",
        format!(
            "package #0 verified: session {}, background",
            accepted.notification().session_id_hex()
        ),
    );
    let s = agent.run_session(SERVER, Some(&accepted), Timestamp::now())?;
    narrate_session(&n, &server, s.sent, s.received);
    server.set_script(script(&[])?);
    let installed = agent.schedules()?;
    let Some(info) = installed.first() else {
        bail!("the schedule was not installed")
    };
    n.say(
        "device",
        format!(
            "schedule {} \"{}\" is {} with {} tasks; the server is not contacted now",
            info.id,
            info.document.name.clone().unwrap_or_default(),
            info.state.as_str(),
            info.tasks.len()
        ),
    );

    let mut rows = Vec::new();
    // 2. Offline: time passes, the battery drains, the charger is plugged in.
    let (battery_at, charger_at) = (args.phase * 6 / 10, args.phase * 12 / 10);
    offline(
        &n,
        &agent,
        &server,
        args.phase * 2,
        &mut rows,
        |t, agent, n| {
            if t == battery_at {
                n.say("device", "battery drops to 15 %");
                return agent.set_value(
                    "./DevDetail/Ext/Battery/Level",
                    &Value::Int(15),
                    Timestamp::now(),
                );
            }
            if t == charger_at {
                n.say("device", "charger plugged in");
                let ev = Event {
                    name: "charger".into(),
                    fields: [("plugged".to_string(), Value::Bool(true))].into(),
                };
                return agent.post_event(&ev, Timestamp::now());
            }
            Ok(Vec::new())
        },
    )?;

    // 3. The device reports; the server modifies the schedule: a slower
    // heartbeat, and the power saver dropped.
    let mut doc: serde_json::Value = serde_json::from_str(DOCUMENT)?;
    doc["name"] = "Fleet care (slower heartbeat)".into();
    doc["tasks"][0]["trigger"]["every"]["seconds"] = 10.into();
    if let Some(tasks) = doc["tasks"].as_array_mut() {
        tasks.retain(|t| t["id"] != "power-saver");
    }
    let modified = doc.to_string();
    server.set_script(script(&[format!(
        r#"[{{"replace": {{"target": "./Scheduling/Schedules/fleet-care/Document", "data": {}, "type": "application/json"}}}}]"#,
        json_str(&modified)
    )])?);
    let pending = agent.pending_reports(SERVER)?.len();
    n.say(
        "device",
        format!("{pending} run reports waiting: opens a session to deliver them"),
    );
    let s = agent.run_session(SERVER, None, Timestamp::now())?;
    narrate_session(&n, &server, s.sent, s.received);
    n.say(
        "device",
        "schedule modified: heartbeat every 10 s, power saver removed",
    );
    server.set_script(script(&[])?);
    offline(&n, &agent, &server, args.phase + 2, &mut rows, |_, _, _| {
        Ok(Vec::new())
    })?;

    // 4. The server terminates the schedule.
    server.set_script(script(&[
        r#"[{"delete": "./Scheduling/Schedules/fleet-care"}]"#.into(),
    ])?);
    let s = agent.run_session(SERVER, None, Timestamp::now())?;
    narrate_session(&n, &server, s.sent, s.received);
    let state = agent
        .schedules()?
        .first()
        .map(|i| i.state.as_str())
        .unwrap_or("gone");
    n.say("device", format!("schedule fleet-care is {state}"));
    server.set_script(script(&[])?);
    let s = agent.run_session(SERVER, None, Timestamp::now())?;
    narrate_session(&n, &server, s.sent, s.received);

    let results = server
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|a| {
            a.items
                .iter()
                .any(|i| i.meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        })
        .count();
    let ran = rows.iter().filter(|r: &&Row| r.outcome == "ran").count();
    n.say("summary", format!("{ran} runs on the device, {results} result reports received by the server, {} sessions", server.recorder().sessions().len()));
    if results != ran || ran == 0 {
        bail!("expected one report per run: {ran} runs, {results} reports");
    }
    if let Some(p) = &args.svg {
        let from = rows
            .iter()
            .map(|r| r.due)
            .chain(n.sessions.borrow().iter().map(|s| s.0))
            .min()
            .unwrap_or_else(Timestamp::now);
        let until = Timestamp::now();
        let marks = crate::svg::Marks {
            sessions: n.sessions.borrow().clone(),
            deliveries: n.deliveries.borrow().clone(),
            ..crate::svg::Marks::default()
        };
        std::fs::write(p, crate::svg::render(&rows, from, until, &marks))
            .with_context(|| format!("writing {}", p.display()))?;
        n.say("demo", format!("timeline picture: {}", p.display()));
    }
    rt.block_on(server.shutdown());
    Ok(ExitCode::SUCCESS)
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn narrate_session(n: &Narrator, server: &RunningServer, sent: u32, received: u32) {
    n.sessions.borrow_mut().push((
        Timestamp::now(),
        format!("session: {sent} sent / {received} received by the device"),
    ));
    narrate(
        n,
        server,
        &format!(", {sent} sent / {received} received by the device"),
    );
}

/// The server's side of its last session; `extra` ends the first line.
fn narrate(n: &Narrator, server: &RunningServer, extra: &str) {
    let rec = server.recorder();
    let s = rec.sessions();
    let Some(last) = s.last() else { return };
    n.say(
        "server",
        format!(
            "session {} ({}-initiated): {} device messages{extra}",
            last.session_id, last.initiated_by, last.messages
        ),
    );
    for st in rec
        .statuses()
        .iter()
        .filter(|x| x.session_id == last.session_id && x.cmd != "SyncHdr")
    {
        n.say(
            "server",
            format!(
                "  ← Status {} for {} {}",
                st.code,
                st.cmd,
                st.sent_target.clone().unwrap_or_default()
            ),
        );
    }
    for r in rec
        .results()
        .iter()
        .filter(|x| x.session_id == last.session_id)
    {
        n.say(
            "server",
            format!(
                "  ← Results {} = {}",
                r.source.clone().unwrap_or_default(),
                r.data
            ),
        );
    }
    for a in rec
        .generic_alerts()
        .iter()
        .filter(|x| x.session_id == last.session_id)
    {
        for i in &a.items {
            let data = i.data.clone().unwrap_or_default();
            let outcome = data
                .split("<Outcome>")
                .nth(1)
                .and_then(|x| x.split('<').next())
                .map(|o| format!("outcome {o}"));
            let event = data
                .split("<Event>")
                .nth(1)
                .and_then(|x| x.split('<').next())
                .map(|o| format!("state {o}"));
            n.say(
                "server",
                format!(
                    "  ← Generic Alert 1226 {} {}",
                    i.source.clone().unwrap_or_default(),
                    outcome.or(event).unwrap_or_default()
                ),
            );
        }
    }
}

/// Runs the device offline for `secs` seconds of real time, ticking at its
/// next wake-up; `step` runs once per second.
fn offline(
    n: &Narrator,
    agent: &Agent,
    server: &RunningServer,
    secs: u64,
    rows: &mut Vec<Row>,
    mut step: impl FnMut(u64, &Agent, &Narrator) -> Result<Vec<Firing>, dmsched::agent::AgentError>,
) -> Result<()> {
    let t0 = Instant::now();
    let mut second = 0;
    while t0.elapsed() < Duration::from_secs(secs) {
        let mut fired = agent.tick(Timestamp::now())?;
        if t0.elapsed() >= Duration::from_secs(second) {
            fired.extend(step(second, agent, n)?);
            second += 1;
        }
        for f in fired {
            let cmds: Vec<String> = f
                .results
                .iter()
                .map(|r| {
                    format!(
                        "{} {} → {}{}",
                        r.op.as_str(),
                        r.target,
                        r.status,
                        r.data
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    )
                })
                .collect();
            n.say(
                "device",
                format!(
                    "{}/{} #{} {}: {}",
                    f.schedule,
                    f.task,
                    f.seq,
                    outcome(&f),
                    cmds.join(", ")
                ),
            );
            rows.push(Row {
                schedule: f.schedule.clone(),
                task: f.task.clone(),
                due: f.due,
                due_local: crate::simulate::local(f.due, None),
                run_at_local: f.run_at.map(|t| crate::simulate::local(t, None)),
                run_at: f.run_at,
                outcome: outcome(&f),
                reason: f.reason.clone(),
            });
        }
        // A task with `report_delivery: immediate` (the power saver) makes
        // the device call at once; the others wait for the next session.
        for d in agent.deliver_reports(Timestamp::now())? {
            match &d.error {
                None => {
                    n.say(
                        "device",
                        format!(
                            "an immediate report is waiting: opens a session to {}",
                            d.server_id
                        ),
                    );
                    n.deliveries.borrow_mut().push((
                        Timestamp::now(),
                        format!("{} reports delivered to {}", d.delivered, d.server_id),
                    ));
                    narrate(n, server, &format!(", {} alerts acknowledged", d.delivered));
                }
                Some(e) => n.say(
                    "device",
                    format!(
                        "delivery to {} failed ({e}); retry at {}",
                        d.server_id,
                        d.retry_at.map(|t| t.to_string()).unwrap_or_default()
                    ),
                ),
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

fn outcome(f: &Firing) -> String {
    serde_json::to_value(f.outcome)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}
