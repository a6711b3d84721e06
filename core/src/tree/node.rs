//! What goes into the tree (a [`Payload`], the Item of an Add or Replace)
//! and what comes out of it (an [`Item`], the Item of a Results).

use super::format::Format;

/// The data of an Add, Replace or plug-in write: Meta Format, Meta Type and
/// Data of a DM Item.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Payload {
    /// Meta Format. On Add, `None` means `chr` (the DM default) and
    /// `Some(Format::Node)` an interior node; on Replace, `None` keeps the
    /// node's format.
    pub format: Option<Format>,
    /// Meta Type (MIME type of a leaf, DDF type of an interior node). On
    /// Add, `None` means `text/plain` for a leaf.
    pub mime: Option<String>,
    /// The value (empty for an interior node).
    pub data: Vec<u8>,
}

impl Payload {
    /// A leaf of `format` with `data`.
    pub fn leaf(format: Format, data: impl Into<Vec<u8>>) -> Payload {
        Payload {
            format: Some(format),
            mime: None,
            data: data.into(),
        }
    }

    /// A `chr` leaf.
    pub fn chr(text: &str) -> Payload {
        Payload::leaf(Format::Chr, text.as_bytes())
    }

    /// An interior node.
    pub fn interior() -> Payload {
        Payload {
            format: Some(Format::Node),
            ..Payload::default()
        }
    }

    /// The same payload with Meta Type `mime`.
    pub fn with_mime(mut self, mime: &str) -> Payload {
        self.mime = Some(mime.to_string());
        self
    }

    /// True if this payload makes an interior node.
    pub fn is_interior(&self) -> bool {
        self.format == Some(Format::Node)
    }
}

impl std::fmt::Debug for Payload {
    /// Shows the size of the data, never the data (it may be a secret).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Payload")
            .field("format", &self.format)
            .field("mime", &self.mime)
            .field("len", &self.data.len())
            .finish()
    }
}

/// One Item of a Get's Results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The URI the item is about, with the query for a property
    /// (`./A?prop=ACL`).
    pub uri: String,
    /// Meta Format of the data (`node` for an interior node, `chr` for most
    /// properties).
    pub format: Format,
    /// Meta Type, if the node has one.
    pub mime: Option<String>,
    /// The data: a leaf's value, an interior node's child names joined by
    /// `/`, a property's value; `None` in a `?list=Struct` listing and for
    /// values that are never returned (secrets).
    pub data: Option<Vec<u8>>,
}

impl Item {
    /// The data as text (lossy for binary values); empty when absent.
    pub fn text(&self) -> String {
        self.data
            .as_deref()
            .map(|d| String::from_utf8_lossy(d).into_owned())
            .unwrap_or_default()
    }
}

/// The result of an Exec.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecResult {
    /// 200 (done) or 202 (accepted, result reported later).
    pub status: u16,
    /// Optional result data.
    pub data: Option<Vec<u8>>,
}

impl ExecResult {
    /// 200 without data.
    pub fn ok() -> ExecResult {
        ExecResult {
            status: 200,
            data: None,
        }
    }

    /// 202 without data.
    pub fn accepted() -> ExecResult {
        ExecResult {
            status: 202,
            data: None,
        }
    }
}
