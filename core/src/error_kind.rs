//! [`ErrorKind`]: the one table of failure kinds every binding surface
//! reports. Every public error of the SDK has `kind()`; the C `dms_status`,
//! the UniFFI `DmschedError` (Kotlin `DmschedException`, Swift
//! `DmschedError`) and the JNI exception kinds are 1:1 tables of it (tested
//! in each binding crate), so one failure is the same kind on every
//! surface. Each error's `api_message()` is the text the surfaces show.

/// What kind of failure an SDK call met. Each has one code (the C
/// `dms_status` value) and one name (the UniFFI variant and the JNI kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A malformed argument (not a schedule document): bad UTF-8, JSON,
    /// time, id, URI, enum value, an unknown zone, an unusable setting.
    InvalidArgument,
    /// The handle or object is closed, was never issued, or is of another
    /// kind.
    Closed,
    /// A host callback called back into the SDK.
    ReentrantCall,
    /// A bug inside the library (a caught panic), or an exhausted resource.
    Internal,
    /// The schedule document is invalid (one `JSON-path: message` per line).
    InvalidSchedule,
    /// No such schedule or tree node, or not visible to the requester.
    NotFound,
    /// It exists already (a schedule id of this owner, a node, an account).
    AlreadyExists,
    /// The requester may not do this (another authority's schedule, an
    /// ACL).
    PermissionDenied,
    /// A quota or limit would be exceeded.
    LimitExceeded,
    /// The request does not fit the current state.
    InvalidState,
    /// The store or a state file failed (disk full, I/O, locked, in use);
    /// nothing was changed.
    Storage,
    /// The store file is corrupt or not a dmsched store; left untouched.
    CorruptStore,
    /// Stored data cannot be decoded, or was written by a newer version.
    IncompatibleStore,
    /// No DM account for the server, or an unusable one.
    NoAccount,
    /// A package #0 was malformed, not authentic, or a replay.
    NotificationRefused,
    /// The user declined a server-initiated session.
    SessionDeclined,
    /// The server refused the device's credentials (or failed to
    /// authenticate itself).
    SessionRejected,
    /// The server broke the protocol (undecodable message, wrong session
    /// id, HTTP error, too long a session).
    Protocol,
    /// The server could not be reached (connection, TLS, timeout).
    Transport,
}

impl ErrorKind {
    /// Every kind, in code order.
    pub const ALL: [ErrorKind; 19] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Closed,
        ErrorKind::ReentrantCall,
        ErrorKind::Internal,
        ErrorKind::InvalidSchedule,
        ErrorKind::NotFound,
        ErrorKind::AlreadyExists,
        ErrorKind::PermissionDenied,
        ErrorKind::LimitExceeded,
        ErrorKind::InvalidState,
        ErrorKind::Storage,
        ErrorKind::CorruptStore,
        ErrorKind::IncompatibleStore,
        ErrorKind::NoAccount,
        ErrorKind::NotificationRefused,
        ErrorKind::SessionDeclined,
        ErrorKind::SessionRejected,
        ErrorKind::Protocol,
        ErrorKind::Transport,
    ];

    /// The C `dms_status` value (blocks of 100, never renumbered).
    pub const fn code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => 1,
            ErrorKind::Closed => 2,
            ErrorKind::ReentrantCall => 3,
            ErrorKind::Internal => 4,
            ErrorKind::InvalidSchedule => 100,
            ErrorKind::NotFound => 101,
            ErrorKind::AlreadyExists => 102,
            ErrorKind::PermissionDenied => 103,
            ErrorKind::LimitExceeded => 104,
            ErrorKind::InvalidState => 105,
            ErrorKind::Storage => 200,
            ErrorKind::CorruptStore => 201,
            ErrorKind::IncompatibleStore => 202,
            ErrorKind::NoAccount => 400,
            ErrorKind::NotificationRefused => 401,
            ErrorKind::SessionDeclined => 402,
            ErrorKind::SessionRejected => 403,
            ErrorKind::Protocol => 404,
            ErrorKind::Transport => 405,
        }
    }

    /// The name: the UniFFI error variant and the JNI exception's `kind`.
    pub const fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::Closed => "Closed",
            ErrorKind::ReentrantCall => "ReentrantCall",
            ErrorKind::Internal => "Internal",
            ErrorKind::InvalidSchedule => "InvalidSchedule",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::PermissionDenied => "PermissionDenied",
            ErrorKind::LimitExceeded => "LimitExceeded",
            ErrorKind::InvalidState => "InvalidState",
            ErrorKind::Storage => "Storage",
            ErrorKind::CorruptStore => "CorruptStore",
            ErrorKind::IncompatibleStore => "IncompatibleStore",
            ErrorKind::NoAccount => "NoAccount",
            ErrorKind::NotificationRefused => "NotificationRefused",
            ErrorKind::SessionDeclined => "SessionDeclined",
            ErrorKind::SessionRejected => "SessionRejected",
            ErrorKind::Protocol => "Protocol",
            ErrorKind::Transport => "Transport",
        }
    }

    /// The kind of a C status value, if it is one.
    pub fn from_code(code: i32) -> Option<ErrorKind> {
        ErrorKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The kind of a DM status a tree operation answered (404 not found,
    /// 418 exists, 403/405/425 denied, 413/414 too large, ≥ 500 storage,
    /// other 4xx a bad argument, anything else a protocol matter).
    pub fn of_dm_status(status: u16) -> ErrorKind {
        match status {
            404 => ErrorKind::NotFound,
            418 => ErrorKind::AlreadyExists,
            403 | 405 | 425 => ErrorKind::PermissionDenied,
            413 | 414 => ErrorKind::LimitExceeded,
            400..=499 => ErrorKind::InvalidArgument,
            500.. => ErrorKind::Storage,
            _ => ErrorKind::Protocol,
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind;

    /// Issue 15: codes and names are unique, and a code leads back to its
    /// kind.
    #[test]
    fn every_kind_has_its_own_code_and_name() {
        let mut codes = std::collections::BTreeSet::new();
        let mut names = std::collections::BTreeSet::new();
        for k in ErrorKind::ALL {
            assert!(codes.insert(k.code()), "{k}: code {} twice", k.code());
            assert!(names.insert(k.name()), "{k}: name twice");
            assert_eq!(ErrorKind::from_code(k.code()), Some(k));
            assert_eq!(format!("{k:?}"), k.name());
        }
        assert_eq!(ErrorKind::from_code(0), None);
        assert_eq!(ErrorKind::from_code(300), None);
    }
}
