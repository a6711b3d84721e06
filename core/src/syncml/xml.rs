//! XML codec on quick-xml: [`XmlSource`] walks a message without building
//! a document tree; [`XmlSink`] writes `SYNCML:SYNCML1.2` with MetInf
//! elements in `syncml:metinf`.
//!
//! Namespaces are not checked: elements are matched by local name, because
//! real messages omit the MetInf namespace or misspell it (corpus:
//! `win-real-pkg2…`, `ms-learn-unenroll…`). A bare `&` in text (Motorola
//! test server: `MAXDT=15&DR=1`) is taken literally rather than failing
//! the message. DOCTYPE, comments and processing instructions are ignored.

use quick_xml::Reader;
use quick_xml::events::{BytesRef, Event};

use super::error::CodecError;
use super::model::Data;
use super::stream::{Limits, Sink, Source};
use super::tag::Tag;

/// Reads one XML message.
pub struct XmlSource<'a> {
    input: &'a [u8],
    reader: Reader<&'a [u8]>,
    depth: usize,
    elements: usize,
    limits: Limits,
    /// The element just opened was `<x/>`: it has no content and no end tag.
    pending_empty: bool,
    /// Local name of the element just opened.
    current: Vec<u8>,
}

impl<'a> XmlSource<'a> {
    /// Starts reading `input` (a UTF-8 document).
    pub fn new(input: &'a [u8], limits: &Limits) -> Result<XmlSource<'a>, CodecError> {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let mut reader = Reader::from_reader(input);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.expand_empty_elements = false;
        Ok(XmlSource {
            input,
            reader,
            depth: 0,
            elements: 0,
            limits: *limits,
            pending_empty: false,
            current: Vec::new(),
        })
    }

    fn malformed(&self, message: impl std::fmt::Display) -> CodecError {
        CodecError::Malformed {
            format: "XML",
            message: message.to_string(),
            offset: self.reader.buffer_position(),
        }
    }

    fn read(&mut self) -> Result<Event<'a>, CodecError> {
        self.reader.read_event().map_err(|e| self.malformed(e))
    }

    fn opened(&mut self, name: &[u8]) -> Result<Tag, CodecError> {
        self.elements += 1;
        if self.elements > self.limits.max_elements {
            return Err(CodecError::LimitExceeded(format!(
                "more than {} elements",
                self.limits.max_elements
            )));
        }
        if self.depth > self.limits.max_depth {
            return Err(CodecError::LimitExceeded(format!(
                "elements nested deeper than {}",
                self.limits.max_depth
            )));
        }
        let local = match name.iter().rposition(|&b| b == b':') {
            Some(i) => &name[i + 1..],
            None => name,
        };
        self.current.clear();
        self.current.extend_from_slice(local);
        Ok(Tag::from_name(local))
    }

    /// Reads character content up to the end tag of the element just
    /// opened. A child element is an error unless `allow_markup`, in which
    /// case the content is taken as literal markup. Returns the text and
    /// whether it was markup.
    fn content(&mut self, allow_markup: bool) -> Result<(String, bool), CodecError> {
        let mut out = String::new();
        let start = self.reader.buffer_position() as usize;
        loop {
            let before = self.reader.buffer_position() as usize;
            match self.reader.read_event() {
                Ok(Event::Text(t)) => out.push_str(&t.xml10_content()),
                Ok(Event::CData(t)) => out.push_str(&t.xml10_content()),
                Ok(Event::GeneralRef(r)) => push_ref(&mut out, &r),
                Ok(Event::End(_)) => {
                    self.depth -= 1;
                    return Ok((out, false));
                }
                Ok(Event::Start(_)) if allow_markup => return self.markup(start, 1),
                Ok(Event::Empty(_)) if allow_markup => return self.markup(start, 0),
                Ok(Event::Start(_) | Event::Empty(_)) => {
                    return Err(self.malformed(format!(
                        "element inside <{}>, which holds only text",
                        String::from_utf8_lossy(&self.current)
                    )));
                }
                Ok(Event::Eof) => return Err(self.malformed("unexpected end of document")),
                Ok(_) => {}
                // A bare `&`: keep the characters the parser skipped.
                Err(quick_xml::Error::IllFormed(
                    quick_xml::errors::IllFormedError::UnclosedReference,
                )) => {
                    let after = self.reader.buffer_position() as usize;
                    let raw = self.input.get(before..after).unwrap_or_default();
                    out.push_str(&String::from_utf8_lossy(raw));
                }
                Err(e) => return Err(self.malformed(e)),
            }
        }
    }

    /// Element content inside `Data`: runs to the matching end tag and
    /// returns the literal markup between the start and end tags.
    /// `nesting` is 1 when the first child read was a start tag, 0 when it
    /// was an empty element.
    fn markup(&mut self, start: usize, mut nesting: usize) -> Result<(String, bool), CodecError> {
        self.elements += 1;
        self.depth += nesting;
        loop {
            if self.depth > self.limits.max_depth {
                return Err(CodecError::LimitExceeded(format!(
                    "elements nested deeper than {}",
                    self.limits.max_depth
                )));
            }
            let before = self.reader.buffer_position() as usize;
            match self.read()? {
                Event::Start(_) => {
                    nesting += 1;
                    self.depth += 1;
                    self.elements += 1;
                }
                Event::Empty(_) => self.elements += 1,
                Event::End(_) if nesting == 0 => {
                    self.depth -= 1;
                    let raw = self.input.get(start..before).unwrap_or_default();
                    let s = std::str::from_utf8(raw).map_err(|e| self.malformed(e))?;
                    return Ok((s.to_string(), true));
                }
                Event::End(_) => {
                    nesting -= 1;
                    self.depth -= 1;
                }
                Event::Eof => return Err(self.malformed("unexpected end of document")),
                _ => {}
            }
            if self.elements > self.limits.max_elements {
                return Err(CodecError::LimitExceeded(format!(
                    "more than {} elements",
                    self.limits.max_elements
                )));
            }
        }
    }
}

fn push_ref(out: &mut String, r: &BytesRef<'_>) {
    if let Ok(Some(c)) = r.resolve_char_ref() {
        out.push(c);
        return;
    }
    match &**r {
        "amp" => out.push('&'),
        "lt" => out.push('<'),
        "gt" => out.push('>'),
        "quot" => out.push('"'),
        "apos" => out.push('\''),
        // An entity we do not know (no DTD is read): keep it as written.
        other => {
            out.push('&');
            out.push_str(other);
            out.push(';');
        }
    }
}

impl Source for XmlSource<'_> {
    fn next_child(&mut self) -> Result<Option<Tag>, CodecError> {
        // An empty element opened as a structure has no children.
        if std::mem::take(&mut self.pending_empty) {
            return Ok(None);
        }
        loop {
            match self.read()? {
                Event::Start(e) => {
                    self.depth += 1;
                    return self.opened(e.name().as_ref().as_bytes()).map(Some);
                }
                Event::Empty(e) => {
                    self.pending_empty = true;
                    return self.opened(e.name().as_ref().as_bytes()).map(Some);
                }
                Event::End(_) => {
                    self.depth -= 1;
                    return Ok(None);
                }
                Event::Eof if self.depth == 0 => return Ok(None),
                Event::Eof => return Err(self.malformed("unexpected end of document")),
                // Text between elements, comments, DOCTYPE, declarations.
                _ => {}
            }
        }
    }

    fn current_name(&self) -> String {
        String::from_utf8_lossy(&self.current).into_owned()
    }

    fn text(&mut self) -> Result<String, CodecError> {
        if std::mem::take(&mut self.pending_empty) {
            return Ok(String::new());
        }
        self.content(false).map(|(s, _)| s)
    }

    fn data(&mut self) -> Result<Data, CodecError> {
        if std::mem::take(&mut self.pending_empty) {
            return Ok(Data::Text(String::new()));
        }
        let (s, markup) = self.content(true)?;
        Ok(if markup { Data::Xml(s) } else { Data::Text(s) })
    }

    fn skip(&mut self) -> Result<(), CodecError> {
        if std::mem::take(&mut self.pending_empty) {
            return Ok(());
        }
        let mut nesting = 0usize;
        loop {
            match self.reader.read_event() {
                Ok(Event::Start(_)) => {
                    nesting += 1;
                    self.elements += 1;
                    if self.depth + nesting > self.limits.max_depth {
                        return Err(CodecError::LimitExceeded(format!(
                            "elements nested deeper than {}",
                            self.limits.max_depth
                        )));
                    }
                }
                Ok(Event::End(_)) if nesting == 0 => {
                    self.depth -= 1;
                    return Ok(());
                }
                Ok(Event::End(_)) => nesting -= 1,
                Ok(Event::Eof) => return Err(self.malformed("unexpected end of document")),
                Ok(_) => {}
                // Bare `&` in skipped text does not matter.
                Err(quick_xml::Error::IllFormed(
                    quick_xml::errors::IllFormedError::UnclosedReference,
                )) => {}
                Err(e) => return Err(self.malformed(e)),
            }
            if self.elements > self.limits.max_elements {
                return Err(CodecError::LimitExceeded(format!(
                    "more than {} elements",
                    self.limits.max_elements
                )));
            }
        }
    }
}

/// Writes one XML message.
pub struct XmlSink {
    out: String,
    pretty: bool,
    depth: usize,
    error: Option<CodecError>,
}

impl XmlSink {
    /// A new sink; `pretty` indents by two spaces per level.
    pub fn new(pretty: bool) -> XmlSink {
        XmlSink {
            out: String::with_capacity(1024),
            pretty,
            depth: 0,
            error: None,
        }
    }

    /// The document, or the first thing that could not be written.
    pub fn finish(self) -> Result<Vec<u8>, CodecError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.out.into_bytes()),
        }
    }

    fn indent(&mut self) {
        if self.pretty {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            for _ in 0..self.depth {
                self.out.push_str("  ");
            }
        }
    }

    fn start_tag(&mut self, tag: Tag) {
        self.out.push('<');
        self.out.push_str(tag.name());
        if tag == Tag::SyncML {
            self.out.push_str(" xmlns=\"SYNCML:SYNCML1.2\"");
        } else if tag.is_metinf() {
            self.out.push_str(" xmlns=\"syncml:metinf\"");
        }
    }

    fn end_tag(&mut self, tag: Tag) {
        self.out.push_str("</");
        self.out.push_str(tag.name());
        self.out.push('>');
    }

    fn fail(&mut self, e: CodecError) {
        self.error.get_or_insert(e);
    }
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // Keep a carriage return through XML end-of-line normalisation.
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Characters XML 1.0 cannot carry at all, even escaped.
fn xml_char_ok(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

impl Sink for XmlSink {
    fn open(&mut self, tag: Tag) {
        if tag == Tag::Unknown {
            return self.fail(CodecError::Unencodable("an unknown element".into()));
        }
        self.indent();
        self.start_tag(tag);
        self.out.push('>');
        self.depth += 1;
    }

    fn close(&mut self, tag: Tag) {
        self.depth = self.depth.saturating_sub(1);
        self.indent();
        self.end_tag(tag);
    }

    fn leaf(&mut self, tag: Tag, text: &str) {
        if !text.chars().all(xml_char_ok) {
            return self.fail(CodecError::Unencodable(format!(
                "<{}> holds a character XML cannot carry",
                tag.name()
            )));
        }
        self.indent();
        self.start_tag(tag);
        self.out.push('>');
        escape_into(&mut self.out, text);
        self.end_tag(tag);
    }

    fn empty(&mut self, tag: Tag) {
        if tag == Tag::Unknown {
            return self.fail(CodecError::Unencodable(
                "a command the decoder did not understand".into(),
            ));
        }
        self.indent();
        self.start_tag(tag);
        self.out.push_str("/>");
    }

    fn data(&mut self, data: &Data) {
        match data {
            Data::Text(s) => self.leaf(Tag::Data, s),
            Data::Opaque(b) => match std::str::from_utf8(b) {
                Ok(s) => self.leaf(Tag::Data, s),
                Err(_) => self.fail(CodecError::Unencodable(
                    "binary Data cannot be carried in XML; send it as Format b64".into(),
                )),
            },
            Data::Xml(s) => {
                self.indent();
                self.start_tag(Tag::Data);
                self.out.push('>');
                self.out.push_str(s);
                self.end_tag(Tag::Data);
            }
        }
    }
}
