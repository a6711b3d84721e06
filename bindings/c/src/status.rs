//! `dms_status`: every C function returns one. Codes are grouped in
//! numbered blocks and never renumbered; new codes are appended to a block.

use dmsched_core::EngineError;
use dmsched_core::agent::AgentError;
use dmsched_core::dm::client::ClientError;
use dmsched_core::dm::session::SessionError;
use dmsched_core::store::StoreError;
use dmsched_core::tree::TreeError;

/// Result of every `dms_*` function. 0 is success; the message of the last
/// failure on the calling thread is `dms_last_error()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dms_status {
    /// Success.
    DMS_OK = 0,
    /// 1–99, calls: a required pointer argument is NULL, or a value is
    /// malformed: not UTF-8, a bad number, an enum value (`int32_t`) outside
    /// its values, a server id (owner, requester) that is empty, over 256
    /// bytes or has control characters, a schedule id that is not 1–64 of
    /// `A-Z a-z 0-9 _ . -`, a bad tree URI, JSON that must be an object and
    /// is not. The message names the argument.
    DMS_INVALID_ARGUMENT = 1,
    /// The handle is NULL, closed, never issued, or of another kind (an
    /// agent's where an engine's is expected, or the reverse). Handles are
    /// ids, never reused: a stale one never reaches a newer object.
    DMS_INVALID_HANDLE = 2,
    /// A host callback called back into the same engine (not allowed).
    DMS_REENTRANT_CALL = 3,
    /// A bug inside the library (a Rust panic was caught); the engine stays usable.
    DMS_INTERNAL = 4,
    /// 100–199, schedules: the schedule document is invalid (one `JSON-path: message` per line in the error).
    DMS_INVALID_SCHEDULE = 100,
    /// No such schedule, or not visible to the requester.
    DMS_NOT_FOUND = 101,
    /// A live schedule with this id already exists for this owner.
    DMS_ALREADY_EXISTS = 102,
    /// The requester may not act on another authority's schedule.
    DMS_PERMISSION_DENIED = 103,
    /// A quota or limit would be exceeded.
    DMS_LIMIT_EXCEEDED = 104,
    /// The request does not fit the schedule's state (e.g. resume an active schedule).
    DMS_INVALID_STATE = 105,
    /// 200–299, storage: the store failed (disk full, I/O, locked); nothing was changed.
    DMS_STORAGE = 200,
    /// The store file is corrupt or not a dmsched store; it was left untouched.
    DMS_CORRUPT_STORE = 201,
    /// Stored data could not be decoded, or the store was written by a newer version.
    DMS_INCOMPATIBLE_STORE = 202,
    /// 300–399, host: a host callback reported a failure.
    DMS_CALLBACK_FAILED = 300,
    /// 400–499, DM client (full-client mode): no DM account for this server
    /// in `./DMAcc`, or an unusable one (no address, no client credential,
    /// an unknown auth type).
    DMS_NO_ACCOUNT = 400,
    /// A package #0 was malformed, not authentic, or a replay; no session ran.
    DMS_NOTIFICATION_REFUSED = 401,
    /// The user declined a server-initiated session (ui-mode 3, or no
    /// user-interaction callback to ask); no session ran.
    DMS_SESSION_DECLINED = 402,
    /// The server refused the device's credentials (or answered the header
    /// with a status of 300 or more), or failed to authenticate itself.
    DMS_SESSION_REJECTED = 403,
    /// The server broke the protocol: a message that does not decode, a
    /// wrong session id, an HTTP error, a session that went on too long.
    DMS_PROTOCOL = 404,
    /// The server could not be reached: connection, TLS (an untrusted
    /// certificate), timeout.
    DMS_TRANSPORT = 405,
}

fn store_status(e: &StoreError) -> dms_status {
    match e {
        StoreError::Corrupt { .. } => dms_status::DMS_CORRUPT_STORE,
        StoreError::TooNew { .. } => dms_status::DMS_INCOMPATIBLE_STORE,
        StoreError::EmptyPath => dms_status::DMS_INVALID_ARGUMENT,
        _ => dms_status::DMS_STORAGE,
    }
}

/// A tree refusal by its DM status code.
fn tree_status(e: &TreeError) -> dms_status {
    match e {
        TreeError::Storage(_) | TreeError::Failed(_) => dms_status::DMS_STORAGE,
        TreeError::TooNew { .. } => dms_status::DMS_INCOMPATIBLE_STORE,
        other => match other.status() {
            404 => dms_status::DMS_NOT_FOUND,
            418 => dms_status::DMS_ALREADY_EXISTS,
            403 | 405 | 425 => dms_status::DMS_PERMISSION_DENIED,
            413 | 414 => dms_status::DMS_LIMIT_EXCEEDED,
            s if s >= 500 => dms_status::DMS_STORAGE,
            _ => dms_status::DMS_INVALID_ARGUMENT,
        },
    }
}

impl From<&AgentError> for dms_status {
    fn from(e: &AgentError) -> Self {
        match e {
            AgentError::InvalidArgument(_) => dms_status::DMS_INVALID_ARGUMENT,
            AgentError::Tree(t) => tree_status(t),
            AgentError::Engine(x) => dms_status::from(x),
            AgentError::Store(s) => store_status(s),
            AgentError::Io(_) => dms_status::DMS_STORAGE,
            AgentError::Client(c) => match c {
                ClientError::Account(_) => dms_status::DMS_NO_ACCOUNT,
                ClientError::Tree(t) => tree_status(t),
                ClientError::State(_) => dms_status::DMS_STORAGE,
                ClientError::Notification(_) => dms_status::DMS_NOTIFICATION_REFUSED,
                ClientError::Declined => dms_status::DMS_SESSION_DECLINED,
                ClientError::Session(s) => match s {
                    SessionError::Rejected { .. } => dms_status::DMS_SESSION_REJECTED,
                    SessionError::Codec(_)
                    | SessionError::Protocol(_)
                    | SessionError::TooLong(_) => dms_status::DMS_PROTOCOL,
                    SessionError::Storage(_) => dms_status::DMS_STORAGE,
                    SessionError::Transport(_) => dms_status::DMS_TRANSPORT,
                    SessionError::Internal(_) => dms_status::DMS_INTERNAL,
                },
            },
        }
    }
}

/// The message for an agent error (engine problems one per line).
pub(crate) fn agent_message(e: &AgentError) -> String {
    match e {
        AgentError::Engine(x) => message(x),
        AgentError::Tree(t) | AgentError::Client(ClientError::Tree(t)) => {
            format!("{t} (DM status {})", t.status())
        }
        other => other.to_string(),
    }
}

impl From<&EngineError> for dms_status {
    fn from(e: &EngineError) -> Self {
        match e {
            EngineError::Invalid(_) => dms_status::DMS_INVALID_SCHEDULE,
            EngineError::InvalidArgument(_) => dms_status::DMS_INVALID_ARGUMENT,
            EngineError::NotFound { .. } => dms_status::DMS_NOT_FOUND,
            EngineError::Exists { .. } => dms_status::DMS_ALREADY_EXISTS,
            EngineError::PermissionDenied { .. } => dms_status::DMS_PERMISSION_DENIED,
            EngineError::LimitExceeded(_) => dms_status::DMS_LIMIT_EXCEEDED,
            EngineError::InvalidState(_) => dms_status::DMS_INVALID_STATE,
            EngineError::Storage(s) => store_status(s),
            EngineError::Decode(_) => dms_status::DMS_INCOMPATIBLE_STORE,
        }
    }
}

/// The message for an engine error: problems one per line.
pub(crate) fn message(e: &EngineError) -> String {
    match e {
        EngineError::Invalid(problems) => problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
