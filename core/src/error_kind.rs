//! [`ErrorKind`]: the one table of failure kinds every binding surface
//! reports. Every public error of the SDK has `kind()`; the C `dms_status`,
//! the UniFFI `DmschedError` (Kotlin `DmschedException`, Swift
//! `DmschedError`) and the JNI exception kinds are 1:1 tables of it (tested
//! in each binding crate), so one failure is the same kind on every
//! surface. Each error's `api_message()` is the text the surfaces show.

/// Calls `$m! { … }` with every failure kind — its documentation, its
/// name and its code (the C `dms_status` value: blocks of 100, never
/// renumbered) — in code order: [`ErrorKind`] here and the UniFFI error
/// enum in the binding are generated from this one list.
#[macro_export]
macro_rules! for_each_error_kind {
    ($m:ident) => {
        $m! {
            /// A malformed argument (not a schedule document): bad UTF-8, JSON,
            /// time, id, URI, enum value, an unknown zone, an unusable setting.
            InvalidArgument = 1,
            /// The handle or object is closed, was never issued, or is of another
            /// kind.
            Closed = 2,
            /// A host callback called back into the SDK.
            ReentrantCall = 3,
            /// A bug inside the library (a caught panic), or an exhausted resource.
            Internal = 4,
            /// The schedule document is invalid (one `JSON-path: message` per line).
            InvalidSchedule = 100,
            /// No such schedule or tree node, or not visible to the requester.
            NotFound = 101,
            /// It exists already (a schedule id of this owner, a node, an account).
            AlreadyExists = 102,
            /// The requester may not do this (another authority's schedule, an
            /// ACL).
            PermissionDenied = 103,
            /// A quota or limit would be exceeded.
            LimitExceeded = 104,
            /// The request does not fit the current state.
            InvalidState = 105,
            /// The store or a state file failed (disk full, I/O, locked, in use);
            /// nothing was changed.
            Storage = 200,
            /// The store file is corrupt or not a dmsched store; left untouched.
            CorruptStore = 201,
            /// Stored data cannot be decoded, or was written by a newer version.
            IncompatibleStore = 202,
            /// No DM account for the server, or an unusable one.
            NoAccount = 400,
            /// A package #0 was malformed, not authentic, or a replay.
            NotificationRefused = 401,
            /// The user declined a server-initiated session.
            SessionDeclined = 402,
            /// The server refused the device's credentials (or failed to
            /// authenticate itself).
            SessionRejected = 403,
            /// The server broke the protocol (undecodable message, wrong session
            /// id, HTTP error, too long a session).
            Protocol = 404,
            /// The server could not be reached (connection, TLS, timeout).
            Transport = 405,
        }
    };
}

macro_rules! error_kind {
    ($($(#[$doc:meta])* $kind:ident = $code:literal,)*) => {
        /// What kind of failure an SDK call met. Each has one code (the C
        /// `dms_status` value) and one name (the UniFFI variant and the JNI
        /// kind).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $($(#[$doc])* $kind,)*
        }

        impl ErrorKind {
            /// Every kind, in code order.
            pub const ALL: [ErrorKind; [$(ErrorKind::$kind,)*].len()] = [$(ErrorKind::$kind,)*];

            /// The C `dms_status` value (blocks of 100, never renumbered).
            pub const fn code(self) -> i32 {
                match self {
                    $(ErrorKind::$kind => $code,)*
                }
            }

            /// The name: the UniFFI error variant and the JNI exception's `kind`.
            pub const fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => stringify!($kind),)*
                }
            }
        }
    };
}

for_each_error_kind!(error_kind);

impl ErrorKind {
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
