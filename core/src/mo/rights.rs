//! Install-time check of a schedule's commands against its owner's rights
//! in the tree (6.1.7.6: "every action's target/command allowed for that
//! server, at install time where knowable, always again at run time").
//!
//! Knowable means the node exists now in the stored tree: a command whose
//! target (for Add and Copy: the target's parent; for Copy also the
//! source) exists and whose ACL refuses the owner that command makes the
//! install fail with 425. Nodes that do not exist yet, or that plug-ins
//! serve, are checked when the command runs, like every command.

use crate::model::{Op, Schedule};
use crate::tree::{AclCmd, TreeError, TreeRights, Uri};

use super::nodes::status;

/// 425 naming the first command of `doc` that `owner` may not run.
pub(crate) fn check(owner: &str, doc: &Schedule, tree: &dyn TreeRights) -> Result<(), TreeError> {
    for t in &doc.tasks {
        for a in &t.actions {
            for c in a.commands() {
                let parent = || {
                    Uri::parse(&c.target)
                        .ok()
                        .and_then(|u| u.parent())
                        .map(|p| p.as_str().to_string())
                };
                let mut wants: Vec<(AclCmd, String)> = match c.op {
                    Op::Add => parent().map(|p| (AclCmd::Add, p)).into_iter().collect(),
                    Op::Replace => vec![(AclCmd::Replace, c.target.clone())],
                    Op::Delete => vec![(AclCmd::Delete, c.target.clone())],
                    Op::Get => vec![(AclCmd::Get, c.target.clone())],
                    Op::Exec => vec![(AclCmd::Exec, c.target.clone())],
                    Op::Copy => parent().map(|p| (AclCmd::Add, p)).into_iter().collect(),
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
