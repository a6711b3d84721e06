//! SyncML DM WBXML: a whole message as a server sends it.
#![no_main]

use dmsched::syncml::{self, Encoding, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = syncml::decode_with(data, Some(Encoding::Wbxml), &Limits::default());
});
