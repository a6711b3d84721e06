//! The recipes of the hand-built WBXML fixtures: a small WBXML writer,
//! independent of the codec under test (it shares only the token table),
//! that writes an XML twin with the header, Data tokens and code-page
//! habits of the encoders we met (Motorola's DM engine, a WBXML 1.3 peer).
//!
//! The writer: element tokens from `Tag::wbxml`, a `SWITCH_PAGE` whenever
//! the next tag is on another code page (so MetInf children switch to page
//! 1 and the next SyncML tag switches back, as Motorola's encoder does);
//! text of leaves trimmed, as one `STR_I`; `Data` exactly as in the XML
//! (CDATA content included), as `STR_I` or `OPAQUE`; white space between
//! elements, comments and the DOCTYPE dropped; an element without content
//! (`<Data/>`, `<Item></Item>`) written without the content flag.
//!
//! `hand_built_wbxml_fixtures_match_their_recipes` (dm_wbxml_interop)
//! checks the files against these recipes; with `DMSCHED_BLESS_FIXTURES=1`
//! it writes them instead.

use dmsched::dm::syncml::Tag;
use quick_xml::Reader;
use quick_xml::events::Event;

/// How the header names the document type.
#[derive(Clone, Copy, Debug)]
pub enum PublicId {
    /// A well-known public id as a multi-byte integer (0x1201 → `a4 01`)
    /// and an empty string table.
    Numeric(u32),
    /// Public id 0 ("in the string table") at index 0 of a string table
    /// that holds `id`, with or without a terminating NUL.
    Literal {
        /// The formal public identifier.
        id: &'static str,
        /// Whether the table ends the string with a NUL (WAP-192 says it
        /// must; Motorola's encoder leaves it off).
        nul: bool,
    },
}

/// How `Data` content is written.
#[derive(Clone, Copy, Debug)]
pub enum DataAs {
    /// One inline string (`STR_I`).
    Str,
    /// `OPAQUE` bytes.
    Opaque,
}

/// One hand-built fixture.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    /// The file it makes, in fixtures/syncml.
    pub file: &'static str,
    /// Its XML twin, in fixtures/syncml.
    pub twin: &'static str,
    /// The WBXML version byte (0x02 = 1.2, 0x03 = 1.3).
    pub version: u8,
    /// The document type.
    pub public_id: PublicId,
    /// How Data is written.
    pub data: DataAs,
    /// Puts a DevInf element (code page 2: `DevInf` with `Man` and `Mod`)
    /// after the first child of the first `Item` of the first `Replace`,
    /// where a decoder must skip it.
    pub page2_devinf_in_replace_item: bool,
}

/// The formal public identifier of SyncML 1.1.
pub const SYNCML_11: &str = "-//SYNCML//DTD SyncML 1.1//EN";
/// The formal public identifier of SyncML 1.2.
pub const SYNCML_12: &str = "-//SYNCML//DTD SyncML 1.2//EN";

/// Every hand-built fixture.
pub const RECIPES: [Recipe; 4] = [
    // Motorola's server package 2: the 1.1 literal (no NUL) with VerDTD 1.2.
    Recipe {
        file: "auth-basic-pkg2-get-status212.pubid-literal-syncml11.wbxml",
        twin: "auth-basic-pkg2-get-status212.xml",
        version: 0x02,
        public_id: PublicId::Literal {
            id: SYNCML_11,
            nul: false,
        },
        data: DataAs::Str,
        page2_devinf_in_replace_item: false,
    },
    // Motorola's client reply: the 1.2 literal (with its NUL), MetInf
    // Format/Type/Size in Results on code page 1.
    Recipe {
        file: "get-results-meta-format-type-size.pubid-literal-syncml12-metinf-pages.wbxml",
        twin: "get-results-meta-format-type-size.xml",
        version: 0x02,
        public_id: PublicId::Literal {
            id: SYNCML_12,
            nul: true,
        },
        data: DataAs::Str,
        page2_devinf_in_replace_item: false,
    },
    // A peer writing WBXML 1.3, public id 0x1201, no string table.
    Recipe {
        file: "status-data-before-targetref-duplicate-cmdid.wbxml13-numeric-pubid-empty-strtbl.wbxml",
        twin: "status-data-before-targetref-duplicate-cmdid.xml",
        version: 0x03,
        public_id: PublicId::Numeric(0x1201),
        data: DataAs::Str,
        page2_devinf_in_replace_item: false,
    },
    // A client package 1 with every Data as OPAQUE and a DevInf element.
    Recipe {
        file: "cdata-devinfo-replace-locname-basic-cred.opaque-data-page2-devinf.wbxml",
        twin: "cdata-devinfo-replace-locname-basic-cred.xml",
        version: 0x02,
        public_id: PublicId::Numeric(0x1201),
        data: DataAs::Opaque,
        page2_devinf_in_replace_item: true,
    },
];

const SWITCH_PAGE: u8 = 0x00;
const END: u8 = 0x01;
const STR_I: u8 = 0x03;
const OPAQUE: u8 = 0xC3;
const HAS_CONTENT: u8 = 0x40;
/// MIBenum of UTF-8.
const UTF_8: u8 = 0x6A;

/// The DevInf element spliced by `page2_devinf_in_replace_item`: switch to
/// page 2, `DevInf` (0x0A) holding `Man` (0x11) "Oriole" and `Mod` (0x15)
/// "R7", tokens of the SyncML DevInf DTD.
const PAGE2_DEVINF: &[u8] = &[
    SWITCH_PAGE,
    2,
    0x0A | HAS_CONTENT,
    0x11 | HAS_CONTENT,
    STR_I,
    b'O',
    b'r',
    b'i',
    b'o',
    b'l',
    b'e',
    0,
    END,
    0x15 | HAS_CONTENT,
    STR_I,
    b'R',
    b'7',
    0,
    END,
    END,
];

/// An element of the twin, as the writer needs it.
#[derive(Debug, Default)]
struct Node {
    name: String,
    children: Vec<Node>,
    text: String,
}

/// Builds the fixture `r` from its twin's bytes.
pub fn build(r: &Recipe, twin_xml: &[u8]) -> Vec<u8> {
    let root = parse(twin_xml);
    let mut out = vec![r.version];
    match r.public_id {
        PublicId::Numeric(id) => {
            mb_u_int32(&mut out, id);
            out.extend([UTF_8, 0]);
        }
        PublicId::Literal { id, nul } => {
            let mut table = id.as_bytes().to_vec();
            if nul {
                table.push(0);
            }
            out.extend([0, 0, UTF_8]);
            mb_u_int32(&mut out, u32::try_from(table.len()).expect("a short table"));
            out.extend(table);
        }
    }
    let mut w = Writer {
        out,
        page: 0,
        data: r.data,
        splice: r.page2_devinf_in_replace_item,
    };
    w.element(&root, "");
    assert!(!w.splice, "{}: no Replace Item to put DevInf in", r.file);
    w.out
}

fn mb_u_int32(out: &mut Vec<u8>, mut v: u32) {
    let mut groups = vec![(v & 0x7F) as u8];
    v >>= 7;
    while v > 0 {
        groups.push((v & 0x7F) as u8 | 0x80);
        v >>= 7;
    }
    out.extend(groups.iter().rev());
}

struct Writer {
    out: Vec<u8>,
    page: u8,
    data: DataAs,
    splice: bool,
}

impl Writer {
    fn element(&mut self, n: &Node, parent: &str) {
        let tag = Tag::from_name(n.name.as_bytes());
        let (page, token) = tag
            .wbxml()
            .unwrap_or_else(|| panic!("<{}> is not a SyncML element", n.name));
        if page != self.page {
            self.out.extend([SWITCH_PAGE, page]);
            self.page = page;
        }
        let is_data = tag == Tag::Data;
        let text = if is_data { &n.text[..] } else { n.text.trim() };
        if n.children.is_empty() && text.is_empty() {
            self.out.push(token);
            return;
        }
        self.out.push(token | HAS_CONTENT);
        if n.children.is_empty() {
            match (is_data, self.data) {
                (true, DataAs::Opaque) => {
                    self.out.push(OPAQUE);
                    let len = u32::try_from(text.len()).expect("a short Data");
                    mb_u_int32(&mut self.out, len);
                    self.out.extend(text.as_bytes());
                }
                _ => {
                    self.out.push(STR_I);
                    self.out.extend(text.as_bytes());
                    self.out.push(0);
                }
            }
        } else {
            let splice_here = self.splice && n.name == "Item" && parent == "Replace";
            for (i, c) in n.children.iter().enumerate() {
                self.element(c, &n.name);
                if splice_here && i == 0 {
                    self.out.extend(PAGE2_DEVINF);
                    self.page = 2;
                    self.splice = false;
                }
            }
        }
        self.out.push(END);
    }
}

/// The element tree of a well-formed twin (text unescaped, CDATA as its
/// content; markup inside a leaf is not expected in a twin).
fn parse(xml: &[u8]) -> Node {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = vec![Node::default()];
    loop {
        match reader.read_event().expect("a well-formed twin") {
            Event::Start(e) => stack.push(Node {
                name: e.local_name().as_ref().to_string(),
                ..Node::default()
            }),
            Event::Empty(e) => {
                let n = Node {
                    name: e.local_name().as_ref().to_string(),
                    ..Node::default()
                };
                stack.last_mut().expect("a parent").children.push(n);
            }
            Event::End(_) => {
                let n = stack.pop().expect("an open element");
                stack.last_mut().expect("a parent").children.push(n);
            }
            Event::Text(t) => {
                let top = stack.last_mut().expect("an open element");
                top.text.push_str(&t.xml10_content());
            }
            Event::CData(t) => {
                let top = stack.last_mut().expect("an open element");
                top.text.push_str(&t.xml10_content());
            }
            Event::GeneralRef(r) => {
                let top = stack.last_mut().expect("an open element");
                let c = match r.resolve_char_ref().expect("a valid reference") {
                    Some(c) => c,
                    None => match &*r {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("entity &{other}; in a twin"),
                    },
                };
                top.text.push(c);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut doc = stack.pop().expect("the document");
    assert!(stack.is_empty() && doc.children.len() == 1, "one root");
    doc.children.pop().expect("the root")
}
