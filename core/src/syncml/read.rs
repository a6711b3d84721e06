//! The decoder: a [`SyncMl`] from any [`Source`].
//!
//! Lenient where real traffic is (facts §8, corpus SOURCES.md): children in
//! any order (`MsgRef`/`CmdRef` before `CmdID`, `Data` before `TargetRef`),
//! MetInf elements with no or the wrong namespace, `SyncHdr`+`SyncBody`
//! without a `SyncML` root, stray text between elements, unknown elements
//! skipped. Strict where meaning is at stake: a header without `VerDTD`,
//! `VerProto`, `SessionID`, `MsgID`, `Target` or `Source`, a command without
//! `CmdID`, or a Status without `Cmd` or `Data` is invalid (400).

use super::error::CodecError;
use super::model::*;
use super::stream::Source;
use super::tag::Tag;

/// Reads a whole message.
pub(crate) fn message(src: &mut dyn Source) -> Result<SyncMl, CodecError> {
    let mut msg = SyncMl::default();
    let (mut hdr, mut body) = (false, false);
    let root = src
        .next_child()?
        .ok_or_else(|| CodecError::Invalid("empty document".into()))?;
    match root {
        Tag::SyncML => {
            while let Some(tag) = src.next_child()? {
                part(src, tag, &mut msg, &mut hdr, &mut body)?;
            }
        }
        // A bare SyncHdr followed by a SyncBody (Microsoft documentation).
        Tag::SyncHdr | Tag::SyncBody => {
            part(src, root, &mut msg, &mut hdr, &mut body)?;
            while let Some(tag) = src.next_child()? {
                part(src, tag, &mut msg, &mut hdr, &mut body)?;
            }
        }
        _ => {
            return Err(CodecError::Invalid(format!(
                "root element is <{}>, not <SyncML>",
                src.current_name()
            )));
        }
    }
    if !hdr {
        return Err(CodecError::Invalid("no SyncHdr".into()));
    }
    if !body {
        return Err(CodecError::Invalid("no SyncBody".into()));
    }
    Ok(msg)
}

fn part(
    src: &mut dyn Source,
    tag: Tag,
    msg: &mut SyncMl,
    hdr: &mut bool,
    body: &mut bool,
) -> Result<(), CodecError> {
    match tag {
        Tag::SyncHdr if !*hdr => {
            msg.hdr = sync_hdr(src)?;
            *hdr = true;
        }
        Tag::SyncBody if *hdr && !*body => {
            msg.body = sync_body(src)?;
            *body = true;
        }
        Tag::SyncHdr | Tag::SyncBody => {
            return Err(CodecError::Invalid(format!(
                "unexpected <{}> (one SyncHdr, then one SyncBody)",
                tag.name()
            )));
        }
        _ => src.skip()?,
    }
    Ok(())
}

fn required(value: Option<String>, what: &str, parent: &str) -> Result<String, CodecError> {
    value.ok_or_else(|| CodecError::Invalid(format!("<{parent}> without <{what}>")))
}

fn sync_hdr(src: &mut dyn Source) -> Result<SyncHdr, CodecError> {
    let mut h = SyncHdr::default();
    let (mut dtd, mut proto, mut sid, mut mid) = (None, None, None, None);
    let (mut target, mut source) = (None, None);
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::VerDTD => dtd = Some(text(src)?),
            Tag::VerProto => proto = Some(text(src)?),
            Tag::SessionID => sid = Some(text(src)?),
            Tag::MsgID => mid = Some(text(src)?),
            Tag::Target => target = Some(locus(src)?),
            Tag::Source => source = Some(locus(src)?),
            Tag::RespURI => h.resp_uri = Some(text(src)?),
            Tag::NoResp => {
                src.skip()?;
                h.no_resp = true;
            }
            Tag::Cred => h.cred = Some(cred(src)?),
            Tag::Meta => h.meta = Some(meta(src)?),
            _ => src.skip()?,
        }
    }
    h.ver_dtd = required(dtd, "VerDTD", "SyncHdr")?;
    h.ver_proto = required(proto, "VerProto", "SyncHdr")?;
    h.session_id = required(sid, "SessionID", "SyncHdr")?;
    h.msg_id = required(mid, "MsgID", "SyncHdr")?;
    h.target = target.ok_or_else(|| CodecError::Invalid("<SyncHdr> without <Target>".into()))?;
    h.source = source.ok_or_else(|| CodecError::Invalid("<SyncHdr> without <Source>".into()))?;
    Ok(h)
}

fn locus(src: &mut dyn Source) -> Result<Locus, CodecError> {
    let mut uri = None;
    let mut name = None;
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::LocURI => uri = Some(text(src)?),
            Tag::LocName => name = Some(text(src)?),
            _ => src.skip()?,
        }
    }
    Ok(Locus {
        loc_uri: required(uri, "LocURI", "Target/Source")?,
        loc_name: name,
    })
}

fn cred(src: &mut dyn Source) -> Result<Cred, CodecError> {
    let mut c = Cred::default();
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::Meta => c.meta = Some(meta(src)?),
            Tag::Data => c.data = text(src)?,
            _ => src.skip()?,
        }
    }
    Ok(c)
}

/// `Meta`, also accepting a `MetInf` wrapper around its children.
fn meta(src: &mut dyn Source) -> Result<Meta, CodecError> {
    let mut m = Meta::default();
    meta_into(src, &mut m)?;
    Ok(m)
}

fn meta_into(src: &mut dyn Source, m: &mut Meta) -> Result<(), CodecError> {
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::Format => m.format = Some(text(src)?),
            Tag::Type => m.type_ = Some(text(src)?),
            Tag::Mark => m.mark = Some(text(src)?),
            Tag::Size => m.size = Some(text(src)?),
            Tag::NextNonce => m.next_nonce = Some(text(src)?),
            Tag::Version => m.version = Some(text(src)?),
            Tag::MaxMsgSize => m.max_msg_size = Some(text(src)?),
            Tag::MaxObjSize => m.max_obj_size = Some(text(src)?),
            Tag::EMI => m.emi.push(text(src)?),
            Tag::MetInf => meta_into(src, m)?,
            _ => src.skip()?,
        }
    }
    Ok(())
}

fn sync_body(src: &mut dyn Source) -> Result<SyncBody, CodecError> {
    let mut b = SyncBody::default();
    while let Some(tag) = src.next_child()? {
        if tag == Tag::Final {
            src.skip()?;
            b.final_ = true;
        } else {
            b.commands.push(command(src, tag)?);
        }
    }
    Ok(b)
}

fn command(src: &mut dyn Source, tag: Tag) -> Result<Command, CodecError> {
    Ok(match tag {
        Tag::Add => Command::Add(item_cmd(src, "Add")?),
        Tag::Copy => Command::Copy(item_cmd(src, "Copy")?),
        Tag::Delete => Command::Delete(item_cmd(src, "Delete")?),
        Tag::Get => Command::Get(item_cmd(src, "Get")?),
        Tag::Replace => Command::Replace(item_cmd(src, "Replace")?),
        Tag::Alert => Command::Alert(alert(src)?),
        Tag::Exec => Command::Exec(exec(src)?),
        Tag::Atomic => Command::Atomic(container(src, "Atomic")?),
        Tag::Sequence => Command::Sequence(container(src, "Sequence")?),
        Tag::Status => Command::Status(status(src)?),
        Tag::Results => Command::Results(results(src)?),
        _ => Command::Unknown(unknown(src)?),
    })
}

fn item_cmd(src: &mut dyn Source, name: &str) -> Result<ItemCmd, CodecError> {
    let mut c = ItemCmd::default();
    let mut id = None;
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => id = Some(text(src)?),
            Tag::NoResp => {
                src.skip()?;
                c.no_resp = true;
            }
            Tag::Lang => c.lang = Some(text(src)?),
            Tag::Cred => c.cred = Some(cred(src)?),
            Tag::Meta => c.meta = Some(meta(src)?),
            Tag::Item => c.items.push(item(src)?),
            _ => src.skip()?,
        }
    }
    c.cmd_id = required(id, "CmdID", name)?;
    Ok(c)
}

fn alert(src: &mut dyn Source) -> Result<Alert, CodecError> {
    let mut a = Alert::default();
    let mut id = None;
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => id = Some(text(src)?),
            Tag::NoResp => {
                src.skip()?;
                a.no_resp = true;
            }
            Tag::Cred => a.cred = Some(cred(src)?),
            Tag::Data => a.data = Some(text(src)?),
            Tag::Correlator => a.correlator = Some(text(src)?),
            Tag::Item => a.items.push(item(src)?),
            _ => src.skip()?,
        }
    }
    a.cmd_id = required(id, "CmdID", "Alert")?;
    Ok(a)
}

fn exec(src: &mut dyn Source) -> Result<Exec, CodecError> {
    let mut e = Exec::default();
    let mut id = None;
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => id = Some(text(src)?),
            Tag::NoResp => {
                src.skip()?;
                e.no_resp = true;
            }
            Tag::Cred => e.cred = Some(cred(src)?),
            Tag::Meta => e.meta = Some(meta(src)?),
            Tag::Correlator => e.correlator = Some(text(src)?),
            Tag::Item => e.items.push(item(src)?),
            _ => src.skip()?,
        }
    }
    e.cmd_id = required(id, "CmdID", "Exec")?;
    Ok(e)
}

fn container(src: &mut dyn Source, name: &str) -> Result<Container, CodecError> {
    let mut c = Container::default();
    let mut id = None;
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => id = Some(text(src)?),
            Tag::NoResp => {
                src.skip()?;
                c.no_resp = true;
            }
            Tag::Meta => c.meta = Some(meta(src)?),
            _ => c.commands.push(command(src, tag)?),
        }
    }
    c.cmd_id = required(id, "CmdID", name)?;
    Ok(c)
}

fn status(src: &mut dyn Source) -> Result<Status, CodecError> {
    let mut s = Status::default();
    let (mut id, mut cmd, mut data) = (None, None, None);
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => id = Some(text(src)?),
            Tag::MsgRef => s.msg_ref = Some(text(src)?),
            Tag::CmdRef => s.cmd_ref = Some(text(src)?),
            Tag::Cmd => cmd = Some(text(src)?),
            Tag::TargetRef => s.target_refs.push(text(src)?),
            Tag::SourceRef => s.source_refs.push(text(src)?),
            Tag::Cred => s.cred = Some(cred(src)?),
            Tag::Chal => s.chal = Some(chal(src)?),
            Tag::Data => data = Some(text(src)?),
            Tag::Item => s.items.push(item(src)?),
            _ => src.skip()?,
        }
    }
    s.cmd_id = required(id, "CmdID", "Status")?;
    s.cmd = required(cmd, "Cmd", "Status")?;
    s.data = required(data, "Data", "Status")?;
    Ok(s)
}

fn chal(src: &mut dyn Source) -> Result<Chal, CodecError> {
    let mut c = Chal::default();
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::Meta => meta_into(src, &mut c.meta)?,
            _ => src.skip()?,
        }
    }
    Ok(c)
}

fn results(src: &mut dyn Source) -> Result<Results, CodecError> {
    let mut r = Results::default();
    let mut id = None;
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => id = Some(text(src)?),
            Tag::MsgRef => r.msg_ref = Some(text(src)?),
            Tag::CmdRef => r.cmd_ref = Some(text(src)?),
            Tag::Cmd => r.cmd = Some(text(src)?),
            Tag::Meta => r.meta = Some(meta(src)?),
            Tag::TargetRef => r.target_refs.push(text(src)?),
            Tag::SourceRef => r.source_refs.push(text(src)?),
            Tag::Item => r.items.push(item(src)?),
            _ => src.skip()?,
        }
    }
    r.cmd_id = required(id, "CmdID", "Results")?;
    Ok(r)
}

fn unknown(src: &mut dyn Source) -> Result<UnknownCmd, CodecError> {
    let mut u = UnknownCmd {
        name: src.current_name(),
        cmd_id: String::new(),
    };
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::CmdID => u.cmd_id = text(src)?,
            _ => src.skip()?,
        }
    }
    Ok(u)
}

fn item(src: &mut dyn Source) -> Result<Item, CodecError> {
    let mut i = Item::default();
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::Target => i.target = Some(locus(src)?),
            Tag::Source => i.source = Some(locus(src)?),
            Tag::Meta => i.meta = Some(meta(src)?),
            Tag::Data => i.data = Some(src.data()?),
            Tag::MoreData => {
                src.skip()?;
                i.more_data = true;
            }
            _ => src.skip()?,
        }
    }
    Ok(i)
}

/// A leaf's text without surrounding white space (pretty-printed XML
/// indents; LocURIs are sometimes wrapped). `Data` of items is kept as is.
fn text(src: &mut dyn Source) -> Result<String, CodecError> {
    let s = src.text()?;
    let t = s.trim();
    Ok(if t.len() == s.len() { s } else { t.to_string() })
}

/// Reads a command list: a `SyncBody` fragment, or commands side by side
/// (the Scheduling MO's `Cmds` node, documentation fragments). `Final` is
/// ignored.
pub(crate) fn commands(src: &mut dyn Source) -> Result<Vec<Command>, CodecError> {
    let mut out = Vec::new();
    while let Some(tag) = src.next_child()? {
        match tag {
            Tag::SyncBody => out.extend(sync_body(src)?.commands),
            Tag::Final => src.skip()?,
            _ => out.push(command(src, tag)?),
        }
    }
    Ok(out)
}
