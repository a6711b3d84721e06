//! SyncML DM 1.2 WBXML codec (issue 5, "Representation", facts §7): every
//! WBXML fixture (core/tests/fixtures/syncml: made by libwbxml from its XML
//! twin, or hand-built in the shapes of Motorola's encoder and a WBXML 1.3
//! peer; see its README.md) decodes to what its XML twin decodes to, our
//! WBXML and libwbxml's (Debian `libwbxml2-utils`: `wbxml2xml`,
//! `xml2wbxml`) agree both ways on every fixture and on a synthetic
//! message with every command, and hostile input gets an error, never a
//! panic. The same checks against the real-world corpus are in
//! `interop_corpus_wbxml` (`make interop`).
//!
//! The libwbxml tools are required: when they are missing these tests fail
//! and say to install `libwbxml2-utils`.

mod syncml_support;

use std::time::{Duration, Instant};

use dmsched::dm::syncml::{
    self, CodecError, Command, Data, Encoding, Limits, Meta, SyncBody, SyncMl,
};
use syncml_support::access::{self, results, status, target_uri};
use syncml_support::compare::{Crlf, assert_same, normalise};
use syncml_support::files::{fixture, fixture_files, fixtures_dir, twin_of};
use syncml_support::libwbxml::{self, wbxml2xml, xml2wbxml};
use syncml_support::robustness;
use syncml_support::synthetic::{every_command_message, item_cmd, s, some, target_item};
use syncml_support::wbxml_recipe::{self, RECIPES, SYNCML_11, SYNCML_12};
use syncml_support::{decode_wbxml, decode_xml};

/// Set to 1 to (re)write the WBXML fixtures from their recipes and from
/// `xml2wbxml` instead of checking them.
const BLESS: &str = "DMSCHED_BLESS_FIXTURES";

fn blessing() -> bool {
    std::env::var_os(BLESS).is_some_and(|v| v == "1")
}

/// Fixture XML that is not well-formed on purpose (bare `&`, typographic
/// quotes, `&#39;` quotes, two roots): our XML reader is lenient with it,
/// libxml (in `xml2wbxml`) is not.
const NOT_WELL_FORMED: [&str; 5] = [
    "auth-md5-chal-nextnonce-typographic-quotes.xml",
    "auth-md5-cred-typographic-quotes.xml",
    "generic-alert-1226-metinfo-wrong-ns-leading-space-dup-cmdid.xml",
    "hdr-body-without-syncml-root.xml",
    "ui-alerts-1100-1104-bare-ampersand-atomic.xml",
];

/// The fixture whose Data holds an XML document, which `xml2wbxml` turns
/// into nested WBXML (checked by
/// `xml2wbxml_nests_embedded_documents_as_opaque_wbxml`).
const EMBEDDED_DOCUMENT: &str = "embedded-tnds-mgmttree-in-data.xml";

/// Whole XML messages among the fixtures (not fragments), decoded.
fn xml_messages() -> Vec<(String, SyncMl)> {
    let out: Vec<_> = fixture_files(".xml")
        .into_iter()
        .filter(|(name, _)| !name.contains(".fragment."))
        .map(|(name, bytes)| {
            let m = decode_xml(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, m)
        })
        .collect();
    assert!(out.len() >= 23, "only {} fixture XML messages", out.len());
    out
}

/// The fixture messages our codecs can re-encode (all but the DS message
/// with its unknown Sync), plus the synthetic one.
fn interop_messages() -> Vec<(String, SyncMl)> {
    let mut out: Vec<_> = xml_messages()
        .into_iter()
        .filter(|(_, m)| syncml::encode(m, Encoding::Wbxml).is_ok())
        .collect();
    assert!(
        out.len() >= 22,
        "only {} fixture messages re-encode",
        out.len()
    );
    out.push((
        s("synthetic every-command message"),
        every_command_message(),
    ));
    out
}

/// How a WBXML fixture compares with its twin: libwbxml's `xml2wbxml`
/// writes LF in Data as CR LF; the hand-built ones keep Data as it is.
fn crlf_of(wbxml_name: &str) -> Crlf {
    if wbxml_name.contains(".libwbxml.") {
        Crlf::Fold
    } else {
        Crlf::Keep
    }
}

// ----------------------------------------------------------------- tests

/// Issue 5 / facts §7: every WBXML fixture (made by libwbxml or hand-built)
/// has an XML twin (`<stem>.<how>.wbxml` ↔ `<stem>.xml`), decodes, and its
/// WBXML decode equals our XML decode of the twin.
#[test]
fn every_fixture_wbxml_decodes_and_equals_its_xml_twin() {
    let files = fixture_files(".wbxml");
    assert_eq!(files.len(), 8, "WBXML fixtures");
    for (name, bytes) in &files {
        let m = decode_wbxml(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let twin = twin_of(name);
        let want = decode_xml(&fixture(&twin)).unwrap_or_else(|e| panic!("{twin}: {e}"));
        assert_same(&m, &want, crlf_of(name), &format!("{name} vs {twin}"));
    }
}

/// Issue 5: libwbxml's decoder agrees that every WBXML fixture (the
/// hand-built ones included: they are valid WBXML, not just something our
/// decoder tolerates) holds what its XML twin holds; the page-2 element
/// comes out as `<unknown>`, which our XML decoder skips likewise.
#[test]
fn wbxml2xml_reads_every_wbxml_fixture_like_its_twin() {
    for (name, bytes) in fixture_files(".wbxml") {
        let xml = wbxml2xml(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = decode_xml(&xml)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", String::from_utf8_lossy(&xml)));
        let twin = twin_of(&name);
        let want = decode_xml(&fixture(&twin)).unwrap();
        assert_same(
            &got,
            &want,
            crlf_of(&name),
            &format!("{name} via wbxml2xml"),
        );
    }
}

/// The hand-built WBXML fixtures are exactly what their recipes
/// (`syncml_support/wbxml_recipe.rs`) make of their twins; with
/// `DMSCHED_BLESS_FIXTURES=1` they are written instead.
#[test]
fn hand_built_wbxml_fixtures_match_their_recipes() {
    for r in &RECIPES {
        let built = wbxml_recipe::build(r, &fixture(r.twin));
        let path = fixtures_dir().join(r.file);
        if blessing() {
            std::fs::write(&path, &built).unwrap();
            continue;
        }
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (write it with {BLESS}=1)", path.display()));
        assert!(
            on_disk == built,
            "{} differs from its recipe (rewrite it with {BLESS}=1 if the recipe is right)",
            r.file
        );
    }
}

/// The `*.libwbxml.wbxml` fixtures are what `xml2wbxml -v 1.2` makes of
/// their twins: byte for byte with the libwbxml that made them (0.11.8),
/// the same model with another version; `DMSCHED_BLESS_FIXTURES=1` writes
/// them instead.
#[test]
fn libwbxml_fixtures_are_what_xml2wbxml_makes_of_their_twins() {
    let same_version = libwbxml::version().as_deref() == Some(libwbxml::FIXTURE_VERSION);
    let files = fixture_files(".libwbxml.wbxml");
    assert_eq!(files.len(), 4);
    for (name, on_disk) in files {
        let twin = twin_of(&name);
        let made = libwbxml::xml2wbxml_as_fixtures_were_made(&fixture(&twin))
            .unwrap_or_else(|e| panic!("{twin}: {e}"));
        if blessing() {
            std::fs::write(fixtures_dir().join(&name), &made).unwrap();
        } else if same_version {
            assert!(
                on_disk == made,
                "{name} is not xml2wbxml's output for {twin}"
            );
        } else {
            assert_eq!(
                decode_wbxml(&on_disk).unwrap(),
                decode_wbxml(&made).unwrap(),
                "{name}"
            );
        }
    }
}

/// Motorola's encoder (facts §7): the public id as a string-table literal,
/// `-//SYNCML//DTD SyncML 1.1//EN` without its NUL while VerDTD says 1.2,
/// or the 1.2 literal with its NUL; MetInf on code page 1 switched to and
/// back from inside Meta. Both decode with every field.
#[test]
fn motorola_public_id_literals_and_metinf_page_switches_are_read() {
    let w = fixture("auth-basic-pkg2-get-status212.pubid-literal-syncml11.wbxml");
    let header = [&[0x02, 0x00, 0x00, 0x6A, 0x1D][..], SYNCML_11.as_bytes()].concat();
    assert_eq!(
        w[..header.len()],
        header[..],
        "version 1.2, literal 1.1, no NUL"
    );
    let m = decode_wbxml(&w).unwrap();
    assert_eq!(m.hdr.ver_dtd, "1.2");
    assert_eq!(
        m.hdr.resp_uri.as_deref(),
        Some("http://192.0.2.41:8080/dmsrv?sid=3107&tok=R9v2")
    );
    let cred = m.hdr.cred.as_ref().unwrap();
    let meta = cred.meta.as_ref().unwrap();
    assert_eq!(
        (meta.format.as_deref(), meta.type_.as_deref()),
        (Some("b64"), Some("syncml:auth-basic"))
    );
    assert_eq!(cred.data, "a2VzdHJlbC1kbTpTcDRycm93I0dhdGU=");
    assert_eq!(
        m.hdr.meta.as_ref().unwrap().max_msg_size_value(),
        Some(20000)
    );
    let st = status(&m.body.commands[0]);
    assert_eq!((st.cmd.as_str(), st.code()), ("SyncHdr", 212));
    let g = access::item_cmd(&m.body.commands[1], "Get");
    assert_eq!(target_uri(&g.items[0]), "./DevDetail/URI/MaxDepth");

    let w = fixture("get-results-meta-format-type-size.pubid-literal-syncml12-metinf-pages.wbxml");
    let header = [
        &[0x02, 0x00, 0x00, 0x6A, 0x1E][..],
        SYNCML_12.as_bytes(),
        &[0],
    ]
    .concat();
    assert_eq!(
        w[..header.len()],
        header[..],
        "version 1.2, literal 1.2, NUL"
    );
    // Meta, page 1, Format … END, page 0 before the next SyncML tag.
    let meta_on_page_1 = [0x5A, 0x00, 0x01, 0x47, 0x03, b'i', b'n', b't', 0x00, 0x01];
    assert!(w.windows(meta_on_page_1.len()).any(|x| x == meta_on_page_1));
    let m = decode_wbxml(&w).unwrap();
    let r = results(&m.body.commands[2]);
    let meta = r.items[0].meta.as_ref().unwrap();
    assert_eq!(
        (
            meta.format.as_deref(),
            meta.type_.as_deref(),
            meta.size_value()
        ),
        (Some("int"), Some("text/plain"), Some(2))
    );
    assert_eq!(r.items[0].data, Some(Data::Text(s("16"))));
}

/// A peer writing WBXML version 1.3 (0x03) with the numeric public id
/// 0x1201 and an empty string table; its Status has Data before
/// TargetRef, and CmdID 1 is used twice.
#[test]
fn wbxml_13_with_numeric_public_id_and_empty_string_table_is_read() {
    let w = fixture(
        "status-data-before-targetref-duplicate-cmdid.wbxml13-numeric-pubid-empty-strtbl.wbxml",
    );
    assert_eq!(w[..5], [0x03, 0xA4, 0x01, 0x6A, 0x00]);
    let m = decode_wbxml(&w).unwrap();
    let st = status(&m.body.commands[0]);
    assert_eq!((st.cmd_id.as_str(), st.code()), ("1", 212));
    assert_eq!(st.target_refs, ["https://tern.example/dm/session"]);
    let g = access::item_cmd(&m.body.commands[4], "Get");
    assert_eq!((g.cmd_id.as_str(), g.items.len()), ("1", 7));
}

/// OPAQUE Data (where the XML twin has CDATA) is read as `Data::Opaque`
/// with the bytes exactly; a DevInf element on code page 2 inside an Item
/// is skipped, and the page switch back to 0 is followed.
#[test]
fn opaque_data_is_read_and_a_page_2_element_is_skipped() {
    let w = fixture("cdata-devinfo-replace-locname-basic-cred.opaque-data-page2-devinf.wbxml");
    assert_eq!(w[..5], [0x02, 0xA4, 0x01, 0x6A, 0x00]);
    assert!(
        w.windows(3).any(|x| x == [0x00, 0x02, 0x4A]),
        "a DevInf element"
    );
    let want = "Oriole & Pine <Field Systems>";
    let opaque = [&[0xC3, 29][..], want.as_bytes()].concat();
    assert!(w.windows(opaque.len()).any(|x| x == opaque));
    let m = decode_wbxml(&w).unwrap();
    let r = access::item_cmd(&m.body.commands[1], "Replace");
    assert_eq!(r.items.len(), 5);
    assert_eq!(
        r.items[1].data,
        Some(Data::Opaque(want.as_bytes().to_vec()))
    );
    let twin = decode_xml(&fixture("cdata-devinfo-replace-locname-basic-cred.xml")).unwrap();
    assert_same(&m, &twin, Crlf::Keep, "the DevInf element is skipped");
}

/// Issue 5: our WBXML of every message round-trips through our decoder,
/// byte for byte in the model: Data keeps its variant (STR_I comes back as
/// Text, OPAQUE as Opaque), except an embedded XML document (`Data::Xml`),
/// which WBXML carries as OPAQUE markup and so comes back as Opaque with the
/// same bytes (facts §7).
#[test]
fn our_wbxml_round_trips_every_message_exactly() {
    for (name, m) in interop_messages() {
        let w = syncml::encode(&m, Encoding::Wbxml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&w[..5], [0x02, 0xA4, 0x01, 0x6A, 0x00], "{name}: header");
        let back = syncml::decode(&w).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(back, xml_data_as_opaque(&m), "{name}");
    }
}

/// `m` with every `Data::Xml` turned into `Data::Opaque` of its markup.
fn xml_data_as_opaque(m: &SyncMl) -> SyncMl {
    let normalised = normalise(m, Crlf::Keep);
    let mut out = m.clone();
    for (c, n) in out.body.commands.iter_mut().zip(&normalised.body.commands) {
        if contains_xml_data(c) {
            *c = n.clone();
        }
    }
    out
}

fn contains_xml_data(c: &Command) -> bool {
    let items = match c {
        Command::Add(x)
        | Command::Copy(x)
        | Command::Delete(x)
        | Command::Get(x)
        | Command::Replace(x) => &x.items,
        Command::Alert(a) => &a.items,
        Command::Exec(e) => &e.items,
        Command::Status(s) => &s.items,
        Command::Results(r) => &r.items,
        Command::Atomic(x) | Command::Sequence(x) => {
            return x.commands.iter().any(contains_xml_data);
        }
        Command::Unknown(_) => return false,
    };
    items.iter().any(|i| matches!(i.data, Some(Data::Xml(_))))
}

/// Issue 5: libwbxml interop, our encoder → libwbxml's decoder. Our WBXML
/// of every fixture message and of the every-command message, turned into
/// XML by `wbxml2xml`, decodes (with our XML decoder) to the same model.
#[test]
fn our_wbxml_read_by_wbxml2xml_gives_the_same_model() {
    for (name, m) in interop_messages() {
        let w = syncml::encode(&m, Encoding::Wbxml).unwrap();
        let xml = wbxml2xml(&w).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = decode_xml(&xml)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", String::from_utf8_lossy(&xml)));
        assert_same(&back, &m, Crlf::Keep, &name);
    }
}

/// Issue 5: libwbxml interop, libwbxml's encoder → our decoder. Our XML of
/// every fixture message and of the every-command message, encoded by
/// `xml2wbxml -v 1.2`, decodes (with our WBXML decoder) to the model our
/// XML decoder reads from the same XML (the [`EMBEDDED_DOCUMENT`] excepted:
/// libwbxml nests it as WBXML, see
/// `xml2wbxml_nests_embedded_documents_as_opaque_wbxml`).
#[test]
fn xml2wbxml_output_decodes_to_the_same_model_as_our_xml() {
    for (name, m) in interop_messages() {
        if name == EMBEDDED_DOCUMENT {
            continue;
        }
        let xml = syncml::encode(&m, Encoding::Xml).unwrap();
        let want = decode_xml(&xml).unwrap();
        let w = xml2wbxml(&xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = decode_wbxml(&w).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same(&back, &want, Crlf::Fold, &name);
    }
}

/// Issue 5: the fixture XML as it was written (DOCTYPEs, indentation,
/// comments, CDATA, the DS message whose `Sync` is kept as an unknown
/// command), encoded by `xml2wbxml`, decodes with our WBXML decoder to
/// what our XML decoder reads from it ([`NOT_WELL_FORMED`] fixtures and the
/// [`EMBEDDED_DOCUMENT`] one excepted).
#[test]
fn fixture_xml_encoded_by_xml2wbxml_decodes_like_the_xml() {
    let mut checked = 0;
    for (name, want) in xml_messages() {
        if NOT_WELL_FORMED.contains(&name.as_str()) || name == EMBEDDED_DOCUMENT {
            continue;
        }
        let w = xml2wbxml(&fixture(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let back = decode_wbxml(&w).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_same(&back, &want, Crlf::Fold, &name);
        checked += 1;
    }
    assert!(checked >= 17, "only {checked} well-formed fixtures");
}

/// Interop: an embedded document in `Data` (TNDS here; DevInf likewise)
/// is not sent as element content by libwbxml: it writes a nested WBXML
/// document in OPAQUE and changes the Meta Type to `…+wbxml`. We read it
/// as that opaque document — for a synthetic Add and for the
/// [`EMBEDDED_DOCUMENT`] fixture as written.
#[test]
fn xml2wbxml_nests_embedded_documents_as_opaque_wbxml() {
    let mut m = every_command_message();
    let mut item = target_item("./OperatorX", None);
    item.meta = Some(Meta {
        format: some("xml"),
        type_: some("application/vnd.syncml.dmtnds+xml"),
        ..Meta::default()
    });
    item.data = Some(Data::Xml(s(
        "<MgmtTree xmlns=\"syncml:dmddf1.2\"><VerDTD>1.2</VerDTD>\
         <Node><NodeName>E-Mail</NodeName></Node></MgmtTree>",
    )));
    m.body.commands = vec![Command::Add(item_cmd("1", vec![item]))];
    let xml = syncml::encode(&m, Encoding::Xml).unwrap();
    assert_eq!(decode_xml(&xml).unwrap(), m);
    for (what, xml) in [
        ("synthetic", xml),
        (EMBEDDED_DOCUMENT, fixture(EMBEDDED_DOCUMENT)),
    ] {
        let back = decode_wbxml(&xml2wbxml(&xml).unwrap()).unwrap();
        let Some(Command::Add(add)) = back.body.commands.first() else {
            panic!("{what}: no Add: {back:?}")
        };
        let got = &add.items[0];
        let Some(Data::Opaque(nested)) = &got.data else {
            panic!("{what}: {:?}", got.data)
        };
        assert_eq!(
            nested[..4],
            [0x02, 0x00, 0x00, 0x6A],
            "{what}: WBXML 1.2, literal public id, UTF-8"
        );
        assert!(
            nested
                .windows(26)
                .any(|w| w == b"-//OMA//DTD-DM-DDF 1.2//EN"),
            "{what}"
        );
        let type_ = got.meta.as_ref().and_then(|m| m.type_.as_deref());
        assert_eq!(type_, Some("application/vnd.syncml.dmtnds+wbxml"), "{what}");
    }
}

/// Data::Opaque with bytes that are not UTF-8 survives our WBXML exactly
/// (XML cannot carry it; libwbxml's decoder would put it raw into CDATA).
#[test]
fn binary_opaque_data_round_trips_through_our_wbxml() {
    let bin: Vec<u8> = (0..=255u8).rev().chain(0..=255).collect();
    let mut m = every_command_message();
    m.body.commands.push(Command::Replace(item_cmd(
        "99",
        vec![
            target_item("./Bin", Some(Data::Opaque(bin.clone()))),
            target_item("./Empty", Some(Data::Opaque(Vec::new()))),
        ],
    )));
    let w = syncml::encode(&m, Encoding::Wbxml).unwrap();
    assert_eq!(syncml::decode(&w).unwrap(), m);
    assert!(matches!(
        syncml::encode(&m, Encoding::Xml),
        Err(CodecError::Unencodable(_))
    ));
}

/// Data::Xml (an embedded document read from XML) is written as OPAQUE
/// holding its markup; libwbxml shows it as that markup in CDATA.
#[test]
fn xml_data_is_written_as_opaque_markup() {
    let markup = "<DevInf xmlns=\"syncml:devinf\"><Man>Acme</Man></DevInf>";
    let mut m = every_command_message();
    m.body.commands.push(Command::Replace(item_cmd(
        "99",
        vec![target_item("./DevInf", Some(Data::Xml(markup.to_string())))],
    )));
    let w = syncml::encode(&m, Encoding::Wbxml).unwrap();
    let back = syncml::decode(&w).unwrap();
    assert_same(&back, &m, Crlf::Keep, "ours");
    let Some(Command::Replace(r)) = back.body.commands.last() else {
        panic!("no Replace")
    };
    assert_eq!(
        r.items[0].data,
        Some(Data::Opaque(markup.as_bytes().to_vec()))
    );
    let via_libwbxml = decode_xml(&wbxml2xml(&w).unwrap()).unwrap();
    assert_same(&via_libwbxml, &m, Crlf::Keep, "via wbxml2xml");
}

/// Facts §7: elements of other code pages (DevInf is page 2) are skipped
/// where the decoder skips unknown elements; inside `Data` they are 415
/// Unsupported, since only string and opaque Data are read.
#[test]
fn foreign_code_page_elements_are_skipped_but_not_accepted_as_data() {
    let m = every_command_message();
    let w = syncml::encode(&m, Encoding::Wbxml).unwrap();
    // After the Target of the Atomic's Replace item ("./A/B"), inside
    // the Item: a page-2 element with a child.
    let target = [0x03, b'.', b'/', b'A', b'/', b'B', 0x00, 0x01, 0x01];
    let at = w
        .windows(target.len())
        .position(|x| x == target)
        .expect("./A/B")
        + target.len();
    let foreign = [
        0x00, 0x02, 0x45, 0x03, b'x', 0x00, 0x46, 0x01, 0x01, 0x00, 0x00,
    ];
    let spliced = [&w[..at], &foreign[..], &w[at..]].concat();
    assert_eq!(syncml::decode(&spliced).unwrap(), m);

    // The Data of the Exec's item ("go"): an element instead of the string.
    let go = [0x4F, 0x03, b'g', b'o', 0x00, 0x01];
    let at = w
        .windows(go.len())
        .position(|x| x == go)
        .expect("the Exec Data")
        + 1;
    let element = [0x00, 0x02, 0x45, 0x03, b'x', 0x00, 0x01, 0x00, 0x00];
    let spliced = [&w[..at], &element[..], &w[at + go.len() - 2..]].concat();
    let e = syncml::decode(&spliced).unwrap_err();
    assert!(matches!(e, CodecError::Unsupported(_)), "{e}");
    assert_eq!(e.status(), 415);
}

/// Robustness: every strict prefix of a valid WBXML message is an error
/// (Malformed), never a panic.
#[test]
fn every_truncation_of_a_wbxml_message_is_malformed() {
    robustness::wbxml_truncations_are_malformed(&[
        syncml::encode(&every_command_message(), Encoding::Wbxml).unwrap(),
        fixture("cdata-devinfo-replace-locname-basic-cred.opaque-data-page2-devinf.wbxml"),
    ]);
}

/// Robustness: seeded random mutations (overwrites with random and
/// token-like bytes, insertions, deletions) decode to Ok or Err, never
/// panic or hang; what decodes can be encoded again.
#[test]
fn seeded_random_mutations_never_panic() {
    let mut bases = vec![syncml::encode(&every_command_message(), Encoding::Wbxml).unwrap()];
    bases.extend(fixture_files(".wbxml").into_iter().map(|(_, bytes)| bytes));
    robustness::wbxml_mutations_never_panic(&bases);
}

/// Robustness: a declared OPAQUE length of 0xFFFFFFF in a small message is
/// Malformed at once (checked against the input, nothing allocated).
#[test]
fn huge_declared_opaque_length_is_malformed_quickly() {
    let mut m = every_command_message();
    m.body.commands = vec![Command::Replace(item_cmd(
        "1",
        vec![target_item("./X", Some(Data::Opaque(b"WXYZ".to_vec())))],
    ))];
    let w = syncml::encode(&m, Encoding::Wbxml).unwrap();
    let opaque = [0xC3, 0x04, b'W', b'X', b'Y', b'Z'];
    let at = w
        .windows(opaque.len())
        .position(|x| x == opaque)
        .expect("the opaque");
    let huge = [&w[..at], &[0xC3, 0xFF, 0xFF, 0xFF, 0x7F], &w[at + 2..]].concat();
    let start = Instant::now();
    let e = decode_wbxml(&huge).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(matches!(e, CodecError::Malformed { .. }), "{e}");
    assert_eq!(e.status(), 400);
}

/// Robustness: commands nested 1000 deep (Atomic in Atomic…), and 1000
/// foreign elements deep inside an Item (skipped), are LimitExceeded, as is
/// a message with more elements than allowed.
#[test]
fn nesting_1000_deep_and_too_many_elements_are_limit_exceeded() {
    // Header, SyncBody, END, END: keep the header.
    let mut empty = every_command_message();
    empty.body = SyncBody::default();
    let w = syncml::encode(&empty, Encoding::Wbxml).unwrap();
    let (head, tail) = w.split_at(w.len() - 3);
    assert_eq!(tail, [0x6B, 0x01, 0x01]);
    let atomics = [head, &[0x6B], &[0x48; 1000], &[0x01; 1002]].concat();
    let foreign = [
        head,
        &[0x6B, 0x60, 0x4B, 0x03, b'1', 0x00, 0x01, 0x54, 0x00, 0x02],
        &[0x45; 1000],
        &[0x01; 1000],
        &[0x00, 0x00, 0x01, 0x01, 0x01, 0x01],
    ]
    .concat();
    for (what, w) in [("Atomic", atomics), ("foreign", foreign)] {
        let e = decode_wbxml(&w).unwrap_err();
        assert!(matches!(e, CodecError::LimitExceeded(_)), "{what}: {e}");
        assert_eq!(e.status(), 400);
    }
    let w = syncml::encode(&every_command_message(), Encoding::Wbxml).unwrap();
    let few = Limits {
        max_elements: 50,
        ..Limits::default()
    };
    let e = syncml::decode_with(&w, Some(Encoding::Wbxml), &few).unwrap_err();
    assert!(matches!(e, CodecError::LimitExceeded(_)), "{e}");
}

/// WAP-192 header: charsets other than UTF-8 and public ids of other
/// document types (DevInf 0x1203, WML 0x04, a DevInf literal) are 415
/// Unsupported; the SyncML literal Motorola sends (1.1 with VerDTD 1.2) is
/// read.
#[test]
fn bad_charset_and_unknown_public_id_are_unsupported_415() {
    let w = syncml::encode(&every_command_message(), Encoding::Wbxml).unwrap();
    let body = &w[5..];
    let with_header = |h: &[u8]| [h, body].concat();
    for header in [
        &[0x02, 0xA4, 0x01, 0x04, 0x00][..],
        &[0x02, 0xA4, 0x01, 0x83, 0x68, 0x00],
        &[0x02, 0xA4, 0x03, 0x6A, 0x00],
        &[0x02, 0x04, 0x6A, 0x00],
    ] {
        let e = decode_wbxml(&with_header(header)).unwrap_err();
        assert!(
            matches!(e, CodecError::Unsupported(_)),
            "{header:02x?}: {e}"
        );
        assert_eq!(e.status(), 415);
    }
    let literal = |id: &str| {
        let mut h = vec![0x02, 0x00, 0x00, 0x6A, u8::try_from(id.len() + 1).unwrap()];
        h.extend_from_slice(id.as_bytes());
        h.push(0);
        with_header(&h)
    };
    let e = decode_wbxml(&literal("-//SYNCML//DTD DevInf 1.2//EN")).unwrap_err();
    assert_eq!(e.status(), 415, "{e}");
    let m = decode_wbxml(&literal("-//SYNCML//DTD SyncML 1.1//EN")).unwrap();
    assert_eq!(m, every_command_message());
}
