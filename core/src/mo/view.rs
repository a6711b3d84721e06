//! What Gets of `<S>` show: the stored MO nodes of a node-installed
//! schedule (or the nodes showing a JSON-installed one's document), plus
//! what the device maintains: `ServerID`, `State`, `Document`,
//! `Operations/*` and, for an installed schedule, the diagnostics of each
//! task (`LastRun`, `LastResult`, `LastOutcome`, `NextRun`, `Runs`,
//! `Waiting`), gathered over the engine tasks of its triggers.

use std::borrow::Cow;
use std::collections::BTreeSet;

use jiff::Timestamp;

use super::handler::{Shared, state_code};
use super::map::{self, TaskMap};
use super::nodes::{Node, Nodes, TASK_DIAGNOSTICS, child_names};
use super::report::result_code;
use super::staging::{Key, Phase};
use crate::engine::{ScheduleInfo, TaskInfo};
use crate::tree::{Format, PluginNode, TreeError};

/// One schedule as the MO shows it.
struct View<'s> {
    owner: &'s str,
    state: i32,
    nodes: Cow<'s, Nodes>,
    info: Option<&'s ScheduleInfo>,
    /// Engine task → (MO task, trigger).
    tasks: TaskMap,
}

fn view<'s>(sh: &'s Shared, key: &Key) -> Option<View<'s>> {
    let info = sh.snapshot.get(key);
    if let Some(m) = sh.mo.get(key) {
        let installed = m.phase == Phase::Installed;
        let info = info.filter(|_| installed);
        return Some(View {
            owner: &m.owner,
            state: info.map_or(10, |i| state_code(i.state)),
            tasks: map::task_map(&m.nodes),
            nodes: Cow::Borrowed(&m.nodes),
            info,
        });
    }
    let i = info?;
    Some(View {
        owner: &i.owner,
        state: state_code(i.state),
        nodes: Cow::Owned(map::nodes_of(&i.document, i.accepted_at)),
        tasks: i
            .tasks
            .iter()
            .map(|t| (t.id.clone(), (t.id.clone(), "G1".to_string())))
            .collect(),
        info: Some(i),
    })
}

fn null_leaf() -> PluginNode {
    PluginNode::Leaf {
        format: Format::Null,
        mime: None,
        data: Vec::new(),
    }
}

fn ts(x: Option<Timestamp>) -> PluginNode {
    PluginNode::chr(&x.map(|t| t.to_string()).unwrap_or_default())
}

/// The diagnostics leaf `leaf` of MO task `task`, over its engine tasks.
fn diagnostic(v: &View<'_>, task: &str, leaf: &str) -> Option<PluginNode> {
    let parts: Vec<(&str, Option<&TaskInfo>)> = v
        .tasks
        .iter()
        .filter(|(_, (t, _))| t == task)
        .map(|(e, (_, g))| {
            (
                g.as_str(),
                v.info.and_then(|i| i.tasks.iter().find(|x| &x.id == e)),
            )
        })
        .collect();
    if parts.is_empty() {
        return None;
    }
    let infos: Vec<&TaskInfo> = parts.iter().filter_map(|(_, i)| *i).collect();
    let last = infos
        .iter()
        .filter(|t| t.last_outcome.is_some())
        .max_by_key(|t| t.last_run);
    Some(match leaf {
        "LastRun" => ts(infos.iter().filter_map(|t| t.last_run).max()),
        "NextRun" => ts(infos.iter().filter_map(|t| t.next_run).min()),
        "LastResult" => PluginNode::int(last.and_then(|t| t.last_outcome).map_or(0, result_code)),
        "LastOutcome" => PluginNode::chr(
            last.and_then(|t| t.last_outcome)
                .map(|o| o.as_str())
                .unwrap_or(""),
        ),
        "Runs" => PluginNode::int(infos.iter().map(|t| t.runs as i32).sum()),
        "History" => history(&parts)?,
        "Waiting" => {
            let several = parts.len() > 1;
            let reasons: Vec<String> = parts
                .iter()
                .filter_map(|(g, i)| {
                    let i = (*i)?;
                    let r = i.waiting.as_deref().or(i.ended.as_deref())?;
                    Some(if several {
                        format!("{g}: {r}")
                    } else {
                        r.to_string()
                    })
                })
                .collect();
            PluginNode::chr(&reasons.join("; "))
        }
        _ => return None,
    })
}

/// `<T>/History`: the task's last finished occurrences over its triggers,
/// oldest first, as a JSON array of the engine's run records with the
/// MO's result code (and the trigger, for a task with several).
fn history(parts: &[(&str, Option<&TaskInfo>)]) -> Option<PluginNode> {
    let several = parts.len() > 1;
    let mut all: Vec<(Timestamp, u64, serde_json::Value)> = Vec::new();
    for (g, info) in parts {
        for r in info.iter().flat_map(|i| i.history.iter()) {
            let mut v = serde_json::to_value(r).ok()?;
            v["result"] = result_code(r.outcome).into();
            if several {
                v["trigger"] = (*g).into();
            }
            all.push((r.run_at.unwrap_or(r.due), r.seq, v));
        }
    }
    all.sort_by_key(|(at, seq, _)| (*at, *seq));
    let list: Vec<serde_json::Value> = all.into_iter().map(|(_, _, v)| v).collect();
    Some(PluginNode::Leaf {
        format: Format::Chr,
        mime: Some("application/json".into()),
        data: serde_json::to_vec(&list).ok()?,
    })
}

/// The node `rest` below schedule `key` (the caller checked the rights).
pub(crate) fn get(sh: &Shared, key: &Key, rest: &[&str]) -> Result<Option<PluginNode>, TreeError> {
    let Some(v) = view(sh, key) else {
        return Ok(None);
    };
    Ok(match rest {
        [] | ["Operations"] => Some(PluginNode::Interior { mime: None }),
        ["ServerID"] => Some(PluginNode::chr(v.owner)),
        ["State"] => Some(PluginNode::int(v.state)),
        ["Document"] => match v.info {
            Some(i) => Some(PluginNode::Leaf {
                format: Format::Chr,
                mime: Some("application/json".into()),
                data: serde_json::to_string(&i.document)
                    .map_err(|e| TreeError::with_status(500, e.to_string()))?
                    .into_bytes(),
            }),
            None => None,
        },
        ["Operations", "Activate" | "Suspend"] => Some(null_leaf()),
        ["Choices"] => v
            .info
            .and_then(|i| i.document.personalize.as_deref())
            .map(|p| PluginNode::Leaf {
                format: Format::Chr,
                mime: Some("application/json".into()),
                data: serde_json::to_vec(&p.choices).unwrap_or_default(),
            }),
        ["Tasks", t, d] if TASK_DIAGNOSTICS.contains(d) && v.info.is_some() => diagnostic(&v, t, d),
        _ => match v.nodes.get(&rest.join("/")) {
            Some(Node::Interior) => Some(PluginNode::Interior { mime: None }),
            Some(Node::Leaf { format, mime, data }) => Some(PluginNode::Leaf {
                format: *format,
                mime: mime.clone(),
                data: data.clone(),
            }),
            None => None,
        },
    })
}

/// The child names of `rest` below schedule `key`.
pub(crate) fn children(sh: &Shared, key: &Key, rest: &[&str]) -> Vec<String> {
    let Some(v) = view(sh, key) else {
        return Vec::new();
    };
    let mut out: BTreeSet<String> = child_names(&v.nodes, &rest.join("/")).into_iter().collect();
    let add = |out: &mut BTreeSet<String>, names: &[&str]| {
        out.extend(names.iter().map(|s| s.to_string()));
    };
    match rest {
        [] => {
            add(&mut out, &["Operations", "ServerID", "State"]);
            if v.info.is_some() {
                add(&mut out, &["Document"]);
            }
            if v.info.is_some_and(|i| i.document.personalize.is_some()) {
                add(&mut out, &["Choices"]);
            }
        }
        ["Operations"] => add(&mut out, &["Activate", "Suspend"]),
        ["Tasks", t] if v.info.is_some() && v.nodes.contains_key(&format!("Tasks/{t}")) => {
            add(&mut out, TASK_DIAGNOSTICS)
        }
        _ => {}
    }
    out.into_iter().collect()
}
