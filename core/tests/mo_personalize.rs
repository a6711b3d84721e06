//! Personalisation through the Scheduling MO (issue 18; use case step 4):
//! a node-installed schedule declares its parameters in `<S>/Personalize`;
//! the user's choices (asked at install through the host's prompt, or set
//! later by the host) show in `<S>/Choices` and reach the owner in a
//! `personalized` state report; a server cannot write choices. The HTTPS
//! run is samples/dm-server/tests/mo_personalize.rs.

mod mo_support;

use dmsched::tree::Payload;
use mo_support::*;

fn json(v: &str) -> Payload {
    Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(v)
    }
}

const PARAMS: &str = r#"{"params": [
    {"id": "hours", "task": "T1", "label": "When", "window": {"within": {"start": "12:00", "end": "18:00"}, "min_minutes": 30}},
    {"id": "skip", "task": "T1", "opt_out": true}]}"#;

#[test]
fn node_installed_parameters_are_asked_shown_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    *d.prompt.choices.lock().unwrap() =
        Some(serde_json::from_str(r#"{"hours": {"start": "13:00", "end": "14:00"}}"#).unwrap());
    // A server cannot send choices, even in the node.
    let with_choices = PARAMS.replace(r#"{"params""#, r#"{"choices": {"skip": true}, "params""#);
    let bad = schedule_adds(
        "S0",
        "2026-12-01T12:30:00Z",
        "eco",
        &[("/Personalize", json(&with_choices))],
    );
    let (codes, _) = d.atomic_adds(SRV, &bad);
    assert_eq!(codes.last(), Some(&400), "{codes:?}");
    // Nor in a JSON document (Add, or Replace of Document).
    let doc = format!(
        r#"{{"tasks": [{{"id": "T1", "trigger": {{"at": "2027-01-01T00:00:00Z"}}, "actions": [{{"op": "Get", "target": "./DevInfo/Man"}}]}}],
            "personalize": {with_choices}}}"#
    );
    assert_eq!(d.add(SRV, &format!("{ROOT}/SJ"), json(&doc)), 400);
    assert!(d.engine_ids().is_empty());

    let adds = schedule_adds(
        "S1",
        "2026-12-01T12:30:00Z",
        "eco",
        &[
            ("/Personalize", json(PARAMS)),
            (
                "/Tasks/T1/Constraints",
                json(
                    r#"{"windows": [{"start": "12:00", "end": "12:45"}], "max_delay_seconds": 7200}"#,
                ),
            ),
        ],
    );
    let (codes, commit) = d.atomic_adds(SRV, &adds);
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    commit.unwrap().unwrap();
    assert_eq!(d.state_events(), ["installed", "personalized"]);
    let s = |p: &str| d.get(SRV, &format!("{ROOT}/S1{p}")).unwrap();
    assert_eq!(
        s("/Choices"),
        r#"{"hours":{"start":"13:00","end":"14:00"}}"#
    );
    assert!(!s("/Personalize").contains("choices"));
    assert!(s("").split('/').any(|n| n == "Choices"));
    // Another server sees none of it.
    assert_eq!(d.get(OTHER, &format!("{ROOT}/S1/Choices")), Err(404));
    // Choices are the device's: not writable.
    let code = d.replace(SRV, &format!("{ROOT}/S1/Choices"), json("{}"));
    assert_eq!(code, 405);

    // The 12:30 occurrence waits for the user's window (13:00).
    assert_eq!(d.tick(T0 + 1800), 0);
    assert_eq!(d.tick(T0 + 3600), 1);
    assert_eq!(d.get(SRV, "./Vendor/Mode").unwrap(), "eco");

    // Later, from the host's settings: opted out; the owner is told.
    let (info, r) =
        d.mo.personalize(
            SRV,
            "S1",
            &serde_json::from_str(r#"{"skip": true}"#).unwrap(),
            ts(T0 + 3700),
        )
        .unwrap();
    assert_eq!(info.document.personalize.unwrap().choices.len(), 1);
    let r = r.unwrap();
    assert!(
        r.data.contains("<Event>personalized</Event>")
            && r.data
                .contains(r#"<Choice param="skip" task="T1">true</Choice>"#),
        "{}",
        r.data
    );
    let queued = d.mo.reports(SRV, 10).unwrap();
    assert!(
        queued.iter().any(|q| q.report_id == r.report_id),
        "stored for the next session: {queued:?}"
    );
    assert_eq!(s("/Choices"), r#"{"skip":true}"#);
}
