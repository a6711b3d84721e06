//! 6.1.7.6: device events carry an access rule (`EngineConfig::event_access`):
//! an event the host lists is usable only by the servers it names; one it
//! does not list is open to every server. Checked at install and modify
//! (refused, naming the event) and again when the event arrives.

mod common;
mod mo_support;

use std::collections::BTreeMap;

use common::*;
use dmsched::engine::{Engine, EngineConfig, EventAccess};
use dmsched::store::Store;
use dmsched::{EngineError, Event};

fn restricted(allowed: &[&str]) -> EngineConfig {
    let mut c = cfg();
    c.event_access = EventAccess(BTreeMap::from([(
        "sim_change".to_string(),
        allowed.iter().map(|s| s.to_string()).collect(),
    )]));
    c
}

fn on(name: &str) -> Event {
    Event {
        name: name.into(),
        fields: BTreeMap::new(),
    }
}

#[test]
fn a_restricted_event_is_refused_at_install_and_modify_for_other_servers() {
    let world = World::new();
    let mut e = Engine::open(
        Store::open_in_memory().unwrap(),
        world.host(),
        restricted(&["srv-a"]),
    )
    .unwrap();
    let now = ts("2026-12-01T12:00:00Z");
    let sim = doc("s", r#"{"event": {"name": "sim_change"}}"#, "");
    let err = e.submit("srv-b", &sim, now).unwrap_err();
    assert!(matches!(err, EngineError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("sim_change"), "{err}");
    // Ending on it is using it too.
    let ends = doc(
        "t",
        r#"{"event": {"name": "boot"}}"#,
        r#""termination": {"on_event": {"name": "sim_change"}}"#,
    );
    assert!(e.submit("srv-b", &ends, now).is_err());
    // Open events and the allowed server are fine.
    e.submit(
        "srv-b",
        &doc("b", r#"{"event": {"name": "boot"}}"#, ""),
        now,
    )
    .unwrap();
    e.submit("srv-a", &sim, now).unwrap();
    // srv-b cannot modify its schedule onto the restricted event.
    let onto = doc("b", r#"{"event": {"name": "sim_change"}}"#, "");
    assert!(e.modify("srv-b", "srv-b", &onto, now).is_err());
    let fired = e.on_event(&on("sim_change"), now).unwrap();
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].owner, "srv-a");
}

#[test]
fn a_server_whose_right_was_withdrawn_is_not_woken_by_the_event() {
    let world = World::new();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("d.db");
    let now = ts("2026-12-01T12:00:00Z");
    {
        let mut e = Engine::open(Store::open(&db).unwrap(), world.host(), cfg()).unwrap();
        e.submit(
            "srv-a",
            &doc("s", r#"{"event": {"name": "sim_change"}}"#, ""),
            now,
        )
        .unwrap();
    }
    let mut e = Engine::open(Store::open(&db).unwrap(), world.host(), restricted(&[])).unwrap();
    assert!(e.on_event(&on("sim_change"), now).unwrap().is_empty());
    assert_eq!(world.run_count(), 0);
}

#[test]
fn event_access_is_read_from_the_hosts_settings() {
    let c = EngineConfig::from_json(r#"{"event_access": {"sim_change": ["srv-a", "*"]}}"#).unwrap();
    assert!(c.event_access.allows("anyone", "sim_change"));
    let c = EngineConfig::from_json(r#"{"event_access": {"sim_change": []}}"#).unwrap();
    assert!(!c.event_access.allows("srv-a", "sim_change"));
    assert!(
        c.event_access.allows("srv-a", "boot"),
        "unlisted events are open"
    );
    assert!(EngineConfig::from_json(r#"{"event_access": ["sim_change"]}"#).is_err());
}

/// Through the Scheduling MO: the install is refused with 425.
#[test]
fn the_mo_refuses_a_restricted_event_with_425() {
    use dmsched::tree::Payload;
    use mo_support::*;
    let dir = tempfile::tempdir().unwrap();
    let mut c = restricted(&[SRV]);
    c.device_id = "IMEI:1".into();
    let d = Device::open_with(&dir.path().join("dmsched.db"), T0, false, None, c);
    let json = r#"{"tasks": [{"id": "T1", "trigger": {"event": {"name": "sim_change"}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let p = Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(json)
    };
    assert_eq!(d.add(OTHER, &format!("{ROOT}/S1"), p.clone()), 425);
    assert_eq!(d.add(SRV, &format!("{ROOT}/S1"), p), 200);
}
