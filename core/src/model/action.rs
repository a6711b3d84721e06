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
}

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
            || raw.mime.is_some();
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
                let op = raw.op.ok_or("missing field `op` (Add, Replace, Delete, Get, Exec or Copy), or a group `atomic`/`sequence`")?;
                let target = raw.target.ok_or("missing field `target`")?;
                Ok(Action::Command(Command {
                    op,
                    target,
                    source: raw.source,
                    data: raw.data,
                    format: raw.format,
                    mime: raw.mime,
                }))
            }
        }
    }
}

impl From<Action> for RawAction {
    fn from(a: Action) -> Self {
        match a {
            Action::Command(c) => RawAction {
                op: Some(c.op),
                target: Some(c.target),
                source: c.source,
                data: c.data,
                format: c.format,
                mime: c.mime,
                ..RawAction::default()
            },
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
