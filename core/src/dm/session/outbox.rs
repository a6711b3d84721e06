//! Outgoing commands and the messages they are packed into: CmdIDs per
//! message, the peer's MaxMsgSize honoured, and objects too large for one
//! message sent in chunks (`MoreData`, Meta `Size` on the first; facts §3).

use std::collections::VecDeque;

use crate::dm::syncml::{
    self, CodecError, Command, Data, Encoding, Item, Meta, SyncBody, SyncHdr, SyncMl,
};

/// A command waiting to be sent.
#[derive(Clone, Debug)]
pub(crate) struct Queued {
    pub(crate) cmd: Command,
    /// The rest of a chunked object: no Meta Size again.
    pub(crate) continuation: bool,
    /// Which client alert this is (to know when it was delivered).
    pub(crate) alert: Option<usize>,
}

impl Queued {
    pub(crate) fn new(cmd: Command) -> Queued {
        Queued {
            cmd,
            continuation: false,
            alert: None,
        }
    }
}

/// One built message and what went into it.
pub(crate) struct Built {
    pub(crate) body: Vec<u8>,
    /// (CmdID, alert index) of the client alerts it carries.
    pub(crate) alerts: Vec<(String, usize)>,
}

#[derive(Default)]
pub(crate) struct Outbox {
    pub(crate) queue: VecDeque<Queued>,
}

/// The one item of a command that can be chunked (Results, Replace, Alert).
fn chunkable(cmd: &mut Command) -> Option<&mut Item> {
    let items = match cmd {
        Command::Results(r) => &mut r.items,
        Command::Replace(c) | Command::Add(c) => &mut c.items,
        _ => return None,
    };
    match items.as_mut_slice() {
        [item] if item.data.is_some() => Some(item),
        _ => None,
    }
}

/// Splits `data` after `n` bytes (on a character boundary for text).
fn split_data(data: &Data, n: usize) -> Option<(Data, Data)> {
    match data {
        Data::Text(s) | Data::Xml(s) => {
            let mut k = n.min(s.len());
            while k > 0 && !s.is_char_boundary(k) {
                k -= 1;
            }
            (k > 0 && k < s.len()).then(|| (Data::Text(s[..k].into()), Data::Text(s[k..].into())))
        }
        Data::Opaque(b) => (n > 0 && n < b.len())
            .then(|| (Data::Opaque(b[..n].to_vec()), Data::Opaque(b[n..].to_vec()))),
    }
}

impl Outbox {
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Packs as many queued commands as fit in `max_size` bytes into one
    /// message after `hdr`; `Final` when the queue is then empty.
    pub(crate) fn build(
        &mut self,
        hdr: SyncHdr,
        encoding: Encoding,
        max_size: usize,
    ) -> Result<Built, CodecError> {
        let mut msg = SyncMl {
            hdr,
            body: SyncBody {
                commands: Vec::new(),
                final_: true,
            },
        };
        let base = syncml::encode(&msg, encoding)?.len();
        let mut used = base;
        let mut alerts = Vec::new();
        let mut next_id = 1u32;
        // Room for CmdID digits and the difference Final makes.
        const SLACK: usize = 32;
        while let Some(mut q) = self.queue.pop_front() {
            q.cmd.set_cmd_id(next_id.to_string());
            let size = command_size(&msg.hdr, &q.cmd, encoding, base)?;
            if used + size + SLACK <= max_size || msg.body.commands.is_empty() && !can_chunk(&q) {
                used += size;
            } else if let Some((first, rest)) = self.chunk(
                &msg.hdr,
                &q,
                encoding,
                base,
                max_size.saturating_sub(used + SLACK),
            )? {
                used += command_size(&msg.hdr, &first.cmd, encoding, base)?;
                if let Some(i) = q.alert {
                    alerts.push((next_id.to_string(), i));
                }
                msg.body.commands.push(first.cmd);
                self.queue.push_front(rest);
                break;
            } else if msg.body.commands.is_empty() {
                // Cannot be made smaller: send it alone and let the peer decide.
                used += size;
            } else {
                self.queue.push_front(q);
                break;
            }
            if let Some(i) = q.alert {
                alerts.push((next_id.to_string(), i));
            }
            msg.body.commands.push(q.cmd);
            next_id += 1;
        }
        msg.body.final_ = self.queue.is_empty();
        let body = syncml::encode(&msg, encoding)?;
        tracing::trace!(target: "dmsched::dm", estimated = used, actual = body.len(), "message built");
        Ok(Built { body, alerts })
    }

    /// Splits a chunkable command so that the first piece fits `room`.
    fn chunk(
        &self,
        hdr: &SyncHdr,
        q: &Queued,
        encoding: Encoding,
        base: usize,
        room: usize,
    ) -> Result<Option<(Queued, Queued)>, CodecError> {
        let mut probe = q.cmd.clone();
        let Some(item) = chunkable(&mut probe) else {
            return Ok(None);
        };
        let total = item.data.as_ref().map(|d| d.as_bytes().len()).unwrap_or(0);
        // Find the longest prefix whose command fits, by bisection.
        let (mut lo, mut hi) = (0usize, total);
        let mut best = None;
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let (first, rest) = match self.pieces(q, mid, total) {
                Some(p) => p,
                None => {
                    hi = mid - 1;
                    continue;
                }
            };
            if command_size(hdr, &first.cmd, encoding, base)? <= room {
                lo = mid;
                best = Some((first, rest));
            } else {
                hi = mid - 1;
            }
        }
        Ok(best)
    }

    fn pieces(&self, q: &Queued, n: usize, total: usize) -> Option<(Queued, Queued)> {
        let mut first = q.clone();
        let mut rest = q.clone();
        let fi = chunkable(&mut first.cmd)?;
        let (a, b) = split_data(fi.data.as_ref()?, n)?;
        fi.data = Some(a);
        fi.more_data = true;
        if !q.continuation {
            // Meta Size (the whole object) goes with the first chunk only.
            let m = fi.meta.get_or_insert_with(Meta::default);
            m.size = Some(total.to_string());
        }
        let ri = chunkable(&mut rest.cmd)?;
        ri.data = Some(b);
        if let Some(m) = ri.meta.as_mut() {
            m.size = None;
        }
        rest.continuation = true;
        Some((first, rest))
    }
}

fn can_chunk(q: &Queued) -> bool {
    let mut c = q.cmd.clone();
    chunkable(&mut c).is_some()
}

/// Bytes a command adds to a message.
fn command_size(
    hdr: &SyncHdr,
    cmd: &Command,
    encoding: Encoding,
    base: usize,
) -> Result<usize, CodecError> {
    let one = SyncMl {
        hdr: hdr.clone(),
        body: SyncBody {
            commands: vec![cmd.clone()],
            final_: true,
        },
    };
    Ok(syncml::encode(&one, encoding)?.len().saturating_sub(base))
}
