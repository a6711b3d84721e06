//! The engine's error type.

use crate::model::Problem;
use crate::store::StoreError;

/// Why an engine call failed. Nothing already stored is lost by a failure.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The schedule document is invalid; one problem per JSON path.
    #[error("invalid schedule: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// An argument that is not a schedule document is malformed (e.g. an unknown time zone).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// No such schedule (or not visible to the requester).
    #[error("no schedule {id:?} of owner {owner:?}")]
    NotFound {
        /// Owner asked for.
        owner: String,
        /// Schedule id asked for.
        id: String,
    },
    /// A live schedule with this id already exists for this owner.
    #[error("schedule {id:?} of owner {owner:?} already exists")]
    Exists {
        /// Owner.
        owner: String,
        /// Schedule id.
        id: String,
    },
    /// The requester may not act on another authority's schedule.
    #[error("server {requester:?} may not {action} schedule {id:?} of {owner:?}")]
    PermissionDenied {
        /// Who asked.
        requester: String,
        /// Who owns it.
        owner: String,
        /// Which schedule.
        id: String,
        /// What was asked.
        action: &'static str,
    },
    /// A quota or limit would be exceeded.
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// The request does not fit the schedule's state (e.g. resume an active schedule).
    #[error("{0}")]
    InvalidState(String),
    /// The store failed; the change was not made.
    #[error(transparent)]
    Storage(#[from] StoreError),
    /// Stored data could not be decoded.
    #[error("stored data is unreadable: {0}")]
    Decode(String),
}

impl EngineError {
    /// The kind every binding reports ([`crate::ErrorKind`]).
    pub fn kind(&self) -> crate::ErrorKind {
        use crate::ErrorKind as K;
        match self {
            EngineError::Invalid(_) => K::InvalidSchedule,
            EngineError::InvalidArgument(_) => K::InvalidArgument,
            EngineError::NotFound { .. } => K::NotFound,
            EngineError::Exists { .. } => K::AlreadyExists,
            EngineError::PermissionDenied { .. } => K::PermissionDenied,
            EngineError::LimitExceeded(_) => K::LimitExceeded,
            EngineError::InvalidState(_) => K::InvalidState,
            EngineError::Storage(s) => s.kind(),
            EngineError::Decode(_) => K::IncompatibleStore,
        }
    }

    /// The message the bindings show: an invalid document's problems one
    /// per line (`JSON-path: message`), anything else as displayed.
    pub fn api_message(&self) -> String {
        match self {
            EngineError::Invalid(problems) => problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
            other => other.to_string(),
        }
    }
}
