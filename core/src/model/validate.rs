//! Parsing a schedule document and checking its structure against limits.
//!
//! Checks that need the time rules or the condition language (RRULE syntax,
//! zones, expressions, minimum interval of a calendar rule) are made when the
//! engine compiles a schedule; they report [`Problem`]s the same way.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::action::{ALERT_CODES, Action, Command, Op};
use super::schedule::{Schedule, Trigger};

/// Configurable limits a schedule must respect.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Largest accepted JSON document, in bytes.
    pub max_document_bytes: usize,
    /// Most tasks in one schedule.
    pub max_tasks: usize,
    /// Most commands in one task (counting the commands inside groups).
    pub max_actions: usize,
    /// Deepest nesting of Atomic/Sequence groups (a plain command is depth 1).
    pub max_action_depth: usize,
    /// Largest `data` of one command, in bytes.
    pub max_data_bytes: usize,
    /// Longest expression, in bytes.
    pub max_expr_len: usize,
    /// Deepest expression nesting.
    pub max_expr_depth: usize,
    /// Smallest interval between two time-triggered occurrences, in seconds.
    pub min_interval_seconds: u64,
    /// Most daily windows per task.
    pub max_windows: usize,
    /// Largest jitter, in seconds.
    pub max_jitter_seconds: u32,
    /// Largest `misfire_cap`.
    pub max_misfire_cap: u32,
    /// Most retries.
    pub max_retries: u32,
    /// Most schedules one owner may hold.
    pub max_schedules_per_owner: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 256 * 1024,
            max_tasks: 64,
            max_actions: 64,
            max_action_depth: 4,
            max_data_bytes: 64 * 1024,
            max_expr_len: 4096,
            max_expr_depth: 32,
            min_interval_seconds: 60,
            max_windows: 16,
            max_jitter_seconds: 24 * 3600,
            max_misfire_cap: 1000,
            max_retries: 16,
            max_schedules_per_owner: 100_000,
        }
    }
}

impl Limits {
    /// No limit at all: for re-reading a stored document that was accepted
    /// under limits since tightened, where the document is history (a
    /// terminal schedule) or only shown (inspection), never run.
    pub fn unlimited() -> Self {
        Limits {
            max_document_bytes: usize::MAX,
            max_tasks: usize::MAX,
            max_actions: usize::MAX,
            max_action_depth: usize::MAX,
            max_data_bytes: usize::MAX,
            max_expr_len: usize::MAX,
            // Expressions are parsed recursively: stay far below any stack.
            max_expr_depth: 1024,
            min_interval_seconds: 0,
            max_windows: usize::MAX,
            max_jitter_seconds: u32::MAX,
            max_misfire_cap: u32::MAX,
            max_retries: u32::MAX,
            max_schedules_per_owner: usize::MAX,
        }
    }
}

/// One problem in a schedule document, located by a JSON path such as
/// `$.tasks[0].trigger.calendar.rrule`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Where, as a JSON path from the document root `$`.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// For a problem inside a string (an RRULE part, a part of an
    /// expression): the byte range `[start, end)` of that string it is
    /// about, for a caret under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span: Option<(usize, usize)>,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
            span: None,
        }
    }

    /// The problem is about bytes `span` of the string at its path.
    pub fn at(mut self, span: std::ops::Range<usize>) -> Self {
        self.span = Some((span.start, span.end));
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Parses a JSON schedule document. On failure, the one problem serde found,
/// with its JSON path.
pub fn parse_document(json: &str, limits: &Limits) -> Result<Schedule, Problem> {
    if json.len() > limits.max_document_bytes {
        return Err(Problem::new(
            "$",
            format!(
                "document is {} bytes, more than the limit of {} bytes (this device's Capabilities/MaxDocumentBytes)",
                json.len(),
                limits.max_document_bytes
            ),
        ));
    }
    let mut doc: Schedule = decode(json)?;
    doc.shrink_to_fit();
    Ok(doc)
}

/// Decodes JSON text as `T` through the one path-tracking deserializer
/// every schedule type goes through (documents as submitted, as stored,
/// as MO leaves): on failure the problem with its JSON path. One
/// deserializer type keeps one copy of each type's generated code in the
/// library.
pub fn decode<T: serde::de::DeserializeOwned>(json: &str) -> Result<T, Problem> {
    let de = &mut serde_json::Deserializer::from_str(json);
    // serde_json's own recursion limit (128) bounds nesting before we see it.
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." || path.is_empty() {
            "$".to_string()
        } else {
            format!("$.{path}")
        };
        Problem::new(path, e.into_inner().to_string())
    })
}

/// A valid identifier: `[A-Za-z0-9_.-]`, 1–64 characters, not `.` or `..`.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id != "."
        && id != ".."
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

/// Checks identifiers, counts, sizes and simple consistency rules.
pub fn validate_structure(s: &Schedule, limits: &Limits) -> Vec<Problem> {
    let mut out = Vec::new();
    if !is_valid_id(&s.id) {
        out.push(Problem::new(
            "$.id",
            format!("invalid id {:?}: use 1-64 of A-Z a-z 0-9 _ . -", s.id),
        ));
    }
    if let (Some(from), Some(until)) = (s.valid_from, s.valid_until)
        && until <= from
    {
        out.push(Problem::new(
            "$.valid_until",
            format!("valid_until {until} is not after valid_from {from}"),
        ));
    }
    if s.tasks.is_empty() {
        out.push(Problem::new(
            "$.tasks",
            "a schedule needs at least one task",
        ));
    }
    if s.tasks.len() > limits.max_tasks {
        out.push(Problem::new(
            "$.tasks",
            format!(
                "{} tasks, more than the limit of {} (this device's Capabilities/MaxTasks)",
                s.tasks.len(),
                limits.max_tasks
            ),
        ));
    }
    let mut seen = HashSet::new();
    for (i, t) in s.tasks.iter().enumerate() {
        let p = format!("$.tasks[{i}]");
        if !is_valid_id(&t.id) {
            out.push(Problem::new(
                format!("{p}.id"),
                format!("invalid id {:?}: use 1-64 of A-Z a-z 0-9 _ . -", t.id),
            ));
        } else if !seen.insert(t.id.as_str()) {
            out.push(Problem::new(
                format!("{p}.id"),
                format!("duplicate task id {:?}", t.id),
            ));
        }
        if let Trigger::Every(e) = &t.trigger
            && e.seconds < limits.min_interval_seconds.max(1)
        {
            out.push(Problem::new(
                format!("{p}.trigger.every.seconds"),
                format!(
                    "interval of {} s is below the minimum of {} s (this device's Capabilities/MinIntervalSeconds)",
                    e.seconds,
                    limits.min_interval_seconds.max(1)
                ),
            ));
        }
        if let Trigger::Event(ev) = &t.trigger
            && !is_valid_event_name(&ev.name)
        {
            out.push(Problem::new(
                format!("{p}.trigger.event.name"),
                format!(
                    "invalid event name {:?}: use 1-64 of A-Z a-z 0-9 _ . -",
                    ev.name
                ),
            ));
        }
        if let Some(ev) = &t.termination.on_event
            && !is_valid_event_name(&ev.name)
        {
            out.push(Problem::new(
                format!("{p}.termination.on_event.name"),
                format!("invalid event name {:?}", ev.name),
            ));
        }
        if t.termination.max_runs == Some(0) {
            out.push(Problem::new(
                format!("{p}.termination.max_runs"),
                "max_runs must be at least 1",
            ));
        }
        if t.constraints.windows.len() > limits.max_windows {
            out.push(Problem::new(
                format!("{p}.constraints.windows"),
                format!(
                    "{} windows, more than the limit of {} (this device's Capabilities/MaxWindows)",
                    t.constraints.windows.len(),
                    limits.max_windows
                ),
            ));
        }
        for (w, window) in t.constraints.windows.iter().enumerate() {
            if let Err(e) = window.validate() {
                out.push(Problem::new(
                    format!("{p}.constraints.windows[{w}]"),
                    e.to_string(),
                ));
            }
        }
        let pol = &t.policy;
        if pol.jitter_seconds > limits.max_jitter_seconds {
            out.push(Problem::new(
                format!("{p}.policy.jitter_seconds"),
                format!(
                    "{} s is more than the limit of {} s (this device's Capabilities/MaxJitterSeconds)",
                    pol.jitter_seconds, limits.max_jitter_seconds
                ),
            ));
        }
        if pol.misfire_cap > limits.max_misfire_cap {
            out.push(Problem::new(
                format!("{p}.policy.misfire_cap"),
                format!(
                    "{} is more than the limit of {}",
                    pol.misfire_cap, limits.max_misfire_cap
                ),
            ));
        }
        if pol.retry.max > limits.max_retries {
            out.push(Problem::new(
                format!("{p}.policy.retry.max"),
                format!(
                    "{} retries, more than the limit of {} (this device's Capabilities/MaxRetries)",
                    pol.retry.max, limits.max_retries
                ),
            ));
        }
        if pol.retry.max > 0 && pol.retry.backoff == 0 {
            out.push(Problem::new(
                format!("{p}.policy.retry.backoff"),
                "backoff must be at least 1 second when retries are allowed",
            ));
        }
        validate_actions(&t.actions, &format!("{p}.actions"), limits, &mut out);
    }
    out
}

fn is_valid_event_name(name: &str) -> bool {
    is_valid_id(name)
}

fn validate_actions(actions: &[Action], path: &str, limits: &Limits, out: &mut Vec<Problem>) {
    if actions.is_empty() {
        out.push(Problem::new(path, "at least one action is needed"));
        return;
    }
    let count: usize = actions.iter().map(|a| a.commands().len()).sum();
    if count > limits.max_actions {
        out.push(Problem::new(
            path,
            format!(
                "{count} commands, more than the limit of {} (this device's Capabilities/MaxActions)",
                limits.max_actions
            ),
        ));
    }
    for (i, a) in actions.iter().enumerate() {
        check_action(a, &format!("{path}[{i}]"), 1, limits, out);
    }
}

fn check_action(a: &Action, path: &str, depth: usize, limits: &Limits, out: &mut Vec<Problem>) {
    if depth > limits.max_action_depth {
        out.push(Problem::new(
            path,
            format!(
                "groups nested deeper than the limit of {} (this device's Capabilities/MaxActionDepth)",
                limits.max_action_depth
            ),
        ));
        return;
    }
    match a {
        Action::Command(c) if c.op == Op::Alert => check_alert(c, path, limits, out),
        Action::Command(c) => {
            if !is_valid_target(c.op, &c.target) {
                out.push(Problem::new(
                    format!("{path}.target"),
                    format!(
                        "invalid target URI {:?}: expected ./Segment/… (with ?list=Struct|StructData or ?prop=NAME on a Get, ?prop=ACL|Name|Title on a Replace)",
                        c.target
                    ),
                ));
            }
            match (c.op, &c.source) {
                (Op::Copy, None) => out.push(Problem::new(
                    format!("{path}.source"),
                    "Copy needs a `source` URI",
                )),
                (Op::Copy, Some(src)) if !is_valid_uri(src) => out.push(Problem::new(
                    format!("{path}.source"),
                    format!("invalid source URI {src:?}"),
                )),
                (Op::Copy, Some(_)) => {}
                (_, Some(_)) => out.push(Problem::new(
                    format!("{path}.source"),
                    "`source` is only allowed with Copy",
                )),
                (_, None) => {}
            }
            if matches!(c.op, Op::Delete | Op::Get | Op::Copy) && c.data.is_some() {
                out.push(Problem::new(
                    format!("{path}.data"),
                    format!("{} takes no data", c.op.as_str()),
                ));
            }
            if let Some(d) = &c.data
                && d.len() > limits.max_data_bytes
            {
                out.push(Problem::new(
                    format!("{path}.data"),
                    format!(
                        "{} bytes, more than the limit of {} (this device's Capabilities/MaxDataBytes)",
                        d.len(),
                        limits.max_data_bytes
                    ),
                ));
            }
        }
        Action::Atomic(v) | Action::Sequence(v) => {
            let key = if matches!(a, Action::Atomic(_)) {
                "atomic"
            } else {
                "sequence"
            };
            if v.is_empty() {
                out.push(Problem::new(
                    format!("{path}.{key}"),
                    "an empty group does nothing",
                ));
            }
            for (i, child) in v.iter().enumerate() {
                check_action(child, &format!("{path}.{key}[{i}]"), depth + 1, limits, out);
            }
        }
    }
}

/// A scheduled Alert (6.1.7.4): a user-interaction code, the text to show,
/// options as in a session, choices for 1103/1104, nothing else.
fn check_alert(c: &Command, path: &str, limits: &Limits, out: &mut Vec<Problem>) {
    let Some(a) = &c.alert else {
        out.push(Problem::new(path, "an Alert needs `alert`: its code"));
        return;
    };
    if !ALERT_CODES.contains(&a.code) {
        out.push(Problem::new(
            format!("{path}.alert"),
            format!(
                "alert {} is not a user interaction: 1100 display, 1101 confirm, 1102 text input, 1103 single choice or 1104 multiple choice",
                a.code
            ),
        ));
    }
    for (key, present) in [
        ("source", c.source.is_some()),
        ("format", c.format.is_some()),
        ("type", c.mime.is_some()),
    ] {
        if present {
            out.push(Problem::new(
                format!("{path}.{key}"),
                format!("an Alert takes no `{key}`"),
            ));
        }
    }
    match c.data.as_deref() {
        None | Some("") => out.push(Problem::new(
            format!("{path}.data"),
            "an Alert needs `data`: the text to show the user",
        )),
        Some(d) if d.len() > limits.max_data_bytes => out.push(Problem::new(
            format!("{path}.data"),
            format!(
                "{} bytes, more than the limit of {} (this device's Capabilities/MaxDataBytes)",
                d.len(),
                limits.max_data_bytes
            ),
        )),
        Some(_) => {}
    }
    let choice = matches!(a.code, 1103 | 1104);
    if choice && a.choices.is_empty() {
        out.push(Problem::new(
            format!("{path}.choices"),
            format!("alert {} needs `choices` to choose from", a.code),
        ));
    }
    if !choice && !a.choices.is_empty() {
        out.push(Problem::new(
            format!("{path}.choices"),
            format!("only alerts 1103 and 1104 have `choices`, not {}", a.code),
        ));
    }
    if a.choices.len() > limits.max_actions {
        out.push(Problem::new(
            format!("{path}.choices"),
            format!(
                "{} choices, more than the limit of {} (this device's Capabilities/MaxActions)",
                a.choices.len(),
                limits.max_actions
            ),
        ));
    }
    if let Some(o) = &a.options
        && let Err(e) = check_alert_options(o)
    {
        out.push(Problem::new(format!("{path}.options"), e));
    }
}

/// The options of a user-interaction alert: `KEY=value` pairs joined by `&`,
/// keys `MINDT MAXDT DR MAXLEN IT ET`, the first three numbers where numeric.
fn check_alert_options(o: &str) -> Result<(), String> {
    for pair in o.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "MINDT" | "MAXDT" | "MAXLEN" => {
                if v.parse::<u32>().is_err() {
                    return Err(format!(
                        "option {k}={v} is not a number of seconds or characters"
                    ));
                }
            }
            "DR" => {}
            "IT" => {
                if !matches!(v, "A" | "N" | "D" | "T" | "P" | "I") {
                    return Err(format!(
                        "option IT={v}: the input type is one of A N D T P I"
                    ));
                }
            }
            "ET" => {
                if !matches!(v, "T" | "P") {
                    return Err(format!("option ET={v}: the echo type is T or P"));
                }
            }
            other => {
                return Err(format!(
                    "unknown option {other:?}: options are MINDT, MAXDT, DR, MAXLEN, IT and ET, joined by &"
                ));
            }
        }
    }
    Ok(())
}

/// A scheduled command's target: a URI ([`is_valid_uri`]), and for Get a
/// `?list=Struct|StructData` listing or a `?prop=` property, for Replace a
/// `?prop=ACL|Name|Title` (OMA DM TND 1.2 §7, Protocol §6.6.9).
pub fn is_valid_target(op: Op, target: &str) -> bool {
    let Some((uri, query)) = target.split_once('?') else {
        return is_valid_uri(target);
    };
    let ok = match (op, query.split_once('=')) {
        (Op::Get, Some(("list", v))) => matches!(v, "Struct" | "StructData"),
        (Op::Get, Some(("prop", v))) => matches!(
            v,
            "ACL" | "Format" | "Type" | "Name" | "Size" | "Title" | "TStamp" | "VerNo"
        ),
        (Op::Replace, Some(("prop", v))) => matches!(v, "ACL" | "Name" | "Title"),
        _ => false,
    };
    ok && is_valid_uri(uri)
}

/// A DM URI as accepted in a schedule: `.` or `./seg/seg…`, no empty, `.` or
/// `..` segments, no trailing `/`, no whitespace, at most 1024 bytes.
/// No `?prop=`/`?list=` query: see [`is_valid_target`] for commands.
pub fn is_valid_uri(uri: &str) -> bool {
    if uri == "." {
        return true;
    }
    let Some(rest) = uri.strip_prefix("./") else {
        return false;
    };
    uri.len() <= 1024
        && rest.split('/').all(|s| {
            !s.is_empty() && s != "." && s != ".." && !s.contains(['?', ' ', '\t', '\n', '\r'])
        })
}
