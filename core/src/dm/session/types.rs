//! The public types of a session: its account, configuration, why it
//! started, what goes in and out, how it ended.

use crate::dm::auth::{AuthType, Nonce, Secret};
use crate::dm::notification::Notification;
use crate::dm::syncml::{CodecError, Encoding, Item};

/// A DM account as a session needs it (from `./DMAcc/<X>`).
#[derive(Clone, Debug)]
pub struct Account {
    /// The server's id (`ServerID`).
    pub server_id: String,
    /// Where package 1 goes (`AppAddr/<X>/Addr`).
    pub server_url: String,
    /// How the device proves itself (`AppAuth` CLCRED `AAuthType`).
    pub client_auth: AuthType,
    /// The device's user name toward the server (CLCRED `AAuthName`).
    pub client_name: String,
    /// The device's password (CLCRED `AAuthSecret`).
    pub client_secret: Secret,
    /// The nonce the server chose for the device (CLCRED `AAuthData`).
    pub client_nonce: Nonce,
    /// How the server must prove itself (SRVCRED). `None` is accepted only
    /// with [`Account::allow_unauthenticated_server`]: otherwise
    /// [`Session::start`](super::Session::start) refuses the account
    /// (6.1.1.2.1).
    pub server_auth: Option<AuthType>,
    /// The explicit opt-out from DM-level server authentication, for a
    /// deployment where something else authenticates the server (TLS with
    /// the server's own trust anchor; docs/dm-client.md). Must be `false`
    /// when `server_auth` is set.
    pub allow_unauthenticated_server: bool,
    /// The server's password (SRVCRED `AAuthSecret`).
    pub server_secret: Secret,
    /// The nonce the device chose for the server (SRVCRED `AAuthData`).
    pub server_nonce: Nonce,
    /// The session in which `server_nonce` authenticated a message, if it
    /// did ([`ManagementTree::save_nonce_use`](super::ManagementTree::save_nonce_use)):
    /// a session with this id does not accept it.
    pub server_nonce_used_in: Option<u16>,
}

/// Bounds and sizes of a session.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// XML or WBXML.
    pub encoding: Encoding,
    /// The largest message we accept (sent as our MaxMsgSize).
    pub max_msg_size: usize,
    /// The largest object we accept (sent as our MaxObjSize).
    pub max_obj_size: usize,
    /// The message size we assume for the server until it states one.
    pub peer_max_msg_size: usize,
    /// Messages (sent + received) after which the session is abandoned.
    pub max_messages: u32,
    /// Challenges answered before giving up.
    pub max_auth_retries: u32,
}

impl Default for SessionConfig {
    fn default() -> SessionConfig {
        SessionConfig {
            encoding: Encoding::Xml,
            max_msg_size: 64 * 1024,
            max_obj_size: 4 * 1024 * 1024,
            peer_max_msg_size: 64 * 1024,
            max_messages: 100,
            max_auth_retries: 2,
        }
    }
}

/// Why a session started.
#[derive(Clone, Debug)]
pub enum Initiation {
    /// The device decided (Alert 1201), with this session id.
    Client {
        /// The session id (any 16-bit value; written in upper-case hex).
        session_id: u16,
    },
    /// A verified package #0 (Alert 1200, its session id).
    Server(Notification),
}

/// An alert the device sends in package 1 (1224 client event, 1226 generic).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientAlert {
    /// 1224 or 1226.
    pub code: u16,
    /// `Correlator` (answering an asynchronous Exec).
    pub correlator: Option<String>,
    /// The item: Source LocURI, Meta Type/Format/Mark, Data.
    pub item: Item,
}

/// An HTTP answer handed to [`Session::receive`].
#[derive(Clone, Debug, Default)]
pub struct Incoming {
    /// HTTP status.
    pub http_status: u16,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// `x-syncml-hmac`, if any.
    pub hmac: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// A message to POST.
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// Where (the account's URL, or the last RespURI).
    pub url: String,
    /// `Content-Type`.
    pub content_type: &'static str,
    /// `x-syncml-hmac` header value, for HMAC accounts.
    pub hmac: Option<String>,
    /// The encoded message.
    pub body: Vec<u8>,
    /// Its MsgID.
    pub msg_id: u32,
}

/// The next step after an answer.
#[derive(Debug)]
pub enum Step {
    /// POST this and hand the answer to [`Session::receive`].
    Send(Outgoing),
    /// The session is over.
    Done(Summary),
}

/// What happened in a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Messages sent.
    pub sent: u32,
    /// Messages received.
    pub received: u32,
    /// Server commands answered (Status written), by code.
    pub statuses: Vec<(String, u16)>,
    /// Indexes (into the alerts given to [`Session::start`]) the server
    /// acknowledged with 2xx: these can be dropped from the host's queue.
    pub alerts_delivered: Vec<usize>,
    /// The server aborted (Alert 1223).
    pub aborted: bool,
}

/// A session could not go on.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    /// The server refused us (authentication, or a header status ≥ 300),
    /// or failed to authenticate itself.
    #[error("rejected with {code}: {reason}")]
    Rejected {
        /// The DM status.
        code: u16,
        /// Why.
        reason: String,
    },
    /// The server's message could not be decoded.
    #[error("bad message from the server: {0}")]
    Codec(#[from] CodecError),
    /// The server broke the protocol (wrong session id, HTTP error …).
    #[error("protocol: {0}")]
    Protocol(String),
    /// The session went on for too many messages.
    #[error("session abandoned after {0} messages")]
    TooLong(u32),
    /// Storing a nonce failed: nothing was sent that depends on it.
    #[error("storage: {0}")]
    Storage(String),
    /// The transport failed.
    #[error("transport: {0}")]
    Transport(String),
    /// A bug or an exhausted resource (the random generator).
    #[error("internal: {0}")]
    Internal(String),
}

impl SessionError {
    /// The kind every binding reports ([`crate::ErrorKind`]).
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            SessionError::Rejected { .. } => K::SessionRejected,
            SessionError::Codec(_) | SessionError::Protocol(_) | SessionError::TooLong(_) => {
                K::Protocol
            }
            SessionError::Storage(_) => K::Storage,
            SessionError::Transport(_) => K::Transport,
            SessionError::Internal(_) => K::Internal,
        }
    }
}
