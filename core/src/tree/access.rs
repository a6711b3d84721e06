//! The tree as the engine's host: [`TreeAccess`] reads node values for
//! conditions and [`ActionExecutor`] runs scheduled DM commands, both with
//! the rights of the schedule's owner (requirement 6.1.7.6).
//!
//! Execution follows SyncML RepPro 1.2 §6.6: top-level commands run
//! independently; a Sequence stops at its first failure and reports the
//! rest as 215 (Not executed); an Atomic stops at its first failure, rolls
//! everything back, keeps the failing command's status and reports the
//! commands that had succeeded as 216 (Atomic roll back OK; 517 if the
//! roll-back failed) and the rest as 215. An Atomic nested in an Atomic
//! joins the outer one.

use crate::expr::Value;
use crate::host::{ActionExecutor, HostError, RunContext, TreeAccess};
use crate::model::{Action, Command, CommandResult, Op};

use super::error::TreeError;
use super::format::Format;
use super::handle::Tree;
use super::node::{Item, Payload};

impl TreeAccess for Tree {
    /// The value of the node at `uri` with `owner`'s Get right: `int` →
    /// `Int`, `bool` → `Bool`, `float` → `Float`, anything else `Str`
    /// (an interior node: its child names joined by `/`). `Ok(None)` if it
    /// does not exist.
    fn read(&self, owner: &str, uri: &str) -> Result<Option<Value>, HostError> {
        match self.get(owner, uri) {
            Ok(items) => Ok(items.into_iter().next().map(|i| value_of(&i))),
            Err(e) if e.status() == 404 => Ok(None),
            Err(e) => Err(HostError(e.message())),
        }
    }
}

fn value_of(item: &Item) -> Value {
    let text = item.text();
    let t = text.trim();
    match item.format {
        Format::Int => t.parse::<i64>().map(Value::Int).unwrap_or(Value::Str(text)),
        Format::Bool => match t {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(text),
        },
        Format::Float => t
            .parse::<f64>()
            .map(Value::Float)
            .unwrap_or(Value::Str(text)),
        _ => Value::Str(text),
    }
}

impl ActionExecutor for Tree {
    /// Runs `actions` on this tree as server `ctx.owner` at `ctx.now`; one
    /// result per command, in order. Never `Err`: failures are statuses.
    /// Without a user interface, an Alert is answered as on an unattended
    /// device ([`crate::model::AlertSpec::unanswered`]).
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        Ok(run_on(self, None, ctx, actions))
    }
}

/// Shows a scheduled Alert (1100–1104) to the user, for a tree that runs
/// scheduled commands in full-client mode (the DM client's user interface
/// implements it).
pub trait ScheduledAlerts: Send + Sync {
    /// The status and answer of alert `command` of the run `ctx` (see
    /// `docs/scheduling-format.md`, "Alerts"): 200 answered (the text, or
    /// the choices as `1,3`), 304 no, 214 cancelled, 408 nobody answered
    /// (the default response as data, if any), 416 cannot be shown.
    fn show(&self, ctx: &RunContext, command: &Command) -> (u16, Option<String>);
}

/// A tree that runs scheduled commands and shows their Alerts through
/// `alerts`: full-client mode's executor.
pub struct Interactive {
    /// The tree.
    pub tree: std::sync::Arc<Tree>,
    /// The user interface.
    pub alerts: std::sync::Arc<dyn ScheduledAlerts>,
}

impl ActionExecutor for Interactive {
    fn execute(
        &self,
        ctx: &RunContext,
        actions: &[Action],
    ) -> Result<Vec<CommandResult>, HostError> {
        Ok(run_on(&self.tree, Some(&*self.alerts), ctx, actions))
    }
}

fn run_on(
    tree: &Tree,
    alerts: Option<&dyn ScheduledAlerts>,
    ctx: &RunContext,
    actions: &[Action],
) -> Vec<CommandResult> {
    let mut out = Vec::new();
    let run = Run { tree, ctx, alerts };
    run.group(actions, false, false, &mut out);
    out
}

struct Run<'a> {
    tree: &'a Tree,
    ctx: &'a RunContext,
    alerts: Option<&'a dyn ScheduledAlerts>,
}

fn result(c: &Command, status: u16, data: Option<String>) -> CommandResult {
    CommandResult {
        op: c.op,
        target: c.target.clone(),
        status,
        data,
    }
}

impl Run<'_> {
    /// Runs `actions` in order; with `stop`, the first failure turns the
    /// rest into 215. Returns true if all succeeded.
    fn group(
        &self,
        actions: &[Action],
        stop: bool,
        in_atomic: bool,
        out: &mut Vec<CommandResult>,
    ) -> bool {
        let mut ok = true;
        for a in actions {
            if !ok && stop {
                out.extend(a.commands().into_iter().map(|c| result(c, 215, None)));
                continue;
            }
            let this = match a {
                Action::Command(c) => {
                    let r = self.command(c);
                    let s = r.is_success();
                    out.push(r);
                    s
                }
                Action::Sequence(v) => self.group(v, true, in_atomic, out),
                Action::Atomic(v) if in_atomic => self.group(v, true, true, out),
                Action::Atomic(v) => self.atomic(v, out),
            };
            ok &= this;
        }
        ok
    }

    fn atomic(&self, actions: &[Action], out: &mut Vec<CommandResult>) -> bool {
        if let Err(e) = self.tree.begin() {
            let status = e.status();
            for a in actions {
                out.extend(a.commands().into_iter().map(|c| result(c, status, None)));
            }
            return false;
        }
        let start = out.len();
        if self.group(actions, true, true, out) {
            match self.tree.commit() {
                Ok(()) => return true,
                Err(e) => {
                    for r in &mut out[start..] {
                        r.status = e.status();
                        r.data = None;
                    }
                    return false;
                }
            }
        }
        let undone = match self.tree.rollback() {
            Ok(()) => 216,
            Err(_) => 517,
        };
        for r in &mut out[start..] {
            if r.is_success() && r.status != 215 {
                r.status = undone;
                r.data = None;
            }
        }
        false
    }

    fn command(&self, c: &Command) -> CommandResult {
        if c.op == Op::Alert {
            let (status, data) = match (self.alerts, c.alert.as_deref()) {
                (Some(ui), Some(_)) => ui.show(self.ctx, c),
                (None, Some(spec)) => spec.unanswered(true),
                (_, None) => (400, None),
            };
            return result(c, status, data);
        }
        match self.try_command(c) {
            Ok((status, data)) => result(c, status, data),
            Err(e) => result(c, e.status(), None),
        }
    }

    fn try_command(&self, c: &Command) -> Result<(u16, Option<String>), TreeError> {
        let payload = || -> Result<Payload, TreeError> {
            Ok(Payload {
                format: c.format.as_deref().map(Format::parse).transpose()?,
                mime: c.mime.clone(),
                data: c.data.clone().unwrap_or_default().into_bytes(),
            })
        };
        let (t, s, now) = (self.tree, self.ctx.owner.as_str(), self.ctx.now);
        match c.op {
            Op::Add => t.add(s, &c.target, &payload()?, now).map(|()| (200, None)),
            Op::Replace => t
                .replace(s, &c.target, &payload()?, now)
                .map(|()| (200, None)),
            Op::Delete => t.delete(s, &c.target, now).map(|()| (200, None)),
            Op::Copy => {
                let src = c
                    .source
                    .as_deref()
                    .ok_or_else(|| TreeError::BadRequest("Copy without a source".into()))?;
                t.copy(s, &c.target, src, now).map(|()| (200, None))
            }
            Op::Exec => {
                let data = c.data.as_deref().map(str::as_bytes);
                let r = t.exec(s, &c.target, data, None)?;
                let d = r.data.map(|d| String::from_utf8_lossy(&d).into_owned());
                Ok((r.status, d))
            }
            Op::Get => {
                let items = t.get(s, &c.target)?;
                Ok((200, Some(render(&c.target, &items))))
            }
            Op::Alert => Err(TreeError::BadRequest(
                "an Alert is not a tree command".into(),
            )),
        }
    }
}

/// A Get's data as text: the value of a single item; for a listing, one
/// line per node, `uri` or `uri<TAB>value`.
fn render(target: &str, items: &[Item]) -> String {
    if let [one] = items
        && !target.contains("?list=")
    {
        return one.text();
    }
    items
        .iter()
        .map(|i| match &i.data {
            Some(_) => format!("{}\t{}", i.uri, i.text()),
            None => i.uri.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}
