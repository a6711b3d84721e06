//! SyncML DM XML: a whole message, and the same bytes as a `Cmds` fragment
//! (the Scheduling MO's command list), as a server sends them.
#![no_main]

use dmsched::syncml::{self, Encoding, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    if let Ok(msg) = syncml::decode_with(data, Some(Encoding::Xml), &limits) {
        let _ = syncml::to_pretty_xml(&msg);
    }
    if let Ok(cmds) = syncml::decode_commands(data, &limits) {
        let _ = syncml::encode_commands(&cmds);
    }
});
