//! Errors of the SyncML codecs, each with the DM status it answers.

/// A message could not be decoded or encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The bytes are not well-formed XML or WBXML, or are truncated.
    #[error("malformed {format}: {message} (at byte {offset})")]
    Malformed {
        /// `XML` or `WBXML`.
        format: &'static str,
        /// What is wrong.
        message: String,
        /// Where, as far as it is known.
        offset: u64,
    },
    /// The document is well-formed but is not a SyncML DM message.
    #[error("not a SyncML DM message: {0}")]
    Invalid(String),
    /// A message larger than allowed.
    #[error("message of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Nesting or element count beyond the limits.
    #[error("{0}")]
    LimitExceeded(String),
    /// Neither XML nor WBXML, or a WBXML document of another DTD.
    #[error("unsupported content: {0}")]
    Unsupported(String),
    /// The model holds something the target format cannot carry.
    #[error("cannot encode: {0}")]
    Unencodable(String),
}

impl CodecError {
    /// The DM status code to answer with: 400 (malformed, invalid,
    /// limits), 413 (too large) or 415 (unsupported).
    pub fn status(&self) -> u16 {
        match self {
            CodecError::TooLarge { .. } => 413,
            CodecError::Unsupported(_) => 415,
            CodecError::Malformed { .. }
            | CodecError::Invalid(_)
            | CodecError::LimitExceeded(_)
            | CodecError::Unencodable(_) => 400,
        }
    }
}
