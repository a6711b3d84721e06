//! SyncML DM 1.2 messages: the typed [`model`], an XML codec on quick-xml
//! ([`xml`]) and a WBXML codec ([`wbxml`], public id 0x1201, code pages 0
//! and 1), joined by one decoder and one encoder over the
//! [`stream::Source`] / [`stream::Sink`] seams.
//!
//! ```
//! use dmsched::syncml::{self, Encoding};
//! let xml = br#"<SyncML xmlns="SYNCML:SYNCML1.2"><SyncHdr><VerDTD>1.2</VerDTD>
//!   <VerProto>DM/1.2</VerProto><SessionID>1</SessionID><MsgID>1</MsgID>
//!   <Target><LocURI>https://dm.example</LocURI></Target>
//!   <Source><LocURI>IMEI:1</LocURI></Source></SyncHdr>
//!   <SyncBody><Final/></SyncBody></SyncML>"#;
//! let msg = syncml::decode(xml).unwrap();
//! let wbxml = syncml::encode(&msg, Encoding::Wbxml).unwrap();
//! assert_eq!(syncml::decode(&wbxml).unwrap(), msg);
//! ```

pub mod error;
pub mod model;
mod read;
pub mod stream;
pub mod tag;
pub mod wbxml;
mod write;
pub mod xml;

pub use error::CodecError;
pub use model::*;
pub use stream::Limits;
pub use tag::Tag;

/// The two wire forms of a DM message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// `application/vnd.syncml.dm+xml`.
    Xml,
    /// `application/vnd.syncml.dm+wbxml`.
    Wbxml,
}

impl Encoding {
    /// The HTTP content type.
    pub fn mime(self) -> &'static str {
        match self {
            Encoding::Xml => "application/vnd.syncml.dm+xml",
            Encoding::Wbxml => "application/vnd.syncml.dm+wbxml",
        }
    }

    /// The encoding named by an HTTP content type (parameters ignored).
    /// The data-sync types some clients send (`application/vnd.syncml+xml`)
    /// are accepted too (facts §8).
    pub fn from_mime(content_type: &str) -> Option<Encoding> {
        let base = content_type.split(';').next().unwrap_or("").trim();
        match base.to_ascii_lowercase().as_str() {
            "application/vnd.syncml.dm+xml" | "application/vnd.syncml+xml" => Some(Encoding::Xml),
            "application/vnd.syncml.dm+wbxml" | "application/vnd.syncml+wbxml" => {
                Some(Encoding::Wbxml)
            }
            _ => None,
        }
    }

    /// Guesses the encoding from the first bytes: WBXML starts with a
    /// version byte 0x01–0x03, XML with `<` (after an optional BOM and
    /// white space).
    pub fn sniff(bytes: &[u8]) -> Option<Encoding> {
        let b = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match b.first()? {
            0x01..=0x03 => Some(Encoding::Wbxml),
            _ => {
                let first = b.iter().find(|c| !c.is_ascii_whitespace())?;
                (*first == b'<').then_some(Encoding::Xml)
            }
        }
    }
}

/// Decodes a message, XML or WBXML (sniffed), with the default [`Limits`].
pub fn decode(bytes: &[u8]) -> Result<SyncMl, CodecError> {
    decode_with(bytes, None, &Limits::default())
}

/// Decodes a message in `encoding` (sniffed when `None`) within `limits`.
pub fn decode_with(
    bytes: &[u8],
    encoding: Option<Encoding>,
    limits: &Limits,
) -> Result<SyncMl, CodecError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            limit: limits.max_message_bytes,
        });
    }
    let encoding = match encoding {
        Some(e) => e,
        None => Encoding::sniff(bytes)
            .ok_or_else(|| CodecError::Unsupported("neither XML nor WBXML".into()))?,
    };
    match encoding {
        Encoding::Xml => read::message(&mut xml::XmlSource::new(bytes, limits)?),
        Encoding::Wbxml => read::message(&mut wbxml::WbxmlSource::new(bytes, limits)?),
    }
}

/// Decodes a list of commands: a `<SyncBody>` fragment or bare commands
/// side by side, as the Scheduling MO's `Cmds` node holds them. XML only.
pub fn decode_commands(bytes: &[u8], limits: &Limits) -> Result<Vec<Command>, CodecError> {
    if bytes.len() > limits.max_message_bytes {
        return Err(CodecError::TooLarge {
            size: bytes.len(),
            limit: limits.max_message_bytes,
        });
    }
    read::commands(&mut xml::XmlSource::new(bytes, limits)?)
}

/// Encodes commands as a `<SyncBody>` fragment (XML), the inverse of
/// [`decode_commands`].
pub fn encode_commands(commands: &[Command]) -> Result<String, CodecError> {
    let mut sink = xml::XmlSink::new(false);
    write::body(commands, false, &mut sink);
    let bytes = sink.finish()?;
    String::from_utf8(bytes).map_err(|e| CodecError::Unencodable(e.to_string()))
}

/// Encodes a message.
pub fn encode(msg: &SyncMl, encoding: Encoding) -> Result<Vec<u8>, CodecError> {
    match encoding {
        Encoding::Xml => {
            let mut sink = xml::XmlSink::new(false);
            write::message(msg, &mut sink);
            sink.finish()
        }
        Encoding::Wbxml => {
            let mut sink = wbxml::WbxmlSink::new();
            write::message(msg, &mut sink);
            sink.finish()
        }
    }
}

/// Encodes a message as indented XML (for people; the session sends the
/// compact form).
pub fn to_pretty_xml(msg: &SyncMl) -> Result<String, CodecError> {
    let mut sink = xml::XmlSink::new(true);
    write::message(msg, &mut sink);
    let bytes = sink.finish()?;
    String::from_utf8(bytes).map_err(|e| CodecError::Unencodable(e.to_string()))
}
