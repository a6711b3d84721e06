//! Turning a schedule document into an executable plan: zones resolved,
//! RRULEs parsed, expressions parsed, limits checked. Every problem is
//! located by its JSON path.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::expr::{Expr, ExprLimits};
use crate::model::{Limits, Problem, Schedule, Task, Trigger, parse_document, validate_structure};
use crate::when::{self, Budget, Calendar, DOCUMENT_BUDGET, RRule, Window};

pub(crate) use super::trigger::CTrigger;

/// A zone as written in a schedule: fixed, or the device's own.
#[derive(Clone, Debug)]
pub(crate) enum Zone {
    Fixed(TimeZone),
    Local,
}

impl Zone {
    fn parse(name: &str) -> Result<Zone, String> {
        if name == "local" {
            Ok(Zone::Local)
        } else {
            when::zone(name).map(Zone::Fixed).map_err(|e| e.to_string())
        }
    }

    pub(crate) fn resolve<'a>(&'a self, device: &'a TimeZone) -> &'a TimeZone {
        match self {
            Zone::Fixed(tz) => tz,
            Zone::Local => device,
        }
    }

    pub(crate) fn is_local(&self) -> bool {
        matches!(self, Zone::Local)
    }
}

/// A compiled task.
#[derive(Clone, Debug)]
pub(crate) struct CTask {
    pub trigger: CTrigger,
    pub calendar_zone: Option<Zone>,
    pub require: Option<Expr>,
    pub windows: Vec<Window>,
    pub term_event: Option<(String, Option<Expr>)>,
    pub term_when: Option<Expr>,
    /// `becomes_true`: re-arms after a firing only when this is true.
    pub rearm: Option<Expr>,
    /// `becomes_true`: seconds the condition must hold before it fires.
    pub dwell: u64,
    /// Personalisation: the user's delay of every run, in seconds.
    pub delay: u64,
    /// Personalisation: the user opted out; its occurrences are skipped.
    pub opted_out: bool,
}

impl CTask {
    /// Every URI whose change can matter to this task.
    pub(crate) fn watched_uris(&self) -> Vec<String> {
        let mut out = Vec::new();
        let exprs = [
            self.trigger.condition(),
            self.rearm.as_ref(),
            self.require.as_ref(),
            self.term_when.as_ref(),
        ];
        for e in exprs.into_iter().flatten() {
            for u in e.uris() {
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
        if let Some(u) = self.trigger.changed_node()
            && !out.iter().any(|o| o == u)
        {
            out.push(u.to_string());
        }
        out
    }

    /// Every event name that matters to this task.
    pub(crate) fn watched_events(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(name) = self.trigger.event_name() {
            out.push(name.to_string());
        }
        if let Some((name, _)) = &self.term_event
            && !out.contains(name)
        {
            out.push(name.clone());
        }
        out
    }
}

/// A compiled schedule.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    pub doc: Schedule,
    pub zone: Zone,
    pub tasks: Vec<CTask>,
}

impl Plan {
    pub(crate) fn uses_local_zone(&self) -> bool {
        self.zone.is_local()
            || self
                .tasks
                .iter()
                .any(|t| t.calendar_zone.as_ref().is_some_and(Zone::is_local))
    }
}

/// Task chaining (`after`): the task followed exists in the schedule, is
/// not the task itself, the outcomes are final ones, and no chain comes
/// back to where it started (so a run's chain of followers ends).
fn chain_problems(doc: &Schedule) -> Vec<Problem> {
    use crate::model::Outcome;
    let mut out = Vec::new();
    let ids: Vec<&str> = doc.tasks.iter().map(|t| t.id.as_str()).collect();
    let follows = |i: usize| match &doc.tasks[i].trigger {
        Trigger::After(a) => ids.iter().position(|id| *id == a.task),
        _ => None,
    };
    for (i, t) in doc.tasks.iter().enumerate() {
        let Trigger::After(a) = &t.trigger else {
            continue;
        };
        let p = format!("$.tasks[{i}].trigger.after");
        if a.task == t.id {
            out.push(Problem::new(
                format!("{p}.task"),
                "a task cannot follow itself",
            ));
        } else if !ids.contains(&a.task.as_str()) {
            let hint = crate::model::diagnose::did_you_mean(&a.task, ids.iter().copied())
                .map(|n| format!(" (did you mean \"{n}\"?)"))
                .unwrap_or_default();
            out.push(Problem::new(
                format!("{p}.task"),
                format!("no task {:?} in this schedule{hint}", a.task),
            ));
        }
        if a.outcome.is_empty() {
            out.push(Problem::new(
                format!("{p}.outcome"),
                "name at least one outcome",
            ));
        }
        if a.outcome.contains(&Outcome::Deferred) {
            out.push(Problem::new(
                format!("{p}.outcome"),
                "deferred is not an outcome an occurrence finishes with",
            ));
        }
        // Follow the chain back: a cycle returns to `i`.
        let mut at = follows(i);
        let mut steps = 0;
        while let Some(j) = at {
            if j == i {
                out.push(Problem::new(
                    format!("{p}.task"),
                    "the chain of `after` triggers comes back to this task (a cycle)",
                ));
                break;
            }
            steps += 1;
            if steps > doc.tasks.len() {
                break;
            }
            at = follows(j);
        }
    }
    out
}

/// The longest `becomes_true.for_seconds`: 7 days.
pub(crate) const MAX_DWELL_SECONDS: u64 = 7 * 86_400;

/// Parses and fully validates a JSON document.
pub fn check_document(
    json: &str,
    limits: &Limits,
    accepted_at: Timestamp,
) -> Result<Schedule, Vec<Problem>> {
    parse_checked(json, limits, accepted_at, &TimeZone::UTC).map(|(doc, _)| doc)
}

/// Decodes and compiles a submitted document. A document that does not
/// decode gets every problem at once: each structural one (unknown keys,
/// wrong types, unknown values, each with its path), then the semantic
/// ones of what remains (`model::diagnose`).
pub(crate) fn parse_checked(
    json: &str,
    limits: &Limits,
    accepted_at: Timestamp,
    device_tz: &TimeZone,
) -> Result<(Schedule, Plan), Vec<Problem>> {
    let doc = parse_document(json, limits)
        .map_err(|first| every_problem(json, first, limits, accepted_at, device_tz))?;
    let plan = compile(&doc, limits, accepted_at, device_tz)?;
    Ok((doc, plan))
}

pub(crate) fn compile(
    doc: &Schedule,
    limits: &Limits,
    accepted_at: Timestamp,
    device_tz: &TimeZone,
) -> Result<Plan, Vec<Problem>> {
    compile_with(doc, limits, accepted_at, device_tz, true)
}

/// Warnings about a valid document: what is allowed but almost surely
/// a mistake — an event name outside the catalogue of events the platform
/// glue posts ([`crate::model::events`]; hosts may post their own), a
/// filter reading a field that event does not have, a condition that can
/// never be true (or is always true) whatever the tree holds.
pub fn lint_document(doc: &Schedule) -> Vec<Problem> {
    use crate::model::events::{EVENTS, event_kind};
    let mut out = Vec::new();
    let xl = ExprLimits::default();
    let event = |name: &str,
                 path: String,
                 filter: Option<(&str, String)>,
                 out: &mut Vec<Problem>| {
        match event_kind(name) {
            None => {
                let hint =
                    crate::model::diagnose::did_you_mean(name, EVENTS.iter().map(|e| e.name))
                        .map(|n| format!(" (did you mean \"{n}\"?)"))
                        .unwrap_or_default();
                out.push(Problem::new(
                    path,
                    format!(
                        "\"{name}\" is not an event the platform posts{hint}; it fires only if the host posts it (known: {})",
                        EVENTS.iter().map(|e| e.name).collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            Some(kind) => {
                let Some((src, fpath)) = filter else { return };
                let Ok(e) = Expr::parse(src, &xl) else { return };
                for f in e.event_fields() {
                    if !kind.fields.contains(&f.as_str()) {
                        let hint =
                            crate::model::diagnose::did_you_mean(&f, kind.fields.iter().copied())
                                .map(|n| format!(" (did you mean event.{n}?)"))
                                .unwrap_or_default();
                        out.push(Problem::new(
                            fpath.clone(),
                            format!(
                                "\"{name}\" events have no field \"{f}\"{hint} (fields: {})",
                                if kind.fields.is_empty() {
                                    "none".to_string()
                                } else {
                                    kind.fields.join(", ")
                                }
                            ),
                        ));
                    }
                }
            }
        }
    };
    for (i, t) in doc.tasks.iter().enumerate() {
        let p = format!("$.tasks[{i}]");
        if let Trigger::Event(ev) = &t.trigger {
            let filter = ev
                .filter
                .as_deref()
                .map(|f| (f, format!("{p}.trigger.event.filter")));
            event(
                &ev.name,
                format!("{p}.trigger.event.name"),
                filter,
                &mut out,
            );
        }
        if let Some(ev) = &t.termination.on_event {
            let filter = ev
                .filter
                .as_deref()
                .map(|f| (f, format!("{p}.termination.on_event.filter")));
            event(
                &ev.name,
                format!("{p}.termination.on_event.name"),
                filter,
                &mut out,
            );
        }
        let exprs = [
            match &t.trigger {
                Trigger::BecomesTrue(e) if e.rearm_when.is_none() && e.for_seconds == 0 => {
                    Some((e.condition.as_str(), "trigger.becomes_true"))
                }
                Trigger::BecomesTrue(e) => {
                    Some((e.condition.as_str(), "trigger.becomes_true.condition"))
                }
                Trigger::Event(ev) => ev.filter.as_deref().map(|f| (f, "trigger.event.filter")),
                _ => None,
            },
            t.constraints
                .require
                .as_deref()
                .map(|s| (s, "constraints.require")),
            t.termination
                .when
                .as_deref()
                .map(|s| (s, "termination.when")),
            t.termination
                .on_event
                .as_ref()
                .and_then(|e| e.filter.as_deref())
                .map(|f| (f, "termination.on_event.filter")),
        ];
        for (src, at) in exprs.into_iter().flatten() {
            if let Ok(e) = Expr::parse(src, &xl) {
                for w in e.warnings() {
                    out.push(Problem::new(format!("{p}.{at}"), w));
                }
            }
        }
    }
    out
}

/// Every problem of a document that did not decode (`first`: the
/// decoder's): each structural one, then the semantic ones of what remains.
pub(crate) fn every_problem(
    json: &str,
    first: Problem,
    limits: &Limits,
    accepted_at: Timestamp,
    device_tz: &TimeZone,
) -> Vec<Problem> {
    if json.len() > limits.max_document_bytes {
        return vec![first];
    }
    let d = crate::model::diagnose::decode_all::<Schedule>(json);
    if d.problems.is_empty() {
        // Text that decodes as a value but not as text (a key given
        // twice): the decoder's own problem.
        return vec![first];
    }
    let mut problems = d.problems;
    let survived = d.rest.as_ref().map_or(0, |r| r.tasks.len());
    if let Some(rest) = d.rest {
        for mut p in compile(&rest, limits, accepted_at, device_tz)
            .err()
            .unwrap_or_default()
        {
            p.path = d.map.map(&p.path);
            // A list that lost elements is judged as written.
            if !d.map.shortened(&p.path) {
                problems.push(p);
            }
        }
    }
    // Tasks that did not survive decoding still get their rules, zones
    // and conditions checked, from the text as written.
    let Ok(value) = serde_json::from_str::<serde_json::Value>(json) else {
        return problems;
    };
    let tasks = value
        .get("tasks")
        .and_then(|t| t.as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let kept: Vec<String> = (0..survived)
        .map(|i| d.map.map(&format!("$.tasks[{i}]")))
        .collect();
    let xl = ExprLimits {
        max_len: limits.max_expr_len,
        max_depth: limits.max_expr_depth,
        ..ExprLimits::default()
    };
    let known: Vec<String> = problems.iter().map(|q| q.path.clone()).collect();
    for (i, t) in tasks.iter().enumerate() {
        let p = format!("$.tasks[{i}]");
        if !kept.contains(&p) {
            problems.extend(
                loose_task_checks(t, &p, &xl)
                    .into_iter()
                    .filter(|found| !known.contains(&found.path)),
            );
        }
    }
    // In document order, task by task (stable: a path's problems keep
    // their order).
    crate::model::diagnose::sort_by_path(&mut problems);
    problems
}

/// The checks of one task's strings (RRULE, zone, conditions) on the
/// document as written, for a task that did not decode.
fn loose_task_checks(t: &serde_json::Value, p: &str, xl: &ExprLimits) -> Vec<Problem> {
    let mut out = Vec::new();
    let text = |path: &[&str]| {
        path.iter()
            .try_fold(t, |v, k| v.get(*k))
            .and_then(|v| v.as_str())
    };
    if let Some(rule) = text(&["trigger", "calendar", "rrule"])
        && let Err(v) = RRule::parse_all(rule)
    {
        for e in v {
            out.push(Problem::new(format!("{p}.trigger.calendar.rrule"), e.message).at(e.span));
        }
    }
    if let Some(z) = text(&["trigger", "calendar", "tz"])
        && let Err(e) = Zone::parse(z)
    {
        out.push(Problem::new(format!("{p}.trigger.calendar.tz"), e));
    }
    for path in [
        &["trigger", "becomes_true"][..],
        &["trigger", "becomes_true", "condition"],
        &["trigger", "becomes_true", "rearm_when"],
        &["trigger", "event", "filter"],
        &["constraints", "require"],
        &["termination", "when"],
        &["termination", "on_event", "filter"],
    ] {
        if let Some(src) = text(path) {
            expr(src, format!("{p}.{}", path.join(".")), xl, &mut out);
        }
    }
    out
}

/// Compiles a document that was verified when it was accepted: the rate
/// check (which expands occurrences) is not repeated on every restart.
pub(crate) fn compile_stored(
    doc: &Schedule,
    limits: &Limits,
    accepted_at: Timestamp,
    device_tz: &TimeZone,
) -> Result<Plan, Vec<Problem>> {
    compile_with(doc, limits, accepted_at, device_tz, false)
}

fn compile_with(
    doc: &Schedule,
    limits: &Limits,
    accepted_at: Timestamp,
    device_tz: &TimeZone,
    check_rate: bool,
) -> Result<Plan, Vec<Problem>> {
    let mut problems = validate_structure(doc, limits);
    problems.extend(chain_problems(doc));
    let zone = match Zone::parse(doc.tz.as_deref().unwrap_or("UTC")) {
        Ok(z) => z,
        Err(e) => {
            problems.push(Problem::new("$.tz", e));
            Zone::Fixed(TimeZone::UTC)
        }
    };
    let xl = ExprLimits {
        max_len: limits.max_expr_len,
        max_depth: limits.max_expr_depth,
        ..ExprLimits::default()
    };
    // Calendar expansion work is bounded per document when it is checked;
    // a stored document compiles as accepted (each calendar still has its
    // own bound).
    let mut budget = Budget::new(if check_rate {
        DOCUMENT_BUDGET
    } else {
        u64::MAX
    });
    let mut tasks = Vec::with_capacity(doc.tasks.len());
    for (i, t) in doc.tasks.iter().enumerate() {
        let p = format!("$.tasks[{i}]");
        let cx = Cx {
            xl: &xl,
            limits,
            accepted_at,
            device_tz,
            check_rate,
            doc_tz: doc.tz.as_deref(),
            valid: doc.valid_from.unwrap_or(accepted_at),
        };
        match compile_task(t, &p, &cx, &mut budget) {
            Ok(ct) => tasks.push(ct),
            Err(mut v) => problems.append(&mut v),
        }
    }
    if let Some(p) = &doc.personalize {
        let ids: Vec<&str> = doc.tasks.iter().map(|t| t.id.as_str()).collect();
        problems.extend(p.problems(&ids));
    }
    if problems.is_empty() {
        if let Some(p) = &doc.personalize {
            apply_choices(doc, p, &mut tasks);
        }
        Ok(Plan {
            doc: doc.clone(),
            zone,
            tasks,
        })
    } else {
        Err(problems)
    }
}

/// The user's choices, applied to the compiled tasks: a chosen window
/// replaces the task's windows (keeping the days of its first), a delay
/// is added to every run's earliest start, an opt-out skips its runs.
fn apply_choices(doc: &Schedule, p: &crate::model::Personalize, tasks: &mut [CTask]) {
    use crate::model::Choice;
    for (id, c) in &p.choices {
        let Some(param) = p.param(id) else { continue };
        let Some(i) = doc.tasks.iter().position(|t| t.id == param.task) else {
            continue;
        };
        let ct = &mut tasks[i];
        match c {
            Choice::Window(w) => {
                let days = ct.windows.first().and_then(|x| x.days.clone());
                ct.windows = vec![crate::when::Window { days, ..w.clone() }];
            }
            Choice::Delay(secs) => ct.delay = *secs,
            Choice::OptOut(out) => ct.opted_out = *out,
        }
    }
}

fn expr(src: &str, path: String, xl: &ExprLimits, out: &mut Vec<Problem>) -> Option<Expr> {
    match Expr::parse(src, xl) {
        Ok(e) => Some(e),
        Err(e) => {
            let mut p = Problem::new(path, e.to_string());
            if let crate::expr::ExprError::Syntax { offset, .. } = e {
                p = p.at(word_at(src, offset));
            }
            out.push(p);
            None
        }
    }
}

/// The bytes from `at` to the end of the word (or the one character) there.
fn word_at(src: &str, at: usize) -> std::ops::Range<usize> {
    let Some(rest) = src.get(at..) else {
        return src.len()..src.len();
    };
    let word = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let len = if word > 0 {
        word
    } else {
        rest.chars().next().map_or(0, char::len_utf8)
    };
    at..at + len
}

/// What every task of one document is compiled with.
struct Cx<'a> {
    xl: &'a ExprLimits,
    limits: &'a Limits,
    accepted_at: Timestamp,
    device_tz: &'a TimeZone,
    check_rate: bool,
    /// The schedule's zone, which a calendar without its own inherits.
    doc_tz: Option<&'a str>,
    /// When the schedule becomes valid: a calendar without `dtstart`
    /// starts at 00:00 that day.
    valid: Timestamp,
}

fn compile_task(
    t: &Task,
    p: &str,
    cx: &Cx<'_>,
    budget: &mut Budget,
) -> Result<CTask, Vec<Problem>> {
    let Cx {
        xl,
        limits,
        accepted_at,
        device_tz,
        check_rate,
        doc_tz,
        valid,
    } = *cx;
    let mut out = Vec::new();
    let mut calendar_zone = None;
    let (mut rearm, mut dwell) = (None, 0);
    let trigger = match &t.trigger {
        Trigger::At(ts) => Some(CTrigger::At(*ts)),
        Trigger::Every(e) => Some(CTrigger::Every {
            period: e.seconds.max(1),
            anchor: e.anchor.unwrap_or(accepted_at),
        }),
        Trigger::Calendar(c) => {
            let zone = match c.zone_name(doc_tz) {
                Some(name) => Zone::parse(name)
                    .map_err(|e| {
                        // An inherited zone's problem is the schedule's.
                        let at = if c.tz.is_some() {
                            format!("{p}.trigger.calendar.tz")
                        } else {
                            "$.tz".to_string()
                        };
                        if !(c.tz.is_none() && doc_tz.is_some()) {
                            out.push(Problem::new(at, e));
                        }
                    })
                    .ok(),
                None => {
                    out.push(Problem::new(
                        format!("{p}.trigger.calendar"),
                        "no time zone: give the calendar a \"tz\", or the schedule one (a calendar inherits it)",
                    ));
                    None
                }
            };
            let rule = RRule::parse_all(&c.rrule)
                .map_err(|v| {
                    for e in v {
                        out.push(
                            Problem::new(format!("{p}.trigger.calendar.rrule"), e.message)
                                .at(e.span),
                        );
                    }
                })
                .ok();
            match (zone, rule) {
                (Some(zone), Some(rule)) => {
                    let tz = zone.resolve(device_tz).clone();
                    let dtstart = c.start(&rule, &tz, valid).map_err(|why| {
                        out.push(Problem::new(format!("{p}.trigger.calendar"), why));
                    });
                    let Ok(dtstart) = dtstart else {
                        return Err(out);
                    };
                    match Calendar::new_within(&rule, dtstart, tz, t.policy.dst, budget) {
                        Ok(cal) => {
                            if check_rate {
                                check_min_interval(&cal, dtstart, p, limits, &mut out);
                            }
                            calendar_zone = Some(zone);
                            Some(CTrigger::Calendar { cal: Box::new(cal) })
                        }
                        Err(e) => {
                            out.push(Problem::new(format!("{p}.trigger.calendar"), e.to_string()));
                            None
                        }
                    }
                }
                (None, Some(rule)) => {
                    // Still say whether a start is missing.
                    if let Err(why) = c.start(&rule, &TimeZone::UTC, valid) {
                        out.push(Problem::new(format!("{p}.trigger.calendar"), why));
                    }
                    None
                }
                _ => None,
            }
        }
        Trigger::Event(ev) => {
            let filter = ev
                .filter
                .as_deref()
                .and_then(|f| expr(f, format!("{p}.trigger.event.filter"), xl, &mut out));
            Some(CTrigger::Event {
                name: ev.name.clone(),
                filter,
            })
        }
        // Checked against the other tasks in `chain_problems`.
        Trigger::After(a) => Some(CTrigger::After {
            task: a.task.clone(),
            outcomes: a.outcome.clone(),
        }),
        Trigger::Changes(uri) => {
            if crate::model::is_valid_uri(uri) && uri.starts_with("./") {
                Some(CTrigger::Changes(uri.trim_end_matches('/').to_string()))
            } else {
                out.push(Problem::new(
                    format!("{p}.trigger.changes"),
                    format!("{uri:?} is not a node URI: write ./Segment/…"),
                ));
                None
            }
        }
        Trigger::BecomesTrue(edge) => {
            let plain = edge.rearm_when.is_none() && edge.for_seconds == 0;
            let at = if plain {
                format!("{p}.trigger.becomes_true")
            } else {
                format!("{p}.trigger.becomes_true.condition")
            };
            if let Some(r) = &edge.rearm_when {
                let path = format!("{p}.trigger.becomes_true.rearm_when");
                if let Some(e) = expr(r, path.clone(), xl, &mut out) {
                    if e.uses_event() {
                        out.push(Problem::new(
                            path,
                            "a re-arm condition cannot use event fields",
                        ));
                    }
                    rearm = Some(e);
                }
            }
            if edge.for_seconds > MAX_DWELL_SECONDS {
                out.push(Problem::new(
                    format!("{p}.trigger.becomes_true.for_seconds"),
                    format!(
                        "{} s is more than the longest dwell, {MAX_DWELL_SECONDS} s (7 days; this device's Capabilities/MaxDwellSeconds)",
                        edge.for_seconds
                    ),
                ));
            }
            let src = &edge.condition;
            let e = expr(src, at.clone(), xl, &mut out);
            if let Some(e) = &e
                && e.uris().is_empty()
            {
                out.push(Problem::new(
                    at.clone(),
                    "the condition reads no tree node, so it can never change",
                ));
            }
            if let Some(e) = &e
                && e.uses_event()
            {
                out.push(Problem::new(
                    at,
                    "a becomes_true condition cannot use event fields",
                ));
            }
            dwell = edge.for_seconds;
            e.map(CTrigger::BecomesTrue)
        }
    };
    let require = t.constraints.require.as_deref().and_then(|s| {
        let e = expr(s, format!("{p}.constraints.require"), xl, &mut out)?;
        if e.uses_event() {
            out.push(Problem::new(
                format!("{p}.constraints.require"),
                "constraints cannot use event fields",
            ));
        }
        Some(e)
    });
    let term_when = t
        .termination
        .when
        .as_deref()
        .and_then(|s| expr(s, format!("{p}.termination.when"), xl, &mut out));
    let term_event = t.termination.on_event.as_ref().map(|ev| {
        let f = ev
            .filter
            .as_deref()
            .and_then(|f| expr(f, format!("{p}.termination.on_event.filter"), xl, &mut out));
        (ev.name.clone(), f)
    });
    match trigger {
        Some(trigger) if out.is_empty() => Ok(CTask {
            trigger,
            calendar_zone,
            require,
            windows: t.constraints.windows.clone(),
            term_event,
            term_when,
            rearm,
            dwell,
            delay: 0,
            opted_out: false,
        }),
        _ => Err(out),
    }
}

/// A calendar rule must not fire more often than the minimum interval:
/// checked on its first 16 occurrences from DTSTART.
fn check_min_interval(
    cal: &Calendar,
    dtstart: jiff::civil::DateTime,
    p: &str,
    limits: &Limits,
    out: &mut Vec<Problem>,
) {
    let min = limits.min_interval_seconds;
    if min == 0 {
        return;
    }
    let Ok(start) = TimeZone::UTC.to_timestamp(dtstart) else {
        return;
    };
    // Start a day early so that any zone offset is covered.
    let Ok(mut at) = start.checked_sub(jiff::SignedDuration::from_hours(26)) else {
        return;
    };
    let mut prev: Option<Timestamp> = None;
    for _ in 0..16 {
        let Some(o) = cal.next_after(at) else { break };
        if let Some(prev) = prev {
            let gap = o.at.duration_since(prev).as_secs();
            if gap >= 0 && (gap as u64) < min {
                out.push(Problem::new(
                    format!("{p}.trigger.calendar.rrule"),
                    format!(
                        "occurrences {gap} s apart ({prev} and {}), below the minimum interval of {min} s (this device's Capabilities/MinIntervalSeconds)",
                        o.at
                    ),
                ));
                return;
            }
        }
        prev = Some(o.at);
        at = o.at;
    }
}
