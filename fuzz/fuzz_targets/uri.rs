//! Tree URIs and command targets (`uri?prop=…` / `uri?list=…`): parse,
//! check the default limits, and re-parse what they print as.
#![no_main]

use dmsched::tree::{Target, Uri, UriLimits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let limits = UriLimits::default();
    if let Ok(uri) = Uri::parse(s) {
        let _ = limits.check(&uri);
        let again = Uri::parse(uri.as_str()).expect("a normalised URI parses");
        assert_eq!(again, uri, "URI round trip changed it");
        let _ = uri.parent();
        let _ = uri.ancestors_and_self();
        let _ = uri.child("x");
    }
    if let Ok(t) = Target::parse(s, &limits) {
        let again = Target::parse(&t.to_text(), &limits).expect("a printed target parses");
        assert_eq!(again, t, "target round trip changed it");
    }
});
