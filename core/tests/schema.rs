//! The published JSON Schema (docs/schedule.schema.json) and the engine's
//! parser agree: every example is valid for both, and structurally bad
//! documents are rejected by both. Needs python3 with `jsonschema`
//! (`make test` installs it); fails, rather than skips, without it.

use std::io::Write;
use std::process::{Command, Stdio};

use dmsched::model::{Limits, parse_document};

fn examples() -> Vec<serde_json::Value> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "json")
            && !p.to_string_lossy().ends_with("-tree.json")
        {
            match serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap() {
                serde_json::Value::Array(v) => out.extend(v),
                v => out.push(v),
            }
        }
    }
    assert!(out.len() >= 5);
    out
}

fn bad() -> Vec<serde_json::Value> {
    let base = r#"{"id": "x", "tasks": [{"id": "t", "trigger": {"at": "2026-01-01T00:00:00Z"}, "actions": [{"op": "Get", "target": "./A"}]}]}"#;
    let mut v: Vec<serde_json::Value> = Vec::new();
    let mut with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut d: serde_json::Value = serde_json::from_str(base).unwrap();
        f(&mut d);
        v.push(d);
    };
    with(&|d| d["colour"] = "red".into());
    with(&|d| d["tasks"][0]["trigger"]["every"] = serde_json::json!({"seconds": 60}));
    with(&|d| d["tasks"][0]["trigger"] = serde_json::json!({}));
    with(&|d| d["tasks"][0]["actions"][0] = serde_json::json!({"target": "./A"}));
    with(&|d| d["tasks"][0]["actions"][0] = serde_json::json!({"op": "Launch", "target": "./A"}));
    with(&|d| {
        d["tasks"][0]["actions"][0] =
            serde_json::json!({"atomic": [], "op": "Get", "target": "./A"})
    });
    with(&|d| d["tasks"][0]["policy"] = serde_json::json!({"misfire": "sometimes"}));
    with(&|d| d["tasks"][0]["policy"] = serde_json::json!({"dst": {"gap": "jump"}}));
    with(&|d| {
        d["tasks"][0]["constraints"] =
            serde_json::json!({"windows": [{"start": "25:00", "end": "06:00"}]})
    });
    with(&|d| d["tasks"][0]["termination"] = serde_json::json!({"max_runs": "three"}));
    with(
        &|d| d["tasks"][0]["trigger"] = serde_json::json!({"calendar": {"rrule": "FREQ=DAILY", "dtstart": "2026-01-01T00:00:00Z", "tz": "UTC"}}),
    );
    with(&|d| {
        d.as_object_mut().unwrap().remove("tasks");
    });
    v
}

fn schema_verdicts(docs: &[serde_json::Value]) -> Vec<bool> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oracle/check_schema.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed (make test installs jsonschema)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(docs).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "schema check failed (pip install jsonschema): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn schema_and_parser_accept_every_example() {
    let docs = examples();
    for (d, ok) in docs.iter().zip(schema_verdicts(&docs)) {
        assert!(ok, "schema rejects example {}", d["id"]);
        parse_document(&d.to_string(), &Limits::default())
            .unwrap_or_else(|p| panic!("parser rejects {}: {p}", d["id"]));
    }
}

#[test]
fn schema_and_parser_reject_structurally_bad_documents() {
    let docs = bad();
    for (d, ok) in docs.iter().zip(schema_verdicts(&docs)) {
        assert!(!ok, "schema accepts {d}");
        assert!(
            parse_document(&d.to_string(), &Limits::default()).is_err(),
            "parser accepts {d}"
        );
    }
}
