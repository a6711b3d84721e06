//! Scheduled DM commands: single commands and Atomic/Sequence groups.

use serde::{Deserialize, Serialize};

/// A DM command verb that can be scheduled (6.1.7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    /// Add a node.
    Add,
    /// Replace a node's value.
    Replace,
    /// Delete a node.
    Delete,
    /// Read a node (its value goes into the report).
    Get,
    /// Execute a node.
    Exec,
    /// Copy `source` to `target`.
    Copy,
    /// A user-interaction alert (1100–1104) shown through the host's user
    /// interface when the task runs; no target (see [`AlertSpec`]).
    Alert,
}

impl Op {
    /// The SyncML element name of the command.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Add => "Add",
            Op::Replace => "Replace",
            Op::Delete => "Delete",
            Op::Get => "Get",
            Op::Exec => "Exec",
            Op::Copy => "Copy",
            Op::Alert => "Alert",
        }
    }
}

/// One DM command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// The verb.
    pub op: Op,
    /// Target URI, e.g. `./DevDetail/Ext/Conf/Mode`.
    pub target: String,
    /// Source URI (Copy only).
    pub source: Option<String>,
    /// Item data.
    pub data: Option<String>,
    /// Meta Format (`chr`, `int`, `bool`, `b64`, `xml`, `node` …).
    pub format: Option<String>,
    /// Meta Type (MIME type).
    pub mime: Option<String>,
    /// What an [`Op::Alert`] asks (its text is `data`); `None` otherwise.
    pub alert: Option<Box<AlertSpec>>,
}

/// A scheduled user-interaction alert (OMA DM Protocol 1.2 §10.2): the
/// question, and how an unattended device answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertSpec {
    /// 1100 display, 1101 confirm, 1102 text input, 1103 single choice,
    /// 1104 multiple choice.
    pub code: u16,
    /// The options, URL-encoded as in a session (`MINDT`, `MAXDT`, `DR`,
    /// `MAXLEN`, `IT`, `ET`): `MAXDT=60&DR=1`.
    pub options: Option<String>,
    /// The choices of 1103/1104, in order (answers count from 1).
    pub choices: Vec<String>,
}

impl AlertSpec {
    /// The option `key` (`MAXDT`, `DR` …), URL-decoded.
    pub fn option(&self, key: &str) -> Option<String> {
        self.options
            .as_deref()?
            .split('&')
            .filter_map(|p| p.split_once('=').or(Some((p, ""))))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| url_decode(v))
    }

    /// The answer when nobody answers: the device is locked or unattended
    /// (`cannot_show`, the host's user interface said so, or there is
    /// none), or the user let `MAXDT` pass. The default response `DR`
    /// stands in for the user: 408 with it as data (the run goes on as if
    /// the user had answered it), except a 1101 whose default is 0 (no):
    /// 304, declined. Without a default: 416 when nothing could be shown
    /// (a failed attempt, retried per policy), 408 when the user let it
    /// time out (declined).
    pub fn unanswered(&self, cannot_show: bool) -> (u16, Option<String>) {
        match self.option("DR") {
            Some(d) if self.code == 1101 && d.trim() == "0" => (304, Some(d)),
            Some(d) => (408, Some(d)),
            None if cannot_show => (416, None),
            None => (408, None),
        }
    }
}

/// `+` and `%XX` of an `application/x-www-form-urlencoded` value.
pub(crate) fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The user-interaction alert codes a schedule may carry.
pub const ALERT_CODES: [u16; 5] = [1100, 1101, 1102, 1103, 1104];

/// A scheduled action: a command, or a group of actions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawAction", into = "RawAction")]
pub enum Action {
    /// A single command.
    Command(Command),
    /// All or nothing: the host rolls back if one fails.
    Atomic(Vec<Action>),
    /// In order, stopping at the first failure.
    Sequence(Vec<Action>),
}

impl Action {
    /// Drops spare capacity in the groups' lists (see
    /// [`crate::model::Schedule::shrink_to_fit`]).
    pub fn shrink_to_fit(&mut self) {
        if let Action::Atomic(v) | Action::Sequence(v) = self {
            v.shrink_to_fit();
            for a in v {
                a.shrink_to_fit();
            }
        }
    }

    /// Every command in this action, depth first.
    pub fn commands(&self) -> Vec<&Command> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Command>) {
        match self {
            Action::Command(c) => out.push(c),
            Action::Atomic(v) | Action::Sequence(v) => v.iter().for_each(|a| a.collect(out)),
        }
    }

    /// Nesting depth: 1 for a command, 1 + deepest child for a group.
    pub fn depth(&self) -> usize {
        match self {
            Action::Command(_) => 1,
            Action::Atomic(v) | Action::Sequence(v) => {
                1 + v.iter().map(Action::depth).max().unwrap_or(0)
            }
        }
    }
}

/// The JSON shape of an action: either `{"op", "target", …}` or
/// `{"atomic": [...]}` or `{"sequence": [...]}`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    op: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    mime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alert: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    options: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    choices: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    atomic: Option<Vec<Action>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sequence: Option<Vec<Action>>,
}

impl TryFrom<RawAction> for Action {
    type Error = String;

    fn try_from(raw: RawAction) -> Result<Self, String> {
        let has_command_fields = raw.op.is_some()
            || raw.target.is_some()
            || raw.source.is_some()
            || raw.data.is_some()
            || raw.format.is_some()
            || raw.mime.is_some()
            || raw.alert.is_some()
            || raw.options.is_some()
            || raw.choices.is_some();
        match (raw.atomic, raw.sequence) {
            (Some(_), Some(_)) => {
                Err("an action is either `atomic` or `sequence`, not both".into())
            }
            (Some(v), None) | (None, Some(v)) if has_command_fields => {
                let _ = v;
                Err("a group (`atomic`/`sequence`) cannot also carry `op`, `target`, `source`, `data`, `format` or `type`".into())
            }
            (Some(v), None) => Ok(Action::Atomic(v)),
            (None, Some(v)) => Ok(Action::Sequence(v)),
            (None, None) => {
                let op = raw.op.ok_or("missing field `op` (Add, Replace, Delete, Get, Exec, Copy or Alert), or a group `atomic`/`sequence`")?;
                if op == Op::Alert {
                    let code = raw.alert.ok_or("missing field `alert`: the alert code (1100 display, 1101 confirm, 1102 text input, 1103 single choice, 1104 multiple choice)")?;
                    if raw.target.is_some() {
                        return Err("an Alert has no `target`".into());
                    }
                    return Ok(Action::Command(Command {
                        op,
                        target: String::new(),
                        source: raw.source,
                        data: raw.data,
                        format: raw.format,
                        mime: raw.mime,
                        alert: Some(Box::new(AlertSpec {
                            code,
                            options: raw.options,
                            choices: raw.choices.unwrap_or_default(),
                        })),
                    }));
                }
                if raw.alert.is_some() || raw.options.is_some() || raw.choices.is_some() {
                    return Err(format!(
                        "`alert`, `options` and `choices` belong to an Alert, not to {}",
                        op.as_str()
                    ));
                }
                let target = raw.target.ok_or("missing field `target`")?;
                Ok(Action::Command(Command {
                    op,
                    target,
                    source: raw.source,
                    data: raw.data,
                    format: raw.format,
                    mime: raw.mime,
                    alert: None,
                }))
            }
        }
    }
}

impl From<Action> for RawAction {
    fn from(a: Action) -> Self {
        match a {
            Action::Command(c) => {
                let (alert, options, choices) = match c.alert {
                    Some(a) => {
                        let a = *a;
                        (
                            Some(a.code),
                            a.options,
                            (!a.choices.is_empty()).then_some(a.choices),
                        )
                    }
                    None => (None, None, None),
                };
                RawAction {
                    op: Some(c.op),
                    target: (c.op != Op::Alert).then_some(c.target),
                    source: c.source,
                    data: c.data,
                    format: c.format,
                    mime: c.mime,
                    alert,
                    options,
                    choices,
                    ..RawAction::default()
                }
            }
            Action::Atomic(v) => RawAction {
                atomic: Some(v),
                ..RawAction::default()
            },
            Action::Sequence(v) => RawAction {
                sequence: Some(v),
                ..RawAction::default()
            },
        }
    }
}
