//! The Scheduling MO installed node by node over DM, end to end (issue 6):
//! over loopback HTTPS the server Adds a schedule node by node inside an
//! Atomic (verified as a whole at the Atomic's end), reads back its MO
//! nodes and diagnostics; an Atomic whose schedule is incomplete is
//! answered 507 with 216 for every command and installs nothing; a
//! schedule staged node by node outside an Atomic is installed by Exec
//! Activate; the device runs the schedule offline and the report travels
//! as a Generic Alert 1226 with the MO task as Source.

use std::sync::atomic::Ordering;

use dmsched_dm_server::{Script, test_pki};

mod support;
use support::*;

fn add(target: &str, data: Option<&str>, format: &str) -> serde_json::Value {
    let mut v = serde_json::json!({"target": target, "format": format});
    if let Some(d) = data {
        v["data"] = serde_json::Value::String(d.into());
    }
    serde_json::json!({ "add": v })
}

/// The node-by-node Adds of schedule `s`: task T1 with Cmds (a Replace of
/// ./Vendor/Mode to `value`) and a daily time trigger from `base`.
fn schedule(s: &str, base: &str, value: &str, with_cmds: bool) -> Vec<serde_json::Value> {
    let u = |p: &str| format!("./Scheduling/Schedules/{s}{p}");
    let cmds = format!(
        "<SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Mode</LocURI></Target><Data>{value}</Data></Item></Replace></SyncBody>"
    );
    let mut v = vec![
        add(&u(""), None, "node"),
        add(&u("/Name"), Some("eco at half past"), "chr"),
        add(&u("/Report"), None, "node"),
        add(&u("/Report/Gating"), Some("19"), "int"),
        add(&u("/Tasks"), None, "node"),
        add(&u("/Tasks/T1"), None, "node"),
    ];
    if with_cmds {
        v.push(add(&u("/Tasks/T1/Cmds"), Some(&cmds), "xml"));
    }
    for (p, d, f) in [
        ("/Tasks/T1/Triggers", None, "node"),
        ("/Tasks/T1/Triggers/G1", None, "node"),
        ("/Tasks/T1/Triggers/G1/Time", None, "node"),
        ("/Tasks/T1/Triggers/G1/Time/Base", Some(base), "chr"),
        (
            "/Tasks/T1/Triggers/G1/Time/RRule",
            Some("FREQ=DAILY"),
            "chr",
        ),
        ("/Tasks/T1/Triggers/G1/Time/TZ", Some("UTC"), "chr"),
    ] {
        v.push(add(&u(p), d, f));
    }
    v
}

fn get(uri: &str) -> serde_json::Value {
    serde_json::json!({ "get": uri })
}

/// 6.1.7.1, 6.1.7.2, 6.3.1.41, 6.3.1.42, 6.3.1.2.9: node-by-node installs
/// over DM: an Atomic install verified at its end, an incomplete one
/// refused as a whole (507, 216), a staged one activated by Exec; the
/// device runs the schedule offline and reports it as a Generic Alert 1226
/// for the MO task, with the install's state report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_installed_node_by_node_in_an_atomic_runs_and_reports() {
    let pki = test_pki(&["localhost"]);
    let mut step0 = vec![
        add("./Vendor", None, "node"),
        add("./Vendor/Mode", Some("off"), "chr"),
    ];
    step0
        .push(serde_json::json!({ "atomic": schedule("S1", "2026-12-01T12:30:00Z", "eco", true) }));
    step0.push(
        serde_json::json!({ "atomic": schedule("Bad", "2026-12-01T12:30:00Z", "eco", false) }),
    );
    // Staged outside an Atomic, then activated in the next package.
    step0.extend(schedule("S2", "2026-12-01T13:30:00Z", "night", true));
    let step1 = vec![
        get("./Scheduling/Schedules/S1/State"),
        get("./Scheduling/Schedules/S1/Name"),
        get("./Scheduling/Schedules/S1/Tasks/T1/Triggers/G1/Time/RRule"),
        get("./Scheduling/Schedules/S1/Tasks/T1/NextRun"),
        get("./Scheduling/Schedules/S2/State"),
        serde_json::json!({"exec": {"target": "./Scheduling/Schedules/S2/Operations/Activate"}}),
    ];
    let step2 = vec![
        get("./Scheduling/Schedules/S2/State"),
        get("./Scheduling/Schedules/Bad/State"),
    ];
    let script = serde_json::json!({ "steps": [step0, step1, step2] }).to_string();
    let a = server(&pki, "srv-a", &script).await;
    let dev = device(&[account_file("srv-a", &a.url())]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let rec = a.recorder();
    let atomics: Vec<u16> = rec.statuses_for("Atomic").iter().map(|s| s.code).collect();
    assert_eq!(
        atomics,
        [200, 507],
        "the incomplete schedule fails at the Atomic's end"
    );
    let adds: Vec<u16> = rec.statuses_for("Add").iter().map(|s| s.code).collect();
    let n = schedule("S1", "", "", true).len();
    let bad = schedule("Bad", "", "", false).len();
    assert!(adds[..2 + n].iter().all(|c| *c == 200), "{adds:?}");
    assert!(
        adds[2 + n..2 + n + bad].iter().all(|c| *c == 216),
        "rolled back: {adds:?}"
    );
    assert!(
        adds[2 + n + bad..].iter().all(|c| *c == 200),
        "staged: {adds:?}"
    );
    let results: Vec<String> = rec.results().into_iter().map(|r| r.data).collect();
    assert_eq!(
        results,
        [
            "20",
            "eco at half past",
            "FREQ=DAILY",
            "2026-12-01T12:30:00Z",
            "10",
            "20"
        ],
        "Bad has no State: 404"
    );
    let last_get = rec.statuses_for("Get").last().unwrap().code;
    assert_eq!(last_get, 404);
    assert_eq!(rec.statuses_for("Exec")[0].code, 200);

    // Offline: 12:30 comes, the device runs S1 with srv-a's rights.
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

    // Next session: the result and the state reports go out as 1226.
    a.set_script(
        Script::from_json(
            r#"{"steps": [[{"get": "./Scheduling/Schedules/S1/Tasks/T1/LastResult"}]]}"#,
        )
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let alerts = a.recorder().generic_alerts();
    let of_type = |ty: &str| -> Vec<(Option<String>, String)> {
        alerts
            .iter()
            .filter(|x| x.items[0].meta_type.as_deref() == Some(ty))
            .map(|x| {
                (
                    x.items[0].source.clone(),
                    x.items[0].data.clone().unwrap_or_default(),
                )
            })
            .collect()
    };
    let results = of_type("org.dmsched.scheduling.result");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(
        results[0].0.as_deref(),
        Some("./Scheduling/Schedules/S1/Tasks/T1")
    );
    assert!(
        results[0].1.contains("<Outcome>ran</Outcome>"),
        "{}",
        results[0].1
    );
    let states = of_type("org.dmsched.scheduling.state");
    let installed: Vec<&str> = states
        .iter()
        .filter(|(_, d)| d.contains("<Event>installed</Event>"))
        .filter_map(|(s, _)| s.as_deref())
        .collect();
    assert_eq!(
        installed,
        ["./Scheduling/Schedules/S1", "./Scheduling/Schedules/S2"]
    );
    assert_eq!(a.recorder().results().last().unwrap().data, "200");
    let ids: Vec<String> = dev
        .mo
        .engine()
        .list_all()
        .unwrap()
        .into_iter()
        .map(|i| i.id)
        .collect();
    assert_eq!(ids, ["S1", "S2"]);
}
