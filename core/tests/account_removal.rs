//! 6.1.7.6: nothing runs on the rights of an authority the device no
//! longer knows. Removing a server's DM account — by the host
//! (`Scheduling::account_removed`, `Agent::remove_account`) or by a DM
//! command that deletes the account node — terminates every schedule of
//! that server and discards its staged ones; other servers' schedules, the
//! same ids included, are untouched.

mod mo_support;

use std::sync::Arc;

use dmsched::dm::client::TreeTarget;
use dmsched::dm::session::{ManagementTree, Value};
use dmsched::engine::ScheduleState;
use dmsched::tree::{Account, AppAuth, AuthLevel, AuthType, Payload};
use mo_support::*;

fn account(server_id: &str) -> Account {
    let auth = |level, secret: &str| AppAuth {
        level,
        auth_type: AuthType::Digest,
        name: Some(server_id.into()),
        secret: Some(secret.into()),
        nonce: Some(b"n0".to_vec()),
    };
    Account {
        node: format!("acc-{server_id}"),
        server_id: server_id.into(),
        name: None,
        pref_con_ref: None,
        addrs: Vec::new(),
        allow_unauthenticated_server: false,
        auths: vec![
            auth(AuthLevel::Client, "client-secret"),
            auth(AuthLevel::Server, "server-secret"),
        ],
    }
}

fn doc(name: &str) -> Payload {
    let d = format!(
        r#"{{"name": "{name}", "tasks": [{{"id": "T1", "trigger": {{"every": {{"seconds": 3600}}}}, "actions": [{{"op": "Get", "target": "./DevInfo/Man"}}]}}]}}"#
    );
    Payload {
        mime: Some("application/json".into()),
        ..Payload::chr(&d)
    }
}

/// srv-a and srv-b with accounts; each has a live S1 and srv-a a staged St.
fn device(dir: &std::path::Path) -> Device {
    let d = Device::new(dir, false);
    for s in [SRV, OTHER] {
        d.tree.add_account(&account(s), d.clock()).unwrap();
        assert_eq!(d.add(s, &format!("{ROOT}/S1"), doc(s)), 200);
    }
    assert_eq!(d.add(SRV, &format!("{ROOT}/St"), Payload::interior()), 200);
    assert_eq!(
        d.add(SRV, &format!("{ROOT}/St/Name"), Payload::chr("n")),
        200
    );
    d
}

fn state(d: &Device, owner: &str) -> ScheduleState {
    d.mo.engine().get(owner, owner, "S1").unwrap().state
}

#[test]
fn removing_an_account_terminates_that_servers_schedules_only() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path());
    // What fell due before the removal is settled first: tick past it.
    d.tick(T0 + 60);
    d.tree.remove_account(SRV, d.clock()).unwrap();
    let ended = d.mo.account_removed(SRV, d.clock()).unwrap();
    assert_eq!(ended.len(), 1);
    assert_eq!(state(&d, SRV), ScheduleState::Terminated);
    assert_eq!(state(&d, OTHER), ScheduleState::Active);
    assert_eq!(
        d.get(SRV, &format!("{ROOT}/St/Name")),
        Err(404),
        "the staged schedule is discarded"
    );
    // Nothing of srv-a's runs any more; srv-b's does.
    let fired = d.mo.tick(ts(T0 + 7200)).unwrap();
    assert!(!fired.is_empty());
    assert!(fired.iter().all(|f| f.owner == OTHER), "{fired:?}");
}

#[test]
fn a_dm_delete_of_an_account_node_terminates_its_servers_schedules() {
    let dir = tempfile::tempdir().unwrap();
    let d = device(dir.path());
    // The device lets srv-b manage srv-a's account (as a bootstrap server might).
    d.tree
        .device()
        .replace(
            &format!("./DMAcc/acc-{SRV}?prop=ACL"),
            &Payload::chr(&format!("Get={OTHER}&Delete={OTHER}")),
            d.clock(),
        )
        .unwrap();
    let clock = {
        let now = d.now.clone();
        Arc::new(move || ts(now.load(std::sync::atomic::Ordering::SeqCst)))
    };
    let target = TreeTarget::new(&d.tree, clock).with_mo(d.mo.clone());
    // An ordinary node change under ./DMAcc ends nothing.
    target
        .replace(
            OTHER,
            &format!("./DMAcc/acc-{OTHER}/Name"),
            Value {
                format: None,
                mime: None,
                data: Some(b"renamed"),
            },
        )
        .ok();
    target.settle();
    assert_eq!(state(&d, SRV), ScheduleState::Active);
    assert_eq!(target.delete(OTHER, &format!("./DMAcc/acc-{SRV}")), Ok(200));
    target.settle();
    assert_eq!(state(&d, SRV), ScheduleState::Terminated);
    assert_eq!(state(&d, OTHER), ScheduleState::Active);
    assert_eq!(d.get(SRV, &format!("{ROOT}/St/Name")), Err(404));
}

/// A full-client agent in `dir` at T0.
fn agent(dir: &std::path::Path) -> dmsched::agent::Agent {
    use dmsched::agent::{Agent, AgentConfig, AgentHost};
    Agent::open(
        AgentConfig::new(dir, device_info()),
        AgentHost::default(),
        ts(T0),
    )
    .unwrap()
}

#[test]
fn agent_remove_account_ends_the_servers_schedules_and_forgets_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = ts(T0);
    let a = agent(dir.path());
    for s in [SRV, OTHER] {
        a.tree().add_account(&account(s), t0).unwrap();
        a.tree().add(s, &format!("{ROOT}/S1"), &doc(s), t0).unwrap();
        a.scheduling().settle();
    }
    let later = ts(T0 + 60);
    a.remove_account(SRV, later).unwrap();
    assert!(a.tree().account(SRV).unwrap().is_none());
    let states: Vec<(String, ScheduleState)> = a
        .schedules()
        .unwrap()
        .into_iter()
        .map(|i| (i.owner, i.state))
        .collect();
    assert!(
        states.contains(&(SRV.into(), ScheduleState::Terminated)),
        "{states:?}"
    );
    assert!(
        states.contains(&(OTHER.into(), ScheduleState::Active)),
        "{states:?}"
    );
    assert!(a.remove_account(SRV, later).is_err(), "no account any more");
}

/// Each server's connection settings have their own file, whatever its id:
/// ids that differ only in characters a file name cannot hold (`a/b`,
/// `a_b`) do not share one, and a 256-byte id (the longest allowed) is
/// provisioned like any other.
#[test]
fn every_server_id_gets_its_own_short_transport_file() {
    let dir = tempfile::tempdir().unwrap();
    let t0 = ts(T0);
    let a = agent(dir.path());
    let json = |id: &str, encoding: &str| {
        format!(
            r#"{{"server_id": "{id}", "server_url": "https://dm.example/{encoding}", "encoding": "{encoding}",
                "client": {{"auth": "DIGEST", "name": "dev", "secret": "pw", "nonce": "YzA="}},
                "server": {{"auth": "DIGEST", "secret": "spw", "nonce": "czA="}}}}"#
        )
    };
    let long = "s".repeat(256);
    for (id, enc) in [("a/b", "xml"), ("a_b", "wbxml"), (long.as_str(), "xml")] {
        assert_eq!(a.provision(&json(id, enc), None, None, t0).unwrap(), id);
    }
    let files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("transport-"))
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.iter().all(|f| f.len() < 100), "{files:?}");
    a.remove_account("a/b", t0).unwrap();
    assert!(a.tree().account("a_b").unwrap().is_some());
    let left = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("transport-")
        })
        .count();
    assert_eq!(left, 2, "a/b's file went, a_b's stayed");
}
