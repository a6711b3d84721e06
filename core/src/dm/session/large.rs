//! Large objects from the server (OMA DM Protocol 1.2 §7.2, facts §3): an
//! Add or Replace whose item carries `<MoreData/>` is collected chunk by
//! chunk (213 for each), checked against the Meta `Size` of the first chunk
//! (424 on a mismatch) and our MaxObjSize (413), and run once complete. A
//! chunk that is not followed by its continuation is answered with Alert
//! 1225.

use crate::dm::syncml::{Command, Data, Item, ItemCmd};

/// An object being received.
pub(crate) struct LargeIn {
    /// The first chunk's command, its one item's data growing.
    pub(crate) cmd: ItemCmd,
    pub(crate) add: bool,
    pub(crate) target: String,
    pub(crate) declared: Option<u64>,
    pub(crate) buf: Vec<u8>,
    /// Too large: the remaining chunks are answered 413 and dropped.
    pub(crate) refused: bool,
}

/// What to do with an incoming command, given any object in progress.
pub(crate) enum Chunk {
    /// Not a chunk: run as usual.
    Plain,
    /// A first or middle chunk: answer 213 (or `code`) and wait.
    Stored { code: u16 },
    /// The last chunk: run this reassembled command (or answer `Err(code)`).
    Complete(Result<Box<Command>, u16>),
}

fn item_cmd(cmd: &Command) -> Option<(&ItemCmd, bool)> {
    match cmd {
        Command::Add(c) => Some((c, true)),
        Command::Replace(c) => Some((c, false)),
        _ => None,
    }
}

fn target(item: &Item) -> Option<&str> {
    item.target.as_ref().map(|t| t.loc_uri.as_str())
}

/// Classifies `cmd` and updates `pending`. `max_obj` is our MaxObjSize.
pub(crate) fn offer(pending: &mut Option<LargeIn>, cmd: &Command, max_obj: usize) -> Chunk {
    let Some((c, add)) = item_cmd(cmd) else {
        return Chunk::Plain;
    };
    let [item] = c.items.as_slice() else {
        return Chunk::Plain;
    };
    let bytes = item.data.as_ref().map(Data::as_bytes).unwrap_or_default();
    let continues = pending
        .as_ref()
        .is_some_and(|p| p.add == add && Some(p.target.as_str()) == target(item));
    if continues {
        let p = pending.as_mut().expect("checked above");
        if !p.refused {
            p.buf.extend_from_slice(bytes);
        }
        if p.refused || p.buf.len() > max_obj {
            p.refused = true;
            p.buf = Vec::new();
            if item.more_data {
                return Chunk::Stored { code: 413 };
            }
            *pending = None;
            return Chunk::Complete(Err(413));
        }
        if item.more_data {
            return Chunk::Stored { code: 213 };
        }
        let p = pending.take().expect("checked above");
        if p.declared.is_some_and(|d| d != p.buf.len() as u64) {
            return Chunk::Complete(Err(424));
        }
        let mut whole = p.cmd;
        let text = whole.items[0]
            .data
            .as_ref()
            .is_none_or(|d| !matches!(d, Data::Opaque(_)));
        whole.items[0].data = Some(if text {
            match String::from_utf8(p.buf) {
                Ok(s) => Data::Text(s),
                Err(e) => Data::Opaque(e.into_bytes()),
            }
        } else {
            Data::Opaque(p.buf)
        });
        whole.items[0].more_data = false;
        return Chunk::Complete(Ok(Box::new(if p.add {
            Command::Add(whole)
        } else {
            Command::Replace(whole)
        })));
    }
    if !item.more_data {
        return Chunk::Plain;
    }
    let Some(t) = target(item) else {
        return Chunk::Plain;
    };
    let declared = item
        .meta
        .as_ref()
        .and_then(|m| m.size_value())
        .or_else(|| c.meta.as_ref().and_then(|m| m.size_value()));
    let refused = declared.is_some_and(|d| d > max_obj as u64) || bytes.len() > max_obj;
    *pending = Some(LargeIn {
        cmd: c.clone(),
        add,
        target: t.to_string(),
        declared,
        buf: if refused { Vec::new() } else { bytes.to_vec() },
        refused,
    });
    Chunk::Stored {
        code: if refused { 413 } else { 213 },
    }
}
