//! SyncML DM 1.2 XML codec (issue 5, "Representation"): every project
//! fixture (core/tests/fixtures/syncml, see its README.md) decodes and
//! round-trips, command fragments decode as command lists, and bad input
//! gets a 400-class error, never a panic. Each fixture's quirk is checked
//! field by field in `dm_syncml_quirks`; the same checks against the
//! real-world corpus are in `interop_corpus_xml` (`make interop`).

mod syncml_support;

use dmsched::dm::syncml::{
    self, CodecError, Command, Data, Encoding, Item, ItemCmd, Limits, Locus, Meta,
};
use syncml_support::access::{alert, container, exec, item_cmd, source_uri, target_uri, text};
use syncml_support::files::{fixture, fixture_files};
use syncml_support::robustness;

fn decode_fragment(name: &str) -> Vec<Command> {
    syncml::decode_commands(&fixture(name), &Limits::default())
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Issue 5: every whole message among the fixtures decodes, and its XML
/// encoding decodes to the same model, compact and pretty. The DS message
/// with a Sync command decodes but cannot be re-encoded (its command is
/// kept only as Unknown).
#[test]
fn every_fixture_message_decodes_and_round_trips_through_xml() {
    let mut checked = 0;
    for (name, bytes) in fixture_files(".xml") {
        if name.contains(".fragment.") {
            continue;
        }
        let m = syncml::decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        if name == "ds-sync-command-kept-as-unknown.xml" {
            assert!(syncml::encode(&m, Encoding::Xml).is_err(), "{name}");
            continue;
        }
        let x = syncml::encode(&m, Encoding::Xml).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(syncml::decode(&x).unwrap(), m, "{name} compact");
        let p = syncml::to_pretty_xml(&m).unwrap();
        assert_eq!(syncml::decode(p.as_bytes()).unwrap(), m, "{name} pretty");
        checked += 1;
    }
    assert!(checked >= 22, "only {checked} fixture messages");
}

/// Issue 6 (the Scheduling MO's Cmds node): command fragments (a SyncBody
/// without header, bare commands side by side) decode as command lists and
/// round-trip; a documentation placeholder (`<*ProviderID*>`) inside a
/// LocURI is markup where text belongs: 400.
#[test]
fn command_fragments_decode_as_command_lists() {
    let fragments = fixture_files(".fragment.xml");
    assert_eq!(fragments.len(), 4);
    for (name, bytes) in &fragments {
        let cmds = syncml::decode_commands(bytes, &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(!cmds.is_empty(), "{name}");
        let back = syncml::encode_commands(&cmds).unwrap();
        assert_eq!(
            syncml::decode_commands(back.as_bytes(), &Limits::default()).unwrap(),
            cmds,
            "{name}"
        );
    }

    let cmds = decode_fragment("fragment-bare-commands-exec-get.fragment.xml");
    assert_eq!(cmds.len(), 2);
    let e = exec(&cmds[0]);
    assert_eq!(
        (e.cmd_id.as_str(), e.correlator.as_deref()),
        ("4", Some("fg-exec-0193"))
    );
    assert_eq!(
        target_uri(&e.items[0]),
        "./Vendor/Fieldgrid/Provider/FieldgridDM/Unenroll"
    );
    let meta = e.items[0].meta.as_ref().unwrap();
    assert_eq!(meta.format.as_deref(), Some("chr"));
    assert_eq!(e.items[0].data, text("FieldgridDM"));
    let g = item_cmd(&cmds[1], "Get");
    assert_eq!(g.cmd_id, "5");
    assert_eq!(
        target_uri(&g.items[0]),
        "./Vendor/Fieldgrid/Provider/FieldgridDM/ExchangeID"
    );

    let placeholder = "<Exec><CmdID>2</CmdID><Item><Target><LocURI>\
        ./Vendor/Fieldgrid/Provider/<*ProviderID*>/Unenroll</LocURI></Target></Item></Exec>";
    let e = syncml::decode_commands(placeholder.as_bytes(), &Limits::default()).unwrap_err();
    assert_eq!(e.status(), 400, "{e}");
}

/// Microsoft's documentation quirk: LocURIs wrapped over lines inside an
/// Atomic of a SyncBody fragment. Surrounding white space is trimmed; the
/// line break inside is kept as written (the decoder does not guess).
#[test]
fn atomic_fragment_keeps_wrapped_locuris_as_written() {
    let cmds = decode_fragment("fragment-syncbody-atomic-locuri-wrapped.fragment.xml");
    assert_eq!(cmds.len(), 1);
    let a = container(&cmds[0], "Atomic");
    assert_eq!(a.cmd_id, "10");
    assert_eq!(a.commands.len(), 2);
    let want = [
        (
            "11",
            "./cimv2/FG_SamplingPolicy/FG_SamplingPolicy.\n            PolicyName=%22Hourly%22/IntervalMinutes",
            "int",
            "60",
        ),
        (
            "12",
            "./cimv2/FG_SamplingPolicy/FG_SamplingPolicy.\n              PolicyName=%22Hourly%22/Enabled",
            "bool",
            "true",
        ),
    ];
    for (c, (id, uri, format, data)) in a.commands.iter().zip(want) {
        let r = item_cmd(c, "Replace");
        assert_eq!(r.cmd_id, id);
        assert_eq!(target_uri(&r.items[0]), uri);
        let meta = r.items[0].meta.as_ref().unwrap();
        assert_eq!(meta.format.as_deref(), Some(format));
        assert_eq!(r.items[0].data, text(data));
    }
}

/// Microsoft's documentation quirk: `<Meta></Meta>` followed by a `Type`
/// outside Meta. The empty Meta is kept empty and the stray Type is
/// skipped as an unknown Item child (not moved into Meta).
#[test]
fn type_after_an_empty_meta_is_skipped() {
    let cmds = decode_fragment("fragment-alert1224-empty-meta-type-outside.fragment.xml");
    let want = [("1", "full"), ("2", "device-ready")];
    assert_eq!(cmds.len(), want.len());
    for (c, (id, data)) in cmds.iter().zip(want) {
        let a = alert(c);
        assert_eq!((a.cmd_id.as_str(), a.data.as_deref()), (id, Some("1224")));
        assert_eq!(a.items.len(), 1);
        assert_eq!(a.items[0].meta, Some(Meta::default()));
        assert_eq!(a.items[0].data, text(data));
    }
}

/// Generic Alert 1226 (a bare command, as a Cmds node or an asynchronous
/// result holds it): Correlator, Source, MetInf Type/Format/Mark, Data.
#[test]
fn generic_alert_1226_fields() {
    let cmds = decode_fragment("fragment-generic-alert-1226.fragment.xml");
    let a = alert(&cmds[0]);
    assert_eq!(a.cmd_id, "4");
    assert_eq!(a.data.as_deref(), Some("1226"));
    assert_eq!(a.correlator.as_deref(), Some("fg-exec-0193"));
    let i = &a.items[0];
    assert_eq!(source_uri(i), "./Vendor/Fieldgrid/Firmware/Update");
    let meta = i.meta.as_ref().unwrap();
    assert_eq!(
        meta.type_.as_deref(),
        Some("org.openmobilealliance.dm.firmwareupdate.update")
    );
    assert_eq!(meta.format.as_deref(), Some("int"));
    assert_eq!(meta.mark.as_deref(), Some("warning"));
    assert_eq!(i.data, text("410"));
}

fn minimal(body: &str) -> String {
    format!(
        "<SyncML xmlns=\"SYNCML:SYNCML1.2\"><SyncHdr><VerDTD>1.2</VerDTD><VerProto>DM/1.2</VerProto>\
         <SessionID>1</SessionID><MsgID>1</MsgID><Target><LocURI>IMEI:1</LocURI></Target>\
         <Source><LocURI>https://srv</LocURI></Source></SyncHdr><SyncBody>{body}<Final/></SyncBody></SyncML>"
    )
}

/// Text with markup characters, carriage returns and non-ASCII survives
/// escaping; binary opaque data refuses to become XML.
#[test]
fn escaping_round_trips_and_binary_is_refused() {
    let mut m = syncml::decode(minimal("").as_bytes()).unwrap();
    m.body.commands.push(Command::Replace(ItemCmd {
        cmd_id: "2".into(),
        meta: Some(Meta {
            format: Some("chr".into()),
            ..Meta::default()
        }),
        items: vec![Item {
            target: Some(Locus::uri("./A/B")),
            data: Some(Data::Text("a<b>&c\r\n\"é\" ]]> 💡".into())),
            ..Item::default()
        }],
        ..ItemCmd::default()
    }));
    let x = syncml::encode(&m, Encoding::Xml).unwrap();
    assert_eq!(syncml::decode(&x).unwrap(), m);
    if let Command::Replace(r) = &mut m.body.commands[0] {
        r.items[0].data = Some(Data::Opaque(vec![0xff, 0x00, 0x80]));
    }
    let e = syncml::encode(&m, Encoding::Xml).unwrap_err();
    assert!(matches!(e, CodecError::Unencodable(_)), "{e}");
}

/// Unknown commands are kept with their CmdID so the session can answer
/// 406; unknown elements elsewhere are skipped.
#[test]
fn unknown_command_is_kept_for_a_406() {
    let m = syncml::decode(
        minimal("<Search><CmdID>7</CmdID><Foo><Bar/></Foo></Search><Get><CmdID>8</CmdID><Bogus>x</Bogus><Item><Target><LocURI>./A</LocURI></Target></Item></Get>")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(m.body.commands[0].name(), "Search");
    assert_eq!(m.body.commands[0].cmd_id(), "7");
    assert_eq!(m.body.commands[1].cmd_id(), "8");
}

fn status_of(input: &[u8]) -> u16 {
    match syncml::decode(input) {
        Ok(m) => panic!("accepted: {m:?}"),
        Err(e) => e.status(),
    }
}

/// Robustness: malformed XML, missing required elements, markup where
/// text belongs, wrong root → 400; oversized → 413; not XML → 415.
#[test]
fn bad_input_gets_the_right_status() {
    assert_eq!(status_of(b"<SyncML><SyncHdr>"), 400);
    assert_eq!(status_of(b"<SyncML><SyncHdr></SyncBody></SyncML>"), 400);
    assert_eq!(status_of(minimal("<Get><Item/></Get>").as_bytes()), 400);
    assert_eq!(
        status_of(minimal("<Status><CmdID>1</CmdID></Status>").as_bytes()),
        400
    );
    assert_eq!(
        status_of(
            minimal(
                "<Get><CmdID>1</CmdID><Item><Target><LocURI>./<b/>A</LocURI></Target></Item></Get>"
            )
            .as_bytes()
        ),
        400
    );
    assert_eq!(status_of(b"<html><body/></html>"), 400);
    assert_eq!(
        status_of(minimal("").replace("<MsgID>1</MsgID>", "").as_bytes()),
        400
    );
    assert_eq!(status_of(b"hello"), 415);
    assert_eq!(status_of(b""), 415);
    let big = minimal(&"<Get><CmdID>1</CmdID></Get>".repeat(10));
    let limits = Limits {
        max_message_bytes: 100,
        ..Limits::default()
    };
    let e = syncml::decode_with(big.as_bytes(), None, &limits).unwrap_err();
    assert_eq!(e.status(), 413);
}

/// Deep nesting and element floods stop at the limits, inside skipped
/// elements and inside Data too.
#[test]
fn nesting_and_element_limits_hold() {
    for inner in ["<X>", "<Data>"] {
        let deep = format!(
            "<Add><CmdID>1</CmdID><Item>{}{}</Item></Add>",
            inner.repeat(5000),
            inner.replace('<', "</").repeat(5000)
        );
        let e = syncml::decode(minimal(&deep).as_bytes()).unwrap_err();
        assert!(matches!(e, CodecError::LimitExceeded(_)), "{e}");
    }
    let many = minimal(&"<Foo/>".repeat(1000));
    let limits = Limits {
        max_elements: 500,
        ..Limits::default()
    };
    let e = syncml::decode_with(many.as_bytes(), None, &limits).unwrap_err();
    assert!(matches!(e, CodecError::LimitExceeded(_)), "{e}");
}

/// Every truncation of a fixture message, and thousands of seeded random
/// mutations, end in Ok or a 4xx error, never a panic.
#[test]
fn truncated_and_mutated_messages_never_panic() {
    robustness::xml_truncations_and_mutations_never_panic(&fixture(
        "oma-pkg2-status212-sequence-alert1101-replace-b64.xml",
    ));
}
