//! RRULEs: parse, prepare a calendar from a fixed DTSTART and take the
//! first few occurrences (expansion cost counts: -timeout=1).
#![no_main]

use dmsched::when::{Calendar, DstPolicy, RRule};
use jiff::Timestamp;
use jiff::civil::date;
use jiff::tz::TimeZone;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(rule) = RRule::parse(src) else {
        return;
    };
    let _ = rule.to_string();
    let dtstart = date(2026, 3, 8).at(1, 30, 0, 0);
    let tz = TimeZone::get("America/New_York").unwrap_or(TimeZone::UTC);
    let Ok(cal) = Calendar::new(&rule, dtstart, tz, DstPolicy::default()) else {
        return;
    };
    let mut after = Timestamp::from_second(1_772_755_200).expect("2026-03-06");
    for _ in 0..4 {
        match cal.next_after(after) {
            Some(o) => after = o.at,
            None => break,
        }
    }
});
