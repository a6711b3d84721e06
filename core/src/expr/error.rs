//! Parse and evaluation errors.

/// An expression could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExprError {
    /// Bad syntax at a byte offset.
    #[error("at offset {offset}: {message}")]
    Syntax {
        /// Byte offset in the source.
        offset: usize,
        /// What is wrong.
        message: String,
    },
    /// The source is longer than allowed.
    #[error(
        "expression is {len} bytes, more than the limit of {max} (this device's Capabilities/MaxExprBytes)"
    )]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Nested deeper than allowed.
    #[error(
        "expression nests deeper than the limit of {max} (this device's Capabilities/MaxExprDepth)"
    )]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// More terms than allowed.
    #[error("expression has more than {max} terms")]
    TooManyNodes {
        /// The limit.
        max: usize,
    },
}

/// An expression could not be evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A referenced node does not exist.
    #[error("node {0} does not exist")]
    MissingNode(String),
    /// A referenced event field is absent (or there is no event).
    #[error("event field {0} is not present")]
    MissingEventField(String),
    /// Operand types do not fit the operator.
    #[error("{0}")]
    Type(String),
    /// The host failed to read a node.
    #[error("reading {uri} failed: {message}")]
    Host {
        /// The node.
        uri: String,
        /// The host's message.
        message: String,
    },
    /// A condition did not evaluate to a boolean.
    #[error("condition evaluates to {0}, not a boolean")]
    NotBool(String),
}
