//! The two seams between the typed model and a wire format: a pull
//! [`Source`] that the decoder walks and a push [`Sink`] that the encoder
//! writes to. XML ([`super::xml`]) and WBXML ([`super::wbxml`]) each
//! implement both, so one decoder and one encoder serve both formats and a
//! message means the same thing whichever way it came.

use super::error::CodecError;
use super::model::Data;
use super::tag::Tag;

/// Limits on what a decoder accepts (the message size is checked by the
/// caller before decoding starts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message, in bytes (413 above it).
    pub max_message_bytes: usize,
    /// Deepest element nesting (400 above it). A DM message needs about 10.
    pub max_depth: usize,
    /// Most elements in one message (400 above it).
    pub max_elements: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_message_bytes: 4 * 1024 * 1024,
            max_depth: 24,
            max_elements: 200_000,
        }
    }
}

/// A pull parser over one message, element by element.
///
/// Protocol: the decoder calls [`Source::next_child`] inside an open
/// element; for every child it gets, it must then call exactly one of
/// [`Source::text`], [`Source::data`] or [`Source::skip`], which consume the
/// child up to and including its end tag — or walk into it with
/// `next_child`, which for an empty element (`<Item/>`) returns `None` at
/// once. At the top level, `next_child`
/// returns the root element and then `None` at the end of input.
pub trait Source {
    /// Opens the next child of the current element and returns its tag, or
    /// consumes the current element's end tag and returns `None`.
    fn next_child(&mut self) -> Result<Option<Tag>, CodecError>;

    /// The name of the element just opened, for messages about
    /// [`Tag::Unknown`] elements.
    fn current_name(&self) -> String;

    /// The text content of the element just opened (entities resolved),
    /// through its end tag. Child elements are an error.
    fn text(&mut self) -> Result<String, CodecError>;

    /// The content of the `Data` element just opened, through its end tag.
    fn data(&mut self) -> Result<Data, CodecError>;

    /// Skips the element just opened, with everything inside it.
    fn skip(&mut self) -> Result<(), CodecError>;
}

/// A writer of one message, element by element. Write errors (for example
/// binary data that XML cannot carry) are kept by the sink and returned
/// when it is finished.
pub trait Sink {
    /// Starts an element that has children.
    fn open(&mut self, tag: Tag);
    /// Ends the element opened last.
    fn close(&mut self, tag: Tag);
    /// Writes `<tag>text</tag>`.
    fn leaf(&mut self, tag: Tag, text: &str);
    /// Writes an empty element (`<Final/>`).
    fn empty(&mut self, tag: Tag);
    /// Writes `<Data>…</Data>` with this content.
    fn data(&mut self, data: &Data);
}
