//! Entry points for the `fuzz/` crate (cargo-fuzz) into parsers that are not
//! public: compiled only with the `fuzzing` feature, hidden from the docs,
//! not part of the API.

use crate::tree::Payload;

/// Parses a TNDS object (`application/vnd.syncml.dmtnds+xml`, the Data of
/// an Add at `target`) as the Scheduling MO does: each node's URI and
/// payload in document order, or the error text.
pub fn tnds_parse(xml: &[u8], target: &str) -> Result<Vec<(String, Payload)>, String> {
    crate::mo::tnds::parse(xml, target)
        .map(|nodes| nodes.into_iter().map(|n| (n.uri, n.payload)).collect())
        .map_err(|e| e.to_string())
}
