//! What strings and JSON texts coming in through a binding surface (C,
//! JNI, UniFFI) must look like before they reach the rest of the core, in
//! one place: server ids (owners, requesters, DM server ids) and other
//! short texts are bounded, schedule ids and tree URIs follow the schedule
//! format's rules, configuration and events are JSON objects. Each refusal
//! is an [`ErrorKind::InvalidArgument`] failure naming the argument; the
//! offending text itself is never echoed (it may be huge).

use serde_json::{Map, Value};

use crate::model::{is_valid_id, is_valid_uri};
use crate::shared::Failure;
use crate::{ErrorKind, Event};

/// The longest server id (owner, requester, DM ServerID) and the longest
/// other short text (device id, time zone). The engine refuses longer
/// owners at submit (`MAX_OWNER_BYTES`): the same bound.
pub const MAX_SHORT_TEXT_BYTES: usize = 256;

fn invalid(what: &str, why: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorKind::InvalidArgument, format!("{what}: {why}"))
}

/// A text of at most [`MAX_SHORT_TEXT_BYTES`] without control characters
/// (may be empty: the core decides what an empty one means).
pub fn short_text<'a>(s: &'a str, what: &str) -> Result<&'a str, Failure> {
    if s.len() > MAX_SHORT_TEXT_BYTES {
        return Err(invalid(
            what,
            format!("{} bytes, at most {MAX_SHORT_TEXT_BYTES} allowed", s.len()),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(what, "contains a control character"));
    }
    Ok(s)
}

/// A server id (an owner, a requester, a DM account's ServerID): a short
/// text, not empty.
pub fn server_id<'a>(s: &'a str, what: &str) -> Result<&'a str, Failure> {
    if s.is_empty() {
        return Err(invalid(what, "must not be empty"));
    }
    short_text(s, what)
}

/// A schedule id: 1–64 of `A-Z a-z 0-9 _ . -` (as in the document).
pub fn schedule_id<'a>(s: &'a str, what: &str) -> Result<&'a str, Failure> {
    if is_valid_id(s) {
        Ok(s)
    } else if s.len() > 64 {
        Err(invalid(
            what,
            format!(
                "{} bytes: a schedule id is 1-64 of A-Z a-z 0-9 _ . -",
                s.len()
            ),
        ))
    } else {
        Err(invalid(
            what,
            format!("invalid schedule id {s:?}: use 1-64 of A-Z a-z 0-9 _ . -"),
        ))
    }
}

/// The user's choices (personalisation): a JSON object of parameter id to
/// choice — a window `{"start": "HH:MM", "end": "HH:MM"}`, a number of
/// seconds, or `true`/`false` — at most 64 KiB.
pub fn choices(s: &str, what: &str) -> Result<crate::host::Choices, Failure> {
    if s.len() > 65_536 {
        return Err(invalid(
            what,
            format!("{} bytes, at most 65536 allowed", s.len()),
        ));
    }
    serde_json::from_str(s).map_err(|e| {
        invalid(
            what,
            format!(
                "not a JSON object of parameter id to a window {{\"start\", \"end\"}}, seconds or true/false: {e}"
            ),
        )
    })
}

/// A tree URI as conditions name them: `.` or `./A/B`, at most 1024 bytes.
pub fn tree_uri<'a>(s: &'a str, what: &str) -> Result<&'a str, Failure> {
    if is_valid_uri(s) {
        Ok(s)
    } else if s.len() > 1024 {
        Err(invalid(
            what,
            format!("{} bytes: a tree URI is at most 1024", s.len()),
        ))
    } else {
        Err(invalid(
            what,
            format!("invalid tree URI {s:?}: use ./A/B (no empty, . or .. segments)"),
        ))
    }
}

/// A JSON text that must be an object (`[]`, `null` or `3` are not
/// "nothing to say": they are refused).
pub fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, Failure> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(invalid(what, "must be a JSON object")),
        Err(e) => Err(invalid(what, e)),
    }
}

/// Checks that each of `keys` present in `m` holds an object.
pub fn objects_at(m: &Map<String, Value>, keys: &[&str], what: &str) -> Result<(), Failure> {
    for k in keys {
        if m.get(*k).is_some_and(|v| !v.is_object()) {
            return Err(invalid(&format!("{what}.{k}"), "must be a JSON object"));
        }
    }
    Ok(())
}

/// A device event `{"name", "fields"?}`: an object whose name is an event
/// name of the schedule format (1–64 of `A-Z a-z 0-9 _ . -`); `fields`, if
/// given, an object.
pub fn event(text: &str, what: &str) -> Result<Event, Failure> {
    let m = json_object(text, what)?;
    objects_at(&m, &["fields"], what)?;
    let ev: Event = serde_json::from_value(Value::Object(m)).map_err(|e| invalid(what, e))?;
    if !is_valid_id(&ev.name) {
        return Err(invalid(
            &format!("{what}.name"),
            "an event name is 1-64 of A-Z a-z 0-9 _ . -",
        ));
    }
    Ok(ev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_ids_are_bounded_and_without_controls() {
        assert!(server_id("srv", "owner").is_ok());
        assert!(server_id(&"s".repeat(256), "owner").is_ok());
        assert!(server_id(&"s".repeat(257), "owner").is_err());
        assert!(server_id("", "owner").is_err());
        assert!(server_id("a\nb", "owner").is_err());
    }

    #[test]
    fn events_and_configuration_must_be_objects() {
        assert!(event(r#"{"name": "boot"}"#, "event_json").is_ok());
        assert!(event(r#"["boot", {}]"#, "event_json").is_err());
        assert!(event(r#"{"name": "boot", "fields": []}"#, "event_json").is_err());
        assert!(event(r#"{"name": "no spaces"}"#, "event_json").is_err());
        assert!(json_object("[]", "x").is_err());
        assert!(json_object("{}", "x").is_ok());
    }
}
