//! Immediate report delivery in full-client mode (6.1.7.4, 6.3.4.1.10): a
//! task whose `policy.report_delivery` is `immediate` makes the device open
//! a session to its owner as soon as a report is queued
//! (`Agent::deliver_reports`); while the server cannot be reached the
//! device retries with exponential backoff (`next_wakeup` says when), and
//! each report arrives once when it is back (no answer is lost here:
//! delivery is at least once, and a report sent again keeps its
//! `ReportID`, see `report_identity.rs`). Reports of
//! `next_session` tasks do not make the device call.

use std::sync::atomic::{AtomicI64, Ordering};

use dmsched::agent::{Agent, AgentConfig, AgentHost, ReportRetry};
use dmsched::tree::DeviceInfo;
use dmsched_dm_server::{RunningServer, Script, ServerConfig, start, test_pki};
use jiff::Timestamp;

mod support;
use support::*;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn agent(dir: &std::path::Path) -> Agent {
    let info = DeviceInfo {
        dev_id: DEVICE.into(),
        man: "dmsched".into(),
        model: "delivery".into(),
        lang: "en".into(),
        ..DeviceInfo::default()
    };
    let mut cfg = AgentConfig::new(dir, info);
    cfg.report_retry = ReportRetry {
        first_seconds: 30,
        max_seconds: 100,
    };
    Agent::open(cfg, AgentHost::default(), at(T0)).unwrap()
}

fn results(srv: &RunningServer) -> Vec<String> {
    srv.recorder()
        .generic_alerts()
        .into_iter()
        .filter(|g| g.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .filter_map(|g| g.items[0].data.clone())
        .collect()
}

/// 6.1.7.4, 6.3.4.1.10: immediate delivery, retried with backoff; each
/// report received once.
#[test]
fn immediate_reports_open_a_session_and_are_retried_with_backoff() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pki = test_pki(&["localhost"]);
    let doc = |id: &str, delivery: &str| {
        format!(
            r#"{{"id": "{id}", "tasks": [{{"id": "T", "trigger": {{"every": {{"seconds": 600, "anchor": "2026-12-01T12:00:00Z"}}}},
            "actions": [{{"op": "Get", "target": "./DevInfo/Man"}}],
            "policy": {{"report": "always", "report_delivery": "{delivery}"}}}}]}}"#
        )
    };
    let install = format!(
        r#"{{"steps": [[
            {{"add": {{"target": "./Scheduling/Schedules/Now", "data": {}, "type": "application/json"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/Later", "data": {}, "type": "application/json"}}}}
        ]]}}"#,
        json_str(&doc("Now", "immediate")),
        json_str(&doc("Later", "next_session"))
    );
    let srv = rt.block_on(server(&pki, "srv-a", &install));
    let addr = srv.addr();
    let dir = tempfile::tempdir().unwrap();
    let dev = agent(dir.path());
    let acct = serde_json::to_string(&account_file("srv-a", &srv.url())).unwrap();
    dev.provision(&acct, Some(&pki.ca_pem), None, at(T0))
        .unwrap();
    dev.run_session("srv-a", None, at(T0)).unwrap();
    assert_eq!(dev.schedules().unwrap().len(), 2);
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());

    // Both fire at T0 + 600; only the immediate one makes the device call.
    let now = AtomicI64::new(T0 + 600);
    let t = || at(now.load(Ordering::SeqCst));
    assert_eq!(dev.tick(t()).unwrap().len(), 4, "T0 and T0 + 600 of each");
    assert_eq!(dev.reports_to_deliver(), ["srv-a"]);
    assert_eq!(dev.next_wakeup(), Some(t()), "deliver now");
    let d = dev.deliver_reports(t()).unwrap();
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].error, None, "{d:?}");
    assert_eq!(
        d[0].delivered, 6,
        "both schedules' results and their install state reports go along"
    );
    assert!(dev.reports_to_deliver().is_empty());
    assert_eq!(results(&srv).len(), 4);
    assert_eq!(
        dev.next_wakeup(),
        Some(at(T0 + 1200)),
        "back to the schedule"
    );

    // Only next_session reports: no call.
    let accounts = srv.accounts();
    rt.block_on(srv.shutdown());
    let (now_reports, later_reports): (Vec<_>, Vec<_>) = dev
        .tick(at(T0 + 1200))
        .unwrap()
        .into_iter()
        .partition(|f| f.schedule == "Now");
    assert_eq!((now_reports.len(), later_reports.len()), (1, 1));
    now.store(T0 + 1200, Ordering::SeqCst);

    // The server is down: attempts back off 30 s, 60 s, 100 s (the cap).
    let mut retries = Vec::new();
    for _ in 0..3 {
        let d = dev.deliver_reports(t()).unwrap();
        assert_eq!(d.len(), 1);
        assert!(d[0].error.is_some());
        let next = d[0].retry_at.unwrap();
        retries.push(next.as_second() - t().as_second());
        assert!(
            dev.deliver_reports(t()).unwrap().is_empty(),
            "not before its time"
        );
        assert_eq!(
            dev.next_wakeup(),
            Some(next),
            "the retry is the next wakeup"
        );
        now.store(next.as_second(), Ordering::SeqCst);
    }
    assert_eq!(retries, [30, 60, 100]);

    // Back (same address, same accounts): delivered once, failures forgotten.
    let mut cfg = ServerConfig::new(accounts, Script::from_json(r#"{"steps": []}"#).unwrap())
        .with_tls(pki.identity());
    cfg.listen = addr;
    let srv = rt.block_on(start(cfg)).unwrap();
    let d = dev.deliver_reports(t()).unwrap();
    assert_eq!(d[0].error, None, "{d:?}");
    assert_eq!(d[0].attempts, 0);
    let got = results(&srv);
    assert_eq!(got.len(), 2, "the T0 + 1200 runs, once each: {got:?}");
    assert!(got.iter().any(|r| r.contains("<Schedule>Now</Schedule>")));
    assert!(got.iter().any(|r| r.contains("<Schedule>Later</Schedule>")));
    assert!(dev.deliver_reports(t()).unwrap().is_empty());
    assert!(dev.pending_reports("srv-a").unwrap().is_empty());
    rt.block_on(srv.shutdown());
}

/// The account file's `encoding` is honoured by the agent: a server
/// provisioned with `wbxml` is spoken to in WBXML, and a bad value is
/// refused at provisioning with nothing stored.
#[test]
fn the_agent_speaks_the_encoding_of_the_account() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let pki = test_pki(&["localhost"]);
    let srv = rt.block_on(server(
        &pki,
        "srv-w",
        r#"{"steps": [[{"get": "./DevInfo/Man"}]]}"#,
    ));
    let dir = tempfile::tempdir().unwrap();
    let dev = agent(dir.path());
    let mut file = account_file("srv-w", &srv.url());
    file.encoding = Some("morse".into());
    let bad = serde_json::to_string(&file).unwrap();
    let e = dev
        .provision(&bad, Some(&pki.ca_pem), None, at(T0))
        .unwrap_err();
    assert!(e.to_string().contains("morse"), "{e}");
    assert!(
        dev.run_session("srv-w", None, at(T0)).is_err(),
        "nothing provisioned"
    );
    file.encoding = Some("wbxml".into());
    let good = serde_json::to_string(&file).unwrap();
    dev.provision(&good, Some(&pki.ca_pem), None, at(T0))
        .unwrap();
    dev.run_session("srv-w", None, at(T0)).unwrap();
    let reqs = srv.recorder().requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter().all(|r| r.encoding.as_deref() == Some("wbxml")),
        "{:?}",
        reqs.iter().map(|r| &r.content_type).collect::<Vec<_>>()
    );
    assert_eq!(srv.recorder().results()[0].data, "dmsched");
    rt.block_on(srv.shutdown());
}
