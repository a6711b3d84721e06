//! TNDS objects (the Data of an Add of type
//! application/vnd.syncml.dmtnds+xml), as the Scheduling MO reads them.
#![no_main]

use dmsched::fuzzing::tnds_parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = tnds_parse(data, "./Scheduling/Schedules");
});
