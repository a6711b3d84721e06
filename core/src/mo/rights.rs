//! Install-time check of a schedule's commands against its owner's rights
//! in the tree (6.1.7.6: "every action's target/command allowed for that
//! server, at install time where knowable, always again at run time").
//!
//! Knowable means the node exists now in the stored tree: a command whose
//! target (for Add and Copy: the target's parent; for Copy also the
//! source) exists and whose ACL refuses the owner that command makes the
//! install fail with 425. So does a condition (`becomes_true`, an event
//! filter, `require`, `termination.when` and `termination.on_event`'s
//! filter; TreeValue triggers are `becomes_true`) that reads a node the
//! owner may not Get: a schedule must not learn another authority's values
//! through when it runs. Nodes that do not exist yet, or that plug-ins
//! serve, are checked when the command runs or the condition is read,
//! like every command and read (a refused read makes the condition false
//! and is the task's diagnostic).

use crate::engine::EventAccess;
use crate::expr::{Expr, ExprLimits};
use crate::model::{Op, Schedule, Task, Trigger};
use crate::tree::{AclCmd, TreeError, TreeRights, Uri};

use super::nodes::status;

/// The condition sources of task `t`, with what they are.
fn conditions(t: &Task) -> Vec<(&'static str, &str)> {
    let mut out = Vec::new();
    match &t.trigger {
        Trigger::BecomesTrue(e) => {
            out.push(("trigger.becomes_true", e.condition.as_str()));
            out.extend(
                e.rearm_when
                    .as_deref()
                    .map(|r| ("trigger.becomes_true.rearm_when", r)),
            );
        }
        Trigger::Event(e) => out.extend(e.filter.as_deref().map(|f| ("trigger.event.filter", f))),
        // The node alone is a condition reading it.
        Trigger::Changes(uri) => out.push(("trigger.changes", uri.as_str())),
        _ => {}
    }
    out.extend(
        t.constraints
            .require
            .as_deref()
            .map(|c| ("constraints.require", c)),
    );
    out.extend(
        t.termination
            .when
            .as_deref()
            .map(|c| ("termination.when", c)),
    );
    if let Some(e) = &t.termination.on_event {
        out.extend(
            e.filter
                .as_deref()
                .map(|f| ("termination.on_event.filter", f)),
        );
    }
    out
}

/// 425 naming the first condition of `doc` that reads a node `owner` may
/// not Get.
fn check_reads(owner: &str, doc: &Schedule, tree: &dyn TreeRights) -> Result<(), TreeError> {
    let limits = ExprLimits {
        max_len: usize::MAX,
        max_depth: 1024,
        max_nodes: usize::MAX,
    };
    for t in &doc.tasks {
        for (what, src) in conditions(t) {
            // The document was verified within the device's limits; fail
            // closed all the same.
            let e = Expr::parse(src, &limits)
                .map_err(|e| status(400, format!("task {}: {what}: {e}", t.id)))?;
            for uri in e.uris() {
                if tree.may(owner, AclCmd::Get, &uri) == Some(false) {
                    return Err(status(
                        425,
                        format!(
                            "task {}: {what} reads {uri}: the tree's ACL does not let {owner} Get it; conditions are read with their owner's rights",
                            t.id
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// 425 naming the first device event of `doc` that the device's
/// [`EventAccess`] keeps from `owner`.
pub(crate) fn check_events(
    owner: &str,
    doc: &Schedule,
    access: &EventAccess,
) -> Result<(), TreeError> {
    for t in &doc.tasks {
        let names = [
            match &t.trigger {
                Trigger::Event(e) => Some(e.name.as_str()),
                _ => None,
            },
            t.termination.on_event.as_ref().map(|e| e.name.as_str()),
        ];
        for name in names.into_iter().flatten() {
            if !access.allows(owner, name) {
                return Err(status(
                    425,
                    format!(
                        "task {}: the device does not let {owner} use the event {name}",
                        t.id
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// 425 naming the first command of `doc` that `owner` may not run, or the
/// first condition that reads a node `owner` may not Get.
pub(crate) fn check(owner: &str, doc: &Schedule, tree: &dyn TreeRights) -> Result<(), TreeError> {
    check_reads(owner, doc, tree)?;
    for t in &doc.tasks {
        for a in &t.actions {
            for c in a.commands() {
                // A property or listing (`?prop=`, `?list=`) needs the
                // right on its node; an Alert touches no node.
                let node = c.target.split('?').next().unwrap_or_default().to_string();
                let parent = || {
                    Uri::parse(&node)
                        .ok()
                        .and_then(|u| u.parent())
                        .map(|p| p.as_str().to_string())
                };
                let mut wants: Vec<(AclCmd, String)> = match c.op {
                    Op::Add => parent().map(|p| (AclCmd::Add, p)).into_iter().collect(),
                    Op::Replace => vec![(AclCmd::Replace, node.clone())],
                    Op::Delete => vec![(AclCmd::Delete, node.clone())],
                    Op::Get => vec![(AclCmd::Get, node.clone())],
                    Op::Exec => vec![(AclCmd::Exec, node.clone())],
                    Op::Copy => parent().map(|p| (AclCmd::Add, p)).into_iter().collect(),
                    Op::Alert => Vec::new(),
                };
                if let (Op::Copy, Some(src)) = (c.op, &c.source) {
                    wants.push((AclCmd::Get, src.clone()));
                }
                for (cmd, uri) in wants {
                    if tree.may(owner, cmd, &uri) == Some(false) {
                        return Err(status(
                            425,
                            format!(
                                "task {}: {} {}: the tree's ACL does not let {owner} {} {uri}; scheduled commands run with their owner's rights",
                                t.id,
                                c.op.as_str(),
                                c.target,
                                cmd.as_str()
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}
