//! Authentication inside a session (OMA DM Security 1.2, facts §5), both
//! ways: the device's credential toward the server (Basic, MD5 digest or
//! HMAC) and the server's toward the device, with nonces persisted through
//! [`ManagementTree::save_nonce`] before they are used or announced.
//!
//! # No server credential is accepted twice
//!
//! MD5: the stored server nonce is replaced the moment a credential
//! verifies with it or fails, so the same digest never verifies again.
//! HMAC: every answer the device sends carries a new nonce (stored first),
//! so a message of this session cannot be replayed later in it. What is
//! left is the server's *last* message of a session: nothing follows it, so
//! the nonce it was signed with stays stored, and the legitimate server
//! rightly uses it for its package #0 and its first message of the next
//! session (OMA DM Security 1.2). A replay of that last message can only
//! pass the session check in a later session with the *same* session id.
//! So the session id in which the stored nonce first authenticated a
//! message is stored with it ([`ManagementTree::save_nonce_use`], before
//! the message is acted on; a new nonce clears it), and a stored nonce that
//! authenticated a message in an earlier session with the current session
//! id is not accepted: the server gets 401 with a fresh nonce and signs
//! again (one round trip, only when 16-bit session ids repeat).

use ring::rand::SystemRandom;

use super::target::{ManagementTree, NonceFor};
use super::{Account, SessionError};
use crate::dm::auth::{self, AuthType, HmacHeader, Nonce};
use crate::dm::syncml::{Chal, Cred, Meta, Status, SyncHdr};

/// What the server said about our credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Accepted (200 for this message, 212 for the session).
    Accepted,
    /// Challenged: send the package again with fresh credentials.
    Retry,
}

pub(crate) struct AuthState {
    pub(crate) acct: Account,
    /// The server answered 212: no more Cred this session.
    client_ok: bool,
    retries: u32,
    max_retries: u32,
    /// The server proved itself once this session (Basic/MD5).
    server_ok: bool,
    server_failures: u32,
    /// A challenge is due in our next Status on the server's header: with
    /// the (already rotated) server nonce (`true`) or without (`false`,
    /// Basic). Never downgraded before it is sent.
    chal_due: Option<bool>,
    /// The nonces the server's credential verified with this session (MD5):
    /// the stored nonce is rotated at once (every time it verifies), and
    /// later messages of the same session may still use these.
    session_nonces: Vec<Nonce>,
    /// The HMAC MACs of the server's messages accepted in this session.
    hmacs_accepted: Vec<String>,
    /// This session's id.
    session_id: u16,
    /// The stored server nonce was issued by this session, or first
    /// authenticated a message in it.
    nonce_of_this_session: bool,
    rng: SystemRandom,
}

fn chal(scheme: AuthType, nonce: Option<&Nonce>) -> Chal {
    Chal {
        meta: Meta {
            type_: Some(scheme.meta_type().to_string()),
            format: Some("b64".into()),
            next_nonce: nonce.map(Nonce::to_b64),
            ..Meta::default()
        },
    }
}

impl AuthState {
    pub(crate) fn new(acct: Account, max_retries: u32, session_id: u16) -> AuthState {
        AuthState {
            session_id,
            hmacs_accepted: Vec::new(),
            nonce_of_this_session: false,
            acct,
            client_ok: false,
            retries: 0,
            max_retries,
            server_ok: false,
            server_failures: 0,
            chal_due: None,
            session_nonces: Vec::new(),
            rng: SystemRandom::new(),
        }
    }

    /// The `Cred` for our next SyncHdr: Basic and MD5 until the server
    /// answers 212; HMAC travels in the HTTP header instead.
    pub(crate) fn cred(&self) -> Option<Cred> {
        if self.client_ok {
            return None;
        }
        let a = &self.acct;
        let (scheme, data) = match a.client_auth {
            AuthType::Basic => (
                AuthType::Basic,
                auth::basic_credential(&a.client_name, a.client_secret.expose()),
            ),
            AuthType::Md5 => (
                AuthType::Md5,
                auth::md5_digest(
                    &a.client_name,
                    a.client_secret.expose(),
                    a.client_nonce.as_bytes(),
                ),
            ),
            AuthType::Hmac => return None,
        };
        Some(Cred {
            meta: Some(Meta {
                type_: Some(scheme.meta_type().to_string()),
                format: Some("b64".into()),
                ..Meta::default()
            }),
            data,
        })
    }

    /// The `x-syncml-hmac` header value for an outgoing body.
    pub(crate) fn sign(&self, body: &[u8]) -> Option<String> {
        let a = &self.acct;
        (a.client_auth == AuthType::Hmac).then(|| {
            HmacHeader::sign(
                &a.client_name,
                a.client_secret.expose(),
                a.client_nonce.as_bytes(),
                body,
            )
            .to_string()
        })
    }

    /// The server's Status for our SyncHdr. `trusted` says whether the
    /// server proved itself in this message, so that a nonce it sends may
    /// replace the stored one (facts §5: never from an unauthenticated peer).
    pub(crate) fn on_header_status(
        &mut self,
        st: &Status,
        trusted: bool,
        tree: &dyn ManagementTree,
    ) -> Result<Verdict, SessionError> {
        if let Some(ch) = &st.chal {
            self.take_chal(ch, trusted, tree)?;
        }
        match st.code() {
            212 => {
                self.client_ok = true;
                Ok(Verdict::Accepted)
            }
            200 => Ok(Verdict::Accepted),
            code @ (401 | 407) => {
                if st.chal.is_none() || self.retries >= self.max_retries {
                    return Err(SessionError::Rejected {
                        code,
                        reason: if st.chal.is_none() {
                            "the server refused our credentials without a challenge".into()
                        } else {
                            format!(
                                "the server refused our credentials {} times",
                                self.retries + 1
                            )
                        },
                    });
                }
                self.retries += 1;
                self.client_ok = false;
                Ok(Verdict::Retry)
            }
            code => Err(SessionError::Rejected {
                code,
                reason: "the server refused the session".into(),
            }),
        }
    }

    fn take_chal(
        &mut self,
        ch: &Chal,
        trusted: bool,
        tree: &dyn ManagementTree,
    ) -> Result<(), SessionError> {
        if let Some(t) = &ch.meta.type_ {
            match AuthType::from_meta_type(t) {
                Some(s) if s == self.acct.client_auth => {}
                // A server asking for another scheme than provisioned (a
                // downgrade to Basic, say) is refused rather than obeyed.
                _ => {
                    return Err(SessionError::Rejected {
                        code: 401,
                        reason: format!(
                            "the server challenged with {t}, the account uses {}",
                            self.acct.client_auth.meta_type()
                        ),
                    });
                }
            }
        }
        if let Some(n) = &ch.meta.next_nonce {
            if !trusted {
                tracing::warn!(target: "dmsched::dm", server = %self.acct.server_id,
                    "nonce from an unauthenticated server ignored");
                return Ok(());
            }
            let nonce = Nonce::from_b64(n)
                .map_err(|e| SessionError::Protocol(format!("NextNonce: {e}")))?;
            tree.save_nonce(&self.acct.server_id, NonceFor::Client, &nonce)
                .map_err(|e| SessionError::Storage(e.to_string()))?;
            self.acct.client_nonce = nonce;
        }
        Ok(())
    }

    /// Checks the server's credential on an incoming message and returns
    /// the code for our Status on its SyncHdr; [`Self::challenge`] then
    /// gives the challenge to put in it, if one is due.
    pub(crate) fn check_server(
        &mut self,
        hdr: &SyncHdr,
        hmac: Option<&str>,
        body: &[u8],
        tree: &dyn ManagementTree,
    ) -> Result<u16, SessionError> {
        let Some(scheme) = self.acct.server_auth else {
            return Ok(200);
        };
        let usable = self.stored_nonce_usable();
        // An MD5 credential verified with the stored nonce (not one of the
        // nonces already used in this session).
        let mut with_stored = false;
        let a = &self.acct;
        let code = match scheme {
            AuthType::Hmac => match hmac.map(HmacHeader::parse) {
                None => 407,
                Some(Err(_)) => 401,
                Some(Ok(h)) if h.username != a.server_id => 401,
                Some(Ok(_)) if !usable => 401,
                // A MAC this session already accepted: the same message
                // again (possible only while no answer has replaced the
                // nonce, as after a header with NoResp).
                Some(Ok(h)) if self.hmacs_accepted.contains(&h.mac) => 401,
                Some(Ok(h)) => {
                    match auth::verify_hmac(
                        &h,
                        a.server_secret.expose(),
                        a.server_nonce.as_bytes(),
                        body,
                    ) {
                        Ok(()) => {
                            self.hmacs_accepted.push(h.mac);
                            200
                        }
                        Err(_) => 401,
                    }
                }
            },
            AuthType::Basic | AuthType::Md5 if self.server_ok && hdr.cred.is_none() => 200,
            AuthType::Basic | AuthType::Md5 => match &hdr.cred {
                None => 407,
                Some(c) => {
                    let ty = c.meta.as_ref().and_then(|m| m.type_.as_deref());
                    let declared = ty
                        .map(AuthType::from_meta_type)
                        .unwrap_or(Some(AuthType::Basic));
                    let ok = declared == Some(scheme)
                        && match scheme {
                            AuthType::Basic => auth::parse_basic(&c.data)
                                .map(|(u, p)| u == a.server_id && p == a.server_secret.expose())
                                .unwrap_or(false),
                            _ => {
                                let with = |n: &Nonce| {
                                    auth::verify_md5(
                                        &a.server_id,
                                        a.server_secret.expose(),
                                        n.as_bytes(),
                                        &c.data,
                                    )
                                };
                                with_stored = usable && with(&a.server_nonce);
                                with_stored
                                    || self.server_ok && self.session_nonces.iter().any(with)
                            }
                        };
                    if ok { 212 } else { 401 }
                }
            },
        };
        if code == 212 {
            self.server_ok = true;
        }
        if scheme == AuthType::Hmac && code == 200 {
            self.note_nonce_use(tree)?;
        }
        if code >= 400 {
            self.server_failures += 1;
            if self.server_failures > self.max_retries {
                return Err(SessionError::Rejected {
                    code,
                    reason: "the server failed to authenticate itself".into(),
                });
            }
        }
        // HMAC wants a new nonce for every message; MD5 gets one on every
        // failure and whenever the stored one verified (once per session
        // unless the server also uses the nonces it is sent within the
        // session). Basic has none. The
        // stored nonce is rotated now, before anything is answered: a
        // credential is never accepted twice, whatever happens to this
        // session (no answer, an abort). If the server never receives the
        // new nonce, its next credential fails once and is challenged with
        // it (one round trip, not a replay window).
        //
        // HMAC rotates with every message, when the answer carrying the new
        // nonce goes out ([`Self::challenge`]): the server must have it to
        // sign its next message.
        let rotate = match scheme {
            AuthType::Md5 => code >= 400 || with_stored,
            AuthType::Hmac | AuthType::Basic => false,
        };
        if rotate {
            if with_stored {
                self.session_nonces.push(self.acct.server_nonce.clone());
            }
            self.new_server_nonce(tree)?;
        }
        let due = match scheme {
            _ if rotate => Some(true),
            AuthType::Hmac => Some(true),
            _ if code >= 400 => Some(false),
            _ => None,
        };
        // A challenge not yet sent stays due.
        self.chal_due = match (self.chal_due, due) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), _) | (_, Some(false)) => Some(false),
            (None, None) => None,
        };
        Ok(code)
    }

    /// The challenge for our Status on the server's SyncHdr, if one is due:
    /// MD5 with the nonce stored when the server's credential was checked,
    /// HMAC with a fresh one, stored before it is returned.
    pub(crate) fn challenge(
        &mut self,
        tree: &dyn ManagementTree,
    ) -> Result<Option<Chal>, SessionError> {
        let Some(scheme) = self.acct.server_auth else {
            return Ok(None);
        };
        match self.chal_due.take() {
            None => Ok(None),
            Some(false) => Ok(Some(chal(scheme, None))),
            Some(true) if scheme == AuthType::Hmac => {
                self.new_server_nonce(tree)?;
                Ok(Some(chal(scheme, Some(&self.acct.server_nonce))))
            }
            // MD5: the nonce was rotated (and stored) when the check was made.
            Some(true) => Ok(Some(chal(scheme, Some(&self.acct.server_nonce)))),
        }
    }

    /// Whether the stored server nonce may verify a credential in this
    /// session: not when it authenticated a message in an earlier session
    /// that had this session's id (that message could be replayed; see the
    /// module documentation).
    fn stored_nonce_usable(&self) -> bool {
        self.nonce_of_this_session || self.acct.server_nonce_used_in != Some(self.session_id)
    }

    /// Records, durably and before the message is acted on, that the stored
    /// server nonce authenticated a message in this session.
    fn note_nonce_use(&mut self, tree: &dyn ManagementTree) -> Result<(), SessionError> {
        if self.acct.server_nonce_used_in != Some(self.session_id) {
            tree.save_nonce_use(&self.acct.server_id, self.session_id)
                .map_err(|e| SessionError::Storage(e.to_string()))?;
            self.acct.server_nonce_used_in = Some(self.session_id);
        }
        self.nonce_of_this_session = true;
        Ok(())
    }

    /// Generates, stores and takes a new server nonce.
    fn new_server_nonce(&mut self, tree: &dyn ManagementTree) -> Result<(), SessionError> {
        let nonce =
            Nonce::generate(&self.rng).map_err(|e| SessionError::Internal(e.to_string()))?;
        tree.save_nonce(&self.acct.server_id, NonceFor::Server, &nonce)
            .map_err(|e| SessionError::Storage(e.to_string()))?;
        self.acct.server_nonce = nonce;
        self.acct.server_nonce_used_in = None;
        self.nonce_of_this_session = true;
        Ok(())
    }
}
