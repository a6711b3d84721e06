//! ACL strings (`Get=srv1+srv2&Replace=*`): parse, print, re-parse.
#![no_main]

use dmsched::tree::{Acl, AclCmd};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(acl) = Acl::parse(s) {
        let text = acl.to_string();
        let again = Acl::parse(&text).expect("a printed ACL parses");
        assert_eq!(again, acl, "ACL round trip changed it: {text:?}");
        for cmd in AclCmd::ALL {
            let _ = acl.allows(cmd, "srv");
        }
    }
});
