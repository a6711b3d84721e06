//! WBXML (WAP-192-WBXML 1.3) for SyncML DM 1.2: a [`Source`] and a [`Sink`]
//! over the binary token stream, code page 0 (SyncML) and 1 (MetInf) as in
//! facts §7.
//!
//! Reading accepts:
//! - WBXML versions 1.1 to 1.3 (version byte 0x01–0x03);
//! - the public id 0x1201 (SyncML 1.2), 0x0FD3 (1.1) or 0x0FD1 (1.0), or a
//!   string-table literal `-//SYNCML//DTD SyncML 1.x//EN` (Motorola sends
//!   the 1.1 literal with VerDTD 1.2); any other document type is
//!   [`CodecError::Unsupported`] (415);
//! - charset UTF-8 (MIBenum 106) or 0 ("unknown", read as UTF-8); others
//!   are `Unsupported`;
//! - tags by token (an unknown page or token is [`Tag::Unknown`], named
//!   `page 2 token 0x05` by [`Source::current_name`]) or by `LITERAL` name;
//!   attributes and processing instructions are skipped;
//! - text as any mix of `STR_I`, `STR_T`, `ENTITY` and `OPAQUE`;
//!   character data between child elements (the white space `xml2wbxml -k`
//!   keeps, stray text) is ignored, as the XML reader ignores it;
//!   extension tokens (SyncML defines none) are an error in text;
//! - string-table strings that run to the end of the table without a NUL
//!   (Motorola's and Horde's encoders write the public id so);
//! - processing instructions before and after the root; any other byte
//!   after the root's `END` is malformed.
//!
//! `Data` with element content (an embedded DevInf in code page 2, for
//! example) cannot be read: [`Source::data`] answers `Unsupported`, because
//! turning foreign code pages back into markup would need their tables.
//! Peers send such documents as `OPAQUE` (nested WBXML), which is read as
//! [`Data::Opaque`].
//!
//! Every length read from the input is checked against what is left of it
//! before it is used, so a message can neither make the reader allocate more
//! than its own size nor loop: every token consumes at least one byte.
//!
//! Writing produces version 1.2, public id 0x1201, UTF-8 and an empty string
//! table (`02 a4 01 6a 00`); text is one `STR_I`, `Data` one `STR_I` or
//! `OPAQUE` (libwbxml 0.11.8's `wbxml2xml` garbles a `Data` made of several
//! string tokens, so one token is also the interoperable choice).

mod read;
#[cfg(test)]
mod tests;
mod write;

pub use read::WbxmlSource;
pub use write::WbxmlSink;

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const ENTITY: u8 = 0x02;
const STR_I: u8 = 0x03;
const LITERAL: u8 = 0x04;
const PI: u8 = 0x43;
const STR_T: u8 = 0x83;
const OPAQUE: u8 = 0xC3;
/// Tag flag: the element has content (and an `END`).
const HAS_CONTENT: u8 = 0x40;
/// Tag flag: an attribute list follows the tag.
const HAS_ATTRIBUTES: u8 = 0x80;

/// Public ids of the SyncML representation DTDs (1.2, 1.1, 1.0).
const SYNCML_PUBLIC_IDS: [u32; 3] = [0x1201, 0x0FD3, 0x0FD1];
/// MIBenum of UTF-8.
const UTF_8: u32 = 106;
/// What [`WbxmlSink`] writes first: WBXML 1.2, SyncML 1.2, UTF-8, no table.
const HEADER: [u8; 5] = [0x02, 0xA4, 0x01, 0x6A, 0x00];
