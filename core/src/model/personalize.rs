//! Personalisation (use case step 4): the parameters a server lets the
//! user adjust — a task's daily window, a delay, opting out of a task —
//! with their bounds, and the user's choices, kept with the schedule.
//!
//! The server declares `params`; only the device writes `choices` (the
//! user's answers, through the host's prompt or a settings screen). A
//! choice outside its parameter's bounds is refused; a modify keeps the
//! choices whose parameter still exists with the same kind and task and
//! whose value is still within the new bounds.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validate::Problem;
use crate::when::Window;

/// What the server lets the user adjust, and what the user chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Personalize {
    /// The adjustable parameters.
    pub params: Vec<Param>,
    /// The user's choices by parameter id (written by the device only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub choices: BTreeMap<String, Choice>,
}

/// One adjustable parameter: exactly one of `window`, `delay`, `opt_out`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// Its id (`[A-Za-z0-9_.-]`, 1–64), unique in the schedule.
    pub id: String,
    /// The task it adjusts.
    pub task: String,
    /// What the user is shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The task's daily window may be moved within these bounds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<WindowBounds>,
    /// The task's runs may be delayed by up to this much.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DelayBounds>,
    /// The user may opt out of the task (`true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opt_out: Option<bool>,
}

/// The bounds of a window parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowBounds {
    /// The chosen window must lie inside this daily stretch (it may cross
    /// midnight: `22:00`–`06:00`).
    pub within: Window,
    /// The chosen window is at least this long.
    #[serde(default)]
    pub min_minutes: u32,
}

/// The bounds of a delay parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DelayBounds {
    /// The longest delay the user may choose (at most 7 days).
    pub max_seconds: u64,
}

/// The kinds of adjustable parameter, as the schedule format names them
/// (`./Scheduling/Capabilities/Personalize`).
pub const PARAM_KINDS: [&str; 3] = ["window", "delay", "opt_out"];

/// The longest delay a parameter may offer: 7 days.
pub const MAX_PERSONAL_DELAY_SECONDS: u64 = 7 * 86_400;

/// What the user chose for one parameter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Choice {
    /// Opt out of the task (`true`) or not.
    OptOut(bool),
    /// Delay every run by this many seconds.
    Delay(u64),
    /// Run in this daily window instead of the task's own.
    Window(Window),
}

impl Choice {
    /// The choice as the user would read it (`23:00-01:00`, `3600 s`,
    /// `opted out`).
    pub fn describe(&self) -> String {
        match self {
            Choice::OptOut(true) => "opted out".into(),
            Choice::OptOut(false) => "opted in".into(),
            Choice::Delay(s) => format!("delayed {s} s"),
            Choice::Window(w) => {
                let v = serde_json::to_value(w).unwrap_or_default();
                format!(
                    "{}-{}",
                    v["start"].as_str().unwrap_or(""),
                    v["end"].as_str().unwrap_or("")
                )
            }
        }
    }
}

/// What a parameter adjusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamKind {
    /// The daily window.
    Window,
    /// A delay.
    Delay,
    /// Opting out.
    OptOut,
}

impl Param {
    /// Its kind, if exactly one is given.
    pub fn kind(&self) -> Option<ParamKind> {
        match (&self.window, &self.delay, self.opt_out) {
            (Some(_), None, None) => Some(ParamKind::Window),
            (None, Some(_), None) => Some(ParamKind::Delay),
            (None, None, Some(true)) => Some(ParamKind::OptOut),
            _ => None,
        }
    }

    /// Whether `c` is a value this parameter allows; `Err` says why not.
    pub fn allows(&self, c: &Choice) -> Result<(), String> {
        match (self.kind(), c) {
            (Some(ParamKind::OptOut), Choice::OptOut(_)) => Ok(()),
            (Some(ParamKind::Delay), Choice::Delay(s)) => {
                let max = self.delay.as_ref().map_or(0, |d| d.max_seconds);
                if *s <= max {
                    Ok(())
                } else {
                    Err(format!("a delay of {s} s is more than the {max} s allowed"))
                }
            }
            (Some(ParamKind::Window), Choice::Window(w)) => {
                let b = self.window.as_ref().expect("kind is window");
                window_within(w, b)
            }
            (Some(k), _) => Err(format!(
                "parameter {:?} takes {}",
                self.id,
                match k {
                    ParamKind::OptOut => "true or false",
                    ParamKind::Delay => "a number of seconds",
                    ParamKind::Window => "a window {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}",
                }
            )),
            (None, _) => Err(format!("parameter {:?} is not usable", self.id)),
        }
    }
}

fn day_secs(t: jiff::civil::Time) -> i64 {
    i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second())
}

/// The length of a daily stretch (crossing midnight when `end <= start`).
fn span(w: &Window) -> i64 {
    (day_secs(w.end) - day_secs(w.start)).rem_euclid(86_400)
}

fn window_within(w: &Window, b: &WindowBounds) -> Result<(), String> {
    let shown = |x: &Window| Choice::Window(x.clone()).describe();
    if w.days.is_some() {
        return Err("a chosen window has no days: it opens on the task's days".into());
    }
    let len = span(w);
    if len == 0 {
        return Err(format!("the window {} is empty", shown(w)));
    }
    let room = match span(&b.within) {
        0 => 86_400,
        n => n,
    };
    let offset = (day_secs(w.start) - day_secs(b.within.start)).rem_euclid(86_400);
    if offset + len > room {
        return Err(format!(
            "the window {} is not inside {}",
            shown(w),
            shown(&b.within)
        ));
    }
    if len < i64::from(b.min_minutes) * 60 {
        return Err(format!(
            "the window {} is shorter than {} minutes",
            shown(w),
            b.min_minutes
        ));
    }
    Ok(())
}

impl Personalize {
    /// The parameter `id`.
    pub fn param(&self, id: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.id == id)
    }

    /// Problems with the declaration (ids, tasks that exist, one kind each,
    /// bounds) and with the choices (a parameter for each, within its
    /// bounds), with JSON paths below `$.personalize`.
    pub fn problems(&self, task_ids: &[&str]) -> Vec<Problem> {
        let mut out = Vec::new();
        for (i, p) in self.params.iter().enumerate() {
            let path = format!("$.personalize.params[{i}]");
            if !super::is_valid_id(&p.id) {
                out.push(Problem::new(
                    format!("{path}.id"),
                    format!("{:?} is not an id ([A-Za-z0-9_.-], 1–64)", p.id),
                ));
            }
            if self.params[..i].iter().any(|q| q.id == p.id) {
                out.push(Problem::new(
                    format!("{path}.id"),
                    format!("parameter {:?} is declared twice", p.id),
                ));
            }
            if !task_ids.contains(&p.task.as_str()) {
                let hint = super::diagnose::did_you_mean(&p.task, task_ids.iter().copied())
                    .map(|n| format!(" (did you mean \"{n}\"?)"))
                    .unwrap_or_default();
                out.push(Problem::new(
                    format!("{path}.task"),
                    format!("no task {:?} in this schedule{hint}", p.task),
                ));
            }
            match p.kind() {
                None => out.push(Problem::new(
                    path.clone(),
                    "a parameter is exactly one of `window`, `delay` or `opt_out: true`",
                )),
                Some(ParamKind::Delay) => {
                    let max = p.delay.as_ref().map_or(0, |d| d.max_seconds);
                    if max == 0 || max > MAX_PERSONAL_DELAY_SECONDS {
                        out.push(Problem::new(
                            format!("{path}.delay.max_seconds"),
                            format!(
                                "{max}: a delay parameter offers 1 to {MAX_PERSONAL_DELAY_SECONDS} seconds"
                            ),
                        ));
                    }
                }
                Some(ParamKind::Window) => {
                    let b = p.window.as_ref().expect("kind is window");
                    if b.within.days.is_some() {
                        out.push(Problem::new(
                            format!("{path}.window.within.days"),
                            "the bounds are daily: no days",
                        ));
                    }
                    let room = match span(&b.within) {
                        0 => 86_400,
                        n => n,
                    };
                    if i64::from(b.min_minutes) * 60 > room {
                        out.push(Problem::new(
                            format!("{path}.window.min_minutes"),
                            format!(
                                "{} minutes do not fit in {}",
                                b.min_minutes,
                                Choice::Window(b.within.clone()).describe()
                            ),
                        ));
                    }
                }
                Some(ParamKind::OptOut) => {}
            }
        }
        for (id, c) in &self.choices {
            let path = format!("$.personalize.choices.{id}");
            match self.param(id) {
                None => out.push(Problem::new(path, format!("no parameter {id:?}"))),
                Some(p) => {
                    if let Err(e) = p.allows(c) {
                        out.push(Problem::new(path, e));
                    }
                }
            }
        }
        out
    }

    /// The choices of `old` that still hold under this declaration: the
    /// parameter exists with the same kind and task, and the value is
    /// within its (new) bounds.
    pub fn carried(&self, old: &Personalize) -> BTreeMap<String, Choice> {
        old.choices
            .iter()
            .filter(|(id, c)| {
                let (Some(new), Some(was)) = (self.param(id), old.param(id)) else {
                    return false;
                };
                new.kind() == was.kind() && new.task == was.task && new.allows(c).is_ok()
            })
            .map(|(id, c)| (id.clone(), c.clone()))
            .collect()
    }
}
