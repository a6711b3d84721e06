//! A DM session from the device's side (OMA DM Protocol 1.2, facts §3),
//! written sans-I/O: [`Session::start`] gives the first message (package
//! 1), [`Session::receive`] takes each answer and gives the next message or
//! the end. [`run`](driver::run) drives it over a [`Transport`](crate::dm::transport::Transport).
//!
//! What a session does:
//! * package 1: Alert 1201 (client-initiated) or 1200 (after package #0,
//!   with its session id), a Replace of every `./DevInfo` leaf, the queued
//!   client alerts (1224, 1226), `Final`;
//! * authentication both ways ([`auth`]), resending package 1 when
//!   challenged, and refusing a server that does not prove itself when the
//!   account requires it;
//! * every server command on the [`ManagementTree`] with the server's
//!   rights: Status for each (Results after the Status of a Get), Atomic,
//!   Sequence, user interaction through [`UserInteraction`], 406 for
//!   anything else;
//! * packages over several messages (no `Final` → Alert 1222), large
//!   objects both ways (`MoreData`, 213, 424, 1225), MaxMsgSize and
//!   MaxObjSize, `RespURI`, Alert 1223 (abort);
//! * bounded: at most `max_messages` messages.

mod auth;
#[cfg(feature = "http")]
pub mod driver;
mod exec;
mod large;
mod outbox;
pub mod target;
mod types;
pub mod ui;

use crate::dm::auth::{AuthType, Nonce};
use crate::dm::syncml::{
    self, Alert, Chal, Command, Data, Encoding, Item, ItemCmd, Limits, Locus, Meta, Status, SyncHdr,
};
pub use target::{DmStatus, ManagementTree, NodeData, NonceFor, Value};
pub use types::{
    Account, ClientAlert, Incoming, Initiation, Outgoing, SessionConfig, SessionError, Step,
    Summary,
};
pub use ui::{AlertsThroughUi, UiKind, UiRequest, UiResponse, UserInteraction};

use auth::{AuthState, Verdict};
use exec::{Executor, Replies};
use large::{Chunk, LargeIn};
use outbox::{Outbox, Queued};

/// A device-side DM session over a [`ManagementTree`].
pub struct Session<'a> {
    tree: &'a dyn ManagementTree,
    ui: Option<&'a dyn UserInteraction>,
    cfg: SessionConfig,
    auth: AuthState,
    session_id: String,
    dev_id: String,
    client_name: String,
    url: String,
    next_msg_id: u32,
    last_msg_id: String,
    /// Package 1, kept to be sent again when the server challenges.
    pkg1: Vec<Queued>,
    /// (MsgID, CmdID, index) of each client alert sent in this session: a
    /// server that was refused resends its Statuses for them later, still
    /// referring to the message that carried them.
    alerts_in_flight: Vec<(String, String, usize)>,
    outbox: Outbox,
    large_in: Option<LargeIn>,
    peer_max_msg: Option<usize>,
    peer_max_obj: Option<usize>,
    summary: Summary,
    done: bool,
}

impl std::fmt::Debug for Session<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("session_id", &self.session_id)
            .field("server", &self.auth.acct.server_id)
            .field("url", &self.url)
            .field("next_msg_id", &self.next_msg_id)
            .finish_non_exhaustive()
    }
}

impl<'a> Session<'a> {
    /// Starts a session and returns it with package 1.
    ///
    /// An account without a server credential is refused
    /// ([`SessionError::Rejected`] with 407, nothing sent) unless it opts
    /// out with [`Account::allow_unauthenticated_server`] (6.1.1.2.1).
    pub fn start(
        tree: &'a dyn ManagementTree,
        ui: Option<&'a dyn UserInteraction>,
        account: Account,
        cfg: SessionConfig,
        initiation: Initiation,
        alerts: &[ClientAlert],
    ) -> Result<(Session<'a>, Outgoing), SessionError> {
        match (account.server_auth, account.allow_unauthenticated_server) {
            (None, false) => {
                return Err(SessionError::Rejected {
                    code: 407,
                    reason: format!(
                        "account {} has no server credential: the server must authenticate \
                         itself (6.1.1.2.1) unless the account opts out with \
                         allow_unauthenticated_server",
                        account.server_id
                    ),
                });
            }
            (Some(_), true) => {
                return Err(SessionError::Rejected {
                    code: 400,
                    reason: format!(
                        "account {} has a server credential and allow_unauthenticated_server",
                        account.server_id
                    ),
                });
            }
            _ => {}
        }
        let dev_info = tree
            .dev_info()
            .map_err(|e| SessionError::Storage(e.to_string()))?;
        let dev_id = dev_info
            .iter()
            .find(|(u, _)| u == "./DevInfo/DevId")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| SessionError::Internal("the tree has no ./DevInfo/DevId".into()))?;
        let (session_id, code, session_number) = match &initiation {
            Initiation::Client { session_id } => (format!("{session_id:X}"), "1201", *session_id),
            Initiation::Server(n) => (n.session_id_hex(), "1200", n.session_id),
        };
        let mut pkg1 = vec![Queued::new(Command::Alert(Alert {
            data: Some(code.into()),
            ..Alert::default()
        }))];
        pkg1.push(Queued::new(Command::Replace(ItemCmd {
            items: dev_info
                .into_iter()
                .map(|(uri, value)| Item {
                    source: Some(Locus::uri(uri)),
                    data: Some(Data::Text(value)),
                    ..Item::default()
                })
                .collect(),
            ..ItemCmd::default()
        })));
        for (i, a) in alerts.iter().enumerate() {
            pkg1.push(Queued {
                cmd: Command::Alert(Alert {
                    data: Some(a.code.to_string()),
                    correlator: a.correlator.clone(),
                    items: vec![a.item.clone()],
                    ..Alert::default()
                }),
                continuation: false,
                alert: Some(i),
            });
        }
        let mut s = Session {
            tree,
            ui,
            url: account.server_url.clone(),
            client_name: account.client_name.clone(),
            auth: AuthState::new(account, cfg.max_auth_retries, session_number),
            cfg,
            session_id,
            dev_id,
            next_msg_id: 1,
            last_msg_id: String::new(),
            pkg1: pkg1.clone(),
            alerts_in_flight: Vec::new(),
            outbox: Outbox::default(),
            large_in: None,
            peer_max_msg: None,
            peer_max_obj: None,
            summary: Summary::default(),
            done: false,
        };
        s.outbox.queue.extend(pkg1);
        let out = s.next_message()?;
        tracing::info!(target: "dmsched::dm", server = %s.auth.acct.server_id,
            session = %s.session_id, alert = code, "DM session started");
        Ok((s, out))
    }

    /// The session id (upper-case hex).
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The account, with the nonces as they are now.
    pub fn account(&self) -> &Account {
        &self.auth.acct
    }

    fn header(&self, msg_id: u32) -> SyncHdr {
        SyncHdr {
            ver_dtd: "1.2".into(),
            ver_proto: "DM/1.2".into(),
            session_id: self.session_id.clone(),
            msg_id: msg_id.to_string(),
            target: Locus::uri(self.auth.acct.server_url.clone()),
            source: Locus {
                loc_uri: self.dev_id.clone(),
                loc_name: Some(self.client_name.clone()),
            },
            cred: self.auth.cred(),
            meta: Some(Meta {
                max_msg_size: Some(self.cfg.max_msg_size.to_string()),
                max_obj_size: Some(self.cfg.max_obj_size.to_string()),
                ..Meta::default()
            }),
            ..SyncHdr::default()
        }
    }

    fn next_message(&mut self) -> Result<Outgoing, SessionError> {
        if self.summary.sent + self.summary.received >= self.cfg.max_messages {
            self.done = true;
            return Err(SessionError::TooLong(
                self.summary.sent + self.summary.received,
            ));
        }
        let msg_id = self.next_msg_id;
        self.next_msg_id += 1;
        let hdr = self.header(msg_id);
        let max = self.peer_max_msg.unwrap_or(self.cfg.peer_max_msg_size);
        let built = self.outbox.build(hdr, self.cfg.encoding, max)?;
        self.last_msg_id = msg_id.to_string();
        self.alerts_in_flight.extend(
            built
                .alerts
                .into_iter()
                .map(|(cmd, i)| (self.last_msg_id.clone(), cmd, i)),
        );
        self.summary.sent += 1;
        Ok(Outgoing {
            url: self.url.clone(),
            content_type: self.cfg.encoding.mime(),
            hmac: self.auth.sign(&built.body),
            body: built.body,
            msg_id,
        })
    }

    /// Takes the server's answer to the last message.
    pub fn receive(&mut self, incoming: Incoming) -> Result<Step, SessionError> {
        if self.done {
            return Err(SessionError::Protocol("the session is over".into()));
        }
        self.summary.received += 1;
        let result = self.receive_inner(incoming);
        if !matches!(result, Ok(Step::Send(_))) {
            self.done = true;
        }
        result
    }

    fn receive_inner(&mut self, incoming: Incoming) -> Result<Step, SessionError> {
        if incoming.http_status != 200 {
            return Err(SessionError::Protocol(format!(
                "HTTP status {} from the server",
                incoming.http_status
            )));
        }
        // A server may end the session with an empty 200 (Windows accepts it).
        if incoming.body.is_empty() {
            return Ok(Step::Done(self.summary.clone()));
        }
        let encoding = incoming
            .content_type
            .as_deref()
            .and_then(Encoding::from_mime);
        let limits = Limits {
            max_message_bytes: self.cfg.max_msg_size.max(1024),
            ..Limits::default()
        };
        let msg = syncml::decode_with(&incoming.body, encoding, &limits)?;
        let hdr = &msg.hdr;
        if !same_session(&hdr.session_id, &self.session_id) {
            return Err(SessionError::Protocol(format!(
                "the server answered for session {} in session {}",
                hdr.session_id, self.session_id
            )));
        }
        if let Some(uri) = &hdr.resp_uri
            && (uri.starts_with("https://") || uri.starts_with("http://"))
        {
            self.url = uri.clone();
        }
        if let Some(m) = &hdr.meta {
            if let Some(v) = m.max_msg_size_value() {
                self.peer_max_msg = Some(v.clamp(512, usize::MAX as u64) as usize);
            }
            if let Some(v) = m.max_obj_size_value() {
                self.peer_max_obj = Some(v as usize);
            }
        }
        let hdr_code =
            self.auth
                .check_server(hdr, incoming.hmac.as_deref(), &incoming.body, self.tree)?;
        let trusted = hdr_code < 300;
        let mut replies = Replies {
            msg_ref: hdr.msg_id.clone(),
            out: Vec::new(),
        };
        if !hdr.no_resp {
            replies.status(
                "SyncHdr",
                "0",
                hdr_code,
                Some(&hdr.target.loc_uri),
                Some(&hdr.source.loc_uri),
            );
        }
        let server_id = self.auth.acct.server_id.clone();
        let mut retry = false;
        let mut has_commands = false;
        let mut abort = false;
        for cmd in &msg.body.commands {
            match cmd {
                Command::Status(st) => {
                    if self.on_status(st, trusted)? == Some(Verdict::Retry) {
                        retry = true;
                    }
                }
                Command::Results(_) => {}
                Command::Alert(a) if alert_code(a) == Some(1223) => {
                    abort = true;
                    break;
                }
                Command::Alert(a) if alert_code(a) == Some(1222) => {
                    // The server wants our next message: the queue has it.
                    replies.status("Alert", &a.cmd_id, 200, None, None);
                }
                _ if !trusted => {
                    has_commands = true;
                    // Not run for a server that has not proved itself.
                    replies.status(cmd.name(), cmd.cmd_id(), hdr_code, None, None);
                }
                _ => {
                    has_commands = true;
                    self.run_command(cmd, &server_id, &mut replies);
                    self.tree.settle();
                }
            }
        }
        if abort {
            self.summary.aborted = true;
            tracing::info!(target: "dmsched::dm", session = %self.session_id, "server aborted the session (1223)");
            return Ok(Step::Done(self.summary.clone()));
        }
        if retry {
            // Challenged: package 1 again, with the new credentials, after
            // our Status on the server's header (and its challenge: a new
            // server nonce goes with the first answer that is sent).
            self.outbox.queue.clear();
            if !hdr.no_resp
                && let Some(Command::Status(mut s)) = replies.out.into_iter().next()
            {
                s.chal = self.auth.challenge(self.tree)?;
                self.outbox.queue.push_back(Queued::new(Command::Status(s)));
            }
            self.outbox.queue.extend(self.pkg1.clone());
            self.large_in = None;
            return Ok(Step::Send(self.next_message()?));
        }
        if msg.body.final_
            && let Some(p) = self.large_in.take()
        {
            // The package ended inside a large object: 1225.
            replies.out.push(Command::Alert(Alert {
                data: Some("1225".into()),
                items: vec![Item {
                    target: Some(Locus::uri(p.target.clone())),
                    ..Item::default()
                }],
                ..Alert::default()
            }));
        }
        let more_wanted = !msg.body.final_;
        if more_wanted {
            replies.out.push(Command::Alert(Alert {
                data: Some("1222".into()),
                items: vec![Item {
                    target: Some(Locus::uri(hdr.source.loc_uri.clone())),
                    source: Some(Locus::uri(self.dev_id.clone())),
                    ..Item::default()
                }],
                ..Alert::default()
            }));
        }
        // A server that has not proved itself gets its 401/407 and the
        // challenge even on a message that would end the session, so that
        // it can sign again; nothing it said is taken as the end.
        if msg.body.final_ && !has_commands && self.outbox.is_empty() && trusted {
            tracing::info!(target: "dmsched::dm", session = %self.session_id,
                sent = self.summary.sent, received = self.summary.received, "DM session ended");
            return Ok(Step::Done(self.summary.clone()));
        }
        for c in &replies.out {
            if let Command::Status(s) = c
                && s.cmd != "SyncHdr"
            {
                self.summary.statuses.push((s.cmd.clone(), s.code()));
            }
        }
        // An answer goes out: now the header Status gets its challenge.
        if !hdr.no_resp
            && let Some(Command::Status(s)) = replies.out.first_mut()
        {
            s.chal = self.auth.challenge(self.tree)?;
        }
        // Header status first, then what was waiting, then the new replies.
        let mut new = replies.out.into_iter();
        let head: Vec<Queued> = new
            .by_ref()
            .take(usize::from(!hdr.no_resp))
            .map(Queued::new)
            .collect();
        for q in head.into_iter().rev() {
            self.outbox.queue.push_front(q);
        }
        self.outbox.queue.extend(new.map(Queued::new));
        Ok(Step::Send(self.next_message()?))
    }

    fn on_status(&mut self, st: &Status, trusted: bool) -> Result<Option<Verdict>, SessionError> {
        let msg_ref = st.msg_ref.as_deref().unwrap_or(&self.last_msg_id);
        if st.cmd == "SyncHdr" || st.cmd_ref.as_deref() == Some("0") {
            if msg_ref != self.last_msg_id {
                return Ok(None);
            }
            return self.auth.on_header_status(st, trusted, self.tree).map(Some);
        }
        let cmd_ref = st.cmd_ref.as_deref().unwrap_or("");
        // Only an authenticated server acknowledges an alert: a replayed or
        // forged Status must not drop a report from the queue.
        if let Some(&(_, _, i)) = self
            .alerts_in_flight
            .iter()
            .find(|(m, id, _)| m == msg_ref && id == cmd_ref)
            && trusted
            && (200..300).contains(&st.code())
            && !self.summary.alerts_delivered.contains(&i)
        {
            self.summary.alerts_delivered.push(i);
        }
        Ok(None)
    }

    fn run_command(&mut self, cmd: &Command, server_id: &str, replies: &mut Replies) {
        let max_obj = self.cfg.max_obj_size;
        let ex = Executor {
            tree: self.tree,
            server: server_id,
            ui: self.ui,
            max_obj_size: max_obj,
        };
        let pending_target = self.large_in.as_ref().map(|p| p.target.clone());
        match large::offer(&mut self.large_in, cmd, max_obj) {
            Chunk::Plain => {
                if let Some(t) = pending_target {
                    // An object was left unfinished by a different command.
                    self.large_in = None;
                    replies.out.push(Command::Alert(Alert {
                        data: Some("1225".into()),
                        items: vec![Item {
                            target: Some(Locus::uri(t)),
                            ..Item::default()
                        }],
                        ..Alert::default()
                    }));
                }
                ex.run(cmd, replies, false);
            }
            Chunk::Stored { code } => {
                let (name, c) = match cmd {
                    Command::Add(c) => ("Add", c),
                    Command::Replace(c) => ("Replace", c),
                    _ => unreachable!("only Add and Replace are chunked"),
                };
                let target = c
                    .items
                    .first()
                    .and_then(|i| i.target.as_ref())
                    .map(|t| t.loc_uri.as_str());
                replies.status(name, &c.cmd_id, code, target, None);
            }
            Chunk::Complete(Ok(whole)) => {
                // The Status goes to the last chunk's CmdID.
                let mut whole = *whole;
                set_same_id(&mut whole, cmd.cmd_id());
                ex.run(&whole, replies, false);
            }
            Chunk::Complete(Err(code)) => {
                let target = match cmd {
                    Command::Add(c) | Command::Replace(c) => c
                        .items
                        .first()
                        .and_then(|i| i.target.as_ref())
                        .map(|t| t.loc_uri.clone()),
                    _ => None,
                };
                replies.status(cmd.name(), cmd.cmd_id(), code, target.as_deref(), None);
            }
        }
        if let Some(limit) = self.peer_max_obj {
            refuse_oversized_results(&mut replies.out, limit);
        }
    }
}

/// Results larger than the server's MaxObjSize are not sent; the Status of
/// their command becomes 413 instead.
fn refuse_oversized_results(out: &mut Vec<Command>, limit: usize) {
    let mut i = 0;
    while i < out.len() {
        let too_big = matches!(&out[i], Command::Results(r)
            if r.items.iter().any(|it| it.data.as_ref().is_some_and(|d| d.as_bytes().len() > limit)));
        if too_big {
            let cmd_ref = out[i].clone();
            out.remove(i);
            if let Command::Results(r) = cmd_ref {
                for c in out.iter_mut() {
                    if let Command::Status(s) = c
                        && s.cmd_ref == r.cmd_ref
                        && s.cmd != "SyncHdr"
                    {
                        s.data = "413".into();
                    }
                }
            }
        } else {
            i += 1;
        }
    }
}

fn set_same_id(cmd: &mut Command, id: &str) {
    if let Command::Add(c) | Command::Replace(c) = cmd {
        c.cmd_id = id.to_string();
    }
}

fn alert_code(a: &Alert) -> Option<u16> {
    a.data.as_deref().and_then(|d| d.trim().parse().ok())
}

/// Session ids compare as hex numbers when they are, so `0A1F` = `a1f`;
/// Windows writes decimal unless asked (facts §8), which is accepted too.
fn same_session(theirs: &str, ours: &str) -> bool {
    let t = theirs.trim();
    if t.eq_ignore_ascii_case(ours) {
        return true;
    }
    match (u32::from_str_radix(t, 16), u32::from_str_radix(ours, 16)) {
        (Ok(a), Ok(b)) if a == b => true,
        _ => matches!((t.parse::<u32>(), u32::from_str_radix(ours, 16)), (Ok(a), Ok(b)) if a == b),
    }
}

/// A challenge for tests and for hosts that build their own messages.
pub fn challenge(scheme: AuthType, nonce: &Nonce) -> Chal {
    Chal {
        meta: Meta {
            type_: Some(scheme.meta_type().into()),
            format: Some("b64".into()),
            next_nonce: Some(nonce.to_b64()),
            ..Meta::default()
        },
    }
}
