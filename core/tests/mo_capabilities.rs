//! Issue 18 (5.6.1.3, 6.3.1.42): what the device can run is readable
//! under `./Scheduling/Capabilities` before a server sends a schedule —
//! generated from the limits and lists the validator checks against —
//! read-only, and installs beyond it are refused.

mod mo_support;

use std::path::Path;

use dmsched::engine::EngineConfig;
use dmsched::tree::{Format, Payload};
use mo_support::*;

const CAP: &str = "./Scheduling/Capabilities";

fn device(dir: &Path, min_interval: u64, max_tasks: usize) -> Device {
    let mut cfg = EngineConfig {
        device_id: "IMEI:1".into(),
        ..EngineConfig::default()
    };
    cfg.limits.min_interval_seconds = min_interval;
    cfg.limits.max_tasks = max_tasks;
    Device::open_with(&dir.join("d.db"), T0, false, None, cfg)
}

#[test]
fn capabilities_follow_the_configured_limits_and_the_validators_lists() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), 300, 8);
    let cap = |leaf: &str| d.get(SRV, &format!("{CAP}/{leaf}")).unwrap();
    assert_eq!(cap("MinIntervalSeconds"), "300");
    assert_eq!(cap("MaxTasks"), "8");
    assert_eq!(cap("MaxDwellSeconds"), "604800");
    assert_eq!(
        cap("Triggers"),
        "at,every,calendar,event,becomes_true,changes,after"
    );
    assert!(cap("RRuleParts").starts_with("FREQ,INTERVAL,COUNT,UNTIL"));
    assert!(!cap("RRuleParts").contains("BYWEEKNO"));
    assert!(cap("Events").contains("network"));
    assert!(cap("Commands").split(',').any(|c| c == "Alert"));
    assert_eq!(cap("Personalize"), "window,delay,opt_out");
    assert_eq!(cap("MaxPersonalDelaySeconds"), "604800");
    assert_eq!(
        cap("UIModes"),
        "0,1,3",
        "no prompt: no confirm-before-install"
    );
    // Every server may read it; the list of leaves is the DDF's (mo_ddf).
    assert_eq!(d.get(OTHER, &format!("{CAP}/MaxTasks")).unwrap(), "8");
    let children = d.get(SRV, CAP).unwrap();
    for leaf in [
        "MaxSchedulesPerServer",
        "Commands",
        "ExprFunctions",
        "ReportDelivery",
    ] {
        assert!(children.split('/').any(|c| c == leaf), "{children}");
    }
}

#[test]
fn capabilities_are_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), 60, 64);
    let uri = format!("{CAP}/MaxTasks");
    assert_eq!(
        d.replace(SRV, &uri, Payload::leaf(Format::Int, "1000")),
        405
    );
    assert_eq!(d.delete(SRV, &uri), 405);
    assert_eq!(d.add(SRV, &format!("{CAP}/Extra"), Payload::chr("x")), 405);
    assert_eq!(d.get(SRV, &uri).unwrap(), "64");
}

/// A schedule that needs more than the capabilities say is refused.
#[test]
fn an_install_beyond_the_capabilities_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), 300, 1);
    assert_eq!(
        d.get(SRV, &format!("{CAP}/MinIntervalSeconds")).unwrap(),
        "300"
    );
    let doc = r#"{"tasks": [{"id": "T", "trigger": {"every": {"seconds": 60}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let code = d.add(
        SRV,
        &format!("{ROOT}/Fast"),
        Payload::leaf(Format::Chr, doc).with_mime("application/json"),
    );
    assert_eq!(code, 400);
    assert!(d.engine_ids().is_empty());
    // Each refusal names the capability it goes beyond.
    let two = r#"{"tasks": [{"id": "A", "trigger": {"at": "2027-01-01T00:00:00Z"}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]},
        {"id": "B", "trigger": {"at": "2027-01-01T00:00:00Z"}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let weekno = r#"{"tasks": [{"id": "T", "trigger": {"calendar": {"rrule": "FREQ=YEARLY;BYWEEKNO=1", "dtstart": "2027-01-01T00:00:00", "tz": "UTC"}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    for (id, doc, capability) in [
        ("Fast", doc, "Capabilities/MinIntervalSeconds"),
        ("Two", two, "Capabilities/MaxTasks"),
        ("Weeks", weekno, "Capabilities/RRuleParts"),
    ] {
        let err = d
            .tree
            .add(
                SRV,
                &format!("{ROOT}/{id}"),
                &Payload::leaf(Format::Chr, doc).with_mime("application/json"),
                d.clock(),
            )
            .unwrap_err();
        assert!(
            err.message().contains(capability),
            "{id}: {}",
            err.message()
        );
        d.settle();
    }
}

/// The leaves the device serves are the ones the DDF describes.
#[test]
fn the_capability_leaves_are_the_ddfs() {
    let ddf = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/scheduling-mo.ddf.xml"
    ))
    .unwrap();
    let block = ddf
        .split("<NodeName>Capabilities</NodeName>")
        .nth(1)
        .unwrap()
        .split("<NodeName>Servers</NodeName>")
        .next()
        .unwrap();
    let described: Vec<&str> = block
        .split("<NodeName>")
        .skip(1)
        .map(|p| p.split('<').next().unwrap())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path(), 60, 64);
    let served = d.get(SRV, CAP).unwrap();
    let served: Vec<&str> = served.split('/').collect();
    assert_eq!(served, described);
}
