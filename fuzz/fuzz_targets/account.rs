//! DM account files (bootstrap JSON, `Agent::provision_account` and
//! `dmsched client`): parse, convert to a `./DMAcc` account, and provision
//! what converts into a tree, read it back and remove it.
#![no_main]

use std::sync::OnceLock;

use dmsched::dm::client::AccountFile;
use dmsched::tree::{DeviceInfo, Tree, TreeConfig};
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        Tree::open_in_memory(
            TreeConfig::new(DeviceInfo::default()),
            Timestamp::UNIX_EPOCH,
        )
        .expect("in-memory tree")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(file) = serde_json::from_slice::<AccountFile>(data) else {
        return;
    };
    let Ok(account) = file.to_tree_account() else {
        return;
    };
    let t = tree();
    if t.add_account(&account, Timestamp::UNIX_EPOCH).is_ok() {
        let back = t
            .account(&account.server_id)
            .expect("reading a provisioned account")
            .expect("the provisioned account is there");
        assert_eq!(back, account, "the account read back differs");
        t.remove_account(&account.server_id, Timestamp::UNIX_EPOCH)
            .expect("removing a provisioned account");
    }
});
