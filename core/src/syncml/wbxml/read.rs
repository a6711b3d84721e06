//! Reading WBXML: the token reader and [`WbxmlSource`].

use super::super::error::CodecError;
use super::super::model::Data;
use super::super::stream::{Limits, Source};
use super::super::tag::Tag;
use super::*;

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
pub(super) struct Reader<'a> {
    pub(super) buf: &'a [u8],
    pub(super) pos: usize,
    /// The string table.
    pub(super) table: &'a [u8],
    /// The current tag code page.
    pub(super) page: u8,
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
    pub(super) fn mb_u_int32(&mut self) -> Result<u32, CodecError> {
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

impl WbxmlSource<'_> {
    /// No element is open (tests walk documents to their end with it).
    #[cfg(test)]
    pub(super) fn at_top(&self) -> bool {
        self.stack.is_empty()
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
