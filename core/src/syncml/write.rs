//! The encoder: a [`SyncMl`] onto any [`Sink`], children in DTD order.

use super::model::*;
use super::stream::Sink;
use super::tag::Tag;

/// Writes a whole message.
pub(crate) fn message(m: &SyncMl, out: &mut dyn Sink) {
    out.open(Tag::SyncML);
    sync_hdr(&m.hdr, out);
    body(&m.body.commands, m.body.final_, out);
    out.close(Tag::SyncML);
}

/// Writes a `SyncBody`.
pub(crate) fn body(commands: &[Command], final_: bool, out: &mut dyn Sink) {
    out.open(Tag::SyncBody);
    for c in commands {
        command(c, out);
    }
    if final_ {
        out.empty(Tag::Final);
    }
    out.close(Tag::SyncBody);
}

fn opt(out: &mut dyn Sink, tag: Tag, v: &Option<String>) {
    if let Some(v) = v {
        out.leaf(tag, v);
    }
}

fn flag(out: &mut dyn Sink, tag: Tag, on: bool) {
    if on {
        out.empty(tag);
    }
}

fn sync_hdr(h: &SyncHdr, out: &mut dyn Sink) {
    out.open(Tag::SyncHdr);
    out.leaf(Tag::VerDTD, &h.ver_dtd);
    out.leaf(Tag::VerProto, &h.ver_proto);
    out.leaf(Tag::SessionID, &h.session_id);
    out.leaf(Tag::MsgID, &h.msg_id);
    locus(Tag::Target, &h.target, out);
    locus(Tag::Source, &h.source, out);
    opt(out, Tag::RespURI, &h.resp_uri);
    flag(out, Tag::NoResp, h.no_resp);
    cred(&h.cred, out);
    meta(&h.meta, out);
    out.close(Tag::SyncHdr);
}

fn locus(tag: Tag, l: &Locus, out: &mut dyn Sink) {
    out.open(tag);
    out.leaf(Tag::LocURI, &l.loc_uri);
    opt(out, Tag::LocName, &l.loc_name);
    out.close(tag);
}

fn cred(c: &Option<Cred>, out: &mut dyn Sink) {
    if let Some(c) = c {
        out.open(Tag::Cred);
        meta(&c.meta, out);
        out.leaf(Tag::Data, &c.data);
        out.close(Tag::Cred);
    }
}

fn meta(m: &Option<Meta>, out: &mut dyn Sink) {
    if let Some(m) = m {
        out.open(Tag::Meta);
        meta_fields(m, out);
        out.close(Tag::Meta);
    }
}

/// MetInf DTD order: Format Type Mark Size NextNonce Version MaxMsgSize
/// MaxObjSize EMI.
fn meta_fields(m: &Meta, out: &mut dyn Sink) {
    opt(out, Tag::Format, &m.format);
    opt(out, Tag::Type, &m.type_);
    opt(out, Tag::Mark, &m.mark);
    opt(out, Tag::Size, &m.size);
    opt(out, Tag::NextNonce, &m.next_nonce);
    opt(out, Tag::Version, &m.version);
    opt(out, Tag::MaxMsgSize, &m.max_msg_size);
    opt(out, Tag::MaxObjSize, &m.max_obj_size);
    for e in &m.emi {
        out.leaf(Tag::EMI, e);
    }
}

fn command(c: &Command, out: &mut dyn Sink) {
    match c {
        Command::Add(x) => item_cmd(Tag::Add, x, out),
        Command::Copy(x) => item_cmd(Tag::Copy, x, out),
        Command::Delete(x) => item_cmd(Tag::Delete, x, out),
        Command::Get(x) => item_cmd(Tag::Get, x, out),
        Command::Replace(x) => item_cmd(Tag::Replace, x, out),
        Command::Alert(a) => {
            out.open(Tag::Alert);
            out.leaf(Tag::CmdID, &a.cmd_id);
            flag(out, Tag::NoResp, a.no_resp);
            cred(&a.cred, out);
            opt(out, Tag::Data, &a.data);
            opt(out, Tag::Correlator, &a.correlator);
            items(&a.items, out);
            out.close(Tag::Alert);
        }
        Command::Exec(e) => {
            out.open(Tag::Exec);
            out.leaf(Tag::CmdID, &e.cmd_id);
            flag(out, Tag::NoResp, e.no_resp);
            cred(&e.cred, out);
            meta(&e.meta, out);
            opt(out, Tag::Correlator, &e.correlator);
            items(&e.items, out);
            out.close(Tag::Exec);
        }
        Command::Atomic(x) => container(Tag::Atomic, x, out),
        Command::Sequence(x) => container(Tag::Sequence, x, out),
        Command::Status(s) => {
            out.open(Tag::Status);
            out.leaf(Tag::CmdID, &s.cmd_id);
            opt(out, Tag::MsgRef, &s.msg_ref);
            opt(out, Tag::CmdRef, &s.cmd_ref);
            out.leaf(Tag::Cmd, &s.cmd);
            for r in &s.target_refs {
                out.leaf(Tag::TargetRef, r);
            }
            for r in &s.source_refs {
                out.leaf(Tag::SourceRef, r);
            }
            cred(&s.cred, out);
            if let Some(ch) = &s.chal {
                out.open(Tag::Chal);
                out.open(Tag::Meta);
                meta_fields(&ch.meta, out);
                out.close(Tag::Meta);
                out.close(Tag::Chal);
            }
            out.leaf(Tag::Data, &s.data);
            items(&s.items, out);
            out.close(Tag::Status);
        }
        Command::Results(r) => {
            out.open(Tag::Results);
            out.leaf(Tag::CmdID, &r.cmd_id);
            opt(out, Tag::MsgRef, &r.msg_ref);
            opt(out, Tag::CmdRef, &r.cmd_ref);
            opt(out, Tag::Cmd, &r.cmd);
            meta(&r.meta, out);
            for x in &r.target_refs {
                out.leaf(Tag::TargetRef, x);
            }
            for x in &r.source_refs {
                out.leaf(Tag::SourceRef, x);
            }
            items(&r.items, out);
            out.close(Tag::Results);
        }
        // Nothing to write for an element we never understood; the sink
        // records that it cannot be encoded.
        Command::Unknown(_) => out.empty(Tag::Unknown),
    }
}

fn item_cmd(tag: Tag, c: &ItemCmd, out: &mut dyn Sink) {
    out.open(tag);
    out.leaf(Tag::CmdID, &c.cmd_id);
    flag(out, Tag::NoResp, c.no_resp);
    opt(out, Tag::Lang, &c.lang);
    cred(&c.cred, out);
    meta(&c.meta, out);
    items(&c.items, out);
    out.close(tag);
}

fn container(tag: Tag, c: &Container, out: &mut dyn Sink) {
    out.open(tag);
    out.leaf(Tag::CmdID, &c.cmd_id);
    flag(out, Tag::NoResp, c.no_resp);
    meta(&c.meta, out);
    for x in &c.commands {
        command(x, out);
    }
    out.close(tag);
}

fn items(items: &[Item], out: &mut dyn Sink) {
    for i in items {
        out.open(Tag::Item);
        if let Some(t) = &i.target {
            locus(Tag::Target, t, out);
        }
        if let Some(s) = &i.source {
            locus(Tag::Source, s, out);
        }
        meta(&i.meta, out);
        if let Some(d) = &i.data {
            out.data(d);
        }
        flag(out, Tag::MoreData, i.more_data);
        out.close(Tag::Item);
    }
}
