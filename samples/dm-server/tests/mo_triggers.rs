//! Issue 18's triggers end to end over HTTPS, installed node by node
//! through the Scheduling MO in an Atomic: a `becomes_true` edge with a
//! re-arm condition (`<G>/Condition` + `<G>/RearmWhen`), a task chained to
//! it (`<T>/DependsOn`), and a trigger on a value changing (TreeValue Op
//! `changed`). The server's own Replaces move the values over DM; the
//! device runs what they trigger (a level flickering around the threshold
//! fires once); the results reach the server with the MO tasks as Source.

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

fn replace(uri: &str, value: &str) -> serde_json::Value {
    serde_json::json!({"replace": {"target": uri, "data": value}})
}

fn cmds(target: &str, value: &str) -> String {
    format!(
        "<SyncBody><Replace><CmdID>1</CmdID><Item><Target><LocURI>{target}</LocURI></Target><Data>{value}</Data></Item></Replace></SyncBody>"
    )
}

fn schedule() -> Vec<serde_json::Value> {
    let u = |p: &str| format!("./Scheduling/Schedules/H{p}");
    let policy = r#"{"report": "always"}"#;
    let low = cmds("./Vendor/Saver", "on");
    let told = cmds("./Vendor/Told", "yes");
    let mode = "<SyncBody><Get><CmdID>1</CmdID><Item><Target><LocURI>./Vendor/Mode</LocURI></Target></Item></Get></SyncBody>";
    let mut v = vec![add(&u(""), None, "node")];
    for (p, d, f) in [
        ("/Tasks/Low/Cmds", Some(low.as_str()), "xml"),
        ("/Tasks/Low/Policy", Some(policy), "chr"),
        (
            "/Tasks/Low/Triggers/G/Condition",
            Some("./Vendor/Level < 20"),
            "chr",
        ),
        (
            "/Tasks/Low/Triggers/G/RearmWhen",
            Some("./Vendor/Level > 25"),
            "chr",
        ),
        ("/Tasks/Told/Cmds", Some(told.as_str()), "xml"),
        ("/Tasks/Told/Policy", Some(policy), "chr"),
        ("/Tasks/Told/DependsOn", Some("Low"), "chr"),
        ("/Tasks/Mode/Cmds", Some(mode), "xml"),
        ("/Tasks/Mode/Policy", Some(policy), "chr"),
        (
            "/Tasks/Mode/Triggers/G/TreeValue/URI",
            Some("./Vendor/Mode"),
            "chr",
        ),
        (
            "/Tasks/Mode/Triggers/G/TreeValue/Op",
            Some("changed"),
            "chr",
        ),
    ] {
        v.push(add(&u(p), d, f));
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rearm_chaining_and_value_changes_run_from_dm_writes_over_https() {
    let pki = test_pki(&["localhost"]);
    let step0 = serde_json::json!([
        add("./Vendor", None, "node"),
        add("./Vendor/Level", Some("50"), "int"),
        add("./Vendor/Mode", Some("normal"), "chr"),
        add("./Vendor/Saver", Some("off"), "chr"),
        add("./Vendor/Told", Some("no"), "chr"),
        { "atomic": schedule() },
        {"get": "./Scheduling/Schedules/H/Tasks/Low/Triggers/G/RearmWhen"},
        {"get": "./Scheduling/Schedules/H/Tasks/Told/DependsOn"},
        {"get": "./Scheduling/Schedules/H/Tasks/Mode/Triggers/G/TreeValue/Op"},
    ]);
    let srv = server(
        &pki,
        "srv-a",
        &serde_json::json!({ "steps": [step0] }).to_string(),
    )
    .await;
    let dev = device(&[account_file("srv-a", &srv.url())]);
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let statuses = srv.recorder().statuses();
    assert!(
        statuses
            .iter()
            .filter(|s| matches!(s.cmd.as_str(), "Add" | "Atomic"))
            .all(|s| s.code == 200),
        "{statuses:?}"
    );
    let read: Vec<String> = srv
        .recorder()
        .results()
        .iter()
        .map(|r| r.data.clone())
        .collect();
    assert_eq!(read, ["./Vendor/Level > 25", "Low", "changed"]);

    // The server moves the level and the mode: 15 (fires), 22 (not re-armed:
    // not above 25), 18 (no second firing), 30 (re-armed), 10 (fires again);
    // the mode changes once and is rewritten with the same value once.
    let mut fired = Vec::new();
    let mut at = T0;
    for (level, mode) in [
        ("15", "eco"),
        ("22", "eco"),
        ("18", "eco"),
        ("30", "eco"),
        ("10", "eco"),
    ] {
        srv.set_script(
            Script::from_json(
                &serde_json::json!({"steps": [[replace("./Vendor/Level", level), replace("./Vendor/Mode", mode)]]})
                    .to_string(),
            )
            .unwrap(),
        );
        at += 60;
        dev.now.store(at, Ordering::SeqCst);
        dev.client
            .run_session("srv-a", None, &t, None)
            .await
            .unwrap();
        fired.extend(
            dev.mo
                .tick(jiff::Timestamp::from_second(at).unwrap())
                .unwrap()
                .into_iter()
                .map(|f| format!("{} {}", f.task, f.outcome.as_str())),
        );
    }
    assert_eq!(
        fired,
        [
            "Low ran", "Told ran", "Mode ran", // 15: the edge, its follower; the mode changed
            "Low ran", "Told ran", // 10, after re-arming at 30
        ],
        "a level flickering around 20 fires once per re-arm; the same mode again is no change"
    );
    assert_eq!(
        dev.tree.device().get("./Vendor/Told").unwrap()[0].text(),
        "yes"
    );

    // The results, with the MO tasks as Source, reach the server.
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let sources: Vec<String> = srv
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter(|x| x.items[0].meta_type.as_deref() == Some("org.dmsched.scheduling.result"))
        .filter_map(|x| x.items[0].source.clone())
        .collect();
    let base = "./Scheduling/Schedules/H/Tasks";
    assert_eq!(
        sources
            .iter()
            .filter(|s| **s == format!("{base}/Low"))
            .count(),
        2
    );
    assert_eq!(
        sources
            .iter()
            .filter(|s| **s == format!("{base}/Told"))
            .count(),
        2
    );
    assert_eq!(
        sources
            .iter()
            .filter(|s| **s == format!("{base}/Mode"))
            .count(),
        1
    );
    let causes: Vec<String> = srv
        .recorder()
        .generic_alerts()
        .into_iter()
        .filter_map(|x| x.items[0].data.clone())
        .filter(|d| d.contains("<Task>Told</Task>"))
        .map(|d| {
            d.split("<Cause>")
                .nth(1)
                .unwrap_or("")
                .split("</Cause>")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(causes, ["task Low ran", "task Low ran"]);
}
