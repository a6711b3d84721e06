//! The Scheduling MO over DM, end to end (issue 6, first increment): a
//! server installs a schedule as a JSON document under `./Scheduling`,
//! reads its state, suspends and re-activates it, the device runs it
//! offline against its own tree with the owner's rights, the report travels
//! as a Generic Alert 1226 in the next session and is acknowledged, another
//! server can neither see nor end it, and Delete terminates it.

use std::sync::atomic::Ordering;

use dmsched_dm_server::{Script, test_pki};

mod support;
use support::*;

/// 6.1.7.1, 6.1.7.2, 6.1.7.6, 6.3.1.41: install, read state, suspend,
/// activate, run offline with the owner's rights, report as 1226 once,
/// terminate by Delete; a second server gets 425 / sees nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_installed_over_dm_runs_offline_and_reports() {
    let pki = test_pki(&["localhost"]);
    let doc = r#"{"name": "eco at noon", "tasks": [{"id": "T1",
        "trigger": {"every": {"seconds": 3600, "anchor": "2026-12-01T12:30:00Z"}},
        "actions": [{"op": "Replace", "target": "./Vendor/Mode", "data": "eco"}],
        "policy": {"report": "always"}}]}"#;
    let install = format!(
        r#"{{"steps": [
            [{{"add": {{"target": "./Vendor", "format": "node"}}}},
             {{"add": {{"target": "./Vendor/Mode", "data": "off"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/S1", "data": {}, "type": "application/json"}}}}],
            [{{"get": "./Scheduling/Schedules/S1/State"}},
             {{"get": "./Scheduling/Schedules/S1/ServerID"}},
             {{"exec": {{"target": "./Scheduling/Schedules/S1/Operations/Suspend"}}}}],
            [{{"get": "./Scheduling/Schedules/S1/State"}},
             {{"exec": {{"target": "./Scheduling/Schedules/S1/Operations/Activate"}}}}],
            [{{"get": "./Scheduling/Schedules/S1/State"}},
             {{"get": "./Scheduling/Schedules/S1/Tasks/T1/NextRun"}}]
        ]}}"#,
        json_str(doc)
    );
    let a = server(&pki, "srv-a", &install).await;
    let b = server(
        &pki,
        "srv-b",
        r#"{"steps": [[{"get": "./Scheduling/Schedules/S1/State"}, {"get": "./Scheduling/Schedules?list=Struct"},
            {"delete": "./Scheduling/Schedules/S1"},
            {"replace": {"target": "./Scheduling/Schedules/S1/Document", "data": "{}"}},
            {"exec": {"target": "./Scheduling/Schedules/S1/Operations/Suspend"}}]]}"#,
    )
    .await;
    let dev = device(&[
        account_file("srv-a", &a.url()),
        account_file("srv-b", &b.url()),
    ]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let rec = a.recorder();
    assert!(
        rec.statuses_for("Add").iter().all(|s| s.code == 200),
        "{:?}",
        rec.statuses_for("Add")
    );
    let results: Vec<String> = rec.results().into_iter().map(|r| r.data).collect();
    assert_eq!(results, ["20", "srv-a", "40", "20", "2026-12-01T12:30:00Z"]);
    assert!(rec.statuses_for("Exec").iter().all(|s| s.code == 200));

    // The other server: S1 is not in its namespace (6.3.1.5): its Get,
    // Delete, Replace and Exec find nothing, its listing does not show S1;
    // S1 is untouched.
    dev.client
        .run_session("srv-b", None, &t, None)
        .await
        .unwrap();
    let rb = b.recorder();
    let codes: Vec<(String, u16)> = rb
        .statuses()
        .into_iter()
        .filter(|s| s.cmd != "SyncHdr")
        .map(|s| (s.cmd, s.code))
        .collect();
    assert_eq!(codes[0], ("Get".into(), 404));
    assert_eq!(codes[1].1, 200);
    assert!(
        !rb.results().iter().any(|r| r.data.contains("S1")),
        "{:?}",
        rb.results()
    );
    assert_eq!(codes[2], ("Delete".into(), 404));
    assert_eq!(codes[3], ("Replace".into(), 404));
    assert_eq!(codes[4], ("Exec".into(), 404));
    assert_eq!(
        dev.mo.engine().list_all().unwrap()[0].state.as_str(),
        "active"
    );

    // Offline: the device's clock reaches 12:30 and the engine runs the task
    // with srv-a's rights on the device's own tree.
    dev.now.store(T0 + 1800, Ordering::SeqCst);
    let fired = dev
        .mo
        .tick(jiff::Timestamp::from_second(T0 + 1800).unwrap())
        .unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(
        dev.tree.device().get("./Vendor/Mode").unwrap()[0].text(),
        "eco"
    );

    // Next session: the report goes out as a Generic Alert 1226, once.
    a.set_script(Script::from_json(r#"{"steps": [[{"delete": "./Scheduling/Schedules/S1"}], [{"get": "./Scheduling/Schedules/S1/State"}]]}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let of_type = |t: &str| -> Vec<String> {
        a.recorder()
            .generic_alerts()
            .into_iter()
            .filter(|x| x.items[0].meta_type.as_deref() == Some(t))
            .map(|x| x.items[0].data.clone().unwrap_or_default())
            .collect()
    };
    // State reports (6.3.1.2.9: the verification result) for install,
    // suspend and activate, queued during the first session.
    let states = of_type("org.dmsched.scheduling.state");
    let events: Vec<&str> = states
        .iter()
        .filter_map(|d| d.split("<Event>").nth(1)?.split("</Event>").next())
        .collect();
    assert_eq!(events, ["installed", "suspended", "activated"]);
    let results = of_type("org.dmsched.scheduling.result");
    assert_eq!(results.len(), 1, "{results:?}");
    assert!(
        results[0].contains("<Outcome>ran</Outcome>"),
        "{}",
        results[0]
    );
    let item = a
        .recorder()
        .generic_alerts()
        .into_iter()
        .find(|x| x.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .unwrap();
    assert_eq!(
        item.items[0].source.as_deref(),
        Some("./Scheduling/Schedules/S1/Tasks/T1")
    );
    assert_eq!(item.items[0].format.as_deref(), Some("xml"));
    assert!(
        dev.mo.reports("srv-a", 10).unwrap().is_empty(),
        "acknowledged reports are removed"
    );
    let last = a.recorder().results().last().unwrap().data.clone();
    assert_eq!(last, "80", "Delete terminated the schedule");
    // One more session: the result is not sent again; the termination's
    // state report is.
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert_eq!(
        of_type("org.dmsched.scheduling.result").len(),
        1,
        "each report arrives once (no answer was lost)"
    );
    assert!(
        of_type("org.dmsched.scheduling.state")
            .iter()
            .any(|d| d.contains("terminated"))
    );
}

/// 6.3.1.42, 6.1.7.6: a bad document is refused with a status and nothing is
/// installed; inside an Atomic, a failure of a later command rolls the
/// install back (216) and the schedule never reaches the engine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_schedule_requests_install_nothing() {
    let pki = test_pki(&["localhost"]);
    let good = r#"{"tasks": [{"id": "T", "trigger": {"every": {"seconds": 3600}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let bad_rrule = r#"{"tasks": [{"id": "T", "trigger": {"calendar": {"rrule": "FREQ=DAILY;BYHOUR=25", "dtstart": "2026-12-01T00:00:00"}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let script = format!(
        r#"{{"steps": [[
            {{"add": {{"target": "./Scheduling/Schedules/Bad", "data": {}, "type": "application/json"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/NotJson", "data": "hello", "type": "application/json"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/Nodes", "format": "node"}}}},
            {{"atomic": [
                {{"add": {{"target": "./Scheduling/Schedules/Rolled", "data": {}, "type": "application/json"}}}},
                {{"replace": {{"target": "./DevInfo/Man", "data": "x"}}}}
            ]}},
            {{"add": {{"target": "./Scheduling/Schedules/Ok", "data": {}, "type": "application/json"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/Ok", "data": {}, "type": "application/json"}}}}
        ]]}}"#,
        json_str(bad_rrule),
        json_str(good),
        json_str(good),
        json_str(good)
    );
    let a = server(&pki, "srv-a", &script).await;
    let dev = device(&[account_file("srv-a", &a.url())]);
    dev.client
        .run_session("srv-a", None, &https(&pki), None)
        .await
        .unwrap();
    let adds: Vec<u16> = a
        .recorder()
        .statuses_for("Add")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(
        adds,
        [400, 415, 200, 216, 200, 418],
        "bad RRULE, not JSON, node-by-node (staged, not installed), rolled back, ok, exists"
    );
    assert_eq!(a.recorder().statuses_for("Atomic")[0].code, 507);
    let ids: Vec<String> = dev
        .mo
        .engine()
        .list_all()
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["Ok"]);
}

/// 6.1.7.6: a scheduled action runs with its owner's rights, checked at
/// install where knowable and always again at run time: a schedule of
/// srv-a that would change srv-b's existing DM account is refused at once
/// (425, nothing installed); one aimed at srv-c's account, which does not
/// exist yet, is installed, and when it runs after srv-c was provisioned it
/// fails with 425 (reported to srv-a, Mark critical), srv-c's account
/// unchanged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_actions_run_with_the_owners_rights_only() {
    let pki = test_pki(&["localhost"]);
    let steal = |acct: &str| {
        format!(
            r#"{{"tasks": [{{"id": "Steal", "trigger": {{"at": "2026-12-01T12:10:00Z"}},
            "actions": [{{"op": "Replace", "target": "./DMAcc/{acct}/AppAddr/1/Addr", "data": "https://evil.example/dm"}}],
            "policy": {{"report": "always"}}}}]}}"#
        )
    };
    let a = server(
        &pki,
        "srv-a",
        &format!(
            r#"{{"steps": [[{{"add": {{"target": "./Scheduling/Schedules/X", "data": {}, "type": "application/json"}}}},
                {{"add": {{"target": "./Scheduling/Schedules/Y", "data": {}, "type": "application/json"}}}}]]}}"#,
            json_str(&steal("srv_b")),
            json_str(&steal("srv_c"))
        ),
    )
    .await;
    let dev = device(&[
        account_file("srv-a", &a.url()),
        account_file("srv-b", "https://b.example/dm"),
    ]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let adds: Vec<u16> = a
        .recorder()
        .statuses_for("Add")
        .iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(
        adds,
        [425, 200],
        "srv_b's account exists: refused at install; srv_c's does not yet: checked when it runs"
    );
    let ids: Vec<String> = dev
        .mo
        .engine()
        .list_all()
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["Y"]);
    dev.tree
        .add_account(
            &account_file("srv-c", "https://c.example/dm")
                .to_tree_account()
                .unwrap(),
            jiff::Timestamp::from_second(T0 + 300).unwrap(),
        )
        .unwrap();
    dev.now.store(T0 + 600, Ordering::SeqCst);
    let fired = dev
        .mo
        .tick(jiff::Timestamp::from_second(T0 + 600).unwrap())
        .unwrap();
    assert_eq!(fired[0].results[0].status, 425, "{fired:?}");
    let addr = dev.tree.account("srv-c").unwrap().unwrap().addrs[0]
        .addr
        .clone();
    assert_eq!(addr, "https://c.example/dm");
    a.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let report = a
        .recorder()
        .generic_alerts()
        .into_iter()
        .find(|x| x.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .unwrap();
    assert_eq!(report.items[0].mark.as_deref(), Some("critical"));
    assert!(
        report.items[0]
            .data
            .as_deref()
            .unwrap_or("")
            .contains("status=\"425\"")
    );
}

/// 6.3.1.42, 6.2.5: device capability and quotas per server over DM: a
/// server over its schedule quota gets 420 (another server has its own
/// quota; ending one frees a place), a trigger more frequent than the
/// device's minimum interval 400; nothing of a refused schedule is
/// installed. (406 for unsupported features: `mo_nodes` in core.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_and_capability_limits_are_enforced_per_server() {
    let pki = test_pki(&["localhost"]);
    let doc = |secs: u32| {
        format!(
            r#"{{"tasks": [{{"id": "T", "trigger": {{"every": {{"seconds": {secs}}}}}, "actions": [{{"op": "Get", "target": "./DevInfo/Man"}}]}}]}}"#
        )
    };
    let add = |id: &str, d: &str| {
        format!(
            r#"{{"add": {{"target": "./Scheduling/Schedules/{id}", "data": {}, "type": "application/json"}}}}"#,
            json_str(d)
        )
    };
    let script = format!(
        r#"{{"steps": [[{}, {}, {}, {}, {},
            {{"add": {{"target": "./Scheduling/Schedules/N", "format": "node"}}}},
            {{"add": {{"target": "./Scheduling/Schedules/N/Tasks/T/DependsOn", "data": "A"}}}}]]}}"#,
        add("A", &doc(3600)),
        add("B", &doc(3600)),
        add("C", &doc(3600)),
        add("Fast", &doc(10)),
        add("Fast2", &doc(10)),
    );
    let a = server(&pki, "srv-a", &script).await;
    let b = server(
        &pki,
        "srv-b",
        &format!(
            r#"{{"steps": [[{}, {}]]}}"#,
            add("B1", &doc(3600)),
            add("B2", &doc(3600))
        ),
    )
    .await;
    let mut engine = dmsched::engine::EngineConfig {
        device_id: DEVICE.into(),
        ..dmsched::engine::EngineConfig::default()
    };
    engine.limits.max_schedules_per_owner = 2;
    let dev = device_with(
        &[
            account_file("srv-a", &a.url()),
            account_file("srv-b", &b.url()),
        ],
        engine,
    );
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let codes = |srv: &dmsched_dm_server::RunningServer| -> Vec<u16> {
        srv.recorder()
            .statuses_for("Add")
            .iter()
            .map(|s| s.code)
            .collect()
    };
    assert_eq!(
        codes(&a),
        [200, 200, 420, 400, 400, 420, 404],
        "A, B; C over quota; Fast and Fast2 below the minimum interval (checked first); N over quota, so no N/…"
    );
    dev.client
        .run_session("srv-b", None, &t, None)
        .await
        .unwrap();
    assert_eq!(codes(&b), [200, 200], "srv-b's quota is its own");
    // srv-a ends A: a place is free; the device still refuses what it
    // cannot do.
    a.recorder().clear();
    a.set_script(
        Script::from_json(&format!(
            r#"{{"steps": [[{{"delete": "./Scheduling/Schedules/A"}}, {}, {},
                {{"add": {{"target": "./Scheduling/Schedules/N", "format": "node"}}}},
                {{"add": {{"target": "./Scheduling/Schedules/N/Tasks", "format": "node"}}}},
                {{"add": {{"target": "./Scheduling/Schedules/N/Tasks/T", "format": "node"}}}},
                {{"add": {{"target": "./Scheduling/Schedules/N/Tasks/T/DependsOn", "data": "A"}}}}]]}}"#,
            add("Fast", &doc(10)),
            add("C", &doc(3600)),
        ))
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert_eq!(a.recorder().statuses_for("Delete")[0].code, 200);
    assert_eq!(
        codes(&a),
        [400, 200, 420, 404, 404, 404],
        "every 10 s is below the minimum interval; C takes the free place; then the quota is full again"
    );
    let mut ids: Vec<(String, String)> = dev
        .mo
        .engine()
        .list_all()
        .unwrap()
        .into_iter()
        .filter(|i| i.state.is_live())
        .map(|i| (i.owner, i.id))
        .collect();
    ids.sort();
    let want: Vec<(String, String)> = [
        ("srv-a", "B"),
        ("srv-a", "C"),
        ("srv-b", "B1"),
        ("srv-b", "B2"),
    ]
    .iter()
    .map(|(o, i)| (o.to_string(), i.to_string()))
    .collect();
    assert_eq!(ids, want);
}
