//! The mapping between a schedule's MO nodes and the engine's model
//! (`docs/scheduling-mo.md`, "Mapping"), both ways.
//!
//! MO → model: each trigger `<G>` of an MO task `<T>` becomes one engine
//! task (triggers are OR-ed): `T` when the task has one trigger, `T.G`
//! when it has several; the task's Cmds, Constraints, Policy and
//! Termination are copied into each. Within one trigger, conditions are
//! AND-ed: a TreeValue (or Condition) beside a Time trigger becomes a
//! `constraints.require`, beside an Event trigger part of its filter, and
//! alone a `becomes_true` trigger. `UI/Mode` 3 sets `policy.confirm`;
//! `Report/Gating` sets `policy.report`, `Report/Delivery` every task's
//! `policy.report_delivery`.
//!
//! Model → MO: every engine task becomes an MO task with one trigger `G1`
//! (used to show schedules installed as JSON documents as MO nodes).

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::DateTime;

use super::check::{Base, parse_base, parse_instant, tree_value_op};
use super::cmds;
use super::nodes::{Leaf, Node, Nodes, child_names, status, text_at};
use crate::engine::check_document;
use crate::model::{
    After, Calendar, Constraints, Edge, EventMatch, Limits, Policy, Problem, ReportDelivery,
    ReportWhen, Schedule, Task, Termination, Trigger, is_valid_id, is_valid_uri,
};
use crate::tree::{TreeError, parse_int};
use crate::when;

/// Engine task id → (MO task, trigger).
pub(crate) type TaskMap = BTreeMap<String, (String, String)>;

/// What building needs besides the nodes.
pub(crate) struct BuildCx<'a> {
    pub limits: &'a Limits,
    /// The device's zone, for `TZ` `local`.
    pub device_tz: &'a str,
    pub now: Timestamp,
}

/// A verified schedule built from MO nodes.
#[derive(Debug)]
pub(crate) struct Built {
    /// The model (the unit tests compare it; the engine gets `json`).
    #[cfg_attr(not(test), allow(dead_code))]
    pub doc: Schedule,
    /// The document as the engine gets it.
    pub json: String,
}

/// The engine task ids of the MO tasks in `nodes`.
pub(crate) fn task_map(nodes: &Nodes) -> TaskMap {
    let mut out = TaskMap::new();
    for t in child_names(nodes, "Tasks") {
        let gs = child_names(nodes, &format!("Tasks/{t}/Triggers"));
        for g in &gs {
            let id = if gs.len() == 1 {
                t.clone()
            } else {
                format!("{t}.{g}")
            };
            out.insert(id, (t.clone(), g.clone()));
        }
    }
    out
}

/// `UI/Mode` (0 when absent).
pub(crate) fn ui_mode(nodes: &Nodes) -> i32 {
    text_at(nodes, "UI/Mode")
        .and_then(|t| parse_int(t).ok())
        .unwrap_or(0)
}

/// `Report/Gating`, when set.
pub(crate) fn gating(nodes: &Nodes) -> Option<u8> {
    text_at(nodes, "Report/Gating")
        .and_then(|t| parse_int(t).ok())
        .map(|v| (v & 0x1f) as u8)
}

/// The engine report policy a Gating mask asks for: bit 0 (success) needs
/// every report; bits 1–3 (error, user cancel, user postpone) the failures.
pub(crate) fn report_when(g: u8) -> ReportWhen {
    if g & 1 != 0 {
        ReportWhen::Always
    } else if g & 0b1110 != 0 {
        ReportWhen::OnFailure
    } else {
        ReportWhen::Never
    }
}

fn bad(msg: impl Into<String>) -> TreeError {
    status(400, msg)
}

fn json<T: serde::de::DeserializeOwned + Default>(
    nodes: &Nodes,
    path: &str,
) -> Result<T, TreeError> {
    match text_at(nodes, path) {
        None => Ok(T::default()),
        Some(t) if t.trim().is_empty() => Ok(T::default()),
        Some(t) => serde_json::from_str(t).map_err(|e| bad(format!("{path}: {e}"))),
    }
}

fn and(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(format!("({a}) && ({b})")),
        (a, b) => a.or(b),
    }
}

/// A TreeValue `Value` as a literal of the condition language.
fn literal(v: &str) -> String {
    let t = v.trim();
    let numeric = t.parse::<i64>().is_ok()
        || (t.parse::<f64>().is_ok_and(f64::is_finite)
            && t.trim_start_matches('-')
                .starts_with(|c: char| c.is_ascii_digit())
            && t.bytes()
                .all(|b| b.is_ascii_digit() || b".eE+-".contains(&b)));
    if numeric || t == "true" || t == "false" {
        return t.to_string();
    }
    let mut s = String::with_capacity(t.len() + 2);
    s.push('"');
    for c in t.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

fn resolve_zone(name: &str, device_tz: &str) -> Result<jiff::tz::TimeZone, TreeError> {
    let n = if name == "local" { device_tz } else { name };
    when::zone(n).map_err(|e| bad(e.to_string()))
}

/// The trigger of `<G>` at `g`, and a condition to AND to the task's
/// `require` (a TreeValue or Condition beside a Time trigger).
fn trigger_of(
    nodes: &Nodes,
    g: &str,
    cx: &BuildCx<'_>,
) -> Result<(Trigger, Option<String>), TreeError> {
    let has = |sub: &str| {
        let p = format!("{g}/{sub}");
        nodes.contains_key(&p) || !child_names(nodes, &p).is_empty()
    };
    let leaf = |sub: &str| text_at(nodes, &format!("{g}/{sub}")).map(|s| s.trim().to_string());
    let tree_value = if has("TreeValue") {
        let need = |sub: &str| {
            leaf(&format!("TreeValue/{sub}"))
                .ok_or_else(|| bad(format!("{g}/TreeValue/{sub} is required")))
        };
        let (uri, op) = (need("URI")?, need("Op")?);
        if !is_valid_uri(&uri) {
            return Err(bad(format!("{g}/TreeValue/URI: {uri:?} is not a node URI")));
        }
        let op = tree_value_op(&op)
            .map_err(|(code, why)| status(code, format!("{g}/TreeValue/Op: {why}")))?;
        if op == "changed" {
            // A value change is a trigger of its own: nothing to AND it with.
            let alone = !(has("Time")
                || has("Event")
                || has("Condition")
                || has("RearmWhen")
                || has("ForSeconds"));
            if !alone {
                return Err(status(
                    406,
                    format!(
                        "{g}/TreeValue/Op changed is a trigger of its own (a value change has no duration to AND with Time, Event or a Condition): put it in a trigger alone"
                    ),
                ));
            }
            return Ok((Trigger::Changes(uri), None));
        }
        Some(format!("{uri} {op} {}", literal(&need("Value")?)))
    } else {
        None
    };
    let extra = and(tree_value, leaf("Condition"));
    if (has("Time") || has("Event")) && (has("RearmWhen") || has("ForSeconds")) {
        return Err(bad(format!(
            "{g}/RearmWhen and ForSeconds belong to a TreeValue or Condition trigger alone (a becomes_true edge), not beside Time or Event"
        )));
    }
    match (has("Time"), has("Event")) {
        (true, true) => Err(status(
            406,
            format!(
                "{g} has both Time and Event: conditions in one trigger are AND-ed and an occurrence cannot start at a time and on an event; put them in two triggers (they are OR-ed)"
            ),
        )),
        (true, false) => {
            let base =
                leaf("Time/Base").ok_or_else(|| bad(format!("{g}/Time/Base is required")))?;
            let base = parse_base(&base).map_err(|e| bad(format!("{g}/Time/Base: {e}")))?;
            let tz = leaf("Time/TZ").unwrap_or_else(|| "UTC".into());
            let zone =
                resolve_zone(&tz, cx.device_tz).map_err(|e| bad(format!("{g}/Time/TZ: {e}")))?;
            let trigger = match leaf("Time/RRule") {
                Some(rrule) => {
                    let dtstart: DateTime = match base {
                        Base::Local(dt) => dt,
                        Base::Instant(ts) => zone.to_datetime(ts),
                    };
                    Trigger::Calendar(Calendar {
                        rrule,
                        dtstart: Some(dtstart),
                        tz: Some(tz),
                    })
                }
                None => Trigger::At(match base {
                    Base::Instant(ts) => ts,
                    Base::Local(dt) => zone
                        .to_timestamp(dt)
                        .map_err(|e| bad(format!("{g}/Time/Base: {e}")))?,
                }),
            };
            Ok((trigger, extra))
        }
        (false, true) => {
            let name = leaf("Event/ID").ok_or_else(|| bad(format!("{g}/Event/ID is required")))?;
            let filter = and(leaf("Event/Filter"), extra);
            Ok((Trigger::Event(EventMatch { name, filter }), None))
        }
        (false, false) => match extra {
            Some(condition) => {
                let for_seconds = match leaf("ForSeconds") {
                    Some(v) => v.parse::<u64>().map_err(|_| {
                        bad(format!(
                            "{g}/ForSeconds: {v:?} is not a whole number of seconds"
                        ))
                    })?,
                    None => 0,
                };
                Ok((
                    Trigger::BecomesTrue(Edge {
                        condition,
                        rearm_when: leaf("RearmWhen"),
                        for_seconds,
                    }),
                    None,
                ))
            }
            None => Err(bad(format!(
                "{g} is empty: give it Time, Event, TreeValue or Condition"
            ))),
        },
    }
}

/// Builds and fully verifies (`engine::check_document`, pure) schedule
/// `id` from its MO nodes. Errors carry the DM status and name the node.
pub(crate) fn build(id: &str, nodes: &Nodes, cx: &BuildCx<'_>) -> Result<Built, TreeError> {
    let text = |p: &str| text_at(nodes, p).map(str::to_string);
    let instant = |p: &str| {
        text_at(nodes, p)
            .map(|t| parse_instant(t).map_err(|e| bad(format!("{p}: {e}"))))
            .transpose()
    };
    let mode = ui_mode(nodes);
    let gating = gating(nodes);
    let names = child_names(nodes, "Tasks");
    if names.is_empty() {
        return Err(bad(
            "a schedule needs at least one task: Add Tasks/<T> with Cmds and a trigger",
        ));
    }
    let mut tasks = Vec::new();
    let mut index = Vec::new();
    for t in &names {
        let base = format!("Tasks/{t}");
        let cmds = text_at(nodes, &format!("{base}/Cmds"))
            .ok_or_else(|| bad(format!("{base}/Cmds is required")))?;
        let actions = cmds::decode(cmds.as_bytes(), cx.limits)
            .map_err(|e| status(e.status(), format!("{base}/Cmds: {e}")))?;
        let constraints: Constraints = json(nodes, &format!("{base}/Constraints"))?;
        let mut policy: Policy = json(nodes, &format!("{base}/Policy"))?;
        let termination: Termination = json(nodes, &format!("{base}/Termination"))?;
        if mode == 3 {
            policy.confirm = true;
        }
        if let Some(g) = gating {
            policy.report = report_when(g);
        }
        match text_at(nodes, "Report/Delivery") {
            Some("immediate") => policy.report_delivery = ReportDelivery::Immediate,
            Some("next_session") => policy.report_delivery = ReportDelivery::NextSession,
            _ => {}
        }
        let gs = child_names(nodes, &format!("{base}/Triggers"));
        // Task chaining: DependsOn names the task this one follows.
        if let Some(dep) = text_at(nodes, &format!("{base}/DependsOn")).map(str::trim) {
            if !gs.is_empty() {
                return Err(status(
                    406,
                    format!(
                        "{base} has both DependsOn and Triggers: a chained task starts when the task it follows finishes; give it one or the other"
                    ),
                ));
            }
            if child_names(nodes, &format!("Tasks/{dep}/Triggers")).len() > 1 {
                return Err(status(
                    406,
                    format!(
                        "{base}/DependsOn: task {dep} has several triggers (several engine tasks); chain to a task with one"
                    ),
                ));
            }
            let outcome = match text_at(nodes, &format!("{base}/DependsOnOutcome")) {
                Some(list) => list
                    .split(',')
                    .map(|o| {
                        serde_json::from_value(serde_json::Value::String(o.trim().to_string()))
                            .map_err(|_| bad(format!("{base}/DependsOnOutcome: {o:?}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
                None => vec![crate::model::Outcome::Ran],
            };
            tasks.push(Task {
                id: t.clone(),
                trigger: Trigger::After(After {
                    task: dep.to_string(),
                    outcome,
                }),
                constraints: constraints.clone(),
                actions: actions.clone(),
                termination: termination.clone(),
                policy: policy.clone(),
            });
            index.push((t.clone(), String::new()));
            continue;
        }
        if gs.is_empty() {
            return Err(bad(format!(
                "{base}/Triggers needs at least one trigger <G> (or DependsOn)"
            )));
        }
        for g in &gs {
            let (trigger, extra) = trigger_of(nodes, &format!("{base}/Triggers/{g}"), cx)?;
            let tid = if gs.len() == 1 {
                t.clone()
            } else {
                format!("{t}.{g}")
            };
            if !is_valid_id(&tid) {
                return Err(bad(format!(
                    "{base}/Triggers/{g}: engine task id {tid:?} is longer than 64"
                )));
            }
            let mut c = constraints.clone();
            c.require = and(c.require, extra);
            tasks.push(Task {
                id: tid,
                trigger,
                constraints: c,
                actions: actions.clone(),
                termination: termination.clone(),
                policy: policy.clone(),
            });
            index.push((t.clone(), g.clone()));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for task in &tasks {
        if !seen.insert(task.id.clone()) {
            return Err(bad(format!(
                "two triggers map to the engine task {:?}: rename a task or trigger",
                task.id
            )));
        }
    }
    let doc = Schedule {
        id: id.to_string(),
        name: text("Name"),
        description: text("Description"),
        valid_from: instant("Valid/From")?,
        valid_until: instant("Valid/To")?,
        tz: text_at(nodes, "TZ").map(|s| s.trim().to_string()),
        tasks,
        personalize: match text_at(nodes, "Personalize") {
            Some(t) if !t.trim().is_empty() => Some(Box::new(
                serde_json::from_str(t).map_err(|e| bad(format!("Personalize: {e}")))?,
            )),
            _ => None,
        },
    };
    let json = serde_json::to_string(&doc).map_err(|e| status(500, e.to_string()))?;
    check_document(&json, cx.limits, cx.now).map_err(|p| problems(&p, &index))?;
    Ok(Built { doc, json })
}

/// Engine problems as one DM error naming MO nodes.
pub(crate) fn problems(p: &[Problem], index: &[(String, String)]) -> TreeError {
    let text: Vec<String> = p
        .iter()
        .map(|x| format!("{}: {}", locate(&x.path, index), x.message))
        .collect();
    let code = if text
        .iter()
        .any(|t| t.contains("limit") || t.contains("more than"))
    {
        413
    } else {
        400
    };
    status(code, text.join("; "))
}

/// `$.tasks[1].trigger.calendar.rrule` → `Tasks/T/Triggers/G/Time/RRule`.
fn locate(path: &str, index: &[(String, String)]) -> String {
    let top = |p: &str| -> Option<&'static str> {
        Some(match p {
            "$" => "<S>",
            "$.name" => "Name",
            "$.description" => "Description",
            "$.valid_from" => "Valid/From",
            "$.valid_until" => "Valid/To",
            "$.tz" => "TZ",
            p if p.starts_with("$.personalize") => "Personalize",
            "$.tasks" => "Tasks",
            _ => return None,
        })
    };
    if let Some(n) = top(path) {
        return n.to_string();
    }
    let Some(rest) = path.strip_prefix("$.tasks[") else {
        return path.to_string();
    };
    let Some((i, sub)) = rest.split_once(']') else {
        return path.to_string();
    };
    let Some((t, g)) = i.parse::<usize>().ok().and_then(|i| index.get(i)) else {
        return path.to_string();
    };
    let trig = format!("Tasks/{t}/Triggers/{g}");
    let node = |s: &str| format!("Tasks/{t}/{s}");
    match sub {
        s if s.starts_with(".trigger.after") => node("DependsOn"),
        s if s.starts_with(".trigger.calendar.rrule") => format!("{trig}/Time/RRule"),
        s if s.starts_with(".trigger.calendar.tz") => format!("{trig}/Time/TZ"),
        s if s.starts_with(".trigger.calendar") || s.starts_with(".trigger.at") => {
            format!("{trig}/Time")
        }
        s if s.starts_with(".trigger.event") => format!("{trig}/Event"),
        s if s.starts_with(".trigger") => trig,
        s if s.starts_with(".actions") => node("Cmds"),
        s if s.starts_with(".constraints") => node("Constraints"),
        s if s.starts_with(".policy") => node("Policy"),
        s if s.starts_with(".termination") => node("Termination"),
        _ => format!("Tasks/{t}"),
    }
}

/// The MO nodes showing `doc` (installed as a JSON document).
/// `accepted_at` anchors an `every` trigger without an anchor.
pub(crate) fn nodes_of(doc: &Schedule, accepted_at: Timestamp) -> Nodes {
    let mut n = Nodes::new();
    let mut put = |p: String, node: Node| {
        n.insert(p, node);
    };
    if let Some(v) = &doc.name {
        put("Name".into(), Node::chr(v.clone()));
    }
    if let Some(v) = &doc.description {
        put("Description".into(), Node::chr(v.clone()));
    }
    if let Some(v) = &doc.tz {
        put("TZ".into(), Node::chr(v.clone()));
    }
    if let Some(p) = &doc.personalize {
        // The declaration only: the choices are the device's (`Choices`).
        let declared = crate::model::Personalize {
            params: p.params.clone(),
            choices: Default::default(),
        };
        put(
            "Personalize".into(),
            Node::of(
                Leaf::Personalize,
                serde_json::to_string(&declared).unwrap_or_default(),
            ),
        );
    }
    if doc.valid_from.is_some() || doc.valid_until.is_some() {
        put("Valid".into(), Node::Interior);
    }
    if let Some(v) = doc.valid_from {
        put("Valid/From".into(), Node::chr(v.to_string()));
    }
    if let Some(v) = doc.valid_until {
        put("Valid/To".into(), Node::chr(v.to_string()));
    }
    put("Tasks".into(), Node::Interior);
    for t in &doc.tasks {
        let b = format!("Tasks/{}", t.id);
        put(b.clone(), Node::Interior);
        put(
            format!("{b}/Cmds"),
            Node::of(Leaf::Cmds, cmds::encode(&t.actions)),
        );
        let json_leaf = |leaf: Leaf, v: String| Node::of(leaf, v);
        if !t.constraints.is_empty() {
            let v = serde_json::to_string(&t.constraints).unwrap_or_default();
            put(format!("{b}/Constraints"), json_leaf(Leaf::Constraints, v));
        }
        if t.policy != Policy::default() {
            let v = serde_json::to_string(&t.policy).unwrap_or_default();
            put(format!("{b}/Policy"), json_leaf(Leaf::Policy, v));
        }
        if !t.termination.is_empty() {
            let v = serde_json::to_string(&t.termination).unwrap_or_default();
            put(format!("{b}/Termination"), json_leaf(Leaf::Termination, v));
        }
        if let Trigger::After(a) = &t.trigger {
            put(format!("{b}/DependsOn"), Node::chr(a.task.clone()));
            if a.outcome != [crate::model::Outcome::Ran] {
                let list: Vec<&str> = a.outcome.iter().map(|o| o.as_str()).collect();
                put(format!("{b}/DependsOnOutcome"), Node::chr(list.join(",")));
            }
            continue;
        }
        put(format!("{b}/Triggers"), Node::Interior);
        let g = format!("{b}/Triggers/G1");
        put(g.clone(), Node::Interior);
        for (p, v) in trigger_nodes(&t.trigger, doc, accepted_at) {
            if let Some((dir, _)) = p.split_once('/') {
                put(format!("{g}/{dir}"), Node::Interior);
            }
            let node = match p {
                "TreeValue/Interval" => Node::of(Leaf::TvInterval, v),
                "ForSeconds" => Node::of(Leaf::ForSeconds, v),
                _ => Node::chr(v),
            };
            put(format!("{g}/{p}"), node);
        }
    }
    n
}

fn trigger_nodes(
    t: &Trigger,
    doc: &Schedule,
    accepted_at: Timestamp,
) -> Vec<(&'static str, String)> {
    match t {
        Trigger::At(ts) => vec![("Time/Base", ts.to_string())],
        Trigger::Every(e) => vec![
            ("Time/Base", e.anchor.unwrap_or(accepted_at).to_string()),
            (
                "Time/RRule",
                format!("FREQ=SECONDLY;INTERVAL={}", e.seconds),
            ),
            ("Time/TZ", "UTC".into()),
        ],
        Trigger::Calendar(c) => {
            // What the document leaves out is inherited (the schedule's
            // zone) or defaulted (00:00 on the day it became valid): the
            // MO shows what the engine runs. A device-local zone's
            // default start is shown in UTC.
            let tz = c.zone_name(doc.tz.as_deref()).unwrap_or("UTC");
            let zone = crate::when::zone(tz).unwrap_or(jiff::tz::TimeZone::UTC);
            let valid = doc.valid_from.unwrap_or(accepted_at);
            let start = crate::when::RRule::parse(&c.rrule)
                .ok()
                .and_then(|r| c.start(&r, &zone, valid).ok())
                .or(c.dtstart)
                .unwrap_or_else(|| zone.to_datetime(valid));
            vec![
                ("Time/Base", start.to_string()),
                ("Time/RRule", c.rrule.clone()),
                ("Time/TZ", tz.to_string()),
            ]
        }
        Trigger::Event(e) => {
            let mut v = vec![("Event/ID", e.name.clone())];
            if let Some(f) = &e.filter {
                v.push(("Event/Filter", f.clone()));
            }
            v
        }
        Trigger::Changes(uri) => vec![
            ("TreeValue/URI", uri.clone()),
            ("TreeValue/Op", "changed".into()),
        ],
        // Task-level (DependsOn): written by the caller.
        Trigger::After(_) => Vec::new(),
        Trigger::BecomesTrue(edge) => {
            let mut v = match simple_comparison(&edge.condition) {
                Some((uri, op, value)) => vec![
                    ("TreeValue/URI", uri.to_string()),
                    ("TreeValue/Op", op.to_string()),
                    ("TreeValue/Value", value.to_string()),
                ],
                None => vec![("Condition", edge.condition.clone())],
            };
            if let Some(r) = &edge.rearm_when {
                v.push(("RearmWhen", r.clone()));
            }
            if edge.for_seconds != 0 {
                v.push(("ForSeconds", edge.for_seconds.to_string()));
            }
            v
        }
    }
}

/// `./A/B >= 30` → (`./A/B`, `ge`, `30`) for numeric and boolean literals.
fn simple_comparison(src: &str) -> Option<(&str, &'static str, &str)> {
    let parts: Vec<&str> = src.split_whitespace().collect();
    let [uri, op, value] = parts.as_slice() else {
        return None;
    };
    let op = match *op {
        "==" => "eq",
        "!=" => "ne",
        "<" => "lt",
        "<=" => "le",
        ">" => "gt",
        ">=" => "ge",
        _ => return None,
    };
    let lit = literal(value);
    (is_valid_uri(uri) && lit == *value && !lit.starts_with('"')).then_some((uri, op, value))
}

#[cfg(test)]
#[path = "map_tests.rs"]
mod tests;
