//! The server's shared state and the handling of one HTTP request body:
//! decode (XML or WBXML, as the Content-Type says or the bytes show),
//! find the account and the session, let the session answer, encode the
//! answer in the request's encoding, sign it (server HMAC), record it, and
//! persist changed nonces.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::Context as _;
use dmsched::dm::notification::{Initiator, Notification, UiMode};
use dmsched::dm::syncml::{self, Command, Encoding, Locus, Status, SyncBody, SyncHdr, SyncMl};
use ring::rand::{SecureRandom, SystemRandom};

use crate::account::{self, Account};
use crate::auth;
use crate::config::ServerConfig;
use crate::record::{
    Record, RecordedRequest, RecordedSession, RecordedTrigger, Recorder, SessionEnd, now,
};
use crate::script::Script;
use crate::session::{Cx, Limits, Session};

/// One HTTP request as the session layer sees it.
pub(crate) struct HttpIn<'a> {
    pub(crate) method: String,
    pub(crate) uri: String,
    pub(crate) query: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) content_type: Option<String>,
    pub(crate) hmac: Option<String>,
    pub(crate) body: &'a [u8],
    pub(crate) base_url: String,
}

/// The answer.
pub(crate) struct HttpOut {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
    pub(crate) hmac: Option<String>,
}

impl HttpOut {
    pub(crate) fn text(status: u16, text: impl Into<String>) -> HttpOut {
        HttpOut {
            status,
            content_type: "text/plain; charset=utf-8".into(),
            body: text.into().into_bytes(),
            hmac: None,
        }
    }
}

struct Inner {
    accounts: Vec<Account>,
    script: Arc<Script>,
    sessions: HashMap<(String, String), Session>,
    triggers: Vec<(String, u16)>,
    next_token: u64,
    accounts_file: Option<PathBuf>,
}

/// Everything the connections share.
pub(crate) struct Shared {
    pub(crate) recorder: Recorder,
    pub(crate) limits: Limits,
    pub(crate) body_limit: usize,
    pub(crate) io_timeout: std::time::Duration,
    inner: Mutex<Inner>,
    rng: SystemRandom,
    /// Fault injection: how many more answers to device messages carrying
    /// a Generic Alert 1226 to lose ([`crate::RunningServer::lose_answers_to_reports`]).
    pub(crate) lose_answers: std::sync::atomic::AtomicU32,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub(crate) fn new(config: &ServerConfig, recorder: Recorder) -> Shared {
        Shared {
            recorder,
            limits: Limits {
                max_msg_size: config.max_msg_size,
                max_obj_size: config.max_obj_size,
                max_auth_attempts: config.max_auth_attempts.max(1),
                max_messages: config.max_messages_per_session.max(1),
            },
            body_limit: config.body_limit,
            io_timeout: config.io_timeout,
            inner: Mutex::new(Inner {
                accounts: config.accounts.clone(),
                script: Arc::new(config.script.clone()),
                sessions: HashMap::new(),
                triggers: Vec::new(),
                next_token: 0,
                accounts_file: config.accounts_file.clone(),
            }),
            rng: SystemRandom::new(),
            lose_answers: std::sync::atomic::AtomicU32::new(0),
        }
    }

    fn request_record(req: &HttpIn<'_>) -> RecordedRequest {
        RecordedRequest {
            time: now(),
            method: req.method.clone(),
            uri: req.uri.clone(),
            headers: req.headers.clone(),
            content_type: req.content_type.clone(),
            hmac_header: req.hmac.is_some(),
            body_len: req.body.len(),
            ..RecordedRequest::default()
        }
    }

    /// Records a request refused before decoding (405, 408, 413 …).
    pub(crate) fn refuse(&self, req: &HttpIn<'_>, status: u16, why: &str) -> HttpOut {
        let mut rec = Self::request_record(req);
        rec.verdicts.push(why.to_string());
        rec.http_status = status;
        self.recorder.push(Record::Request(rec));
        HttpOut::text(status, format!("{why}\n"))
    }

    /// Handles one POSTed body.
    pub(crate) fn handle(&self, req: &HttpIn<'_>) -> HttpOut {
        let mut rec = Self::request_record(req);
        let out = self.handle_body(req, &mut rec);
        rec.http_status = out.status;
        rec.response_hmac = out.hmac.is_some();
        self.recorder.push(Record::Request(rec));
        out
    }

    fn handle_body(&self, req: &HttpIn<'_>, rec: &mut RecordedRequest) -> HttpOut {
        let declared = req.content_type.as_deref().and_then(Encoding::from_mime);
        let sniffed = Encoding::sniff(req.body);
        let encoding = match (declared, sniffed) {
            (Some(d), Some(s)) if d != s => {
                rec.verdicts
                    .push(format!("content type says {d:?} but the body is {s:?}"));
                s
            }
            (Some(d), _) => d,
            (None, Some(s)) => {
                rec.verdicts.push(format!(
                    "content type {:?} is not a DM type: sniffed {s:?}",
                    req.content_type
                ));
                s
            }
            (None, None) => {
                rec.verdicts
                    .push("decode failed: neither XML nor WBXML".into());
                return HttpOut::text(400, "cannot decode: neither XML nor WBXML\n");
            }
        };
        rec.encoding = Some(match encoding {
            Encoding::Xml => "xml".into(),
            Encoding::Wbxml => "wbxml".into(),
        });
        let limits = syncml::Limits {
            max_message_bytes: self.body_limit,
            ..syncml::Limits::default()
        };
        let msg = match syncml::decode_with(req.body, Some(encoding), &limits) {
            Ok(m) => m,
            Err(e) => {
                rec.verdicts.push(format!("decode failed: {e}"));
                return HttpOut::text(400, format!("cannot decode the SyncML DM message: {e}\n"));
            }
        };
        rec.device_id = Some(msg.hdr.source.loc_uri.trim().to_string());
        rec.session_id = Some(msg.hdr.session_id.trim().to_string());
        rec.msg_id = Some(msg.hdr.msg_id.trim().to_string());
        rec.message_xml = syncml::to_pretty_xml(&msg).ok();

        let reply = self.answer(req, &msg, encoding, &mut rec.verdicts);
        match syncml::encode(&reply.msg, encoding) {
            Ok(body) => {
                rec.response_xml = syncml::to_pretty_xml(&reply.msg).ok();
                let hmac = reply
                    .account
                    .as_ref()
                    .and_then(|a| auth::server_hmac(a, &body));
                HttpOut {
                    status: 200,
                    content_type: encoding.mime().into(),
                    body,
                    hmac,
                }
            }
            Err(e) => {
                rec.verdicts.push(format!("cannot encode the answer: {e}"));
                HttpOut::text(500, format!("cannot encode the answer: {e}\n"))
            }
        }
    }

    /// The SyncML answer, and the account as it is after the message (for
    /// the server's HMAC).
    fn answer(
        &self,
        req: &HttpIn<'_>,
        msg: &SyncMl,
        encoding: Encoding,
        verdicts: &mut Vec<String>,
    ) -> Answer {
        let device = msg.hdr.source.loc_uri.trim().to_string();
        let session_id = msg.hdr.session_id.trim().to_string();
        let mut inner = lock(&self.inner);
        let Inner {
            accounts,
            script,
            sessions,
            triggers,
            next_token,
            accounts_file,
        } = &mut *inner;
        let idx = accounts
            .iter()
            .position(|a| a.device_id == device)
            .or_else(|| {
                let name = msg.hdr.source.loc_name.as_deref()?;
                accounts.iter().position(|a| a.client_user == name)
            });
        let Some(idx) = idx else {
            verdicts.push(format!("unknown device {device:?}: 401"));
            self.recorder
                .complain(&device, &session_id, "no account for this device");
            return Answer {
                msg: stranger_reply(msg),
                account: None,
            };
        };
        let key = (device.clone(), session_id.clone());
        // A new session that happens to reuse the id of an ended one kept.
        if msg.hdr.msg_id.trim() == "1" && sessions.get(&key).is_some_and(|s| s.recorded) {
            sessions.remove(&key);
        }
        let session = sessions.entry(key.clone()).or_insert_with(|| {
            *next_token += 1;
            Session::new(
                &device,
                &session_id,
                format!("{:x}", *next_token),
                script.clone(),
            )
        });
        let before = accounts[idx].clone();
        let mut cx = Cx {
            account: &mut accounts[idx],
            recorder: &self.recorder,
            limits: &self.limits,
            rng: &self.rng,
            triggers,
            verdicts,
            encoding,
            base_url: &req.base_url,
            query: req.query.as_deref(),
            hmac_header: req.hmac.as_deref(),
            body: req.body,
        };
        let reply = session.handle(&mut cx, msg);
        if let Some(end) = reply.ended {
            // The device may still refuse the server's credential on the
            // last message (401/407 + Chal: a nonce it rotated): the session
            // is kept until the device's next session, to answer that.
            let keep =
                end == SessionEnd::Completed && session.last_credential_unconfirmed(cx.account);
            if !std::mem::replace(&mut session.recorded, true) {
                self.recorder.push(Record::Session(RecordedSession {
                    time: now(),
                    device_id: session.device_id.clone(),
                    session_id: session.session_id.clone(),
                    initiated_by: session.initiated_by.clone(),
                    trigger_matched: session.trigger_matched,
                    messages: session.msgs_in,
                    end,
                }));
            }
            if !keep {
                sessions.remove(&key);
            }
        }
        // Of the ended sessions kept, only the latest of this device stays.
        sessions.retain(|k, s| !(s.recorded && k.0 == device && k != &key));
        let account = accounts[idx].clone();
        if account != before
            && let Some(path) = accounts_file.as_ref()
            && let Err(e) = account::save_accounts(path, accounts)
        {
            self.recorder
                .complain(&device, &session_id, format!("cannot save accounts: {e:#}"));
        }
        Answer {
            msg: reply.msg,
            account: Some(account),
        }
    }

    pub(crate) fn trigger(&self, device_id: &str, ui_mode: UiMode) -> anyhow::Result<Vec<u8>> {
        let mut inner = lock(&self.inner);
        let account = inner
            .accounts
            .iter()
            .find(|a| a.device_id == device_id)
            .with_context(|| format!("no account for device {device_id:?}"))?;
        let mut session_id = 0u16;
        while session_id == 0 {
            let mut b = [0u8; 2];
            self.rng
                .fill(&mut b)
                .map_err(|_| anyhow::anyhow!("random number generator failed"))?;
            session_id = u16::from_be_bytes(b);
        }
        let n = Notification {
            version: 12,
            ui_mode,
            initiator: Initiator::Server,
            session_id,
            server_id: account.server_id.clone(),
            vendor: Vec::new(),
        };
        let bytes = n.encode(&account.server_password, &account.server_nonce)?;
        inner.triggers.push((device_id.to_string(), session_id));
        self.recorder.push(Record::Trigger(RecordedTrigger {
            time: now(),
            device_id: device_id.to_string(),
            session_id: n.session_id_hex(),
            hex: bytes.iter().map(|b| format!("{b:02x}")).collect(),
        }));
        Ok(bytes)
    }

    pub(crate) fn set_script(&self, script: Script) {
        lock(&self.inner).script = Arc::new(script);
    }

    pub(crate) fn accounts(&self) -> Vec<Account> {
        lock(&self.inner).accounts.clone()
    }

    pub(crate) fn set_account(&self, account: Account) {
        let mut inner = lock(&self.inner);
        match inner
            .accounts
            .iter_mut()
            .find(|a| a.device_id == account.device_id)
        {
            Some(a) => *a = account,
            None => inner.accounts.push(account),
        }
    }

    pub(crate) fn active_sessions(&self) -> usize {
        lock(&self.inner).sessions.len()
    }
}

struct Answer {
    msg: SyncMl,
    account: Option<Account>,
}

/// The answer to a device without an account: header Status 401, Final.
fn stranger_reply(msg: &SyncMl) -> SyncMl {
    SyncMl {
        hdr: SyncHdr {
            ver_dtd: "1.2".into(),
            ver_proto: "DM/1.2".into(),
            session_id: msg.hdr.session_id.clone(),
            msg_id: "1".into(),
            target: Locus::uri(msg.hdr.source.loc_uri.clone()),
            source: Locus::uri(msg.hdr.target.loc_uri.clone()),
            ..SyncHdr::default()
        },
        body: SyncBody {
            commands: vec![Command::Status(Status {
                cmd_id: "1".into(),
                msg_ref: Some(msg.hdr.msg_id.clone()),
                cmd_ref: Some("0".into()),
                cmd: "SyncHdr".into(),
                target_refs: vec![msg.hdr.target.loc_uri.clone()],
                source_refs: vec![msg.hdr.source.loc_uri.clone()],
                data: "401".into(),
                ..Status::default()
            })],
            final_: true,
        },
    }
}
