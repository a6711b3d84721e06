//! Package #0 (the server's notification, from SMS/WAP push or UDP): parse,
//! verify against a fixed password and nonce, and re-encode what parsed.
#![no_main]

use dmsched::dm::notification::{self, Notification};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = notification::verify(data, "server-secret", b"nonce");
    if let Ok((digest, n, trigger)) = Notification::parse(data) {
        let again = n.trigger().expect("a parsed trigger re-encodes");
        assert_eq!(again, trigger, "trigger round trip changed the bytes");
        let _ = n.replay_key(&digest);
        let _ = n.session_id_hex();
    }
});
