//! `dms_status`: every C function returns one. Codes are grouped in
//! numbered blocks and never renumbered; new codes are appended to a block.

use dmsched_core::EngineError;
use dmsched_core::store::StoreError;

/// Result of every `dms_*` function. 0 is success; the message of the last
/// failure on the calling thread is `dms_last_error()`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dms_status {
    /// Success.
    DMS_OK = 0,
    /// 1–99, calls: a required pointer argument is NULL, or a value is malformed (not UTF-8, bad number).
    DMS_INVALID_ARGUMENT = 1,
    /// The engine handle is NULL, closed or not one this library made.
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
            EngineError::Storage(StoreError::Corrupt { .. }) => dms_status::DMS_CORRUPT_STORE,
            EngineError::Storage(StoreError::TooNew { .. }) => dms_status::DMS_INCOMPATIBLE_STORE,
            EngineError::Storage(_) => dms_status::DMS_STORAGE,
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
