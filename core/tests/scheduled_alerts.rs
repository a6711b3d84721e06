//! Issue 18, 6.1.7.4: a schedule may show the user a notification or ask
//! a question (Alerts 1100–1104) when it runs, and its commands may read
//! listings and properties (`?list=`, `?prop=`). What the document may say,
//! and what an unattended device answers (the documented policy in
//! docs/schedule-format.md, "Alerts"). The end-to-end run over HTTPS, with
//! a user, is samples/dm-server/tests/mo_commands.rs.

use dmsched::engine::check_document;
use dmsched::model::{Action, Limits, Op};
use dmsched::tree::{DeviceInfo, Tree, TreeConfig};
use dmsched::{ActionExecutor, RunContext};
use jiff::Timestamp;

fn problems(action: &str) -> Vec<String> {
    let doc = format!(
        r#"{{"id": "s", "tasks": [{{"id": "t", "trigger": {{"at": "2026-01-01T00:00:00Z"}}, "actions": [{action}]}}]}}"#
    );
    let at = "2026-01-01T00:00:00Z".parse().unwrap();
    match check_document(&doc, &Limits::default(), at) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn alerts_and_queries_are_checked_with_a_message_naming_the_mistake() {
    let ok = [
        r#"{"op": "Alert", "alert": 1100, "data": "Maintenance tonight"}"#,
        r#"{"op": "Alert", "alert": 1101, "data": "Go?", "options": "MAXDT=60&DR=1"}"#,
        r#"{"op": "Alert", "alert": 1102, "data": "Name?", "options": "MAXLEN=20&IT=A&ET=T"}"#,
        r#"{"op": "Alert", "alert": 1104, "data": "Pick", "choices": ["a", "b"]}"#,
        r#"{"op": "Get", "target": "./Vendor?list=StructData"}"#,
        r#"{"op": "Get", "target": "./Vendor/X?prop=TStamp"}"#,
        r#"{"op": "Replace", "target": "./Vendor/X?prop=ACL", "data": "Get=*"}"#,
    ];
    for a in ok {
        assert_eq!(problems(a), Vec::<String>::new(), "{a}");
    }
    let bad = [
        (
            r#"{"op": "Alert", "data": "x"}"#,
            "missing required key \"alert\"",
        ),
        (
            r#"{"op": "Alert", "alert": 1226, "data": "x"}"#,
            "alert 1226 is not a user interaction",
        ),
        (
            r#"{"op": "Alert", "alert": 1100, "target": "./A", "data": "x"}"#,
            "an Alert has no `target`",
        ),
        (r#"{"op": "Alert", "alert": 1100}"#, "needs `data`"),
        (
            r#"{"op": "Alert", "alert": 1103, "data": "x"}"#,
            "needs `choices`",
        ),
        (
            r#"{"op": "Alert", "alert": 1101, "data": "x", "choices": ["a"]}"#,
            "only alerts 1103 and 1104",
        ),
        (
            r#"{"op": "Alert", "alert": 1101, "data": "x", "options": "MAXDT=soon"}"#,
            "MAXDT=soon is not a number",
        ),
        (
            r#"{"op": "Alert", "alert": 1101, "data": "x", "options": "COLOR=red"}"#,
            "unknown option",
        ),
        (
            r#"{"op": "Alert", "alert": 1101, "data": "x", "format": "chr"}"#,
            "an Alert takes no `format`",
        ),
        (
            r#"{"op": "Exec", "target": "./A", "alert": 1101}"#,
            "belong to an Alert",
        ),
        (
            r#"{"op": "Get", "target": "./A?list=Everything"}"#,
            "invalid target URI",
        ),
        (
            r#"{"op": "Delete", "target": "./A?prop=ACL"}"#,
            "invalid target URI",
        ),
        (
            r#"{"op": "Replace", "target": "./A?prop=Size", "data": "1"}"#,
            "invalid target URI",
        ),
    ];
    for (a, want) in bad {
        let p = problems(a);
        assert!(p.iter().any(|m| m.contains(want)), "{a}: {p:?}");
    }
}

fn ctx() -> RunContext {
    let now: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    RunContext {
        owner: "srv".into(),
        schedule: "s".into(),
        task: "t".into(),
        seq: 0,
        attempt: 0,
        due: now,
        now,
        run_id: 1,
    }
}

fn actions(json: &str) -> Vec<Action> {
    serde_json::from_str(json).unwrap()
}

/// The unattended policy: with no user interface (or a locked device) the
/// default response stands in (408 with it as data, and the sequence goes
/// on); a 1101 whose default is 0 is declined (304, the rest 215); no
/// default: 416, a failure the retry policy may try again.
#[test]
fn an_unattended_device_answers_with_the_default_response_or_416() {
    let tree = Tree::open_in_memory(
        TreeConfig::new(DeviceInfo::default()),
        "2026-03-01T12:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let run = |json: &str| -> Vec<(Op, u16, Option<String>)> {
        tree.execute(&ctx(), &actions(json))
            .unwrap()
            .into_iter()
            .map(|r| (r.op, r.status, r.data))
            .collect()
    };
    let yes = run(
        r#"[{"sequence": [{"op": "Alert", "alert": 1101, "data": "Go?", "options": "DR=1"}, {"op": "Get", "target": "./DevInfo/DevId"}]}]"#,
    );
    assert_eq!(yes[0], (Op::Alert, 408, Some("1".into())));
    assert_eq!(yes[1].1, 200, "the default yes lets the sequence go on");
    let no = run(
        r#"[{"sequence": [{"op": "Alert", "alert": 1101, "data": "Go?", "options": "DR=0"}, {"op": "Get", "target": "./DevInfo/DevId"}]}]"#,
    );
    assert_eq!(no[0], (Op::Alert, 304, Some("0".into())));
    assert_eq!(no[1].1, 215);
    let text =
        run(r#"[{"op": "Alert", "alert": 1102, "data": "Name?", "options": "DR=hello+andy%21"}]"#);
    assert_eq!(text[0], (Op::Alert, 408, Some("hello andy!".into())));
    let none = run(r#"[{"op": "Alert", "alert": 1100, "data": "FYI"}]"#);
    assert_eq!(none[0], (Op::Alert, 416, None));
}

/// Which Alert results count as success, as a user's refusal, or as a
/// failure: the rules the engine's outcome follows.
#[test]
fn alert_results_are_success_declined_or_failed() {
    use dmsched::model::CommandResult;
    let r = |status, data: Option<&str>| CommandResult {
        op: Op::Alert,
        target: String::new(),
        status,
        data: data.map(str::to_string),
    };
    assert!(r(408, Some("1")).is_success());
    assert!(!r(408, None).is_success() && r(408, None).is_declined());
    assert!(r(304, None).is_declined() && r(214, None).is_declined());
    assert!(!r(416, None).is_success() && !r(416, None).is_declined());
    let get = CommandResult {
        op: Op::Get,
        ..r(408, Some("x"))
    };
    assert!(!get.is_success() && !get.is_declined(), "only Alerts");
}

/// In hand-off mode the host's DM stack answers the Alert itself: its
/// result needs no target (and none is written for one).
#[test]
fn an_alert_result_has_no_target() {
    use dmsched::model::CommandResult;
    let r: CommandResult =
        serde_json::from_str(r#"{"op": "Alert", "status": 200, "data": "2"}"#).unwrap();
    assert_eq!((r.op, r.target.as_str(), r.status), (Op::Alert, "", 200));
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"op":"Alert","status":200,"data":"2"}"#
    );
}

/// On a device with no user interface (the tree runs the commands), an
/// Alert without a default is 416: the attempt fails and `policy.retry`
/// tries again after the backoff; the occurrence ends failed with both
/// attempts. With a default that declines (1101, DR=0) it is skipped, not
/// retried.
#[test]
fn an_unshown_alert_is_retried_and_a_declined_default_is_not() {
    use std::sync::Arc;
    let t0: Timestamp = "2026-03-01T12:00:00Z".parse().unwrap();
    let tree = Arc::new(Tree::open_in_memory(TreeConfig::new(DeviceInfo::default()), t0).unwrap());
    let host = dmsched::Host {
        tree: tree.clone(),
        executor: tree.clone(),
        prompt: None,
        reports: None,
        authorizer: None,
    };
    let mut e = dmsched::Engine::open(
        dmsched::store::Store::open_in_memory().unwrap(),
        host,
        dmsched::EngineConfig::default(),
    )
    .unwrap();
    let doc = |id: &str, options: &str| {
        format!(
            r#"{{"id": "{id}", "tasks": [{{"id": "t", "trigger": {{"event": {{"name": "go"}}}},
              "actions": [{{"op": "Alert", "alert": 1101, "data": "Go?"{options}}}],
              "policy": {{"retry": {{"max": 1, "backoff": 60}}}}}}]}}"#
        )
    };
    e.submit("srv", &doc("plain", ""), t0).unwrap();
    e.submit("srv", &doc("no", r#", "options": "DR=0""#), t0)
        .unwrap();
    let go = dmsched::Event {
        name: "go".into(),
        fields: Default::default(),
    };
    let first = e.on_event(&go, t0).unwrap();
    // The declined default ends at once; the unshown one waits to retry.
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].schedule, "no");
    assert_eq!(first[0].outcome, dmsched::model::Outcome::Skipped);
    assert_eq!(first[0].attempts, 1);
    let retry = e.next_wakeup().unwrap();
    assert_eq!(retry, t0 + jiff::SignedDuration::from_secs(60));
    let second = e.tick(retry).unwrap();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(
        (
            second[0].schedule.as_str(),
            second[0].outcome,
            second[0].attempts
        ),
        ("plain", dmsched::model::Outcome::Failed, 2)
    );
    assert_eq!(second[0].results[0].status, 416);
}
