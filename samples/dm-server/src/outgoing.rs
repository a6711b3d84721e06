//! The server's messages: a builder that numbers CmdIDs and measures the
//! encoded size, and the packing of a step's commands into messages within
//! the device's MaxMsgSize, with large objects cut into chunks.
//!
//! Packing rules: Statuses first, then as many of the step's commands as
//! fit; a command that does not fit waits for the next message (the
//! current one goes without Final, and the device must ask for more: its
//! Statuses and Alert 1222). An Add/Replace item too big for any message
//! becomes a large object; a chunk with `<MoreData/>` is always the last
//! command of its message. An object beyond the device's MaxObjSize is not
//! sent at all (recorded as a complaint).

use dmsched::dm::syncml::{self, Alert, Command, Encoding, Status, SyncBody, SyncHdr, SyncMl};

use crate::large_object::OutChunk;
use crate::session::{Cx, Sent, Session};

/// Smallest chunk worth a message.
const MIN_CHUNK: usize = 64;

/// A server message being built.
#[derive(Debug)]
pub(crate) struct OutMsg {
    pub(crate) msg: SyncMl,
    next_id: u32,
    script_cmds: usize,
}

/// A point to roll an [`OutMsg`] back to.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Checkpoint {
    len: usize,
    next_id: u32,
    script_cmds: usize,
}

impl OutMsg {
    pub(crate) fn new() -> OutMsg {
        OutMsg {
            msg: SyncMl {
                hdr: SyncHdr::default(),
                body: SyncBody::default(),
            },
            next_id: 1,
            script_cmds: 0,
        }
    }

    fn next_id(&mut self) -> String {
        let id = self.next_id;
        self.next_id += 1;
        id.to_string()
    }

    /// Appends a Status, giving it the next CmdID.
    pub(crate) fn push_status(&mut self, mut status: Status) {
        status.cmd_id = self.next_id();
        self.msg.body.commands.push(Command::Status(status));
    }

    /// Appends an Alert with a code and no items.
    pub(crate) fn alert(&mut self, code: u16) {
        let a = Alert {
            cmd_id: self.next_id(),
            data: Some(code.to_string()),
            ..Alert::default()
        };
        self.msg.body.commands.push(Command::Alert(a));
    }

    /// Appends a script command, numbering it and everything inside it;
    /// returns its CmdID.
    pub(crate) fn push_script(&mut self, mut cmd: Command) -> String {
        self.number(&mut cmd);
        let id = cmd.cmd_id().to_string();
        self.msg.body.commands.push(cmd);
        self.script_cmds += 1;
        id
    }

    fn number(&mut self, cmd: &mut Command) {
        let id = self.next_id();
        match cmd {
            Command::Add(c)
            | Command::Copy(c)
            | Command::Delete(c)
            | Command::Get(c)
            | Command::Replace(c) => c.cmd_id = id,
            Command::Alert(a) => a.cmd_id = id,
            Command::Exec(e) => e.cmd_id = id,
            Command::Status(s) => s.cmd_id = id,
            Command::Results(r) => r.cmd_id = id,
            Command::Unknown(u) => u.cmd_id = id,
            Command::Atomic(c) | Command::Sequence(c) => {
                c.cmd_id = id;
                for inner in &mut c.commands {
                    self.number(inner);
                }
            }
        }
    }

    /// How many script commands the message holds.
    pub(crate) fn script_cmds(&self) -> usize {
        self.script_cmds
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            len: self.msg.body.commands.len(),
            next_id: self.next_id,
            script_cmds: self.script_cmds,
        }
    }

    pub(crate) fn rollback(&mut self, cp: Checkpoint) {
        self.msg.body.commands.truncate(cp.len);
        self.next_id = cp.next_id;
        self.script_cmds = cp.script_cmds;
    }

    /// The encoded length as it would be sent with Final (the larger case).
    pub(crate) fn encoded_len(&mut self, encoding: Encoding) -> usize {
        let saved = self.msg.body.final_;
        self.msg.body.final_ = true;
        let len = syncml::encode(&self.msg, encoding).map_or(usize::MAX, |b| b.len());
        self.msg.body.final_ = saved;
        len
    }

    /// The commands after a checkpoint (for the record of what was sent).
    pub(crate) fn since(&self, cp: Checkpoint) -> &[Command] {
        self.msg.body.commands.get(cp.len..).unwrap_or_default()
    }
}

/// A Status answering command `cmd_ref` (`cmd`) of message `msg_ref`.
pub(crate) fn status(msg_ref: &str, cmd_ref: &str, cmd: &str, code: u16) -> Status {
    Status {
        msg_ref: Some(msg_ref.to_string()),
        cmd_ref: Some(cmd_ref.to_string()),
        cmd: cmd.to_string(),
        data: code.to_string(),
        ..Status::default()
    }
}

/// `(name, target)` of a command and, for containers, of everything in it,
/// with CmdIDs.
fn describe(cmd: &Command, out: &mut Vec<(String, Sent)>) {
    let target = match cmd {
        Command::Add(c)
        | Command::Copy(c)
        | Command::Delete(c)
        | Command::Get(c)
        | Command::Replace(c) => c.items.first().and_then(|i| i.target.as_ref()),
        Command::Exec(e) => e.items.first().and_then(|i| i.target.as_ref()),
        _ => None,
    };
    out.push((
        cmd.cmd_id().to_string(),
        Sent {
            cmd: cmd.name().to_string(),
            target: target.map(|t| t.loc_uri.clone()),
        },
    ));
    if let Command::Atomic(c) | Command::Sequence(c) = cmd {
        for inner in &c.commands {
            describe(inner, out);
        }
    }
}

/// The length of an Add/Replace item's data, if it has text data.
fn object_len(cmd: &Command) -> Option<usize> {
    match cmd {
        Command::Add(c) | Command::Replace(c) => c
            .items
            .iter()
            .filter_map(|i| i.data.as_ref())
            .map(|d| d.as_bytes().len())
            .max(),
        _ => None,
    }
}

impl Session {
    /// The size limit for the server's messages in this session.
    pub(crate) fn out_limit(&self, cx: &Cx<'_>) -> usize {
        self.client_max_msg.unwrap_or(cx.limits.max_msg_size)
    }

    fn note_sent(&mut self, out: &OutMsg, cp: Checkpoint) {
        let msg_id = out.msg.hdr.msg_id.clone();
        let mut described = Vec::new();
        for c in out.since(cp) {
            describe(c, &mut described);
        }
        for (cmd_id, sent) in described {
            self.sent.insert((msg_id.clone(), cmd_id), sent);
        }
    }

    /// Moves commands from the outbox (and the chunk in flight) into `out`
    /// while they fit. True when nothing of the package is left.
    pub(crate) fn fill(&mut self, cx: &mut Cx<'_>, out: &mut OutMsg) -> bool {
        let limit = self.out_limit(cx);
        loop {
            if let Some(mut chunk) = self.chunk_out.take() {
                match self.place_chunk(cx, out, &chunk, limit) {
                    Some((n, more, cmd_id)) => {
                        chunk.advance(n);
                        if more {
                            self.chunk_sent = Some((out.msg.hdr.msg_id.clone(), cmd_id));
                            self.chunk_out = Some(chunk);
                            return false;
                        }
                        cx.verdict(format!(
                            "sent last chunk of {} bytes to {}",
                            chunk.total(),
                            chunk.target().unwrap_or_default()
                        ));
                        continue;
                    }
                    None => {
                        self.chunk_out = Some(chunk);
                        return false;
                    }
                }
            }
            let Some(cmd) = self.outbox.pop_front() else {
                return true;
            };
            if let (Some(len), Some(max)) = (object_len(&cmd), self.client_max_obj)
                && len > max
            {
                self.complain(
                    cx,
                    format!(
                        "{} of {len} bytes not sent: the device's MaxObjSize is {max}",
                        cmd.name()
                    ),
                );
                continue;
            }
            let cp = out.checkpoint();
            out.push_script(cmd.clone());
            if out.encoded_len(cx.encoding) <= limit {
                self.note_sent(out, cp);
                continue;
            }
            out.rollback(cp);
            if let Some(chunk) = OutChunk::from_command(&cmd) {
                cx.verdict(format!(
                    "sending {} of {} bytes to {} as a large object",
                    chunk.cmd_name(),
                    chunk.total(),
                    chunk.target().unwrap_or_default()
                ));
                self.chunk_out = Some(chunk);
                continue;
            }
            if out.script_cmds() > 0 {
                self.outbox.push_front(cmd);
                return false;
            }
            self.complain(
                cx,
                format!(
                    "{} does not fit MaxMsgSize {limit} and cannot be chunked: sent anyway",
                    cmd.name()
                ),
            );
            out.push_script(cmd);
            self.note_sent(out, cp);
        }
    }

    /// Puts the next chunk into `out`: `(bytes carried, more follow, CmdID)`,
    /// or `None` when it must wait for the next message.
    fn place_chunk(
        &mut self,
        cx: &mut Cx<'_>,
        out: &mut OutMsg,
        chunk: &OutChunk,
        limit: usize,
    ) -> Option<(usize, bool, String)> {
        let cp = out.checkpoint();
        let (probe, _, _) = chunk.chunk(0);
        out.push_script(probe);
        let base = out.encoded_len(cx.encoding);
        out.rollback(cp);
        let room = limit.saturating_sub(base);
        if room < MIN_CHUNK.min(chunk.remaining()) {
            if out.script_cmds() > 0 {
                return None;
            }
            self.complain(
                cx,
                format!("MaxMsgSize {limit} leaves no room for a chunk: sending {MIN_CHUNK} bytes"),
            );
        }
        let mut n = room.max(MIN_CHUNK).min(chunk.remaining());
        for _ in 0..8 {
            let (cmd, got, more) = chunk.chunk(n);
            let cmd_id = out.push_script(cmd);
            let len = out.encoded_len(cx.encoding);
            if len <= limit || got <= MIN_CHUNK {
                self.note_sent(out, cp);
                return Some((got, more, cmd_id));
            }
            out.rollback(cp);
            n = got.saturating_sub(len - limit + 8).max(MIN_CHUNK);
        }
        let (cmd, got, more) = chunk.chunk(MIN_CHUNK);
        let cmd_id = out.push_script(cmd);
        self.note_sent(out, cp);
        Some((got, more, cmd_id))
    }
}
