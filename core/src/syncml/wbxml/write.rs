//! Writing WBXML: [`WbxmlSink`].

use super::super::error::CodecError;
use super::super::model::Data;
use super::super::stream::Sink;
use super::super::tag::Tag;
use super::*;

/// Writes a WBXML SyncML DM message (see the [module docs](self)).
#[derive(Debug)]
pub struct WbxmlSink {
    pub(super) out: Vec<u8>,
    page: u8,
    open: usize,
    error: Option<CodecError>,
}

impl Default for WbxmlSink {
    fn default() -> WbxmlSink {
        WbxmlSink::new()
    }
}

impl WbxmlSink {
    /// A sink with the header written.
    pub fn new() -> WbxmlSink {
        WbxmlSink {
            out: HEADER.to_vec(),
            page: 0,
            open: 0,
            error: None,
        }
    }

    /// The message, or the first thing that could not be encoded
    /// ([`CodecError::Unencodable`]).
    pub fn finish(self) -> Result<Vec<u8>, CodecError> {
        match self.error {
            Some(e) => Err(e),
            None if self.open != 0 => Err(CodecError::Unencodable(format!(
                "{} elements left open",
                self.open
            ))),
            None => Ok(self.out),
        }
    }

    fn fail(&mut self, message: String) {
        if self.error.is_none() {
            self.error = Some(CodecError::Unencodable(message));
        }
    }

    fn tag(&mut self, tag: Tag, content: bool) {
        let Some((page, token)) = tag.wbxml() else {
            self.fail("an element outside the SyncML DM vocabulary has no WBXML token".into());
            return;
        };
        if page != self.page {
            self.out.extend_from_slice(&[SWITCH_PAGE, page]);
            self.page = page;
        }
        self.out
            .push(if content { token | HAS_CONTENT } else { token });
    }

    pub(super) fn mb_u_int32(&mut self, value: u32) {
        let mut groups = [0u8; 5];
        let mut n = 0;
        let mut v = value;
        loop {
            groups[4 - n] = (v & 0x7F) as u8 | if n == 0 { 0 } else { 0x80 };
            n += 1;
            v >>= 7;
            if v == 0 {
                break;
            }
        }
        self.out.extend_from_slice(&groups[5 - n..]);
    }

    fn str_i(&mut self, tag: Tag, text: &str) {
        if text.contains('\0') {
            self.fail(format!(
                "<{}> text contains NUL, which WBXML strings cannot carry",
                tag.name()
            ));
        }
        self.out.push(STR_I);
        self.out.extend_from_slice(text.as_bytes());
        self.out.push(0);
    }

    fn opaque(&mut self, bytes: &[u8]) {
        let Ok(len) = u32::try_from(bytes.len()) else {
            self.fail(format!(
                "opaque data of {} bytes exceeds 4 GiB",
                bytes.len()
            ));
            return;
        };
        self.out.push(OPAQUE);
        self.mb_u_int32(len);
        self.out.extend_from_slice(bytes);
    }
}

impl Sink for WbxmlSink {
    fn open(&mut self, tag: Tag) {
        self.tag(tag, true);
        self.open += 1;
    }

    fn close(&mut self, _tag: Tag) {
        match self.open.checked_sub(1) {
            Some(n) => self.open = n,
            None => self.fail("an element closed that was not open".into()),
        }
        self.out.push(END);
    }

    fn leaf(&mut self, tag: Tag, text: &str) {
        if text.is_empty() {
            return self.tag(tag, false);
        }
        self.tag(tag, true);
        self.str_i(tag, text);
        self.out.push(END);
    }

    fn empty(&mut self, tag: Tag) {
        self.tag(tag, false);
    }

    fn data(&mut self, data: &Data) {
        match data {
            Data::Text(s) if s.is_empty() => return self.tag(Tag::Data, false),
            Data::Text(s) => {
                self.tag(Tag::Data, true);
                self.str_i(Tag::Data, s);
            }
            Data::Opaque(b) => {
                self.tag(Tag::Data, true);
                self.opaque(b);
            }
            Data::Xml(s) => {
                self.tag(Tag::Data, true);
                self.opaque(s.as_bytes());
            }
        }
        self.out.push(END);
    }
}
