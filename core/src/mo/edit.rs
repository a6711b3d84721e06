//! Node-level edits of one schedule's MO nodes: Add, Replace and Delete
//! of a node below `<S>`, each answering its own DM status (405 unknown or
//! read-only node, 406 unsupported feature, 415 Format/Type, 400 value,
//! 413 too large, 418 exists, 404 absent). Whether the whole schedule is
//! valid is checked later ([`super::map::build`]).

use super::check::{CheckCx, check_interior, check_leaf, check_name};
use super::nodes::{Kind, Nodes, child_names, classify, status};
use crate::tree::{Payload, TreeError};

/// Most nodes one schedule may have.
pub(crate) const MAX_NODES: usize = 4096;

fn refused(kind: Kind, path: &str) -> TreeError {
    match kind {
        Kind::ReadOnly | Kind::Document | Kind::Operations | Kind::Exec => status(
            405,
            format!("{path} is maintained by the device and cannot be written"),
        ),
        _ => status(405, format!("{path} is not a node of the Scheduling MO")),
    }
}

/// The trigger `<G>` path and the condition kind (`Time`, `Event`) of
/// `rel`, when `rel` lies in one.
fn trigger_part<'a>(rel: &[&'a str]) -> Option<(String, &'a str)> {
    match rel {
        ["Tasks", t, "Triggers", g, kind, ..] if matches!(*kind, "Time" | "Event") => {
            Some((format!("Tasks/{t}/Triggers/{g}"), *kind))
        }
        _ => None,
    }
}

/// Adds the node `rel` (segments below `<S>`) to `nodes`. Missing interior
/// ancestors below `<S>` are created.
pub(crate) fn add_node(
    nodes: &mut Nodes,
    rel: &[&str],
    p: &Payload,
    cx: &CheckCx<'_>,
) -> Result<(), TreeError> {
    let path = rel.join("/");
    let kind = classify(rel);
    let node = match kind {
        Kind::Interior => {
            check_interior(&path, p)?;
            super::nodes::Node::Interior
        }
        Kind::Leaf(leaf) => check_leaf(leaf, &path, p, cx)?,
        other => return Err(refused(other, &path)),
    };
    if nodes.contains_key(&path) {
        return Err(status(418, format!("{path} already exists")));
    }
    if nodes.len() >= MAX_NODES {
        return Err(status(
            413,
            format!("a schedule has at most {MAX_NODES} nodes"),
        ));
    }
    match rel {
        ["Tasks", t] => {
            check_name("task", t)?;
            if child_names(nodes, "Tasks").len() >= cx.limits.max_tasks {
                return Err(status(
                    413,
                    format!("a schedule has at most {} tasks", cx.limits.max_tasks),
                ));
            }
        }
        ["Tasks", t, "Triggers", g] => {
            check_name("trigger", g)?;
            if child_names(nodes, &format!("Tasks/{t}/Triggers")).len() >= cx.limits.max_tasks {
                return Err(status(
                    413,
                    format!("a task has at most {} triggers", cx.limits.max_tasks),
                ));
            }
        }
        _ => {}
    }
    if let Some((g, kind)) = trigger_part(rel) {
        let other = if kind == "Time" { "Event" } else { "Time" };
        let o = format!("{g}/{other}");
        if nodes.contains_key(&o) || !child_names(nodes, &o).is_empty() {
            return Err(status(
                406,
                format!(
                    "{g} already has {other}: a trigger starts at a time or on an event, not both (add another trigger; triggers are OR-ed)"
                ),
            ));
        }
    }
    // Ancestors: the structure below <S> is fixed, so each is interior.
    for i in 1..rel.len() {
        let a = &rel[..i];
        let ap = a.join("/");
        match nodes.get(&ap) {
            Some(super::nodes::Node::Interior) => {}
            Some(_) => {
                return Err(status(
                    405,
                    format!("{ap} is a leaf and cannot have children"),
                ));
            }
            None => {
                if classify(a) != Kind::Interior {
                    return Err(refused(classify(a), &ap));
                }
                if let ["Tasks", t] = a {
                    check_name("task", t)?;
                }
                if let ["Tasks", _, "Triggers", g] = a {
                    check_name("trigger", g)?;
                }
                nodes.insert(ap, super::nodes::Node::Interior);
            }
        }
    }
    nodes.insert(path, node);
    Ok(())
}

/// Replaces the value of the leaf `rel`.
pub(crate) fn replace_node(
    nodes: &mut Nodes,
    rel: &[&str],
    p: &Payload,
    cx: &CheckCx<'_>,
) -> Result<(), TreeError> {
    let path = rel.join("/");
    match classify(rel) {
        Kind::Leaf(leaf) => {
            if !nodes.contains_key(&path) {
                return Err(status(404, format!("{path} does not exist: Add it")));
            }
            // Replace keeps the node's format when none is given.
            let node = check_leaf(leaf, &path, p, cx)?;
            nodes.insert(path, node);
            Ok(())
        }
        Kind::Interior | Kind::Schedule => Err(status(
            405,
            format!("{path} is an interior node: Replace its leaves"),
        )),
        other => Err(refused(other, &path)),
    }
}

/// Deletes the node `rel` and everything below it.
pub(crate) fn delete_node(nodes: &mut Nodes, rel: &[&str]) -> Result<(), TreeError> {
    let path = rel.join("/");
    match classify(rel) {
        Kind::Leaf(_) | Kind::Interior => {}
        other => return Err(refused(other, &path)),
    }
    let below = format!("{path}/");
    let existed = nodes.remove(&path).is_some();
    let before = nodes.len();
    nodes.retain(|k, _| !k.starts_with(&below));
    if !existed && nodes.len() == before {
        return Err(status(404, format!("{path} does not exist")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Limits;
    use crate::tree::Format;

    fn cx(l: &Limits) -> CheckCx<'_> {
        CheckCx {
            limits: l,
            has_prompt: true,
        }
    }

    #[test]
    fn adds_create_ancestors_and_refuse_what_the_mo_does_not_have() {
        let l = Limits::default();
        let mut n = Nodes::new();
        let code = |n: &mut Nodes, path: &str, p: Payload| {
            let rel: Vec<&str> = path.split('/').collect();
            add_node(n, &rel, &p, &cx(&l)).err().map(|e| e.status())
        };
        assert_eq!(
            code(
                &mut n,
                "Tasks/T/Triggers/G/Time/Base",
                Payload::chr("2026-12-01T00:00:00Z")
            ),
            None
        );
        assert!(n.contains_key("Tasks/T/Triggers/G/Time"));
        assert_eq!(code(&mut n, "Tasks/T", Payload::interior()), Some(418));
        assert_eq!(
            code(&mut n, "Tasks/T/Triggers/G/Event/ID", Payload::chr("boot")),
            Some(406)
        );
        assert_eq!(
            code(&mut n, "State", Payload::leaf(Format::Int, "20")),
            Some(405)
        );
        assert_eq!(code(&mut n, "Bogus", Payload::chr("x")), Some(405));
        // Task chaining (issue 18): a task name, checked when built.
        assert_eq!(code(&mut n, "Tasks/T/DependsOn", Payload::chr("U")), None);
        assert_eq!(code(&mut n, "Tasks/T/Cmds", Payload::interior()), Some(415));
        assert_eq!(
            code(&mut n, "Tasks/bad name", Payload::interior()),
            Some(400)
        );
        assert_eq!(code(&mut n, "Valid", Payload::chr("x")), Some(415));
    }

    #[test]
    fn replace_and_delete_need_the_node() {
        let l = Limits::default();
        let mut n = Nodes::new();
        assert_eq!(
            replace_node(&mut n, &["Name"], &Payload::chr("x"), &cx(&l))
                .unwrap_err()
                .status(),
            404
        );
        add_node(&mut n, &["Name"], &Payload::chr("x"), &cx(&l)).unwrap();
        replace_node(&mut n, &["Name"], &Payload::chr("y"), &cx(&l)).unwrap();
        assert_eq!(n["Name"].text(), Some("y"));
        assert_eq!(
            replace_node(&mut n, &["Tasks"], &Payload::chr("y"), &cx(&l))
                .unwrap_err()
                .status(),
            405
        );
        add_node(
            &mut n,
            &["Tasks", "T", "Cmds"],
            &Payload::leaf(
                Format::Xml,
                "<Get><CmdID>1</CmdID><Item><Target><LocURI>./A</LocURI></Target></Item></Get>",
            ),
            &cx(&l),
        )
        .unwrap();
        delete_node(&mut n, &["Tasks", "T"]).unwrap();
        assert!(!n.keys().any(|k| k.starts_with("Tasks/T")));
        assert_eq!(
            delete_node(&mut n, &["Tasks", "T"]).unwrap_err().status(),
            404
        );
        assert_eq!(
            delete_node(&mut n, &["ServerID"]).unwrap_err().status(),
            405
        );
    }
}
