//! A schedule document as a server installs it: parse and full check
//! (`engine::check_document`: structure, time rules, expressions, rates),
//! with the default limits.
#![no_main]

use dmsched::engine::check_document;
use dmsched::model::Limits;
use jiff::Timestamp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let accepted_at = Timestamp::from_second(1_772_755_200).expect("2026-03-06");
    let _ = check_document(json, &Limits::default(), accepted_at);
});
