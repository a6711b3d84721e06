//! Answering what the device sent: Statuses and Results are recorded (the
//! server does not answer a Results with Status 200, RepPro §6.1.5.1),
//! Replace items are recorded and answered, Alerts are answered and the
//! flow ones (1222, 1223, 1225) noted; anything a device may not send gets
//! 406. Large objects from the device are reassembled (213 per chunk, 424
//! when the length differs from Meta Size, 413 beyond MaxObjSize).

use dmsched::dm::auth::Nonce;
use dmsched::dm::syncml::{Alert, Command, Data, Item, ItemCmd, Results, Status};

use crate::account::ServerAuth;
use crate::large_object::{self, Fed, Whole};
use crate::outgoing::{OutMsg, status};
use crate::record::{
    Record, RecordedAlert, RecordedAlertItem, RecordedReplace, RecordedResult, RecordedStatus, now,
};
use crate::session::{Cx, Flow, Session};

fn text(d: &Option<Data>) -> Option<String> {
    d.as_ref().map(|d| d.to_text().into_owned())
}

impl Session {
    /// Answers one command of the device's message `msg_ref`.
    pub(crate) fn on_command(
        &mut self,
        cx: &mut Cx<'_>,
        cmd: &Command,
        msg_ref: &str,
        out: &mut OutMsg,
        flow: &mut Flow,
    ) {
        match cmd {
            Command::Status(s) => self.on_status(cx, s, flow),
            Command::Results(r) => self.on_results(cx, r, msg_ref, out),
            Command::Replace(r) => self.on_replace(cx, r, msg_ref, out),
            Command::Alert(a) => self.on_alert(cx, a, msg_ref, out, flow),
            other => {
                self.complain(cx, format!("device sent {}: answered 406", other.name()));
                out.push_status(status(msg_ref, other.cmd_id(), other.name(), 406));
            }
        }
    }

    fn on_status(&mut self, cx: &mut Cx<'_>, s: &Status, flow: &mut Flow) {
        let key = (
            s.msg_ref.clone().unwrap_or_default(),
            s.cmd_ref.clone().unwrap_or_default(),
        );
        let sent = self.sent.get(&key);
        if let Some(sent) = sent
            && !sent.cmd.eq_ignore_ascii_case(&s.cmd)
        {
            let text = format!(
                "Status for CmdRef {} says Cmd {:?}, the server sent {:?}",
                key.1, s.cmd, sent.cmd
            );
            self.complain(cx, text);
        }
        let sent_target = self.sent.get(&key).and_then(|x| x.target.clone());
        cx.recorder.push(Record::Status(RecordedStatus {
            time: now(),
            device_id: self.device_id.clone(),
            session_id: self.session_id.clone(),
            msg_ref: s.msg_ref.clone(),
            cmd_ref: s.cmd_ref.clone(),
            cmd: s.cmd.clone(),
            code: s.code(),
            target_refs: s.target_refs.clone(),
            source_refs: s.source_refs.clone(),
            items: s.items.iter().filter_map(|i| text(&i.data)).collect(),
            sent_target,
            chal_next_nonce: s.chal.as_ref().and_then(|c| c.meta.next_nonce.clone()),
        }));
        if let Some((m, c)) = &self.chunk_sent
            && key.0 == *m
            && key.1 == *c
        {
            flow.chunk_ack = Some(s.code());
        }
        if s.cmd.eq_ignore_ascii_case("SyncHdr") || key.1 == "0" {
            self.on_header_status(cx, s);
        }
    }

    /// The device's verdict on the server's SyncHdr (and credential).
    fn on_header_status(&mut self, cx: &mut Cx<'_>, s: &Status) {
        if let Some(chal) = &s.chal {
            let wanted = cx.account.server_auth;
            let ty = chal.meta.type_.clone().unwrap_or_default();
            let matches = match wanted {
                ServerAuth::Md5 => ty.eq_ignore_ascii_case("syncml:auth-md5"),
                ServerAuth::Hmac => ty.eq_ignore_ascii_case("syncml:auth-MAC"),
                ServerAuth::None => false,
            };
            if !matches {
                self.complain(cx, format!("device challenges the server with {ty:?}"));
            }
            match chal.meta.next_nonce.as_deref().map(Nonce::from_b64) {
                Some(Ok(n)) => {
                    cx.account.server_nonce = n.as_bytes().to_vec();
                    cx.verdict("server nonce updated from the device's Chal");
                }
                Some(Err(_)) => self.complain(cx, "Chal NextNonce is not base64"),
                None => {}
            }
        }
        match s.code() {
            212 => {
                self.server_accepted = true;
                cx.verdict("device accepted the server credential for the session (212)");
            }
            200 => {}
            code @ (401 | 407) => {
                self.server_rejections += 1;
                self.resend_step = true;
                cx.verdict(format!("device rejected the server header ({code})"));
                if cx.account.server_auth == ServerAuth::None {
                    self.complain(cx, format!("device wants server credentials ({code})"));
                }
            }
            code => self.complain(cx, format!("Status {code} for the server's SyncHdr")),
        }
    }

    /// Feeds an item to the large-object assembly; returns the whole
    /// object, if complete, and the status code it calls for (213 while
    /// buffering, 413, 424, or 200).
    fn assemble(
        &mut self,
        cx: &mut Cx<'_>,
        cmd: &str,
        key: &str,
        item: &Item,
        cmd_meta: Option<&dmsched::dm::syncml::Meta>,
    ) -> (Option<Whole>, u16) {
        let (fed, interrupted) = large_object::feed(
            &mut self.incoming,
            cmd,
            key,
            item,
            cmd_meta,
            cx.limits.max_obj_size,
        );
        if let Some(i) = interrupted {
            self.complain(
                cx,
                format!(
                    "large object ({} {}) interrupted after {} bytes in {} chunks",
                    i.cmd,
                    i.key,
                    i.data.len(),
                    i.chunks
                ),
            );
        }
        match fed {
            Fed::Buffered => (None, 213),
            Fed::TooLarge => {
                self.complain(
                    cx,
                    format!(
                        "{cmd} object beyond MaxObjSize {}: 413",
                        cx.limits.max_obj_size
                    ),
                );
                (None, 413)
            }
            Fed::Whole(w) => {
                if w.chunks > 1 {
                    cx.verdict(format!(
                        "reassembled {cmd} of {} bytes from {} chunks",
                        w.data.len(),
                        w.chunks
                    ));
                }
                if w.size_ok() {
                    (Some(w), 200)
                } else {
                    self.complain(
                        cx,
                        format!(
                            "{cmd} object of {} bytes, Meta Size said {:?}: 424",
                            w.data.len(),
                            w.declared
                        ),
                    );
                    (Some(w), 424)
                }
            }
        }
    }

    fn on_results(&mut self, cx: &mut Cx<'_>, r: &Results, msg_ref: &str, out: &mut OutMsg) {
        let mut worst = 200;
        for item in &r.items {
            let source = item.source.as_ref().map(|s| s.loc_uri.clone());
            let key = format!(
                "{}|{}",
                r.cmd_ref.clone().unwrap_or_default(),
                source.clone().unwrap_or_default()
            );
            let (whole, code) = self.assemble(cx, "Results", &key, item, r.meta.as_ref());
            worst = worse(worst, code);
            if let Some(w) = whole {
                let size_ok = w.size_ok();
                cx.recorder.push(Record::Result(RecordedResult {
                    time: now(),
                    device_id: self.device_id.clone(),
                    session_id: self.session_id.clone(),
                    msg_ref: r.msg_ref.clone(),
                    cmd_ref: r.cmd_ref.clone(),
                    source,
                    format: w.format,
                    type_: w.type_,
                    data: String::from_utf8_lossy(&w.data).into_owned(),
                    size: w.data.len(),
                    chunks: w.chunks,
                    declared_size: w.declared,
                    size_ok,
                }));
            }
        }
        if worst != 200 {
            out.push_status(status(msg_ref, &r.cmd_id, "Results", worst));
        }
    }

    fn on_replace(&mut self, cx: &mut Cx<'_>, r: &ItemCmd, msg_ref: &str, out: &mut OutMsg) {
        let mut worst = 200;
        for item in &r.items {
            let uri = item
                .target
                .as_ref()
                .or(item.source.as_ref())
                .map(|t| t.loc_uri.clone())
                .unwrap_or_default();
            let (whole, code) = self.assemble(cx, "Replace", &uri, item, r.meta.as_ref());
            worst = worse(worst, code);
            if let Some(w) = whole {
                cx.recorder.push(Record::Replace(RecordedReplace {
                    time: now(),
                    device_id: self.device_id.clone(),
                    session_id: self.session_id.clone(),
                    uri,
                    data: String::from_utf8_lossy(&w.data).into_owned(),
                    format: w.format,
                }));
            }
        }
        if !r.no_resp {
            out.push_status(status(msg_ref, &r.cmd_id, "Replace", worst));
        }
    }

    fn on_alert(
        &mut self,
        cx: &mut Cx<'_>,
        a: &Alert,
        msg_ref: &str,
        out: &mut OutMsg,
        flow: &mut Flow,
    ) {
        let code: u16 = a
            .data
            .as_deref()
            .and_then(|d| d.trim().parse().ok())
            .unwrap_or(0);
        let mut answer = 200;
        match code {
            1201 => {
                self.initiated_by = "client".into();
                cx.verdict("client-initiated session (1201)");
            }
            1200 => {
                self.initiated_by = "server".into();
                self.match_trigger(cx);
            }
            1222 => flow.next_requested = true,
            1223 => flow.abort = true,
            1225 => {
                if let Some(i) = self.incoming.take() {
                    self.complain(
                        cx,
                        format!("device gave up its large object {} (1225)", i.key),
                    );
                }
            }
            1100..=1199 => {
                self.complain(cx, format!("device sent user-interaction Alert {code}"));
                answer = 406;
            }
            0 => {
                self.complain(cx, "Alert without a numeric code");
                answer = 400;
            }
            _ => self.record_alert(cx, a, code),
        }
        if !a.no_resp {
            out.push_status(status(msg_ref, &a.cmd_id, "Alert", answer));
        }
    }

    fn record_alert(&self, cx: &mut Cx<'_>, a: &Alert, code: u16) {
        let items = a
            .items
            .iter()
            .map(|i| RecordedAlertItem {
                source: i.source.as_ref().map(|l| l.loc_uri.clone()),
                target: i.target.as_ref().map(|l| l.loc_uri.clone()),
                meta_type: i.meta.as_ref().and_then(|m| m.type_.clone()),
                format: i.meta.as_ref().and_then(|m| m.format.clone()),
                mark: i.meta.as_ref().and_then(|m| m.mark.clone()),
                data: text(&i.data),
            })
            .collect();
        cx.verdict(format!("recorded Alert {code}"));
        cx.recorder.push(Record::Alert(RecordedAlert {
            time: now(),
            device_id: self.device_id.clone(),
            session_id: self.session_id.clone(),
            code,
            correlator: a.correlator.clone(),
            items,
        }));
    }

    /// Alert 1200: the SessionID must be one a package #0 announced
    /// (upper-case hex; lower case and decimal accepted with a note).
    fn match_trigger(&mut self, cx: &mut Cx<'_>) {
        let sid = self.session_id.trim().to_string();
        let hex = u16::from_str_radix(&sid, 16).ok();
        let dec = sid.parse::<u16>().ok();
        let found = [("hex", hex), ("decimal", dec)]
            .into_iter()
            .find_map(|(how, v)| {
                let v = v?;
                let pos = cx
                    .triggers
                    .iter()
                    .position(|(d, s)| *d == self.device_id && *s == v)?;
                Some((how, pos))
            });
        match found {
            Some((how, pos)) => {
                cx.triggers.remove(pos);
                self.trigger_matched = Some(true);
                cx.verdict(format!(
                    "server-initiated session matches a trigger ({how})"
                ));
                if how == "decimal" {
                    cx.verdict("SessionID in decimal, not the upper-case hex of the trigger");
                } else if sid.chars().any(|c| c.is_ascii_lowercase()) {
                    cx.verdict("SessionID in lower-case hex");
                }
            }
            None => {
                self.trigger_matched = Some(false);
                self.complain(
                    cx,
                    format!("Alert 1200 with SessionID {sid:?} that no trigger announced"),
                );
            }
        }
    }
}

/// The more telling of two status codes (errors over 213 over 200).
fn worse(a: u16, b: u16) -> u16 {
    let rank = |c: u16| match c {
        200 => 0,
        213 => 1,
        _ => 2,
    };
    if rank(b) > rank(a) { b } else { a }
}
