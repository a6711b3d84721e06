//! One DM session: keyed by (device id, SessionID), it authenticates the
//! device, answers what the device sent, and walks the script one package
//! at a time (facts §3).
//!
//! Per message: the device's credential is checked (a failure is answered
//! with the SyncHdr Status and Final only); the device's commands are
//! answered ([`crate::inbound`]); then the server either asks for the rest
//! of an unfinished device package (Statuses + Alert 1222, no Final),
//! continues its own unfinished package, or — the device's package being
//! complete — sends the next script step. With the steps exhausted it
//! sends Statuses and Final only, which ends the session.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use dmsched::dm::auth::Nonce;
use dmsched::dm::syncml::{Command, Encoding, Locus, Meta, SyncHdr, SyncMl};
use ring::rand::SecureRandom;

use crate::account::{Account, ClientAuth, ServerAuth};
use crate::auth::{self, Check};
use crate::large_object::{Assembly, OutChunk};
use crate::outgoing::{OutMsg, status};
use crate::record::{Record, RecordedAuthFailure, Recorder, SessionEnd, now};
use crate::script::Script;

/// Server-wide limits a session needs.
#[derive(Clone, Debug)]
pub(crate) struct Limits {
    pub(crate) max_msg_size: usize,
    pub(crate) max_obj_size: usize,
    pub(crate) max_auth_attempts: u32,
    pub(crate) max_messages: u32,
}

/// What a session works with while it handles one message.
pub(crate) struct Cx<'a> {
    pub(crate) account: &'a mut Account,
    pub(crate) recorder: &'a Recorder,
    pub(crate) limits: &'a Limits,
    pub(crate) rng: &'a dyn SecureRandom,
    /// Package #0 session ids issued and not yet used: (device id, id).
    pub(crate) triggers: &'a mut Vec<(String, u16)>,
    pub(crate) verdicts: &'a mut Vec<String>,
    pub(crate) encoding: Encoding,
    /// `scheme://host/path` of the request, for RespURI.
    pub(crate) base_url: &'a str,
    pub(crate) query: Option<&'a str>,
    pub(crate) hmac_header: Option<&'a str>,
    pub(crate) body: &'a [u8],
}

impl Cx<'_> {
    pub(crate) fn verdict(&mut self, v: impl Into<String>) {
        self.verdicts.push(v.into());
    }

    /// A fresh nonce (a counter-derived one if the RNG fails, which a test
    /// server may tolerate).
    fn fresh_nonce(&mut self) -> Nonce {
        Nonce::generate(self.rng).unwrap_or_else(|_| {
            Nonce::new(format!("fallback-{}", self.verdicts.len()).into_bytes())
        })
    }
}

/// A command the server sent, for matching the device's Status.
#[derive(Clone, Debug)]
pub(crate) struct Sent {
    pub(crate) cmd: String,
    pub(crate) target: Option<String>,
}

/// What handling a message produced.
pub(crate) struct Reply {
    pub(crate) msg: SyncMl,
    pub(crate) ended: Option<SessionEnd>,
}

/// Facts about the device's message gathered while answering its commands.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// Alert 1222: the device wants the next message of the server's package.
    pub(crate) next_requested: bool,
    /// Alert 1223.
    pub(crate) abort: bool,
    /// The device's Status for the last chunk the server sent.
    pub(crate) chunk_ack: Option<u16>,
}

/// One session's state.
pub(crate) struct Session {
    pub(crate) device_id: String,
    pub(crate) session_id: String,
    token: String,
    script: Arc<Script>,
    pub(crate) msgs_in: u32,
    /// Messages that passed authentication.
    served: u32,
    next_msg_id: u32,
    authenticated: bool,
    bad_credentials: u32,
    /// The device answered 212 to the server's credential.
    pub(crate) server_accepted: bool,
    pub(crate) server_rejections: u32,
    /// The device rejected the server's credential: send the step again.
    pub(crate) resend_step: bool,
    pub(crate) client_max_msg: Option<usize>,
    pub(crate) client_max_obj: Option<usize>,
    next_step: usize,
    current_step: Option<usize>,
    pub(crate) outbox: VecDeque<Command>,
    pub(crate) chunk_out: Option<OutChunk>,
    /// (MsgID, CmdID) of the last chunk sent with MoreData.
    pub(crate) chunk_sent: Option<(String, String)>,
    pub(crate) incoming: Option<Assembly>,
    pub(crate) sent: HashMap<(String, String), Sent>,
    pub(crate) initiated_by: String,
    pub(crate) trigger_matched: Option<bool>,
    /// The Statuses (all but the SyncHdr one) of the last message sent: if
    /// the device refuses that message's credential, they go again with
    /// the step.
    last_statuses: Vec<dmsched::dm::syncml::Status>,
    /// Its end is in the record (it may be kept a while after, see
    /// [`Session::last_credential_unconfirmed`]).
    pub(crate) recorded: bool,
}

impl Session {
    pub(crate) fn new(
        device_id: &str,
        session_id: &str,
        token: String,
        script: Arc<Script>,
    ) -> Session {
        Session {
            device_id: device_id.to_string(),
            session_id: session_id.to_string(),
            token,
            script,
            msgs_in: 0,
            served: 0,
            next_msg_id: 1,
            authenticated: false,
            bad_credentials: 0,
            server_accepted: false,
            server_rejections: 0,
            resend_step: false,
            client_max_msg: None,
            client_max_obj: None,
            next_step: 0,
            current_step: None,
            outbox: VecDeque::new(),
            chunk_out: None,
            chunk_sent: None,
            incoming: None,
            sent: HashMap::new(),
            initiated_by: "unknown".into(),
            trigger_matched: None,
            recorded: false,
            last_statuses: Vec::new(),
        }
    }

    /// Whether the server's last message carried a credential the device has
    /// not confirmed (MD5 before its 212; HMAC always, every message being
    /// checked): a device that refuses it answers once more, with the new
    /// nonce, and the server must sign its last message again.
    pub(crate) fn last_credential_unconfirmed(&self, account: &Account) -> bool {
        match account.server_auth {
            ServerAuth::None => false,
            ServerAuth::Md5 => !self.server_accepted,
            ServerAuth::Hmac => true,
        }
    }

    pub(crate) fn complain(&self, cx: &mut Cx<'_>, text: impl Into<String>) {
        let text = text.into();
        cx.verdict(format!("complaint: {text}"));
        cx.recorder
            .complain(&self.device_id, &self.session_id, text);
    }

    /// Handles one decoded message from the device.
    pub(crate) fn handle(&mut self, cx: &mut Cx<'_>, msg: &SyncMl) -> Reply {
        self.msgs_in += 1;
        self.check_header(cx, msg);
        let mut out = OutMsg::new();
        let client_msg = msg.hdr.msg_id.clone();

        let (code, chal, ok, give_up) = self.authenticate(cx, msg);
        let mut hs = status(&client_msg, "0", "SyncHdr", code);
        hs.target_refs = vec![msg.hdr.target.loc_uri.clone()];
        hs.source_refs = vec![msg.hdr.source.loc_uri.clone()];
        hs.chal = chal;
        out.push_status(hs);
        if !ok {
            out.msg.hdr = self.server_hdr(cx, msg);
            out.msg.body.final_ = true;
            let ended = if give_up {
                self.complain(cx, "too many failed authentications: session ended");
                Some(SessionEnd::AuthFailed)
            } else if self.msgs_in >= cx.limits.max_messages {
                self.complain(
                    cx,
                    format!("{} messages without authentication", self.msgs_in),
                );
                Some(SessionEnd::MessageCap)
            } else {
                None
            };
            return Reply {
                msg: out.msg,
                ended,
            };
        }

        self.served += 1;
        let mut flow = Flow::default();
        for cmd in &msg.body.commands {
            self.on_command(cx, cmd, &client_msg, &mut out, &mut flow);
        }
        if self.served == 1 && self.initiated_by == "unknown" {
            self.complain(cx, "package 1 without Alert 1200 or 1201");
        }
        // The server's header is built now: the device's Status for the
        // previous one may have changed the server nonce.
        out.msg.hdr = self.server_hdr(cx, msg);
        let ended = self.decide(cx, msg, &mut out, &flow);
        self.last_statuses = out
            .msg
            .body
            .commands
            .iter()
            .filter_map(|c| match c {
                Command::Status(s) if s.cmd != "SyncHdr" => Some(s.clone()),
                _ => None,
            })
            .collect();
        Reply {
            msg: out.msg,
            ended,
        }
    }

    /// MsgID order, protocol version, RespURI, the device's limits.
    fn check_header(&mut self, cx: &mut Cx<'_>, msg: &SyncMl) {
        let h = &msg.hdr;
        if h.ver_proto.trim() != "DM/1.2" || h.ver_dtd.trim() != "1.2" {
            self.complain(
                cx,
                format!("VerProto {:?} VerDTD {:?}", h.ver_proto, h.ver_dtd),
            );
        }
        if h.msg_id.trim() != self.msgs_in.to_string() {
            self.complain(
                cx,
                format!(
                    "MsgID {:?}, expected {} in this session",
                    h.msg_id, self.msgs_in
                ),
            );
        }
        let token = cx
            .query
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("s=")));
        match token {
            Some(t) if t == self.token => cx.verdict("followed RespURI"),
            Some(t) => {
                let t = t.to_string();
                self.complain(
                    cx,
                    format!("RespURI token {t:?} belongs to another session"),
                );
            }
            None if self.msgs_in > 1 => cx.verdict("RespURI not followed"),
            None => {}
        }
        if let Some(meta) = &h.meta {
            if let Some(v) = meta.max_msg_size_value() {
                self.client_max_msg = usize::try_from(v).ok();
            }
            if let Some(v) = meta.max_obj_size_value() {
                self.client_max_obj = usize::try_from(v).ok();
            }
        }
    }

    /// `(header status, Chal, ok, give up)`.
    fn authenticate(
        &mut self,
        cx: &mut Cx<'_>,
        msg: &SyncMl,
    ) -> (u16, Option<dmsched::dm::syncml::Chal>, bool, bool) {
        let scheme = cx.account.client_auth;
        if cx.hmac_header.is_some() {
            cx.verdict("hmac header present");
        }
        if scheme != ClientAuth::Hmac && self.authenticated {
            cx.verdict("auth: session already authenticated");
            return (200, None, true, false);
        }
        let check = auth::check_device(cx.account, &msg.hdr, cx.hmac_header, cx.body);
        match check {
            Check::Ok => {
                self.authenticated = true;
                cx.verdict(format!("auth ok {}", scheme.name()));
                match scheme {
                    ClientAuth::Basic => (212, None, true, false),
                    ClientAuth::Md5 => {
                        let nonce = cx.fresh_nonce();
                        cx.account.client_nonce = nonce.as_bytes().to_vec();
                        (212, Some(auth::chal(scheme, Some(&nonce))), true, false)
                    }
                    ClientAuth::Hmac => {
                        let nonce = cx.fresh_nonce();
                        cx.account.client_nonce = nonce.as_bytes().to_vec();
                        (200, Some(auth::chal(scheme, Some(&nonce))), true, false)
                    }
                }
            }
            Check::Missing | Check::Bad(_) => {
                let (code, reason) = match check {
                    Check::Bad(r) => {
                        self.bad_credentials += 1;
                        (401, r)
                    }
                    _ => (407, "credential missing".to_string()),
                };
                cx.verdict(format!("auth failed {code}: {reason}"));
                let give_up = self.bad_credentials >= cx.limits.max_auth_attempts;
                cx.recorder.push(Record::AuthFailure(RecordedAuthFailure {
                    time: now(),
                    device_id: self.device_id.clone(),
                    session_id: self.session_id.clone(),
                    required: scheme.name().into(),
                    presented: auth::presented(&msg.hdr, cx.hmac_header),
                    reason,
                    code,
                    attempt: self.bad_credentials,
                }));
                let chal = if give_up {
                    None
                } else if scheme == ClientAuth::Basic {
                    Some(auth::chal(scheme, None))
                } else {
                    let nonce = cx.fresh_nonce();
                    cx.account.client_nonce = nonce.as_bytes().to_vec();
                    Some(auth::chal(scheme, Some(&nonce)))
                };
                (code, chal, false, give_up)
            }
        }
    }

    /// The server's SyncHdr for its next message.
    fn server_hdr(&mut self, cx: &mut Cx<'_>, msg: &SyncMl) -> SyncHdr {
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let source_uri = if msg.hdr.target.loc_uri.is_empty() {
            cx.base_url.to_string()
        } else {
            msg.hdr.target.loc_uri.clone()
        };
        let cred = if self.server_accepted {
            None
        } else {
            auth::server_cred(cx.account)
        };
        SyncHdr {
            ver_dtd: "1.2".into(),
            ver_proto: "DM/1.2".into(),
            session_id: msg.hdr.session_id.clone(),
            msg_id: msg_id.to_string(),
            target: Locus::uri(&self.device_id),
            source: Locus {
                loc_uri: source_uri,
                loc_name: Some(cx.account.server_id.clone()),
            },
            resp_uri: Some(format!("{}?s={}", cx.base_url, self.token)),
            no_resp: false,
            cred,
            meta: Some(Meta {
                max_msg_size: Some(cx.limits.max_msg_size.to_string()),
                max_obj_size: Some(cx.limits.max_obj_size.to_string()),
                ..Meta::default()
            }),
        }
    }

    /// After the device's commands are answered: what else goes into `out`.
    fn decide(
        &mut self,
        cx: &mut Cx<'_>,
        msg: &SyncMl,
        out: &mut OutMsg,
        flow: &Flow,
    ) -> Option<SessionEnd> {
        if flow.abort {
            cx.verdict("device aborted the session (1223)");
            out.msg.body.final_ = true;
            return Some(SessionEnd::AbortedByClient);
        }
        if self.msgs_in >= cx.limits.max_messages {
            self.complain(cx, format!("{} messages: session aborted", self.msgs_in));
            out.alert(1223);
            out.msg.body.final_ = true;
            return Some(SessionEnd::MessageCap);
        }
        if let Some((m, c)) = self.chunk_sent.take() {
            match flow.chunk_ack {
                Some(213) => {}
                Some(code) => {
                    self.complain(
                        cx,
                        format!(
                            "chunk (MsgID {m}, CmdID {c}) answered {code}, not 213: object dropped"
                        ),
                    );
                    self.chunk_out = None;
                }
                None => self.complain(cx, format!("no Status for chunk (MsgID {m}, CmdID {c})")),
            }
        }
        if self.resend_step {
            self.resend_step = false;
            if self.server_rejections >= cx.limits.max_auth_attempts {
                self.complain(cx, "the device rejected the server's credential too often");
                out.msg.body.final_ = true;
                return Some(SessionEnd::ServerAuthRejected);
            }
            self.chunk_out = None;
            // The refused message's Statuses (acknowledging the device's
            // alerts, say) count for nothing on the device: again.
            for st in std::mem::take(&mut self.last_statuses) {
                out.push_status(st);
            }
            self.outbox = self
                .current_step
                .and_then(|i| self.script.step_commands(i))
                .unwrap_or_default()
                .into();
            cx.verdict("device rejected the server credential: sending the step again");
        }
        let pending_out = !self.outbox.is_empty() || self.chunk_out.is_some();
        if self.incoming.is_some() || (!msg.body.final_ && !pending_out) {
            cx.verdict("asking for the next message (1222)");
            out.alert(1222);
            out.msg.body.final_ = false;
            return None;
        }
        if pending_out && !flow.next_requested {
            cx.verdict("continuing the server package without Alert 1222 from the device");
        }
        loop {
            if self.outbox.is_empty() && self.chunk_out.is_none() {
                let Some(cmds) = self.script.step_commands(self.next_step) else {
                    cx.verdict("script done: Final without commands");
                    out.msg.body.final_ = true;
                    return Some(SessionEnd::Completed);
                };
                cx.verdict(format!("sending step {}", self.next_step));
                self.current_step = Some(self.next_step);
                self.next_step += 1;
                self.outbox = cmds.into();
            }
            let done = self.fill(cx, out);
            out.msg.body.final_ = done;
            if !done || out.script_cmds() > 0 {
                return None;
            }
            // A step that put nothing into the message (empty, or every
            // object refused) would end the session: go on to the next.
        }
    }
}
