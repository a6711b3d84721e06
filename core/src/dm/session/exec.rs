//! Running a server's commands on the tree and writing the replies:
//! a Status for every command (unless NoResp), Results after the Status of
//! each Get, Atomic rollback (507, 216, 215), Sequence order (215 after a
//! user's refusal), user-interaction alerts, 406 for what DM does not do.

use super::target::{DmStatus, ManagementTree, NodeData, Value};
use super::ui::{self, UserInteraction};
use crate::dm::syncml::{Command, Data, Item, ItemCmd, Locus, Meta, Results, Status};

/// Replies being collected for one incoming message.
pub(crate) struct Replies {
    pub(crate) msg_ref: String,
    pub(crate) out: Vec<Command>,
}

impl Replies {
    pub(crate) fn status(
        &mut self,
        cmd: &str,
        cmd_ref: &str,
        code: u16,
        target: Option<&str>,
        source: Option<&str>,
    ) {
        self.out.push(Command::Status(Status {
            cmd_id: String::new(),
            msg_ref: Some(self.msg_ref.clone()),
            cmd_ref: Some(cmd_ref.to_string()),
            cmd: cmd.to_string(),
            target_refs: target.map(str::to_string).into_iter().collect(),
            source_refs: source.map(str::to_string).into_iter().collect(),
            data: code.to_string(),
            ..Status::default()
        }));
    }
}

/// Context of one execution.
pub(crate) struct Executor<'a> {
    pub(crate) tree: &'a dyn ManagementTree,
    pub(crate) server: &'a str,
    pub(crate) ui: Option<&'a dyn UserInteraction>,
    /// Largest object we accept (413 above).
    pub(crate) max_obj_size: usize,
}

/// How a command ended, for Atomic and Sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ended {
    /// 2xx.
    Ok,
    /// Failed, with this code.
    Failed(u16),
    /// The user said no, cancelled or did not answer: stop the group.
    Refused(u16),
}

fn target_of(i: &Item) -> Option<&str> {
    i.target.as_ref().map(|l| l.loc_uri.as_str())
}

fn source_of(i: &Item) -> Option<&str> {
    i.source.as_ref().map(|l| l.loc_uri.as_str())
}

fn ok(code: u16) -> Ended {
    if (200..300).contains(&code) {
        Ended::Ok
    } else {
        Ended::Failed(code)
    }
}

impl Executor<'_> {
    /// Runs one command; its replies go to `r`.
    pub(crate) fn run(&self, cmd: &Command, r: &mut Replies, in_atomic: bool) -> Ended {
        match cmd {
            Command::Add(c) => self.items(c, "Add", r, |uri, item, meta| {
                self.tree.add(self.server, uri, value(item, meta))
            }),
            Command::Replace(c) => self.items(c, "Replace", r, |uri, item, meta| {
                self.tree.replace(self.server, uri, value(item, meta))
            }),
            Command::Delete(c) => self.items(c, "Delete", r, |uri, _, _| {
                self.tree.delete(self.server, uri)
            }),
            Command::Copy(c) => self.items(c, "Copy", r, |uri, item, _| match source_of(item) {
                Some(src) => self.tree.copy(self.server, src, uri),
                None => Err(DmStatus::new(400, "Copy without a Source")),
            }),
            Command::Get(c) => self.get(c, r),
            Command::Exec(e) => {
                let mut end = Ended::Ok;
                if e.items.len() != 1 {
                    r.status("Exec", &e.cmd_id, 400, None, None);
                    return Ended::Failed(400);
                }
                let item = &e.items[0];
                let Some(uri) = target_of(item) else {
                    r.status("Exec", &e.cmd_id, 400, None, None);
                    return Ended::Failed(400);
                };
                let data = item.data.as_ref().map(Data::as_bytes);
                let (code, result) = match self.tree.exec(
                    self.server,
                    uri,
                    data,
                    e.correlator.as_deref(),
                ) {
                    Ok(v) => v,
                    Err(s) => {
                        tracing::debug!(target: "dmsched::dm", %uri, status = %s, "Exec failed");
                        (s.code, None)
                    }
                };
                if !e.no_resp {
                    r.status("Exec", &e.cmd_id, code, Some(uri), None);
                }
                if let Some(bytes) = result {
                    r.out.push(Command::Results(Results {
                        cmd_ref: Some(e.cmd_id.clone()),
                        msg_ref: Some(r.msg_ref.clone()),
                        items: vec![Item {
                            source: Some(Locus::uri(uri)),
                            data: Some(bytes_data(bytes)),
                            ..Item::default()
                        }],
                        ..Results::default()
                    }));
                }
                if !(200..300).contains(&code) {
                    end = Ended::Failed(code);
                }
                end
            }
            Command::Alert(a) => {
                let code: u16 = a
                    .data
                    .as_deref()
                    .and_then(|d| d.trim().parse().ok())
                    .unwrap_or(0);
                if !(1100..=1104).contains(&code) {
                    // Session alerts (1222, 1223) are handled by the session;
                    // anything else from a server is not something we do.
                    r.status("Alert", &a.cmd_id, 406, None, None);
                    return Ended::Failed(406);
                }
                let (status, items) = match (ui::parse(self.server, code, &a.items), self.ui) {
                    (Err(e), _) => {
                        tracing::debug!(target: "dmsched::dm", "bad UI alert: {e}");
                        (400, vec![])
                    }
                    (Ok(_), None) => (406, vec![]),
                    (Ok(req), Some(host)) => {
                        let resp = host.interact(&req);
                        ui::answer(&req, &resp)
                    }
                };
                if !a.no_resp {
                    r.status("Alert", &a.cmd_id, status, None, None);
                    if let Some(Command::Status(s)) = r.out.last_mut() {
                        s.items = items;
                    }
                }
                match status {
                    200 => Ended::Ok,
                    // 304 no, 214 cancel, 408 timeout: the user did not agree.
                    304 | 214 | 408 => Ended::Refused(status),
                    c => Ended::Failed(c),
                }
            }
            Command::Atomic(c) if in_atomic => {
                self.not_executed(&c.commands, r, 215);
                r.status("Atomic", &c.cmd_id, 500, None, None);
                Ended::Failed(500)
            }
            Command::Atomic(c) => self.atomic(c, r),
            Command::Sequence(c) => {
                let at = r.out.len();
                let mut stopped = false;
                for (i, inner) in c.commands.iter().enumerate() {
                    if let Ended::Refused(_) = self.run(inner, r, in_atomic) {
                        self.not_executed(&c.commands[i + 1..], r, 215);
                        stopped = true;
                        break;
                    }
                }
                if !c.no_resp {
                    // The Sequence's own Status comes before its commands'.
                    r.status("Sequence", &c.cmd_id, 200, None, None);
                    let st = r.out.pop().expect("just pushed");
                    r.out.insert(at, st);
                }
                if stopped {
                    Ended::Refused(304)
                } else {
                    Ended::Ok
                }
            }
            Command::Status(_) | Command::Results(_) => Ended::Ok,
            Command::Unknown(u) => {
                r.status(&u.name, &u.cmd_id, 406, None, None);
                Ended::Failed(406)
            }
        }
    }

    /// Answers `cmds` (recursively) with `code` without running them.
    pub(crate) fn not_executed(&self, cmds: &[Command], r: &mut Replies, code: u16) {
        for c in cmds {
            match c {
                Command::Atomic(x) | Command::Sequence(x) => {
                    r.status(c.name(), &x.cmd_id, code, None, None);
                    self.not_executed(&x.commands, r, code);
                }
                Command::Status(_) | Command::Results(_) => {}
                Command::Add(x)
                | Command::Replace(x)
                | Command::Delete(x)
                | Command::Copy(x)
                | Command::Get(x) => {
                    if !x.no_resp {
                        r.status(
                            c.name(),
                            &x.cmd_id,
                            code,
                            x.items.first().and_then(target_of),
                            None,
                        );
                    }
                }
                other => r.status(other.name(), other.cmd_id(), code, None, None),
            }
        }
    }

    fn atomic(&self, c: &crate::dm::syncml::Container, r: &mut Replies) -> Ended {
        // Get inside Atomic is not allowed (facts §3): refuse the whole block.
        if c.commands
            .iter()
            .any(|x| matches!(x, Command::Get(_) | Command::Atomic(_)))
        {
            r.status("Atomic", &c.cmd_id, 500, None, None);
            self.not_executed(&c.commands, r, 215);
            return Ended::Failed(500);
        }
        if let Err(e) = self.tree.begin() {
            tracing::warn!(target: "dmsched::dm", "Atomic begin: {e}");
            r.status("Atomic", &c.cmd_id, 500, None, None);
            self.not_executed(&c.commands, r, 215);
            return Ended::Failed(500);
        }
        let mut inner = Replies {
            msg_ref: r.msg_ref.clone(),
            out: Vec::new(),
        };
        let mut failed_at = None;
        for (i, cmd) in c.commands.iter().enumerate() {
            let start = inner.out.len();
            match self.run(cmd, &mut inner, true) {
                Ended::Ok => {}
                Ended::Failed(_) | Ended::Refused(_) => {
                    failed_at = Some((i, start));
                    break;
                }
            }
        }
        let code = match failed_at {
            None => match self.tree.commit() {
                Ok(()) => 200,
                Err(e) => {
                    // A commit refused (a plug-in's whole-object check, say)
                    // undoes the block like a failed command: 507, 216.
                    tracing::warn!(target: "dmsched::dm", "Atomic commit: {e}");
                    let _ = self.tree.rollback();
                    let n = inner.out.len();
                    mark_rolled_back(&mut inner.out, n);
                    507
                }
            },
            Some((i, start)) => {
                let rolled = self.tree.rollback();
                // The commands that had succeeded are now undone: 216.
                mark_rolled_back(&mut inner.out, start);
                self.not_executed(&c.commands[i + 1..], &mut inner, 215);
                match rolled {
                    Ok(()) => 507,
                    Err(e) => {
                        tracing::error!(target: "dmsched::dm", "Atomic rollback failed: {e}");
                        516
                    }
                }
            }
        };
        // Results of rolled-back Gets cannot exist (no Get in Atomic).
        if !c.no_resp {
            r.status("Atomic", &c.cmd_id, code, None, None);
        }
        r.out.extend(inner.out);
        ok(code)
    }

    fn items(
        &self,
        c: &ItemCmd,
        name: &str,
        r: &mut Replies,
        f: impl Fn(&str, &Item, Option<&Meta>) -> Result<u16, DmStatus>,
    ) -> Ended {
        if c.items.is_empty() {
            r.status(name, &c.cmd_id, 400, None, None);
            return Ended::Failed(400);
        }
        let mut end = Ended::Ok;
        for item in &c.items {
            let target = target_of(item);
            let code = match target {
                None => 400,
                Some(_)
                    if item
                        .data
                        .as_ref()
                        .is_some_and(|d| d.as_bytes().len() > self.max_obj_size) =>
                {
                    413
                }
                Some(uri) => match f(
                    uri,
                    item,
                    Some(&merged_meta(item.meta.as_ref(), c.meta.as_ref())),
                ) {
                    Ok(code) => code,
                    Err(s) => {
                        tracing::debug!(target: "dmsched::dm", %uri, status = %s, "{name} failed");
                        s.code
                    }
                },
            };
            if !c.no_resp {
                r.status(name, &c.cmd_id, code, target, None);
            }
            if let Ended::Failed(_) = ok(code) {
                end = ok(code);
            }
        }
        end
    }

    fn get(&self, c: &ItemCmd, r: &mut Replies) -> Ended {
        if c.items.is_empty() {
            r.status("Get", &c.cmd_id, 400, None, None);
            return Ended::Failed(400);
        }
        let mut end = Ended::Ok;
        for item in &c.items {
            let Some(uri) = target_of(item) else {
                r.status("Get", &c.cmd_id, 400, None, None);
                end = Ended::Failed(400);
                continue;
            };
            match self.tree.get(self.server, uri) {
                Ok(nodes) => {
                    r.status("Get", &c.cmd_id, 200, Some(uri), None);
                    r.out.push(Command::Results(Results {
                        msg_ref: Some(r.msg_ref.clone()),
                        cmd_ref: Some(c.cmd_id.clone()),
                        items: nodes.into_iter().map(result_item).collect(),
                        ..Results::default()
                    }));
                }
                Err(s) => {
                    tracing::debug!(target: "dmsched::dm", %uri, status = %s, "Get failed");
                    r.status("Get", &c.cmd_id, s.code, Some(uri), None);
                    end = Ended::Failed(s.code);
                }
            }
        }
        end
    }
}

fn mark_rolled_back(out: &mut [Command], upto: usize) {
    for c in &mut out[..upto] {
        if let Command::Status(s) = c
            && (200..300).contains(&s.code())
        {
            s.data = "216".into();
        }
    }
}

/// An item's Meta over its command's: each field the item sets wins.
fn merged_meta(item: Option<&Meta>, cmd: Option<&Meta>) -> Meta {
    let (i, c) = (
        item.cloned().unwrap_or_default(),
        cmd.cloned().unwrap_or_default(),
    );
    Meta {
        format: i.format.or(c.format),
        type_: i.type_.or(c.type_),
        mark: i.mark.or(c.mark),
        size: i.size.or(c.size),
        next_nonce: i.next_nonce.or(c.next_nonce),
        version: i.version.or(c.version),
        max_msg_size: i.max_msg_size.or(c.max_msg_size),
        max_obj_size: i.max_obj_size.or(c.max_obj_size),
        emi: if i.emi.is_empty() { c.emi } else { i.emi },
    }
}

fn value<'a>(item: &'a Item, meta: Option<&'a Meta>) -> Value<'a> {
    Value {
        format: meta.and_then(|m| m.format.as_deref()),
        mime: meta.and_then(|m| m.type_.as_deref()),
        data: item.data.as_ref().map(Data::as_bytes),
    }
}

fn bytes_data(bytes: Vec<u8>) -> Data {
    match String::from_utf8(bytes) {
        Ok(s) => Data::Text(s),
        Err(e) => Data::Opaque(e.into_bytes()),
    }
}

fn result_item(n: NodeData) -> Item {
    let meta = Meta {
        format: n.format,
        type_: n.mime,
        ..Meta::default()
    };
    Item {
        source: Some(Locus::uri(n.uri)),
        meta: (!meta.is_empty()).then_some(meta),
        data: Some(bytes_data(n.data)),
        ..Item::default()
    }
}
