//! The MO's write commands: installing a schedule (a JSON document, node
//! by node, or a TNDS object), changing it (Replace of `Document` or of a
//! node), ending it (Delete), Activate/Suspend, and the Atomic commit
//! where node-by-node installs are verified as a whole.

use std::borrow::Cow;

use super::check::check_name;
use super::handler::{MoHandler, Shared, Target, rel, target, undo};
use super::map::{self, nodes_of};
use super::nodes::{Nodes, status, text_at, with_context};
use super::rights;
use super::staging::{Key, MoSched, Phase};
use super::tnds::{self, TNDS_TYPE, TndsError};
use super::{Install, Op, edit};
use crate::engine::{ScheduleState, check_document};
use crate::model::Schedule;
use crate::tree::{AclCmd, ExecResult, Format, Payload, TreeError, TreeRights, Uri};

fn mime_is(p: &Payload, t: &str) -> bool {
    p.mime
        .as_deref()
        .and_then(|m| m.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(t))
}

fn is_json(p: &Payload) -> bool {
    mime_is(p, "application/json")
        || (p.format != Some(Format::Node) && p.data.first() == Some(&b'{'))
}

/// The prompt title of an install that needs the user's confirmation
/// (`UI/Mode` 2): `UI/Text`, else `Name`, else the id.
fn confirm_title(id: &str, nodes: &Nodes) -> Option<String> {
    ui_title(id, nodes, 2)
}

/// The title to show the user after an install when `UI/Mode` is 1 (inform).
fn inform_title(id: &str, nodes: &Nodes) -> Option<String> {
    ui_title(id, nodes, 1)
}

fn ui_title(id: &str, nodes: &Nodes, mode: i32) -> Option<String> {
    (map::ui_mode(nodes) == mode).then(|| {
        text_at(nodes, "UI/Text")
            .or_else(|| text_at(nodes, "Name"))
            .unwrap_or(id)
            .to_string()
    })
}

impl MoHandler {
    /// A new schedule `id` for `owner` may be created: 400 bad name, 418
    /// `owner` has one by that id, 420 quota. Other authorities' ids do
    /// not matter: each has its own namespace (6.3.1.5).
    fn check_new(&self, sh: &Shared, key: &Key) -> Result<(), TreeError> {
        check_name("schedule", &key.id)?;
        let engine_holds = sh.snapshot.get(key).is_some_and(|i| {
            !matches!(
                i.state,
                ScheduleState::Terminated | ScheduleState::Expired | ScheduleState::Completed
            )
        });
        let staged = sh.mo.get(key).is_some_and(|m| m.phase != Phase::Installed);
        if engine_holds || staged || sh.claimed.contains(key) {
            return Err(status(418, format!("schedule {} exists", key.id)));
        }
        let owner = key.owner.as_str();
        let live = sh
            .snapshot
            .values()
            .filter(|i| i.owner == owner && i.state.is_live())
            .count()
            + sh.mo
                .values()
                .filter(|m| m.owner == owner && m.phase != Phase::Installed)
                .count();
        if live >= self.limits.max_schedules_per_owner {
            return Err(status(
                420,
                format!("server {owner} already has {live} schedules"),
            ));
        }
        Ok(())
    }

    /// The MO nodes of `key`: stored ones, or those showing its document.
    fn current_nodes<'s>(&self, sh: &'s Shared, key: &Key) -> Cow<'s, Nodes> {
        match (sh.mo.get(key), sh.snapshot.get(key)) {
            (Some(m), _) => Cow::Borrowed(&m.nodes),
            (None, Some(i)) => Cow::Owned(nodes_of(&i.document, i.accepted_at)),
            (None, None) => Cow::Owned(Nodes::new()),
        }
    }

    /// Verifies a schedule document for `<S>` = `id`, forcing its id.
    fn verify_json(&self, id: &str, data: &[u8]) -> Result<String, TreeError> {
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
        // The choices are the user's (personalisation): never a server's.
        if v.pointer("/personalize/choices")
            .and_then(serde_json::Value::as_object)
            .is_some_and(|c| !c.is_empty())
        {
            return Err(status(
                400,
                "$.personalize.choices: the choices are the user's, made on the device: a server declares only `params`",
            ));
        }
        let json = v.to_string();
        check_document(&json, &self.limits, (self.clock)()).map_err(|p| map::problems(&p, &[]))?;
        Ok(json)
    }

    /// Builds and verifies schedule `id` of `owner` from `nodes`, and checks
    /// its commands and conditions against the owner's rights where the
    /// tree knows them.
    pub(crate) fn build_for(
        &self,
        key: &Key,
        nodes: &Nodes,
        tree: Option<&dyn TreeRights>,
    ) -> Result<map::Built, TreeError> {
        let b = self.build(&key.id, nodes)?;
        rights::check_events(&key.owner, &b.doc, &self.event_access)?;
        if let Some(t) = tree {
            rights::check(&key.owner, &b.doc, t)?;
        }
        Ok(b)
    }

    /// [`MoHandler::verify_json`], then the rights check of `build_for`.
    fn verify_json_for(
        &self,
        key: &Key,
        data: &[u8],
        tree: Option<&dyn TreeRights>,
    ) -> Result<String, TreeError> {
        let json = self.verify_json(&key.id, data)?;
        let doc: Schedule = crate::model::validate::decode(&json)
            .map_err(|e| status(400, format!("the document: {e}")))?;
        rights::check_events(&key.owner, &doc, &self.event_access)?;
        if let Some(t) = tree {
            rights::check(&key.owner, &doc, t)?;
        }
        Ok(json)
    }

    /// The schedule `r` names for `server`, if `server` may run `cmd` on it
    /// (see [`Shared::check_access`]).
    fn access<'u>(
        &self,
        sh: &Shared,
        server: Option<&str>,
        r: &'u [&'u str],
        cmd: AclCmd,
    ) -> Result<Target<'u>, TreeError> {
        let t = target(sh, server, r).ok_or_else(|| status(404, "no such schedule"))?;
        sh.check_access(server, &t.key, cmd)?;
        Ok(t)
    }

    pub(crate) fn do_add(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: Option<&dyn TreeRights>,
    ) -> Result<(), TreeError> {
        let owner = server.ok_or_else(|| status(405, "schedules are installed by servers"))?;
        let r = rel(&self.cfg.root, uri);
        let tnds = mime_is(payload, TNDS_TYPE);
        match r.as_slice() {
            ["Schedules"] if tnds => self.install_tnds(owner, uri, None, payload, tree),
            ["Schedules" | "Servers"] => Err(status(418, format!("{uri} exists"))),
            ["Schedules", id] if tnds => self.install_tnds(owner, uri, Some(id), payload, tree),
            ["Schedules", id] if is_json(payload) => {
                self.add_json(&Key::new(owner, id), payload, tree)
            }
            ["Schedules", id] if payload.is_interior() => {
                // Node by node: staged until Activate (or the Atomic's commit).
                let key = Key::new(owner, id);
                let mut sh = self.shared();
                self.check_new(&sh, &key)?;
                sh.reset_acl(&key);
                sh.touch(&key);
                sh.mo.insert(
                    key,
                    MoSched {
                        owner: owner.to_string(),
                        phase: Phase::Staged,
                        nodes: Nodes::new(),
                        was_staged: true,
                    },
                );
                Ok(())
            }
            ["Schedules", _] => Err(status(
                415,
                format!(
                    "Add {uri} as an interior node (Format node) and its nodes one by one, or with Type application/json or {TNDS_TYPE}"
                ),
            )),
            ["Servers", ..] if r.len() <= 4 => Err(status(
                405,
                format!(
                    "a server installs its schedules under {}/Schedules, its own namespace",
                    self.cfg.root
                ),
            )),
            ["Schedules", _, ..] | ["Servers", _, "Schedules", _, ..] if tnds => Err(status(
                406,
                format!(
                    "a TNDS object is accepted at {0}/Schedules or {0}/Schedules/<S>",
                    self.cfg.root
                ),
            )),
            _ => {
                let mut sh = self.shared();
                let t = self.access(&sh, server, &r, AclCmd::Add).map_err(|e| {
                    if e.status() == 404 {
                        status(404, format!("no schedule at {uri}: Add the schedule first"))
                    } else {
                        e
                    }
                })?;
                let mut nodes = self.current_nodes(&sh, &t.key).into_owned();
                edit::add_node(&mut nodes, t.rest, payload, &self.check_cx())?;
                self.edited(&mut sh, owner, &t.key, nodes, tree)
            }
        }
    }

    fn add_json(
        &self,
        key: &Key,
        payload: &Payload,
        tree: Option<&dyn TreeRights>,
    ) -> Result<(), TreeError> {
        let json = self.verify_json_for(key, &payload.data, tree)?;
        let mut sh = self.shared();
        self.check_new(&sh, key)?;
        sh.reset_acl(key);
        sh.claimed.insert(key.clone());
        if let Some(log) = sh.atomic.as_mut() {
            log.claimed.push(key.clone());
        }
        sh.queue(Op::Submit {
            owner: key.owner.clone(),
            json,
            install: None,
        });
        Ok(())
    }

    /// `key`'s nodes were changed to `nodes` by `requester` (its owner, or
    /// a server its ACL lets).
    fn edited(
        &self,
        sh: &mut Shared,
        requester: &str,
        key: &Key,
        nodes: Nodes,
        tree: Option<&dyn TreeRights>,
    ) -> Result<(), TreeError> {
        let id = &key.id;
        match sh.mo.get(key).map(|m| m.phase) {
            Some(Phase::Staged) => {
                sh.touch(key);
                if let Some(m) = sh.mo.get_mut(key) {
                    m.nodes = nodes;
                }
                return Ok(());
            }
            Some(Phase::Installing) => {
                return Err(status(409, format!("schedule {id} is being installed")));
            }
            Some(Phase::Installed) | None => {}
        }
        let info = sh
            .snapshot
            .get(key)
            .ok_or_else(|| status(404, format!("no schedule {id}")))?;
        if !info.state.is_live() {
            return Err(status(
                405,
                format!(
                    "schedule {id} is {} and cannot be changed",
                    info.state.as_str()
                ),
            ));
        }
        let before = sh.mo.get(key).map(|m| m.nodes.clone());
        // Inside an Atomic the whole schedule is verified at commit.
        let json = match sh.atomic.as_mut() {
            Some(log) => {
                log.server.get_or_insert_with(|| requester.to_string());
                None
            }
            None => Some(self.build_for(key, &nodes, tree)?.json),
        };
        sh.touch(key);
        sh.mo.insert(
            key.clone(),
            MoSched {
                owner: key.owner.clone(),
                phase: Phase::Installed,
                nodes,
                was_staged: false,
            },
        );
        if let Some(json) = json {
            sh.queue(Op::Modify {
                requester: requester.to_string(),
                owner: key.owner.clone(),
                json,
                nodes_before: Some((id.clone(), before)),
            });
        }
        Ok(())
    }

    pub(crate) fn do_replace(
        &self,
        server: Option<&str>,
        uri: &Uri,
        payload: &Payload,
        tree: Option<&dyn TreeRights>,
    ) -> Result<(), TreeError> {
        let requester =
            server.ok_or_else(|| status(405, "the device changes schedules through the engine"))?;
        let r = rel(&self.cfg.root, uri);
        // Whose it is first: another server learns nothing of it.
        let t = {
            let sh = self.shared();
            match target(&sh, server, &r) {
                Some(t) => {
                    sh.check_access(server, &t.key, AclCmd::Replace)?;
                    t
                }
                None => return Err(status(405, format!("{uri} cannot be replaced"))),
            }
        };
        let key = &t.key;
        // An ended schedule is not modified: say so now, not in a
        // `rejected` report after a 200.
        if let Some(info) = self.shared().snapshot.get(key)
            && !info.state.is_live()
            && !t.rest.is_empty()
        {
            return Err(status(
                405,
                format!(
                    "schedule {} is {} and cannot be modified; Add a new one",
                    key.id,
                    info.state.as_str()
                ),
            ));
        }
        match t.rest {
            ["Document"] => {
                if self
                    .shared()
                    .mo
                    .get(key)
                    .is_some_and(|m| m.phase != Phase::Installed)
                {
                    return Err(status(
                        405,
                        format!(
                            "schedule {} is not installed yet: Exec Operations/Activate",
                            key.id
                        ),
                    ));
                }
                let json = self.verify_json_for(key, &payload.data, tree)?;
                let mut sh = self.shared();
                sh.check_access(server, key, AclCmd::Replace)?;
                sh.queue(Op::Modify {
                    requester: requester.into(),
                    owner: key.owner.clone(),
                    json,
                    nodes_before: None,
                });
                Ok(())
            }
            [] => Err(status(
                405,
                format!("{uri} is an interior node: Replace its leaves"),
            )),
            rest => {
                let mut sh = self.shared();
                sh.check_access(server, key, AclCmd::Replace)?;
                let mut nodes = self.current_nodes(&sh, key).into_owned();
                edit::replace_node(&mut nodes, rest, payload, &self.check_cx())?;
                self.edited(&mut sh, requester, key, nodes, tree)
            }
        }
    }

    pub(crate) fn do_delete(&self, server: Option<&str>, uri: &Uri) -> Result<(), TreeError> {
        let requester =
            server.ok_or_else(|| status(405, "the device ends schedules through the engine"))?;
        let r = rel(&self.cfg.root, uri);
        let mut sh = self.shared();
        let Some(t) = target(&sh, server, &r) else {
            return Err(status(
                405,
                format!("{uri} cannot be deleted; Delete the schedule node to terminate it"),
            ));
        };
        sh.check_access(server, &t.key, AclCmd::Delete)?;
        let key = t.key;
        let id = &key.id;
        if !t.rest.is_empty() {
            let mut nodes = self.current_nodes(&sh, &key).into_owned();
            edit::delete_node(&mut nodes, t.rest)?;
            return self.edited(&mut sh, requester, &key, nodes, None);
        }
        match sh.mo.get(&key).map(|m| m.phase) {
            Some(Phase::Staged) => {
                sh.touch(&key);
                sh.mo.remove(&key);
                return Ok(());
            }
            Some(Phase::Installing) => {
                return Err(status(409, format!("schedule {id} is being installed")));
            }
            _ => {}
        }
        let info = sh
            .snapshot
            .get(&key)
            .ok_or_else(|| status(404, format!("no schedule {id}")))?;
        if !info.state.is_live() {
            return Err(status(404, format!("schedule {id} has already ended")));
        }
        sh.queue(Op::Terminate {
            requester: requester.into(),
            owner: key.owner.clone(),
            id: id.clone(),
        });
        Ok(())
    }

    pub(crate) fn do_exec(
        &self,
        server: Option<&str>,
        uri: &Uri,
        tree: Option<&dyn TreeRights>,
    ) -> Result<ExecResult, TreeError> {
        let requester =
            server.ok_or_else(|| status(405, "the device changes schedules through the engine"))?;
        let r = rel(&self.cfg.root, uri);
        let mut sh = self.shared();
        let not_exec = || status(405, format!("{uri} is not executable"));
        let t = target(&sh, server, &r).ok_or_else(not_exec)?;
        let activate = match t.rest {
            ["Operations", "Activate"] => true,
            ["Operations", "Suspend"] => false,
            _ => return Err(not_exec()),
        };
        sh.check_access(server, &t.key, AclCmd::Exec)?;
        let key = t.key;
        let (owner, id) = (key.owner.clone(), key.id.clone());
        match sh.mo.get(&key).map(|m| m.phase) {
            Some(Phase::Staged) if activate => {
                let nodes = sh.mo.get(&key).map(|m| m.nodes.clone()).unwrap_or_default();
                let built = self.build_for(&key, &nodes, tree)?;
                sh.touch(&key);
                if let Some(m) = sh.mo.get_mut(&key) {
                    m.phase = Phase::Installing;
                    m.was_staged = true;
                }
                sh.queue(Op::Submit {
                    owner,
                    json: built.json,
                    install: Some(Install {
                        confirm: confirm_title(&id, &nodes),
                        inform: inform_title(&id, &nodes),
                        id,
                    }),
                });
                return Ok(ExecResult::ok());
            }
            // Staged or being installed: inactive, or about to be active.
            Some(Phase::Staged | Phase::Installing) => return Ok(ExecResult::ok()),
            _ => {}
        }
        let info = sh
            .snapshot
            .get(&key)
            .ok_or_else(|| status(404, format!("no schedule {id}")))?;
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
        sh.queue(op);
        Ok(ExecResult::ok())
    }

    /// A TNDS object Added at `uri` (`Schedules`, or `<S>` = `target`):
    /// every schedule in it is checked node by node, built and verified,
    /// then queued; any failure installs none of them.
    fn install_tnds(
        &self,
        owner: &str,
        uri: &Uri,
        target: Option<&str>,
        payload: &Payload,
        tree: Option<&dyn TreeRights>,
    ) -> Result<(), TreeError> {
        let found = tnds::parse(&payload.data, uri.as_str()).map_err(|e| match e {
            TndsError::Format(_) => status(415, e.to_string()),
            TndsError::Malformed(_) => status(400, e.to_string()),
        })?;
        let cx = self.check_cx();
        let mut scheds: Vec<(String, Nodes)> = Vec::new();
        if let Some(t) = target {
            scheds.push((t.to_string(), Nodes::new()));
        }
        for n in &found {
            let u =
                Uri::parse(&n.uri).map_err(|e| with_context(e, &format!("TNDS node {}", n.uri)))?;
            let r = rel(&self.cfg.root, &u);
            let inside = u
                .as_str()
                .starts_with(&format!("{}/Schedules", self.cfg.root));
            match (inside, r.as_slice()) {
                (true, ["Schedules"]) if n.payload.is_interior() => {}
                (true, ["Schedules", s]) if target.is_none() => {
                    if !n.payload.is_interior() {
                        return Err(status(
                            415,
                            format!("TNDS node {}: a schedule is an interior node", n.uri),
                        ));
                    }
                    if scheds.iter().any(|(x, _)| x == s) {
                        return Err(status(
                            418,
                            format!("TNDS node {}: schedule {s} appears twice", n.uri),
                        ));
                    }
                    scheds.push((s.to_string(), Nodes::new()));
                }
                (true, ["Schedules", s, rest @ ..]) if !rest.is_empty() => {
                    let Some((_, nodes)) = scheds.iter_mut().find(|(x, _)| x == s) else {
                        return Err(status(
                            400,
                            format!(
                                "TNDS node {} is outside the schedule(s) of the object",
                                n.uri
                            ),
                        ));
                    };
                    edit::add_node(nodes, rest, &n.payload, &cx)
                        .map_err(|e| with_context(e, &format!("TNDS node {}", n.uri)))?;
                }
                _ => {
                    return Err(status(
                        405,
                        format!("TNDS node {} is not a node of {uri}", n.uri),
                    ));
                }
            }
        }
        if scheds.is_empty() {
            return Err(status(400, "the TNDS object holds no schedule"));
        }
        let mut sh = self.shared();
        let mut built = Vec::with_capacity(scheds.len());
        for (id, nodes) in &scheds {
            let key = Key::new(owner, id);
            self.check_new(&sh, &key)?;
            built.push(
                self.build_for(&key, nodes, tree)
                    .map_err(|e| with_context(e, &format!("schedule {id}")))?,
            );
        }
        for ((id, nodes), b) in scheds.into_iter().zip(built) {
            let confirm = confirm_title(&id, &nodes);
            let inform = inform_title(&id, &nodes);
            let key = Key::new(owner, &id);
            sh.reset_acl(&key);
            sh.touch(&key);
            sh.mo.insert(
                key,
                MoSched {
                    owner: owner.to_string(),
                    phase: Phase::Installing,
                    nodes,
                    was_staged: false,
                },
            );
            sh.queue(Op::Submit {
                owner: owner.to_string(),
                json: b.json,
                install: Some(Install {
                    id,
                    confirm,
                    inform,
                }),
            });
        }
        Ok(())
    }

    /// The Atomic ends well: schedules created in it are built, verified
    /// and queued; installed ones changed in it are re-verified and queued
    /// as modifications. A failure undoes the Atomic's MO changes and is
    /// returned (the session answers the Atomic 507).
    pub(crate) fn do_commit(&self, tree: Option<&dyn TreeRights>) -> Result<(), TreeError> {
        let mut sh = self.shared();
        let Some(mut log) = sh.atomic.take() else {
            return Ok(());
        };
        let mut ops = std::mem::take(&mut log.ops);
        let server = log.server.clone();
        let mut installing = Vec::new();
        let keys: Vec<Key> = log.undo.keys().cloned().collect();
        for key in &keys {
            let id = &key.id;
            let before = log.undo.get(key).cloned().flatten();
            let Some(m) = sh.mo.get(key) else { continue };
            let r = match (before, m.phase) {
                // Created in this Atomic (perhaps over a terminated one).
                (b, Phase::Staged) if b.as_ref().is_none_or(|b| b.phase == Phase::Installed) => {
                    self.build_for(key, &m.nodes, tree).map(|b| {
                        installing.push(key.clone());
                        Op::Submit {
                            owner: m.owner.clone(),
                            json: b.json,
                            install: Some(Install {
                                id: id.clone(),
                                confirm: confirm_title(id, &m.nodes),
                                inform: inform_title(id, &m.nodes),
                            }),
                        }
                    })
                }
                (b, Phase::Installed) if b.as_ref().map(|b| &b.nodes) != Some(&m.nodes) => {
                    self.build_for(key, &m.nodes, tree).map(|x| Op::Modify {
                        requester: server.clone().unwrap_or_else(|| m.owner.clone()),
                        owner: m.owner.clone(),
                        json: x.json,
                        nodes_before: Some((id.clone(), b.as_ref().map(|b| b.nodes.clone()))),
                    })
                }
                _ => continue,
            };
            match r {
                Ok(op) => ops.push(op),
                Err(e) => {
                    tracing::info!(target: "dmsched::mo", schedule = %id, "Atomic refused at commit: {e}");
                    let e = with_context(e, &format!("schedule {id}"));
                    undo(&mut sh, log);
                    return Err(e);
                }
            }
        }
        for key in installing {
            if let Some(m) = sh.mo.get_mut(&key) {
                m.phase = Phase::Installing;
                m.was_staged = false;
            }
        }
        let touched: Vec<Key> = log.undo.into_keys().collect();
        sh.dirty.extend(touched);
        sh.acl_dirty.extend(log.acl_undo.into_keys());
        sh.pending.extend(ops);
        Ok(())
    }
}
