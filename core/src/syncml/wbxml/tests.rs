//! Unit tests of the WBXML reader and writer.

use super::super::error::CodecError;
use super::super::model::Data;
use super::super::stream::{Limits, Sink, Source};
use super::super::tag::Tag;
use super::read::Reader;
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
            None if s.at_top() => return Ok(()),
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
