//! The core's input rules (`dmsched::input`: server ids, schedule ids, tree
//! URIs, JSON objects, events) as C statuses: each refusal is
//! `DMS_INVALID_ARGUMENT` naming the argument, never echoing the text.

use dmsched_core::Event;
use dmsched_core::input;
use serde_json::{Map, Value};

use crate::handle::failure;
use crate::status::dms_status;

pub(crate) fn short_text<'a>(s: &'a str, what: &str) -> Result<&'a str, dms_status> {
    input::short_text(s, what).map_err(failure)
}

pub(crate) fn server_id<'a>(s: &'a str, what: &str) -> Result<&'a str, dms_status> {
    input::server_id(s, what).map_err(failure)
}

pub(crate) fn schedule_id<'a>(s: &'a str, what: &str) -> Result<&'a str, dms_status> {
    input::schedule_id(s, what).map_err(failure)
}

pub(crate) fn tree_uri<'a>(s: &'a str, what: &str) -> Result<&'a str, dms_status> {
    input::tree_uri(s, what).map_err(failure)
}

pub(crate) fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, dms_status> {
    input::json_object(text, what).map_err(failure)
}

pub(crate) fn objects_at(
    m: &Map<String, Value>,
    keys: &[&str],
    what: &str,
) -> Result<(), dms_status> {
    input::objects_at(m, keys, what).map_err(failure)
}

pub(crate) fn event(text: &str, what: &str) -> Result<Event, dms_status> {
    input::event(text, what).map_err(failure)
}
