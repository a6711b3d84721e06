//! The tree's error: every failure carries the OMA DM status code that a DM
//! session reports back to the server (SyncML RepPro 1.2 §10, "Response
//! codes").

/// A failed tree operation. [`TreeError::status`] is the DM status code.
///
/// Nothing is changed in the stored tree when an operation returns an
/// error: each mutating call runs in its own transaction (or savepoint,
/// inside [`Tree::begin`](super::Tree::begin)).
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// 400: the URI, the ACL, the data or the request is malformed.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 403: the request is refused for a reason other than the ACL.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404: the node does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// 405: the command is not allowed on this node (access types of its
    /// description, a permanent node, a non-executable node, a secret).
    #[error("command not allowed: {0}")]
    NotAllowed(String),
    /// 406: an optional feature (a property, a list kind) is not supported.
    #[error("optional feature not supported: {0}")]
    NotSupported(String),
    /// 413: the value is larger than the tree accepts.
    #[error("request entity too large: {0}")]
    TooLarge(String),
    /// 414: the URI exceeds MaxDepth, MaxTotLen or MaxSegLen.
    #[error("URI too long: {0}")]
    UriTooLong(String),
    /// 415: the format (or MIME type) is unknown or not the node's.
    #[error("unsupported media type or format: {0}")]
    UnsupportedFormat(String),
    /// 418: Add of a node that already exists.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// 425: the server's ACL rights do not allow the command.
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// Any other status, e.g. one returned by a plug-in.
    #[error("status {status}: {message}")]
    Status {
        /// The DM status code.
        status: u16,
        /// What went wrong.
        message: String,
    },
    /// 500: the tree's database failed (disk full, I/O error, locked …).
    #[error("storage error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// 500: the tree's tables were written by a newer dmsched.
    #[error("tree schema version {found} is newer than this build supports ({supported})")]
    TooNew {
        /// Version in the file.
        found: u32,
        /// Newest version this build knows.
        supported: u32,
    },
    /// 500: command failed for an internal reason.
    #[error("command failed: {0}")]
    Failed(String),
}

impl TreeError {
    /// An error with DM status `status` (mapped to the matching variant
    /// when there is one), for plug-ins and exec handlers.
    pub fn with_status(status: u16, message: impl Into<String>) -> TreeError {
        let m = message.into();
        match status {
            400 => TreeError::BadRequest(m),
            403 => TreeError::Forbidden(m),
            404 => TreeError::NotFound(m),
            405 => TreeError::NotAllowed(m),
            406 => TreeError::NotSupported(m),
            413 => TreeError::TooLarge(m),
            414 => TreeError::UriTooLong(m),
            415 => TreeError::UnsupportedFormat(m),
            418 => TreeError::AlreadyExists(m),
            425 => TreeError::PermissionDenied(m),
            500 => TreeError::Failed(m),
            status => TreeError::Status { status, message: m },
        }
    }

    /// The OMA DM status code to report (400, 403, 404, 405, 406, 413, 414,
    /// 415, 418, 425, 500 …).
    pub fn status(&self) -> u16 {
        match self {
            TreeError::BadRequest(_) => 400,
            TreeError::Forbidden(_) => 403,
            TreeError::NotFound(_) => 404,
            TreeError::NotAllowed(_) => 405,
            TreeError::NotSupported(_) => 406,
            TreeError::TooLarge(_) => 413,
            TreeError::UriTooLong(_) => 414,
            TreeError::UnsupportedFormat(_) => 415,
            TreeError::AlreadyExists(_) => 418,
            TreeError::PermissionDenied(_) => 425,
            TreeError::Status { status, .. } => *status,
            TreeError::Storage(_) | TreeError::TooNew { .. } | TreeError::Failed(_) => 500,
        }
    }

    /// The human-readable message (never contains node values).
    pub fn message(&self) -> String {
        self.to_string()
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> TreeError {
    TreeError::BadRequest(msg.into())
}

pub(crate) fn not_found(uri: &str) -> TreeError {
    TreeError::NotFound(format!("no node {uri}"))
}

pub(crate) fn not_allowed(msg: impl Into<String>) -> TreeError {
    TreeError::NotAllowed(msg.into())
}

pub(crate) fn denied(server: &str, cmd: &str, uri: &str) -> TreeError {
    TreeError::PermissionDenied(format!("server {server:?} has no {cmd} right on {uri}"))
}

impl TreeError {
    /// The kind every binding reports ([`crate::ErrorKind`]): by DM status,
    /// the database's failures as storage.
    pub fn kind(&self) -> crate::ErrorKind {
        match self {
            TreeError::Storage(_) | TreeError::Failed(_) => crate::ErrorKind::Storage,
            TreeError::TooNew { .. } => crate::ErrorKind::IncompatibleStore,
            other => crate::ErrorKind::of_dm_status(other.status()),
        }
    }

    /// The message the bindings show: the error with its DM status.
    pub fn api_message(&self) -> String {
        format!("{self} (DM status {})", self.status())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_status_round_trips_the_code() {
        for code in [
            400, 403, 404, 405, 406, 413, 414, 415, 418, 425, 500, 420, 503,
        ] {
            assert_eq!(TreeError::with_status(code, "x").status(), code);
        }
    }
}
