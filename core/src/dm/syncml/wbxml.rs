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

use super::error::CodecError;
use super::model::Data;
use super::stream::{Limits, Sink, Source};
use super::tag::Tag;

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

fn malformed(message: impl Into<String>, offset: usize) -> CodecError {
    CodecError::Malformed {
        format: "WBXML",
        message: message.into(),
        offset: offset as u64,
    }
}

/// True for `-//SYNCML//DTD SyncML 1.x//EN` (ASCII case ignored).
fn is_syncml_public_id(id: &[u8]) -> bool {
    let id = id.to_ascii_uppercase();
    id.strip_prefix(b"-//SYNCML//DTD SYNCML 1.")
        .and_then(|rest| rest.strip_suffix(b"//EN"))
        .is_some_and(|minor| !minor.is_empty() && minor.iter().all(u8::is_ascii_digit))
}

/// The name of an element as the message gave it.
#[derive(Clone, Copy, Debug)]
enum Name<'a> {
    /// A (code page, token) pair.
    Token(u8, u8),
    /// A `LITERAL` tag, named in the string table.
    Literal(&'a [u8]),
}

impl Name<'_> {
    fn tag(self) -> Tag {
        match self {
            Name::Token(page, token) => Tag::from_wbxml(page, token),
            Name::Literal(name) => Tag::from_name(name),
        }
    }

    fn describe(self) -> String {
        match (self.tag(), self) {
            (Tag::Unknown, Name::Token(page, token)) => format!("page {page} token 0x{token:02X}"),
            (Tag::Unknown, Name::Literal(name)) => String::from_utf8_lossy(name).into_owned(),
            (tag, _) => tag.name().to_string(),
        }
    }
}

/// One body token, with code page switches and processing instructions
/// already consumed.
enum Token<'a> {
    /// A tag: its name and whether it has content.
    Tag(Name<'a>, bool),
    /// `END`.
    End,
    /// `STR_I` or `STR_T`: bytes without the terminating NUL.
    Str(&'a [u8]),
    /// `ENTITY`.
    Entity(char),
    /// `OPAQUE`.
    Opaque(&'a [u8]),
    /// An extension token (no meaning in SyncML).
    Ext,
}

/// The byte-level reader of a WBXML document.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// The string table.
    table: &'a [u8],
    /// The current tag code page.
    page: u8,
}

impl<'a> Reader<'a> {
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn byte(&mut self) -> Result<u8, CodecError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| malformed("truncated: the input ends inside the document", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// A multi-byte unsigned integer: at most 5 bytes, no leading zero
    /// groups, no more than 32 bits.
    fn mb_u_int32(&mut self) -> Result<u32, CodecError> {
        let start = self.pos;
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.byte()?;
            if i == 0 && b == 0x80 {
                return Err(malformed("overlong multi-byte integer", start));
            }
            if value > u32::MAX >> 7 {
                return Err(malformed("multi-byte integer exceeds 32 bits", start));
            }
            value = (value << 7) | u32::from(b & 0x7F);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(malformed("multi-byte integer longer than 5 bytes", start))
    }

    /// `n` bytes, checked against what is left.
    fn take(&mut self, n: u32, what: &str) -> Result<&'a [u8], CodecError> {
        let left = self.buf.len() - self.pos;
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if n > left {
            return Err(malformed(
                format!("{what} of {n} bytes, but only {left} bytes follow"),
                self.pos,
            ));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// An inline string, up to its NUL.
    fn inline_str(&mut self) -> Result<&'a [u8], CodecError> {
        let rest = &self.buf[self.pos..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| malformed("inline string without its terminating NUL", self.pos))?;
        self.pos += len + 1;
        Ok(&rest[..len])
    }

    /// The string at an index of the string table, up to its NUL.
    fn table_str(&mut self) -> Result<&'a [u8], CodecError> {
        let at = self.pos;
        let index = self.mb_u_int32()?;
        self.table_str_at(index, at)
    }

    /// The string at `index` of the string table (`at`: where the index
    /// was), up to its NUL or the end of the table: Motorola's and Horde's
    /// encoders leave the NUL off a public id that ends the table.
    fn table_str_at(&self, index: u32, at: usize) -> Result<&'a [u8], CodecError> {
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        let rest = self.table.get(index..).filter(|r| !r.is_empty());
        let rest = rest.ok_or_else(|| {
            let len = self.table.len();
            malformed(
                format!("string table index {index} beyond its {len} bytes"),
                at,
            )
        })?;
        Ok(rest.split(|&b| b == 0).next().unwrap_or_default())
    }

    /// An attribute list or the rest of a processing instruction, through
    /// its `END`. Attribute code pages are not tracked: nothing is kept.
    fn skip_attributes(&mut self) -> Result<(), CodecError> {
        loop {
            let at = self.pos;
            match self.byte()? {
                END => return Ok(()),
                SWITCH_PAGE => {
                    self.byte()?;
                }
                STR_I | 0x40..=0x42 => {
                    self.inline_str()?;
                }
                LITERAL | STR_T => {
                    self.table_str()?;
                }
                // ENTITY and EXT_T_0..2 carry an integer.
                ENTITY | 0x80..=0x82 => {
                    self.mb_u_int32()?;
                }
                OPAQUE => {
                    let n = self.mb_u_int32()?;
                    self.take(n, "opaque data")?;
                }
                b @ (PI | 0x44 | 0x84 | 0xC4) => {
                    return Err(malformed(
                        format!("token 0x{b:02X} in an attribute list"),
                        at,
                    ));
                }
                // EXT_0..2, attribute starts and attribute values.
                _ => {}
            }
        }
    }

    /// The next body token.
    fn token(&mut self) -> Result<Token<'a>, CodecError> {
        loop {
            let at = self.pos;
            let b = self.byte()?;
            return Ok(match b {
                SWITCH_PAGE => {
                    self.page = self.byte()?;
                    continue;
                }
                PI => {
                    self.skip_attributes()?;
                    continue;
                }
                END => Token::End,
                ENTITY => {
                    let cp = self.mb_u_int32()?;
                    Token::Entity(char::from_u32(cp).ok_or_else(|| {
                        malformed(format!("entity U+{cp:X} is not a character"), at)
                    })?)
                }
                STR_I => Token::Str(self.inline_str()?),
                STR_T => Token::Str(self.table_str()?),
                OPAQUE => {
                    let n = self.mb_u_int32()?;
                    Token::Opaque(self.take(n, "opaque data")?)
                }
                0x40..=0x42 => {
                    self.inline_str()?;
                    Token::Ext
                }
                0x80..=0x82 => {
                    self.mb_u_int32()?;
                    Token::Ext
                }
                0xC0..=0xC2 => Token::Ext,
                // A tag: LITERAL, LITERAL_C, LITERAL_A, LITERAL_AC or a token
                // 0x05–0x3F with the content and attribute flags.
                _ => {
                    let name = if b & 0x3F == LITERAL {
                        Name::Literal(self.table_str()?)
                    } else {
                        Name::Token(self.page, b & 0x3F)
                    };
                    if b & HAS_ATTRIBUTES != 0 {
                        self.skip_attributes()?;
                    }
                    Token::Tag(name, b & HAS_CONTENT != 0)
                }
            });
        }
    }
}

/// Text or data content as read, before it is typed.
struct Content {
    bytes: Vec<u8>,
    pieces: usize,
    opaque_pieces: usize,
}

/// Reads a WBXML SyncML DM message (see the [module docs](self)).
pub struct WbxmlSource<'a> {
    r: Reader<'a>,
    limits: Limits,
    /// The open elements that have content, outermost first.
    stack: Vec<Name<'a>>,
    elements: usize,
    /// The element last returned by `next_child`, if its content has not
    /// been read: whether it has content.
    pending: Option<bool>,
    /// The name of the element last opened.
    name: Option<Name<'a>>,
    root_seen: bool,
}

impl<'a> WbxmlSource<'a> {
    /// Reads the header of `bytes`: version, public id, charset and string
    /// table. Errors are `Malformed` (truncated or inconsistent header) or
    /// `Unsupported` (another version, document type or charset).
    pub fn new(bytes: &'a [u8], limits: &Limits) -> Result<WbxmlSource<'a>, CodecError> {
        let mut r = Reader {
            buf: bytes,
            pos: 0,
            table: &[],
            page: 0,
        };
        let version = r.byte()?;
        if !(0x01..=0x03).contains(&version) {
            return Err(CodecError::Unsupported(format!(
                "WBXML version byte 0x{version:02X} (1.1 to 1.3 are read)"
            )));
        }
        let public_id = r.mb_u_int32()?;
        let public_at = r.pos;
        let public_index = if public_id == 0 {
            Some(r.mb_u_int32()?)
        } else {
            None
        };
        let charset = r.mb_u_int32()?;
        if charset != UTF_8 && charset != 0 {
            return Err(CodecError::Unsupported(format!(
                "WBXML charset MIBenum {charset} (only UTF-8, 106, is read)"
            )));
        }
        let len = r.mb_u_int32()?;
        r.table = r.take(len, "string table")?;
        match public_index {
            Some(index) => {
                let id = r.table_str_at(index, public_at)?;
                if !is_syncml_public_id(id) {
                    return Err(CodecError::Unsupported(format!(
                        "WBXML document \"{}\", not SyncML",
                        String::from_utf8_lossy(id)
                    )));
                }
            }
            None if SYNCML_PUBLIC_IDS.contains(&public_id) => {}
            None => {
                return Err(CodecError::Unsupported(format!(
                    "WBXML public id 0x{public_id:X} (SyncML DM 1.2 is 0x1201)"
                )));
            }
        }
        Ok(WbxmlSource {
            r,
            limits: *limits,
            stack: Vec::new(),
            elements: 0,
            pending: None,
            name: None,
            root_seen: false,
        })
    }

    fn parent_name(&self) -> String {
        self.stack.last().map_or_else(String::new, |n| n.describe())
    }

    /// Counts an element opened at `level` (the root is level 1; an empty
    /// element counts at its parent's level, as in the XML reader).
    fn count(&mut self, level: usize) -> Result<(), CodecError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(CodecError::LimitExceeded(format!(
                "more than {} elements",
                self.limits.max_elements
            )));
        }
        if level > self.limits.max_depth {
            return Err(CodecError::LimitExceeded(format!(
                "elements nested deeper than {}",
                self.limits.max_depth
            )));
        }
        Ok(())
    }

    fn open(&mut self, name: Name<'a>, content: bool) -> Result<Option<Tag>, CodecError> {
        self.count(self.stack.len() + usize::from(content))?;
        self.name = Some(name);
        self.pending = Some(content);
        self.root_seen = true;
        if content {
            self.stack.push(name);
        } else if self.stack.is_empty() {
            self.end_of_root()?;
        }
        Ok(Some(name.tag()))
    }

    /// Consumes the `END` of the innermost open element (already read).
    fn close(&mut self) -> Result<(), CodecError> {
        self.stack.pop();
        if self.stack.is_empty() {
            self.end_of_root()?;
        }
        Ok(())
    }

    /// After the root: only processing instructions may follow.
    fn end_of_root(&mut self) -> Result<(), CodecError> {
        while !self.r.at_end() {
            let at = self.r.pos;
            if self.r.byte()? != PI {
                return Err(malformed("bytes after the end of the root element", at));
            }
            self.r.skip_attributes()?;
        }
        Ok(())
    }

    /// The element just opened, for `text`, `data` and `skip`: whether it
    /// has content.
    fn take_pending(&mut self, call: &str) -> Result<bool, CodecError> {
        self.pending.take().ok_or_else(|| {
            CodecError::Invalid(format!(
                "WBXML reader: {call}() without an element just opened"
            ))
        })
    }

    /// The content of the element just opened, through its `END`.
    fn content(&mut self, for_data: bool) -> Result<Content, CodecError> {
        let mut c = Content {
            bytes: Vec::new(),
            pieces: 0,
            opaque_pieces: 0,
        };
        loop {
            let at = self.r.pos;
            match self.r.token()? {
                Token::End => {
                    self.close()?;
                    return Ok(c);
                }
                Token::Str(s) => c.bytes.extend_from_slice(s),
                Token::Entity(ch) => c
                    .bytes
                    .extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
                Token::Opaque(b) => {
                    c.bytes.extend_from_slice(b);
                    c.opaque_pieces += 1;
                }
                Token::Ext => {
                    return Err(CodecError::Invalid(format!(
                        "WBXML extension token at byte {at} in <{}>",
                        self.parent_name()
                    )));
                }
                Token::Tag(child, _) if for_data => {
                    return Err(CodecError::Unsupported(format!(
                        "WBXML <Data> with element content (<{}> at byte {at}); \
                         only string or opaque Data is read",
                        child.describe()
                    )));
                }
                Token::Tag(child, _) => {
                    return Err(CodecError::Invalid(format!(
                        "<{}> has a child element <{}> where text was expected",
                        self.parent_name(),
                        child.describe()
                    )));
                }
            }
            c.pieces += 1;
        }
    }
}

impl Source for WbxmlSource<'_> {
    fn next_child(&mut self) -> Result<Option<Tag>, CodecError> {
        match self.pending.take() {
            Some(false) => return Ok(None),
            Some(true) => {}
            None if self.stack.is_empty() && self.root_seen => return Ok(None),
            None => {}
        }
        loop {
            let at = self.r.pos;
            match self.r.token()? {
                Token::Tag(name, content) => return self.open(name, content),
                _ if self.stack.is_empty() => {
                    return Err(malformed("expected the root element", at));
                }
                Token::End => {
                    self.close()?;
                    return Ok(None);
                }
                // Character data between elements.
                Token::Str(_) | Token::Entity(_) | Token::Opaque(_) | Token::Ext => {}
            }
        }
    }

    fn current_name(&self) -> String {
        self.name.map_or_else(String::new, |n| n.describe())
    }

    fn text(&mut self) -> Result<String, CodecError> {
        if !self.take_pending("text")? {
            return Ok(String::new());
        }
        let at = self.r.pos;
        let c = self.content(false)?;
        String::from_utf8(c.bytes).map_err(|_| malformed("text is not UTF-8", at))
    }

    fn data(&mut self) -> Result<Data, CodecError> {
        if !self.take_pending("data")? {
            return Ok(Data::Text(String::new()));
        }
        let at = self.r.pos;
        let c = self.content(true)?;
        if c.opaque_pieces == 1 && c.pieces == 1 {
            return Ok(Data::Opaque(c.bytes));
        }
        match String::from_utf8(c.bytes) {
            Ok(s) => Ok(Data::Text(s)),
            Err(e) if c.opaque_pieces > 0 => Ok(Data::Opaque(e.into_bytes())),
            Err(_) => Err(malformed("Data string is not UTF-8", at)),
        }
    }

    fn skip(&mut self) -> Result<(), CodecError> {
        if !self.take_pending("skip")? {
            return Ok(());
        }
        let mut inner = 0usize;
        loop {
            match self.r.token()? {
                Token::Tag(_, content) => {
                    inner += usize::from(content);
                    self.count(self.stack.len() + inner)?;
                }
                Token::End if inner == 0 => return self.close(),
                Token::End => inner -= 1,
                Token::Str(_) | Token::Entity(_) | Token::Opaque(_) | Token::Ext => {}
            }
        }
    }
}

/// Writes a WBXML SyncML DM message (see the [module docs](self)).
#[derive(Debug)]
pub struct WbxmlSink {
    out: Vec<u8>,
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

    fn mb_u_int32(&mut self, value: u32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A document with `table` as string table and public id `pubid`
    /// (bytes of an mb_u_int32, or `[0, index]`).
    fn doc(pubid: &[u8], table: &[u8], body: &[u8]) -> Vec<u8> {
        let mut v = vec![0x02];
        v.extend_from_slice(pubid);
        v.push(0x6A);
        v.push(u8::try_from(table.len()).expect("small table"));
        v.extend_from_slice(table);
        v.extend_from_slice(body);
        v
    }

    fn source(bytes: &[u8]) -> Result<WbxmlSource<'_>, CodecError> {
        WbxmlSource::new(bytes, &Limits::default())
    }

    fn reader(bytes: &[u8]) -> Reader<'_> {
        Reader {
            buf: bytes,
            pos: 0,
            table: &[],
            page: 0,
        }
    }

    /// WAP-192 §5.1: mb_u_int32 is at most 5 bytes of 7 bits; overlong,
    /// overflowing, too long and truncated encodings are malformed.
    #[test]
    fn mb_u_int32_reads_edge_values_and_rejects_overlong_or_overflowing() {
        let good: [(&[u8], u32); 5] = [
            (&[0x00], 0),
            (&[0x7F], 127),
            (&[0x81, 0x00], 128),
            (&[0xA4, 0x01], 0x1201),
            (&[0x8F, 0xFF, 0xFF, 0xFF, 0x7F], u32::MAX),
        ];
        for (bytes, value) in good {
            assert_eq!(reader(bytes).mb_u_int32(), Ok(value), "{bytes:02x?}");
            let mut sink = WbxmlSink::new();
            sink.out.clear();
            sink.mb_u_int32(value);
            assert_eq!(sink.out, bytes, "writing {value}");
        }
        let bad: [&[u8]; 4] = [
            &[0x80, 0x01],
            &[0x90, 0x80, 0x80, 0x80, 0x00],
            &[0x81, 0x80, 0x80, 0x80, 0x80, 0x00],
            &[0x81],
        ];
        for bytes in bad {
            let e = reader(bytes).mb_u_int32().expect_err("malformed");
            assert!(
                matches!(e, CodecError::Malformed { .. }),
                "{bytes:02x?}: {e}"
            );
        }
    }

    /// Source protocol on a hand-written message: string table strings,
    /// entities, code page switches, literal tags, attributes, unknown
    /// pages, empty elements, processing instructions.
    #[test]
    fn hand_written_document_walks_with_next_child_and_text() {
        let table = b"-//SYNCML//DTD SyncML 1.1//EN\0Foo\x001.2\0";
        #[rustfmt::skip]
        let body = [
            0x43, 0x05, 0x01,                         // PI before the root
            0x6D,                                     // <SyncML>
            0x6C,                                     // <SyncHdr>
            0x71, 0x83, 0x22, 0x01,                   // <VerDTD> STR_T "1.2"
            0x03, b' ', b'\n', 0x00,                  // white space between elements
            0x00, 0x01, 0x53,                         // page 1 <Type>
            0x03, b'a', 0x00, 0x02, 0xC1, 0x2C, 0xC3, 0x01, b'b', 0x01,
            0x00, 0x00, 0x44, 0x1E, 0x03, b'x', 0x00, 0x01, // LITERAL_C "Foo"
            0xC5, 0x06, 0x03, b'v', 0x00, 0x01, 0x01, // tag with attributes
            0x00, 0x02, 0x45, 0x46, 0x01, 0x07, 0x01, // page 2 elements
            0x00, 0x00, 0x12,                         // <Final/>
            0x01, 0x01,                               // </SyncHdr></SyncML>
            0x43, 0x05, 0x01,                         // PI after the root
        ];
        let bytes = doc(&[0x00, 0x00], table, &body);
        let mut s = source(&bytes).expect("header");
        assert_eq!(s.next_child(), Ok(Some(Tag::SyncML)));
        assert_eq!(s.next_child(), Ok(Some(Tag::SyncHdr)));
        assert_eq!(s.next_child(), Ok(Some(Tag::VerDTD)));
        assert_eq!(s.text().as_deref(), Ok("1.2"));
        assert_eq!(s.next_child(), Ok(Some(Tag::Type)));
        assert_eq!(s.text().as_deref(), Ok("a\u{20AC}b"));
        assert_eq!(s.next_child(), Ok(Some(Tag::Unknown)));
        assert_eq!(s.current_name(), "Foo");
        assert_eq!(s.text().as_deref(), Ok("x"));
        assert_eq!(s.next_child(), Ok(Some(Tag::Add)));
        assert_eq!(s.text().as_deref(), Ok(""));
        assert_eq!(s.next_child(), Ok(Some(Tag::Unknown)));
        assert_eq!(s.current_name(), "page 2 token 0x05");
        assert_eq!(s.skip(), Ok(()));
        assert_eq!(s.next_child(), Ok(Some(Tag::Final)));
        assert_eq!(s.next_child(), Ok(None), "an empty element has no children");
        assert_eq!(s.next_child(), Ok(None), "end of SyncHdr");
        assert_eq!(s.next_child(), Ok(None), "end of SyncML");
        assert_eq!(s.next_child(), Ok(None), "end of input");
    }

    fn data_of(content: &[u8]) -> Result<Data, CodecError> {
        let mut body = vec![0x6D, 0x4F];
        body.extend_from_slice(content);
        body.extend_from_slice(&[0x01, 0x01]);
        let bytes = doc(&[0xA4, 0x01], b"", &body);
        let mut s = source(&bytes)?;
        assert_eq!(s.next_child()?, Some(Tag::SyncML));
        assert_eq!(s.next_child()?, Some(Tag::Data));
        let d = s.data();
        if d.is_ok() {
            assert_eq!(s.next_child(), Ok(None));
        }
        d
    }

    /// `data()`: one OPAQUE is Opaque, strings are Text, a mix is Text when
    /// it is UTF-8; element content (another code page) is Unsupported.
    #[test]
    fn data_is_opaque_text_or_unsupported_by_its_tokens() {
        assert_eq!(
            data_of(&[0xC3, 0x02, b'h', b'i']),
            Ok(Data::Opaque(b"hi".to_vec()))
        );
        assert_eq!(
            data_of(&[0x03, b'h', 0x00, 0x02, 0x69]),
            Ok(Data::from("hi"))
        );
        assert_eq!(
            data_of(&[0x03, b'h', 0x00, 0xC3, 0x01, b'i']),
            Ok(Data::from("hi"))
        );
        assert_eq!(
            data_of(&[0x03, b'h', 0x00, 0xC3, 0x01, 0xFF]),
            Ok(Data::Opaque(vec![b'h', 0xFF]))
        );
        assert_eq!(data_of(&[]), Ok(Data::from("")));
        assert!(matches!(
            data_of(&[0x03, 0xFF, 0x00]),
            Err(CodecError::Malformed { .. })
        ));
        let e = data_of(&[0x00, 0x02, 0x45, 0x00, 0x00]).expect_err("element content");
        assert!(matches!(e, CodecError::Unsupported(_)), "{e}");
    }

    /// Header: other document types, charsets and versions are 415.
    #[test]
    fn header_accepts_syncml_ids_and_rejects_others_as_unsupported() {
        for (pubid, table) in [
            (&[0xA4, 0x01][..], &b""[..]),
            (&[0x9F, 0x53], b""),
            (&[0x00, 0x00], b"-//SYNCML//DTD SyncML 1.2//EN\0"),
        ] {
            assert!(source(&doc(pubid, table, &[0x2D])).is_ok(), "{pubid:02x?}");
        }
        let rejected = [
            doc(&[0xA4, 0x03], b"", &[0x2D]),
            doc(&[0x01], b"", &[0x2D]),
            doc(&[0x00, 0x00], b"-//SYNCML//DTD DevInf 1.2//EN\0", &[0x2D]),
            vec![0x02, 0xA4, 0x01, 0x04, 0x00, 0x2D],
            vec![0x00, 0xA4, 0x01, 0x2D],
        ];
        for bytes in &rejected {
            let e = source(bytes).err().expect("rejected");
            assert_eq!(e.status(), 415, "{bytes:02x?}: {e}");
        }
    }

    fn walk(bytes: &[u8], limits: &Limits) -> Result<(), CodecError> {
        let mut s = WbxmlSource::new(bytes, limits)?;
        loop {
            match s.next_child()? {
                Some(Tag::Data) => drop(s.data()?),
                Some(_) => {}
                None if s.stack.is_empty() => return Ok(()),
                None => {}
            }
        }
    }

    /// Truncation, trailing bytes and declared lengths beyond the input
    /// are malformed; nesting and element counts beyond the limits are
    /// LimitExceeded.
    #[test]
    fn bad_lengths_truncation_and_limits_are_errors() {
        let good = doc(
            &[0xA4, 0x01],
            b"",
            &[0x6D, 0x4F, 0xC3, 0x01, b'x', 0x01, 0x01],
        );
        assert_eq!(walk(&good, &Limits::default()), Ok(()));
        for n in 0..good.len() {
            let e = walk(&good[..n], &Limits::default()).expect_err("truncated");
            assert!(matches!(e, CodecError::Malformed { .. }), "{n}: {e}");
        }
        let mut trailing = good.clone();
        trailing.push(0x12);
        assert!(matches!(
            walk(&trailing, &Limits::default()),
            Err(CodecError::Malformed { .. })
        ));
        let huge = doc(
            &[0xA4, 0x01],
            b"",
            &[0x6D, 0x4F, 0xC3, 0xFF, 0xFF, 0xFF, 0x7F, 0x01],
        );
        assert!(matches!(
            walk(&huge, &Limits::default()),
            Err(CodecError::Malformed { .. })
        ));
        let table = [0x02, 0xA4, 0x01, 0x6A, 0x8F, 0xFF, 0xFF, 0xFF, 0x7F, 0x2D];
        assert!(matches!(
            source(&table).err(),
            Some(CodecError::Malformed { .. })
        ));
        let deep = doc(&[0xA4, 0x01], b"", &[0x48; 30]);
        assert!(matches!(
            walk(&deep, &Limits::default()),
            Err(CodecError::LimitExceeded(_))
        ));
        let wide = doc(
            &[0xA4, 0x01],
            b"",
            &[[0x6D].as_slice(), &[0x12; 10], &[0x01]].concat(),
        );
        let few = Limits {
            max_elements: 5,
            ..Limits::default()
        };
        assert!(matches!(
            walk(&wide, &few),
            Err(CodecError::LimitExceeded(_))
        ));
    }

    /// Sink: header, content bits, code page switches and back, one
    /// STR_I or OPAQUE per Data.
    #[test]
    fn sink_writes_header_page_switches_and_content_bits() {
        let mut s = WbxmlSink::new();
        s.open(Tag::Meta);
        s.leaf(Tag::Type, "t");
        s.leaf(Tag::Format, "");
        s.close(Tag::Meta);
        s.empty(Tag::Final);
        s.data(&Data::Opaque(vec![0, 1]));
        s.data(&Data::from("d"));
        s.data(&Data::from(""));
        #[rustfmt::skip]
        let want = [
            0x02, 0xA4, 0x01, 0x6A, 0x00,
            0x5A, 0x00, 0x01, 0x53, 0x03, b't', 0x00, 0x01, 0x07, 0x01,
            0x00, 0x00, 0x12,
            0x4F, 0xC3, 0x02, 0x00, 0x01, 0x01,
            0x4F, 0x03, b'd', 0x00, 0x01,
            0x0F,
        ];
        assert_eq!(s.finish(), Ok(want.to_vec()));
    }

    /// Sink: what WBXML cannot carry is Unencodable at finish.
    #[test]
    fn sink_reports_unknown_tags_nul_and_unbalanced_as_unencodable() {
        let mut unknown = WbxmlSink::new();
        unknown.empty(Tag::Unknown);
        let mut nul = WbxmlSink::new();
        nul.leaf(Tag::LocURI, "a\0b");
        let mut open = WbxmlSink::new();
        open.open(Tag::SyncML);
        for sink in [unknown, nul, open] {
            assert!(matches!(sink.finish(), Err(CodecError::Unencodable(_))));
        }
    }
}
