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

#[test]
fn agent_remove_account_ends_the_servers_schedules_and_forgets_the_account() {
    use dmsched::agent::{Agent, AgentConfig, AgentHost};
    let dir = tempfile::tempdir().unwrap();
    let t0 = ts(T0);
    let a = Agent::open(
        AgentConfig::new(dir.path(), device_info()),
        AgentHost::default(),
        t0,
    )
    .unwrap();
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
