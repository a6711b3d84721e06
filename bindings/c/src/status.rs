//! `dms_status`: every C function returns one. Codes are grouped in
//! numbered blocks and never renumbered; new codes are appended to a block.
//! It is the C face of the core's `ErrorKind` (one status per kind, the
//! kind's code as its value), so a failure is the same kind in C, Kotlin,
//! Swift and JNI.

#[cfg(feature = "agent")]
use dmsched_core::agent::AgentError;
use dmsched_core::shared::Failure;
use dmsched_core::{EngineError, ErrorKind};

use crate::boundary::fail;

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
    /// A host callback called into an engine or agent (not allowed; nothing done).
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
    /// 300–399, host: reserved (no call returns it: a failing callback
    /// fails the run or the operation with the kind of what it stopped).
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

/// The name of a status value (`dms_status_str`).
pub(crate) fn status_name(status: i32) -> &'static std::ffi::CStr {
    let name: &'static std::ffi::CStr = match status {
        0 => c"DMS_OK",
        300 => c"DMS_CALLBACK_FAILED",
        code => match ErrorKind::from_code(code) {
            Some(ErrorKind::InvalidArgument) => c"DMS_INVALID_ARGUMENT",
            Some(ErrorKind::Closed) => c"DMS_INVALID_HANDLE",
            Some(ErrorKind::ReentrantCall) => c"DMS_REENTRANT_CALL",
            Some(ErrorKind::Internal) => c"DMS_INTERNAL",
            Some(ErrorKind::InvalidSchedule) => c"DMS_INVALID_SCHEDULE",
            Some(ErrorKind::NotFound) => c"DMS_NOT_FOUND",
            Some(ErrorKind::AlreadyExists) => c"DMS_ALREADY_EXISTS",
            Some(ErrorKind::PermissionDenied) => c"DMS_PERMISSION_DENIED",
            Some(ErrorKind::LimitExceeded) => c"DMS_LIMIT_EXCEEDED",
            Some(ErrorKind::InvalidState) => c"DMS_INVALID_STATE",
            Some(ErrorKind::Storage) => c"DMS_STORAGE",
            Some(ErrorKind::CorruptStore) => c"DMS_CORRUPT_STORE",
            Some(ErrorKind::IncompatibleStore) => c"DMS_INCOMPATIBLE_STORE",
            Some(ErrorKind::NoAccount) => c"DMS_NO_ACCOUNT",
            Some(ErrorKind::NotificationRefused) => c"DMS_NOTIFICATION_REFUSED",
            Some(ErrorKind::SessionDeclined) => c"DMS_SESSION_DECLINED",
            Some(ErrorKind::SessionRejected) => c"DMS_SESSION_REJECTED",
            Some(ErrorKind::Protocol) => c"DMS_PROTOCOL",
            Some(ErrorKind::Transport) => c"DMS_TRANSPORT",
            _ => c"DMS_UNKNOWN_STATUS",
        },
    };
    name
}

impl From<ErrorKind> for dms_status {
    /// The one table (`ErrorKind::code` is the value, tested below).
    fn from(k: ErrorKind) -> Self {
        use dms_status as S;
        match k {
            ErrorKind::InvalidArgument => S::DMS_INVALID_ARGUMENT,
            ErrorKind::Closed => S::DMS_INVALID_HANDLE,
            ErrorKind::ReentrantCall => S::DMS_REENTRANT_CALL,
            ErrorKind::Internal => S::DMS_INTERNAL,
            ErrorKind::InvalidSchedule => S::DMS_INVALID_SCHEDULE,
            ErrorKind::NotFound => S::DMS_NOT_FOUND,
            ErrorKind::AlreadyExists => S::DMS_ALREADY_EXISTS,
            ErrorKind::PermissionDenied => S::DMS_PERMISSION_DENIED,
            ErrorKind::LimitExceeded => S::DMS_LIMIT_EXCEEDED,
            ErrorKind::InvalidState => S::DMS_INVALID_STATE,
            ErrorKind::Storage => S::DMS_STORAGE,
            ErrorKind::CorruptStore => S::DMS_CORRUPT_STORE,
            ErrorKind::IncompatibleStore => S::DMS_INCOMPATIBLE_STORE,
            ErrorKind::NoAccount => S::DMS_NO_ACCOUNT,
            ErrorKind::NotificationRefused => S::DMS_NOTIFICATION_REFUSED,
            ErrorKind::SessionDeclined => S::DMS_SESSION_DECLINED,
            ErrorKind::SessionRejected => S::DMS_SESSION_REJECTED,
            ErrorKind::Protocol => S::DMS_PROTOCOL,
            ErrorKind::Transport => S::DMS_TRANSPORT,
            // A kind added to the core later: the closest general one.
            _ => S::DMS_INTERNAL,
        }
    }
}

/// A core error as its status, its message kept for `dms_last_error`:
/// what `?` does in the entry points.
macro_rules! status_of_errors {
    ($($t:ty),*) => {$(
        impl From<$t> for dms_status {
            fn from(e: $t) -> Self {
                fail(e.kind().into(), e.api_message())
            }
        }
    )*};
}
status_of_errors!(EngineError);
#[cfg(feature = "agent")]
status_of_errors!(AgentError);

impl From<Failure> for dms_status {
    fn from(f: Failure) -> Self {
        fail(f.kind.into(), f.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15: `dms_status` is a 1:1 table of the core's `ErrorKind`:
    /// each kind has its own status, whose value is the kind's code.
    #[test]
    fn dms_status_is_a_one_to_one_table_of_error_kinds() {
        let mut seen = std::collections::BTreeSet::new();
        for k in ErrorKind::ALL {
            let s = dms_status::from(k);
            assert_eq!(s as i32, k.code(), "{k}");
            assert!(seen.insert(s as i32), "{k}: status shared");
            // dms_status_str names it as the header does.
            // SAFETY: a static NUL-terminated string.
            let name = unsafe { std::ffi::CStr::from_ptr(crate::dms_status_str(s as i32)) };
            assert_eq!(name.to_str().unwrap(), format!("{s:?}"), "{k}");
        }
        // SAFETY: as above.
        let unknown = unsafe { std::ffi::CStr::from_ptr(crate::dms_status_str(7)) };
        assert_eq!(unknown.to_str().unwrap(), "DMS_UNKNOWN_STATUS");
    }
}
