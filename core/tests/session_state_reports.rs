//! 6.1.7.3, at-least-once reports: a state report the MO makes while a DM
//! session runs (an install, a termination …) is in the durable alert
//! queue before the command's Status goes out, so a crash later in the
//! session loses none of them.

mod mo_support;

use std::sync::Arc;

use dmsched::dm::client::TreeTarget;
use dmsched::dm::session::{ManagementTree, Value};
use dmsched::dm::state::ClientState;
use mo_support::*;

#[test]
fn a_state_report_is_queued_durably_when_its_command_settles() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::new(dir.path(), false);
    let queue = Arc::new(ClientState::open(&d.db).unwrap());
    let clock = {
        let now = d.now.clone();
        Arc::new(move || ts(now.load(std::sync::atomic::Ordering::SeqCst)))
    };
    let target = TreeTarget::new(&d.tree, clock)
        .with_mo(d.mo.clone())
        .with_queue(queue.clone());
    let doc = r#"{"tasks": [{"id": "T1", "trigger": {"every": {"seconds": 3600}}, "actions": [{"op": "Get", "target": "./DevInfo/Man"}]}]}"#;
    let code = target
        .add(
            SRV,
            &format!("{ROOT}/S1"),
            Value {
                format: None,
                mime: Some("application/json"),
                data: Some(doc.as_bytes()),
            },
        )
        .unwrap();
    assert_eq!(code, 200);
    target.settle();
    // As if the process died here: the target (and its memory) is gone.
    drop(target);
    let reopened = ClientState::open(&d.db).unwrap();
    let queued = reopened.alerts(SRV).unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let data = queued[0]
        .alert
        .item
        .data
        .as_ref()
        .map(|d| d.to_text().into_owned())
        .unwrap_or_default();
    assert!(data.contains("<Event>installed</Event>"), "{data}");
}
