//! Personalisation end to end over HTTPS (issue 18; use case step 4): the
//! test server installs a schedule declaring what the user may adjust; the
//! device asks the user through the host's prompt, stores and applies the
//! choices, and the server learns them in a `personalized` state report
//! and from `<S>/Choices`; a modify keeps the choices whose parameter still
//! holds; a later change from the host's settings reaches the server with
//! its next session.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use dmsched::engine::EngineConfig;
use dmsched::host::{HostError, PromptAnswer, RunContext, UserPrompt};
use dmsched::model::Personalize;
use dmsched_dm_server::{Script, test_pki};

mod support;
use support::*;

struct User {
    asked: Mutex<Vec<Vec<String>>>,
}

impl UserPrompt for User {
    fn confirm(&self, _: &RunContext, _: &str) -> Result<PromptAnswer, HostError> {
        Ok(PromptAnswer::Accept)
    }

    fn personalize(
        &self,
        ctx: &RunContext,
        title: &str,
        p: &Personalize,
    ) -> Result<Option<dmsched::Choices>, HostError> {
        assert_eq!((ctx.owner.as_str(), title), ("srv-a", "Phone care"));
        self.asked.lock().unwrap().push(
            p.params
                .iter()
                .map(|x| x.label.clone().unwrap_or_default())
                .collect(),
        );
        Ok(Some(
            serde_json::from_str(r#"{"hours": {"start": "13:00", "end": "14:00"}, "later": 300}"#)
                .unwrap(),
        ))
    }
}

fn doc(later_max: u64) -> String {
    format!(
        r#"{{"name": "Phone care", "tz": "UTC", "tasks": [
        {{"id": "tidy", "trigger": {{"every": {{"seconds": 86400, "anchor": "2026-12-01T12:30:00Z"}}}},
          "constraints": {{"windows": [{{"start": "12:00", "end": "12:45"}}], "max_delay_seconds": 7200}},
          "actions": [{{"op": "Replace", "target": "./Vendor/Tidy", "data": "done"}}], "policy": {{"report": "always"}}}},
        {{"id": "usage", "trigger": {{"every": {{"seconds": 86400, "anchor": "2026-12-01T15:00:00Z"}}}},
          "actions": [{{"op": "Replace", "target": "./Vendor/Usage", "data": "sent"}}], "policy": {{"report": "always"}}}}],
        "personalize": {{"params": [
          {{"id": "hours", "task": "tidy", "label": "When may the phone tidy up?",
            "window": {{"within": {{"start": "12:00", "end": "18:00"}}, "min_minutes": 30}}}},
          {{"id": "later", "task": "usage", "label": "Send usage later", "delay": {{"max_seconds": {later_max}}}}},
          {{"id": "share", "task": "usage", "label": "Share usage", "opt_out": true}}]}}}}"#
    )
}

/// `<Choice …>` elements of the `personalized` reports the server got.
fn personalized(srv: &dmsched_dm_server::RunningServer) -> Vec<String> {
    srv.recorder()
        .generic_alerts()
        .iter()
        .filter_map(|x| x.items[0].data.clone())
        .filter(|d| d.contains("<Event>personalized</Event>"))
        .map(|d| {
            d.split("<Choice ")
                .skip(1)
                .map(|c| c.split("</Choice>").next().unwrap().to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_user_personalises_a_schedule_and_the_server_learns_it_over_https() {
    let pki = test_pki(&["localhost"]);
    let install = format!(
        r#"{{"steps": [
            [{{"add": {{"target": "./Vendor", "format": "node"}}}},
             {{"add": {{"target": "./Vendor/Tidy", "data": "-"}}}},
             {{"add": {{"target": "./Vendor/Usage", "data": "-"}}}},
             {{"add": {{"target": "./Scheduling/Schedules/P", "data": {}, "type": "application/json"}}}}]
        ]}}"#,
        json_str(&doc(600))
    );
    let srv = server(&pki, "srv-a", &install).await;
    let user = Arc::new(User {
        asked: Mutex::new(Vec::new()),
    });
    let dev = device_full(
        &[account_file("srv-a", &srv.url())],
        EngineConfig {
            device_id: DEVICE.into(),
            ..EngineConfig::default()
        },
        Some(user.clone()),
    );
    let t = https(&pki);
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert!(
        srv.recorder()
            .statuses_for("Add")
            .iter()
            .all(|s| s.code == 200)
    );
    assert_eq!(
        *user.asked.lock().unwrap(),
        [vec![
            "When may the phone tidy up?".to_string(),
            "Send usage later".into(),
            "Share usage".into()
        ]]
    );

    // Next session: the server reads the choices and receives the report.
    srv.set_script(
        Script::from_json(
            r#"{"steps": [[{"get": "./Scheduling/Schedules/P/Choices"},
                           {"get": "./Scheduling/Schedules/P/Personalize"}]]}"#,
        )
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let results = srv.recorder().results();
    assert_eq!(
        results[0].data,
        r#"{"hours":{"start":"13:00","end":"14:00"},"later":300}"#
    );
    assert!(results[1].data.contains(r#""id":"share""#) && !results[1].data.contains("choices"));
    assert_eq!(
        personalized(&srv),
        [
            r#"param="hours" task="tidy">{"start":"13:00","end":"14:00"} | param="later" task="usage">300"#
        ]
    );

    // Offline: the tidy-up waits for the user's 13:00; the usage report
    // runs 5 minutes late.
    for (at, want) in [
        (T0 + 1800, 0),
        (T0 + 3600, 1),
        (T0 + 3 * 3600, 0),
        (T0 + 3 * 3600 + 300, 1),
    ] {
        dev.now.store(at, Ordering::SeqCst);
        let f = dev
            .mo
            .tick(jiff::Timestamp::from_second(at).unwrap())
            .unwrap();
        assert_eq!(f.len(), want, "at {at}: {f:?}");
    }
    assert_eq!(
        dev.tree.device().get("./Vendor/Tidy").unwrap()[0].text(),
        "done"
    );
    assert_eq!(
        dev.tree.device().get("./Vendor/Usage").unwrap()[0].text(),
        "sent"
    );

    // The server modifies: the delay may now be at most 60 s, so 300 no
    // longer holds; the window choice does, and stays.
    srv.set_script(
        Script::from_json(&format!(
            r#"{{"steps": [[{{"replace": {{"target": "./Scheduling/Schedules/P/Document", "data": {}, "type": "application/json"}}}}],
                           [{{"get": "./Scheduling/Schedules/P/Choices"}}]]}}"#,
            json_str(&doc(60).replacen("{\"name\"", "{\"id\": \"P\", \"name\"", 1))
        ))
        .unwrap(),
    );
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    assert_eq!(
        srv.recorder().statuses_for("Replace").last().unwrap().code,
        200
    );
    assert_eq!(
        srv.recorder().results().last().unwrap().data,
        r#"{"hours":{"start":"13:00","end":"14:00"}}"#
    );
    assert_eq!(
        user.asked.lock().unwrap().len(),
        1,
        "no new parameter: not asked again"
    );

    // Later the user opts out of sharing in the host's settings; the
    // server hears of it with its next session.
    dev.mo
        .personalize(
            "srv-a",
            "P",
            &serde_json::from_str(
                r#"{"hours": {"start": "13:00", "end": "14:00"}, "share": true}"#,
            )
            .unwrap(),
            jiff::Timestamp::from_second(T0 + 4 * 3600).unwrap(),
        )
        .unwrap();
    srv.set_script(Script::from_json(r#"{"steps": []}"#).unwrap());
    dev.client
        .run_session("srv-a", None, &t, None)
        .await
        .unwrap();
    let told = personalized(&srv);
    assert_eq!(
        told.last().unwrap(),
        r#"param="hours" task="tidy">{"start":"13:00","end":"14:00"} | param="share" task="usage">true"#,
        "{told:?}"
    );
}
