//! The tree plug-in of the Scheduling MO: verifies DM commands on the MO's
//! subtree, answers Gets from a snapshot of the engine's state, and queues
//! engine operations for [`super::Scheduling::settle`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use jiff::Timestamp;

use super::report::MoReport;
use super::{MoConfig, Op};
use crate::engine::{ScheduleInfo, ScheduleState, check_document};
use crate::model::Limits;
use crate::tree::{ExecResult, Format, NodeHandler, Payload, PluginNode, TreeError, Uri};

#[derive(Default)]
struct Shared {
    /// Every schedule the engine has, by id.
    snapshot: BTreeMap<String, ScheduleInfo>,
    /// Operations to apply.
    pending: Vec<Op>,
    /// Operations queued inside the current Atomic.
    atomic: Option<Vec<Op>>,
    /// Ids claimed by an Add not applied yet (so a second Add is 418).
    claimed: BTreeMap<String, String>,
}

/// The Scheduling MO as a tree plug-in (see the module docs of [`super`]).
pub struct MoHandler {
    cfg: MoConfig,
    limits: Limits,
    clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    shared: Mutex<Shared>,
}

impl std::fmt::Debug for MoHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoHandler")
            .field("root", &self.cfg.root)
            .finish_non_exhaustive()
    }
}

fn status(code: u16, msg: impl Into<String>) -> TreeError {
    TreeError::with_status(code, msg.into())
}

fn state_code(s: ScheduleState) -> i32 {
    match s {
        ScheduleState::Active => 20,
        ScheduleState::Suspended => 40,
        ScheduleState::Completed => 50,
        ScheduleState::Expired => 60,
        ScheduleState::Failed => 70,
        ScheduleState::Terminated => 80,
    }
}

fn interior() -> PluginNode {
    PluginNode::Interior { mime: None }
}

fn json_leaf(text: String) -> PluginNode {
    PluginNode::Leaf {
        format: Format::Chr,
        mime: Some("application/json".into()),
        data: text.into_bytes(),
    }
}

fn null_leaf() -> PluginNode {
    PluginNode::Leaf {
        format: Format::Null,
        mime: None,
        data: Vec::new(),
    }
}

/// The part of `uri` below the MO root, as segments.
fn rel<'u>(root: &str, uri: &'u Uri) -> Vec<&'u str> {
    let s = uri.as_str();
    let rest = s.strip_prefix(root).unwrap_or("");
    rest.split('/').filter(|x| !x.is_empty()).collect()
}

impl MoHandler {
    pub(crate) fn new(
        cfg: MoConfig,
        limits: Limits,
        clock: Arc<dyn Fn() -> Timestamp + Send + Sync>,
    ) -> MoHandler {
        MoHandler {
            cfg,
            limits,
            clock,
            shared: Mutex::new(Shared::default()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &MoConfig {
        &self.cfg
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn set_snapshot(&self, infos: Vec<ScheduleInfo>) {
        let mut sh = self.shared();
        sh.snapshot = infos.into_iter().map(|i| (i.id.clone(), i)).collect();
        let known: Vec<String> = sh.snapshot.keys().cloned().collect();
        sh.claimed.retain(|id, _| !known.contains(id));
    }

    pub(crate) fn take_pending(&self) -> Vec<Op> {
        let mut sh = self.shared();
        let ops = std::mem::take(&mut sh.pending);
        // An Add whose submit is now being applied no longer needs its claim.
        sh.claimed.clear();
        ops
    }

    fn queue(&self, sh: &mut Shared, op: Op) {
        match sh.atomic.as_mut() {
            Some(v) => v.push(op),
            None => sh.pending.push(op),
        }
    }

    /// A state report for `owner`'s schedule `id`.
    pub(crate) fn state_report(
        &self,
        owner: &str,
        id: &str,
        what: &str,
        reason: Option<&str>,
    ) -> MoReport {
        let mut data = format!(
            "<State><Schedule>{}</Schedule><Event>{what}</Event>",
            xml_escape(id)
        );
        if let Some(r) = reason {
            data.push_str(&format!("<Reason>{}</Reason>", xml_escape(r)));
        }
        data.push_str("</State>");
        MoReport {
            id: None,
            owner: owner.to_string(),
            source: format!("{}/Schedules/{id}", self.cfg.root),
            type_: self.cfg.state_type.clone(),
            mark: if what == "rejected" {
                "critical"
            } else {
                "informational"
            }
            .into(),
            data,
        }
    }

    /// The schedule `id`, checked for `server`'s right to act on it: only
    /// its owner (the engine's authorizer decides for others when the
    /// operation is applied, but the MO shows and changes nothing of
    /// another server's schedules: 425).
    fn owned<'s>(
        sh: &'s Shared,
        server: Option<&str>,
        id: &str,
    ) -> Result<&'s ScheduleInfo, TreeError> {
        let info = sh
            .snapshot
            .get(id)
            .ok_or_else(|| status(404, format!("no schedule {id}")))?;
        match server {
            // The device itself sees everything.
            None => Ok(info),
            Some(s) if s == info.owner => Ok(info),
            Some(s) => Err(status(
                425,
                format!("schedule {id} belongs to another server ({s} is not its owner)"),
            )),
        }
    }

    /// Verifies a schedule document for `<S>` = `id`, forcing its id.
    fn verify(&self, id: &str, data: &[u8]) -> Result<String, TreeError> {
        let text =
            std::str::from_utf8(data).map_err(|_| status(415, "the document is not UTF-8"))?;
        let mut v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| status(415, format!("the document is not JSON: {e}")))?;
        let obj = v
            .as_object_mut()
            .ok_or_else(|| status(415, "the document must be a JSON object"))?;
        match obj.get("id") {
            None => {
                obj.insert("id".into(), serde_json::Value::String(id.into()));
            }
            Some(serde_json::Value::String(s)) if s == id => {}
            Some(other) => {
                return Err(status(
                    400,
                    format!("the document's id {other} is not the node name {id}"),
                ));
            }
        }
        let json = v.to_string();
        check_document(&json, &self.limits, (self.clock)()).map_err(|problems| {
            let text: Vec<String> = problems
                .iter()
                .map(|p| format!("{}: {}", p.path, p.message))
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
        })?;
        Ok(json)
    }
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn task_leaf(info: &ScheduleInfo, task: &str, leaf: &str) -> Option<PluginNode> {
    let t = info.tasks.iter().find(|t| t.id == task)?;
    let ts = |x: Option<Timestamp>| PluginNode::chr(&x.map(|t| t.to_string()).unwrap_or_default());
    Some(match leaf {
        "LastRun" => ts(t.last_run),
        "NextRun" => ts(t.next_run),
        "LastResult" => PluginNode::chr(
            &t.last_outcome
                .map(|o| {
                    serde_json::to_value(o)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
        ),
        "Waiting" => PluginNode::chr(t.waiting.as_deref().or(t.ended.as_deref()).unwrap_or("")),
        "Runs" => PluginNode::int(t.runs as i32),
        _ => return None,
    })
}

const SCHEDULE_CHILDREN: &[&str] = &[
    "Document",
    "Name",
    "Operations",
    "ServerID",
    "State",
    "Tasks",
];
const TASK_CHILDREN: &[&str] = &["LastResult", "LastRun", "NextRun", "Runs", "Waiting"];

impl NodeHandler for MoHandler {
    fn get(&self, server: Option<&str>, uri: &Uri) -> Result<Option<PluginNode>, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        Ok(match r.as_slice() {
            [] | ["Schedules"] => Some(interior()),
            ["Schedules", id, rest @ ..] => {
                let info = match Self::owned(&sh, server, id) {
                    Ok(i) => i,
                    Err(e) if e.status() == 404 => return Ok(None),
                    Err(e) => return Err(e),
                };
                match rest {
                    [] | ["Operations"] | ["Tasks"] => Some(interior()),
                    ["ServerID"] => Some(PluginNode::chr(&info.owner)),
                    ["Name"] => Some(PluginNode::chr(info.document.name.as_deref().unwrap_or(""))),
                    ["State"] => Some(PluginNode::int(state_code(info.state))),
                    ["Document"] => Some(json_leaf(
                        serde_json::to_string(&info.document)
                            .map_err(|e| status(500, e.to_string()))?,
                    )),
                    ["Operations", "Activate" | "Suspend"] => Some(null_leaf()),
                    ["Tasks", t] => info.tasks.iter().any(|x| x.id == *t).then(interior),
                    ["Tasks", t, leaf] => task_leaf(info, t, leaf),
                    _ => None,
                }
            }
            _ => None,
        })
    }

    fn children(&self, server: Option<&str>, uri: &Uri) -> Result<Vec<String>, TreeError> {
        let sh = self.shared();
        let r = rel(&self.cfg.root, uri);
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Ok(match r.as_slice() {
            [] => vec!["Schedules".into()],
            ["Schedules"] => sh
                .snapshot
                .values()
                .filter(|i| server.is_none_or(|s| s == i.owner))
                .map(|i| i.id.clone())
                .collect(),
            ["Schedules", id, rest @ ..] => {
                let info = Self::owned(&sh, server, id)?;
                match rest {
                    [] => names(SCHEDULE_CHILDREN),
                    ["Operations"] => names(&["Activate", "Suspend"]),
                    ["Tasks"] => info.tasks.iter().map(|t| t.id.clone()).collect(),
                    ["Tasks", _] => names(TASK_CHILDREN),
                    _ => Vec::new(),
                }
            }
            _ => Vec::new(),
        })
    }

    fn add(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        let owner = server.ok_or_else(|| status(405, "schedules are installed by servers"))?;
        let r = rel(&self.cfg.root, uri);
        let ["Schedules", id] = r.as_slice() else {
            return Err(status(
                405,
                format!(
                    "{uri}: Add a schedule as {}/Schedules/<id> with its JSON document",
                    self.cfg.root
                ),
            ));
        };
        let is_json = payload
            .mime
            .as_deref()
            .is_some_and(|m| m.eq_ignore_ascii_case("application/json"))
            || (payload.format != Some(Format::Node) && payload.data.first() == Some(&b'{'));
        if !is_json {
            return Err(status(
                406,
                "node-by-node installation is not supported yet: Add the schedule with Meta Type application/json",
            ));
        }
        let json = self.verify(id, &payload.data)?;
        let mut sh = self.shared();
        if let Some(existing) = sh.snapshot.get(*id)
            && !matches!(
                existing.state,
                ScheduleState::Terminated | ScheduleState::Expired | ScheduleState::Completed
            )
        {
            return Err(status(418, format!("schedule {id} exists")));
        }
        if sh.claimed.contains_key(*id) {
            return Err(status(418, format!("schedule {id} exists")));
        }
        let live = sh
            .snapshot
            .values()
            .filter(|i| i.owner == owner && i.state.is_live())
            .count();
        if live >= self.limits.max_schedules_per_owner {
            return Err(status(
                420,
                format!("server {owner} already has {live} schedules"),
            ));
        }
        sh.claimed.insert(id.to_string(), owner.to_string());
        let op = Op::Submit {
            owner: owner.into(),
            json,
        };
        self.queue(&mut sh, op);
        Ok(())
    }

    fn replace(&self, server: Option<&str>, uri: &Uri, payload: &Payload) -> Result<(), TreeError> {
        let requester =
            server.ok_or_else(|| status(405, "the device changes schedules through the engine"))?;
        let r = rel(&self.cfg.root, uri);
        match r.as_slice() {
            ["Schedules", id, "Document"] => {
                // Whose it is first: another server learns nothing of it.
                Self::owned(&self.shared(), server, id)?;
                let json = self.verify(id, &payload.data)?;
                let mut sh = self.shared();
                let owner = Self::owned(&sh, server, id)?.owner.clone();
                let op = Op::Modify {
                    requester: requester.into(),
                    owner,
                    json,
                };
                self.queue(&mut sh, op);
                Ok(())
            }
            ["Schedules", id, ..] => {
                let sh = self.shared();
                Self::owned(&sh, server, id)?;
                Err(status(
                    405,
                    format!("{uri} is read-only; modify a schedule by replacing its Document"),
                ))
            }
            _ => Err(status(405, format!("{uri} cannot be replaced"))),
        }
    }

    fn delete(&self, server: Option<&str>, uri: &Uri) -> Result<(), TreeError> {
        let requester =
            server.ok_or_else(|| status(405, "the device ends schedules through the engine"))?;
        let r = rel(&self.cfg.root, uri);
        let ["Schedules", id] = r.as_slice() else {
            return Err(status(
                405,
                format!("{uri} cannot be deleted; Delete the schedule node to terminate it"),
            ));
        };
        let mut sh = self.shared();
        let info = Self::owned(&sh, server, id)?;
        if !info.state.is_live() {
            return Err(status(404, format!("schedule {id} has already ended")));
        }
        let op = Op::Terminate {
            requester: requester.into(),
            owner: info.owner.clone(),
            id: id.to_string(),
        };
        self.queue(&mut sh, op);
        Ok(())
    }

    fn exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        _data: Option<&[u8]>,
        _correlator: Option<&str>,
    ) -> Result<ExecResult, TreeError> {
        let requester =
            server.ok_or_else(|| status(405, "the device changes schedules through the engine"))?;
        let r = rel(&self.cfg.root, uri);
        let (id, activate) = match r.as_slice() {
            ["Schedules", id, "Operations", "Activate"] => (*id, true),
            ["Schedules", id, "Operations", "Suspend"] => (*id, false),
            _ => return Err(status(405, format!("{uri} is not executable"))),
        };
        let mut sh = self.shared();
        let info = Self::owned(&sh, server, id)?;
        let (owner, id) = (info.owner.clone(), id.to_string());
        let op = match (activate, info.state) {
            (true, ScheduleState::Suspended) => Op::Resume {
                requester: requester.into(),
                owner,
                id,
            },
            (false, ScheduleState::Active) => Op::Suspend {
                requester: requester.into(),
                owner,
                id,
            },
            // Already in the asked state: nothing to do.
            (true, ScheduleState::Active) | (false, ScheduleState::Suspended) => {
                return Ok(ExecResult::ok());
            }
            (_, s) => return Err(status(405, format!("schedule {id} is {}", s.as_str()))),
        };
        self.queue(&mut sh, op);
        Ok(ExecResult::ok())
    }

    fn begin(&self) -> Result<(), TreeError> {
        self.shared().atomic = Some(Vec::new());
        Ok(())
    }

    fn commit(&self) -> Result<(), TreeError> {
        let mut sh = self.shared();
        if let Some(ops) = sh.atomic.take() {
            sh.pending.extend(ops);
        }
        Ok(())
    }

    fn rollback(&self) {
        let mut sh = self.shared();
        if let Some(ops) = sh.atomic.take() {
            for op in ops {
                if let Op::Submit { json, .. } = op
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(&json)
                    && let Some(id) = v.get("id").and_then(|x| x.as_str())
                {
                    sh.claimed.remove(id);
                }
            }
        }
    }
}
